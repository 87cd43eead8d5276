//! Read queries of LTE usage: the capacity table (usage against the pooled contract per month,
//! city-wide and per school), the cases with their line, school and pupil, and the work items.

use crate::{Result, Store};
use gigaops_domain::YearMonth;
use sea_orm::{DbBackend, FromQueryResult, Statement};

fn stmt(store: &Store, sql: &str, vals: Vec<sea_orm::Value>) -> Statement {
    let sql = if store.backend() == DbBackend::Sqlite { sql.replace('$', "?") } else { sql.to_string() };
    Statement::from_sql_and_values(store.backend(), sql, vals)
}

/// Usage and capacity of one month, for the whole municipality (`school_code` = `None`) or one
/// school. Bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapacityRow {
    pub month: YearMonth,
    pub school_code: Option<String>,
    pub school_name: Option<String>,
    /// Σ usage of the month, bytes.
    pub usage_bytes: i64,
    /// Σ allowances of the lines active on at least one day of the month, bytes.
    pub capacity_bytes: i64,
    /// Lines active on at least one day of the month.
    pub active_lines: i64,
}

#[derive(FromQueryResult)]
struct SchoolUsed {
    month: String,
    school_code: String,
    school_name: String,
    usage_bytes: i64,
}

#[derive(FromQueryResult)]
struct SchoolGroup {
    school_code: String,
    school_name: String,
    allowance_bytes: i64,
    from_month: String,
    to_month: Option<String>,
    lines: i64,
}

/// The capacity table for `from..=to`: one city-wide row per month, or (with `by_school`) per
/// month one row per school with active lines or usage in the month, by school code. Read from
/// the per-school aggregates ([`capacity_table`]).
///
/// Errors: the database's.
pub async fn capacity(
    store: &Store,
    municipality_id: i64,
    from: YearMonth,
    to: YearMonth,
    by_school: bool,
) -> Result<Vec<CapacityRow>> {
    let t = capacity_table(store, municipality_id, from, to, None).await?;
    Ok(if by_school { t.schools } else { t.city })
}

/// The city-wide rows of a capacity table and its school rows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CapacityTable {
    /// One row per month of the range, in order (zeros for a month without lines or usage).
    pub city: Vec<CapacityRow>,
    /// Per month in order, one row per school with active lines or usage in the month, by school
    /// code.
    pub schools: Vec<CapacityRow>,
}

/// The capacity table for `from..=to` from the per-school aggregates: usage per school and month
/// from `usage_school_month`, capacity from the school's line groups (`school_capacity`; a line
/// counts in every month it is active on at least one day). `school_code` limits the school
/// rows (and so the city rows) to one school. The city row of a month is the sum of its school
/// rows.
///
/// Errors: the database's.
pub async fn capacity_table(
    store: &Store,
    municipality_id: i64,
    from: YearMonth,
    to: YearMonth,
    school_code: Option<&str>,
) -> Result<CapacityTable> {
    let (f, t) = (from.to_string(), to.to_string());
    let (only, mut vals) = match school_code {
        Some(code) => (" AND sc.school_code = $4", vec![code.into()]),
        None => ("", vec![]),
    };
    vals.splice(0..0, [municipality_id.into(), f.clone().into(), t.clone().into()]);
    let used = SchoolUsed::find_by_statement(stmt(
        store,
        &format!(
            "SELECT a.month AS month, sc.school_code AS school_code, sc.name AS school_name, a.usage_bytes AS usage_bytes \
             FROM usage_school_month a JOIN school sc ON sc.id = a.school_id \
             WHERE a.municipality_id = $1 AND a.month >= $2 AND a.month <= $3{only}"
        ),
        vals.clone(),
    ))
    .all(&store.db)
    .await?;
    let groups = SchoolGroup::find_by_statement(stmt(
        store,
        &format!(
            "SELECT sc.school_code AS school_code, sc.name AS school_name, g.allowance_bytes AS allowance_bytes, \
             g.from_month AS from_month, g.to_month AS to_month, g.lines AS lines \
             FROM school_capacity g JOIN school sc ON sc.id = g.school_id \
             WHERE g.municipality_id = $1 AND g.from_month <= $3 AND (g.to_month IS NULL OR g.to_month >= $2){only}"
        ),
        vals,
    ))
    .all(&store.db)
    .await?;
    // (month, school code) → row
    type Rows = std::collections::BTreeMap<(YearMonth, String), CapacityRow>;
    fn entry<'a>(rows: &'a mut Rows, month: YearMonth, code: &str, name: &str) -> &'a mut CapacityRow {
        rows.entry((month, code.to_string())).or_insert_with(|| CapacityRow {
            month,
            school_code: Some(code.to_string()),
            school_name: Some(name.to_string()),
            usage_bytes: 0,
            capacity_bytes: 0,
            active_lines: 0,
        })
    }
    let mut out = Rows::new();
    for u in &used {
        let Ok(month) = u.month.parse::<YearMonth>() else { continue };
        entry(&mut out, month, &u.school_code, &u.school_name).usage_bytes += u.usage_bytes;
    }
    let mut m = from;
    while m <= to {
        let ms = m.to_string();
        for g in groups.iter().filter(|g| super::aggregate::active_in(&g.from_month, g.to_month.as_deref(), &ms)) {
            let r = entry(&mut out, m, &g.school_code, &g.school_name);
            r.capacity_bytes += g.allowance_bytes * g.lines;
            r.active_lines += g.lines;
        }
        m = m.add_months(1);
    }
    let schools: Vec<CapacityRow> = out.into_values().collect();
    let mut city = Vec::new();
    let mut m = from;
    while m <= to {
        let of_month = schools.iter().filter(|s| s.month == m);
        city.push(CapacityRow {
            month: m,
            school_code: None,
            school_name: None,
            usage_bytes: of_month.clone().map(|s| s.usage_bytes).sum(),
            capacity_bytes: of_month.clone().map(|s| s.capacity_bytes).sum(),
            active_lines: of_month.map(|s| s.active_lines).sum(),
        });
        m = m.add_months(1);
    }
    Ok(CapacityTable { city, schools })
}

/// One case event with its line, school and pupil: the rows of the case lists, the MDM list
/// and the letters.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult, serde::Serialize)]
pub struct CaseRow {
    pub case_id: i64,
    pub opened_month: String,
    pub month: String,
    pub kind: String,
    pub step: i64,
    /// Usage of the month, bytes (`None` for missing data).
    pub bytes: Option<i64>,
    pub line_no: String,
    pub device_serial: Option<String>,
    pub pupil_id: Option<String>,
    pub school_id: i64,
    pub school_code: String,
    pub school_name: String,
}

/// The events of `month` (every case with something recorded in it), optionally only those of
/// the schools with the given ids (a school user's view), by school code and line.
pub async fn case_rows(
    store: &Store,
    municipality_id: i64,
    month: YearMonth,
    schools: Option<&[i64]>,
) -> Result<Vec<CaseRow>> {
    let rows = CaseRow::find_by_statement(stmt(
        store,
        "SELECT e.case_id AS case_id, c.opened_month AS opened_month, e.month AS month, e.kind AS kind, \
         e.step AS step, e.bytes AS bytes, l.line_no AS line_no, l.device_serial AS device_serial, \
         l.pupil_id AS pupil_id, sc.id AS school_id, sc.school_code AS school_code, sc.name AS school_name \
         FROM escalation_event e JOIN escalation_case c ON c.id = e.case_id JOIN line l ON l.id = e.line_id \
         JOIN school sc ON sc.id = l.school_id WHERE e.municipality_id = $1 AND e.month = $2 \
         ORDER BY sc.school_code, l.line_no",
        vec![municipality_id.into(), month.to_string().into()],
    ))
    .all(&store.db)
    .await?;
    Ok(match schools {
        Some(ids) => rows.into_iter().filter(|r| ids.contains(&r.school_id)).collect(),
        None => rows,
    })
}

/// One work item with its case's line, school and pupil.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult, serde::Serialize)]
pub struct WorkRow {
    pub id: i64,
    pub case_id: i64,
    pub month: String,
    pub step: i64,
    pub audience: String,
    pub line_no: String,
    pub device_serial: Option<String>,
    pub pupil_id: Option<String>,
    /// The line's school (a `school` user acts only on their schools' items).
    pub school_id: i64,
    pub school_code: String,
    pub school_name: String,
    pub done_at: Option<chrono::DateTime<chrono::Utc>>,
    pub done_by: Option<String>,
}

/// The work items of `month` (optionally one step), by school and line.
pub async fn work_items(
    store: &Store,
    municipality_id: i64,
    month: YearMonth,
    step: Option<i64>,
) -> Result<Vec<WorkRow>> {
    let rows = WorkRow::find_by_statement(stmt(
        store,
        "SELECT w.id AS id, w.case_id AS case_id, w.month AS month, w.step AS step, w.audience AS audience, \
         l.line_no AS line_no, l.device_serial AS device_serial, l.pupil_id AS pupil_id, \
         sc.id AS school_id, sc.school_code AS school_code, sc.name AS school_name, w.done_at AS done_at, w.done_by AS done_by \
         FROM work_item w JOIN line l ON l.id = w.line_id JOIN school sc ON sc.id = l.school_id \
         WHERE w.municipality_id = $1 AND w.month = $2 ORDER BY w.step, sc.school_code, l.line_no",
        vec![municipality_id.into(), month.to_string().into()],
    ))
    .all(&store.db)
    .await?;
    Ok(rows.into_iter().filter(|r| step.is_none_or(|s| r.step == s)).collect())
}

/// Marks work items done by `who` now; returns how many were newly marked (already done ones
/// keep their first mark).
pub async fn mark_done(store: &Store, municipality_id: i64, ids: &[i64], who: &str) -> Result<u64> {
    use crate::entity::work_item;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let r = work_item::Entity::update_many()
        .col_expr(work_item::Column::DoneAt, sea_orm::sea_query::Expr::value(chrono::Utc::now()))
        .col_expr(work_item::Column::DoneBy, sea_orm::sea_query::Expr::value(who.to_string()))
        .filter(work_item::Column::MunicipalityId.eq(municipality_id))
        .filter(work_item::Column::Id.is_in(ids.to_vec()))
        .filter(work_item::Column::DoneAt.is_null())
        .exec(&store.db)
        .await?;
    Ok(r.rows_affected)
}

/// A case's history: each month's event and the work done, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult, serde::Serialize)]
pub struct HistoryRow {
    /// The work item of the step taken that month (`None` when no step was taken).
    pub work_id: Option<i64>,
    pub month: String,
    pub kind: String,
    pub step: i64,
    pub bytes: Option<i64>,
    pub audience: Option<String>,
    pub done_at: Option<chrono::DateTime<chrono::Utc>>,
    pub done_by: Option<String>,
}

/// The history of case `case_id`: who did what when.
pub async fn case_history(store: &Store, municipality_id: i64, case_id: i64) -> Result<Vec<HistoryRow>> {
    Ok(HistoryRow::find_by_statement(stmt(
        store,
        "SELECT w.id AS work_id, e.month AS month, e.kind AS kind, e.step AS step, e.bytes AS bytes, w.audience AS audience, \
         w.done_at AS done_at, w.done_by AS done_by FROM escalation_event e \
         LEFT JOIN work_item w ON w.event_id = e.id WHERE e.municipality_id = $1 AND e.case_id = $2 ORDER BY e.month",
        vec![municipality_id.into(), case_id.into()],
    ))
    .all(&store.db)
    .await?)
}

/// A case with its line, school and pupil (the head of its history page).
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult, serde::Serialize)]
pub struct CaseDetail {
    pub case_id: i64,
    pub opened_month: String,
    pub line_no: String,
    pub device_serial: Option<String>,
    pub pupil_id: Option<String>,
    pub school_id: i64,
    pub school_code: String,
    pub school_name: String,
}

/// Case `case_id` of the municipality, or `None` when there is no such case.
pub async fn case_detail(store: &Store, municipality_id: i64, case_id: i64) -> Result<Option<CaseDetail>> {
    Ok(CaseDetail::find_by_statement(stmt(
        store,
        "SELECT c.id AS case_id, c.opened_month AS opened_month, l.line_no AS line_no, \
         l.device_serial AS device_serial, l.pupil_id AS pupil_id, sc.id AS school_id, \
         sc.school_code AS school_code, sc.name AS school_name FROM escalation_case c \
         JOIN line l ON l.id = c.line_id JOIN school sc ON sc.id = l.school_id \
         WHERE c.municipality_id = $1 AND c.id = $2",
        vec![municipality_id.into(), case_id.into()],
    ))
    .one(&store.db)
    .await?)
}

/// Who last changed the stored escalation policy, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyChange {
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// E-mail of the web user or `cli`; `None` when not recorded.
    pub updated_by: Option<String>,
}

/// The last change of the municipality's policy; `None` while Maebashi's default applies (never set).
pub async fn policy_change(store: &Store, municipality_id: i64) -> Result<Option<PolicyChange>> {
    use crate::entity::escalation_policy;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    Ok(escalation_policy::Entity::find()
        .filter(escalation_policy::Column::MunicipalityId.eq(municipality_id))
        .one(&store.db)
        .await?
        .map(|r| PolicyChange { updated_at: r.updated_at, updated_by: r.updated_by }))
}

/// The months with usage stored for the municipality, in order (reports open on the latest):
/// read from the per-school aggregates (`usage_school_month`), a few rows per month.
/// Errors: the database's.
pub async fn months_with_usage(store: &Store, municipality_id: i64) -> Result<Vec<YearMonth>> {
    #[derive(FromQueryResult)]
    struct M {
        month: String,
    }
    let rows = M::find_by_statement(stmt(
        store,
        "SELECT DISTINCT month FROM usage_school_month WHERE municipality_id = $1 ORDER BY month",
        vec![municipality_id.into()],
    ))
    .all(&store.db)
    .await?;
    Ok(rows.into_iter().filter_map(|r| r.month.parse().ok()).collect())
}
