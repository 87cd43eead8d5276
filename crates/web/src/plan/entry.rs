//! One goal's entry: the edit form (division members, open year; optimistic locking — a stale
//! version is refused with who saved first, and the user's input is shown again so nothing is
//! lost), the history with a field-by-field diff, and comments.

use super::status_ja;
use crate::auth::{Capability, SignedIn};
use crate::errors::{AppError, AppResult};
use crate::http;
use crate::page::{flash, render_with, Layout, Section};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use gigaops_domain::plan::{join_school_actions, split_school_actions, Grade, Status};
use gigaops_domain::FiscalYear;
use gigaops_store::plan::{self, Editor, Entry, EntryFields};
use gigaops_store::StoreError;
use serde::Deserialize;

/// The edit form, as typed.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct EntryForm {
    pub version: String,
    pub action: String,
    pub status: String,
    pub due: String,
    pub result: String,
    pub grade: String,
    pub next_action: String,
    pub next_status: String,
    pub school_actions: String,
    pub priority: String,
}

impl EntryForm {
    fn of(e: &Entry) -> Self {
        let f = &e.fields;
        EntryForm {
            version: e.version.to_string(),
            action: f.action.clone(),
            status: f.status.map(|s| s.as_str().to_string()).unwrap_or_default(),
            due: f.due.clone(),
            result: f.result.clone(),
            grade: f.grade.as_str().to_string(),
            next_action: f.next_action.clone(),
            next_status: f.next_status.map(|s| s.as_str().to_string()).unwrap_or_default(),
            school_actions: join_school_actions(&f.school_actions),
            priority: if f.priority { "on".into() } else { String::new() },
        }
    }

    fn fields(&self) -> Result<EntryFields, String> {
        let status = |s: &str| -> Result<Option<Status>, String> {
            if s.trim().is_empty() {
                Ok(None)
            } else {
                Status::parse(s).map(Some).ok_or_else(|| format!("区分「{s}」は新規・継続・拡充のいずれかです"))
            }
        };
        Ok(EntryFields {
            action: self.action.trim().to_string(),
            status: status(&self.status)?,
            due: self.due.trim().to_string(),
            result: self.result.trim().to_string(),
            grade: Grade::parse(&self.grade)
                .ok_or_else(|| format!("評価「{}」は ◎・○・△・評価なし のいずれかです", self.grade))?,
            next_action: self.next_action.trim().to_string(),
            next_status: status(&self.next_status)?,
            school_actions: split_school_actions(&self.school_actions),
            priority: !self.priority.is_empty(),
        })
    }
}

/// An `<option>`.
struct Opt {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

fn status_options(current: &str) -> Vec<Opt> {
    std::iter::once(("", "（なし）"))
        .chain(Status::ALL.iter().map(|s| (s.as_str(), s.label_ja())))
        .map(|(value, label)| Opt { value, label, selected: value == current })
        .collect()
}

fn grade_options(current: &str) -> Vec<Opt> {
    Grade::ALL.iter().map(|g| Opt { value: g.as_str(), label: g.label_ja(), selected: g.as_str() == current }).collect()
}

#[derive(Template)]
#[template(path = "plan/edit.html")]
struct EditPage {
    layout: Layout,
    entry_id: i64,
    goal: String,
    goal_text: String,
    divisions: String,
    year: String,
    form: EntryForm,
    status_options: Vec<Opt>,
    next_status_options: Vec<Opt>,
    grade_options: Vec<Opt>,
    error: Option<String>,
    /// On a conflict: the latest saved entry, to compare with.
    latest: Option<LatestView>,
    back_href: String,
}

struct LatestView {
    version: i64,
    by: String,
    result: String,
    grade: &'static str,
    action: String,
}

async fn context(state: &AppState, me: &SignedIn, id: i64) -> AppResult<(Entry, plan::Item, String)> {
    me.access.require(Capability::ViewPlan)?;
    let m = me.access.municipality_id();
    let e = plan::entry(&state.store, m, id).await?;
    for p in plan::plans(&state.store, m).await? {
        if let Some(i) = plan::items(&state.store, p.id).await?.into_iter().find(|i| i.id == e.item_id) {
            return Ok((e, i, p.name));
        }
    }
    Err(AppError::NotFound)
}

fn back_href(e: &Entry, plan: &str) -> String {
    format!("/plan{}", http::query(&[("fiscal_year", &FiscalYear(e.fiscal_year).short_label()), ("plan", plan)]))
}

async fn edit_page(
    me: &SignedIn,
    e: &Entry,
    item: &plan::Item,
    plan: &str,
    form: EntryForm,
    (error, latest): (Option<String>, Option<LatestView>),
    status: StatusCode,
) -> AppResult<Response> {
    let fy = FiscalYear(e.fiscal_year);
    render_with(
        status,
        &EditPage {
            layout: me.layout(format!("{} の編集（{}）", e.goal, fy.label_ja()), Section::Plan).await?,
            entry_id: e.id,
            goal: e.goal.clone(),
            goal_text: item.fields.title.clone(),
            divisions: item.fields.divisions.join("、"),
            year: fy.label_ja(),
            status_options: status_options(&form.status),
            next_status_options: status_options(&form.next_status),
            grade_options: grade_options(&form.grade),
            form,
            error,
            latest,
            back_href: back_href(e, plan),
        },
    )
}

pub(super) async fn edit(State(state): State<AppState>, me: SignedIn, Path(id): Path<i64>) -> AppResult<Response> {
    me.access.require(Capability::EditPlan)?;
    let (e, item, pl) = context(&state, &me, id).await?;
    let form = EntryForm::of(&e);
    edit_page(&me, &e, &item, &pl, form, (None, None), StatusCode::OK).await
}

pub(super) async fn save(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<i64>,
    Form(f): Form<EntryForm>,
) -> AppResult<Response> {
    me.access.require(Capability::EditPlan)?;
    let (e, item, pl) = context(&state, &me, id).await?;
    let m = me.access.municipality_id();
    let Ok(version) = f.version.trim().parse::<i64>() else {
        return Err(AppError::BadRequest("版（version）がありません。編集画面を開き直してください".into()));
    };
    let fields = match f.fields() {
        Ok(x) => x,
        Err(msg) => {
            return edit_page(&me, &e, &item, &pl, f, (Some(msg), None), StatusCode::UNPROCESSABLE_ENTITY).await
        }
    };
    let editor = Editor {
        user_id: me.user().id,
        email: me.user().email.clone(),
        admin: me.access.role() == gigaops_store::users::Role::Admin,
    };
    match plan::update_entry(&state.store, m, &editor, id, version, fields).await {
        Ok(saved) => {
            tracing::info!(entry = id, version = saved.version, user.id = me.user().id, "計画の項目を保存しました");
            flash(&me.session, format!("{} を保存しました（版 {}）。", saved.goal, saved.version)).await?;
            Ok(Redirect::to(&back_href(&saved, &pl)).into_response())
        }
        Err(StoreError::Conflict(msg)) => {
            let latest = plan::entry(&state.store, m, id).await?;
            let view = LatestView {
                version: latest.version,
                by: latest.updated_by.clone().unwrap_or_default(),
                result: latest.fields.result.clone(),
                grade: latest.fields.grade.label_ja(),
                action: latest.fields.action.clone(),
            };
            // keep the user's input, but with the latest version so a deliberate re-save goes through
            let mut keep = f.clone();
            keep.version = latest.version.to_string();
            edit_page(&me, &latest, &item, &pl, keep, (Some(msg), Some(view)), StatusCode::CONFLICT).await
        }
        Err(StoreError::Rule(msg)) => edit_page(&me, &e, &item, &pl, f, (Some(msg), None), StatusCode::FORBIDDEN).await,
        Err(other) => Err(other.into()),
    }
}

/// One changed field in the diff view.
struct FieldDiff {
    label: &'static str,
    before: String,
    after: String,
}

struct ChangeView {
    version: i64,
    source: &'static str,
    by: String,
    at: String,
    diffs: Vec<FieldDiff>,
}

struct CommentView {
    author: String,
    at: String,
    body: String,
}

#[derive(Template)]
#[template(path = "plan/history.html")]
struct HistoryPage {
    layout: Layout,
    entry_id: i64,
    changes: Vec<ChangeView>,
    comments: Vec<CommentView>,
    back_href: String,
}

use gigaops_domain::calendar::jst_minute as tokyo;

fn field_texts(f: &EntryFields) -> [(&'static str, String); 9] {
    [
        ("取組", f.action.clone()),
        ("区分", status_ja(f.status).to_string()),
        ("達成時期", f.due.clone()),
        ("実績・課題", f.result.clone()),
        ("評価", f.grade.label_ja().to_string()),
        ("次年度の取組", f.next_action.clone()),
        ("次年度の区分", status_ja(f.next_status).to_string()),
        ("学校の取組", join_school_actions(&f.school_actions)),
        ("重点", if f.priority { "重点".into() } else { String::new() }),
    ]
}

pub(super) async fn history(State(state): State<AppState>, me: SignedIn, Path(id): Path<i64>) -> AppResult<Response> {
    let (e, _item, pl) = context(&state, &me, id).await?;
    let m = me.access.municipality_id();
    let changes = plan::history(&state.store, m, id)
        .await?
        .into_iter()
        .rev()
        .map(|c| {
            let after = field_texts(&c.after);
            let before = c.before.as_ref().map(field_texts);
            let diffs = after
                .iter()
                .enumerate()
                .filter_map(|(k, (label, a))| {
                    let b = before.as_ref().map(|b| b[k].1.clone()).unwrap_or_default();
                    (b != *a).then(|| FieldDiff { label, before: b, after: a.clone() })
                })
                .collect();
            ChangeView {
                version: c.version,
                source: if c.source == "import" { "取り込み" } else { "編集" },
                by: c.changed_by.unwrap_or_default(),
                at: tokyo(c.changed_at),
                diffs,
            }
        })
        .collect();
    let comments = plan::comments(&state.store, m, id)
        .await?
        .into_iter()
        .map(|c| CommentView { author: c.author, at: tokyo(c.created_at), body: c.body })
        .collect();
    render_with(
        StatusCode::OK,
        &HistoryPage {
            layout: me
                .layout(format!("{} の変更履歴（{}）", e.goal, FiscalYear(e.fiscal_year).label_ja()), Section::Plan)
                .await?,
            entry_id: id,
            changes,
            comments,
            back_href: back_href(&e, &pl),
        },
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CommentForm {
    pub body: String,
}

pub(super) async fn comment(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<i64>,
    Form(f): Form<CommentForm>,
) -> AppResult<Response> {
    me.access.require(Capability::ViewPlan)?;
    gigaops_domain::plan::comment_text(&f.body).map_err(AppError::BadRequest)?;
    plan::add_comment(&state.store, me.access.municipality_id(), id, &me.user().email, &f.body).await?;
    flash(&me.session, "コメントを追加しました。").await?;
    Ok(Redirect::to(&format!("/plan/entries/{id}/history")).into_response())
}
