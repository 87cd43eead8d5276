use sea_orm::entity::prelude::*;

/// The work a step produces for one case: `audience` device (MDM message), school (notice) or
/// parents (letter). Marked done by staff (`done_at`, `done_by`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "work_item")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub municipality_id: i64,
    pub event_id: i64,
    pub case_id: i64,
    pub line_id: i64,
    pub school_id: Option<i64>,
    pub month: String,
    pub step: i64,
    pub audience: String,
    pub done_at: Option<DateTimeUtc>,
    pub done_by: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
