use sea_orm::entity::prelude::*;

/// One bar of a goal's schedule: months `start_month`..=`end_month` (`YYYY-MM`) with a label; `position` keeps file order.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "plan_bar")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub municipality_id: i64,
    pub item_id: i64,
    pub position: i32,
    pub start_month: String,
    pub end_month: String,
    pub label: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
