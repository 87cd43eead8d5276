//! Lines and usage imports: validated rows → staging table (the shared bulk path of
//! [`crate::bulk`]) → set-based SQL, in one transaction; idempotent by natural key (line id; line
//! and month).

use crate::bulk::{BulkTx, Errors, V};
use crate::imports::{ImportOutcome, ImportSource};
use crate::{Result, Store};
use gigaops_domain::usage::bytes_to_gb;
use gigaops_ingest::usage::{LineRecord, UsageRecord};
use gigaops_ingest::RowError;

/// Rows per staging load.
const CHUNK: usize = 8192;

/// Creates a temp staging table on either backend (dropped at commit on PostgreSQL, explicitly on SQLite).
async fn staging(tx: &mut BulkTx, name: &str, columns: &str) -> Result<()> {
    if !tx.is_postgres() {
        tx.exec(&format!("DROP TABLE IF EXISTS temp.{name}"), &[]).await?;
    }
    let drop = if tx.is_postgres() { " ON COMMIT DROP" } else { "" };
    tx.exec(&format!("CREATE TEMP TABLE {name} ({columns}){drop}"), &[]).await?;
    Ok(())
}

async fn drop_staging(tx: &mut BulkTx, names: &[&str]) -> Result<()> {
    if !tx.is_postgres() {
        for n in names {
            tx.exec(&format!("DROP TABLE IF EXISTS temp.{n}"), &[]).await?;
        }
    }
    Ok(())
}

/// Streams the reader's items into `table`; collects every row error. Returns the row count.
async fn load_rows<T>(
    tx: &mut BulkTx,
    table: &str,
    columns: &[&str],
    records: impl Iterator<Item = std::result::Result<T, Vec<RowError>>>,
    cells: impl Fn(&T) -> Vec<Option<String>>,
    errors: &mut Errors,
    progress: &mut impl FnMut(u64),
) -> Result<u64> {
    let mut batch: Vec<Vec<Option<String>>> = Vec::with_capacity(CHUNK);
    let mut rows = 0u64;
    for rec in records {
        rows += 1;
        match rec {
            Ok(r) if errors.is_empty() => batch.push(cells(&r)),
            Ok(_) => {}
            Err(es) => es.iter().for_each(|e| errors.push_row_error(e)),
        }
        if batch.len() >= CHUNK {
            if errors.is_empty() {
                tx.load(table, columns, &batch).await?;
            }
            batch.clear();
            progress(rows);
        }
    }
    if errors.is_empty() {
        tx.load(table, columns, &batch).await?;
    }
    progress(rows);
    Ok(rows)
}

async fn record_import(tx: &mut BulkTx, m: i64, src: &ImportSource, o: &ImportOutcome) -> Result<()> {
    tx.exec(
        "INSERT INTO import_run (municipality_id, kind, file_name, file_sha256, imported_by, imported_at, rows, \
         inserted, updated, unchanged) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            V::I(m),
            V::T(Some(o.kind.clone())),
            V::T(Some(src.file_name.clone())),
            V::T(Some(src.file_sha256.clone())),
            V::T(src.imported_by.clone()),
            V::Now,
            V::I(o.rows),
            V::I(o.inserted),
            V::I(o.updated),
            V::I(o.unchanged),
        ],
    )
    .await?;
    Ok(())
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
    let mut tx = BulkTx::begin(store).await?;
    let date = if tx.is_postgres() { "DATE" } else { "TEXT" };
    staging(
        &mut tx,
        "staging_line",
        &format!(
            "row_no BIGINT, line_no TEXT, school_code TEXT, device_serial TEXT, pupil_id TEXT, allowance_bytes BIGINT, \
             active_from {date}, active_to {date}, school_id BIGINT, line_id BIGINT, changed INTEGER"
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
    if !errors.is_empty() {
        tx.rollback().await?;
        return Err(errors.into_error());
    }
    let m = V::I(municipality_id);
    tx.exec("CREATE INDEX ix_staging_line_no ON staging_line (line_no)", &[]).await?;
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
        tx.rollback().await?;
        return Err(errors.into_error());
    }
    tx.exec(
        "UPDATE staging_line SET line_id = l.id, changed = CASE WHEN l.school_id <> staging_line.school_id \
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
        kind: "lines".into(),
        file_name: src.file_name.clone(),
        rows: count(&c, 0),
        inserted: count(&c, 1),
        updated: count(&c, 2),
        unchanged: count(&c, 0) - count(&c, 1) - count(&c, 2),
        warnings: vec![],
        dry_run: src.dry_run,
    };
    if src.dry_run {
        tx.rollback().await?;
        return Ok(out);
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
    record_import(&mut tx, municipality_id, src, &out).await?;
    drop_staging(&mut tx, &["staging_line"]).await?;
    tx.commit().await?;
    Ok(out)
}

const USAGE_COLS: [&str; 5] = ["row_no", "line_no", "month", "day", "bytes"];

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
    let mut tx = BulkTx::begin(store).await?;
    let pg = tx.is_postgres();
    let date = if pg { "DATE" } else { "TEXT" };
    staging(
        &mut tx,
        "staging_usage",
        &format!("row_no BIGINT, line_no TEXT, month TEXT, day {date}, bytes BIGINT, line_id BIGINT"),
    )
    .await?;
    let mut errors = Errors::default();
    let daily = std::cell::Cell::new(false);
    let cells = |r: &UsageRecord| {
        if r.day.is_some() {
            daily.set(true);
        }
        vec![
            Some(r.row.to_string()),
            Some(r.line_id.clone()),
            Some(r.month.to_string()),
            r.day.map(|d| d.to_string()),
            Some(r.bytes.to_string()),
        ]
    };
    let file_rows =
        load_rows(&mut tx, "staging_usage", &USAGE_COLS, records, cells, &mut errors, &mut progress).await?;
    if !errors.is_empty() {
        tx.rollback().await?;
        return Err(errors.into_error());
    }
    let daily = daily.get();
    let m = V::I(municipality_id);
    tx.exec("CREATE INDEX ix_staging_usage_line ON staging_usage (line_no)", &[]).await?;
    let (key, what) = if daily { ("day", "日") } else { ("month", "月") };
    for r in tx
        .rows(
            &format!(
                "SELECT MIN(row_no), MAX(row_no), line_no FROM staging_usage GROUP BY line_no, {key} \
                 HAVING COUNT(*) > 1 ORDER BY MAX(row_no)"
            ),
            &[],
        )
        .await?
    {
        let row: usize = r[1].parse().unwrap_or(0);
        errors.push(
            row,
            format!(
                "{file}:{row}:{}: {} — 同じ回線・同じ{what}の行は 1 行だけ（{}行目と重複しています）",
                cols.line, r[2], r[0]
            ),
        );
    }
    tx.exec(
        "UPDATE staging_usage SET line_id = l.id FROM line l \
         WHERE l.municipality_id = $1 AND l.line_no = staging_usage.line_no",
        std::slice::from_ref(&m),
    )
    .await?;
    for r in tx
        .rows("SELECT row_no, line_no FROM staging_usage WHERE line_id IS NULL ORDER BY row_no LIMIT 10001", &[])
        .await?
    {
        let row: usize = r[0].parse().unwrap_or(0);
        errors.push(
            row,
            format!(
                "{file}:{row}:{}: {} — 登録済みの回線（先に gigaops import lines で回線を登録してください）",
                cols.line, r[1]
            ),
        );
    }
    if !errors.is_empty() {
        tx.rollback().await?;
        return Err(errors.into_error());
    }
    // one row per line and month: the staging table itself for monthly rows, a sum for daily rows
    let months = if daily {
        staging(
            &mut tx,
            "staging_usage_month",
            "row_no BIGINT, line_no TEXT, line_id BIGINT, month TEXT, bytes BIGINT",
        )
        .await?;
        tx.exec(
            "INSERT INTO staging_usage_month (row_no, line_no, line_id, month, bytes) \
             SELECT MIN(row_no), MIN(line_no), line_id, month, SUM(bytes) FROM staging_usage GROUP BY line_id, month",
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
             WHERE u.line_id = {months}.line_id AND u.month = {months}.month"
        ),
        &[],
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
            tx.rollback().await?;
            return Err(errors.into_error());
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
    let line_months = count(&c, 0);
    let out = ImportOutcome {
        kind: "usage".into(),
        file_name: src.file_name.clone(),
        rows: if daily { file_rows as i64 } else { line_months },
        inserted: count(&c, 1),
        updated: count(&c, 2),
        unchanged: line_months - count(&c, 1) - count(&c, 2),
        warnings: if daily {
            vec![format!("{file}: 日ごとの {file_rows} 行を {line_months} 件の回線・月に合計しました")]
        } else {
            vec![]
        },
        dry_run: src.dry_run,
    };
    let first_changed = c.first().and_then(|r| r.get(3)).filter(|s| !s.is_empty()).cloned();
    if src.dry_run {
        tx.rollback().await?;
        return Ok(out);
    }
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
                "UPDATE usage_month SET bytes = s.bytes FROM {months} s \
                 WHERE usage_month.line_id = s.line_id AND usage_month.month = s.month AND s.cur_bytes <> s.bytes"
            ),
            &[],
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
    record_import(&mut tx, municipality_id, src, &out).await?;
    drop_staging(&mut tx, &["staging_usage", "staging_usage_month"]).await?;
    tx.commit().await?;
    Ok(out)
}
