//! `POST /fleet/devices/{serial}/incidents`: 事故を登録 — 破損 / 故障 / 紛失 / 盗難 on a date, with
//! an optional cause and an optional spare (代替機) that takes the device's place at its school.
//!
//! The handler checks the form itself (kind, date, cause length, that the replacement exists and
//! is a spare or a device of the user's own schools — `queries::replacement_device`),
//! then calls `gigaops_store::fleet::events::register_incident`, which applies the fleet rules of
//! `gigaops_domain::fleet` in one transaction; a refused rule comes back typed and is shown beside
//! its field. Any rejection re-renders the device page with status 422, the message beside its
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
use gigaops_domain::fleet::{FleetRuleError, IncidentKind};
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

/// Where a fleet rule's refusal belongs on the form: replacement problems beside 代替機, date
/// problems beside 発生日, the rest above the form.
fn place_rule_error(errors: &mut IncidentErrors, e: &FleetRuleError) {
    let message = Some(e.to_string());
    match e {
        FleetRuleError::NotASpare { .. }
        | FleetRuleError::GroupMismatch { .. }
        | FleetRuleError::SelfReplacement(_) => errors.replacement_serial = message,
        FleetRuleError::BeforeRegistration { .. } | FleetRuleError::BeforeLatest { .. } => errors.occurred_on = message,
        _ => errors.general = message,
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
        // any spare (a shared pool) or a device of the user's own schools; another school's
        // device gets the same answer as a serial that does not exist
        match queries::replacement_device(store, m, typed_rep, me.access.school_scope()).await? {
            None => {
                errors.replacement_serial =
                    Some(format!("代替機のシリアル番号「{typed_rep}」の端末は台帳にありません。"))
            }
            Some(r) => replacement = Some(r.serial_number),
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
        Err(StoreError::Fleet(rule)) => {
            let mut errors = IncidentErrors::default();
            place_rule_error(&mut errors, &rule);
            let forms = Forms { incident: Some(typed(errors)), repair: None };
            return render_device(&state, &me, detail, forms, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
        Err(StoreError::Rule(msg)) | Err(StoreError::NotFound(msg)) | Err(StoreError::Conflict(msg)) => {
            let errors = IncidentErrors { general: Some(msg), ..Default::default() };
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
    fn rule_errors_go_beside_their_field() {
        let d = |s: &str| s.parse().unwrap();
        let mut e = IncidentErrors::default();
        place_rule_error(&mut e, &FleetRuleError::NotASpare { serial: "X".into(), status: "配置済" });
        assert!(e.replacement_serial.is_some() && e.occurred_on.is_none());
        let mut e = IncidentErrors::default();
        place_rule_error(
            &mut e,
            &FleetRuleError::BeforeLatest { serial: "X".into(), on: d("2022-04-01"), since: d("2022-05-01") },
        );
        assert!(e.occurred_on.as_deref().is_some_and(|m| m.contains("2022-05-01")));
        let mut e = IncidentErrors::default();
        place_rule_error(
            &mut e,
            &FleetRuleError::WrongStatus {
                serial: "X".into(),
                status: "修理中",
                expected: "配置済または予備機の端末のみ",
            },
        );
        assert!(e.general.is_some() && e.replacement_serial.is_none());
    }
}
