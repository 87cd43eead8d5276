//! `POST /fleet/devices/{serial}/incidents`: 事故を登録 — 破損 / 故障 / 紛失 / 盗難 on a date, with
//! an optional cause and an optional spare (代替機) that takes the device's place at its school.
//!
//! The handler checks what it can name precisely (kind, date, cause length, the replacement
//! exists, is a spare of the same model group and is not the device itself), then calls
//! `gigaops_store::fleet::events::register_incident`, which applies the fleet rules in one
//! transaction. Any rejection re-renders the device page with status 422, the message beside its
//! field and every typed value kept. Success redirects (303) to the device page with
//! 「登録しました」 — or, for a `school` user whose device has just left the school (it went to
//! repair or was lost), to the replacement's page or the device list.

use super::device_href;
use super::show::{load, render_device, Forms, IncidentErrors, IncidentFormView};
use crate::auth::{Capability, SignedIn};
use crate::errors::AppResult;
use crate::page::{flash, today_tokyo};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use gigaops_domain::calendar::parse_date;
use gigaops_domain::fleet::{DeviceStatus, IncidentKind};
use gigaops_store::fleet::events::{register_incident, Applied, IncidentInput};
use gigaops_store::fleet::queries;
use gigaops_store::StoreError;
use serde::Deserialize;

/// Longest cause text accepted.
pub const MAX_CAUSE_CHARS: usize = 200;

/// The form's fields, as typed.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct IncidentForm {
    pub kind: String,
    pub occurred_on: String,
    pub cause: String,
    pub replacement_serial: String,
}

/// Where a message of the store belongs on the form (its messages name the replacement
/// 「代替機」 or a date 「日付」).
fn place_store_message(errors: &mut IncidentErrors, message: String) {
    if message.contains("代替機") {
        errors.replacement_serial = Some(message);
    } else if message.contains("日付") || message.contains("日は") {
        errors.occurred_on = Some(message);
    } else {
        errors.general = Some(message);
    }
}

pub(super) async fn register(
    State(state): State<AppState>,
    me: SignedIn,
    Path(key): Path<String>,
    Form(f): Form<IncidentForm>,
) -> AppResult<Response> {
    me.access.require(Capability::ManageFleet)?;
    let store = &state.store;
    let m = me.access.municipality_id();
    let detail = load(&state, &me, &key).await?;
    let serial = detail.device.serial_number.clone();
    let mut errors = IncidentErrors::default();

    let kind = IncidentKind::parse(&f.kind);
    if kind.is_none() {
        errors.kind = Some("種類（破損・故障・紛失・盗難）を選んでください。".into());
    }
    let typed_date = f.occurred_on.trim();
    let date = parse_date(typed_date);
    match date {
        None if typed_date.is_empty() => errors.occurred_on = Some("発生日を入力してください。".into()),
        None => {
            errors.occurred_on =
                Some(format!("発生日「{typed_date}」を日付として読めません。2022-04-01 の形式で入力してください。"))
        }
        Some(d) if d > today_tokyo() => {
            errors.occurred_on = Some(format!("発生日 {d} は未来の日付です。今日以前の日付を入力してください。"))
        }
        Some(_) => {}
    }
    let cause = f.cause.trim();
    if cause.chars().count() > MAX_CAUSE_CHARS {
        errors.cause = Some(format!("原因は{MAX_CAUSE_CHARS}文字以内で入力してください。"));
    }
    let typed_rep = f.replacement_serial.trim();
    let mut replacement = None;
    if !typed_rep.is_empty() {
        // the spare pool is shared by all schools: look it up without the user's school scope
        match queries::device_detail(store, m, typed_rep, None).await? {
            None => {
                errors.replacement_serial =
                    Some(format!("代替機のシリアル番号「{typed_rep}」の端末は台帳にありません。"))
            }
            Some(r) if r.device.id == detail.device.id => {
                errors.replacement_serial = Some("代替機に、事故のあった端末そのものは指定できません。".into())
            }
            Some(r) if r.device.status != DeviceStatus::Spare.as_str() => {
                errors.replacement_serial = Some(format!(
                    "代替機 {} は予備機ではありません（現在: {}）。予備機のシリアル番号を入力してください。",
                    r.device.serial_number,
                    super::status_ja(&r.device.status)
                ))
            }
            Some(r) if r.device.model_group != detail.device.model_group => {
                errors.replacement_serial = Some(format!(
                    "代替機 {} の機種グループ「{}」が、この端末の「{}」と異なります。",
                    r.device.serial_number, r.device.model_group, detail.device.model_group
                ))
            }
            Some(r) => replacement = Some(r.device.serial_number),
        }
    }

    let typed = |errors: IncidentErrors| IncidentFormView {
        kind: f.kind.clone(),
        occurred_on: f.occurred_on.clone(),
        cause: f.cause.clone(),
        replacement_serial: f.replacement_serial.clone(),
        errors,
    };
    let (Some(kind), Some(occurred_on), false) = (kind, date, errors.any()) else {
        let forms = Forms { incident: Some(typed(errors)), repair: None };
        return render_device(&state, &me, detail, forms, StatusCode::UNPROCESSABLE_ENTITY).await;
    };

    let input = IncidentInput {
        serial_number: serial.clone(),
        occurred_on,
        kind,
        cause: Some(cause.to_string()).filter(|c| !c.is_empty()),
        replacement_serial: replacement.clone(),
        repaired_on: None,
        written_off_on: None,
    };
    let message = match register_incident(store, m, &input, &me.user().email).await {
        Ok(Applied::Unchanged) => "同じ日・同じ種類の事故は登録済みです（変更はありません）。".to_string(),
        Ok(Applied::Inserted | Applied::Updated) => {
            tracing::info!(serial = %serial, kind = %kind, replacement = ?replacement, user.id = me.user().id, "事故を登録しました");
            match &replacement {
                Some(r) => format!(
                    "登録しました。端末 {serial} は{}、代替機 {r} を配置しました。",
                    kind.status_after().label_ja()
                ),
                None => format!("登録しました。端末 {serial} は{}になりました。", kind.status_after().label_ja()),
            }
        }
        Err(StoreError::Rule(msg)) | Err(StoreError::NotFound(msg)) | Err(StoreError::Conflict(msg)) => {
            let mut errors = IncidentErrors::default();
            place_store_message(&mut errors, msg);
            let forms = Forms { incident: Some(typed(errors)), repair: None };
            return render_device(&state, &me, detail, forms, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
        Err(e) => return Err(e.into()),
    };
    flash(&me.session, message).await?;
    // a school user no longer sees a device that left the school: go where they can look
    let scope = me.access.school_scope();
    let target = if queries::device_detail(store, m, &serial, scope.clone()).await?.is_some() {
        device_href(&serial)
    } else if let Some(r) = replacement.filter(|_| scope.is_some()) {
        device_href(&r)
    } else {
        "/fleet/devices".to_string()
    };
    Ok(Redirect::to(&target).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_messages_go_beside_their_field() {
        let mut e = IncidentErrors::default();
        place_store_message(&mut e, "代替機 X は予備機ではありません（現在: 配置済）".into());
        assert!(e.replacement_serial.is_some() && e.occurred_on.is_none());
        let mut e = IncidentErrors::default();
        place_store_message(
            &mut e,
            "端末 X には 2022-05-01 の記録があり、それより前の日付 2022-04-01 の記録は追加できません".into(),
        );
        assert!(e.occurred_on.is_some());
        let mut e = IncidentErrors::default();
        place_store_message(&mut e, "端末 X は修理中のため、この操作はできません".into());
        assert!(e.general.is_some());
    }
}
