//! The device fleet (端末台帳) and its report (学習者用端末の運用状況).
//!
//! | route | handler | needs |
//! |---|---|---|
//! | `GET /fleet/devices` | [`list`] — filter form, 50 per page | ViewDevices |
//! | `GET /fleet/devices/{serial}` | [`show`] — attributes, history, incidents, forms | ViewDevices |
//! | `POST /fleet/devices/{serial}/incidents` | [`incident`] — 事故を登録 (with a spare swap) | ManageFleet |
//! | `POST /fleet/devices/{serial}/repair` | [`repair`] — 修理完了（予備機に戻す） | ManageFleet |
//! | `GET /fleet/search?q=` | [`search`] — counter search by serial or asset tag | ViewDevices |
//! | `GET /fleet/models?alias=` | [`models`] — 機種と別名: models, groups, aliases; the add form | ViewModels |
//! | `POST /fleet/models/aliases` | [`models`] — 別名を登録 | ManageModels |
//! | `POST /fleet/models/aliases/remove` | [`models`] — 別名を削除 | ManageModels |
//! | `GET /fleet/report?fiscal_year=R4` | [`report`] — the report page | ViewReports |
//! | `GET /fleet/report.{csv,xlsx,json}?fiscal_year=R4` | [`report`] — downloads | ViewReports |
//!
//! A `school` user's device pages are limited to their schools (another school's device is 404).

pub mod incident;
pub mod list;
pub mod models;
pub mod repair;
pub mod report;
pub mod search;
pub mod show;

use crate::access_routes::{Routes, Rule};
use crate::auth::Capability;
use crate::http::encode;
use gigaops_domain::fleet::{DeviceClass, DeviceStatus, IncidentKind};

pub(crate) fn routes() -> Routes {
    use Capability::*;
    Routes::new()
        .get("/fleet/devices", list::list, Rule::Needs(ViewDevices))
        .get("/fleet/devices/{serial}", show::show, Rule::Scoped(ViewDevices))
        .post("/fleet/devices/{serial}/incidents", incident::register, Rule::Scoped(ManageFleet))
        .post("/fleet/devices/{serial}/repair", repair::complete, Rule::Scoped(ManageFleet))
        .get("/fleet/search", search::search, Rule::Needs(ViewDevices))
        .get("/fleet/models", models::show, Rule::Needs(ViewModels))
        .post("/fleet/models/aliases", models::add, Rule::Needs(ManageModels))
        .post("/fleet/models/aliases/remove", models::remove, Rule::Needs(ManageModels))
        .get("/fleet/report", report::page, Rule::Needs(ViewReports))
        .get("/fleet/report.csv", report::csv, Rule::Needs(ViewReports))
        .get("/fleet/report.xlsx", report::xlsx, Rule::Needs(ViewReports))
        .get("/fleet/report.json", report::json, Rule::Needs(ViewReports))
}

/// URL of a device's page.
pub fn device_href(serial: &str) -> String {
    format!("/fleet/devices/{}", encode(serial))
}

/// Japanese label of a stored status code (the code itself if unknown).
pub fn status_ja(code: &str) -> String {
    DeviceStatus::parse(code).map(|s| s.label_ja().to_string()).unwrap_or_else(|| code.to_string())
}

/// Japanese label of a stored device class code.
pub fn class_ja(code: &str) -> String {
    DeviceClass::parse(code).map(|s| s.label_ja().to_string()).unwrap_or_else(|| code.to_string())
}

/// Japanese label of a stored incident kind code.
pub fn kind_ja(code: &str) -> String {
    IncidentKind::parse(code).map(|s| s.label_ja().to_string()).unwrap_or_else(|| code.to_string())
}

/// Japanese label of the reason of a state change (`device_state.reason`).
pub fn reason_ja(code: &str) -> String {
    match code {
        "inventory" => "台帳登録（棚卸）",
        "incident" => "事故（破損・故障・紛失・盗難）",
        "swap" => "代替機として配置",
        "repair" => "修理完了（予備機へ）",
        "write_off" => "廃棄",
        "movement" => "移動",
        other => other,
    }
    .to_string()
}

/// An `<option>` of a select.
#[derive(Debug, Clone)]
pub struct SelectOption {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

impl SelectOption {
    pub fn new(value: impl Into<String>, label: impl Into<String>, current: &str) -> Self {
        let value = value.into();
        let selected = value == current;
        SelectOption { value, label: label.into(), selected }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_japanese() {
        assert_eq!(status_ja("in_repair"), "修理中");
        assert_eq!(status_ja("spare"), "予備機");
        assert_eq!(status_ja("weird"), "weird");
        assert_eq!(class_ja("learner"), "学習者用");
        assert_eq!(kind_ja("theft"), "盗難");
        assert_eq!(reason_ja("swap"), "代替機として配置");
        assert_eq!(device_href("DMP 1/2"), "/fleet/devices/DMP%201%2F2");
    }
}
