//! `GET /usage/cases?month=YYYY-MM`: the cases with something recorded in the month (new, moved
//! on, improved, continued, no data), with line, school, pupil id, usage and step. Pupil-level:
//! needs ViewDevices (not committee viewers); a `school` user sees only their schools' pupils.

use crate::auth::{Capability, SignedIn};
use crate::errors::{AppError, AppResult};
use crate::page::{render, today_tokyo, Layout, Section};
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use gigaops_domain::usage::bytes_to_gb;
use gigaops_domain::YearMonth;
use gigaops_store::usage::{escalation, queries};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CasesQuery {
    pub month: String,
}

struct Row {
    case_id: i64,
    school: String,
    pupil_id: String,
    line_no: String,
    usage: String,
    outcome: String,
    step: String,
}

#[derive(Template)]
#[template(path = "usage/cases.html")]
struct CasesPage {
    layout: Layout,
    month: String,
    scoped: bool,
    rows: Vec<Row>,
}

fn outcome_ja(kind: &str) -> &'static str {
    match kind {
        "opened" => "新規対象者",
        "advanced" => "改善されず（次の段階へ）",
        "continued" => "改善されず（最終段階で継続）",
        "improved" => "改善された",
        "missing" => "通信量データなし",
        _ => "—",
    }
}

pub(super) async fn list(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<CasesQuery>,
) -> AppResult<Response> {
    me.access.require(Capability::ViewDevices)?;
    let month: YearMonth = match q.month.trim() {
        "" => YearMonth::of(today_tokyo()).add_months(-1),
        t => t.parse().map_err(|e: gigaops_domain::calendar::CalendarError| AppError::BadRequest(e.to_string()))?,
    };
    let m = me.access.municipality_id();
    let scope = me.access.school_scope();
    let policy = escalation::policy(&state.store, m).await?;
    let rows = queries::case_rows(&state.store, m, month, scope.as_deref())
        .await?
        .into_iter()
        .map(|r| Row {
            case_id: r.case_id,
            school: format!("{}（{}）", r.school_name, r.school_code),
            pupil_id: r.pupil_id.unwrap_or_default(),
            line_no: r.line_no,
            usage: r.bytes.map(|b| format!("{:.3} GB", bytes_to_gb(b))).unwrap_or_else(|| "—".into()),
            outcome: outcome_ja(&r.kind).to_string(),
            step: policy
                .steps
                .get((r.step - 1).max(0) as usize)
                .map(|s| format!("{} {}", r.step, s.name))
                .unwrap_or_else(|| r.step.to_string()),
        })
        .collect();
    render(&CasesPage {
        layout: me.layout(format!("対象者一覧（{}年{}月）", month.year(), month.month()), Section::Usage).await?,
        month: month.to_string(),
        scoped: scope.is_some(),
        rows,
    })
}
