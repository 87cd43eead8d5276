use sea_orm::entity::prelude::*;

/// One e-mail sent to a school's users with its notice of `month` (`YYYY-MM`): the recipients
/// (comma-separated addresses), the subject, how many cases it listed, who sent it and when.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notice_mail")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub municipality_id: i64,
    pub school_id: i64,
    pub month: String,
    pub recipients: String,
    pub subject: String,
    pub cases: i64,
    pub sent_at: DateTimeUtc,
    pub sent_by: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
