use sea_orm::entity::prelude::*;

/// A policy, measure, initiative or goal of a plan; `code` (`1-(1)-①-A`) is its stable identifier within the plan.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "plan_item")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub municipality_id: i64,
    pub plan_id: i64,
    pub code: String,
    /// `policy` / `measure` / `initiative` / `goal`.
    pub level: String,
    /// Title, or the goal's text.
    pub title: String,
    /// 概要 of an initiative; empty otherwise.
    pub summary: String,
    /// 担当課 of a goal: JSON array of names, in order.
    pub divisions: String,
    /// KPI direction code (`increase`, `maintain`, `decrease`, `milestone`, `reference`).
    pub kpi_direction: Option<String>,
    pub kpi: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
