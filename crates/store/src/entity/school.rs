use sea_orm::entity::prelude::*;

/// 学校, keyed by its MEXT 学校コード (unique per municipality).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "school")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub municipality_id: i64,
    pub school_code: String,
    pub name: String,
    /// 学校種 code, e.g. `B1`.
    pub kind: String,
    /// `main` / `branch` / `closed` (本分校).
    pub status: String,
    pub prefecture_code: Option<String>,
    pub address: Option<String>,
    pub postal_code: Option<String>,
    /// The main school of a branch (分校 → 本校).
    pub branch_of: Option<i64>,
    pub closed_on: Option<Date>,
    /// 移行後の学校コード of a closed school.
    pub successor_code: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
