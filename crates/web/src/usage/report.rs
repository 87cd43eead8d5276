//! The capacity and escalation report pages: a month-range form and the report fragment (with
//! its inline SVG charts) of `gigaops_report::usage`.

use crate::auth::{Capability, SignedIn};
use crate::errors::{AppError, AppResult};
use crate::page::{render, today_tokyo, Layout, Section};
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use gigaops_domain::YearMonth;
use serde::Deserialize;

/// `from` and `to` as typed (`YYYY-MM`); empty = the last 12 months.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RangeQuery {
    pub from: String,
    pub to: String,
}

impl RangeQuery {
    /// The range; errors: [`AppError::BadRequest`] for a text that is not a month, `to` < `from` or
    /// a range over [`gigaops_domain::usage::MAX_REPORT_MONTHS`] months.
    pub fn range(&self) -> AppResult<(YearMonth, YearMonth)> {
        let parse = |s: &str, default: YearMonth| -> AppResult<YearMonth> {
            match s.trim() {
                "" => Ok(default),
                t => {
                    t.parse().map_err(|e: gigaops_domain::calendar::CalendarError| AppError::BadRequest(e.to_string()))
                }
            }
        };
        let to = parse(&self.to, YearMonth::of(today_tokyo()))?;
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
}

pub(super) async fn capacity(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<RangeQuery>,
) -> AppResult<Response> {
    me.access.require(Capability::ViewReports)?;
    let (from, to) = q.range()?;
    let r = gigaops_report::usage::build(&state.store, me.access.municipality_id(), from, to).await?;
    render(&ReportPage {
        layout: me.layout("学習者用端末の運用状況（通信量）", Section::Usage).await?,
        action: "/usage/report",
        from: from.to_string(),
        to: to.to_string(),
        fragment: r.to_html_fragment(),
        show_policy: me.access.allows(Capability::ViewEscalationPolicy),
    })
}

pub(super) async fn escalation(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<RangeQuery>,
) -> AppResult<Response> {
    me.access.require(Capability::ViewReports)?;
    let (from, to) = q.range()?;
    let r = gigaops_report::usage::escalation::build(&state.store, me.access.municipality_id(), from, to).await?;
    render(&ReportPage {
        layout: me.layout("通信量の多い児童生徒への段階的な対応", Section::Usage).await?,
        action: "/usage/escalation",
        from: from.to_string(),
        to: to.to_string(),
        fragment: r.to_html_fragment(),
        show_policy: me.access.allows(Capability::ViewEscalationPolicy),
    })
}
