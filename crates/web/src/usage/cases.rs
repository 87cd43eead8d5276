//! `GET /usage/cases?month=YYYY-MM`: the cases with something recorded in the month (new, moved
//! on, improved, continued, no data), with line, school, pupil id, usage and step; each links to
//! `GET /usage/cases/{id}`, the case's history (who did what when: opened, each step, the work done,
//! the e-mails to its school). Pupil-level: needs ViewDevices (not committee viewers); a `school`
//! user sees only their schools' pupils (another school's case is 404).

use super::evaluated_month;
use crate::auth::{Capability, SignedIn};
use crate::errors::{AppError, AppResult};
use crate::page::{render, Layout, NoData, Section};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use gigaops_domain::usage::{bytes_to_gb, Audience, EscalationPolicy};
use gigaops_store::usage::{escalation, notify, queries};
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
    no_data: Option<NoData>,
}

fn usage_text(bytes: Option<i64>) -> String {
    bytes.map(|b| format!("{:.3} GB", bytes_to_gb(b))).unwrap_or_else(|| "—".into())
}

fn step_text(policy: &EscalationPolicy, step: i64) -> String {
    policy.steps.get((step - 1).max(0) as usize).map_or_else(|| step.to_string(), |s| format!("{step} {}", s.name))
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
    let m = me.access.municipality_id();
    let (month, no_data) = evaluated_month(&state.store, m, &q.month, "/usage/cases").await?;
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
            usage: usage_text(r.bytes),
            outcome: outcome_ja(&r.kind).to_string(),
            step: step_text(&policy, r.step),
        })
        .collect();
    render(&CasesPage {
        layout: me.layout(format!("対象者一覧（{}年{}月）", month.year(), month.month()), Section::Usage).await?,
        month: month.to_string(),
        scoped: scope.is_some(),
        rows,
        no_data,
    })
}

struct EventView {
    month: String,
    outcome: &'static str,
    step: String,
    usage: String,
    work: String,
    done: String,
}

struct MailView {
    sent_at: String,
    month: String,
    recipients: String,
    by: String,
}

#[derive(Template)]
#[template(path = "usage/history.html")]
struct HistoryPage {
    layout: Layout,
    school: String,
    pupil_id: String,
    line_no: String,
    serial: String,
    opened_month: String,
    events: Vec<EventView>,
    mails: Vec<MailView>,
}

pub(super) async fn history(State(state): State<AppState>, me: SignedIn, Path(id): Path<i64>) -> AppResult<Response> {
    me.access.require(Capability::ViewDevices)?;
    let m = me.access.municipality_id();
    let case = queries::case_detail(&state.store, m, id).await?.ok_or(AppError::NotFound)?;
    if !me.access.sees_school(case.school_id) {
        return Err(AppError::NotFound);
    }
    let policy = escalation::policy(&state.store, m).await?;
    let events = queries::case_history(&state.store, m, id)
        .await?
        .into_iter()
        .map(|h| EventView {
            month: h.month,
            outcome: outcome_ja(&h.kind),
            step: step_text(&policy, h.step),
            usage: usage_text(h.bytes),
            work: match (&h.work_id, &h.audience) {
                (Some(w), Some(a)) => {
                    format!("作業 {w}（{}）", Audience::parse(a).map_or("—", Audience::label_ja))
                }
                _ => "—".into(),
            },
            done: match (h.work_id, h.done_at, h.done_by) {
                (None, _, _) => String::new(),
                (Some(_), Some(t), by) => format!("完了 {} {}", gigaops_mail::tokyo(t), by.unwrap_or_default()),
                (Some(_), None, _) => "未完了".into(),
            },
        })
        .collect();
    let mails = notify::of_case(&state.store, m, id)
        .await?
        .into_iter()
        .map(|n| MailView {
            sent_at: gigaops_mail::tokyo(n.sent_at),
            month: n.month,
            recipients: n.recipients.replace(',', ", "),
            by: n.sent_by.unwrap_or_default(),
        })
        .collect();
    render(&HistoryPage {
        layout: me.layout(format!("対象者 {id} の経過"), Section::Usage).await?,
        school: format!("{}（{}）", case.school_name, case.school_code),
        pupil_id: case.pupil_id.unwrap_or_default(),
        line_no: case.line_no,
        serial: case.device_serial.unwrap_or_default(),
        opened_month: case.opened_month,
        events,
        mails,
    })
}
