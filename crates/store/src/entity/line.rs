use sea_orm::entity::prelude::*;

/// 回線: one LTE line of the pooled contract; natural key (municipality, line_no). Allowance in
/// bytes; `active_to` is the last active day (inclusive).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "line")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub municipality_id: i64,
    pub line_no: String,
    pub school_id: i64,
    pub device_serial: Option<String>,
    pub pupil_id: Option<String>,
    pub allowance_bytes: i64,
    pub active_from: Date,
    pub active_to: Option<Date>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
