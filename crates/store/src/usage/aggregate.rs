//! Per-school aggregates of LTE usage, kept up to date by the imports in their own transaction, so
//! that the reports read a few rows per school instead of every line's usage (migration m0010).
//!
//! - `usage_school_month` — per municipality, month (`YYYY-MM`) and school: Σ `usage_month.bytes`
//!   of the school's lines (`usage_bytes`) and how many usage rows that is (`usage_lines`). A row
//!   exists exactly when the school has at least one usage row in the month, so the table equals
//!   [`recomputed`] at every commit. The usage import adds what it changes (the rows going straight
//!   into `usage_month` are summed while streaming; compared rows by their difference to the stored
//!   value); the lines import moves the usage of a line that changes school.
//! - `school_capacity` — per municipality and school, the lines grouped by allowance and by the
//!   months of their active period (`from_month`, `to_month`, `NULL` = open): a line active on at
//!   least one day of month M is counted in M exactly when `from_month ≤ M ≤ to_month`, so the
//!   capacity of any month is a sum over a few groups. Rebuilt by a lines import that changes a line.
//!
//! Volumes are bytes; ratios are computed by `report`, never stored.

use crate::bulk::{BulkTx, V};
use crate::{Result, Store};
use gigaops_domain::YearMonth;
use sea_orm::{DbBackend, FromQueryResult, Statement};
use std::collections::BTreeMap;

/// Change of one school's usage in one month: bytes and usage rows to add (negative to remove).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Delta {
    pub bytes: i64,
    pub lines: i64,
}

/// Changes per (month, school id), summed as they are added.
#[derive(Debug, Default)]
pub(crate) struct Deltas(BTreeMap<(YearMonth, i64), Delta>);

impl Deltas {
    /// Adds `bytes` and `lines` to the school's month.
    pub fn add(&mut self, month: YearMonth, school_id: i64, bytes: i64, lines: i64) {
        let d = self.0.entry((month, school_id)).or_default();
        d.bytes += bytes;
        d.lines += lines;
    }

    pub fn is_empty(&self) -> bool {
        self.0.values().all(|d| *d == Delta::default())
    }
}

/// A stored month (`YYYY-MM`); anything else is a broken row, reported rather than skipped.
fn month_cell(s: &str) -> Result<YearMonth> {
    s.parse().map_err(|_| crate::StoreError::Rule(format!("保存された月「{s}」を読み取れません")))
}

/// The month of a date column as `YYYY-MM` (SQLite stores dates as ISO text).
fn month_of(pg: bool, column: &str) -> String {
    if pg {
        format!("to_char({column}, 'YYYY-MM')")
    } else {
        format!("substr({column}, 1, 7)")
    }
}

/// The recomputation of `usage_school_month` from `usage_month` and `line`, for the
/// municipalities `filter` selects (a condition on `u.municipality_id`). It reads every month, so
/// it is kept for the migration's backfill and for [`recomputed`]; the imports add differences.
fn usage_sql(filter: &str) -> String {
    format!(
        "SELECT u.municipality_id AS municipality_id, u.month AS month, l.school_id AS school_id, \
         CAST(SUM(u.bytes) AS BIGINT) AS usage_bytes, CAST(COUNT(*) AS BIGINT) AS usage_lines \
         FROM usage_month u JOIN line l ON l.id = u.line_id WHERE {filter} \
         GROUP BY u.municipality_id, u.month, l.school_id"
    )
}

/// The groups of `school_capacity` from `line`, for the municipalities `filter` selects (a
/// condition on `municipality_id`).
fn capacity_sql(pg: bool, filter: &str) -> String {
    let (from, to) = (month_of(pg, "active_from"), month_of(pg, "active_to"));
    format!(
        "SELECT municipality_id, school_id, allowance_bytes, {from} AS from_month, {to} AS to_month, \
         CAST(COUNT(*) AS BIGINT) AS lines FROM line \
         WHERE {filter} GROUP BY municipality_id, school_id, allowance_bytes, {from}, {to}"
    )
}

const USAGE_COLS: &str = "municipality_id, month, school_id, usage_bytes, usage_lines";
const CAPACITY_COLS: &str = "municipality_id, school_id, allowance_bytes, from_month, to_month, lines";

/// The statements that fill both tables from the stored lines and usage of every municipality
/// (migration m0010's backfill).
pub(crate) fn backfill_sql(pg: bool) -> [String; 2] {
    [
        format!("INSERT INTO usage_school_month ({USAGE_COLS}) {}", usage_sql("1 = 1")),
        format!("INSERT INTO school_capacity ({CAPACITY_COLS}) {}", capacity_sql(pg, "1 = 1")),
    ]
}

/// Adds `deltas` to the municipality's `usage_school_month` (one upsert from a temp table) and
/// removes the rows left without usage rows.
pub(crate) async fn apply(tx: &mut BulkTx, municipality_id: i64, deltas: &Deltas) -> Result<()> {
    if deltas.is_empty() {
        return Ok(());
    }
    tx.temp_table("usage_school_delta", "month TEXT, school_id BIGINT, usage_bytes BIGINT, usage_lines BIGINT").await?;
    let cells: Vec<V> = deltas
        .0
        .iter()
        .filter(|(_, d)| **d != Delta::default())
        .flat_map(|((month, school), d)| [V::T(Some(month.to_string())), V::I(*school), V::I(d.bytes), V::I(d.lines)])
        .collect();
    tx.load("usage_school_delta", &["month", "school_id", "usage_bytes", "usage_lines"], &cells).await?;
    // `WHERE true`: SQLite reads an ON CONFLICT after a bare FROM as a join constraint
    tx.exec(
        &format!(
            "INSERT INTO usage_school_month ({USAGE_COLS}) \
             SELECT $1, month, school_id, usage_bytes, usage_lines FROM usage_school_delta WHERE true \
             ON CONFLICT (municipality_id, month, school_id) DO UPDATE SET \
             usage_bytes = usage_school_month.usage_bytes + excluded.usage_bytes, \
             usage_lines = usage_school_month.usage_lines + excluded.usage_lines"
        ),
        &[V::I(municipality_id)],
    )
    .await?;
    tx.exec("DELETE FROM usage_school_month WHERE municipality_id = $1 AND usage_lines = 0", &[V::I(municipality_id)])
        .await?;
    tx.drop_temp(&["usage_school_delta"]).await?;
    Ok(())
}

/// The differences the usage import's compared rows make: `table` holds one row per line and
/// month with the line's `school_id`, the new `bytes` and the stored `cur_bytes` (`NULL` = a new
/// row).
pub(crate) async fn staged_deltas(tx: &mut BulkTx, table: &str, into: &mut Deltas) -> Result<()> {
    let rows = tx
        .rows(
            &format!(
                "SELECT month, school_id, CAST(SUM(bytes - COALESCE(cur_bytes, 0)) AS BIGINT), \
                 CAST(SUM(CASE WHEN cur_bytes IS NULL THEN 1 ELSE 0 END) AS BIGINT) FROM {table} \
                 WHERE cur_bytes IS NULL OR cur_bytes <> bytes GROUP BY month, school_id"
            ),
            &[],
        )
        .await?;
    for r in rows {
        let month = month_cell(&r[0])?;
        into.add(month, r[1].parse().unwrap_or(0), r[2].parse().unwrap_or(0), r[3].parse().unwrap_or(0));
    }
    Ok(())
}

/// Moves the usage of the lines a lines import gave another school: `staging_line` rows with
/// `line_id`, the new `school_id` and the `old_school_id`. The moved lines are copied to a small
/// temp table first (analysed on PostgreSQL, so that the join looks each one up by key), then
/// their rows of every month the municipality has usage in (`months`) are read by key.
pub(crate) async fn move_lines(tx: &mut BulkTx, municipality_id: i64, months: &[String]) -> Result<()> {
    if months.is_empty() {
        return Ok(());
    }
    tx.temp_table("moved_line", "line_id BIGINT, old_school_id BIGINT, school_id BIGINT").await?;
    let moved = tx
        .exec(
            "INSERT INTO moved_line (line_id, old_school_id, school_id) SELECT line_id, old_school_id, school_id \
             FROM staging_line WHERE line_id IS NOT NULL AND old_school_id <> school_id",
            &[],
        )
        .await?;
    if moved > 0 {
        if tx.is_postgres() {
            tx.refresh_statistics(&["moved_line"]).await?;
        }
        let placeholders: Vec<String> = (0..months.len()).map(|i| format!("${}", i + 2)).collect();
        let mut vals = vec![V::I(municipality_id)];
        vals.extend(months.iter().map(|m| V::T(Some(m.clone()))));
        let rows = tx
            .rows(
                &format!(
                    "SELECT u.month, s.old_school_id, s.school_id, CAST(SUM(u.bytes) AS BIGINT), \
                     CAST(COUNT(*) AS BIGINT) FROM moved_line s JOIN usage_month u ON u.municipality_id = $1 \
                     AND u.month IN ({}) AND u.line_id = s.line_id GROUP BY u.month, s.old_school_id, s.school_id",
                    placeholders.join(", ")
                ),
                &vals,
            )
            .await?;
        let mut deltas = Deltas::default();
        for r in rows {
            let (month, bytes, lines): (_, i64, i64) =
                (month_cell(&r[0])?, r[3].parse().unwrap_or(0), r[4].parse().unwrap_or(0));
            deltas.add(month, r[1].parse().unwrap_or(0), -bytes, -lines);
            deltas.add(month, r[2].parse().unwrap_or(0), bytes, lines);
        }
        apply(tx, municipality_id, &deltas).await?;
    }
    tx.drop_temp(&["moved_line"]).await
}

/// The months the municipality has usage in, `YYYY-MM` in order (from `usage_school_month`).
pub(crate) async fn months_in_tx(tx: &mut BulkTx, municipality_id: i64) -> Result<Vec<String>> {
    let rows = tx
        .rows(
            "SELECT DISTINCT month FROM usage_school_month WHERE municipality_id = $1 ORDER BY month",
            &[V::I(municipality_id)],
        )
        .await?;
    Ok(rows.into_iter().filter_map(|r| r.into_iter().next()).collect())
}

/// Rebuilds the municipality's `school_capacity` from its lines (after a lines import changed one).
pub(crate) async fn rebuild_capacity(tx: &mut BulkTx, municipality_id: i64) -> Result<()> {
    let m = [V::I(municipality_id)];
    tx.exec("DELETE FROM school_capacity WHERE municipality_id = $1", &m).await?;
    let pg = tx.is_postgres();
    tx.exec(&format!("INSERT INTO school_capacity ({CAPACITY_COLS}) {}", capacity_sql(pg, "municipality_id = $1")), &m)
        .await?;
    Ok(())
}

/// One school's usage in one month, as stored in `usage_school_month`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, FromQueryResult)]
pub struct SchoolMonth {
    /// `YYYY-MM`.
    pub month: String,
    pub school_id: i64,
    /// Σ usage of the school's lines in the month, bytes.
    pub usage_bytes: i64,
    /// Usage rows (lines with usage) of the school in the month.
    pub usage_lines: i64,
}

/// One group of a school's lines in `school_capacity`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, FromQueryResult)]
pub struct CapacityGroup {
    pub school_id: i64,
    /// Allowance of each line of the group, bytes per month.
    pub allowance_bytes: i64,
    /// First month of the lines' active period (`YYYY-MM`).
    pub from_month: String,
    /// Last month of the lines' active period; `None` = open.
    pub to_month: Option<String>,
    /// Lines in the group.
    pub lines: i64,
}

/// Whether a group of lines active from `from_month` to `to_month` (`None` = open; `YYYY-MM`) is
/// counted in `month`: its lines are active on at least one day of it.
pub fn active_in(from_month: &str, to_month: Option<&str>, month: &str) -> bool {
    from_month <= month && to_month.is_none_or(|to| to >= month)
}

/// Both aggregates of a municipality, each in key order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aggregates {
    pub usage: Vec<SchoolMonth>,
    pub capacity: Vec<CapacityGroup>,
}

fn stmt(store: &Store, sql: &str, vals: Vec<sea_orm::Value>) -> Statement {
    let sql = if store.backend() == DbBackend::Sqlite { sql.replace('$', "?") } else { sql.to_string() };
    Statement::from_sql_and_values(store.backend(), sql, vals)
}

/// The municipality's aggregates as stored.
///
/// Errors: the database's.
pub async fn stored(store: &Store, municipality_id: i64) -> Result<Aggregates> {
    let usage = SchoolMonth::find_by_statement(stmt(
        store,
        "SELECT month, school_id, usage_bytes, usage_lines FROM usage_school_month WHERE municipality_id = $1",
        vec![municipality_id.into()],
    ))
    .all(&store.db)
    .await?;
    let capacity = CapacityGroup::find_by_statement(stmt(
        store,
        "SELECT school_id, allowance_bytes, from_month, to_month, lines FROM school_capacity WHERE municipality_id = $1",
        vec![municipality_id.into()],
    ))
    .all(&store.db)
    .await?;
    Ok(sorted(usage, capacity))
}

/// The municipality's aggregates recomputed from every stored usage row and line (the check that
/// the stored ones agree: [`stored`] must equal it). Reads every month of `usage_month`.
///
/// Errors: the database's.
pub async fn recomputed(store: &Store, municipality_id: i64) -> Result<Aggregates> {
    let pg = store.backend() == DbBackend::Postgres;
    let usage = SchoolMonth::find_by_statement(stmt(
        store,
        &format!("SELECT month, school_id, usage_bytes, usage_lines FROM ({}) r", usage_sql("u.municipality_id = $1")),
        vec![municipality_id.into()],
    ))
    .all(&store.db)
    .await?;
    let capacity = CapacityGroup::find_by_statement(stmt(
        store,
        &format!(
            "SELECT school_id, allowance_bytes, from_month, to_month, lines FROM ({}) r",
            capacity_sql(pg, "municipality_id = $1")
        ),
        vec![municipality_id.into()],
    ))
    .all(&store.db)
    .await?;
    Ok(sorted(usage, capacity))
}

fn sorted(mut usage: Vec<SchoolMonth>, mut capacity: Vec<CapacityGroup>) -> Aggregates {
    usage.sort();
    capacity.sort();
    Aggregates { usage, capacity }
}
