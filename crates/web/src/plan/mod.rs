//! The ICT promotion plan (学校教育情報化推進計画) and its yearly evaluation.
//!
//! | route | handler | needs |
//! |---|---|---|
//! | `GET /plan?fiscal_year=R5&plan=…` | [`table`] — the year's 資料4-1, goals with edit/history links, year state | ViewPlan |
//! | `GET /plan/print?fiscal_year=R5` | [`table`] — the printable document (A4 landscape) | ViewPlan |
//! | `GET /plan/report.{csv,xlsx,json}?fiscal_year=R5` | [`table`] — downloads (import layout) | ViewPlan |
//! | `POST /plan/years` | [`table`] — open or lock a year | ManagePlanYears (admin) |
//! | `GET /plan/entries/{id}/edit`, `POST /plan/entries/{id}` | [`entry`] — edit form; optimistic locking | EditPlan + division |
//! | `GET /plan/entries/{id}/history`, `POST /plan/entries/{id}/comments` | [`entry`] — diff view, comments | ViewPlan |
//! | `GET /plan/schedule?plan=…` | [`table`] — the Gantt chart (SVG) | ViewPlan |
//! | `GET /plan/import`, `POST /plan/import` (multipart, ≤ 20 MiB) | [`upload`] — upload a plan file through `gigaops import plan`'s path; 確認のみ = dry run | ImportPlan |
//!
//! Division membership (担当課) and the year's state are checked in `gigaops_store::plan::update_entry`;
//! the page only hides the edit links the user could not use.

pub mod entry;
pub mod table;
pub mod upload;

use crate::AppState;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use gigaops_domain::plan::Status;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/plan", get(table::page))
        .route("/plan/print", get(table::print))
        .route("/plan/report.csv", get(table::csv))
        .route("/plan/report.xlsx", get(table::xlsx))
        .route("/plan/report.json", get(table::json))
        .route("/plan/years", post(table::set_year))
        .route("/plan/schedule", get(table::schedule))
        .route(
            "/plan/import",
            get(upload::form).post(upload::upload).layer(DefaultBodyLimit::max(crate::csrf::MAX_UPLOAD_BYTES)),
        )
        .route("/plan/entries/{id}/edit", get(entry::edit))
        .route("/plan/entries/{id}", post(entry::save))
        .route("/plan/entries/{id}/history", get(entry::history))
        .route("/plan/entries/{id}/comments", post(entry::comment))
}

/// `新規` / `継続` / `拡充`, or empty.
pub fn status_ja(s: Option<Status>) -> &'static str {
    s.map_or("", Status::label_ja)
}
