//! `GET /fleet/search?q=`: the counter search. An exact serial number or asset tag opens the
//! device's page; anything else opens the device list filtered by `q` as a prefix.

use super::device_href;
use crate::auth::{Capability, SignedIn};
use crate::errors::AppResult;
use crate::http;
use crate::AppState;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use gigaops_store::fleet::queries;
use serde::Deserialize;

/// The search box.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SearchQuery {
    pub q: String,
}

pub(super) async fn search(
    State(state): State<AppState>,
    me: SignedIn,
    Query(s): Query<SearchQuery>,
) -> AppResult<Response> {
    me.access.require(Capability::ViewDevices)?;
    let q = s.q.trim();
    if q.is_empty() {
        return Ok(Redirect::to("/fleet/devices").into_response());
    }
    let found = queries::device_detail(&state.store, me.access.municipality_id(), q, me.access.school_scope()).await?;
    let target = match found {
        Some(d) => device_href(&d.device.serial_number),
        None => format!("/fleet/devices{}", http::query(&[("q", q)])),
    };
    Ok(Redirect::to(&target).into_response())
}
