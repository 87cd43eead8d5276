use sea_orm::entity::prelude::*;

/// One committed import: who, when, which file (SHA-256) and what changed.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "import_run")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub municipality_id: i64,
    /// `schools` / `devices` / `incidents` / `movements`.
    pub kind: String,
    pub file_name: String,
    pub file_sha256: String,
    pub imported_by: Option<String>,
    pub imported_at: DateTimeUtc,
    pub rows: i64,
    pub inserted: i64,
    pub updated: i64,
    pub unchanged: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
