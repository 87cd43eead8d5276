//! Device import (inventory and MDM exports): validated rows → staging table → set-based SQL, in
//! one transaction; idempotent by serial number. On SQLite the file is read and staged before the
//! write lock is taken (`bulk` module docs).

use super::models::ModelNames;
pub use crate::bulk::MAX_ERRORS;
use crate::bulk::{BulkTx, Errors, V};
use crate::imports::{abort, finish, ImportOutcome, ImportSource};
use crate::{Result, Store, StoreError};
use chrono::NaiveDate;
use gigaops_ingest::devices::DeviceRecord;
use gigaops_ingest::RowError;
use std::collections::HashMap;

/// Rows per staging load.
const CHUNK: usize = 4096;

const STAGING_COLS: [&str; 10] = [
    "row_no",
    "serial",
    "model_id",
    "device_class",
    "status",
    "school_id",
    "asset_tag",
    "device_name",
    "os_version",
    "last_check_in",
];

/// The register's schools and models, looked up while the file streams in.
struct Lookup {
    schools: HashMap<String, i64>,
    /// model id → (register name, group)
    models: HashMap<i64, (String, String)>,
    /// register names and aliases → model id (`fleet::models`)
    names: ModelNames,
    /// Nothing registered yet: every row is a new device.
    register_empty: bool,
    /// Rows whose model the register knows by no name or alias (row → the name as written): a
    /// warning for a registered device, an error for a new one (decided after the match).
    unknown_models: HashMap<usize, String>,
    /// The file's spellings of each model it names (for the warnings about differing models).
    spellings: HashMap<i64, Vec<String>>,
    /// Models the file introduces (a name with a `model_group`), by provisional id (-1, -2, …):
    /// staged under that id and registered only in the writing part of the import.
    new_models: Vec<i64>,
}

/// Most spellings of one model kept for the warnings.
const MAX_SPELLINGS: usize = 3;

impl Lookup {
    async fn load(tx: &mut BulkTx, municipality_id: i64, register_empty: bool) -> Result<Self> {
        let m = [V::I(municipality_id)];
        let schools = tx
            .rows("SELECT school_code, id FROM school WHERE municipality_id = $1", &m)
            .await?
            .into_iter()
            .map(|r| (r[0].clone(), r[1].parse().unwrap_or(0)))
            .collect();
        let mut names = ModelNames::default();
        let mut models = HashMap::new();
        for r in tx.rows("SELECT name, id, model_group FROM device_model WHERE municipality_id = $1", &m).await? {
            let id = r[1].parse().unwrap_or(0);
            names.add_model(id, &r[0]);
            models.insert(id, (r[0].clone(), r[2].clone()));
        }
        for r in tx.rows("SELECT alias_key, model_id FROM device_model_alias WHERE municipality_id = $1", &m).await? {
            names.add_alias_key(r[0].clone(), r[1].parse().unwrap_or(0));
        }
        Ok(Lookup {
            schools,
            models,
            names,
            register_empty,
            unknown_models: HashMap::new(),
            spellings: HashMap::new(),
            new_models: Vec::new(),
        })
    }

    /// Registers the models the file introduces and puts their ids in place of the provisional
    /// ones in `staging_device` (a model registered meanwhile under the same name is taken as it
    /// is). In the writing part of the import.
    async fn register_new_models(&mut self, tx: &mut BulkTx, municipality_id: i64) -> Result<()> {
        for provisional in std::mem::take(&mut self.new_models) {
            let (name, group) = self.models[&provisional].clone();
            let m = V::I(municipality_id);
            let found = tx
                .rows(
                    "SELECT id FROM device_model WHERE municipality_id = $1 AND name = $2",
                    &[m.clone(), V::T(Some(name.clone()))],
                )
                .await?;
            let rows = match found.is_empty() {
                true => {
                    tx.rows(
                        "INSERT INTO device_model (municipality_id, name, model_group) VALUES ($1, $2, $3) RETURNING id",
                        &[m, V::T(Some(name.clone())), V::T(Some(group.clone()))],
                    )
                    .await?
                }
                false => found,
            };
            let id: i64 = rows.first().and_then(|r| r.first()).and_then(|c| c.parse().ok()).unwrap_or(0);
            tx.exec("UPDATE staging_device SET model_id = $1 WHERE model_id = $2", &[V::I(id), V::I(provisional)])
                .await?;
            self.models.insert(id, (name, group));
            if let Some(v) = self.spellings.get(&provisional).cloned() {
                self.spellings.insert(id, v);
            }
        }
        Ok(())
    }

    fn model_name(&self, id: i64) -> &str {
        self.models.get(&id).map_or("", |(n, _)| n.as_str())
    }

    /// `iPad (8th generation)`, or `iPad11,6・iPad (8th generation)` when the file spells the
    /// model several ways.
    fn spelling(&self, id: i64) -> String {
        match self.spellings.get(&id) {
            Some(v) if !v.is_empty() => v.join("・"),
            _ => self.model_name(id).to_string(),
        }
    }

    fn note_spelling(&mut self, id: i64, name: &str) {
        let v = self.spellings.entry(id).or_default();
        if v.len() < MAX_SPELLINGS && !v.iter().any(|s| s == name) {
            v.push(name.to_string());
        }
    }

    /// Resolves school and model of a record (a model by its register name or an alias); gives a
    /// model that the row gives a group for a provisional id ([`Lookup::new_models`]). A model known by no name is an error at once when
    /// the register is empty, else noted in `unknown_models`. Returns the staging cells, or the
    /// row's errors.
    fn cells(&mut self, file: &str, r: &DeviceRecord) -> std::result::Result<Vec<Option<String>>, Vec<String>> {
        let mut errs = Vec::new();
        let row = r.row;
        let school_id = match &r.school_code {
            Some(code) => match self.schools.get(code.as_str()) {
                Some(id) => Some(*id),
                None => {
                    errs.push(format!(
                        "{file}:{row}:school_code: {code} — 登録済みの学校コード（先に gigaops import schools で学校を登録してください）"
                    ));
                    None
                }
            },
            None => None,
        };
        let mut unknown = None;
        let model_id = match (&r.model, &r.model_group) {
            (None, _) => None,
            (Some(name), group) => match (self.names.resolve(name), group) {
                (Some(id), Some(g)) if self.models.get(&id).is_some_and(|(_, have)| have != g) => {
                    let (registered, have) = &self.models[&id];
                    errs.push(format!(
                        "{file}:{row}:model_group: {g} — 機種「{registered}」は機種グループ「{have}」に登録済みです（変更は gigaops model add で）"
                    ));
                    None
                }
                (Some(id), _) => {
                    self.note_spelling(id, name);
                    Some(id)
                }
                (None, Some(g)) => {
                    // registered when the import writes ([`Lookup::register_new_models`])
                    let id = -1 - self.new_models.len() as i64;
                    self.new_models.push(id);
                    self.names.add_model(id, name);
                    self.models.insert(id, (name.clone(), g.clone()));
                    self.note_spelling(id, name);
                    Some(id)
                }
                (None, None) if self.register_empty => {
                    errs.push(unknown_model_error(file, row, name));
                    None
                }
                (None, None) => {
                    unknown = Some(name.clone());
                    None
                }
            },
        };
        if !errs.is_empty() {
            return Err(errs);
        }
        if let Some(name) = unknown {
            self.unknown_models.insert(row, name);
        }
        Ok(vec![
            Some(row.to_string()),
            Some(r.serial_number.clone()),
            model_id.map(|i| i.to_string()),
            r.device_class.map(|c| c.as_str().to_string()),
            r.status.map(|s| s.as_str().to_string()),
            school_id.map(|i| i.to_string()),
            r.asset_tag.clone(),
            r.device_name.clone(),
            r.os_version.clone(),
            r.last_check_in.map(|d| d.to_string()),
        ])
    }
}

/// The error of a new device whose model the register knows by no name or alias.
fn unknown_model_error(file: &str, row: usize, name: &str) -> String {
    format!(
        "{file}:{row}:model: {name} — 登録済みの機種名または機種の別名（登録済みの機種のことなら「{name}」をその機種の別名として登録してください: \
         gigaops model alias add --model 機種名 \"{name}\"、または画面「機種と別名」。新しい機種なら model_group 列で機種グループを指定するか \
         gigaops model add で登録してください）"
    )
}

/// Imports devices. `records` is the reader's stream; `as_of` is the inventory's date (the date of
/// the initial state of new devices and of status/school changes of known ones).
///
/// Rules: matched on serial number. A model is found by its register name or an alias
/// (機種の別名; width, case and spaces do not matter — `fleet::models`). A new device needs a
/// model; a model unknown to the register is created only when the row gives its `model_group`
/// (else: error, suggesting an alias). New devices default to class learner and status deployed.
/// For a known device, empty cells keep the stored value and the register's model always stays: a
/// model in the file that differs from it (another registered model, or a name the register does
/// not know) is a warning, and the row's other columns (device name, OS version, last check-in, …)
/// are still taken. A changed status or school is recorded as a state change on `as_of`, which
/// must not be before its latest recorded change. A device's school is kept only while deployed
/// (or given explicitly).
///
/// Warnings: [`ImportOutcome::warnings`], `file:row:model: value — note`, in row order (at most
/// [`MAX_ERRORS`], then one line saying how many more).
///
/// Errors: [`StoreError::Rows`] listing every bad row as `file:row:column: value — expected`
/// (reader errors, unknown school, unknown model of a new device, conflicting model groups, as-of
/// before history); nothing is written then. With `src.dry_run` nothing is written and the counts
/// (and warnings) say what would change.
pub async fn import(
    store: &Store,
    municipality_id: i64,
    src: &ImportSource,
    records: impl Iterator<Item = std::result::Result<DeviceRecord, Vec<RowError>>>,
    as_of: NaiveDate,
    mut progress: impl FnMut(u64),
) -> Result<ImportOutcome> {
    let file = src.file_name.as_str();
    let started = std::time::Instant::now();
    let lap = |step: &str| tracing::debug!(step, elapsed_ms = started.elapsed().as_millis() as u64, "device import");
    let mut tx = BulkTx::begin_staging(store).await?;
    let pg = tx.is_postgres();
    let date_type = if pg { "DATE" } else { "TEXT" };
    tx.temp_table(
        "staging_device",
        &format!(
            "row_no BIGINT, serial TEXT, model_id BIGINT, device_class TEXT, \
             status TEXT, school_id BIGINT, asset_tag TEXT, device_name TEXT, os_version TEXT, \
             last_check_in {date_type}, device_id BIGINT, cur_status TEXT, cur_school BIGINT, cur_since {date_type}, \
             new_status TEXT, new_school BIGINT, changes_state INTEGER NOT NULL DEFAULT 0, \
             changes_attr INTEGER NOT NULL DEFAULT 0"
        ),
    )
    .await?;
    let m = V::I(municipality_id);
    // An empty register (the first inventory) needs no matching against existing devices.
    let register_empty =
        tx.rows("SELECT id FROM device WHERE municipality_id = $1 LIMIT 1", std::slice::from_ref(&m)).await?.is_empty();
    let mut lookup = Lookup::load(&mut tx, municipality_id, register_empty).await?;
    let mut warnings: Vec<(usize, String)> = Vec::new();

    let mut errors = Errors::default();
    let mut batch: Vec<V> = Vec::with_capacity(CHUNK * STAGING_COLS.len());
    let mut rows: u64 = 0;
    for rec in records {
        rows += 1;
        match rec {
            Ok(r) => match lookup.cells(file, &r) {
                Ok(_) if r.model.is_none() && register_empty => errors.push(
                    r.row,
                    format!("{file}:{}:model: {} — 新しい端末には機種（model）が必要です", r.row, r.serial_number),
                ),
                Ok(cells) => batch.extend(cells.into_iter().map(V::T)),
                Err(lines) => lines.into_iter().for_each(|l| errors.push(r.row, l)),
            },
            Err(es) => es.iter().for_each(|e| errors.push_row_error(e)),
        }
        if batch.len() >= CHUNK * STAGING_COLS.len() {
            // valid rows are staged even after an error, so that duplicates among them are reported too
            tx.load("staging_device", &STAGING_COLS, &batch).await?;
            batch.clear();
            progress(rows);
        }
    }
    tx.load("staging_device", &STAGING_COLS, &batch).await?;
    progress(rows);
    lap("staging loaded");
    tx.exec("CREATE INDEX ix_staging_device_serial ON staging_device (serial)", &[]).await?;
    for (row, serial, first) in tx.repeated_keys("staging_device", "serial").await? {
        errors.push(
            row,
            format!("{file}:{row}:serial_number: {serial} — 重複しないシリアル番号（{first}行目と同じです）"),
        );
    }
    if !errors.is_empty() {
        return abort(tx, errors).await;
    }
    lap("duplicates checked");
    // the register is read again from here, in the writing transaction (a preview only reads)
    if !src.dry_run {
        tx.begin_writes().await?;
        lookup.register_new_models(&mut tx, municipality_id).await?;
    }
    lap("write lock taken");
    if !register_empty {
        if tx.is_postgres() {
            // temp tables are never auto-analysed; without statistics the join below is planned badly
            tx.exec("ANALYZE staging_device", &[]).await?;
        }
        // A known device keeps the register's model: a file naming another registered model is
        // warned about here, and the match below clears the staged model of known devices.
        for r in tx
            .rows(
                "SELECT s.row_no, s.model_id, d.model_id FROM staging_device s \
                 JOIN device d ON d.municipality_id = $1 AND d.serial_number = s.serial \
                 WHERE s.model_id IS NOT NULL AND s.model_id <> d.model_id ORDER BY s.row_no",
                std::slice::from_ref(&m),
            )
            .await?
        {
            let row: usize = r[0].parse().unwrap_or(0);
            let (file_model, register_model) = (r[1].parse().unwrap_or(0), r[2].parse().unwrap_or(0));
            let written = lookup.spelling(file_model);
            let resolved = lookup.model_name(file_model);
            let via = if written == resolved {
                String::new()
            } else {
                format!("（登録済みの機種「{resolved}」）")
            };
            warnings.push((
                row,
                format!(
                    "{file}:{row}:model: {written} — 台帳の機種「{}」と異なります{via}。機種は台帳のまま、ほかの項目を取り込みます",
                    lookup.model_name(register_model)
                ),
            ));
        }
        // Known devices, in one pass: the status the file gives (else the current one); the school
        // the file gives, else the current one while deployed; whether that changes the state; whether
        // any attribute the file gives differs.
        let new_status = "COALESCE(s.status, d.status)";
        let new_school = format!(
            "CASE WHEN s.school_id IS NOT NULL THEN s.school_id WHEN {new_status} = 'deployed' THEN d.school_id END"
        );
        let differs = |col: &str| format!("(s.{col} IS NOT NULL AND (d.{col} IS NULL OR s.{col} <> d.{col}))");
        tx.exec(
            &format!(
                "UPDATE staging_device AS s SET device_id = d.id, model_id = NULL, cur_status = d.status, cur_school = d.school_id, \
                 cur_since = d.status_since, new_status = {new_status}, new_school = {new_school}, \
                 changes_state = CASE WHEN {new_status} <> d.status OR COALESCE({new_school}, -1) <> COALESCE(d.school_id, -1) \
                   THEN 1 ELSE 0 END, \
                 changes_attr = CASE WHEN {} THEN 1 ELSE 0 END \
                 FROM device d WHERE d.municipality_id = $1 AND d.serial_number = s.serial",
                ["device_class", "asset_tag", "device_name", "os_version", "last_check_in"]
                    .map(differs)
                    .join(" OR ")
            ),
            std::slice::from_ref(&m),
        )
        .await?;
        let checks: [(&str, &str, &str); 2] = [
            (
                "SELECT row_no, serial FROM staging_device WHERE model_id IS NULL AND device_id IS NULL ORDER BY row_no",
                "model",
                "新しい端末には機種（model）が必要です",
            ),
            (
                "SELECT row_no, cur_since FROM staging_device WHERE changes_state = 1 AND cur_since > $1 ORDER BY row_no",
                "status",
                "状態・学校の変更は端末の最新の記録日以降の基準日（--as-of）で取り込んでください",
            ),
        ];
        for (sql, column, expected) in checks {
            let vals: &[V] = if sql.contains("$1") { &[V::D(Some(as_of))] } else { &[] };
            for r in tx.rows(sql, vals).await? {
                let row: usize = r[0].parse().unwrap_or(0);
                // a new device whose model the register does not know
                match (column == "model").then(|| lookup.unknown_models.remove(&row)).flatten() {
                    Some(name) => errors.push(row, unknown_model_error(file, row, &name)),
                    None => errors.push(row, format!("{file}:{row}:{column}: {} — {expected}", r[1])),
                }
            }
        }
        if !errors.is_empty() {
            return abort(tx, errors).await;
        }
        // the rest of the unknown models are of known devices
        for (row, name) in std::mem::take(&mut lookup.unknown_models) {
            warnings.push((
                row,
                format!(
                    "{file}:{row}:model: {name} — 登録済みの機種名・機種の別名ではありません。機種は台帳のまま、ほかの項目を取り込みます\
                     （登録済みの機種のことなら別名として登録してください: gigaops model alias add --model 機種名 \"{name}\"）",
                ),
            ));
        }
    }
    warnings.sort();
    let dropped = warnings.len().saturating_sub(MAX_ERRORS);
    let mut warnings: Vec<String> = warnings.into_iter().take(MAX_ERRORS).map(|(_, w)| w).collect();
    if dropped > 0 {
        warnings.push(format!("{file}: ほか {dropped} 件の警告は省略しました"));
    }
    lap("compared with the register");
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
    let out = ImportOutcome {
        rows: c(0),
        inserted: c(1),
        updated: c(2),
        unchanged: c(0) - c(1) - c(2),
        warnings,
        ..ImportOutcome::new("devices", src)
    };
    if out.rows == 0 {
        tx.rollback().await?;
        return Err(StoreError::Rows(vec![format!("{file}: データ行がありません")]));
    }
    if src.dry_run {
        return finish(tx, municipality_id, src, out).await;
    }
    lap("counted");
    let who = V::T(src.imported_by.clone());
    let day = V::D(Some(as_of));
    tx.exec(
        "INSERT INTO device (municipality_id, serial_number, asset_tag, model_id, device_class, status, school_id, \
         device_name, os_version, last_check_in, registered_on, status_since) \
         SELECT $1, serial, asset_tag, model_id, COALESCE(device_class, 'learner'), COALESCE(status, 'deployed'), \
         school_id, device_name, os_version, last_check_in, $2, $2 FROM staging_device WHERE device_id IS NULL \
         ORDER BY row_no",
        &[m.clone(), day.clone()],
    )
    .await?;
    lap("devices inserted");
    let new_devices = if register_empty {
        "SELECT $1, d.id, $2, d.status, NULL, d.school_id, 'inventory', $3, $4 FROM device d WHERE d.municipality_id = $1"
    } else {
        "SELECT $1, d.id, $2, d.status, NULL, d.school_id, 'inventory', $3, $4 \
         FROM staging_device s JOIN device d ON d.municipality_id = $1 AND d.serial_number = s.serial \
         WHERE s.device_id IS NULL"
    };
    tx.exec(
        &format!(
            "INSERT INTO device_state (municipality_id, device_id, effective_on, status, prev_status, school_id, \
             reason, recorded_by, recorded_at) {new_devices}"
        ),
        &[m.clone(), day.clone(), who.clone(), V::Now],
    )
    .await?;
    lap("states inserted");
    if !register_empty {
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
    }
    tx.drop_temp(&["staging_device"]).await?;
    // fresh statistics after a bulk change, or the planner keeps the estimates of an empty register
    // (PostgreSQL: a 160 ms sort instead of a 1 ms index scan on the device list)
    tx.refresh_statistics(&["device", "device_state", "device_model"]).await?;
    lap("analysed");
    let out = finish(tx, municipality_id, src, out).await?;
    lap("committed");
    Ok(out)
}
