use sea_orm::entity::prelude::*;

/// Append-only status history of a device: from `effective_on` the device has `status` at
/// `school_id`. `prev_status` is the status before (NULL for the first row), so stock at any date
/// is a sum over rows up to that date.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "device_state")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub municipality_id: i64,
    pub device_id: i64,
    pub effective_on: Date,
    pub status: String,
    pub prev_status: Option<String>,
    pub school_id: Option<i64>,
    /// `inventory` / `incident` / `swap` / `repair` / `write_off` / `movement`.
    pub reason: String,
    pub incident_id: Option<i64>,
    pub movement_id: Option<i64>,
    pub recorded_by: Option<String>,
    pub recorded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
