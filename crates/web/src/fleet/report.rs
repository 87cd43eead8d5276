//! 学習者用端末の運用状況: `GET /fleet/report?fiscal_year=R4` (the page: a fiscal-year picker, the
//! report with its inline SVG charts and download links) and the downloads
//! `GET /fleet/report.csv` (UTF-8 with BOM), `.xlsx` and `.json` with the same query.
//!
//! `fiscal_year` takes every form `FiscalYear::parse` reads (`R4`, `2022`, `令和4年度`); without
//! it, the current fiscal year in Japan. An unreadable year is 400 with the reason.

use super::SelectOption;
use crate::auth::{Capability, SignedIn};
use crate::errors::{AppError, AppResult};
use crate::http;
use crate::page::{render, today_tokyo, Layout, Section};
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use gigaops_domain::FiscalYear;
use gigaops_report::FleetReport;
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
    /// The requested fiscal year, or the current one.
    ///
    /// Errors: [`AppError::BadRequest`] naming the value and the accepted forms.
    pub fn year(&self) -> AppResult<FiscalYear> {
        let s = self.fiscal_year.trim();
        if s.is_empty() {
            return Ok(FiscalYear::of(today_tokyo()));
        }
        FiscalYear::parse(s).map_err(|e| AppError::BadRequest(e.to_string()))
    }
}

async fn build(state: &AppState, me: &SignedIn, q: &ReportQuery) -> AppResult<(FiscalYear, FleetReport)> {
    me.access.require(Capability::ViewReports)?;
    let fy = q.year()?;
    let report = gigaops_report::fleet::build(&state.store, me.access.municipality_id(), fy, today_tokyo()).await?;
    Ok((fy, report))
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
}

pub(super) async fn page(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<ReportQuery>,
) -> AppResult<Response> {
    let (fy, report) = build(&state, &me, &q).await?;
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
        fragment: report.to_html_fragment(),
        downloads,
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
    let (fy, report) = build(&state, &me, &q).await?;
    let body = report.to_csv();
    Ok(download(&report, fy, "csv", "text/csv; charset=utf-8", body))
}

pub(super) async fn xlsx(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<ReportQuery>,
) -> AppResult<Response> {
    let (fy, report) = build(&state, &me, &q).await?;
    let body = report.to_xlsx().map_err(AppError::internal)?;
    Ok(download(&report, fy, "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body))
}

pub(super) async fn json(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<ReportQuery>,
) -> AppResult<Response> {
    let (fy, report) = build(&state, &me, &q).await?;
    let body = report.to_json().into_bytes();
    Ok(download(&report, fy, "json", "application/json", body))
}
