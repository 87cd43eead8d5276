use sea_orm::entity::prelude::*;

/// One error of a failed preview or import: row / column / value / expected, in file order.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "import_error")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub import_run_id: i64,
    /// Order of the error in the report (0-based).
    pub seq: i64,
    /// Row number in the file (header = 1); `None` for a problem with the whole file.
    pub row_no: Option<i64>,
    /// The header label as written in the file (empty for the whole file).
    pub column_label: String,
    /// The cell text (at most 100 characters are kept).
    pub value: String,
    /// What the cell should hold (Japanese).
    pub expected: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
