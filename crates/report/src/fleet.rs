//! 「学習者用端末の運用状況」: monthly incidents and spare stock per model group for one 年度
//! (Maebashi's report, seed 003). The JSON shape of [`FleetReport`] is a contract (issue 2).

use serde::Serialize;

/// The report for one fiscal year. Serialises to the issue-2 JSON contract:
/// `{"fiscal_year":2022,"groups":[{"model_group":…,"deployed":…,"spares_start":…,"months":[…],
/// "total":…,"previous_year_total":…,"incident_rate":…,"spares_exhausted_in":"YYYY-MM"|null}]}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FleetReport {
    /// 年度, e.g. 2022 for 令和4年度 (April 2022 – March 2023).
    pub fiscal_year: i32,
    /// One entry per model group with learner devices, ordered by group label.
    pub groups: Vec<GroupReport>,
}

/// One model group (e.g. `iPad（小中）`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupReport {
    pub model_group: String,
    /// 配置済台数: learner devices of the group with status deployed on the fiscal year's first day
    /// (1 April), or, if none were registered yet, on the year's last recorded day.
    pub deployed: i64,
    /// Spares (status spare) at the end of the day before the fiscal year (31 March).
    pub spares_start: i64,
    /// All twelve months, April … March.
    pub months: Vec<MonthRow>,
    /// Incidents in the fiscal year.
    pub total: i64,
    /// Incidents in the previous fiscal year.
    pub previous_year_total: i64,
    /// total ÷ deployed, rounded to 3 decimals in JSON; `null` when nothing is deployed.
    #[serde(serialize_with = "round3")]
    pub incident_rate: Option<f64>,
    /// `YYYY-MM` when the spare pool runs out at the trailing six-month rate, `null` when it lasts
    /// (rule: [`gigaops_domain::fleet::spares_exhausted_in`]).
    pub spares_exhausted_in: Option<String>,
}

/// One month of one group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonthRow {
    /// `YYYY-MM`.
    pub month: String,
    pub damage: i64,
    pub fault: i64,
    pub loss: i64,
    pub theft: i64,
    /// damage + fault + loss + theft.
    pub total: i64,
    /// 保守残数: devices of the group whose status is spare at the end of the month's last day.
    pub spare_remaining: i64,
}

fn round3<S: serde::Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(x) => s.serialize_f64((x * 1000.0).round() / 1000.0),
        None => s.serialize_none(),
    }
}
