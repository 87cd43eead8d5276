//! `GET /fleet/devices/{serial}`: one device (by serial number or asset tag) — its attributes,
//! state history and incidents, and for users who manage the fleet the forms 「事故を登録」 and,
//! while it is in repair, 「修理完了（予備機に戻す）」.
//!
//! `render_device` is shared with the POST handlers, which re-render the page with the typed
//! values and the messages beside the fields when a form is rejected.

use super::{class_ja, device_href, kind_ja, reason_ja, status_ja, SelectOption};
use crate::auth::{Capability, SignedIn};
use crate::errors::{AppError, AppResult};
use crate::page::{render_with, today_tokyo, Layout, Section};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use gigaops_domain::calendar::wareki_date;
use gigaops_domain::fleet::{DeviceStatus, IncidentKind};
use gigaops_store::fleet::queries::{self, DeviceDetail, DeviceFilter};
use gigaops_store::schools;
use std::collections::HashMap;

/// The incident form as typed, with a message per field.
#[derive(Debug, Clone, Default)]
pub struct IncidentFormView {
    pub kind: String,
    pub occurred_on: String,
    pub cause: String,
    pub replacement_serial: String,
    pub errors: IncidentErrors,
}

/// Messages of a rejected incident form; `general` is shown above the form.
#[derive(Debug, Clone, Default)]
pub struct IncidentErrors {
    pub kind: Option<String>,
    pub occurred_on: Option<String>,
    pub cause: Option<String>,
    pub replacement_serial: Option<String>,
    pub general: Option<String>,
}

impl IncidentErrors {
    pub fn any(&self) -> bool {
        self.kind.is_some()
            || self.occurred_on.is_some()
            || self.cause.is_some()
            || self.replacement_serial.is_some()
            || self.general.is_some()
    }
}

/// The repair form as typed.
#[derive(Debug, Clone, Default)]
pub struct RepairFormView {
    pub repaired_on: String,
    pub error: Option<String>,
}

/// The forms of the page: fresh ones (today's date) unless a rejected one is re-rendered.
#[derive(Debug, Clone, Default)]
pub struct Forms {
    pub incident: Option<IncidentFormView>,
    pub repair: Option<RepairFormView>,
}

struct DeviceView {
    serial: String,
    asset_tag: String,
    model: String,
    model_group: String,
    class: String,
    status: String,
    status_code: String,
    school: String,
    since: String,
    since_wareki: String,
}

struct HistoryRow {
    date: String,
    status: String,
    school: String,
    reason: String,
    recorded_by: String,
}

struct IncidentRow {
    date: String,
    kind: String,
    cause: String,
    /// 「代替機」 or 「故障等の端末」 (when this device was the replacement).
    other_role: &'static str,
    other_serial: String,
    other_href: String,
    repaired_on: String,
    written_off_on: String,
}

#[derive(Template)]
#[template(path = "fleet/device.html")]
struct DevicePage {
    layout: Layout,
    device: DeviceView,
    history: Vec<HistoryRow>,
    incidents: Vec<IncidentRow>,
    can_manage: bool,
    /// Incidents may be registered (the device is deployed or a spare).
    incident_open: bool,
    in_repair: bool,
    incident_action: String,
    repair_action: String,
    kinds: Vec<SelectOption>,
    spares: Vec<String>,
    incident: IncidentFormView,
    repair: RepairFormView,
    today: String,
}

/// Loads a device the user may see, or 404.
pub(super) async fn load(state: &AppState, me: &SignedIn, key: &str) -> AppResult<DeviceDetail> {
    queries::device_detail(&state.store, me.access.municipality_id(), key, me.access.school_scope())
        .await?
        .ok_or(AppError::NotFound)
}

/// Renders the device page with `forms` (typed values and messages) and `status`.
pub(super) async fn render_device(
    state: &AppState,
    me: &SignedIn,
    detail: DeviceDetail,
    forms: Forms,
    status: StatusCode,
) -> AppResult<Response> {
    let store = &state.store;
    let m = me.access.municipality_id();
    let d = &detail.device;
    let school_names: HashMap<i64, String> =
        schools::list(store, m).await?.into_iter().map(|s| (s.id, s.name)).collect();
    let serials = &detail.serials;

    let history = detail
        .states
        .iter()
        .map(|s| HistoryRow {
            date: s.effective_on.to_string(),
            status: status_ja(&s.status),
            school: s.school_id.and_then(|id| school_names.get(&id).cloned()).unwrap_or_default(),
            reason: reason_ja(&s.reason),
            recorded_by: s.recorded_by.clone().unwrap_or_default(),
        })
        .collect();
    let incidents = detail
        .incidents
        .iter()
        .map(|i| {
            let (other_role, other) = if i.device_id == d.id {
                ("代替機", i.replacement_device_id)
            } else {
                ("故障等の端末（この端末が代替機）", Some(i.device_id))
            };
            let other_serial = other.and_then(|id| serials.get(&id).cloned()).unwrap_or_default();
            IncidentRow {
                date: i.occurred_on.to_string(),
                kind: kind_ja(&i.kind),
                cause: i.cause.clone().unwrap_or_default(),
                other_role,
                other_href: if other_serial.is_empty() { String::new() } else { device_href(&other_serial) },
                other_serial,
                repaired_on: i.repaired_on.map(|x| x.to_string()).unwrap_or_default(),
                written_off_on: i.written_off_on.map(|x| x.to_string()).unwrap_or_default(),
            }
        })
        .collect();

    let can_manage = me.access.allows(Capability::ManageFleet);
    let status_now = DeviceStatus::parse(&d.status);
    let incident_open = matches!(status_now, Some(DeviceStatus::Deployed | DeviceStatus::Spare));
    let in_repair = status_now == Some(DeviceStatus::InRepair);
    let today = today_tokyo().to_string();
    // Spares of the same group, offered as suggestions: the pool is shared by every school, so
    // this list is not limited to the user's schools.
    let spares = if can_manage && incident_open {
        let f = DeviceFilter {
            status: Some(DeviceStatus::Spare.as_str().into()),
            model_group: Some(d.model_group.clone()),
            ..Default::default()
        };
        queries::list_devices(store, m, &f, 1, 20)
            .await?
            .0
            .into_iter()
            .map(|r| r.serial_number)
            .filter(|s| *s != d.serial_number)
            .collect()
    } else {
        Vec::new()
    };
    let incident =
        forms.incident.unwrap_or_else(|| IncidentFormView { occurred_on: today.clone(), ..Default::default() });
    let repair = forms.repair.unwrap_or_else(|| RepairFormView { repaired_on: today.clone(), error: None });
    let kinds = std::iter::once(SelectOption::new("", "選択してください", &incident.kind))
        .chain(IncidentKind::ALL.iter().map(|k| SelectOption::new(k.as_str(), k.label_ja(), &incident.kind)))
        .collect();
    let view = DeviceView {
        serial: d.serial_number.clone(),
        asset_tag: d.asset_tag.clone().unwrap_or_default(),
        model: d.model.clone(),
        model_group: d.model_group.clone(),
        class: class_ja(&d.device_class),
        status: status_ja(&d.status),
        status_code: d.status.clone(),
        school: match (&d.school_name, &d.school_code) {
            (Some(n), Some(c)) => format!("{n}（{c}）"),
            _ => String::new(),
        },
        since: d.status_since.to_string(),
        since_wareki: wareki_date(d.status_since),
    };
    let page = DevicePage {
        layout: me.layout(format!("端末 {}", d.serial_number), Section::Devices).await?,
        incident_action: format!("{}/incidents", device_href(&d.serial_number)),
        repair_action: format!("{}/repair", device_href(&d.serial_number)),
        device: view,
        history,
        incidents,
        can_manage,
        incident_open,
        in_repair,
        kinds,
        spares,
        incident,
        repair,
        today,
    };
    render_with(status, &page)
}

pub(super) async fn show(State(state): State<AppState>, me: SignedIn, Path(key): Path<String>) -> AppResult<Response> {
    me.access.require(Capability::ViewDevices)?;
    let detail = load(&state, &me, &key).await?;
    render_device(&state, &me, detail, Forms::default(), StatusCode::OK).await
}
