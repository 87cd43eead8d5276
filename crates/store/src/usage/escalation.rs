//! The escalation (段階的な対応): the municipality's policy, the monthly runs that apply
//! [`gigaops_domain::usage::evaluate_month`] to the stored usage, the cases and their events, and
//! the work items each step produces.
//!
//! Run rules (issue 3): months before the policy's effective-from month are never evaluated; from
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
        .rows("SELECT COUNT(*) FROM usage_month WHERE municipality_id = $1 AND month = $2", &[m.clone(), ms.clone()])
        .await?;
    if any.first().and_then(|r| r.first()).map(String::as_str) == Some("0") {
        tx.rollback().await?;
        return Err(StoreError::Rule(format!("{month} の通信量が取り込まれていません（gigaops import usage）")));
    }
    // open cases before M: the latest event of each case before M, unless it closed the case
    let open_rows = tx
        .rows(
            "SELECT e.case_id, e.line_id, e.step FROM escalation_event e \
             WHERE e.municipality_id = $1 AND e.month < $2 AND e.kind <> 'improved' AND e.month = \
             (SELECT MAX(e2.month) FROM escalation_event e2 WHERE e2.case_id = e.case_id AND e2.month < $2)",
            &[m.clone(), ms.clone()],
        )
        .await?;
    let mut open: HashMap<i64, (i64, u8)> = HashMap::new(); // line → (case, step)
    for r in &open_rows {
        let (case, line, step) = (r[0].parse().unwrap_or(0), r[1].parse().unwrap_or(0), r[2].parse().unwrap_or(1));
        open.insert(line, (case, step));
    }
    // candidate lines: usage in M at or above the lower threshold, and every line with a case
    let window = p.window() as i32;
    let lo = month.add_months(1 - window);
    let threshold = p.single_month_bytes.min(p.consecutive_bytes);
    let usage_rows = tx
        .rows(
            "SELECT u.line_id, u.month, u.bytes FROM usage_month u WHERE u.municipality_id = $1 \
             AND u.month >= $3 AND u.month <= $2 AND u.line_id IN ( \
               SELECT line_id FROM usage_month WHERE municipality_id = $1 AND month = $2 AND bytes >= $4 \
               UNION SELECT line_id FROM escalation_case WHERE municipality_id = $1)",
            &[m.clone(), ms.clone(), V::T(Some(lo.to_string())), V::I(threshold)],
        )
        .await?;
    let mut hist: BTreeMap<i64, Vec<Option<i64>>> = BTreeMap::new();
    for r in &usage_rows {
        let line: i64 = r[0].parse().unwrap_or(0);
        let Ok(um) = r[1].parse::<YearMonth>() else { continue };
        let idx = lo.months_until(um) as usize;
        let h = hist.entry(line).or_insert_with(|| vec![None; window as usize]);
        if let Some(slot) = h.get_mut(idx) {
            *slot = r[2].parse().ok();
        }
    }
    for line in open.keys() {
        hist.entry(*line).or_insert_with(|| vec![None; window as usize]);
    }
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
        for (line, o) in &outcomes {
            let case = match o {
                Outcome::Opened => {
                    let r = tx
                        .rows(
                            "INSERT INTO escalation_case (municipality_id, line_id, opened_month) VALUES ($1, $2, $3) \
                             RETURNING id",
                            &[m.clone(), V::I(*line), ms.clone()],
                        )
                        .await?;
                    r[0][0].parse().unwrap_or(0)
                }
                _ => open.get(line).map(|(c, _)| *c).unwrap_or(0),
            };
            let bytes = bytes_of(*line);
            let ev = tx
                .rows(
                    "INSERT INTO escalation_event (municipality_id, case_id, line_id, month, kind, step, bytes) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                    &[
                        m.clone(),
                        V::I(case),
                        V::I(*line),
                        ms.clone(),
                        V::T(Some(o.kind().into())),
                        V::I(o.step() as i64),
                        V::O(bytes),
                    ],
                )
                .await?;
            let event: i64 = ev[0][0].parse().unwrap_or(0);
            if let Some(step) = o.step_taken() {
                let audience = p.steps.get(step as usize - 1).map(|s| s.notify.as_str()).unwrap_or("device");
                tx.exec(
                    "INSERT INTO work_item (municipality_id, event_id, case_id, line_id, school_id, month, step, audience) \
                     SELECT $1, $2, $3, l.id, l.school_id, $4, $5, $6 FROM line l WHERE l.id = $7",
                    &[
                        m.clone(),
                        V::I(event),
                        V::I(case),
                        ms.clone(),
                        V::I(step as i64),
                        V::T(Some(audience.into())),
                        V::I(*line),
                    ],
                )
                .await?;
            }
        }
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
