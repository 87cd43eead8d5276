//! The month partitions of `usage_month` on PostgreSQL (migration m0006): one table per month,
//! `usage_month_YYYY_MM`, holding every municipality's rows of that month. SQLite keeps one table
//! and every function here leaves it alone.
//!
//! A month new to the database is imported into a table of its own with no index
//! ([`create_unattached`]); [`attach`] then builds its primary key in one sorted pass and makes it
//! the month's partition. Rows of a month that has a partition go through `usage_month`; a month
//! written that way gets an empty partition first ([`ensure`]). No default partition: a row of a
//! month with no partition is an error, never misfiled.

use crate::bulk::BulkTx;
use crate::Result;
use gigaops_domain::YearMonth;
use std::collections::HashSet;

/// The partition of `month`: `usage_month_YYYY_MM` (e.g. `usage_month_2024_09`).
pub fn name(month: YearMonth) -> String {
    format!("usage_month_{}", month.to_string().replace('-', "_"))
}

/// The months that have a partition (PostgreSQL); empty on SQLite.
pub(crate) async fn existing(tx: &mut BulkTx) -> Result<HashSet<YearMonth>> {
    if !tx.is_postgres() {
        return Ok(HashSet::new());
    }
    let rows = tx
        .rows(
            "SELECT c.relname::TEXT FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
             WHERE i.inhparent = 'usage_month'::regclass",
            &[],
        )
        .await?;
    Ok(rows.iter().filter_map(|r| r.first()?.strip_prefix("usage_month_")?.replace('_', "-").parse().ok()).collect())
}

/// Creates the table that becomes `month`'s partition once loaded ([`attach`]): the columns of
/// `usage_month`, no index. Returns its name. PostgreSQL only.
pub(crate) async fn create_unattached(tx: &mut BulkTx, month: YearMonth) -> Result<String> {
    let table = name(month);
    tx.exec(
        &format!(
            "CREATE TABLE {table} (municipality_id BIGINT NOT NULL, month VARCHAR(7) NOT NULL, \
             line_id BIGINT NOT NULL, bytes BIGINT NOT NULL)"
        ),
        &[],
    )
    .await?;
    Ok(table)
}

/// Builds the primary key of a table from [`create_unattached`] and attaches it as `month`'s
/// partition. The `CHECK (month = …)` added first spares the attach its scan. Errors: a row of the
/// table with another month or a duplicate key (the import has ruled both out before).
pub(crate) async fn attach(tx: &mut BulkTx, month: YearMonth) -> Result<()> {
    let table = name(month);
    tx.exec(
        &format!(
            "ALTER TABLE {table} ADD PRIMARY KEY (municipality_id, month, line_id), \
             ADD CONSTRAINT {table}_month CHECK (month = '{month}')"
        ),
        &[],
    )
    .await?;
    tx.exec(&format!("ALTER TABLE usage_month ATTACH PARTITION {table} FOR VALUES IN ('{month}')"), &[]).await?;
    Ok(())
}

/// Creates an empty partition for each of `months` that has none (PostgreSQL); nothing on SQLite.
pub(crate) async fn ensure(tx: &mut BulkTx, months: impl IntoIterator<Item = YearMonth>) -> Result<()> {
    if !tx.is_postgres() {
        return Ok(());
    }
    let have = existing(tx).await?;
    for month in months.into_iter().filter(|m| !have.contains(m)) {
        tx.exec(&format!("CREATE TABLE {} PARTITION OF usage_month FOR VALUES IN ('{month}')", name(month)), &[])
            .await?;
    }
    Ok(())
}

/// The tables whose planner statistics a change of `months` makes stale: their partitions on
/// PostgreSQL (analysing the parent would sample every month), `usage_month` on SQLite.
pub(crate) fn tables(postgres: bool, months: impl IntoIterator<Item = YearMonth>) -> Vec<String> {
    if postgres {
        months.into_iter().map(name).collect()
    } else {
        vec!["usage_month".into()]
    }
}
