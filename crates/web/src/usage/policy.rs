//! `GET /usage/policy`, `POST /usage/policy`: the escalation policy (段階的な対応の方針) — the
//! effective-from month, the single-month threshold, the consecutive threshold and its month
//! count, and the steps (name, what is done, who is told). Board staff read it; the system
//! administrator changes it. The form is checked field by field (each message beside its field,
//! every typed value kept, 422); the store's rule (after runs exist, thresholds, the number of
//! steps and the effective-from month are fixed) is shown above the form, typed values kept. The
//! 「段階の数を反映」 button re-draws the form with that many step rows without saving.

use crate::auth::{Capability, SignedIn};
use crate::errors::AppResult;
use crate::page::{flash, render_with, Layout, Section};
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use gigaops_domain::usage::{bytes_to_gb, parse_volume, Audience, EscalationPolicy, Step, VolumeUnit};
use gigaops_domain::YearMonth;
use gigaops_store::usage::{escalation, queries};
use gigaops_store::StoreError;
use std::collections::HashMap;

/// Most steps a policy may have (as `EscalationPolicy::validate`).
const MAX_STEPS: usize = 9;
/// Longest step name / action accepted.
const MAX_NAME: usize = 40;
const MAX_ACTION: usize = 200;

/// One step as typed.
#[derive(Debug, Clone, Default)]
struct StepForm {
    name: String,
    action: String,
    notify: String,
}

/// The form as typed.
#[derive(Debug, Clone, Default)]
struct PolicyForm {
    effective_from: String,
    single_gb: String,
    consecutive_gb: String,
    consecutive_months: String,
    step_count: String,
    steps: Vec<StepForm>,
}

/// Messages beside the fields.
#[derive(Debug, Clone, Default)]
struct PolicyErrors {
    effective_from: Option<String>,
    single_gb: Option<String>,
    consecutive_gb: Option<String>,
    consecutive_months: Option<String>,
    step_count: Option<String>,
    steps: Vec<Option<String>>,
    general: Option<String>,
}

impl PolicyErrors {
    fn any(&self) -> bool {
        self.effective_from.is_some()
            || self.single_gb.is_some()
            || self.consecutive_gb.is_some()
            || self.consecutive_months.is_some()
            || self.step_count.is_some()
            || self.steps.iter().any(Option::is_some)
            || self.general.is_some()
    }
}

fn gb_text(bytes: i64) -> String {
    let g = bytes_to_gb(bytes);
    if g.fract() == 0.0 {
        format!("{g:.0}")
    } else {
        g.to_string()
    }
}

impl PolicyForm {
    fn of(p: &EscalationPolicy) -> Self {
        PolicyForm {
            effective_from: p.effective_from.clone(),
            single_gb: gb_text(p.single_month_bytes),
            consecutive_gb: gb_text(p.consecutive_bytes),
            consecutive_months: p.consecutive_months.to_string(),
            step_count: p.steps.len().to_string(),
            steps: p
                .steps
                .iter()
                .map(|s| StepForm { name: s.name.clone(), action: s.action.clone(), notify: s.notify.as_str().into() })
                .collect(),
        }
    }

    /// The typed form; step rows are read up to the number of steps typed (at most 9).
    fn from_fields(f: &HashMap<String, String>) -> Self {
        let get = |k: &str| f.get(k).cloned().unwrap_or_default();
        let rows = (1..=MAX_STEPS).take_while(|i| f.contains_key(&format!("step{i}_name"))).count();
        PolicyForm {
            effective_from: get("effective_from"),
            single_gb: get("single_gb"),
            consecutive_gb: get("consecutive_gb"),
            consecutive_months: get("consecutive_months"),
            step_count: get("step_count"),
            steps: (1..=rows)
                .map(|i| StepForm {
                    name: get(&format!("step{i}_name")),
                    action: get(&format!("step{i}_action")),
                    notify: get(&format!("step{i}_notify")),
                })
                .collect(),
        }
    }

    fn step_count(&self) -> Result<usize, String> {
        match self.step_count.trim().parse::<usize>() {
            Ok(n) if (1..=MAX_STEPS).contains(&n) => Ok(n),
            _ => Err(format!("段階の数「{}」は 1〜{MAX_STEPS} の整数で入力してください。", self.step_count.trim())),
        }
    }

    /// The step rows resized to `n` (new rows blank, telling the device).
    fn resized(mut self, n: usize) -> Self {
        self.steps.resize(n, StepForm { notify: Audience::Device.as_str().into(), ..Default::default() });
        self
    }

    /// The policy, or the messages beside the fields.
    fn policy(&self) -> Result<EscalationPolicy, Box<PolicyErrors>> {
        let mut e = PolicyErrors::default();
        let from = self.effective_from.trim();
        if from.parse::<YearMonth>().is_err() {
            e.effective_from =
                Some(format!("適用開始月「{from}」を年月として読めません。2022-09 の形式で入力してください。"));
        }
        let volume = |typed: &str, label: &str| -> Result<i64, String> {
            match parse_volume(typed, VolumeUnit::Gb) {
                Ok(b) if b > 0 => Ok(b),
                Ok(_) => Err(format!("{label}は 0 より大きくしてください。")),
                Err(err) => Err(format!("{label}「{}」: {err}（GB の数値で入力してください）", typed.trim())),
            }
        };
        let single = volume(&self.single_gb, "1か月のしきい値").map_err(|m| e.single_gb = Some(m)).ok();
        let cons = volume(&self.consecutive_gb, "連続月のしきい値").map_err(|m| e.consecutive_gb = Some(m)).ok();
        let months = match self.consecutive_months.trim().parse::<u32>() {
            Ok(n) if (1..=12).contains(&n) => Some(n),
            _ => {
                e.consecutive_months =
                    Some(format!("連続月数「{}」は 1〜12 の整数で入力してください。", self.consecutive_months.trim()));
                None
            }
        };
        match self.step_count() {
            Ok(n) if n != self.steps.len() => {
                e.step_count =
                    Some(format!("段階の数を {n} にするには「段階の数を反映」を押してから各段階を入力してください。"))
            }
            Ok(_) => {}
            Err(m) => e.step_count = Some(m),
        }
        let mut steps = Vec::new();
        for s in &self.steps {
            let (name, action) = (s.name.trim(), s.action.trim());
            let notify = Audience::parse(&s.notify);
            let msg = if name.is_empty() || action.is_empty() {
                Some("段階の名称と内容を入力してください。".to_string())
            } else if name.chars().count() > MAX_NAME || action.chars().count() > MAX_ACTION {
                Some(format!("名称は{MAX_NAME}文字以内、内容は{MAX_ACTION}文字以内で入力してください。"))
            } else if notify.is_none() {
                Some("通知先（端末・学校・保護者）を選んでください。".to_string())
            } else {
                None
            };
            if let (None, Some(notify)) = (&msg, notify) {
                steps.push(Step { name: name.into(), action: action.into(), notify });
            }
            e.steps.push(msg);
        }
        match (e.any(), single, cons, months) {
            (false, Some(single_month_bytes), Some(consecutive_bytes), Some(consecutive_months)) => {
                Ok(EscalationPolicy {
                    effective_from: from.to_string(),
                    single_month_bytes,
                    consecutive_bytes,
                    consecutive_months,
                    steps,
                })
            }
            _ => Err(Box::new(e)),
        }
    }
}

/// An `<option>`.
struct Opt {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

/// One step row of the form or the table.
struct StepView {
    n: usize,
    name: String,
    action: String,
    notify_label: &'static str,
    options: Vec<Opt>,
    error: Option<String>,
}

/// The policy in effect, for reading.
struct CurrentView {
    effective_from: String,
    single_gb: String,
    consecutive_gb: String,
    consecutive_months: u32,
    steps: Vec<StepView>,
}

#[derive(Template)]
#[template(path = "usage/policy.html")]
struct PolicyPage {
    layout: Layout,
    current: CurrentView,
    changed: Option<String>,
    evaluated: Option<String>,
    can_edit: bool,
    form: PolicyForm,
    steps: Vec<StepView>,
    errors: PolicyErrors,
}

fn step_views(form: &PolicyForm, errors: &PolicyErrors) -> Vec<StepView> {
    form.steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let chosen = Audience::parse(&s.notify);
            StepView {
                n: i + 1,
                name: s.name.clone(),
                action: s.action.clone(),
                notify_label: chosen.map_or("", Audience::label_ja),
                options: [Audience::Device, Audience::School, Audience::Parents]
                    .into_iter()
                    .map(|a| Opt { value: a.as_str(), label: a.label_ja(), selected: chosen == Some(a) })
                    .collect(),
                error: errors.steps.get(i).cloned().flatten(),
            }
        })
        .collect()
}

async fn page(
    state: &AppState,
    me: &SignedIn,
    form: Option<PolicyForm>,
    errors: PolicyErrors,
    status: StatusCode,
) -> AppResult<Response> {
    let m = me.access.municipality_id();
    let p = escalation::policy(&state.store, m).await?;
    let changed = queries::policy_change(&state.store, m).await?.map(|c| {
        format!("{} に {} が変更", gigaops_mail::tokyo(c.updated_at), c.updated_by.unwrap_or_else(|| "（不明）".into()))
    });
    let runs = escalation::runs(&state.store, m).await?;
    let evaluated = match (runs.first(), runs.last()) {
        (Some(a), Some(b)) => Some(format!("{}〜{}", a.month, b.month)),
        _ => None,
    };
    let current_form = PolicyForm::of(&p);
    let current = CurrentView {
        effective_from: p.effective_from.clone(),
        single_gb: current_form.single_gb.clone(),
        consecutive_gb: current_form.consecutive_gb.clone(),
        consecutive_months: p.consecutive_months,
        steps: step_views(&current_form, &PolicyErrors::default()),
    };
    let form = form.unwrap_or(current_form);
    render_with(
        status,
        &PolicyPage {
            layout: me.layout("段階的な対応の方針", Section::Usage).await?,
            current,
            changed,
            evaluated,
            can_edit: me.access.allows(Capability::EditEscalationPolicy),
            steps: step_views(&form, &errors),
            form,
            errors,
        },
    )
}

pub(super) async fn show(State(state): State<AppState>, me: SignedIn) -> AppResult<Response> {
    me.access.require(Capability::ViewEscalationPolicy)?;
    page(&state, &me, None, PolicyErrors::default(), StatusCode::OK).await
}

pub(super) async fn save(
    State(state): State<AppState>,
    me: SignedIn,
    Form(fields): Form<HashMap<String, String>>,
) -> AppResult<Response> {
    me.access.require(Capability::EditEscalationPolicy)?;
    let form = PolicyForm::from_fields(&fields);
    if fields.get("op").map(String::as_str) == Some("resize") {
        return match form.step_count() {
            Ok(n) => page(&state, &me, Some(form.resized(n)), PolicyErrors::default(), StatusCode::OK).await,
            Err(m) => {
                let errors = PolicyErrors { step_count: Some(m), ..Default::default() };
                page(&state, &me, Some(form), errors, StatusCode::UNPROCESSABLE_ENTITY).await
            }
        };
    }
    let policy = match form.policy() {
        Ok(p) => p,
        Err(errors) => return page(&state, &me, Some(form), *errors, StatusCode::UNPROCESSABLE_ENTITY).await,
    };
    match escalation::set_policy(&state.store, me.access.municipality_id(), &policy, Some(&me.user().email)).await {
        Ok(()) => {
            tracing::info!(user.id = me.user().id, "段階的な対応の方針を変更しました");
            flash(&me.session, "段階的な対応の方針を保存しました。").await?;
            Ok(Redirect::to("/usage/policy").into_response())
        }
        Err(StoreError::Rule(msg)) => {
            let errors = PolicyErrors { general: Some(msg), ..Default::default() };
            page(&state, &me, Some(form), errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn maebashi_round_trips_through_the_form() {
        let p = EscalationPolicy::maebashi();
        let f = PolicyForm::of(&p);
        assert_eq!((f.single_gb.as_str(), f.consecutive_gb.as_str()), ("200", "100"));
        assert_eq!(f.policy().unwrap(), p);
    }

    #[test]
    fn each_bad_field_gets_its_message() {
        let f = PolicyForm::from_fields(&fields(&[
            ("effective_from", "2022/13"),
            ("single_gb", "-5"),
            ("consecutive_gb", "abc"),
            ("consecutive_months", "0"),
            ("step_count", "1"),
            ("step1_name", ""),
            ("step1_action", "x"),
            ("step1_notify", "device"),
        ]));
        let e = f.policy().unwrap_err();
        assert!(e.effective_from.as_deref().is_some_and(|m| m.contains("2022/13")));
        assert!(e.single_gb.is_some() && e.consecutive_gb.as_deref().is_some_and(|m| m.contains("abc")));
        assert!(e.consecutive_months.is_some() && e.step_count.is_none());
        assert_eq!(e.steps.len(), 1);
        assert!(e.steps[0].as_deref().is_some_and(|m| m.contains("名称")));
    }

    #[test]
    fn a_step_count_that_differs_from_the_rows_asks_for_resize() {
        let mut f = PolicyForm::of(&EscalationPolicy::maebashi());
        f.step_count = "5".into();
        assert!(f.policy().unwrap_err().step_count.is_some());
        let f = f.resized(5);
        assert_eq!(f.steps.len(), 5);
        assert_eq!(f.steps[4].notify, "device");
        assert!(PolicyForm { step_count: "10".into(), ..Default::default() }.step_count().is_err());
    }
}
