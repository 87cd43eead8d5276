//! A school's own fleet, for its home page: its devices counted by status, and the incidents of
//! its devices still open. Two aggregate queries; nothing is read per device.

use crate::{Result, Store};
use chrono::NaiveDate;
use sea_orm::{DbBackend, FromQueryResult, Statement};

fn stmt(store: &Store, sql: &str, vals: Vec<sea_orm::Value>) -> Statement {
    let sql = if store.backend() == DbBackend::Sqlite { sql.replace('$', "?") } else { sql.to_string() };
    Statement::from_sql_and_values(store.backend(), sql, vals)
}

/// `$2, $3, …` for `n` ids after the municipality's `$1`.
fn placeholders(n: usize) -> String {
    (0..n).map(|k| format!("${}", k + 2)).collect::<Vec<_>>().join(", ")
}

/// How many devices of one status (`deployed`, `spare` …; `domain::fleet::DeviceStatus::as_str`)
/// are at the schools.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct StatusCount {
    pub status: String,
    pub n: i64,
}

/// The devices whose school is one of `school_ids` (the device's current school: deployed devices
/// keep one; devices in repair, lost or retired do not), counted by status, in status order.
/// Empty `school_ids` → nothing. Errors: the database's.
pub async fn device_counts(store: &Store, municipality_id: i64, school_ids: &[i64]) -> Result<Vec<StatusCount>> {
    if school_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT d.status AS status, CAST(COUNT(*) AS BIGINT) AS n FROM device d \
         WHERE d.municipality_id = $1 AND d.school_id IN ({}) GROUP BY d.status ORDER BY d.status",
        placeholders(school_ids.len())
    );
    let mut vals: Vec<sea_orm::Value> = vec![municipality_id.into()];
    vals.extend(school_ids.iter().map(|&id| id.into()));
    Ok(StatusCount::find_by_statement(stmt(store, &sql, vals)).all(&store.db).await?)
}

/// An incident still open: neither repaired nor written off.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct OpenIncident {
    pub id: i64,
    pub occurred_on: NaiveDate,
    /// `damage` / `fault` / `loss` / `theft`.
    pub kind: String,
    pub serial_number: String,
    /// The device's status now (`in_repair`, `lost` …).
    pub device_status: String,
    /// The school the device was at when the incident happened.
    pub school_id: i64,
}

/// The open incidents (no `repaired_on`, no `written_off_on`) of devices that were at one of
/// `school_ids` when the incident happened — the school of the device's last state row before the
/// incident's own (a broken device leaves its school) — newest first, at most `limit`, and how many
/// there are in all. Empty `school_ids` → none. Errors: the database's.
pub async fn open_incidents(
    store: &Store,
    municipality_id: i64,
    school_ids: &[i64],
    limit: u64,
) -> Result<(Vec<OpenIncident>, u64)> {
    if school_ids.is_empty() {
        return Ok((Vec::new(), 0));
    }
    let sql = format!(
        "SELECT i.id AS id, i.occurred_on AS occurred_on, i.kind AS kind, d.serial_number AS serial_number, \
         d.status AS device_status, s.school_id AS school_id \
         FROM incident i JOIN device d ON d.id = i.device_id \
         JOIN device_state s ON s.id = (SELECT MAX(p.id) FROM device_state p WHERE p.device_id = i.device_id \
           AND p.effective_on <= i.occurred_on AND (p.incident_id IS NULL OR p.incident_id <> i.id)) \
         WHERE i.municipality_id = $1 AND i.repaired_on IS NULL AND i.written_off_on IS NULL \
         AND s.school_id IN ({}) ORDER BY i.occurred_on DESC, i.id DESC",
        placeholders(school_ids.len())
    );
    let mut vals: Vec<sea_orm::Value> = vec![municipality_id.into()];
    vals.extend(school_ids.iter().map(|&id| id.into()));
    let all = OpenIncident::find_by_statement(stmt(store, &sql, vals)).all(&store.db).await?;
    let total = all.len() as u64;
    Ok((all.into_iter().take(limit as usize).collect(), total))
}
