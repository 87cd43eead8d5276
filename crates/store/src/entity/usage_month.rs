use sea_orm::entity::prelude::*;

/// 通信量: usage of one line in one month (`YYYY-MM`), bytes. Primary key (line_id, month).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "usage_month")]
pub struct Model {
    pub municipality_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub line_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub month: String,
    pub bytes: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
