//! The escalation (段階的な対応): the municipality's policy, the monthly runs that apply
//! [`gigaops_domain::usage::evaluate_month`] to the stored usage, the cases and their events, and
//! the work items each step produces.
//!
//! Run rules: months before the policy's effective-from month are never evaluated; from
//! then on months are evaluated in order (M needs a current run of M−1); running a month again
//! gives the same result; a usage import that changes a month marks the runs of that month and
//! later ones stale, and a stale month must be run again before the next one. When a re-run
//! changes a month's result, the runs (events, cases opened, work items) of the later months are
//! removed and those months must be run again, in order.

use crate::bulk::{BulkTx, V};
use crate::entity::escalation_policy;
use crate::{Result, Store, StoreError};
use gigaops_domain::usage::{evaluate_month, CaseEvent, EscalationPolicy, LineMonth, MonthSummary, Outcome};
use gigaops_domain::YearMonth;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use std::collections::{BTreeMap, HashMap};

/// The municipality's policy; Maebashi's ([`EscalationPolicy::maebashi`]) when none is stored.
pub async fn policy(store: &Store, municipality_id: i64) -> Result<EscalationPolicy> {
    let row = escalation_policy::Entity::find()
        .filter(escalation_policy::Column::MunicipalityId.eq(municipality_id))
        .one(&store.db)
        .await?;
    Ok(match row {
        Some(r) => serde_json::from_str(&r.policy_json)
            .map_err(|e| StoreError::Rule(format!("保存された対応方針を読み取れません: {e}")))?,
        None => EscalationPolicy::maebashi(),
    })
}

/// Stores the municipality's policy after [`EscalationPolicy::validate`].
///
/// Errors: [`StoreError::Rule`] for an invalid policy, or when runs exist and the new policy
/// changes the rules of months already evaluated (thresholds, months, steps or an effective-from
/// month after the first run): delete nothing silently — the message says what to do.
pub async fn set_policy(store: &Store, municipality_id: i64, p: &EscalationPolicy, who: Option<&str>) -> Result<()> {
    p.validate().map_err(|e| StoreError::Rule(e.to_string()))?;
    let runs = runs(store, municipality_id).await?;
    if let Some(first) = runs.first() {
        let old = policy(store, municipality_id).await?;
        let same_rules = old.single_month_bytes == p.single_month_bytes
            && old.consecutive_bytes == p.consecutive_bytes
            && old.consecutive_months == p.consecutive_months
            && old.steps.len() == p.steps.len();
        if !same_rules || p.effective_month() > first.month {
            return Err(StoreError::Rule(format!(
                "{} から判定済みのため、しきい値・段階数・適用開始月は変更できません（段階の名称と内容は変更できます）",
                first.month
            )));
        }
    }
    let json = serde_json::to_string(p).expect("a policy serialises");
    let existing = escalation_policy::Entity::find()
        .filter(escalation_policy::Column::MunicipalityId.eq(municipality_id))
        .one(&store.db)
        .await?;
    match existing {
        Some(r) => {
            let mut a: escalation_policy::ActiveModel = r.into();
            a.policy_json = Set(json);
            a.updated_at = Set(chrono::Utc::now());
            a.updated_by = Set(who.map(str::to_string));
            a.update(&store.db).await?;
        }
        None => {
            escalation_policy::ActiveModel {
                municipality_id: Set(municipality_id),
                policy_json: Set(json),
                updated_at: Set(chrono::Utc::now()),
                updated_by: Set(who.map(str::to_string)),
                ..Default::default()
            }
            .insert(&store.db)
            .await?;
        }
    }
    Ok(())
}

/// One evaluated month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunInfo {
    pub month: YearMonth,
    /// Usage of this month or an earlier one changed after the run: run it again.
    pub stale: bool,
}

/// The evaluated months, in order.
pub async fn runs(store: &Store, municipality_id: i64) -> Result<Vec<RunInfo>> {
    use crate::entity::escalation_run;
    use sea_orm::QueryOrder;
    let rows = escalation_run::Entity::find()
        .filter(escalation_run::Column::MunicipalityId.eq(municipality_id))
        .order_by_asc(escalation_run::Column::Month)
        .all(&store.db)
        .await?;
    Ok(rows.into_iter().filter_map(|r| Some(RunInfo { month: r.month.parse().ok()?, stale: r.stale != 0 })).collect())
}

/// What `escalation run` did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RunOutcome {
    pub month: String,
    pub summary: MonthSummary,
    /// The stored result changed (first run, or a re-run with different usage).
    pub changed: bool,
    /// Later months whose runs were removed because this month's result changed: run them again.
    pub invalidated: Vec<String>,
}

fn event_key(e: &(i64, Outcome)) -> (i64, &'static str, u8) {
    (e.0, e.1.kind(), e.1.step())
}

/// Evaluates month `month` for the municipality: see the module doc for the rules.
///
/// Errors ([`StoreError::Rule`], nothing written): a month before the policy's effective-from
/// month; the previous month not run yet, or stale; no usage rows at all for the month.
pub async fn run(store: &Store, municipality_id: i64, month: YearMonth, who: Option<&str>) -> Result<RunOutcome> {
    let p = policy(store, municipality_id).await?;
    let from = p.validate().map_err(|e| StoreError::Rule(e.to_string()))?;
    if month < from {
        return Err(StoreError::Rule(format!(
            "{month} は対応方針の適用開始月（{from}）より前のため判定しません（通信量は連続月の判定に使われます）"
        )));
    }
    let done = runs(store, municipality_id).await?;
    if month > from {
        let prev = month.add_months(-1);
        match done.iter().find(|r| r.month == prev) {
            None => {
                return Err(StoreError::Rule(format!(
                    "{prev} がまだ判定されていません。月の順に実行してください（gigaops escalation run --month {prev}）"
                )))
            }
            Some(r) if r.stale => {
                return Err(StoreError::Rule(format!(
                    "{prev} の判定後に通信量が訂正されています。先に {prev} を再実行してください（gigaops escalation run --month {prev}）"
                )))
            }
            Some(_) => {}
        }
    }
    let m = V::I(municipality_id);
    let ms = V::T(Some(month.to_string()));
    let mut tx = BulkTx::begin(store).await?;
    let any = tx
        .rows("SELECT 1 FROM usage_month WHERE municipality_id = $1 AND month = $2 LIMIT 1", &[m.clone(), ms.clone()])
        .await?;
    if any.is_empty() {
        tx.rollback().await?;
        return Err(StoreError::Rule(format!("{month} の通信量が取り込まれていません（gigaops import usage）")));
    }
    // Open cases before M. Every open case has an event in every evaluated month (opened,
    // advanced, continued or missing) and months run in order, so they are the events of M−1 that
    // did not close their case.
    let open_rows = if month > from {
        tx.rows(
            "SELECT case_id, line_id, step FROM escalation_event \
             WHERE municipality_id = $1 AND month = $2 AND kind <> 'improved'",
            &[m.clone(), V::T(Some(month.add_months(-1).to_string()))],
        )
        .await?
    } else {
        vec![]
    };
    let mut open: HashMap<i64, (i64, u8)> = HashMap::new(); // line → (case, step)
    for r in &open_rows {
        let (case, line, step) = (r[0].parse().unwrap_or(0), r[1].parse().unwrap_or(0), r[2].parse().unwrap_or(1));
        open.insert(line, (case, step));
    }
    // candidate lines: usage in M at or above the lower threshold (one key range of usage_month),
    // and every line with an open case; then their usage over the rule's window
    let window = p.window() as usize;
    let lo = month.add_months(1 - window as i32);
    let threshold = p.single_month_bytes.min(p.consecutive_bytes);
    let mut hist: BTreeMap<i64, Vec<Option<i64>>> = open.keys().map(|l| (*l, vec![None; window])).collect();
    for r in tx
        .rows(
            "SELECT line_id FROM usage_month WHERE municipality_id = $1 AND month = $2 AND bytes >= $3",
            &[m.clone(), ms.clone(), V::I(threshold)],
        )
        .await?
    {
        hist.entry(r[0].parse().unwrap_or(0)).or_insert_with(|| vec![None; window]);
    }
    tx.temp_table("escalation_candidate", "line_id BIGINT").await?;
    let candidates: Vec<V> = hist.keys().map(|l| V::I(*l)).collect();
    tx.load("escalation_candidate", &["line_id"], &candidates).await?;
    let window_months: Vec<YearMonth> = (0..window as i32).map(|i| lo.add_months(i)).collect();
    let placeholders: Vec<String> = (0..window).map(|i| format!("${}", i + 2)).collect();
    let mut vals = vec![m.clone()];
    vals.extend(window_months.iter().map(|wm| V::T(Some(wm.to_string()))));
    for r in tx
        .rows(
            &format!(
                "SELECT u.line_id, u.month, u.bytes FROM escalation_candidate c JOIN usage_month u \
                 ON u.municipality_id = $1 AND u.month IN ({}) AND u.line_id = c.line_id",
                placeholders.join(", ")
            ),
            &vals,
        )
        .await?
    {
        let line: i64 = r[0].parse().unwrap_or(0);
        let Ok(um) = r[1].parse::<YearMonth>() else { continue };
        if let Some(slot) = hist.get_mut(&line).and_then(|h| h.get_mut(lo.months_until(um) as usize)) {
            *slot = r[2].parse().ok();
        }
    }
    tx.drop_temp(&["escalation_candidate"]).await?;
    let input: Vec<LineMonth> = hist
        .iter()
        .map(|(line, h)| LineMonth { line: *line, history: h.clone(), open_step: open.get(line).map(|(_, s)| *s) })
        .collect();
    let outcomes = evaluate_month(&p, &input);
    let bytes_of = |line: i64| hist.get(&line).and_then(|h| h.last().copied().flatten());

    // compare with what is stored for M
    let existing = tx
        .rows(
            "SELECT line_id, kind, step FROM escalation_event WHERE municipality_id = $1 AND month = $2",
            &[m.clone(), ms.clone()],
        )
        .await?;
    let mut old: Vec<(i64, String, u8)> =
        existing.iter().map(|r| (r[0].parse().unwrap_or(0), r[1].clone(), r[2].parse().unwrap_or(0))).collect();
    old.sort();
    let mut new: Vec<(i64, String, u8)> =
        outcomes.iter().map(event_key).map(|(l, k, s)| (l, k.to_string(), s)).collect();
    new.sort();
    let had_run = done.iter().any(|r| r.month == month);
    let changed = !had_run || old != new;
    let mut invalidated = Vec::new();
    if changed {
        // remove this month's result and every later month's
        invalidated = done.iter().filter(|r| r.month > month).map(|r| r.month.to_string()).collect();
        for sql in [
            "DELETE FROM work_item WHERE municipality_id = $1 AND month >= $2",
            "DELETE FROM escalation_event WHERE municipality_id = $1 AND month >= $2",
            "DELETE FROM escalation_case WHERE municipality_id = $1 AND opened_month >= $2",
            "DELETE FROM escalation_run WHERE municipality_id = $1 AND month > $2",
        ] {
            tx.exec(sql, &[m.clone(), ms.clone()]).await?;
        }
        write_outcomes(&mut tx, municipality_id, month, &p, &outcomes, &open, bytes_of).await?;
    }
    let who = V::T(who.map(str::to_string));
    if had_run {
        tx.exec(
            "UPDATE escalation_run SET stale = 0, run_at = $3, run_by = $4 WHERE municipality_id = $1 AND month = $2",
            &[m.clone(), ms.clone(), V::Now, who],
        )
        .await?;
    } else {
        tx.exec(
            "INSERT INTO escalation_run (municipality_id, month, run_at, run_by, stale) VALUES ($1, $2, $3, $4, 0)",
            &[m.clone(), ms.clone(), V::Now, who],
        )
        .await?;
    }
    tx.commit().await?;
    let events: Vec<CaseEvent> =
        outcomes.iter().map(|(line, o)| CaseEvent { case: *line, month, outcome: *o }).collect();
    let summary = gigaops_domain::usage::month_summaries(&events, &[month], p.step_count()).remove(0);
    Ok(RunOutcome { month: month.to_string(), summary, changed, invalidated })
}

/// Stores month `month`'s outcomes set-based: the new cases (bulk insert, then their ids by
/// line), every event (bulk insert), and the work items of the steps taken (one INSERT … SELECT,
/// the audience of each step from the policy). `open` maps a line to its open case and step.
async fn write_outcomes(
    tx: &mut BulkTx,
    municipality_id: i64,
    month: YearMonth,
    p: &EscalationPolicy,
    outcomes: &[(i64, Outcome)],
    open: &HashMap<i64, (i64, u8)>,
    bytes_of: impl Fn(i64) -> Option<i64>,
) -> Result<()> {
    let (m, ms) = (V::I(municipality_id), V::T(Some(month.to_string())));
    let opened: Vec<V> = outcomes
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Opened))
        .flat_map(|(line, _)| [m.clone(), V::I(*line), ms.clone()])
        .collect();
    tx.load("escalation_case", &["municipality_id", "line_id", "opened_month"], &opened).await?;
    let mut case_of: HashMap<i64, i64> = open.iter().map(|(line, (case, _))| (*line, *case)).collect();
    for r in tx
        .rows(
            "SELECT line_id, id FROM escalation_case WHERE municipality_id = $1 AND opened_month = $2",
            &[m.clone(), ms.clone()],
        )
        .await?
    {
        case_of.insert(r[0].parse().unwrap_or(0), r[1].parse().unwrap_or(0));
    }
    let events: Vec<V> = outcomes
        .iter()
        .flat_map(|(line, o)| {
            [
                m.clone(),
                V::I(case_of.get(line).copied().unwrap_or(0)),
                V::I(*line),
                ms.clone(),
                V::T(Some(o.kind().into())),
                V::I(i64::from(o.step())),
                V::O(bytes_of(*line)),
            ]
        })
        .collect();
    tx.load("escalation_event", &["municipality_id", "case_id", "line_id", "month", "kind", "step", "bytes"], &events)
        .await?;
    // the steps taken are `opened` (step 1) and `advanced` (step `to`): Outcome::step_taken
    let mut vals = vec![m, ms];
    let mut audience = String::from("CASE e.step");
    for (i, step) in p.steps.iter().enumerate() {
        audience.push_str(&format!(" WHEN {} THEN ${}", i + 1, vals.len() + 1));
        vals.push(V::T(Some(step.notify.as_str().to_string())));
    }
    audience.push_str(" ELSE 'device' END");
    tx.exec(
        &format!(
            "INSERT INTO work_item (municipality_id, event_id, case_id, line_id, school_id, month, step, audience) \
             SELECT e.municipality_id, e.id, e.case_id, e.line_id, l.school_id, e.month, e.step, {audience} \
             FROM escalation_event e JOIN line l ON l.id = e.line_id \
             WHERE e.municipality_id = $1 AND e.month = $2 AND e.kind IN ('opened', 'advanced') ORDER BY e.id"
        ),
        &vals,
    )
    .await?;
    Ok(())
}

/// Every recorded event from `from` to `to` (inclusive), as domain events (case ids).
pub async fn events(store: &Store, municipality_id: i64, from: YearMonth, to: YearMonth) -> Result<Vec<CaseEvent>> {
    use crate::entity::escalation_event;
    let rows = escalation_event::Entity::find()
        .filter(escalation_event::Column::MunicipalityId.eq(municipality_id))
        .filter(escalation_event::Column::Month.between(from.to_string(), to.to_string()))
        .all(&store.db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(CaseEvent {
                case: r.case_id,
                month: r.month.parse().ok()?,
                outcome: Outcome::from_parts(&r.kind, u8::try_from(r.step).ok()?)?,
            })
        })
        .collect())
}
