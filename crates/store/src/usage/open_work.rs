//! The escalation's work items counted, for the home pages: per month, step and audience, how many
//! there are and how many are not done yet. One aggregate query.

use crate::{Result, Store};
use gigaops_domain::YearMonth;
use sea_orm::{DbBackend, FromQueryResult, Statement};

/// The work items of one month, step and audience (`mdm` / `school` / `parents`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkCount {
    pub month: YearMonth,
    /// 1-based step of the policy (① = 1).
    pub step: i64,
    pub audience: String,
    pub total: i64,
    /// Not marked done yet.
    pub open: i64,
}

#[derive(FromQueryResult)]
struct Row {
    month: String,
    step: i64,
    audience: String,
    total: i64,
    open: i64,
}

/// Which work items [`work_counts`] counts.
#[derive(Debug, Clone, Default)]
pub struct WorkScope<'a> {
    /// One month; `None` = every month.
    pub month: Option<YearMonth>,
    /// Only the items of lines of these schools (a `school` user's); `None` = every school.
    pub school_ids: Option<&'a [i64]>,
    /// Only this audience (`school` for the notices a school acts on); `None` = all.
    pub audience: Option<&'a str>,
}

/// The municipality's work items in `scope`, counted per month, step and audience (ordered so),
/// with how many are still open. Errors: the database's.
pub async fn work_counts(store: &Store, municipality_id: i64, scope: &WorkScope<'_>) -> Result<Vec<WorkCount>> {
    let mut sql = String::from(
        "SELECT w.month AS month, w.step AS step, w.audience AS audience, CAST(COUNT(*) AS BIGINT) AS total, \
         CAST(SUM(CASE WHEN w.done_at IS NULL THEN 1 ELSE 0 END) AS BIGINT) AS open \
         FROM work_item w",
    );
    let mut vals: Vec<sea_orm::Value> = vec![municipality_id.into()];
    let mut filters = vec!["w.municipality_id = $1".to_string()];
    if let Some(ids) = scope.school_ids {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        sql += " JOIN line l ON l.id = w.line_id";
        let marks: Vec<String> = ids.iter().enumerate().map(|(k, _)| format!("${}", vals.len() + k + 1)).collect();
        filters.push(format!("l.school_id IN ({})", marks.join(", ")));
        vals.extend(ids.iter().map(|&id| id.into()));
    }
    if let Some(m) = scope.month {
        vals.push(m.to_string().into());
        filters.push(format!("w.month = ${}", vals.len()));
    }
    if let Some(a) = scope.audience {
        vals.push(a.to_string().into());
        filters.push(format!("w.audience = ${}", vals.len()));
    }
    sql += &format!(
        " WHERE {} GROUP BY w.month, w.step, w.audience ORDER BY w.month, w.step, w.audience",
        filters.join(" AND ")
    );
    let sql = if store.backend() == DbBackend::Sqlite { sql.replace('$', "?") } else { sql };
    let rows =
        Row::find_by_statement(Statement::from_sql_and_values(store.backend(), sql, vals)).all(&store.db).await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(WorkCount {
                month: r.month.parse().ok()?,
                step: r.step,
                audience: r.audience,
                total: r.total,
                open: r.open,
            })
        })
        .collect())
}
