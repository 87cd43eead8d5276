use sea_orm::entity::prelude::*;

/// A move that is not an incident (端末移設, a spare deployed, a device returned to the pool);
/// natural key (device, moved_on).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "movement")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub municipality_id: i64,
    pub device_id: i64,
    pub moved_on: Date,
    pub to_status: String,
    pub to_school_id: Option<i64>,
    pub recorded_by: Option<String>,
    pub recorded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
