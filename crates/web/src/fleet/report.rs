//! 学習者用端末の運用状況: `GET /fleet/report?fiscal_year=R4` (the page: a fiscal-year picker, the
//! report with its inline SVG charts and download links) and the downloads
//! `GET /fleet/report.csv` (UTF-8 with BOM), `.xlsx` and `.json` with the same query.
//!
//! `fiscal_year` takes every form `FiscalYear::parse` reads (`R4`, `2022`, `令和4年度`); without
//! it, the latest fiscal year with a recorded day (inventory or event), else the current one. The
//! page of a year without a recorded day says so in one sentence and links to the nearest year that
//! has one, instead of a table of zeros. An unreadable year is 400 with the reason.

use super::SelectOption;
use crate::auth::{Capability, SignedIn};
use crate::errors::{AppError, AppResult};
use crate::http;
use crate::page::{render, today_tokyo, Layout, NoData, Section};
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use gigaops_domain::calendar::nearest_with_data;
use gigaops_domain::FiscalYear;
use gigaops_report::FleetReport;
use gigaops_store::fleet::queries::recorded_days;
use serde::Deserialize;

/// First fiscal year offered by the picker (GIGA School devices arrived from 令和2年度).
const FIRST_YEAR: i32 = 2020;

/// The report's query.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReportQuery {
    pub fiscal_year: String,
}

impl ReportQuery {
    /// The requested fiscal year; `None` when none was given.
    ///
    /// Errors: [`AppError::BadRequest`] naming the value and the accepted forms.
    pub fn year(&self) -> AppResult<Option<FiscalYear>> {
        let s = self.fiscal_year.trim();
        if s.is_empty() {
            return Ok(None);
        }
        FiscalYear::parse(s).map(Some).map_err(|e| AppError::BadRequest(e.to_string()))
    }
}

/// The year the report shows (also the home page's) — the requested one, else the latest with a recorded day, else the current
/// one — and, when that year has no recorded day, what to say instead of the report.
pub(crate) async fn resolve_year(
    state: &AppState,
    me: &SignedIn,
    q: &ReportQuery,
) -> AppResult<(FiscalYear, Option<NoData>)> {
    let m = me.access.municipality_id();
    let asked = q.year()?;
    let probe = asked.unwrap_or_else(|| FiscalYear::of(today_tokyo()));
    let days = recorded_days(&state.store, m, probe.start(), probe.end()).await?;
    let fy = match asked {
        Some(fy) => fy,
        None => days.latest.map_or(probe, FiscalYear::of),
    };
    // without a request the year is the latest recorded one: it has data whenever any exists
    let has_data = if asked.is_some() { days.within } else { days.latest.is_some() };
    if has_data {
        return Ok((fy, None));
    }
    let have: Vec<FiscalYear> = [days.before, days.after].into_iter().flatten().map(FiscalYear::of).collect();
    let nearest = nearest_with_data(&have, fy)
        .map(|y| (y.label_ja(), format!("/fleet/report{}", http::query(&[("fiscal_year", &y.short_label())]))));
    Ok((fy, Some(NoData::for_period(&fy.label_ja(), "記録", nearest))))
}

async fn build(
    state: &AppState,
    me: &SignedIn,
    q: &ReportQuery,
) -> AppResult<(FiscalYear, FleetReport, Option<NoData>)> {
    me.access.require(Capability::ViewReports)?;
    let (fy, no_data) = resolve_year(state, me, q).await?;
    let report = gigaops_report::fleet::build(&state.store, me.access.municipality_id(), fy, today_tokyo()).await?;
    Ok((fy, report, no_data))
}

/// A download link.
struct Download {
    href: String,
    label: &'static str,
}

#[derive(Template)]
#[template(path = "fleet/report.html")]
struct ReportPage {
    layout: Layout,
    years: Vec<SelectOption>,
    fragment: String,
    downloads: Vec<Download>,
    no_data: Option<NoData>,
}

pub(super) async fn page(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<ReportQuery>,
) -> AppResult<Response> {
    let (fy, report, no_data) = build(&state, &me, &q).await?;
    let current = FiscalYear::of(today_tokyo());
    let mut years: Vec<FiscalYear> = (FIRST_YEAR..=current.0.max(FIRST_YEAR)).map(FiscalYear).collect();
    if !years.contains(&fy) {
        years.push(fy);
    }
    years.sort_by(|a, b| b.cmp(a));
    let selected = fy.short_label();
    let years = years
        .into_iter()
        .map(|y| SelectOption::new(y.short_label(), format!("{}（{}）", y.label_ja(), y.0), &selected))
        .collect();
    let qs = http::query(&[("fiscal_year", &selected)]);
    let downloads = vec![
        Download { href: format!("/fleet/report.csv{qs}"), label: "CSV（Excel で開けます）" },
        Download { href: format!("/fleet/report.xlsx{qs}"), label: "Excel（.xlsx）" },
        Download { href: format!("/fleet/report.json{qs}"), label: "JSON" },
    ];
    render(&ReportPage {
        layout: me.layout(report.title(), Section::Report).await?,
        years,
        fragment: if no_data.is_none() { report.to_html_fragment() } else { String::new() },
        downloads,
        no_data,
    })
}

fn download(report: &FleetReport, fy: FiscalYear, ext: &str, content_type: &'static str, body: Vec<u8>) -> Response {
    let name = format!("{}.{ext}", report.title());
    let fallback = format!("fleet-report-{}.{ext}", fy.0);
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, http::attachment(&name, &fallback)),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        body,
    )
        .into_response()
}

pub(super) async fn csv(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<ReportQuery>,
) -> AppResult<Response> {
    let (fy, report, _) = build(&state, &me, &q).await?;
    let body = report.to_csv();
    Ok(download(&report, fy, "csv", "text/csv; charset=utf-8", body))
}

pub(super) async fn xlsx(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<ReportQuery>,
) -> AppResult<Response> {
    let (fy, report, _) = build(&state, &me, &q).await?;
    let body = report.to_xlsx().map_err(AppError::internal)?;
    Ok(download(&report, fy, "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body))
}

pub(super) async fn json(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<ReportQuery>,
) -> AppResult<Response> {
    let (fy, report, _) = build(&state, &me, &q).await?;
    let body = report.to_json().into_bytes();
    Ok(download(&report, fy, "json", "application/json", body))
}
