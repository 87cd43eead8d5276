use sea_orm::entity::prelude::*;

/// Append-only change log of plan entries: who, when, from where (`import` / `edit`), the entry before (JSON, NULL when created) and after.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "plan_entry_change")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub municipality_id: i64,
    pub entry_id: i64,
    /// The entry's version after the change.
    pub version: i64,
    pub source: String,
    pub changed_by: Option<String>,
    pub changed_at: DateTimeUtc,
    pub before_json: Option<String>,
    pub after_json: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
