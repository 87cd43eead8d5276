//! Lines and usage imports: validated rows → staging table (the shared bulk path of
//! [`crate::bulk`]) → set-based SQL, in one transaction; idempotent by natural key (line id; line
//! and month).

use crate::bulk::{BulkTx, Errors, Savepoint, V};
use crate::imports::{abort, finish, ImportOutcome, ImportSource};
use crate::usage::aggregate::{self, Deltas};
use crate::usage::partition;
use crate::{Result, Store};
use gigaops_domain::usage::bytes_to_gb;
use gigaops_domain::YearMonth;
use gigaops_ingest::usage::{line_key, LineRecord, UsageRecord};
use gigaops_ingest::RowError;
use std::collections::HashMap;

/// Rows between two progress reports.
const PROGRESS_ROWS: u64 = 65_536;

/// Streams the reader's items into `table` (one [`crate::bulk::Loader`]); collects every row
/// error and goes on loading the valid rows (so that the checks of the staged rows report theirs
/// too; the caller rolls back). Returns the row count.
async fn load_rows<T>(
    tx: &mut BulkTx,
    table: &str,
    columns: &[&str],
    records: impl Iterator<Item = std::result::Result<T, Vec<RowError>>>,
    cells: impl Fn(&T) -> Vec<Option<String>>,
    errors: &mut Errors,
    progress: &mut impl FnMut(u64),
) -> Result<u64> {
    let mut loader = tx.loader(table, columns).await?;
    let mut rows = 0u64;
    for rec in records {
        rows += 1;
        match rec {
            Ok(r) => loader.push(cells(&r).into_iter().map(V::T)).await?,
            Err(es) => es.iter().for_each(|e| errors.push_row_error(e)),
        }
        if rows.is_multiple_of(PROGRESS_ROWS) {
            progress(rows);
        }
    }
    loader.finish().await?; // after an error the caller rolls back
    progress(rows);
    Ok(rows)
}

fn count(rows: &[Vec<String>], i: usize) -> i64 {
    rows.first().and_then(|r| r.get(i)).and_then(|s| s.parse().ok()).unwrap_or(0)
}

const LINE_COLS: [&str; 8] =
    ["row_no", "line_no", "school_code", "device_serial", "pupil_id", "allowance_bytes", "active_from", "active_to"];

/// Imports lines (回線). Matched on line id: new lines are inserted, changed ones updated (school,
/// serial, pupil, allowance, active period), the same ones left alone.
///
/// Errors: [`StoreError::Rows`] with every bad row as `file:row:column: value — expected` (reader
/// errors, unknown school code); nothing is written then. `src.dry_run` writes nothing.
pub async fn import_lines(
    store: &Store,
    municipality_id: i64,
    src: &ImportSource,
    records: impl Iterator<Item = std::result::Result<LineRecord, Vec<RowError>>>,
    mut progress: impl FnMut(u64),
) -> Result<ImportOutcome> {
    let file = src.file_name.as_str();
    let mut tx = BulkTx::begin_staging(store).await?;
    let date = if tx.is_postgres() { "DATE" } else { "TEXT" };
    tx.temp_table(
        "staging_line",
        &format!(
            "row_no BIGINT, line_no TEXT, school_code TEXT, device_serial TEXT, pupil_id TEXT, allowance_bytes BIGINT, \
             active_from {date}, active_to {date}, school_id BIGINT, line_id BIGINT, old_school_id BIGINT, \
             changed INTEGER"
        ),
    )
    .await?;
    let mut errors = Errors::default();
    let cells = |r: &LineRecord| {
        vec![
            Some(r.row.to_string()),
            Some(r.line_id.clone()),
            Some(r.school_code.to_string()),
            r.device_serial.clone(),
            r.pupil_id.clone(),
            Some(r.allowance_bytes.to_string()),
            Some(r.active_from.to_string()),
            r.active_to.map(|d| d.to_string()),
        ]
    };
    load_rows(&mut tx, "staging_line", &LINE_COLS, records, cells, &mut errors, &mut progress).await?;
    // A line id given twice: the staging table's unique index fails to build (one sorted pass,
    // nothing held in memory), and only then are the repeated rows listed.
    let mut repeated = !errors.is_empty();
    if !repeated {
        tx.savepoint(Savepoint::Set, "staging_line_key").await?;
        match tx.exec("CREATE UNIQUE INDEX ix_staging_line_no ON staging_line (line_no)", &[]).await {
            Ok(_) => tx.savepoint(Savepoint::Release, "staging_line_key").await?,
            Err(_) => {
                tx.savepoint(Savepoint::RollBack, "staging_line_key").await?;
                repeated = true;
            }
        }
    }
    if repeated {
        tx.exec("CREATE INDEX ix_staging_line_no ON staging_line (line_no)", &[]).await?;
        for (row, line, first) in tx.repeated_keys("staging_line", "line_no").await? {
            errors.push(row, format!("{file}:{row}:line_id: {line} — 重複しない回線番号（{first}行目と同じです）"));
        }
        if !errors.is_empty() {
            return abort(tx, errors).await;
        }
    }
    // the register is read from here in the writing transaction (a preview only reads)
    if !src.dry_run {
        tx.begin_writes().await?;
    }
    let m = V::I(municipality_id);
    tx.exec(
        "UPDATE staging_line SET school_id = sc.id FROM school sc \
         WHERE sc.municipality_id = $1 AND sc.school_code = staging_line.school_code",
        std::slice::from_ref(&m),
    )
    .await?;
    for r in
        tx.rows("SELECT row_no, school_code FROM staging_line WHERE school_id IS NULL ORDER BY row_no", &[]).await?
    {
        let row: usize = r[0].parse().unwrap_or(0);
        errors.push(
            row,
            format!(
                "{file}:{row}:school_code: {} — 登録済みの学校コード（先に gigaops import schools で学校を登録してください）",
                r[1]
            ),
        );
    }
    if !errors.is_empty() {
        return abort(tx, errors).await;
    }
    tx.exec(
        "UPDATE staging_line SET line_id = l.id, old_school_id = l.school_id, changed = CASE WHEN l.school_id <> staging_line.school_id \
           OR COALESCE(l.device_serial, '') <> COALESCE(staging_line.device_serial, '') \
           OR COALESCE(l.pupil_id, '') <> COALESCE(staging_line.pupil_id, '') \
           OR l.allowance_bytes <> staging_line.allowance_bytes OR l.active_from <> staging_line.active_from \
           OR COALESCE(l.active_to, l.active_from) <> COALESCE(staging_line.active_to, staging_line.active_from) \
           OR (l.active_to IS NULL) <> (staging_line.active_to IS NULL) THEN 1 ELSE 0 END \
         FROM line l WHERE l.municipality_id = $1 AND l.line_no = staging_line.line_no",
        std::slice::from_ref(&m),
    )
    .await?;
    let c = tx
        .rows(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN line_id IS NULL THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN changed = 1 THEN 1 ELSE 0 END), 0) FROM staging_line",
            &[],
        )
        .await?;
    let out = ImportOutcome {
        rows: count(&c, 0),
        inserted: count(&c, 1),
        updated: count(&c, 2),
        unchanged: count(&c, 0) - count(&c, 1) - count(&c, 2),
        ..ImportOutcome::new("lines", src)
    };
    if src.dry_run {
        return finish(tx, municipality_id, src, out).await;
    }
    tx.exec(
        "INSERT INTO line (municipality_id, line_no, school_id, device_serial, pupil_id, allowance_bytes, active_from, \
         active_to) SELECT $1, line_no, school_id, device_serial, pupil_id, allowance_bytes, active_from, active_to \
         FROM staging_line WHERE line_id IS NULL ORDER BY row_no",
        std::slice::from_ref(&m),
    )
    .await?;
    tx.exec(
        "UPDATE line SET school_id = s.school_id, device_serial = s.device_serial, pupil_id = s.pupil_id, \
         allowance_bytes = s.allowance_bytes, active_from = s.active_from, active_to = s.active_to \
         FROM staging_line s WHERE line.id = s.line_id AND s.changed = 1",
        &[],
    )
    .await?;
    if out.inserted + out.updated > 0 {
        // the per-school aggregates: a line given another school takes its usage along
        let months = aggregate::months_in_tx(&mut tx, municipality_id).await?;
        aggregate::move_lines(&mut tx, municipality_id, &months).await?;
        aggregate::rebuild_capacity(&mut tx, municipality_id).await?;
    }
    tx.drop_temp(&["staging_line"]).await?;
    if out.inserted + out.updated > 0 {
        tx.refresh_statistics(&["line"]).await?; // the usage import's line lookup
    }
    finish(tx, municipality_id, src, out).await
}

const STAGED_COLS: [&str; 7] = ["row_no", "line_no", "line_id", "school_id", "month", "day", "bytes"];
const DIRECT_COLS: [&str; 4] = ["municipality_id", "month", "line_id", "bytes"];
/// On SQLite, the temp table that takes the rows of fresh months while the file is read (no
/// write lock yet); copied to `usage_month` in the writing part of the import.
const SQLITE_DIRECT: &str = "staging_usage_direct";

/// The municipality's lines (回線番号 → `line.id` and the line's school), loaded once per usage
/// import: sorted packed keys, 32 bytes per line (about 300 MB for 9.5 million lines; the school
/// fills what was the key's alignment padding). A lookup tries the slot after the previous hit
/// first (statements usually come sorted by line), then searches. The slot is also the line's
/// dense number for the duplicate check.
struct LineIndex {
    keys: Vec<(u128, i64, i64)>,
    next: usize,
}

impl LineIndex {
    /// Loads the municipality's lines ([`BulkTx::key_ids`]).
    async fn load(tx: &mut BulkTx, municipality_id: i64) -> Result<Self> {
        let mut keys: Vec<(u128, i64, i64)> = Vec::new();
        tx.key_ids("line", "line_no", "school_id", municipality_id, |no, id, school| {
            keys.extend(line_key(no).map(|k| (k, id, school)))
        })
        .await?;
        keys.sort_unstable();
        Ok(LineIndex { keys, next: 0 })
    }

    /// The line's slot, id and school id.
    fn find(&mut self, line_no: &str) -> Option<(usize, i64, i64)> {
        let k = line_key(line_no)?;
        let slot = match self.keys.get(self.next) {
            Some((key, _, _)) if *key == k => self.next,
            _ => self.keys.binary_search_by_key(&k, |(key, _, _)| *key).ok()?,
        };
        self.next = slot + 1;
        let (_, id, school) = self.keys[slot];
        Some((slot, id, school))
    }
}

/// What the import knows of one month of the file.
struct MonthSeen {
    /// No usage of the municipality stored yet for this month: its monthly rows are written
    /// straight to `target`.
    fresh: bool,
    /// Where the month's rows go when fresh: `None` → `usage_month`; `Some(month)` → a table of
    /// their own that becomes the month's partition (PostgreSQL, a month with no partition yet).
    target: Option<YearMonth>,
    /// The month as stored (`YYYY-MM`).
    text: std::sync::Arc<str>,
    /// Per line slot, the file row that gave the month (0 = none yet): the duplicate check of
    /// monthly rows. Empty for daily files.
    first_row: Vec<u32>,
    /// Rows of this month went straight into `usage_month`.
    direct: bool,
}

/// A checked usage row and where it goes.
enum Row {
    /// Monthly row of a fresh month: straight into its target ([`MonthSeen::target`], [`DIRECT_COLS`]).
    Direct(Option<YearMonth>, [V; 4]),
    /// Into `staging_usage` ([`STAGED_COLS`]), compared with what is stored once the file is read.
    Staged([V; 7]),
}

/// The months with usage stored for a municipality (`$1`), `YYYY-MM` in order: one index probe
/// per month (a skip scan), so it costs the number of months, not of rows.
const STORED_MONTHS_SQL: &str =
    "WITH RECURSIVE m(month) AS (SELECT MIN(month) FROM usage_month WHERE municipality_id = $1 \
     UNION ALL SELECT (SELECT MIN(u.month) FROM usage_month u WHERE u.municipality_id = $1 AND u.month > m.month) \
     FROM m WHERE m.month IS NOT NULL) SELECT month FROM m WHERE month IS NOT NULL";

/// The months with usage stored for the municipality (`YYYY-MM`), inside the import's transaction.
async fn stored_months(tx: &mut BulkTx, municipality_id: i64) -> Result<std::collections::HashSet<String>> {
    let rows = tx.rows(STORED_MONTHS_SQL, &[V::I(municipality_id)]).await?;
    Ok(rows.into_iter().filter_map(|r| r.into_iter().next()).collect())
}

/// How a usage file's columns are labelled in messages.
#[derive(Debug, Clone)]
pub struct UsageColumns {
    /// Header of the line column as written (e.g. `line_id`, `電話番号`).
    pub line: String,
    /// Header of the month or date column.
    pub month: String,
    /// Header of the usage column (e.g. `usage_gb`).
    pub usage: String,
}

/// Imports usage rows; daily rows are summed into months (a daily file must cover whole months:
/// its sum replaces the month). Matched on (line, month): new months are inserted, the same value
/// is left alone, a different value is an error unless `replace` (a correction).
///
/// Errors ([`StoreError::Rows`], nothing written): reader errors, an unknown line, two rows for the
/// same line and month (monthly rows) or day (daily rows), a month already imported with a
/// different value without `replace`. After a committed change, the escalation runs of the
/// earliest changed month and later are marked stale (they must be run again, in order).
pub async fn import_usage(
    store: &Store,
    municipality_id: i64,
    src: &ImportSource,
    cols: &UsageColumns,
    records: impl Iterator<Item = std::result::Result<UsageRecord, Vec<RowError>>>,
    replace: bool,
    mut progress: impl FnMut(u64),
) -> Result<ImportOutcome> {
    let file = src.file_name.as_str();
    let mut tx = BulkTx::begin_staging(store).await?;
    let pg = tx.is_postgres();
    let date = if pg { "DATE" } else { "TEXT" };
    tx.temp_table(
        "staging_usage",
        &format!("row_no BIGINT, line_no TEXT, line_id BIGINT, school_id BIGINT, month TEXT, day {date}, bytes BIGINT"),
    )
    .await?;
    let m = V::I(municipality_id);
    let started = std::time::Instant::now();
    let lap = |step: &str| tracing::debug!(step, elapsed_ms = started.elapsed().as_millis() as u64, "usage import");
    let mut lines = LineIndex::load(&mut tx, municipality_id).await?;
    lap("lines loaded");
    let stored = stored_months(&mut tx, municipality_id).await?;
    let partitioned = partition::existing(&mut tx).await?;
    let mut direct_target: Option<Option<YearMonth>> = None;
    let mut file_months: HashMap<YearMonth, MonthSeen> = HashMap::new();
    let mut errors = Errors::default();
    // what the rows going straight into `usage_month` add to the per-school aggregates
    let mut direct_sums = Deltas::default();
    let (mut file_rows, mut direct_rows, mut daily, mut staging) = (0u64, 0i64, false, false);
    // Checks each record against the lines and the file's earlier rows; yields where its row goes.
    // After the first error it yields nothing (keeps reading to report every error).
    let mut rows = records.filter_map(|rec| {
        file_rows += 1;
        if file_rows.is_multiple_of(PROGRESS_ROWS) {
            progress(file_rows);
        }
        let r = match rec {
            Ok(r) => r,
            Err(es) => {
                es.iter().for_each(|e| errors.push_row_error(e));
                return None;
            }
        };
        let line_error = |expected: &str| format!("{file}:{}:{}: {} — {expected}", r.row, cols.line, r.line_id);
        let Some((slot, line_id, school_id)) = lines.find(&r.line_id) else {
            errors.push(r.row, line_error("登録済みの回線（先に gigaops import lines で回線を登録してください）"));
            return None;
        };
        daily |= r.day.is_some();
        let seen = file_months.entry(r.month).or_insert_with(|| {
            let text: std::sync::Arc<str> = r.month.to_string().into();
            let target = (pg && !partitioned.contains(&r.month)).then_some(r.month);
            MonthSeen { fresh: !stored.contains(&*text), target, text, first_row: Vec::new(), direct: false }
        });
        if r.day.is_none() {
            if seen.first_row.is_empty() {
                seen.first_row = vec![0; lines.keys.len()];
            }
            let first = seen.first_row[slot];
            if first != 0 {
                errors.push(
                    r.row,
                    line_error(&format!("同じ回線・同じ月の行は 1 行だけ（{first}行目と重複しています）")),
                );
                return None;
            }
            seen.first_row[slot] = u32::try_from(r.row).unwrap_or(u32::MAX);
        }
        if !errors.is_empty() {
            return None;
        }
        // A fresh month's monthly rows go straight to their target until the first row that needs
        // the comparison or another target; from then on every row is staged (one load is open
        // at a time).
        staging |= !seen.fresh || r.day.is_some() || direct_target.is_some_and(|t| t != seen.target);
        Some(if staging {
            Row::Staged([
                V::I(r.row as i64),
                V::T(Some(r.line_id)),
                V::I(line_id),
                V::I(school_id),
                V::S(seen.text.clone()),
                V::D(r.day),
                V::I(r.bytes),
            ])
        } else {
            direct_rows += 1;
            direct_sums.add(r.month, school_id, r.bytes, 1);
            seen.direct = true;
            direct_target = Some(seen.target);
            Row::Direct(seen.target, [m.clone(), V::S(seen.text.clone()), V::I(line_id), V::I(r.bytes)])
        })
    });
    let mut next = rows.next();
    if let Some(Row::Direct(target, _)) = next {
        let table = match target {
            Some(month) => partition::create_unattached(&mut tx, month).await?,
            // SQLite: into a temp table, copied to `usage_month` once the write lock is taken
            None if !pg => {
                tx.temp_table(SQLITE_DIRECT, "municipality_id BIGINT, month TEXT, line_id BIGINT, bytes BIGINT")
                    .await?;
                SQLITE_DIRECT.to_string()
            }
            None => "usage_month".to_string(),
        };
        let mut loader = tx.loader(&table, &DIRECT_COLS).await?;
        while let Some(Row::Direct(_, row)) = next {
            loader.push(row).await?;
            next = rows.next();
        }
        loader.finish().await?; // a direct row stops coming only at the end of the file, an error or a staged row
        if let Some(month) = target {
            partition::attach(&mut tx, month).await?; // its rows are checked: no other month, no duplicate
        }
    }
    if next.is_some() {
        let mut loader = tx.loader("staging_usage", &STAGED_COLS).await?;
        while let Some(Row::Staged(row)) = next {
            loader.push(row).await?;
            next = rows.next();
        }
        loader.finish().await?;
    }
    drop(rows);
    progress(file_rows);
    lap("rows loaded");
    drop(lines);
    file_months.values_mut().for_each(|s| drop(std::mem::take(&mut s.first_row)));
    if !errors.is_empty() {
        return abort(tx, errors).await;
    }
    if daily {
        tx.exec("CREATE INDEX ix_staging_usage_line ON staging_usage (line_id, day)", &[]).await?;
        for r in tx
            .rows(
                "SELECT MIN(row_no), MAX(row_no), MIN(line_no) FROM staging_usage GROUP BY line_id, day \
                 HAVING COUNT(*) > 1 ORDER BY MAX(row_no)",
                &[],
            )
            .await?
        {
            let row: usize = r[1].parse().unwrap_or(0);
            errors.push(
                row,
                format!(
                    "{file}:{row}:{}: {} — 同じ回線・同じ日の行は 1 行だけ（{}行目と重複しています）",
                    cols.line, r[2], r[0]
                ),
            );
        }
        if !errors.is_empty() {
            return abort(tx, errors).await;
        }
    }
    // one row per line and month: the staging table itself for monthly rows, a sum for daily rows
    let months = if daily {
        tx.temp_table(
            "staging_usage_month",
            "row_no BIGINT, line_no TEXT, line_id BIGINT, school_id BIGINT, month TEXT, bytes BIGINT",
        )
        .await?;
        tx.exec(
            "INSERT INTO staging_usage_month (row_no, line_no, line_id, school_id, month, bytes) \
             SELECT MIN(row_no), MIN(line_no), line_id, MIN(school_id), month, SUM(bytes) FROM staging_usage \
             GROUP BY line_id, month",
            &[],
        )
        .await?;
        "staging_usage_month"
    } else {
        "staging_usage"
    };
    tx.exec(&format!("ALTER TABLE {months} ADD COLUMN cur_bytes BIGINT"), &[]).await?;
    tx.exec(
        &format!(
            "UPDATE {months} SET cur_bytes = u.bytes FROM usage_month u \
             WHERE u.municipality_id = $1 AND u.month = {months}.month AND u.line_id = {months}.line_id"
        ),
        std::slice::from_ref(&m),
    )
    .await?;
    if !replace {
        for r in tx
            .rows(
                &format!(
                    "SELECT row_no, bytes, cur_bytes, month FROM {months} \
                     WHERE cur_bytes IS NOT NULL AND cur_bytes <> bytes ORDER BY row_no LIMIT 10001"
                ),
                &[],
            )
            .await?
        {
            let row: usize = r[0].parse().unwrap_or(0);
            let gb = |s: &str| bytes_to_gb(s.parse().unwrap_or(0));
            errors.push(
                row,
                format!(
                    "{file}:{row}:{}: {} GB — 取込済みの {} の値（{} GB）と同じ値（訂正するときは --replace を付けてください）",
                    cols.usage,
                    gb(&r[1]),
                    r[3],
                    gb(&r[2])
                ),
            );
        }
        if !errors.is_empty() {
            return abort(tx, errors).await;
        }
    }
    let c = tx
        .rows(
            &format!(
                "SELECT COUNT(*), COALESCE(SUM(CASE WHEN cur_bytes IS NULL THEN 1 ELSE 0 END), 0), \
                 COALESCE(SUM(CASE WHEN cur_bytes <> bytes THEN 1 ELSE 0 END), 0), \
                 MIN(CASE WHEN cur_bytes IS NULL OR cur_bytes <> bytes THEN month END) FROM {months}"
            ),
            &[],
        )
        .await?;
    let line_months = count(&c, 0) + direct_rows;
    let out = ImportOutcome {
        rows: if daily { file_rows as i64 } else { line_months },
        inserted: count(&c, 1) + direct_rows,
        updated: count(&c, 2),
        unchanged: line_months - count(&c, 1) - direct_rows - count(&c, 2),
        warnings: if daily {
            vec![format!("{file}: 日ごとの {file_rows} 行を {line_months} 件の回線・月に合計しました")]
        } else {
            vec![]
        },
        ..ImportOutcome::new("usage", src)
    };
    let staged_first = c.first().and_then(|r| r.get(3)).filter(|s| !s.is_empty()).cloned();
    let direct_first = file_months.iter().filter(|(_, s)| s.direct).map(|(m, _)| m.to_string()).min();
    let first_changed = staged_first.into_iter().chain(direct_first).min();
    if src.dry_run {
        return finish(tx, municipality_id, src, out).await;
    }
    tx.begin_writes().await?;
    if !pg && direct_rows > 0 {
        let cols = DIRECT_COLS.join(", ");
        tx.exec(&format!("INSERT INTO usage_month ({cols}) SELECT {cols} FROM {SQLITE_DIRECT}"), &[]).await?;
    }
    // the per-school aggregates, before `usage_month` takes the compared rows' new values
    let mut deltas = direct_sums;
    aggregate::staged_deltas(&mut tx, months, &mut deltas).await?;
    aggregate::apply(&mut tx, municipality_id, &deltas).await?;
    partition::ensure(&mut tx, file_months.keys().copied()).await?;
    tx.exec(
        &format!(
            "INSERT INTO usage_month (municipality_id, line_id, month, bytes) \
             SELECT $1, line_id, month, bytes FROM {months} WHERE cur_bytes IS NULL"
        ),
        std::slice::from_ref(&m),
    )
    .await?;
    if out.updated > 0 {
        tx.exec(
            &format!(
                "UPDATE usage_month SET bytes = s.bytes FROM {months} s WHERE usage_month.municipality_id = $1 \
                 AND usage_month.month = s.month AND usage_month.line_id = s.line_id AND s.cur_bytes <> s.bytes"
            ),
            std::slice::from_ref(&m),
        )
        .await?;
    }
    if let Some(first) = first_changed {
        tx.exec(
            "UPDATE escalation_run SET stale = 1 WHERE municipality_id = $1 AND month >= $2",
            &[m.clone(), V::T(Some(first))],
        )
        .await?;
    }
    tx.drop_temp(&["staging_usage", "staging_usage_month", SQLITE_DIRECT]).await?;
    if out.inserted > 0 {
        // the escalation run's queries
        let tables = partition::tables(pg, file_months.keys().copied());
        tx.refresh_statistics(&tables.iter().map(String::as_str).collect::<Vec<_>>()).await?;
    }
    let out = finish(tx, municipality_id, src, out).await?;
    lap("committed");
    Ok(out)
}
