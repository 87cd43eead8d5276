//! The month's work (作業一覧): `GET /usage/work?month=YYYY-MM` lists the work items the steps
//! produced (MDM message, notice to the school, letter to the parents) with who marked them done
//! when; `POST /usage/work/done` marks the ticked items — or all of a step, a school or the month —
//! done (`gigaops_store::usage::queries::mark_done`, recording who and when); `POST
//! /usage/work/notify` e-mails each school its notice (`gigaops_mail::notify_schools`).
//!
//! Who may do what is [`crate::auth::Access::may_complete_work`] and
//! [`Capability::NotifySchools`]: a `school` user sees only their schools' items and completes only
//! the notices to their schools; an item they may not complete is refused (403, nothing marked).
//! A school already e-mailed for the month is sent again only with 「再送信する」 ticked.

use super::{evaluated_month, month_query};
use crate::auth::{Capability, SignedIn};
use crate::errors::{AppError, AppResult};
use crate::http;
use crate::page::{flash, render, Layout, NoData, Section};
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use gigaops_domain::usage::{Audience, EscalationPolicy};
use gigaops_domain::YearMonth;
use gigaops_mail::{notify_schools, MailError, NotifyOptions, SchoolOutcome};
use gigaops_store::usage::escalation;
use gigaops_store::usage::queries::{self, WorkRow};
use gigaops_store::{municipalities, Store};

pub use super::cases::CasesQuery as WorkQuery;

struct ItemView {
    id: i64,
    case_id: i64,
    step: String,
    audience: &'static str,
    school: String,
    pupil_id: String,
    line_no: String,
    serial: String,
    done: String,
    can_complete: bool,
}

/// A 「…をすべて完了」 button.
struct GroupButton {
    value: String,
    label: String,
}

struct MailView {
    school: String,
    cases: usize,
    recipients: String,
    status: String,
}

#[derive(Template)]
#[template(path = "usage/work.html")]
struct WorkPage {
    layout: Layout,
    month: String,
    scoped: bool,
    items: Vec<ItemView>,
    any_completable: bool,
    groups: Vec<GroupButton>,
    can_notify: bool,
    smtp_configured: bool,
    mails: Vec<MailView>,
    any_sent: bool,
    no_data: Option<NoData>,
}

/// Last month in Japan: the month of a work form that names none.
fn last_month() -> YearMonth {
    YearMonth::of(crate::page::today_tokyo()).add_months(-1)
}

pub(crate) fn step_label(policy: &EscalationPolicy, step: i64) -> String {
    policy.steps.get((step - 1).max(0) as usize).map_or_else(|| step.to_string(), |s| format!("{step} {}", s.name))
}

/// The month's items the user sees (their schools' for a `school` user).
async fn visible_items(store: &Store, me: &SignedIn, month: YearMonth) -> AppResult<Vec<WorkRow>> {
    me.access.require(Capability::ViewDevices)?;
    Ok(queries::work_items(store, me.access.municipality_id(), month, None)
        .await?
        .into_iter()
        .filter(|w| me.access.sees_school(w.school_id))
        .collect())
}

async fn board_name(store: &Store, municipality_id: i64) -> AppResult<String> {
    Ok(municipalities::list(store)
        .await?
        .into_iter()
        .find(|m| m.id == municipality_id)
        .map(|m| m.name)
        .unwrap_or_default())
}

pub(super) async fn list(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<WorkQuery>,
) -> AppResult<Response> {
    let m = me.access.municipality_id();
    let (month, no_data) = evaluated_month(&state.store, m, &q.month, "/usage/work").await?;
    let items = visible_items(&state.store, &me, month).await?;
    let policy = escalation::policy(&state.store, m).await?;
    let mut groups = Vec::new();
    let completable = |w: &WorkRow| w.done_at.is_none() && me.access.may_complete_work(w.school_id, &w.audience);
    if items.iter().filter(|w| completable(w)).count() > 1 {
        groups.push(GroupButton { value: "month".into(), label: "この月の作業をすべて完了".into() });
    }
    let mut steps: Vec<i64> = items.iter().filter(|w| completable(w)).map(|w| w.step).collect();
    steps.dedup();
    for s in steps {
        groups.push(GroupButton {
            value: format!("step:{s}"),
            label: format!("段階 {} をすべて完了", step_label(&policy, s)),
        });
    }
    let mut schools: Vec<(&str, &str)> =
        items.iter().filter(|w| completable(w)).map(|w| (w.school_code.as_str(), w.school_name.as_str())).collect();
    schools.sort();
    schools.dedup();
    if schools.len() > 1 {
        for (code, name) in schools {
            groups.push(GroupButton {
                value: format!("school:{code}"), label: format!("{name} の作業をすべて完了")
            });
        }
    }
    let can_notify = me.access.allows(Capability::NotifySchools);
    let mut mails = Vec::new();
    if can_notify {
        let board = board_name(&state.store, m).await?;
        let dry = NotifyOptions { dry_run: true, ..Default::default() };
        for n in notify_schools(&state.store, None, m, &board, month, &dry).await.map_err(mail_error)? {
            mails.push(MailView {
                school: format!("{}（{}）", n.school_name, n.school_code),
                cases: n.cases,
                recipients: n.recipients.join(", "),
                status: match &n.outcome {
                    SchoolOutcome::AlreadySent { sent_at, sent_by } => format!(
                        "送信済み（{} {}）",
                        gigaops_mail::tokyo(*sent_at),
                        sent_by.as_deref().unwrap_or_default()
                    ),
                    SchoolOutcome::NoRecipients => "学校ユーザーのアカウントがありません".into(),
                    _ => "未送信".into(),
                },
            });
        }
    }
    let any_sent = mails.iter().any(|v| v.status.starts_with("送信済み"));
    let views: Vec<ItemView> = items
        .iter()
        .map(|w| ItemView {
            id: w.id,
            case_id: w.case_id,
            step: step_label(&policy, w.step),
            audience: Audience::parse(&w.audience).map_or("—", Audience::label_ja),
            school: format!("{}（{}）", w.school_name, w.school_code),
            pupil_id: w.pupil_id.clone().unwrap_or_default(),
            line_no: w.line_no.clone(),
            serial: w.device_serial.clone().unwrap_or_default(),
            done: match (&w.done_at, &w.done_by) {
                (Some(t), by) => format!("完了 {} {}", gigaops_mail::tokyo(*t), by.as_deref().unwrap_or_default()),
                _ => "未完了".into(),
            },
            can_complete: completable(w),
        })
        .collect();
    render(&WorkPage {
        layout: me.layout(format!("作業一覧（{}年{}月）", month.year(), month.month()), Section::Usage).await?,
        month: month.to_string(),
        scoped: me.access.school_scope().is_some(),
        any_completable: views.iter().any(|v| v.can_complete),
        items: views,
        groups,
        can_notify,
        smtp_configured: state.smtp.is_some(),
        mails,
        any_sent,
        no_data,
    })
}

fn back(month: YearMonth) -> Response {
    Redirect::to(&format!("/usage/work{}", http::query(&[("month", &month.to_string())]))).into_response()
}

fn mail_error(e: MailError) -> AppError {
    match e {
        MailError::Store(s) => s.into(),
        other => AppError::BadRequest(other.to_string()),
    }
}

/// Which items a 「完了」 post names: `id` (repeated, the ticked boxes) or `all` = `month`,
/// `step:N` or `school:CODE`.
fn chosen(fields: &[(String, String)], items: &[WorkRow]) -> AppResult<Vec<i64>> {
    let all = fields.iter().find(|(k, _)| k == "all").map(|(_, v)| v.as_str());
    let ids = match all {
        Some("month") => items.iter().map(|w| w.id).collect(),
        Some(scope) => {
            let pick: Box<dyn Fn(&WorkRow) -> bool> = match scope.split_once(':') {
                Some(("step", n)) => {
                    let n: i64 = n.parse().map_err(|_| AppError::BadRequest(format!("段階「{n}」は不正です")))?;
                    Box::new(move |w| w.step == n)
                }
                Some(("school", code)) => {
                    let code = code.to_string();
                    Box::new(move |w| w.school_code == code)
                }
                _ => return Err(AppError::BadRequest(format!("範囲「{scope}」は不正です"))),
            };
            items.iter().filter(|w| pick(w)).map(|w| w.id).collect()
        }
        None => fields
            .iter()
            .filter(|(k, _)| k == "id")
            .map(|(_, v)| {
                v.trim().parse::<i64>().map_err(|_| AppError::BadRequest(format!("作業番号「{v}」は不正です")))
            })
            .collect::<AppResult<Vec<_>>>()?,
    };
    Ok(ids)
}

pub(super) async fn done(
    State(state): State<AppState>,
    me: SignedIn,
    Form(fields): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let month = month_query(fields.iter().find(|(k, _)| k == "month").map_or("", |(_, v)| v.as_str()), last_month())?;
    let items = visible_items(&state.store, &me, month).await?;
    let is_group = fields.iter().any(|(k, _)| k == "all");
    let mut ids = Vec::new();
    for id in chosen(&fields, &items)? {
        let Some(w) = items.iter().find(|w| w.id == id) else {
            return Err(AppError::NotFound);
        };
        if w.done_at.is_some() {
            continue;
        }
        if me.access.may_complete_work(w.school_id, &w.audience) {
            ids.push(id);
        } else if !is_group {
            // a ticked item the user may not complete: refuse the whole post
            return Err(AppError::Forbidden);
        }
    }
    if ids.is_empty() {
        flash(&me.session, "完了にする作業を選んでください（未完了で、完了にできる作業がありません）。").await?;
        return Ok(back(month));
    }
    let n = queries::mark_done(&state.store, me.access.municipality_id(), &ids, &me.user().email).await?;
    tracing::info!(user.id = me.user().id, n, month = %month, "作業を完了にしました");
    flash(&me.session, format!("{n} 件の作業を完了にしました（{}）。", me.user().email)).await?;
    Ok(back(month))
}

pub(super) async fn notify(
    State(state): State<AppState>,
    me: SignedIn,
    Form(fields): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    me.access.require(Capability::NotifySchools)?;
    let month = month_query(fields.iter().find(|(k, _)| k == "month").map_or("", |(_, v)| v.as_str()), last_month())?;
    let m = me.access.municipality_id();
    let opts = NotifyOptions {
        dry_run: false,
        resend: fields.iter().any(|(k, v)| k == "resend" && v == "1"),
        by: Some(me.user().email.clone()),
    };
    let board = board_name(&state.store, m).await?;
    let out = notify_schools(&state.store, state.smtp.as_ref(), m, &board, month, &opts).await.map_err(mail_error)?;
    let message = if out.is_empty() {
        format!("{}年{}月に学校へ通知する対象者はいません。", month.year(), month.month())
    } else {
        out.iter().map(|n| n.describe()).collect::<Vec<_>>().join(" ／ ")
    };
    flash(&me.session, message).await?;
    Ok(back(month))
}
