use sea_orm::entity::prelude::*;

/// Another name of a device model (機種の別名), e.g. `iPad (8th generation)` for the register's
/// `iPad（第8世代）`: `alias` as typed, `alias_key` its comparison key
/// (`gigaops_domain::fleet::model_key`), unique per municipality; who added it and when.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "device_model_alias")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub municipality_id: i64,
    pub model_id: i64,
    pub alias: String,
    pub alias_key: String,
    pub created_by: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
