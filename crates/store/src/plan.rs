//! The ICT promotion plan and its yearly evaluation: import of 資料4-1 and schedule files,
//! the plan's items and entries, editing with optimistic locking and a change log, comments, the
//! open/locked state of a year, and division membership.
//!
//! Natural keys: a plan by (municipality, name); an item by (plan, code `1-(1)-①-A`); an entry by
//! (goal item, 年度). Every change of an entry — by import or by hand — writes one
//! `plan_entry_change` row with the entry before and after (JSON of [`EntryFields`]).

use crate::entity::{
    plan, plan_bar, plan_comment, plan_division_member, plan_entry, plan_entry_change, plan_item, plan_year,
};
use crate::imports::{finish, ImportOutcome, ImportSource};
use crate::{Result, Store, StoreError};
use chrono::{DateTime, Utc};
use gigaops_domain::calendar::YearMonth;
pub use gigaops_domain::plan::EntryFields;
use gigaops_domain::plan::{Grade, ItemFields, KpiDirection, Level, Period, PlanCode, Status};
use gigaops_domain::FiscalYear;
use gigaops_ingest::plan::{Layout, PlanFile};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionTrait,
};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub id: i64,
    pub item_id: i64,
    pub goal: String,
    pub fiscal_year: i32,
    #[serde(flatten)]
    pub fields: EntryFields,
    /// Optimistic-locking version: 1 when created, +1 on every change.
    pub version: i64,
    pub updated_by: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// A stored plan item (policy, measure, initiative or goal): its row id and what the file gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub id: i64,
    pub fields: ItemFields,
}

/// A stored schedule bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bar {
    pub goal: PlanCode,
    pub start: YearMonth,
    pub end: YearMonth,
    pub label: String,
}

/// A plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub id: i64,
    pub name: String,
    pub period: Period,
    /// 計画の注記: a sentence the plan's pages and documents show under its title (e.g. that it is
    /// another city's plan, shown for illustration); `None` = none. Set by [`set_note`].
    pub note: Option<String>,
}

/// Whether a year's entries may be edited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum YearState {
    /// Not opened yet: imports only.
    Closed,
    /// Division members edit their goals' entries.
    Open,
    /// Evaluated and fixed: nobody edits, imports are refused.
    Locked,
}

impl YearState {
    pub fn as_str(self) -> &'static str {
        match self {
            YearState::Closed => "closed",
            YearState::Open => "open",
            YearState::Locked => "locked",
        }
    }
    /// 未受付 / 受付中 / 確定.
    pub fn label_ja(self) -> &'static str {
        match self {
            YearState::Closed => "未受付",
            YearState::Open => "受付中",
            YearState::Locked => "確定（ロック）",
        }
    }
    fn parse(s: &str) -> Self {
        match s {
            "open" => YearState::Open,
            "locked" => YearState::Locked,
            _ => YearState::Closed,
        }
    }
}

/// One row of an entry's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub version: i64,
    /// `import` or `edit`.
    pub source: String,
    pub changed_by: Option<String>,
    pub changed_at: DateTime<Utc>,
    /// `None` when the change created the entry.
    pub before: Option<EntryFields>,
    pub after: EntryFields,
}

/// A comment on an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Comment {
    pub id: i64,
    pub author: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// Who edits: the user's id and e-mail, and whether they are an administrator (who may edit any goal).
#[derive(Debug, Clone)]
pub struct Editor {
    pub user_id: i64,
    pub email: String,
    pub admin: bool,
}

fn level_str(l: Level) -> &'static str {
    match l {
        Level::Policy => "policy",
        Level::Measure => "measure",
        Level::Initiative => "initiative",
        Level::Goal => "goal",
    }
}

fn to_plan(m: &plan::Model) -> Plan {
    Plan {
        id: m.id,
        name: m.name.clone(),
        period: Period { first: FiscalYear(m.first_year), last: FiscalYear(m.last_year) },
        note: m.note.clone(),
    }
}

fn json_list(s: &str) -> Vec<String> {
    serde_json::from_str(s).unwrap_or_default()
}

fn list_json(v: &[String]) -> String {
    serde_json::to_string(v).expect("a list of strings serialises")
}

fn fields_of(m: &plan_entry::Model) -> EntryFields {
    EntryFields {
        action: m.action.clone(),
        status: m.status.as_deref().and_then(Status::parse),
        due: m.due.clone(),
        result: m.result.clone(),
        grade: Grade::parse(&m.grade).unwrap_or(Grade::Ungraded),
        next_action: m.next_action.clone(),
        next_status: m.next_status.as_deref().and_then(Status::parse),
        school_actions: json_list(&m.school_actions),
        priority: m.priority,
    }
}

fn to_item(m: &plan_item::Model) -> Option<Item> {
    Some(Item {
        id: m.id,
        fields: ItemFields {
            code: PlanCode::parse(&m.code).ok()?,
            title: m.title.clone(),
            summary: m.summary.clone(),
            divisions: json_list(&m.divisions),
            kpi_direction: m.kpi_direction.as_deref().and_then(KpiDirection::parse),
            kpi: m.kpi.clone(),
        },
    })
}

fn to_entry(m: &plan_entry::Model, goal: &str) -> Entry {
    Entry {
        id: m.id,
        item_id: m.item_id,
        goal: goal.to_string(),
        fiscal_year: m.fiscal_year,
        fields: fields_of(m),
        version: m.version,
        updated_by: m.updated_by.clone(),
        updated_at: m.updated_at,
    }
}

async fn log_change<C: ConnectionTrait>(
    conn: &C,
    municipality_id: i64,
    entry_id: i64,
    version: i64,
    (source, by): (&str, Option<&str>),
    before: Option<&EntryFields>,
    after: &EntryFields,
) -> Result<()> {
    plan_entry_change::ActiveModel {
        municipality_id: Set(municipality_id),
        entry_id: Set(entry_id),
        version: Set(version),
        source: Set(source.to_string()),
        changed_by: Set(by.map(str::to_string)),
        changed_at: Set(Utc::now()),
        before_json: Set(before.map(|b| serde_json::to_string(b).expect("entry fields serialise"))),
        after_json: Set(serde_json::to_string(after).expect("entry fields serialise")),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// All plans of a municipality, by name.
pub async fn plans(store: &Store, municipality_id: i64) -> Result<Vec<Plan>> {
    Ok(plan::Entity::find()
        .filter(plan::Column::MunicipalityId.eq(municipality_id))
        .order_by_asc(plan::Column::Name)
        .all(&store.db)
        .await?
        .iter()
        .map(to_plan)
        .collect())
}

/// Finds the plan to work on: the one named `name`; without a name, the only plan whose period
/// contains `fy` (or the only plan, when `fy` is `None`).
///
/// Errors: [`StoreError::NotFound`] when there is no such plan; [`StoreError::Rule`] when several
/// plans match (the message lists their names).
pub async fn find_plan(
    store: &Store,
    municipality_id: i64,
    name: Option<&str>,
    fy: Option<FiscalYear>,
) -> Result<Plan> {
    let all = plans(store, municipality_id).await?;
    if let Some(n) = name {
        return all.into_iter().find(|p| p.name == n.trim()).ok_or_else(|| {
            StoreError::NotFound(format!("計画「{n}」は登録されていません（gigaops import plan で取り込んでください）"))
        });
    }
    let matching: Vec<Plan> = all.into_iter().filter(|p| fy.is_none_or(|y| p.period.contains(y))).collect();
    match matching.len() {
        0 => Err(StoreError::NotFound(match fy {
            Some(y) => format!("{}を含む計画が登録されていません", y.label_ja()),
            None => "計画が登録されていません（gigaops import plan で取り込んでください）".to_string(),
        })),
        1 => Ok(matching.into_iter().next().expect("one")),
        _ => Err(StoreError::Rule(format!(
            "計画が複数あります。--plan で指定してください: {}",
            matching.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join("、")
        ))),
    }
}

/// Every item of a plan, in code order.
pub async fn items(store: &Store, plan_id: i64) -> Result<Vec<Item>> {
    let mut v: Vec<Item> = plan_item::Entity::find()
        .filter(plan_item::Column::PlanId.eq(plan_id))
        .all(&store.db)
        .await?
        .iter()
        .filter_map(to_item)
        .collect();
    v.sort_by_key(|i| i.fields.code);
    Ok(v)
}

/// The entries of a plan for one year, in goal-code order. One query: each entry comes with its
/// goal's code (a join), without reading the plan's other items.
pub async fn entries(store: &Store, plan_id: i64, fy: FiscalYear) -> Result<Vec<Entry>> {
    let mut v: Vec<(PlanCode, Entry)> = plan_entry::Entity::find()
        .filter(plan_entry::Column::PlanId.eq(plan_id))
        .filter(plan_entry::Column::FiscalYear.eq(fy.0))
        .find_also_related(plan_item::Entity)
        .all(&store.db)
        .await?
        .iter()
        .filter_map(|(m, item)| {
            let code = &item.as_ref()?.code;
            Some((PlanCode::parse(code).ok()?, to_entry(m, code)))
        })
        .collect();
    v.sort_by_key(|(c, _)| *c);
    Ok(v.into_iter().map(|(_, e)| e).collect())
}

/// One entry by id (within the municipality).
///
/// The fiscal years for which the plan has entries (資料4-1 rows), in order; empty for a plan
/// that has only a schedule. Errors: the database's.
pub async fn entry_years(store: &Store, plan_id: i64) -> Result<Vec<FiscalYear>> {
    let years: Vec<i32> = plan_entry::Entity::find()
        .select_only()
        .column(plan_entry::Column::FiscalYear)
        .distinct()
        .filter(plan_entry::Column::PlanId.eq(plan_id))
        .order_by_asc(plan_entry::Column::FiscalYear)
        .into_tuple()
        .all(&store.db)
        .await?;
    Ok(years.into_iter().map(FiscalYear).collect())
}

/// Errors: [`StoreError::NotFound`].
pub async fn entry(store: &Store, municipality_id: i64, entry_id: i64) -> Result<Entry> {
    let m = plan_entry::Entity::find_by_id(entry_id)
        .filter(plan_entry::Column::MunicipalityId.eq(municipality_id))
        .one(&store.db)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("計画の項目 {entry_id} はありません")))?;
    let item = plan_item::Entity::find_by_id(m.item_id).one(&store.db).await?;
    Ok(to_entry(&m, item.as_ref().map_or("", |i| i.code.as_str())))
}

/// The schedule bars of a plan, by goal code then file order.
pub async fn bars(store: &Store, plan_id: i64) -> Result<Vec<Bar>> {
    let items: HashMap<i64, PlanCode> = plan_item::Entity::find()
        .filter(plan_item::Column::PlanId.eq(plan_id))
        .all(&store.db)
        .await?
        .iter()
        .filter_map(|i| Some((i.id, PlanCode::parse(&i.code).ok()?)))
        .collect();
    let ids: Vec<i64> = items.keys().copied().collect();
    let mut rows = plan_bar::Entity::find()
        .filter(plan_bar::Column::ItemId.is_in(ids))
        .order_by_asc(plan_bar::Column::Position)
        .all(&store.db)
        .await?;
    rows.sort_by_key(|b| (items.get(&b.item_id).copied(), b.position));
    Ok(rows
        .iter()
        .filter_map(|b| {
            Some(Bar {
                goal: *items.get(&b.item_id)?,
                start: b.start_month.parse().ok()?,
                end: b.end_month.parse().ok()?,
                label: b.label.clone(),
            })
        })
        .collect())
}

/// Sets or clears the note of plan `plan_id` (within the municipality): `text` is trimmed; empty
/// clears it ([`gigaops_domain::plan::note_text`]). Returns the note as stored.
///
/// Errors: [`StoreError::Rule`] for a note over [`gigaops_domain::plan::MAX_NOTE_CHARS`]
/// characters (nothing written); [`StoreError::NotFound`] when the municipality has no such plan.
pub async fn set_note(store: &Store, municipality_id: i64, plan_id: i64, text: &str) -> Result<Option<String>> {
    let note = gigaops_domain::plan::note_text(text).map_err(StoreError::Rule)?.map(str::to_string);
    let r = plan::Entity::update_many()
        .col_expr(plan::Column::Note, Expr::value(note.clone()))
        .filter(plan::Column::Id.eq(plan_id))
        .filter(plan::Column::MunicipalityId.eq(municipality_id))
        .exec(&store.db)
        .await?;
    if r.rows_affected == 0 {
        return Err(StoreError::NotFound(format!("計画 {plan_id} はありません")));
    }
    Ok(note)
}

/// The state of a plan's year.
pub async fn year_state(store: &Store, plan_id: i64, fy: FiscalYear) -> Result<YearState> {
    year_state_in(&store.db, plan_id, fy).await
}

async fn year_state_in<C: ConnectionTrait>(conn: &C, plan_id: i64, fy: FiscalYear) -> Result<YearState> {
    Ok(plan_year::Entity::find()
        .filter(plan_year::Column::PlanId.eq(plan_id))
        .filter(plan_year::Column::FiscalYear.eq(fy.0))
        .one(conn)
        .await?
        .map_or(YearState::Closed, |y| YearState::parse(&y.state)))
}

/// Opens or locks a year of a plan (an administrator's action; the caller checks the role).
///
/// Errors: [`StoreError::Rule`] for a year outside the plan's period or for `Closed`.
pub async fn set_year_state(
    store: &Store,
    municipality_id: i64,
    plan: &Plan,
    fy: FiscalYear,
    state: YearState,
    by: &str,
) -> Result<()> {
    if !plan.period.contains(fy) {
        return Err(StoreError::Rule(format!("{}は計画期間 {} の外です", fy.label_ja(), plan.period)));
    }
    if state == YearState::Closed {
        return Err(StoreError::Rule("年度は「受付中」か「確定」にだけ変えられます".into()));
    }
    let existing = plan_year::Entity::find()
        .filter(plan_year::Column::PlanId.eq(plan.id))
        .filter(plan_year::Column::FiscalYear.eq(fy.0))
        .one(&store.db)
        .await?;
    match existing {
        Some(y) => {
            let mut am: plan_year::ActiveModel = y.into();
            am.state = Set(state.as_str().to_string());
            am.changed_by = Set(Some(by.to_string()));
            am.changed_at = Set(Utc::now());
            am.update(&store.db).await?;
        }
        None => {
            plan_year::ActiveModel {
                municipality_id: Set(municipality_id),
                plan_id: Set(plan.id),
                fiscal_year: Set(fy.0),
                state: Set(state.as_str().to_string()),
                changed_by: Set(Some(by.to_string())),
                changed_at: Set(Utc::now()),
                ..Default::default()
            }
            .insert(&store.db)
            .await?;
        }
    }
    Ok(())
}

/// Adds a user to a division (担当課). Idempotent.
pub async fn add_division_member(store: &Store, municipality_id: i64, division: &str, user_id: i64) -> Result<()> {
    let exists = plan_division_member::Entity::find()
        .filter(plan_division_member::Column::MunicipalityId.eq(municipality_id))
        .filter(plan_division_member::Column::Division.eq(division.trim()))
        .filter(plan_division_member::Column::UserId.eq(user_id))
        .one(&store.db)
        .await?
        .is_some();
    if !exists {
        plan_division_member::ActiveModel {
            municipality_id: Set(municipality_id),
            division: Set(division.trim().to_string()),
            user_id: Set(user_id),
            ..Default::default()
        }
        .insert(&store.db)
        .await?;
    }
    Ok(())
}

/// The divisions a user belongs to, by name.
pub async fn divisions_of(store: &Store, municipality_id: i64, user_id: i64) -> Result<Vec<String>> {
    let mut v: Vec<String> = plan_division_member::Entity::find()
        .filter(plan_division_member::Column::MunicipalityId.eq(municipality_id))
        .filter(plan_division_member::Column::UserId.eq(user_id))
        .all(&store.db)
        .await?
        .into_iter()
        .map(|m| m.division)
        .collect();
    v.sort();
    Ok(v)
}

/// Whether `editor` may edit the entries of `goal` (an administrator, or a member of one of the
/// goal's divisions).
pub async fn may_edit(store: &Store, municipality_id: i64, editor: &Editor, goal: &Item) -> Result<bool> {
    if editor.admin {
        return Ok(true);
    }
    let mine = divisions_of(store, municipality_id, editor.user_id).await?;
    Ok(goal.fields.divisions.iter().any(|d| mine.contains(d)))
}

/// Saves an edited entry if nobody changed it since it was read at `expected_version`.
///
/// Checks, in order: the entry exists; its year is open ([`YearState::Open`]); the editor may edit
/// the goal ([`may_edit`]); the version still matches. The version check and the update are one
/// `UPDATE … WHERE version = ?`, so two concurrent saves cannot both win. Writes one change-log row.
///
/// Errors: [`StoreError::NotFound`]; [`StoreError::Rule`] when the year is not open or the editor is
/// not in the goal's divisions; [`StoreError::Conflict`] when someone saved first — nothing is
/// written, and the message says who and when so the user can compare and save again.
pub async fn update_entry(
    store: &Store,
    municipality_id: i64,
    editor: &Editor,
    entry_id: i64,
    expected_version: i64,
    fields: EntryFields,
) -> Result<Entry> {
    let current = plan_entry::Entity::find_by_id(entry_id)
        .filter(plan_entry::Column::MunicipalityId.eq(municipality_id))
        .one(&store.db)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("計画の項目 {entry_id} はありません")))?;
    let fy = FiscalYear(current.fiscal_year);
    let state = year_state(store, current.plan_id, fy).await?;
    if state != YearState::Open {
        return Err(StoreError::Rule(format!("{}は{}のため編集できません", fy.label_ja(), state.label_ja())));
    }
    let item = plan_item::Entity::find_by_id(current.item_id)
        .one(&store.db)
        .await?
        .and_then(|m| to_item(&m))
        .ok_or_else(|| StoreError::NotFound("目標がありません".into()))?;
    if !may_edit(store, municipality_id, editor, &item).await? {
        return Err(StoreError::Rule(format!(
            "目標 {} の担当課（{}）に所属していないため編集できません",
            item.fields.code,
            item.fields.divisions.join("、")
        )));
    }
    let before = fields_of(&current);
    let txn = store.db.begin().await?;
    let now = Utc::now();
    let res = plan_entry::Entity::update_many()
        .col_expr(plan_entry::Column::Action, Expr::value(fields.action.clone()))
        .col_expr(plan_entry::Column::Status, Expr::value(fields.status.map(|s| s.as_str().to_string())))
        .col_expr(plan_entry::Column::Due, Expr::value(fields.due.clone()))
        .col_expr(plan_entry::Column::Result, Expr::value(fields.result.clone()))
        .col_expr(plan_entry::Column::Grade, Expr::value(fields.grade.as_str().to_string()))
        .col_expr(plan_entry::Column::NextAction, Expr::value(fields.next_action.clone()))
        .col_expr(plan_entry::Column::NextStatus, Expr::value(fields.next_status.map(|s| s.as_str().to_string())))
        .col_expr(plan_entry::Column::SchoolActions, Expr::value(list_json(&fields.school_actions)))
        .col_expr(plan_entry::Column::Priority, Expr::value(fields.priority))
        .col_expr(plan_entry::Column::Version, Expr::value(expected_version + 1))
        .col_expr(plan_entry::Column::UpdatedBy, Expr::value(Some(editor.email.clone())))
        .col_expr(plan_entry::Column::UpdatedAt, Expr::value(now))
        .filter(plan_entry::Column::Id.eq(entry_id))
        .filter(plan_entry::Column::Version.eq(expected_version))
        .exec(&txn)
        .await?;
    if res.rows_affected != 1 {
        txn.rollback().await?;
        let latest = entry(store, municipality_id, entry_id).await?;
        return Err(StoreError::Conflict(format!(
            "目標 {} の{}の内容は、あなたが開いた後に {}（{}）が保存しました（版 {} → {}）。あなたの変更はまだ保存されていません。\
             最新の内容を確認し、必要な変更をもう一度入れて保存してください。",
            item.fields.code,
            fy.label_ja(),
            latest.updated_by.as_deref().unwrap_or("別の利用者"),
            latest.updated_at.with_timezone(&chrono::FixedOffset::east_opt(9 * 3600).expect("JST")).format("%Y-%m-%d %H:%M"),
            expected_version,
            latest.version
        )));
    }
    log_change(
        &txn,
        municipality_id,
        entry_id,
        expected_version + 1,
        ("edit", Some(&editor.email)),
        Some(&before),
        &fields,
    )
    .await?;
    txn.commit().await?;
    entry(store, municipality_id, entry_id).await
}

/// The history of an entry, oldest first.
pub async fn history(store: &Store, municipality_id: i64, entry_id: i64) -> Result<Vec<Change>> {
    let rows = plan_entry_change::Entity::find()
        .filter(plan_entry_change::Column::MunicipalityId.eq(municipality_id))
        .filter(plan_entry_change::Column::EntryId.eq(entry_id))
        .order_by_asc(plan_entry_change::Column::Version)
        .order_by_asc(plan_entry_change::Column::Id)
        .all(&store.db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(Change {
                version: r.version,
                source: r.source,
                changed_by: r.changed_by,
                changed_at: r.changed_at,
                before: r.before_json.as_deref().and_then(|b| serde_json::from_str(b).ok()),
                after: serde_json::from_str(&r.after_json).ok()?,
            })
        })
        .collect())
}

/// Adds a comment to an entry.
///
/// Errors: [`StoreError::Rule`] for an empty comment or one over
/// [`gigaops_domain::plan::MAX_COMMENT_CHARS`] (the message of
/// [`gigaops_domain::plan::comment_text`]); [`StoreError::NotFound`] for an unknown entry.
pub async fn add_comment(
    store: &Store,
    municipality_id: i64,
    entry_id: i64,
    author: &str,
    body: &str,
) -> Result<Comment> {
    let body = gigaops_domain::plan::comment_text(body).map_err(StoreError::Rule)?;
    entry(store, municipality_id, entry_id).await?;
    let m = plan_comment::ActiveModel {
        municipality_id: Set(municipality_id),
        entry_id: Set(entry_id),
        author: Set(author.to_string()),
        body: Set(body.to_string()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&store.db)
    .await?;
    Ok(Comment { id: m.id, author: m.author, body: m.body, created_at: m.created_at })
}

/// The comments of an entry, oldest first.
pub async fn comments(store: &Store, municipality_id: i64, entry_id: i64) -> Result<Vec<Comment>> {
    Ok(plan_comment::Entity::find()
        .filter(plan_comment::Column::MunicipalityId.eq(municipality_id))
        .filter(plan_comment::Column::EntryId.eq(entry_id))
        .order_by_asc(plan_comment::Column::Id)
        .all(&store.db)
        .await?
        .into_iter()
        .map(|m| Comment { id: m.id, author: m.author, body: m.body, created_at: m.created_at })
        .collect())
}

/// Imports a checked plan file (either layout) in one transaction, idempotently by item code and
/// (goal, 年度).
///
/// The plan is `plan_name`, else the file's 計画; it is created when new (then the file must give
/// 計画期間) and its period updated when the file gives another. Items are inserted or updated
/// (titles, 概要, 担当課, KPI); entries are inserted (version 1) or updated (version + 1) with a
/// change-log row each; a goal's bars are replaced when they differ. Nothing is deleted. Counts are
/// file rows: `inserted` (new entry, or a bar of a new goal), `updated` (entry, goal or bars
/// changed), `unchanged`.
///
/// Errors: [`StoreError::Rows`] (`file:row:年度: value — expected`) for a 年度 outside the plan's
/// period or a locked year; [`StoreError::Rule`] when the plan has no name or a new plan no period.
/// Nothing is written on error; with `src.dry_run` nothing is written either.
pub async fn import(
    store: &Store,
    municipality_id: i64,
    src: &ImportSource,
    file: PlanFile,
    plan_name: Option<&str>,
) -> Result<ImportOutcome> {
    let mut out = ImportOutcome::new("plan", src);
    let name = plan_name.map(str::to_string).or(file.plan_name.clone()).ok_or_else(|| {
        StoreError::Rule(format!(
            "{}: 計画名がありません（ファイルの「計画」列に書くか、取り込むときに計画名を指定してください）",
            src.file_name
        ))
    })?;
    let txn = store.db.begin().await?;
    let existing = plan::Entity::find()
        .filter(plan::Column::MunicipalityId.eq(municipality_id))
        .filter(plan::Column::Name.eq(name.as_str()))
        .one(&txn)
        .await?;
    let period = match (&existing, file.period) {
        (_, Some(p)) => p,
        (Some(m), None) => to_plan(m).period,
        (None, None) => {
            return Err(StoreError::Rule(format!(
                "{}: 計画「{name}」は新しい計画です。「計画期間」列（例: R5-R9）を入れてください",
                src.file_name
            )))
        }
    };
    let plan_model = match existing {
        Some(m) if to_plan(&m).period == period => m,
        Some(m) => {
            let mut am: plan::ActiveModel = m.into();
            am.first_year = Set(period.first.0);
            am.last_year = Set(period.last.0);
            am.update(&txn).await?
        }
        None => {
            plan::ActiveModel {
                municipality_id: Set(municipality_id),
                name: Set(name.clone()),
                first_year: Set(period.first.0),
                last_year: Set(period.last.0),
                created_at: Set(Utc::now()),
                ..Default::default()
            }
            .insert(&txn)
            .await?
        }
    };
    let plan_id = plan_model.id;

    // years: inside the period, not locked
    let mut errors = Vec::new();
    let mut states: HashMap<FiscalYear, YearState> = HashMap::new();
    for e in &file.entries {
        if !period.contains(e.fiscal_year) {
            errors.push(format!(
                "{}:{}:{}: {} — 計画期間 {period} 内の年度",
                file.file, e.row, file.year_column, e.fiscal_year
            ));
            continue;
        }
        if let std::collections::hash_map::Entry::Vacant(v) = states.entry(e.fiscal_year) {
            v.insert(year_state_in(&txn, plan_id, e.fiscal_year).await?);
        }
        if states[&e.fiscal_year] == YearState::Locked {
            errors.push(format!(
                "{}:{}:{}: {} — 確定（ロック）されていない年度（{}は確定済みのため取り込めません）",
                file.file,
                e.row,
                file.year_column,
                e.fiscal_year,
                e.fiscal_year.label_ja()
            ));
        }
    }
    if !errors.is_empty() {
        txn.rollback().await?;
        return Err(StoreError::Rows(errors));
    }

    // items
    let mut by_code: HashMap<String, plan_item::Model> = plan_item::Entity::find()
        .filter(plan_item::Column::PlanId.eq(plan_id))
        .all(&txn)
        .await?
        .into_iter()
        .map(|m| (m.code.clone(), m))
        .collect();
    let mut changed_items: HashMap<PlanCode, bool> = HashMap::new(); // code → new?
    for it in &file.items {
        let code = it.code.to_string();
        let want = |id: i64| plan_item::Model {
            id,
            municipality_id,
            plan_id,
            code: code.clone(),
            level: level_str(it.code.level()).to_string(),
            title: it.title.clone(),
            summary: it.summary.clone(),
            divisions: list_json(&it.divisions),
            kpi_direction: it.kpi_direction.map(|d| d.as_str().to_string()),
            kpi: it.kpi.clone(),
        };
        match by_code.get(&code) {
            Some(cur) if *cur == want(cur.id) => {}
            Some(cur) => {
                let w = want(cur.id);
                let mut am: plan_item::ActiveModel = cur.clone().into();
                am.title = Set(w.title.clone());
                am.summary = Set(w.summary.clone());
                am.divisions = Set(w.divisions.clone());
                am.kpi_direction = Set(w.kpi_direction.clone());
                am.kpi = Set(w.kpi.clone());
                let m = am.update(&txn).await?;
                by_code.insert(code.clone(), m);
                changed_items.insert(it.code, false);
            }
            None => {
                let w = want(0);
                let m = plan_item::ActiveModel {
                    municipality_id: Set(municipality_id),
                    plan_id: Set(plan_id),
                    code: Set(w.code),
                    level: Set(w.level),
                    title: Set(w.title),
                    summary: Set(w.summary),
                    divisions: Set(w.divisions),
                    kpi_direction: Set(w.kpi_direction),
                    kpi: Set(w.kpi),
                    ..Default::default()
                }
                .insert(&txn)
                .await?;
                by_code.insert(code.clone(), m);
                changed_items.insert(it.code, true);
            }
        }
    }
    let item_id = |c: &PlanCode| by_code[&c.to_string()].id;

    match file.layout {
        Layout::Evaluation => {
            let years: Vec<i32> = states.keys().map(|y| y.0).collect();
            let existing: HashMap<(i64, i32), plan_entry::Model> = plan_entry::Entity::find()
                .filter(plan_entry::Column::PlanId.eq(plan_id))
                .filter(plan_entry::Column::FiscalYear.is_in(years))
                .all(&txn)
                .await?
                .into_iter()
                .map(|m| ((m.item_id, m.fiscal_year), m))
                .collect();
            for e in &file.entries {
                let fields = &e.fields;
                let iid = item_id(&e.goal);
                match existing.get(&(iid, e.fiscal_year.0)) {
                    None => {
                        let m = plan_entry::ActiveModel {
                            municipality_id: Set(municipality_id),
                            plan_id: Set(plan_id),
                            item_id: Set(iid),
                            fiscal_year: Set(e.fiscal_year.0),
                            action: Set(fields.action.clone()),
                            status: Set(fields.status.map(|s| s.as_str().to_string())),
                            due: Set(fields.due.clone()),
                            result: Set(fields.result.clone()),
                            grade: Set(fields.grade.as_str().to_string()),
                            next_action: Set(fields.next_action.clone()),
                            next_status: Set(fields.next_status.map(|s| s.as_str().to_string())),
                            school_actions: Set(list_json(&fields.school_actions)),
                            priority: Set(fields.priority),
                            version: Set(1),
                            updated_by: Set(src.imported_by.clone()),
                            updated_at: Set(Utc::now()),
                            ..Default::default()
                        }
                        .insert(&txn)
                        .await?;
                        log_change(
                            &txn,
                            municipality_id,
                            m.id,
                            1,
                            ("import", src.imported_by.as_deref()),
                            None,
                            fields,
                        )
                        .await?;
                        out.inserted += 1;
                    }
                    Some(cur) => {
                        let before = fields_of(cur);
                        if before == *fields {
                            if changed_items.contains_key(&e.goal) {
                                out.updated += 1;
                            } else {
                                out.unchanged += 1;
                            }
                            continue;
                        }
                        let mut am: plan_entry::ActiveModel = cur.clone().into();
                        am.action = Set(fields.action.clone());
                        am.status = Set(fields.status.map(|s| s.as_str().to_string()));
                        am.due = Set(fields.due.clone());
                        am.result = Set(fields.result.clone());
                        am.grade = Set(fields.grade.as_str().to_string());
                        am.next_action = Set(fields.next_action.clone());
                        am.next_status = Set(fields.next_status.map(|s| s.as_str().to_string()));
                        am.school_actions = Set(list_json(&fields.school_actions));
                        am.priority = Set(fields.priority);
                        am.version = Set(cur.version + 1);
                        am.updated_by = Set(src.imported_by.clone());
                        am.updated_at = Set(Utc::now());
                        am.update(&txn).await?;
                        log_change(
                            &txn,
                            municipality_id,
                            cur.id,
                            cur.version + 1,
                            ("import", src.imported_by.as_deref()),
                            Some(&before),
                            fields,
                        )
                        .await?;
                        out.updated += 1;
                    }
                }
            }
            out.rows = file.entries.len() as i64;
        }
        Layout::Schedule => {
            let mut per_goal: BTreeMap<PlanCode, Vec<&gigaops_ingest::plan::BarRecord>> = BTreeMap::new();
            for b in &file.bars {
                per_goal.entry(b.goal).or_default().push(b);
            }
            for (goal, bars) in per_goal {
                let iid = item_id(&goal);
                let current = plan_bar::Entity::find()
                    .filter(plan_bar::Column::ItemId.eq(iid))
                    .order_by_asc(plan_bar::Column::Position)
                    .all(&txn)
                    .await?;
                let have: Vec<(String, String, String)> =
                    current.iter().map(|b| (b.start_month.clone(), b.end_month.clone(), b.label.clone())).collect();
                let want: Vec<(String, String, String)> =
                    bars.iter().map(|b| (b.start.to_string(), b.end.to_string(), b.label.clone())).collect();
                let n = bars.len() as i64;
                if have != want {
                    plan_bar::Entity::delete_many().filter(plan_bar::Column::ItemId.eq(iid)).exec(&txn).await?;
                    for (pos, (s, e, l)) in want.into_iter().enumerate() {
                        plan_bar::ActiveModel {
                            municipality_id: Set(municipality_id),
                            item_id: Set(iid),
                            position: Set(pos as i32),
                            start_month: Set(s),
                            end_month: Set(e),
                            label: Set(l),
                            ..Default::default()
                        }
                        .insert(&txn)
                        .await?;
                    }
                }
                match changed_items.get(&goal) {
                    Some(true) => out.inserted += n,
                    Some(false) => out.updated += n,
                    None if have_differs(&current, &bars) => out.updated += n,
                    None => out.unchanged += n,
                }
            }
            out.rows = file.bars.len() as i64;
        }
    }
    finish(txn, municipality_id, src, out).await
}

fn have_differs(current: &[plan_bar::Model], bars: &[&gigaops_ingest::plan::BarRecord]) -> bool {
    current.len() != bars.len()
        || current.iter().zip(bars).any(|(c, b)| {
            c.start_month != b.start.to_string() || c.end_month != b.end.to_string() || c.label != b.label
        })
}
