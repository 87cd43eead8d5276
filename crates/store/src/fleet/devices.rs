//! Device import (inventory and MDM exports): validated rows → staging table → set-based SQL, in
//! one transaction; idempotent by serial number (DESIGN.md §5).

pub use crate::bulk::MAX_ERRORS;
use crate::bulk::{BulkTx, Errors, V};
use crate::imports::{ImportOutcome, ImportSource};
use crate::{Result, Store, StoreError};
use chrono::NaiveDate;
use gigaops_ingest::devices::DeviceRecord;
use gigaops_ingest::RowError;

/// Rows per staging load.
const CHUNK: usize = 4096;

const STAGING_COLS: [&str; 11] = [
    "row_no",
    "serial",
    "model",
    "model_group",
    "device_class",
    "status",
    "school_code",
    "asset_tag",
    "device_name",
    "os_version",
    "last_check_in",
];

fn record_cells(r: &DeviceRecord) -> Vec<Option<String>> {
    vec![
        Some(r.row.to_string()),
        Some(r.serial_number.clone()),
        r.model.clone(),
        r.model_group.clone(),
        r.device_class.map(|c| c.as_str().to_string()),
        r.status.map(|s| s.as_str().to_string()),
        r.school_code.as_ref().map(|c| c.to_string()),
        r.asset_tag.clone(),
        r.device_name.clone(),
        r.os_version.clone(),
        r.last_check_in.map(|d| d.to_string()),
    ]
}

/// Imports devices. `records` is the reader's stream; `as_of` is the inventory's date (the date of
/// the initial state of new devices and of status/school changes of known ones).
///
/// Rules: matched on serial number. A new device needs a model; a model unknown to the register is
/// created only when the row gives its `model_group` (else: error). New devices default to class
/// learner and status deployed. For a known device, empty cells keep the stored value; a changed
/// status or school is recorded as a state change on `as_of`, which must not be before its latest
/// recorded change. A device's school is kept only while deployed (or given explicitly).
///
/// Errors: [`StoreError::Rows`] listing every bad row as `file:row:column: value — expected`
/// (reader errors, unknown school or model, conflicting model groups, as-of before history);
/// nothing is written then. With `src.dry_run` nothing is written and the counts say what would change.
pub async fn import(
    store: &Store,
    municipality_id: i64,
    src: &ImportSource,
    records: impl Iterator<Item = std::result::Result<DeviceRecord, Vec<RowError>>>,
    as_of: NaiveDate,
    mut progress: impl FnMut(u64),
) -> Result<ImportOutcome> {
    let file = src.file_name.as_str();
    let mut tx = BulkTx::begin(store).await?;
    let pg = tx.is_postgres();
    let date_type = if pg { "DATE" } else { "TEXT" };
    if !pg {
        tx.exec("DROP TABLE IF EXISTS temp.staging_device", &[]).await?;
    }
    tx.exec(
        &format!(
            "CREATE TEMP TABLE staging_device (row_no BIGINT, serial TEXT, model TEXT, model_group TEXT, \
             device_class TEXT, status TEXT, school_code TEXT, asset_tag TEXT, device_name TEXT, os_version TEXT, \
             last_check_in {date_type}, device_id BIGINT, model_id BIGINT, school_id BIGINT, cur_status TEXT, \
             cur_school BIGINT, cur_since {date_type}, new_status TEXT, new_school BIGINT, changes_state INTEGER, \
             changes_attr INTEGER){}",
            if pg { " ON COMMIT DROP" } else { "" }
        ),
        &[],
    )
    .await?;

    let mut errors = Errors::default();
    let mut batch: Vec<Vec<Option<String>>> = Vec::with_capacity(CHUNK);
    let mut rows: u64 = 0;
    for rec in records {
        rows += 1;
        match rec {
            Ok(r) => batch.push(record_cells(&r)),
            Err(es) => es.iter().for_each(|e| errors.push_row_error(e)),
        }
        if batch.len() >= CHUNK {
            if errors.is_empty() {
                tx.load("staging_device", &STAGING_COLS, &batch).await?;
            }
            batch.clear();
            progress(rows);
        }
    }
    if errors.is_empty() {
        tx.load("staging_device", &STAGING_COLS, &batch).await?;
    }
    progress(rows);
    if !errors.is_empty() {
        tx.rollback().await?;
        return Err(errors.into_error());
    }
    let m = V::I(municipality_id);
    tx.exec("CREATE INDEX ix_staging_device_serial ON staging_device (serial)", &[]).await?;
    tx.exec(
        "UPDATE staging_device SET school_id = sc.id FROM school sc \
         WHERE sc.municipality_id = $1 AND sc.school_code = staging_device.school_code",
        std::slice::from_ref(&m),
    )
    .await?;
    tx.exec(
        "UPDATE staging_device SET device_id = d.id, cur_status = d.status, cur_school = d.school_id, \
         cur_since = d.status_since FROM device d \
         WHERE d.municipality_id = $1 AND d.serial_number = staging_device.serial",
        std::slice::from_ref(&m),
    )
    .await?;
    tx.exec(
        "UPDATE staging_device SET new_status = COALESCE(status, cur_status, 'deployed'), \
         new_school = CASE WHEN school_code IS NOT NULL THEN school_id \
                           WHEN COALESCE(status, cur_status, 'deployed') = 'deployed' THEN cur_school END",
        &[],
    )
    .await?;
    tx.exec(
        "UPDATE staging_device SET changes_state = CASE WHEN device_id IS NOT NULL AND \
         (new_status <> cur_status OR COALESCE(new_school, -1) <> COALESCE(cur_school, -1)) THEN 1 ELSE 0 END",
        &[],
    )
    .await?;

    // Row checks that need the register.
    let checks: [(&str, &str, &str); 5] = [
        (
            "SELECT row_no, school_code FROM staging_device WHERE school_code IS NOT NULL AND school_id IS NULL ORDER BY row_no",
            "school_code",
            "登録済みの学校コード（先に gigaops import schools で学校を登録してください）",
        ),
        (
            "SELECT row_no, model FROM staging_device s WHERE model IS NOT NULL AND model_group IS NULL AND NOT EXISTS \
             (SELECT 1 FROM device_model m WHERE m.municipality_id = $1 AND m.name = s.model) ORDER BY row_no",
            "model",
            "登録済みの機種（新しい機種は model_group 列で機種グループを指定するか gigaops model add で登録してください）",
        ),
        (
            "SELECT row_no, serial FROM staging_device WHERE model IS NULL AND device_id IS NULL ORDER BY row_no",
            "model",
            "新しい端末には機種（model）が必要です",
        ),
        (
            "SELECT s.row_no, s.model_group FROM staging_device s JOIN device_model m ON m.municipality_id = $1 \
             AND m.name = s.model WHERE s.model_group IS NOT NULL AND s.model_group <> m.model_group ORDER BY s.row_no",
            "model_group",
            "その機種に登録済みの機種グループ（機種グループは gigaops model add で変更してください）",
        ),
        (
            "SELECT row_no, cur_since FROM staging_device WHERE changes_state = 1 AND cur_since > $2 ORDER BY row_no",
            "status",
            "状態・学校の変更は端末の最新の記録日以降の基準日（--as-of）で取り込んでください",
        ),
    ];
    for (sql, column, expected) in checks {
        let vals: &[V] = if sql.contains("$2") { &[m.clone(), V::D(Some(as_of))] } else { std::slice::from_ref(&m) };
        for r in tx.rows(sql, vals).await? {
            let row: usize = r[0].parse().unwrap_or(0);
            errors.push(row, format!("{file}:{row}:{column}: {} — {expected}", r[1]));
        }
    }
    for r in tx
        .rows(
            "SELECT MIN(row_no), model FROM staging_device WHERE model_group IS NOT NULL GROUP BY model \
             HAVING COUNT(DISTINCT model_group) > 1",
            &[],
        )
        .await?
    {
        let row: usize = r[0].parse().unwrap_or(0);
        errors
            .push(row, format!("{file}:{row}:model_group: {} — 同じ機種には同じ機種グループを指定してください", r[1]));
    }
    if !errors.is_empty() {
        tx.rollback().await?;
        return Err(errors.into_error());
    }

    // New models, then model ids.
    tx.exec(
        "INSERT INTO device_model (municipality_id, name, model_group) SELECT $1, model, MIN(model_group) \
         FROM staging_device s WHERE model_group IS NOT NULL AND NOT EXISTS \
         (SELECT 1 FROM device_model m WHERE m.municipality_id = $1 AND m.name = s.model) GROUP BY model",
        std::slice::from_ref(&m),
    )
    .await?;
    tx.exec(
        "UPDATE staging_device SET model_id = m.id FROM device_model m \
         WHERE m.municipality_id = $1 AND m.name = staging_device.model",
        std::slice::from_ref(&m),
    )
    .await?;
    tx.exec(
        "UPDATE staging_device SET changes_attr = CASE WHEN device_id IS NOT NULL AND EXISTS (SELECT 1 FROM device d \
         WHERE d.id = staging_device.device_id AND (\
           (staging_device.model_id IS NOT NULL AND staging_device.model_id <> d.model_id) OR \
           (staging_device.device_class IS NOT NULL AND staging_device.device_class <> d.device_class) OR \
           (staging_device.asset_tag IS NOT NULL AND (d.asset_tag IS NULL OR staging_device.asset_tag <> d.asset_tag)) OR \
           (staging_device.device_name IS NOT NULL AND (d.device_name IS NULL OR staging_device.device_name <> d.device_name)) OR \
           (staging_device.os_version IS NOT NULL AND (d.os_version IS NULL OR staging_device.os_version <> d.os_version)) OR \
           (staging_device.last_check_in IS NOT NULL AND (d.last_check_in IS NULL OR staging_device.last_check_in <> d.last_check_in)))) \
         THEN 1 ELSE 0 END",
        &[],
    )
    .await?;

    let counts = tx
        .rows(
            "SELECT COUNT(*), \
             COALESCE(SUM(CASE WHEN device_id IS NULL THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN device_id IS NOT NULL AND (changes_state = 1 OR changes_attr = 1) THEN 1 ELSE 0 END), 0) \
             FROM staging_device",
            &[],
        )
        .await?;
    let c = |i: usize| counts[0][i].parse::<i64>().unwrap_or(0);
    let mut out = ImportOutcome {
        kind: "devices".into(),
        file_name: src.file_name.clone(),
        rows: c(0),
        inserted: c(1),
        updated: c(2),
        unchanged: c(0) - c(1) - c(2),
        warnings: vec![],
        dry_run: src.dry_run,
    };
    if out.rows == 0 {
        tx.rollback().await?;
        return Err(StoreError::Rows(vec![format!("{file}: データ行がありません")]));
    }
    if src.dry_run {
        tx.rollback().await?;
        return Ok(out);
    }
    let who = V::T(src.imported_by.clone());
    let day = V::D(Some(as_of));
    tx.exec(
        "INSERT INTO device (municipality_id, serial_number, asset_tag, model_id, device_class, status, school_id, \
         device_name, os_version, last_check_in, registered_on, status_since) \
         SELECT $1, serial, asset_tag, model_id, COALESCE(device_class, 'learner'), new_status, new_school, \
         device_name, os_version, last_check_in, $2, $2 FROM staging_device WHERE device_id IS NULL ORDER BY row_no",
        &[m.clone(), day.clone()],
    )
    .await?;
    tx.exec(
        "INSERT INTO device_state (municipality_id, device_id, effective_on, status, prev_status, school_id, reason, \
         recorded_by, recorded_at) SELECT $1, d.id, $2, d.status, NULL, d.school_id, 'inventory', $3, $4 \
         FROM staging_device s JOIN device d ON d.municipality_id = $1 AND d.serial_number = s.serial \
         WHERE s.device_id IS NULL",
        &[m.clone(), day.clone(), who.clone(), V::Now],
    )
    .await?;
    tx.exec(
        "INSERT INTO device_state (municipality_id, device_id, effective_on, status, prev_status, school_id, reason, \
         recorded_by, recorded_at) SELECT $1, device_id, $2, new_status, cur_status, new_school, 'inventory', $3, $4 \
         FROM staging_device WHERE changes_state = 1",
        &[m.clone(), day.clone(), who, V::Now],
    )
    .await?;
    tx.exec(
        "UPDATE device SET \
           model_id = COALESCE(s.model_id, device.model_id), \
           device_class = COALESCE(s.device_class, device.device_class), \
           asset_tag = COALESCE(s.asset_tag, device.asset_tag), \
           device_name = COALESCE(s.device_name, device.device_name), \
           os_version = COALESCE(s.os_version, device.os_version), \
           last_check_in = COALESCE(s.last_check_in, device.last_check_in), \
           status = s.new_status, school_id = s.new_school, \
           status_since = CASE WHEN s.changes_state = 1 THEN $1 ELSE device.status_since END \
         FROM staging_device s WHERE device.id = s.device_id AND (s.changes_state = 1 OR s.changes_attr = 1)",
        &[day],
    )
    .await?;
    tx.exec(
        "INSERT INTO import_run (municipality_id, kind, file_name, file_sha256, imported_by, imported_at, rows, \
         inserted, updated, unchanged) VALUES ($1, 'devices', $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            m,
            V::T(Some(src.file_name.clone())),
            V::T(Some(src.file_sha256.clone())),
            V::T(src.imported_by.clone()),
            V::Now,
            V::I(out.rows),
            V::I(out.inserted),
            V::I(out.updated),
            V::I(out.unchanged),
        ],
    )
    .await?;
    if !pg {
        tx.exec("DROP TABLE IF EXISTS temp.staging_device", &[]).await?;
    }
    tx.commit().await?;
    out.warnings.shrink_to_fit();
    Ok(out)
}
