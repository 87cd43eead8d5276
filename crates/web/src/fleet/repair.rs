//! `POST /fleet/devices/{serial}/repair`: 修理完了（予備機に戻す） — a device in repair is back in
//! the spare pool from the given date (`gigaops_store::fleet::events::return_from_repair`).
//! A bad date or a broken rule re-renders the device page (422) with the message beside the date.

use super::device_href;
use super::show::{load, render_device, Forms, RepairFormView};
use crate::auth::{Capability, SignedIn};
use crate::errors::AppResult;
use crate::page::{flash, today_tokyo};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use gigaops_domain::calendar::parse_date;
use gigaops_store::fleet::events::return_from_repair;
use gigaops_store::StoreError;
use serde::Deserialize;

/// The form's field, as typed.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RepairForm {
    pub repaired_on: String,
}

pub(super) async fn complete(
    State(state): State<AppState>,
    me: SignedIn,
    Path(key): Path<String>,
    Form(f): Form<RepairForm>,
) -> AppResult<Response> {
    me.access.require(Capability::ManageFleet)?;
    let detail = load(&state, &me, &key).await?;
    let serial = detail.device.serial_number.clone();
    let typed = f.repaired_on.trim();
    let error = match parse_date(typed) {
        None if typed.is_empty() => Err("修理完了日を入力してください。".to_string()),
        None => Err(format!("修理完了日「{typed}」を日付として読めません。2022-04-01 の形式で入力してください。")),
        Some(d) if d > today_tokyo() => {
            Err(format!("修理完了日 {d} は未来の日付です。今日以前の日付を入力してください。"))
        }
        Some(d) => {
            match return_from_repair(&state.store, me.access.municipality_id(), &serial, d, &me.user().email).await {
                Ok(()) => Ok(d),
                Err(StoreError::Rule(m)) | Err(StoreError::NotFound(m)) | Err(StoreError::Conflict(m)) => Err(m),
                Err(e) => return Err(e.into()),
            }
        }
    };
    match error {
        Ok(d) => {
            tracing::info!(serial = %serial, repaired_on = %d, user.id = me.user().id, "修理完了を登録しました");
            flash(&me.session, format!("修理完了を登録しました。端末 {serial} は {d} から予備機です。")).await?;
            let scope = me.access.school_scope();
            let visible =
                gigaops_store::fleet::queries::device_detail(&state.store, me.access.municipality_id(), &serial, scope)
                    .await?
                    .is_some();
            let target = if visible { device_href(&serial) } else { "/fleet/devices".to_string() };
            Ok(Redirect::to(&target).into_response())
        }
        Err(message) => {
            let forms = Forms {
                incident: None,
                repair: Some(RepairFormView { repaired_on: f.repaired_on.clone(), error: Some(message) }),
            };
            render_device(&state, &me, detail, forms, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}
