use sea_orm::entity::prelude::*;

/// What happened to a case in a month: `kind` opened / advanced / continued / improved / missing,
/// `step` the step after it (for improved: the step it closed at), `bytes` the month's usage.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "escalation_event")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub municipality_id: i64,
    pub case_id: i64,
    pub line_id: i64,
    pub month: String,
    pub kind: String,
    pub step: i64,
    pub bytes: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
