use sea_orm::entity::prelude::*;

/// The state of one 年度 of a plan: `open` (division members edit) or `locked` (nobody edits). No row: closed.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "plan_year")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub municipality_id: i64,
    pub plan_id: i64,
    pub fiscal_year: i32,
    pub state: String,
    pub changed_by: Option<String>,
    pub changed_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
