//! The capacity and escalation report pages: a month-range form and the report fragment (with
//! its inline SVG charts) of `gigaops_report::usage`. Without a range they show the 12 months up to
//! the latest month with usage; a range without any usage says so in one sentence and links to
//! the 12 months up to the nearest month that has some.
//!
//! The capacity report's schools are one table of ratios, sorted on the server by `sort` and
//! `order` (`gigaops_report::usage::SchoolSort`: the column headers are links, so sorting works
//! without JavaScript); each school's name links to `/usage/report/schools/{code}` with the same
//! range, the school's months and chart.

use crate::auth::{Capability, SignedIn};
use crate::errors::{AppError, AppResult};
use crate::http;
use crate::page::{render, today_tokyo, Layout, NoData, Section};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use gigaops_domain::calendar::nearest_with_data;
use gigaops_domain::YearMonth;
use gigaops_report::usage::{SchoolLinks, SchoolSort};
use gigaops_store::usage::queries::months_with_usage;
use serde::Deserialize;

/// `from` and `to` as typed (`YYYY-MM`); empty `to` = the latest month with usage (else this
/// month), empty `from` = 11 months before `to`. `sort` and `order`: the order of the capacity
/// report's school table ([`SchoolSort::parse`]).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RangeQuery {
    pub from: String,
    pub to: String,
    pub sort: String,
    pub order: String,
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
    action: String,
    from: String,
    to: String,
    fragment: String,
    /// The link to the escalation policy, for the roles that may see it.
    show_policy: bool,
    no_data: Option<NoData>,
    /// A school's page: the link back to the school table (its text, its address).
    back: Option<(String, String)>,
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

/// `/usage/report/schools/{code}` for the range (the link of a school's name).
fn school_href(code: &str, from: YearMonth, to: YearMonth) -> String {
    let q = http::query(&[("from", &from.to_string()), ("to", &to.to_string())]);
    format!("/usage/report/schools/{}{q}", http::encode(code))
}

pub(super) async fn capacity(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<RangeQuery>,
) -> AppResult<Response> {
    me.access.require(Capability::ViewReports)?;
    let sort = SchoolSort::parse(&q.sort, &q.order).map_err(AppError::BadRequest)?;
    let (from, to, no_data) = resolve_range(&state, &me, &q, "/usage/report").await?;
    let fragment = if no_data.is_none() {
        let r = gigaops_report::usage::build(&state.store, me.access.municipality_id(), from, to).await?;
        let (f, t) = (from.to_string(), to.to_string());
        let sort_href = |s: SchoolSort| {
            let order = http::query(&[("from", &f), ("to", &t), ("sort", &s.sort_param()), ("order", s.order_param())]);
            format!("/usage/report{order}#schools")
        };
        let school = |code: &str| school_href(code, from, to);
        r.to_html_fragment(sort, &SchoolLinks { sort: &sort_href, school: &school })
    } else {
        String::new()
    };
    render(&ReportPage {
        layout: me.layout("学習者用端末の運用状況（通信量）", Section::Usage).await?,
        action: "/usage/report".into(),
        from: from.to_string(),
        to: to.to_string(),
        fragment,
        show_policy: me.access.allows(Capability::ViewEscalationPolicy),
        no_data,
        back: None,
    })
}

/// One school's months of the capacity report (`/usage/report/schools/{code}?from=&to=`): the
/// table and chart the school table's row links to. An unknown school code is 404.
pub(super) async fn school(
    State(state): State<AppState>,
    me: SignedIn,
    Path(code): Path<String>,
    Query(q): Query<RangeQuery>,
) -> AppResult<Response> {
    me.access.require(Capability::ViewReports)?;
    let m = me.access.municipality_id();
    let action = format!("/usage/report/schools/{}", http::encode(&code));
    let (from, to, no_data) = resolve_range(&state, &me, &q, &action).await?;
    let r = gigaops_report::usage::build_school(&state.store, m, &code, from, to).await?.ok_or(AppError::NotFound)?;
    let back = http::query(&[("from", &from.to_string()), ("to", &to.to_string())]);
    render(&ReportPage {
        layout: me.layout(format!("{}（{}）の通信量", r.school_name, r.school_code), Section::Usage).await?,
        action,
        from: from.to_string(),
        to: to.to_string(),
        fragment: if no_data.is_none() { r.to_html_fragment() } else { String::new() },
        show_policy: me.access.allows(Capability::ViewEscalationPolicy),
        no_data,
        back: Some(("学校別の使用率に戻る".into(), format!("/usage/report{back}#schools"))),
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
        action: "/usage/escalation".into(),
        from: from.to_string(),
        to: to.to_string(),
        fragment: if no_data.is_none() { r.to_html_fragment() } else { String::new() },
        show_policy: me.access.allows(Capability::ViewEscalationPolicy),
        no_data,
        back: None,
    })
}
