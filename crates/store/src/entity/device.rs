use sea_orm::entity::prelude::*;

/// A device, keyed by serial number (unique per municipality). `status` and `school_id` mirror
/// the latest row of `device_state`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "device")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub municipality_id: i64,
    pub serial_number: String,
    pub asset_tag: Option<String>,
    pub model_id: i64,
    /// `learner` / `teacher`.
    pub device_class: String,
    /// `deployed` / `spare` / `in_repair` / `lost` / `retired`.
    pub status: String,
    pub school_id: Option<i64>,
    pub device_name: Option<String>,
    pub os_version: Option<String>,
    pub last_check_in: Option<Date>,
    /// The inventory's as-of date: no event may be dated before it.
    pub registered_on: Date,
    /// Date of the latest state change: new events may not be dated before it.
    pub status_since: Date,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
