//! m0005_notice_mail: the e-mails sent to schools with their month's notice —
//! one row per school, month and sending (who, when, to whom), so a second sending is explicit.

use super::{fk, id, index, table, text, text_null, ts};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::big_integer;

pub(super) struct M0005NoticeMail;

impl MigrationName for M0005NoticeMail {
    fn name(&self) -> &str {
        "m0005_notice_mail"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0005NoticeMail {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(table(
            "notice_mail",
            vec![
                id(),
                fk("municipality_id"),
                fk("school_id"),
                text("month"),
                // the recipients' addresses, comma-separated
                sea_orm_migration::schema::text(Alias::new("recipients")),
                text("subject"),
                big_integer(Alias::new("cases")),
                ts("sent_at"),
                text_null("sent_by"),
            ],
        ))
        .await?;
        m.create_index(index("notice_mail", "ix_notice_mail_month", &["municipality_id", "month", "school_id"])).await
    }
}
