//! 通信量 keyed by month: `usage_month`'s primary key becomes (municipality_id, month, line_id) and
//! the secondary index `ix_usage_month` goes.
//!
//! Why: a month's statement is imported as a whole, so its rows now append at the end of one
//! B-tree instead of being spread over the (line, month) key and a second (month, bytes) index;
//! the escalation run scans one month (a key range) and looks lines up by (month, line). On SQLite
//! the table is `WITHOUT ROWID` (the key is the table). Rows are copied unchanged.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

pub struct M0004UsageMonthKey;

impl MigrationName for M0004UsageMonthKey {
    fn name(&self) -> &str {
        "m0004_usage_month_key"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0004UsageMonthKey {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        let without_rowid = if db.get_database_backend() == DbBackend::Sqlite { " WITHOUT ROWID" } else { "" };
        // one batch, so that every statement runs on the same pooled connection
        let sql = format!(
            "CREATE TABLE usage_month_by_month (municipality_id BIGINT NOT NULL, month VARCHAR(7) NOT NULL, \
             line_id BIGINT NOT NULL, bytes BIGINT NOT NULL, \
             PRIMARY KEY (municipality_id, month, line_id)){without_rowid}; \
             INSERT INTO usage_month_by_month (municipality_id, month, line_id, bytes) \
             SELECT municipality_id, month, line_id, bytes FROM usage_month; \
             DROP TABLE usage_month; \
             ALTER TABLE usage_month_by_month RENAME TO usage_month"
        );
        db.execute_unprepared(&sql).await?;
        Ok(())
    }
}
