use sea_orm::entity::prelude::*;

/// 破損 / 故障 / 紛失 / 盗難 of one device; natural key (device, occurred_on, kind).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "incident")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub municipality_id: i64,
    pub device_id: i64,
    pub occurred_on: Date,
    pub kind: String,
    pub cause: Option<String>,
    pub replacement_device_id: Option<i64>,
    pub repaired_on: Option<Date>,
    pub written_off_on: Option<Date>,
    pub recorded_by: Option<String>,
    pub recorded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
