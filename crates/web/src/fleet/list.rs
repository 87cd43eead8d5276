//! `GET /fleet/devices?q=&status=&model_group=&school=&page=`: the device list.
//!
//! `q` is a prefix of the serial number or asset tag, `status` a status code (`spare`, …),
//! `model_group` a model group, `school` a 学校コード; empty values do not filter. 50 devices per
//! page, ordered by serial number, with the total count and links to the other pages.

use super::{class_ja, device_href, status_ja, SelectOption};
use crate::auth::{Capability, SignedIn};
use crate::errors::{AppError, AppResult};
use crate::http;
use crate::page::{render, Layout, Section};
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use gigaops_domain::fleet::DeviceStatus;
use gigaops_store::fleet::queries::{self, DeviceFilter};
use gigaops_store::schools;
use serde::Deserialize;

/// Devices per page.
pub const PER_PAGE: u64 = 50;

/// The filter as typed (all optional).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    pub q: String,
    pub status: String,
    pub model_group: String,
    pub school: String,
    pub page: String,
}

impl ListQuery {
    /// The query string of this filter on `page` (1 = no `page` parameter).
    fn href(&self, page: u64) -> String {
        let p = if page > 1 { page.to_string() } else { String::new() };
        format!(
            "/fleet/devices{}",
            http::query(&[
                ("q", self.q.trim()),
                ("status", &self.status),
                ("model_group", &self.model_group),
                ("school", &self.school),
                ("page", &p),
            ])
        )
    }
}

/// One row of the list.
struct Row {
    href: String,
    serial: String,
    asset_tag: String,
    model: String,
    class: String,
    status: String,
    status_code: String,
    school: String,
    since: String,
}

#[derive(Template)]
#[template(path = "fleet/devices.html")]
struct DevicesPage {
    layout: Layout,
    q: String,
    statuses: Vec<SelectOption>,
    groups: Vec<SelectOption>,
    schools: Vec<SelectOption>,
    rows: Vec<Row>,
    total: u64,
    page: u64,
    pages: u64,
    first: u64,
    last: u64,
    prev_href: Option<String>,
    next_href: Option<String>,
    scoped: bool,
    /// Link to 機種と別名.
    can_view_models: bool,
}

pub(super) async fn list(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    me.access.require(Capability::ViewDevices)?;
    let store = &state.store;
    let m = me.access.municipality_id();
    let scope = me.access.school_scope();

    let status = q.status.trim();
    let status = if status.is_empty() {
        None
    } else {
        let s =
            DeviceStatus::parse(status).ok_or_else(|| AppError::BadRequest(format!("状態「{status}」は不明です")))?;
        Some(s.as_str().to_string())
    };
    let all_schools = schools::list(store, m).await?;
    let visible: Vec<_> =
        all_schools.into_iter().filter(|s| scope.as_ref().is_none_or(|ids| ids.contains(&s.id))).collect();
    let school_code = q.school.trim();
    let school_id = if school_code.is_empty() {
        None
    } else {
        Some(
            visible
                .iter()
                .find(|s| s.school_code == school_code)
                .map(|s| s.id)
                .ok_or_else(|| AppError::BadRequest(format!("学校コード「{school_code}」の学校は選べません")))?,
        )
    };
    let page: u64 = q.page.trim().parse().ok().filter(|p| *p >= 1).unwrap_or(1);
    let model_group = q.model_group.trim();
    let filter = DeviceFilter {
        q: Some(q.q.trim().to_string()).filter(|s| !s.is_empty()),
        status: status.clone(),
        school_id,
        model_group: Some(model_group.to_string()).filter(|s| !s.is_empty()),
        scope_school_ids: scope.clone(),
    };
    let (devices, total) = queries::list_devices(store, m, &filter, page, PER_PAGE).await?;
    let groups = queries::model_groups(store, m).await?;

    let pages = total.div_ceil(PER_PAGE).max(1);
    let first = if total == 0 { 0 } else { (page - 1) * PER_PAGE + 1 };
    let last = ((page - 1) * PER_PAGE + devices.len() as u64).max(first);
    let rows = devices
        .into_iter()
        .map(|d| Row {
            href: device_href(&d.serial_number),
            asset_tag: d.asset_tag.unwrap_or_default(),
            model: d.model,
            class: class_ja(&d.device_class),
            status: status_ja(&d.status),
            status_code: d.status,
            school: d.school_name.unwrap_or_default(),
            since: d.status_since.to_string(),
            serial: d.serial_number,
        })
        .collect();
    let current_status = status.unwrap_or_default();
    let page_obj = DevicesPage {
        layout: me.layout("端末台帳", Section::Devices).await?,
        q: q.q.clone(),
        statuses: std::iter::once(SelectOption::new("", "すべて", &current_status))
            .chain(DeviceStatus::ALL.iter().map(|s| SelectOption::new(s.as_str(), s.label_ja(), &current_status)))
            .collect(),
        groups: std::iter::once(SelectOption::new("", "すべて", model_group))
            .chain(groups.iter().map(|g| SelectOption::new(g.as_str(), g.as_str(), model_group)))
            .collect(),
        schools: std::iter::once(SelectOption::new("", "すべて", school_code))
            .chain(visible.iter().map(|s| {
                SelectOption::new(s.school_code.as_str(), format!("{}（{}）", s.name, s.school_code), school_code)
            }))
            .collect(),
        rows,
        total,
        page,
        pages,
        first,
        last,
        prev_href: (page > 1).then(|| q.href(page - 1)),
        next_href: (page < pages).then(|| q.href(page + 1)),
        scoped: scope.is_some(),
        can_view_models: me.access.allows(Capability::ViewModels),
    };
    render(&page_obj)
}
