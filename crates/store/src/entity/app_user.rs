use sea_orm::entity::prelude::*;

/// A local account. `role` is one of admin / board / school / support / viewer.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "app_user")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub municipality_id: i64,
    #[sea_orm(unique)]
    pub email: String,
    pub display_name: String,
    /// argon2id PHC string.
    pub password_hash: String,
    pub role: String,
    pub active: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
