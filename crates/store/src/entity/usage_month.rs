use sea_orm::entity::prelude::*;

/// 通信量: usage of one line in one month (`YYYY-MM`), bytes. Primary key (municipality_id, month,
/// line_id): a month's rows are one key range (migration m0004).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "usage_month")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub municipality_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub month: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub line_id: i64,
    pub bytes: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
