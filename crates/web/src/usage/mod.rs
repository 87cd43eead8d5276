//! LTE usage (通信量) and the escalation of heavy users (段階的な対応), issue 3.
//!
//! | route | handler | needs |
//! |---|---|---|
//! | `GET /usage/report?from=2022-01&to=2022-12` | [`report::capacity`] — usage against the pooled contract, chart | ViewReports |
//! | `GET /usage/escalation?from=2022-09&to=2022-12` | [`report::escalation`] — months, cohorts, funnels | ViewReports |
//! | `GET /usage/cases?month=2022-12` | [`cases::list`] — the month's cases (pupil-level) | ViewDevices |
//!
//! A `school` user's case list shows only their schools' pupils; committee viewers (`viewer`)
//! never see pupil-level rows (403).

pub mod cases;
pub mod report;

use crate::AppState;
use axum::routing::get;
use axum::Router;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/usage/report", get(report::capacity))
        .route("/usage/escalation", get(report::escalation))
        .route("/usage/cases", get(cases::list))
}
