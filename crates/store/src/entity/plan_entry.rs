use sea_orm::entity::prelude::*;

/// One goal's entry for one 年度 (a row of 資料4-1). `version` grows by one on every change (optimistic locking).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "plan_entry")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub municipality_id: i64,
    pub plan_id: i64,
    pub item_id: i64,
    pub fiscal_year: i32,
    pub action: String,
    pub status: Option<String>,
    pub due: String,
    pub result: String,
    pub grade: String,
    pub next_action: String,
    pub next_status: Option<String>,
    /// JSON array of the □ items.
    pub school_actions: String,
    pub priority: bool,
    pub version: i64,
    pub updated_by: Option<String>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The goal (`plan_item`) the entry belongs to.
    #[sea_orm(belongs_to = "super::plan_item::Entity", from = "Column::ItemId", to = "super::plan_item::Column::Id")]
    Item,
}

impl Related<super::plan_item::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Item.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
