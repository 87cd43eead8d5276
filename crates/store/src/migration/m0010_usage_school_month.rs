//! m0010_usage_school_month: the per-school aggregates of LTE usage that the reports read
//! (`crate::usage::aggregate`): `usage_school_month` (Σ usage and usage rows per municipality,
//! month and school) and `school_capacity` (a school's lines grouped by allowance and active
//! months), both filled here from the stored lines and usage; from then on the imports keep them.
//!
//! Why: the usage report summed every line's usage on every view (300,000 rows for a city's year;
//! 114 million for a national one); from these it reads a few rows per school and month.

use super::{fk, index};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, string_len, string_len_null};
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

pub(super) struct M0010UsageSchoolMonth;

impl MigrationName for M0010UsageSchoolMonth {
    fn name(&self) -> &str {
        "m0010_usage_school_month"
    }
}

fn bigint(name: &str) -> ColumnDef {
    big_integer(Alias::new(name))
}

fn month(name: &str) -> ColumnDef {
    string_len(Alias::new(name), 7)
}

#[async_trait::async_trait]
impl MigrationTrait for M0010UsageSchoolMonth {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Alias::new("usage_school_month"))
                .if_not_exists()
                .col(fk("municipality_id"))
                .col(month("month"))
                .col(fk("school_id"))
                .col(bigint("usage_bytes"))
                .col(bigint("usage_lines"))
                .primary_key(
                    Index::create()
                        .col(Alias::new("municipality_id"))
                        .col(Alias::new("month"))
                        .col(Alias::new("school_id")),
                )
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Alias::new("school_capacity"))
                .if_not_exists()
                .col(fk("municipality_id"))
                .col(fk("school_id"))
                .col(bigint("allowance_bytes"))
                .col(month("from_month"))
                .col(string_len_null(Alias::new("to_month"), 7))
                .col(bigint("lines"))
                .take(),
        )
        .await?;
        m.create_index(index("school_capacity", "ix_school_capacity", &["municipality_id", "school_id"])).await?;
        let db = m.get_connection();
        for sql in crate::usage::aggregate::backfill_sql(db.get_database_backend() == DbBackend::Postgres) {
            db.execute_unprepared(&sql).await?;
        }
        Ok(())
    }
}
