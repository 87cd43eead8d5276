//! Incidents and movements: each becomes state changes of one or two devices, checked by the
//! rules in `gigaops_domain::fleet` and written in one transaction. Used by the CSV imports and by
//! the web counter (register an incident, swap with a spare, return from repair).

use crate::bulk::Errors;
use crate::entity::{device, device_model, device_state, incident, movement, school};
use crate::imports::{abort, ImportOutcome, ImportSource};
use crate::{Result, Store, StoreError};
use chrono::NaiveDate;
use gigaops_domain::fleet::{
    incident_transitions, movement_transition, repair_transition, write_off_transition, DeviceSnapshot, DeviceStatus,
    IncidentKind, Transition,
};
use gigaops_ingest::incidents::IncidentRecord;
use gigaops_ingest::movements::MovementRecord;
use gigaops_ingest::RowError;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, Set,
    TransactionTrait,
};

/// One incident to record (from a CSV row or the web form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentInput {
    pub serial_number: String,
    pub occurred_on: NaiveDate,
    pub kind: IncidentKind,
    pub cause: Option<String>,
    pub replacement_serial: Option<String>,
    pub repaired_on: Option<NaiveDate>,
    pub written_off_on: Option<NaiveDate>,
}

impl From<IncidentRecord> for IncidentInput {
    fn from(r: IncidentRecord) -> Self {
        IncidentInput {
            serial_number: r.serial_number,
            occurred_on: r.occurred_on,
            kind: r.kind,
            cause: r.cause,
            replacement_serial: r.replacement_serial,
            repaired_on: r.repaired_on,
            written_off_on: r.written_off_on,
        }
    }
}

/// Loads a device's snapshot by serial (upper-cased) inside the transaction.
async fn snapshot<C: ConnectionTrait>(
    conn: &C,
    municipality_id: i64,
    serial: &str,
) -> Result<Option<(device::Model, DeviceSnapshot)>> {
    let Some(d) = device::Entity::find()
        .filter(device::Column::MunicipalityId.eq(municipality_id))
        .filter(device::Column::SerialNumber.eq(serial.trim().to_uppercase()))
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let group =
        device_model::Entity::find_by_id(d.model_id).one(conn).await?.map(|m| m.model_group).unwrap_or_default();
    let snap = DeviceSnapshot {
        serial_number: d.serial_number.clone(),
        status: DeviceStatus::parse(&d.status).unwrap_or(DeviceStatus::Deployed),
        school_id: d.school_id,
        registered_on: d.registered_on,
        since: d.status_since,
        model_group: group,
    };
    Ok(Some((d, snap)))
}

/// What caused a state change.
#[derive(Clone, Copy)]
enum Cause {
    Incident(i64),
    Swap(i64),
    Repair(i64),
    WriteOff(i64),
    Movement(i64),
}

async fn apply(
    txn: &DatabaseTransaction,
    d: &device::Model,
    t: &Transition,
    cause: Cause,
    who: Option<&str>,
) -> Result<()> {
    let (reason, incident_id, movement_id) = match cause {
        Cause::Incident(i) => ("incident", Some(i), None),
        Cause::Swap(i) => ("swap", Some(i), None),
        Cause::Repair(i) => ("repair", Some(i), None),
        Cause::WriteOff(i) => ("write_off", Some(i), None),
        Cause::Movement(m) => ("movement", None, Some(m)),
    };
    device_state::ActiveModel {
        municipality_id: Set(d.municipality_id),
        device_id: Set(d.id),
        effective_on: Set(t.on),
        status: Set(t.status.as_str().to_string()),
        prev_status: Set(Some(d.status.clone())),
        school_id: Set(t.school_id),
        reason: Set(reason.to_string()),
        incident_id: Set(incident_id),
        movement_id: Set(movement_id),
        recorded_by: Set(who.map(str::to_string)),
        recorded_at: Set(chrono::Utc::now()),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    device::ActiveModel {
        id: Set(d.id),
        status: Set(t.status.as_str().to_string()),
        school_id: Set(t.school_id),
        status_since: Set(t.on),
        ..Default::default()
    }
    .update(txn)
    .await?;
    Ok(())
}

/// Whether an incident changed anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Inserted,
    Updated,
    Unchanged,
}

/// A sub-event of an incident row, applied in date order across the whole file.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Occur,
    Repair,
    WriteOff,
}

/// Records one incident inside `txn`, with its swap, repair and write-off. An incident already
/// recorded (same device, date and kind) is unchanged; a repair or write-off date added later is
/// applied; a different one is an error.
///
/// Errors: [`StoreError::NotFound`] for an unknown serial; [`StoreError::Rule`] for a broken rule
/// (see `gigaops_domain::fleet::incident_transitions`).
pub async fn record_incident(
    txn: &DatabaseTransaction,
    municipality_id: i64,
    input: &IncidentInput,
    who: Option<&str>,
) -> Result<Applied> {
    let mut applied = Applied::Unchanged;
    for step in [Step::Occur, Step::Repair, Step::WriteOff] {
        if let Some(a) = incident_step(txn, municipality_id, input, step, who).await? {
            applied = if applied == Applied::Inserted { applied } else { a };
        }
    }
    Ok(applied)
}

async fn find_incident(
    txn: &DatabaseTransaction,
    device_id: i64,
    input: &IncidentInput,
) -> Result<Option<incident::Model>> {
    Ok(incident::Entity::find()
        .filter(incident::Column::DeviceId.eq(device_id))
        .filter(incident::Column::OccurredOn.eq(input.occurred_on))
        .filter(incident::Column::Kind.eq(input.kind.as_str()))
        .one(txn)
        .await?)
}

fn rule(e: gigaops_domain::fleet::FleetRuleError) -> StoreError {
    StoreError::Fleet(e)
}

async fn incident_step(
    txn: &DatabaseTransaction,
    municipality_id: i64,
    input: &IncidentInput,
    step: Step,
    who: Option<&str>,
) -> Result<Option<Applied>> {
    let serial = &input.serial_number;
    let (d, snap) = snapshot(txn, municipality_id, serial)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("シリアル番号「{serial}」の端末は台帳にありません")))?;
    let existing = find_incident(txn, d.id, input).await?;
    match step {
        Step::Occur => {
            if let Some(ex) = &existing {
                let rep_now = match &input.replacement_serial {
                    Some(s) => snapshot(txn, municipality_id, s).await?.map(|(r, _)| r.id),
                    None => None,
                };
                if input.replacement_serial.is_some() && rep_now != ex.replacement_device_id {
                    return Err(StoreError::Rule(format!(
                        "端末 {serial} の {} の{}は、別の代替機で登録済みです",
                        input.occurred_on,
                        input.kind.label_ja()
                    )));
                }
                return Ok(Some(Applied::Unchanged));
            }
            let rep = match &input.replacement_serial {
                Some(s) => Some(snapshot(txn, municipality_id, s).await?.ok_or_else(|| {
                    StoreError::NotFound(format!("代替機のシリアル番号「{s}」の端末は台帳にありません"))
                })?),
                None => None,
            };
            let (t_dev, t_rep) =
                incident_transitions(&snap, rep.as_ref().map(|(_, s)| s), input.occurred_on, input.kind)
                    .map_err(rule)?;
            let inc = incident::ActiveModel {
                municipality_id: Set(municipality_id),
                device_id: Set(d.id),
                occurred_on: Set(input.occurred_on),
                kind: Set(input.kind.as_str().to_string()),
                cause: Set(input.cause.clone()),
                replacement_device_id: Set(rep.as_ref().map(|(r, _)| r.id)),
                repaired_on: Set(None),
                written_off_on: Set(None),
                recorded_by: Set(who.map(str::to_string)),
                recorded_at: Set(chrono::Utc::now()),
                ..Default::default()
            }
            .insert(txn)
            .await?;
            apply(txn, &d, &t_dev, Cause::Incident(inc.id), who).await?;
            if let (Some((r, _)), Some(t)) = (&rep, &t_rep) {
                apply(txn, r, t, Cause::Swap(inc.id), who).await?;
            }
            Ok(Some(Applied::Inserted))
        }
        Step::Repair | Step::WriteOff => {
            let want = if step == Step::Repair { input.repaired_on } else { input.written_off_on };
            let Some(on) = want else { return Ok(None) };
            let ex =
                existing.ok_or_else(|| StoreError::NotFound(format!("端末 {serial} の事故記録が見つかりません")))?;
            let have = if step == Step::Repair { ex.repaired_on } else { ex.written_off_on };
            match have {
                Some(h) if h == on => return Ok(Some(Applied::Unchanged)),
                Some(h) => {
                    return Err(StoreError::Rule(format!(
                        "端末 {serial} の{}日は {h} で登録済みです（{on} とは異なります）",
                        if step == Step::Repair { "修理完了" } else { "廃棄" }
                    )))
                }
                None => {}
            }
            let (t, cause) = if step == Step::Repair {
                (repair_transition(&snap, on).map_err(rule)?, Cause::Repair(ex.id))
            } else {
                (write_off_transition(&snap, on).map_err(rule)?, Cause::WriteOff(ex.id))
            };
            let mut am: incident::ActiveModel = ex.clone().into();
            if step == Step::Repair {
                am.repaired_on = Set(Some(on));
            } else {
                am.written_off_on = Set(Some(on));
            }
            am.update(txn).await?;
            apply(txn, &d, &t, cause, who).await?;
            Ok(Some(Applied::Updated))
        }
    }
}

/// Imports incident rows: every row is expanded into its occurrence, repair and write-off, all
/// applied in date order (ties in file order) in one transaction. Rows already recorded change
/// nothing.
///
/// Errors: [`StoreError::Rows`] with every reader error and every rule broken, as
/// `file:row:column: value — expected`; nothing is written then.
pub async fn import_incidents(
    store: &Store,
    municipality_id: i64,
    src: &ImportSource,
    records: impl Iterator<Item = std::result::Result<IncidentRecord, Vec<RowError>>>,
) -> Result<ImportOutcome> {
    let mut errors = Errors::default();
    let mut rows: Vec<(usize, IncidentInput)> = Vec::new();
    for r in records {
        match r {
            Ok(rec) => rows.push((rec.row, rec.into())),
            Err(es) => es.iter().for_each(|e| errors.push_row_error(e)),
        }
    }
    if !errors.is_empty() {
        return Err(errors.into_error());
    }
    let mut steps: Vec<(NaiveDate, usize, Step)> = Vec::new();
    for (i, (_, inp)) in rows.iter().enumerate() {
        steps.push((inp.occurred_on, i, Step::Occur));
        if let Some(d) = inp.repaired_on {
            steps.push((d, i, Step::Repair));
        }
        if let Some(d) = inp.written_off_on {
            steps.push((d, i, Step::WriteOff));
        }
    }
    steps.sort();
    let mut status: Vec<Applied> = vec![Applied::Unchanged; rows.len()];
    let txn = store.db.begin().await?;
    let who = src.imported_by.as_deref();
    for (_, i, step) in steps {
        let (row, inp) = &rows[i];
        match incident_step(&txn, municipality_id, inp, step, who).await {
            Ok(Some(a)) => {
                if status[i] != Applied::Inserted && a != Applied::Unchanged {
                    status[i] = a;
                }
            }
            Ok(None) => {}
            Err(e @ (StoreError::Rule(_) | StoreError::NotFound(_) | StoreError::Fleet(_))) => {
                let m = e.to_string();
                let (col, val) = match step {
                    Step::Occur => ("serial_number", inp.serial_number.clone()),
                    Step::Repair => ("repaired_on", inp.repaired_on.map(|d| d.to_string()).unwrap_or_default()),
                    Step::WriteOff => ("written_off_on", inp.written_off_on.map(|d| d.to_string()).unwrap_or_default()),
                };
                errors.push(*row, format!("{}:{row}:{col}: {val} — {m}", src.file_name));
            }
            Err(e) => return Err(e),
        }
    }
    finish_events(txn, municipality_id, src, "incidents", errors, &status).await
}

async fn finish_events(
    txn: DatabaseTransaction,
    municipality_id: i64,
    src: &ImportSource,
    kind: &str,
    errors: Errors,
    status: &[Applied],
) -> Result<ImportOutcome> {
    if !errors.is_empty() {
        return abort(txn, errors).await;
    }
    let count = |a: Applied| status.iter().filter(|s| **s == a).count() as i64;
    let out = ImportOutcome {
        rows: status.len() as i64,
        inserted: count(Applied::Inserted),
        updated: count(Applied::Updated),
        unchanged: count(Applied::Unchanged),
        ..ImportOutcome::new(kind, src)
    };
    crate::imports::finish(txn, municipality_id, src, out).await
}

/// One movement to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovementInput {
    pub serial_number: String,
    pub moved_on: NaiveDate,
    pub to_status: DeviceStatus,
    pub to_school_code: Option<String>,
}

/// Records one movement inside `txn`; the same device and date already recorded is unchanged
/// when it went to the same place, an error otherwise.
///
/// Errors: [`StoreError::NotFound`] for an unknown serial or school; [`StoreError::Rule`] for a
/// broken rule (see `gigaops_domain::fleet::movement_transition`).
pub async fn record_movement(
    txn: &DatabaseTransaction,
    municipality_id: i64,
    input: &MovementInput,
    who: Option<&str>,
) -> Result<Applied> {
    let serial = &input.serial_number;
    let (d, snap) = snapshot(txn, municipality_id, serial)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("シリアル番号「{serial}」の端末は台帳にありません")))?;
    let school_id = match &input.to_school_code {
        Some(code) => Some(
            school::Entity::find()
                .filter(school::Column::MunicipalityId.eq(municipality_id))
                .filter(school::Column::SchoolCode.eq(code.as_str()))
                .one(txn)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("学校コード「{code}」の学校は登録されていません")))?
                .id,
        ),
        None => None,
    };
    if let Some(ex) = movement::Entity::find()
        .filter(movement::Column::DeviceId.eq(d.id))
        .filter(movement::Column::MovedOn.eq(input.moved_on))
        .one(txn)
        .await?
    {
        if ex.to_status == input.to_status.as_str() && ex.to_school_id == school_id {
            return Ok(Applied::Unchanged);
        }
        return Err(StoreError::Rule(format!("端末 {serial} の {} の移動は別の内容で登録済みです", input.moved_on)));
    }
    let t = movement_transition(&snap, input.moved_on, input.to_status, school_id).map_err(rule)?;
    let mv = movement::ActiveModel {
        municipality_id: Set(municipality_id),
        device_id: Set(d.id),
        moved_on: Set(input.moved_on),
        to_status: Set(input.to_status.as_str().to_string()),
        to_school_id: Set(t.school_id),
        recorded_by: Set(who.map(str::to_string)),
        recorded_at: Set(chrono::Utc::now()),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    apply(txn, &d, &t, Cause::Movement(mv.id), who).await?;
    Ok(Applied::Inserted)
}

/// Imports movement rows in date order (ties in file order), in one transaction.
///
/// Errors: [`StoreError::Rows`] with every problem; nothing is written then.
pub async fn import_movements(
    store: &Store,
    municipality_id: i64,
    src: &ImportSource,
    records: impl Iterator<Item = std::result::Result<MovementRecord, Vec<RowError>>>,
) -> Result<ImportOutcome> {
    let mut errors = Errors::default();
    let mut rows: Vec<(usize, MovementInput)> = Vec::new();
    for r in records {
        match r {
            Ok(rec) => rows.push((
                rec.row,
                MovementInput {
                    serial_number: rec.serial_number,
                    moved_on: rec.moved_on,
                    to_status: rec.to_status,
                    to_school_code: rec.to_school_code.map(|c| c.to_string()),
                },
            )),
            Err(es) => es.iter().for_each(|e| errors.push_row_error(e)),
        }
    }
    if !errors.is_empty() {
        return Err(errors.into_error());
    }
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by_key(|&i| (rows[i].1.moved_on, i));
    let mut status = vec![Applied::Unchanged; rows.len()];
    let txn = store.db.begin().await?;
    for i in order {
        let (row, inp) = &rows[i];
        match record_movement(&txn, municipality_id, inp, src.imported_by.as_deref()).await {
            Ok(a) => status[i] = a,
            Err(e @ (StoreError::Rule(_) | StoreError::NotFound(_) | StoreError::Fleet(_))) => {
                errors.push(*row, format!("{}:{row}:serial_number: {} — {e}", src.file_name, inp.serial_number));
            }
            Err(e) => return Err(e),
        }
    }
    finish_events(txn, municipality_id, src, "movements", errors, &status).await
}

/// Records one incident from the web counter in its own transaction.
pub async fn register_incident(
    store: &Store,
    municipality_id: i64,
    input: &IncidentInput,
    who: &str,
) -> Result<Applied> {
    let txn = store.db.begin().await?;
    let a = record_incident(&txn, municipality_id, input, Some(who)).await?;
    txn.commit().await?;
    Ok(a)
}

/// Marks an in-repair device as repaired (back to the spare pool) on `on`: completes its latest
/// open incident (no repair or write-off date yet).
///
/// Errors: [`StoreError::NotFound`] for an unknown serial or a device without an open incident;
/// [`StoreError::Rule`] when it is not in repair or the date is before its latest change.
pub async fn return_from_repair(
    store: &Store,
    municipality_id: i64,
    serial: &str,
    on: NaiveDate,
    who: &str,
) -> Result<()> {
    let txn = store.db.begin().await?;
    let (d, _) = snapshot(&txn, municipality_id, serial)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("シリアル番号「{serial}」の端末は台帳にありません")))?;
    let open = incident::Entity::find()
        .filter(incident::Column::DeviceId.eq(d.id))
        .filter(incident::Column::RepairedOn.is_null())
        .filter(incident::Column::WrittenOffOn.is_null())
        .all(&txn)
        .await?
        .into_iter()
        .max_by_key(|i| (i.occurred_on, i.id))
        .ok_or_else(|| StoreError::NotFound(format!("端末 {serial} に修理中の事故記録がありません")))?;
    let kind = IncidentKind::parse(&open.kind).unwrap_or(IncidentKind::Damage);
    let input = IncidentInput {
        serial_number: d.serial_number.clone(),
        occurred_on: open.occurred_on,
        kind,
        cause: open.cause.clone(),
        replacement_serial: None,
        repaired_on: Some(on),
        written_off_on: None,
    };
    incident_step(&txn, municipality_id, &input, Step::Repair, Some(who)).await?;
    txn.commit().await?;
    Ok(())
}
