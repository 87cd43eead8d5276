//! The capacity and escalation report pages: a month-range form and the report fragment (with
//! its inline SVG charts) of `gigaops_report::usage`. Without a range they show the 12 months up to
//! the latest month with usage; a range without any usage says so in one sentence and links to
//! the 12 months up to the nearest month that has some.

use crate::auth::{Capability, SignedIn};
use crate::errors::{AppError, AppResult};
use crate::http;
use crate::page::{render, today_tokyo, Layout, NoData, Section};
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use gigaops_domain::calendar::nearest_with_data;
use gigaops_domain::YearMonth;
use gigaops_store::usage::queries::months_with_usage;
use serde::Deserialize;

/// `from` and `to` as typed (`YYYY-MM`); empty `to` = the latest month with usage (else this
/// month), empty `from` = 11 months before `to`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RangeQuery {
    pub from: String,
    pub to: String,
}

impl RangeQuery {
    /// The range; errors: [`AppError::BadRequest`] for a text that is not a month, `to` < `from` or
    /// a range over [`gigaops_domain::usage::MAX_REPORT_MONTHS`] months.
    pub fn range(&self, latest: Option<YearMonth>) -> AppResult<(YearMonth, YearMonth)> {
        let parse = |s: &str, default: YearMonth| -> AppResult<YearMonth> {
            match s.trim() {
                "" => Ok(default),
                t => {
                    t.parse().map_err(|e: gigaops_domain::calendar::CalendarError| AppError::BadRequest(e.to_string()))
                }
            }
        };
        let to = parse(&self.to, latest.unwrap_or_else(|| YearMonth::of(today_tokyo())))?;
        let from = parse(&self.from, to.add_months(-11))?;
        gigaops_domain::usage::report_range(from, to).map_err(AppError::BadRequest)
    }
}

#[derive(Template)]
#[template(path = "usage/report.html")]
struct ReportPage {
    layout: Layout,
    action: &'static str,
    from: String,
    to: String,
    fragment: String,
    /// The link to the escalation policy, for the roles that may see it.
    show_policy: bool,
    no_data: Option<NoData>,
}

/// The range to show and, when no month of it has usage, what to say instead (a link to the 12
/// months up to the nearest month with usage, on the same page `action`).
async fn resolve_range(
    state: &AppState,
    me: &SignedIn,
    q: &RangeQuery,
    action: &str,
) -> AppResult<(YearMonth, YearMonth, Option<NoData>)> {
    let months = months_with_usage(&state.store, me.access.municipality_id()).await?;
    let (from, to) = q.range(months.last().copied())?;
    if months.iter().any(|m| (from..=to).contains(m)) {
        return Ok((from, to, None));
    }
    let name = |m: YearMonth| format!("{}年{}月", m.year(), m.month());
    let nearest = nearest_with_data(&months, to).map(|m| {
        let q = http::query(&[("from", &m.add_months(-11).to_string()), ("to", &m.to_string())]);
        (name(m), format!("{action}{q}"))
    });
    Ok((from, to, Some(NoData::for_period(&format!("{}〜{}", name(from), name(to)), "通信量", nearest))))
}

pub(super) async fn capacity(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<RangeQuery>,
) -> AppResult<Response> {
    me.access.require(Capability::ViewReports)?;
    let (from, to, no_data) = resolve_range(&state, &me, &q, "/usage/report").await?;
    let r = gigaops_report::usage::build(&state.store, me.access.municipality_id(), from, to).await?;
    render(&ReportPage {
        layout: me.layout("学習者用端末の運用状況（通信量）", Section::Usage).await?,
        action: "/usage/report",
        from: from.to_string(),
        to: to.to_string(),
        fragment: if no_data.is_none() { r.to_html_fragment() } else { String::new() },
        show_policy: me.access.allows(Capability::ViewEscalationPolicy),
        no_data,
    })
}

pub(super) async fn escalation(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<RangeQuery>,
) -> AppResult<Response> {
    me.access.require(Capability::ViewReports)?;
    let (from, to, no_data) = resolve_range(&state, &me, &q, "/usage/escalation").await?;
    let r = gigaops_report::usage::escalation::build(&state.store, me.access.municipality_id(), from, to).await?;
    render(&ReportPage {
        layout: me.layout("通信量の多い児童生徒への段階的な対応", Section::Usage).await?,
        action: "/usage/escalation",
        from: from.to_string(),
        to: to.to_string(),
        fragment: if no_data.is_none() { r.to_html_fragment() } else { String::new() },
        show_policy: me.access.allows(Capability::ViewEscalationPolicy),
        no_data,
    })
}
