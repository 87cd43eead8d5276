//! The ICT promotion plan (学校教育情報化推進計画) and its yearly evaluation.
//!
//! | route | handler | needs |
//! |---|---|---|
//! | `GET /plan?fiscal_year=R5&plan=…` | [`table`] — the year's 資料4-1, goals with edit/history links, year state | ViewPlan |
//! | `GET /plan/print?fiscal_year=R5` | [`table`] — the printable document (A4 landscape) | ViewPlan |
//! | `GET /plan/report.{csv,xlsx,json}?fiscal_year=R5` | [`table`] — downloads (import layout) | ViewPlan |
//! | `POST /plan/years` | [`table`] — open or lock a year | ManagePlanYears (admin) |
//! | `POST /plan/note` | [`table`] — set or clear the plan's note (計画の注記) | EditPlanNote |
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

use crate::access_routes::{Routes, Rule};
use crate::auth::Capability;
use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::routing::post;
use gigaops_domain::plan::Status;

pub(crate) fn routes() -> Routes {
    use Capability::*;
    Routes::new()
        .get("/plan", table::page, Rule::Needs(ViewPlan))
        .get("/plan/print", table::print, Rule::Needs(ViewPlan))
        .get("/plan/report.csv", table::csv, Rule::Needs(ViewPlan))
        .get("/plan/report.xlsx", table::xlsx, Rule::Needs(ViewPlan))
        .get("/plan/report.json", table::json, Rule::Needs(ViewPlan))
        .post("/plan/years", table::set_year, Rule::Needs(ManagePlanYears))
        .post("/plan/note", table::set_note, Rule::Needs(EditPlanNote))
        .get("/plan/schedule", table::schedule, Rule::Needs(ViewPlan))
        .get("/plan/import", upload::form, Rule::Needs(ImportPlan))
        .route(
            "/plan/import",
            Method::POST,
            post(upload::upload).layer(DefaultBodyLimit::max(crate::csrf::MAX_UPLOAD_BYTES)),
            Rule::Needs(ImportPlan),
        )
        .get("/plan/entries/{id}/edit", entry::edit, Rule::Needs(EditPlan))
        .post("/plan/entries/{id}", entry::save, Rule::Needs(EditPlan))
        .get("/plan/entries/{id}/history", entry::history, Rule::Needs(ViewPlan))
        .post("/plan/entries/{id}/comments", entry::comment, Rule::Needs(ViewPlan))
}

/// `新規` / `継続` / `拡充`, or empty.
pub fn status_ja(s: Option<Status>) -> &'static str {
    s.map_or("", Status::label_ja)
}
