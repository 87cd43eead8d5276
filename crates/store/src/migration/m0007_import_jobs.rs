//! m0007_import_jobs: an import started from the web is a job whose state lives in the database,
//! so that a reload, or a second app instance on the same PostgreSQL database, sees it. `import_run`
//! gains the job's status, progress, options, stored file and preview; `import_error` keeps every
//! error of a failed preview or import as row / column / value / expected.
//!
//! Rows written before this migration are committed imports (`status` defaults to `committed`).

use super::{fk, id, index, table, text, text_null};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, big_integer_null, string, timestamp_with_time_zone_null};

pub(super) struct M0007ImportJobs;

impl MigrationName for M0007ImportJobs {
    fn name(&self) -> &str {
        "m0007_import_jobs"
    }
}

fn add(col: ColumnDef) -> TableAlterStatement {
    let mut c = col;
    Table::alter().table(Alias::new("import_run")).add_column(&mut c).take()
}

#[async_trait::async_trait]
impl MigrationTrait for M0007ImportJobs {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite alters one column per statement
        let columns = vec![
            string(Alias::new("status")).default("committed").take(),
            text_null("phase"),
            big_integer(Alias::new("rows_read")).default(0).take(),
            big_integer_null(Alias::new("rows_total")),
            big_integer(Alias::new("error_count")).default(0).take(),
            text_null("options"),
            text_null("stored_path"),
            big_integer_null(Alias::new("file_size")),
            text_null("preview"),
            text_null("school_ids"),
            text_null("message"),
            timestamp_with_time_zone_null(Alias::new("heartbeat_at")),
            timestamp_with_time_zone_null(Alias::new("finished_at")),
        ];
        for c in columns {
            m.alter_table(add(c)).await?;
        }
        m.create_index(index("import_run", "ix_import_run_status", &["municipality_id", "status"])).await?;
        m.create_table(table(
            "import_error",
            vec![
                id(),
                fk("import_run_id"),
                big_integer(Alias::new("seq")),
                big_integer_null(Alias::new("row_no")),
                text("column_label"),
                text("value"),
                text("expected"),
            ],
        ))
        .await?;
        m.create_index(index("import_error", "ix_import_error_run", &["import_run_id", "seq"])).await
    }
}
