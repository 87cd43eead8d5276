//! LTE usage (通信量) and the escalation of heavy users (段階的な対応).
//!
//! | route | handler | needs |
//! |---|---|---|
//! | `GET /usage/report?from=2022-01&to=2022-12&sort=2022-12&order=desc` | [`report::capacity`] — usage against the pooled contract, chart, schools × months | ViewReports |
//! | `GET /usage/report/schools/{code}?from=2022-01&to=2022-12` | [`report::school`] — one school's months and chart | ViewReports |
//! | `GET /usage/escalation?from=2022-09&to=2022-12` | [`report::escalation`] — months, cohorts, funnels | ViewReports |
//! | `GET /usage/cases?month=2022-12` | [`cases::list`] — the month's cases (pupil-level) | ViewDevices |
//! | `GET /usage/cases/{id}` | [`cases::history`] — one case: who did what when | ViewDevices, own school |
//! | `GET /usage/work?month=2022-12` | [`work::list`] — the month's work items, e-mails to schools | ViewDevices |
//! | `POST /usage/work/done` | [`work::done`] — mark work items done | `Access::may_complete_work` |
//! | `POST /usage/work/notify` | [`work::notify`] — e-mail the schools their notice | NotifySchools |
//! | `GET`/`POST /usage/policy` | [`policy::show`] / [`policy::save`] — the escalation policy | View/EditEscalationPolicy |
//!
//! A `school` user's case list and work list show only their schools' pupils; committee viewers
//! (`viewer`) never see pupil-level rows (403).

pub mod cases;
pub mod policy;
pub mod report;
pub mod work;

use crate::access_routes::{Routes, Rule};
use crate::auth::Capability;
use crate::errors::{AppError, AppResult};
use crate::http;
use crate::page::{today_tokyo, NoData};
use gigaops_domain::YearMonth;

/// A `month` query value (`YYYY-MM`); empty = `default`.
///
/// Errors: [`AppError::BadRequest`] for a text that is not a month.
pub(crate) fn month_query(typed: &str, default: YearMonth) -> AppResult<YearMonth> {
    match typed.trim() {
        "" => Ok(default),
        t => t.parse().map_err(|e: gigaops_domain::calendar::CalendarError| AppError::BadRequest(e.to_string())),
    }
}

/// The month a page of the escalation's results shows (`page`: `/usage/work`, `/usage/cases`) —
/// the requested one, else the latest month the escalation evaluated, else last month — and, when
/// that month was not evaluated, what to say instead of an empty table (with a link to the nearest
/// evaluated month).
///
/// Errors: [`AppError::BadRequest`] for a text that is not a month; the store's.
pub(crate) async fn evaluated_month(
    store: &gigaops_store::Store,
    municipality_id: i64,
    typed: &str,
    page: &str,
) -> AppResult<(YearMonth, Option<NoData>)> {
    let runs: Vec<YearMonth> =
        gigaops_store::usage::escalation::runs(store, municipality_id).await?.into_iter().map(|r| r.month).collect();
    let fallback = runs.last().copied().unwrap_or_else(|| YearMonth::of(today_tokyo()).add_months(-1));
    let month = month_query(typed, fallback)?;
    if runs.contains(&month) {
        return Ok((month, None));
    }
    let name = |m: YearMonth| format!("{}年{}月", m.year(), m.month());
    let nearest = gigaops_domain::calendar::nearest_with_data(&runs, month)
        .map(|m| (name(m), format!("{page}{}", http::query(&[("month", &m.to_string())]))));
    Ok((month, Some(NoData::for_period(&name(month), "段階的な対応の判定", nearest))))
}

pub(crate) fn routes() -> Routes {
    use Capability::*;
    Routes::new()
        .get("/usage/report", report::capacity, Rule::Needs(ViewReports))
        .get("/usage/report/schools/{code}", report::school, Rule::Needs(ViewReports))
        .get("/usage/escalation", report::escalation, Rule::Needs(ViewReports))
        .get("/usage/cases", cases::list, Rule::Needs(ViewDevices))
        .get("/usage/cases/{id}", cases::history, Rule::Scoped(ViewDevices))
        .get("/usage/work", work::list, Rule::Needs(ViewDevices))
        // which items a user may mark done: `Access::may_complete_work`
        .post("/usage/work/done", work::done, Rule::Needs(ViewDevices))
        .post("/usage/work/notify", work::notify, Rule::Needs(NotifySchools))
        .get("/usage/policy", policy::show, Rule::Needs(ViewEscalationPolicy))
        .post("/usage/policy", policy::save, Rule::Needs(EditEscalationPolicy))
}
