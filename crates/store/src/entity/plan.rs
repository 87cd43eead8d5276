use sea_orm::entity::prelude::*;

/// A plan (学校教育情報化推進計画) of a municipality: its name and period (first_year..=last_year, 年度),
/// and its note (計画の注記, shown on its pages; `None` = none).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "plan")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub municipality_id: i64,
    pub name: String,
    pub first_year: i32,
    pub last_year: i32,
    pub created_at: DateTimeUtc,
    pub note: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
