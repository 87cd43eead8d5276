use sea_orm::entity::prelude::*;

/// One evaluated month (`YYYY-MM`). `stale` = 1 when usage of this month or an earlier one changed
/// after the run: the month must be run again.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "escalation_run")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub municipality_id: i64,
    pub month: String,
    pub run_at: DateTimeUtc,
    pub run_by: Option<String>,
    pub stale: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
