//! The year's table page, its printable document and downloads, the admin's open/lock form, the
//! plan's note (計画の注記: shown under the title of the page, the schedule and the printed
//! document; set by the board) and the schedule page.

use crate::auth::{Capability, SignedIn};
use crate::errors::{AppError, AppResult};
use crate::http;
use crate::page::{flash, render, today_tokyo, Layout, NoData, Section};
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use gigaops_domain::calendar::nearest_with_data;
use gigaops_domain::FiscalYear;
use gigaops_store::plan::{self, Editor, Plan, YearState};
use serde::Deserialize;

/// The query of the plan pages.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PlanQuery {
    pub fiscal_year: String,
    pub plan: String,
}

impl PlanQuery {
    /// The requested year; `None` when none was given.
    fn year(&self) -> AppResult<Option<FiscalYear>> {
        let s = self.fiscal_year.trim();
        if s.is_empty() {
            return Ok(None);
        }
        FiscalYear::parse(s).map(Some).map_err(|e| AppError::BadRequest(e.to_string()))
    }
    fn plan(&self) -> Option<&str> {
        Some(self.plan.trim()).filter(|p| !p.is_empty())
    }
}

/// The plan a page shows, from the municipality's `plans`: the one named `name` (`None` when no
/// plan has that name); without a name, the plan whose period contains `fy` — the latest such plan
/// when several do — else the latest plan (latest = the period that ends last, then starts last).
/// `None` when there is no plan.
fn choose_plan(plans: &[Plan], name: Option<&str>, fy: Option<FiscalYear>) -> Option<Plan> {
    if let Some(n) = name {
        return plans.iter().find(|p| p.name == n).cloned();
    }
    let latest = |ps: Vec<&Plan>| ps.into_iter().max_by_key(|p| (p.period.last, p.period.first, p.id)).cloned();
    let having: Vec<&Plan> = plans.iter().filter(|p| fy.is_some_and(|y| p.period.contains(y))).collect();
    if having.is_empty() {
        latest(plans.iter().collect())
    } else {
        latest(having)
    }
}

/// The year and plan of a plan page or download, and every plan of the municipality (for the
/// chooser). Without a year: the latest year with entries (資料4-1 rows) of the named plan, or,
/// without a name either, of all plans (the page opens on data); the current year when there are
/// none. With a year: [`choose_plan`]. No plan, or an unknown name: [`AppError::NotFound`].
pub(crate) async fn load(state: &AppState, me: &SignedIn, q: &PlanQuery) -> AppResult<(FiscalYear, Plan, Vec<Plan>)> {
    me.access.require(Capability::ViewPlan)?;
    let plans = plan::plans(&state.store, me.access.municipality_id()).await?;
    let today = FiscalYear::of(today_tokyo());
    if let Some(fy) = q.year()? {
        let pl = choose_plan(&plans, q.plan(), Some(fy)).ok_or(AppError::NotFound)?;
        return Ok((fy, pl, plans));
    }
    let mut latest: Option<(FiscalYear, Plan)> = None;
    for p in plans.iter().filter(|p| q.plan().is_none_or(|n| p.name == n)) {
        if let Some(y) = plan::entry_years(&state.store, p.id).await?.last().copied() {
            if latest.as_ref().is_none_or(|(ly, _)| y > *ly) {
                latest = Some((y, p.clone()));
            }
        }
    }
    let (fy, pl) = match latest {
        Some(found) => found,
        None => (today, choose_plan(&plans, q.plan(), Some(today)).ok_or(AppError::NotFound)?),
    };
    Ok((fy, pl, plans))
}

/// What the page says instead of an empty list when the plan has no entries for `fy`: the
/// nearest year that has some, or its schedule when it has none (a schedule-only plan).
async fn no_entries(state: &AppState, pl: &Plan, fy: FiscalYear) -> AppResult<Option<NoData>> {
    let years = plan::entry_years(&state.store, pl.id).await?;
    if years.contains(&fy) {
        return Ok(None);
    }
    Ok(Some(match nearest_with_data(&years, fy) {
        Some(y) => NoData::for_period(
            &fy.label_ja(),
            "進捗・評価の記録",
            Some((
                y.label_ja(),
                format!("/plan{}", http::query(&[("fiscal_year", &y.short_label()), ("plan", &pl.name)])),
            )),
        ),
        None => NoData {
            text: format!("{}には年度ごとの進捗・評価の記録がありません（スケジュールのみの計画です）。", pl.name),
            href: format!("/plan/schedule{}", http::query(&[("plan", &pl.name)])),
            link: "スケジュールを表示".into(),
        },
    }))
}

/// `R5〜R9`.
fn period_label(p: &Plan) -> String {
    format!("{}〜{}", p.period.first.short_label(), p.period.last.short_label())
}

/// One goal row of the page's list.
struct GoalRow {
    code: String,
    text: String,
    divisions: String,
    grade: &'static str,
    version: i64,
    edit_href: Option<String>,
    history_href: String,
}

#[derive(Template)]
#[template(path = "plan/table.html")]
struct TablePage {
    layout: Layout,
    plan: String,
    /// Every plan of the municipality: (name, label with its period, selected).
    plans: Vec<(String, String, bool)>,
    plan_query: String,
    fiscal_year: String,
    note: Option<String>,
    can_edit_note: bool,
    state: &'static str,
    can_manage_years: bool,
    can_import: bool,
    goals: Vec<GoalRow>,
    fragment: String,
    downloads: Vec<(String, &'static str)>,
    no_data: Option<NoData>,
}

pub(super) async fn page(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<PlanQuery>,
) -> AppResult<Response> {
    let m = me.access.municipality_id();
    let (fy, pl, plans) = match load(&state, &me, &q).await {
        // nothing imported yet: those who may import land on the upload form
        Err(AppError::NotFound)
            if me.access.allows(Capability::ImportPlan) && plan::plans(&state.store, m).await?.is_empty() =>
        {
            flash(&me.session, "計画が登録されていません。資料4-1 またはスケジュールのファイルを取り込んでください。")
                .await?;
            return Ok(Redirect::to("/plan/import").into_response());
        }
        other => other?,
    };
    // the plan's rows are read once, for the report and for the list of goals
    let items = plan::items(&state.store, pl.id).await?;
    let entries = plan::entries(&state.store, pl.id, fy).await?;
    let previous = plan::entries(&state.store, pl.id, fy.previous()).await?;
    let report = gigaops_report::plan::assemble(&pl, fy, &items, &entries, &previous);
    let year_state = plan::year_state(&state.store, pl.id, fy).await?;
    let editor = Editor {
        user_id: me.user().id,
        email: me.user().email.clone(),
        admin: me.access.role() == gigaops_store::users::Role::Admin,
    };
    let can_edit = me.access.allows(Capability::EditPlan) && year_state == YearState::Open;
    let mut goals = Vec::new();
    for e in entries {
        let item = items.iter().find(|i| i.id == e.item_id);
        let editable = match item {
            Some(i) if can_edit => plan::may_edit(&state.store, m, &editor, i).await?,
            _ => false,
        };
        goals.push(GoalRow {
            code: e.goal.clone(),
            text: item.map(|i| i.fields.title.clone()).unwrap_or_default(),
            divisions: item.map(|i| i.fields.divisions.join("、")).unwrap_or_default(),
            grade: e.fields.grade.symbol(),
            version: e.version,
            edit_href: editable.then(|| format!("/plan/entries/{}/edit", e.id)),
            history_href: format!("/plan/entries/{}/history", e.id),
        });
    }
    let qs = http::query(&[("fiscal_year", &fy.short_label()), ("plan", &pl.name)]);
    let no_data = no_entries(&state, &pl, fy).await?;
    render(&TablePage {
        layout: me.layout(report.title(), Section::Plan).await?,
        plan: pl.name.clone(),
        plans: plans
            .iter()
            .map(|p| (p.name.clone(), format!("{}（{}）", p.name, period_label(p)), p.id == pl.id))
            .collect(),
        plan_query: qs.clone(),
        fiscal_year: fy.short_label(),
        note: pl.note.clone(),
        can_edit_note: me.access.allows(Capability::EditPlanNote),
        state: year_state.label_ja(),
        can_manage_years: me.access.allows(Capability::ManagePlanYears),
        can_import: me.access.allows(Capability::ImportPlan),
        goals,
        fragment: if no_data.is_none() { report.to_html_fragment() } else { String::new() },
        no_data,
        downloads: vec![
            (format!("/plan/print{qs}"), "印刷用（A4 横）"),
            (format!("/plan/report.xlsx{qs}"), "Excel（.xlsx）"),
            (format!("/plan/report.csv{qs}"), "CSV（取込形式）"),
            (format!("/plan/report.json{qs}"), "JSON"),
        ],
    })
}

/// The printable document. It carries its own styles inline, so it gets its own Content-Security-Policy
/// (no scripts, no outside requests, inline styles allowed).
pub(super) async fn print(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<PlanQuery>,
) -> AppResult<Response> {
    let (fy, pl, _) = load(&state, &me, &q).await?;
    let report = gigaops_report::plan::build(&state.store, &pl, fy).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, "default-src 'none'; style-src 'unsafe-inline'; img-src data:"),
        ],
        report.to_html_document(),
    )
        .into_response())
}

async fn download(state: &AppState, me: &SignedIn, q: &PlanQuery, ext: &str) -> AppResult<Response> {
    let (fy, pl, _) = load(state, me, q).await?;
    let report = gigaops_report::plan::build(&state.store, &pl, fy).await?;
    let (ct, body) = match ext {
        "csv" => ("text/csv; charset=utf-8", report.to_csv()),
        "xlsx" => (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            report.to_xlsx().map_err(AppError::internal)?,
        ),
        _ => ("application/json", report.to_json().into_bytes()),
    };
    let name = format!("{}.{ext}", report.title());
    Ok((
        [
            (header::CONTENT_TYPE, ct.to_string()),
            (header::CONTENT_DISPOSITION, http::attachment(&name, &format!("plan-{}.{ext}", fy.0))),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        body,
    )
        .into_response())
}

pub(super) async fn csv(State(s): State<AppState>, me: SignedIn, Query(q): Query<PlanQuery>) -> AppResult<Response> {
    download(&s, &me, &q, "csv").await
}
pub(super) async fn xlsx(State(s): State<AppState>, me: SignedIn, Query(q): Query<PlanQuery>) -> AppResult<Response> {
    download(&s, &me, &q, "xlsx").await
}
pub(super) async fn json(State(s): State<AppState>, me: SignedIn, Query(q): Query<PlanQuery>) -> AppResult<Response> {
    download(&s, &me, &q, "json").await
}

/// The open/lock form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct YearForm {
    pub plan: String,
    pub fiscal_year: String,
    /// `open` or `lock`.
    pub action: String,
}

pub(super) async fn set_year(
    State(state): State<AppState>,
    me: SignedIn,
    Form(f): Form<YearForm>,
) -> AppResult<Response> {
    me.access.require(Capability::ManagePlanYears)?;
    let q = PlanQuery { fiscal_year: f.fiscal_year.clone(), plan: f.plan.clone() };
    let (fy, pl, _) = load(&state, &me, &q).await?;
    let st = match f.action.as_str() {
        "open" => YearState::Open,
        "lock" => YearState::Locked,
        other => return Err(AppError::BadRequest(format!("操作「{other}」は不明です（open または lock）"))),
    };
    plan::set_year_state(&state.store, me.access.municipality_id(), &pl, fy, st, &me.user().email).await?;
    tracing::info!(plan = %pl.name, fiscal_year = fy.0, state = st.as_str(), user.id = me.user().id, "年度の状態を変更しました");
    flash(&me.session, format!("{}を「{}」にしました。", fy.label_ja(), st.label_ja())).await?;
    let qs = http::query(&[("fiscal_year", &fy.short_label()), ("plan", &pl.name)]);
    Ok(Redirect::to(&format!("/plan{qs}")).into_response())
}

/// The note form: the plan, the year the page showed (to go back to it) and the note.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NoteForm {
    pub plan: String,
    pub fiscal_year: String,
    /// Empty clears the note.
    pub note: String,
}

/// `POST /plan/note`: sets or clears the named plan's note and goes back to the plan page with a
/// message. A note over the limit is not saved; the message says why. An unknown plan is 404.
pub(super) async fn set_note(
    State(state): State<AppState>,
    me: SignedIn,
    Form(f): Form<NoteForm>,
) -> AppResult<Response> {
    me.access.require(Capability::EditPlanNote)?;
    let m = me.access.municipality_id();
    let plans = plan::plans(&state.store, m).await?;
    let pl = plans.iter().find(|p| p.name == f.plan.trim()).ok_or(AppError::NotFound)?;
    let message = match plan::set_note(&state.store, m, pl.id, &f.note).await {
        Ok(Some(_)) => "計画の注記を保存しました。".to_string(),
        Ok(None) => "計画の注記を消しました。".to_string(),
        Err(gigaops_store::StoreError::Rule(why)) => format!("計画の注記を保存できませんでした: {why}"),
        Err(e) => return Err(e.into()),
    };
    tracing::info!(plan = %pl.name, user.id = me.user().id, "計画の注記を変更しました");
    flash(&me.session, message).await?;
    let qs = http::query(&[("fiscal_year", f.fiscal_year.trim()), ("plan", &pl.name)]);
    Ok(Redirect::to(&format!("/plan{qs}")).into_response())
}

#[derive(Template)]
#[template(path = "plan/schedule.html")]
struct SchedulePage {
    layout: Layout,
    note: Option<String>,
    svg: String,
    goals: usize,
    bars: usize,
}

pub(super) async fn schedule(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<PlanQuery>,
) -> AppResult<Response> {
    me.access.require(Capability::ViewPlan)?;
    let plans = plan::plans(&state.store, me.access.municipality_id()).await?;
    let pl = choose_plan(&plans, q.plan(), Some(FiscalYear::of(today_tokyo()))).ok_or(AppError::NotFound)?;
    let s = gigaops_report::plan::build_schedule(&state.store, &pl).await?;
    render(&SchedulePage {
        layout: me.layout(s.title(), Section::Plan).await?,
        note: pl.note.clone(),
        svg: s.to_svg(),
        goals: s.goals.len(),
        bars: s.goals.iter().map(|g| g.bars.len()).sum(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use gigaops_domain::plan::Period;

    fn p(id: i64, name: &str, period: &str) -> Plan {
        Plan { id, name: name.into(), period: Period::parse(period).expect("period"), note: None }
    }

    #[test]
    fn the_plan_with_the_year_else_the_latest() {
        let plans = [p(1, "仙台", "R5-R9"), p(2, "中央", "R7-R11")];
        let name = |fy: i32| choose_plan(&plans, None, Some(FiscalYear(fy))).map(|p| p.name);
        assert_eq!(name(2023).as_deref(), Some("仙台"), "R5: only Sendai's");
        assert_eq!(name(2026).as_deref(), Some("中央"), "R8: both, the latest");
        assert_eq!(name(2030).as_deref(), Some("中央"), "none: the latest");
        assert_eq!(choose_plan(&plans, Some("仙台"), Some(FiscalYear(2029))).map(|p| p.id), Some(1));
        assert_eq!(choose_plan(&plans, Some("ない"), None), None);
        assert_eq!(choose_plan(&[], None, None), None);
    }
}
