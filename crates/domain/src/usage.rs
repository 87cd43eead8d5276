//! LTE data usage (通信量): data volumes in bytes, the pooled contract, and the staged escalation
//! of heavy users (段階的な対応 ①→④) as a pure state machine.
//!
//! Source of the policy and its numbers: seed 003 (前橋市教育委員会, 「３ 報告（１）イ
//! 学習者用端末の運用状況（通信量）」): a pupil whose line used 200 GB or more in one month, or 100 GB
//! or more in two consecutive months, is escalated step by step — ① a caution message to the
//! tablet, ② a notice to the school, ③ a warning message, ④ Screen Time guidance to the parents —
//! from September 2022. GB = 10^9 bytes throughout.
//!
//! The rules implemented:
//! - a line meets the criteria in month M when its usage in M ≥ the single-month threshold, or
//!   its usage is ≥ the consecutive threshold in M and in each of the `consecutive_months − 1`
//!   months before M (以上: inclusive); a month without a usage row counts as not meeting;
//! - evaluating M: a line that meets the criteria and has no open case opens one at step ①; an open
//!   case moves one step on if the line still meets the criteria, or closes as improved if not; a
//!   case at the last step that still meets them stays (`continued`); an open case without a usage
//!   row for M is `missing` and does not move.

pub mod ratio;

use crate::calendar::YearMonth;
use std::collections::BTreeMap;

pub use ratio::RatioLevel;

/// Bytes in one GB (10^9, the carriers' decimal unit).
pub const BYTES_PER_GB: i64 = 1_000_000_000;
/// Bytes in one MB (10^6).
pub const BYTES_PER_MB: i64 = 1_000_000;

/// GB (10^9 bytes) as a float, for display and JSON (`57563.0`).
pub fn bytes_to_gb(bytes: i64) -> f64 {
    bytes as f64 / BYTES_PER_GB as f64
}

/// Whole GB → bytes (`200` → 200 × 10^9), saturating.
pub fn gb(gb: i64) -> i64 {
    gb.saturating_mul(BYTES_PER_GB)
}

/// The unit a volume column is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VolumeUnit {
    /// bytes (B, バイト).
    Bytes,
    /// kB = 10^3 bytes.
    Kb,
    /// MB = 10^6 bytes.
    Mb,
    /// GB = 10^9 bytes.
    Gb,
}

impl VolumeUnit {
    /// Bytes per unit.
    pub fn bytes(self) -> i64 {
        match self {
            VolumeUnit::Bytes => 1,
            VolumeUnit::Kb => 1_000,
            VolumeUnit::Mb => BYTES_PER_MB,
            VolumeUnit::Gb => BYTES_PER_GB,
        }
    }

    /// `B`, `KB`, `MB`, `GB`.
    pub fn label(self) -> &'static str {
        match self {
            VolumeUnit::Bytes => "B",
            VolumeUnit::Kb => "KB",
            VolumeUnit::Mb => "MB",
            VolumeUnit::Gb => "GB",
        }
    }

    /// Parses a unit name: `bytes`/`b`/`バイト`, `kb`, `mb`, `gb` (case-insensitive, full-width allowed).
    pub fn parse(s: &str) -> Option<Self> {
        let t: String =
            s.trim().chars().map(crate::calendar::fullwidth_to_ascii).flat_map(char::to_lowercase).collect();
        match t.as_str() {
            "b" | "byte" | "bytes" | "バイト" => Some(VolumeUnit::Bytes),
            "kb" | "kbyte" | "kbytes" | "キロバイト" => Some(VolumeUnit::Kb),
            "mb" | "mbyte" | "mbytes" | "メガバイト" => Some(VolumeUnit::Mb),
            "gb" | "gbyte" | "gbytes" | "ギガバイト" => Some(VolumeUnit::Gb),
            _ => None,
        }
    }
}

/// Why a volume text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VolumeError {
    #[error("数値ではありません")]
    NotANumber,
    #[error("負の値です")]
    Negative,
    #[error("大きすぎます")]
    TooLarge,
}

/// Parses a non-negative decimal volume written in `unit` into bytes, exactly (no floating point):
/// `"2.345"` GB → 2,345,000,000. Accepts thousands separators (`1,234.5`) and full-width digits;
/// digits beyond one byte are rounded half up. Errors: not a number (also exponent forms, `NaN`),
/// negative, or more than `i64::MAX` bytes.
pub fn parse_volume(s: &str, unit: VolumeUnit) -> Result<i64, VolumeError> {
    let t: String = s
        .trim()
        .chars()
        .map(crate::calendar::fullwidth_to_ascii)
        .map(|c| if c == '．' { '.' } else { c })
        .filter(|c| *c != ',' && *c != '，')
        .collect();
    let (negative, body) = match t.strip_prefix('-').or_else(|| t.strip_prefix('−')) {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(&t)),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(VolumeError::NotANumber);
    }
    let per = unit.bytes() as i128;
    let mut value: i128 = 0;
    for b in int.bytes() {
        value = value * 10 + (b - b'0') as i128;
        if value > i64::MAX as i128 {
            return Err(VolumeError::TooLarge);
        }
    }
    value *= per;
    // fraction: round(digits × per / 10^len) half up; 20 digits are far below one byte
    let frac = &frac[..frac.len().min(20)];
    if !frac.is_empty() {
        let num: i128 = frac.bytes().fold(0i128, |a, b| a * 10 + (b - b'0') as i128);
        let den: i128 = 10i128.pow(frac.len() as u32);
        value += (num * per * 2 / den + 1) / 2;
    }
    if value > i64::MAX as i128 {
        return Err(VolumeError::TooLarge);
    }
    if negative && value != 0 {
        return Err(VolumeError::Negative);
    }
    Ok(value as i64)
}

/// Who is told at a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// A message to the tablet (MDM bulk message): the work item is a list of device serials.
    Device,
    /// A notice to the school: the school's users see the case and get an e-mail.
    School,
    /// A letter to the parents, handed over through the school.
    Parents,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Device => "device",
            Audience::School => "school",
            Audience::Parents => "parents",
        }
    }
    pub fn label_ja(self) -> &'static str {
        match self {
            Audience::Device => "端末",
            Audience::School => "学校",
            Audience::Parents => "保護者",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "device" | "端末" | "tablet" | "タブレット" => Some(Audience::Device),
            "school" | "学校" => Some(Audience::School),
            "parents" | "parent" | "保護者" => Some(Audience::Parents),
            _ => None,
        }
    }
}

/// One step of the escalation (①, ②, …): its short name, what is done, who is told.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Step {
    pub name: String,
    pub action: String,
    pub notify: Audience,
}

/// A municipality's escalation policy. Volumes in bytes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EscalationPolicy {
    /// The first month evaluated; earlier months are never evaluated (their usage still counts
    /// for the consecutive-months rule).
    pub effective_from: YearMonthText,
    /// Single-month threshold (bytes): usage ≥ this in one month meets the criteria.
    pub single_month_bytes: i64,
    /// Consecutive threshold (bytes): usage ≥ this in `consecutive_months` months running.
    pub consecutive_bytes: i64,
    /// How many consecutive months (≥ 1) the consecutive threshold must be met, M included.
    pub consecutive_months: u32,
    /// The steps, in order; at least one, at most 9.
    pub steps: Vec<Step>,
}

/// A month kept as `YYYY-MM` text in serialised policies (TOML/JSON), parsed when used.
pub type YearMonthText = String;

/// Why a policy is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("適用開始月「{0}」は年月ではありません（例: 2022-09）")]
    EffectiveFrom(String),
    #[error("しきい値は 0 より大きくしてください")]
    Threshold,
    #[error("連続月数は 1〜12 にしてください")]
    Months,
    #[error("段階は 1〜9 個にしてください")]
    Steps,
}

impl EscalationPolicy {
    /// 前橋市's policy (seed 003): from 2022-09, ≥ 200 GB in one month or ≥ 100 GB in two
    /// consecutive months; steps ① caution message to the tablet, ② notice to the school,
    /// ③ warning message to the tablet, ④ Screen Time guidance to the parents.
    pub fn maebashi() -> Self {
        let step = |name: &str, action: &str, notify| Step { name: name.into(), action: action.into(), notify };
        EscalationPolicy {
            effective_from: "2022-09".into(),
            single_month_bytes: gb(200),
            consecutive_bytes: gb(100),
            consecutive_months: 2,
            steps: vec![
                step("注意喚起メッセージ", "注意喚起のメッセージをタブレットに送信", Audience::Device),
                step("学校への通知", "学校への通知", Audience::School),
                step("警告メッセージ", "警告的メッセージをタブレットに送信", Audience::Device),
                step(
                    "スクリーンタイムの案内",
                    "保護者に対し、スクリーンタイム（iPadの利用制限機能）の案内",
                    Audience::Parents,
                ),
            ],
        }
    }

    /// Checks the policy; returns its effective-from month.
    pub fn validate(&self) -> Result<YearMonth, PolicyError> {
        let from = self
            .effective_from
            .parse::<YearMonth>()
            .map_err(|_| PolicyError::EffectiveFrom(self.effective_from.clone()))?;
        if self.single_month_bytes <= 0 || self.consecutive_bytes <= 0 {
            return Err(PolicyError::Threshold);
        }
        if !(1..=12).contains(&self.consecutive_months) {
            return Err(PolicyError::Months);
        }
        if self.steps.is_empty() || self.steps.len() > 9 {
            return Err(PolicyError::Steps);
        }
        Ok(from)
    }

    /// The effective-from month (`2022-09` for Maebashi). Panics never: an invalid text (which
    /// [`EscalationPolicy::validate`] refuses) falls back to 2022-09.
    pub fn effective_month(&self) -> YearMonth {
        self.effective_from.parse().unwrap_or_else(|_| YearMonth::new(2022, 9).expect("valid month"))
    }

    /// Number of steps.
    pub fn step_count(&self) -> u8 {
        self.steps.len() as u8
    }

    /// Months of usage the rule looks at for month M: M and the months before it that the
    /// consecutive rule counts (`consecutive_months`, at least 1).
    pub fn window(&self) -> usize {
        self.consecutive_months.max(1) as usize
    }

    /// Whether a line meets the criteria in month M. `history` is the usage of the last
    /// [`EscalationPolicy::window`] months, oldest first, **ending with M** (`None` = no row);
    /// a shorter history is padded with `None` at the old end.
    pub fn meets_criteria(&self, history: &[Option<i64>]) -> bool {
        let Some(Some(current)) = history.last() else {
            return false;
        };
        if *current >= self.single_month_bytes {
            return true;
        }
        let k = self.window();
        if history.len() < k {
            return false;
        }
        history[history.len() - k..].iter().all(|u| matches!(u, Some(b) if *b >= self.consecutive_bytes))
    }
}

/// What one line's case state is before month M is evaluated, and its usage window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineMonth {
    /// The line (any id the caller uses).
    pub line: i64,
    /// Usage of the window months, oldest first, ending with M ([`EscalationPolicy::meets_criteria`]).
    pub history: Vec<Option<i64>>,
    /// The step of the line's open case (1-based), if it has one.
    pub open_step: Option<u8>,
}

/// What happened to one line in the evaluated month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// A new case at step 1.
    Opened,
    /// The case moved from `to − 1` to step `to`.
    Advanced { to: u8 },
    /// The case was at the last step `step` and still meets the criteria: it stays.
    Continued { step: u8 },
    /// The case was at `step` and no longer meets the criteria: closed as improved.
    Improved { step: u8 },
    /// The case is at `step` and the line has no usage row for the month: it does not move.
    Missing { step: u8 },
}

impl Outcome {
    /// `opened`, `advanced`, `continued`, `improved`, `missing`.
    pub fn kind(self) -> &'static str {
        match self {
            Outcome::Opened => "opened",
            Outcome::Advanced { .. } => "advanced",
            Outcome::Continued { .. } => "continued",
            Outcome::Improved { .. } => "improved",
            Outcome::Missing { .. } => "missing",
        }
    }

    /// The step the case is at after the month (for `improved`: the step it closed at).
    pub fn step(self) -> u8 {
        match self {
            Outcome::Opened => 1,
            Outcome::Advanced { to } => to,
            Outcome::Continued { step } | Outcome::Improved { step } | Outcome::Missing { step } => step,
        }
    }

    /// The step taken in the month (steps.N of the report): 1 for opened, `to` for advanced.
    pub fn step_taken(self) -> Option<u8> {
        match self {
            Outcome::Opened => Some(1),
            Outcome::Advanced { to } => Some(to),
            _ => None,
        }
    }

    /// Rebuilds an outcome from its stored kind and step; `None` for an unknown kind or step 0.
    pub fn from_parts(kind: &str, step: u8) -> Option<Self> {
        if step == 0 {
            return None;
        }
        Some(match kind {
            "opened" if step == 1 => Outcome::Opened,
            "advanced" if step >= 2 => Outcome::Advanced { to: step },
            "continued" => Outcome::Continued { step },
            "improved" => Outcome::Improved { step },
            "missing" => Outcome::Missing { step },
            _ => return None,
        })
    }

    /// Whether the case is still open after this outcome.
    pub fn is_open(self) -> bool {
        !matches!(self, Outcome::Improved { .. })
    }
}

/// Evaluates one line for the month: `None` when nothing happens (no open case, criteria not met).
pub fn evaluate_line(policy: &EscalationPolicy, line: &LineMonth) -> Option<Outcome> {
    let meets = policy.meets_criteria(&line.history);
    let last = policy.step_count().max(1);
    match line.open_step {
        None => meets.then_some(Outcome::Opened),
        Some(step) if !matches!(line.history.last(), Some(Some(_))) => Some(Outcome::Missing { step }),
        Some(step) if !meets => Some(Outcome::Improved { step }),
        Some(step) if step >= last => Some(Outcome::Continued { step: last }),
        Some(step) => Some(Outcome::Advanced { to: step + 1 }),
    }
}

/// Evaluates a month for a set of lines: the lines with an open case and the lines that might meet
/// the criteria (others may be left out; they produce nothing). Returns `(line, outcome)` in the
/// order of `lines`.
pub fn evaluate_month(policy: &EscalationPolicy, lines: &[LineMonth]) -> Vec<(i64, Outcome)> {
    lines.iter().filter_map(|l| evaluate_line(policy, l).map(|o| (l.line, o))).collect()
}

/// One recorded outcome: which case, in which month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseEvent {
    pub case: i64,
    pub month: YearMonth,
    pub outcome: Outcome,
}

/// The escalation results of one month (JSON contract: `steps.N` counts the cases
/// that took step N in the month — step 1 = the new cases).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MonthSummary {
    pub month: String,
    pub new_cases: i64,
    pub steps: BTreeMap<String, i64>,
    pub improved: i64,
    pub continued: i64,
    pub missing_data: i64,
}

/// The cases that opened in one month and how far they went (JSON contract):
/// `reached.N` = cases that reached step N (N ≥ 2), `improved_after.N` = cases closed as improved
/// while at step N.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CohortSummary {
    pub cohort: String,
    pub entered: i64,
    pub reached: BTreeMap<String, i64>,
    pub improved_after: BTreeMap<String, i64>,
}

/// Counts per month for `months` (each month listed, zeros included), with `steps` keys 1..=n.
pub fn month_summaries(events: &[CaseEvent], months: &[YearMonth], step_count: u8) -> Vec<MonthSummary> {
    months
        .iter()
        .map(|&m| {
            let mut s = MonthSummary {
                month: m.to_string(),
                new_cases: 0,
                steps: (1..=step_count).map(|n| (n.to_string(), 0)).collect(),
                improved: 0,
                continued: 0,
                missing_data: 0,
            };
            for e in events.iter().filter(|e| e.month == m) {
                if let Some(n) = e.outcome.step_taken() {
                    *s.steps.entry(n.to_string()).or_insert(0) += 1;
                }
                match e.outcome {
                    Outcome::Opened => s.new_cases += 1,
                    Outcome::Improved { .. } => s.improved += 1,
                    Outcome::Continued { .. } => s.continued += 1,
                    Outcome::Missing { .. } => s.missing_data += 1,
                    Outcome::Advanced { .. } => {}
                }
            }
            s
        })
        .collect()
}

/// Counts per cohort (the month a case opened) for the cohorts in `months`, counting only events
/// up to the last of `months`; `reached` keys 2..=n, `improved_after` keys 1..=n.
pub fn cohort_summaries(events: &[CaseEvent], months: &[YearMonth], step_count: u8) -> Vec<CohortSummary> {
    let last = months.iter().max().copied();
    let mut opened: BTreeMap<i64, YearMonth> = BTreeMap::new();
    for e in events {
        if e.outcome == Outcome::Opened {
            opened.insert(e.case, e.month);
        }
    }
    months
        .iter()
        .map(|&m| {
            let mut c = CohortSummary {
                cohort: m.to_string(),
                entered: 0,
                reached: (2..=step_count).map(|n| (n.to_string(), 0)).collect(),
                improved_after: (1..=step_count).map(|n| (n.to_string(), 0)).collect(),
            };
            for e in events.iter().filter(|e| opened.get(&e.case) == Some(&m) && Some(e.month) <= last) {
                match e.outcome {
                    Outcome::Opened => c.entered += 1,
                    Outcome::Advanced { to } => *c.reached.entry(to.to_string()).or_insert(0) += 1,
                    Outcome::Improved { step } => *c.improved_after.entry(step.to_string()).or_insert(0) += 1,
                    _ => {}
                }
            }
            c
        })
        .collect()
}

/// Most months one usage or escalation report covers, on the web and in the CLI alike (two
/// fiscal years; a longer range would read every month's usage of every line at once).
pub const MAX_REPORT_MONTHS: i32 = 24;

/// The range of a usage or escalation report checked: `to` not before `from`, and at most
/// [`MAX_REPORT_MONTHS`] months from `from` to `to`, both included.
///
/// Errors: the Japanese message for the user, naming the limit.
pub fn report_range(from: YearMonth, to: YearMonth) -> Result<(YearMonth, YearMonth), String> {
    if to < from {
        return Err(format!("終了月（{to}）は開始月（{from}）以降にしてください"));
    }
    let months = from.months_until(to) + 1;
    if months > MAX_REPORT_MONTHS {
        return Err(format!("期間は{MAX_REPORT_MONTHS}か月以内にしてください（{from}〜{to} は{months}か月です）"));
    }
    Ok((from, to))
}

#[cfg(test)]
mod tests {
    #[test]
    fn report_ranges_are_at_most_24_months() {
        let ym = |y, m| YearMonth::new(y, m).unwrap();
        assert!(report_range(ym(2022, 4), ym(2024, 3)).is_ok());
        let e = report_range(ym(2022, 4), ym(2024, 4)).unwrap_err();
        assert_eq!(e, "期間は24か月以内にしてください（2022-04〜2024-04 は25か月です）");
        assert!(report_range(ym(2022, 5), ym(2022, 4)).unwrap_err().contains("以降にしてください"));
    }

    use super::*;
    use proptest::prelude::*;

    fn ym(s: &str) -> YearMonth {
        s.parse().unwrap()
    }

    #[test]
    fn volumes_parse_exactly() {
        assert_eq!(parse_volume("2.345", VolumeUnit::Gb), Ok(2_345_000_000));
        assert_eq!(parse_volume("57,563", VolumeUnit::Gb), Ok(57_563 * BYTES_PER_GB));
        assert_eq!(parse_volume("１２３．５", VolumeUnit::Mb), Ok(123_500_000));
        assert_eq!(parse_volume("0.0000000005", VolumeUnit::Gb), Ok(1), "half a byte rounds up");
        assert_eq!(parse_volume("0.0000000004", VolumeUnit::Gb), Ok(0));
        assert_eq!(parse_volume("1.5", VolumeUnit::Bytes), Ok(2));
        assert_eq!(parse_volume("12", VolumeUnit::Bytes), Ok(12));
        assert_eq!(parse_volume(".5", VolumeUnit::Kb), Ok(500));
        assert_eq!(parse_volume("-1", VolumeUnit::Gb), Err(VolumeError::Negative));
        assert_eq!(parse_volume("-0", VolumeUnit::Gb), Ok(0));
        assert_eq!(parse_volume("abc", VolumeUnit::Gb), Err(VolumeError::NotANumber));
        assert_eq!(parse_volume("1e3", VolumeUnit::Gb), Err(VolumeError::NotANumber));
        assert_eq!(parse_volume("", VolumeUnit::Gb), Err(VolumeError::NotANumber));
        assert_eq!(parse_volume(".", VolumeUnit::Gb), Err(VolumeError::NotANumber));
        assert_eq!(parse_volume("99999999999", VolumeUnit::Gb), Err(VolumeError::TooLarge));
        assert_eq!(bytes_to_gb(gb(57_563)), 57_563.0);
    }

    #[test]
    fn maebashi_policy_thresholds_are_inclusive() {
        let p = EscalationPolicy::maebashi();
        assert_eq!(p.validate(), Ok(ym("2022-09")));
        assert_eq!(p.step_count(), 4);
        assert!(p.meets_criteria(&[None, Some(gb(200))]), "200 GB in one month: 以上");
        assert!(!p.meets_criteria(&[None, Some(gb(200) - 1)]));
        assert!(p.meets_criteria(&[Some(gb(100)), Some(gb(100))]), "100 GB two months running: 以上");
        assert!(!p.meets_criteria(&[Some(gb(100) - 1), Some(gb(150))]));
        assert!(!p.meets_criteria(&[None, Some(gb(150))]), "no row for the previous month");
        assert!(!p.meets_criteria(&[Some(gb(300)), None]), "no row for M");
        assert!(!p.meets_criteria(&[Some(gb(150))]), "a short history cannot satisfy two months");
        assert!(p.meets_criteria(&[Some(gb(250))]));
        let three = EscalationPolicy { consecutive_months: 3, ..p.clone() };
        assert!(three.meets_criteria(&[Some(gb(100)), Some(gb(120)), Some(gb(110))]));
        assert!(!three.meets_criteria(&[Some(gb(99)), Some(gb(120)), Some(gb(110))]));
        assert_eq!(EscalationPolicy { consecutive_months: 0, ..p.clone() }.validate(), Err(PolicyError::Months));
        assert_eq!(EscalationPolicy { steps: vec![], ..p.clone() }.validate(), Err(PolicyError::Steps));
        assert_eq!(EscalationPolicy { single_month_bytes: 0, ..p }.validate(), Err(PolicyError::Threshold));
    }

    #[test]
    fn one_line_through_every_outcome() {
        let p = EscalationPolicy::maebashi();
        let l = |h: Vec<Option<i64>>, open_step| LineMonth { line: 7, history: h, open_step };
        let heavy = vec![Some(gb(10)), Some(gb(210))];
        let light = vec![Some(gb(210)), Some(gb(3))];
        assert_eq!(evaluate_line(&p, &l(heavy.clone(), None)), Some(Outcome::Opened));
        assert_eq!(evaluate_line(&p, &l(light.clone(), None)), None);
        assert_eq!(evaluate_line(&p, &l(heavy.clone(), Some(1))), Some(Outcome::Advanced { to: 2 }));
        assert_eq!(evaluate_line(&p, &l(heavy.clone(), Some(4))), Some(Outcome::Continued { step: 4 }));
        assert_eq!(evaluate_line(&p, &l(light, Some(3))), Some(Outcome::Improved { step: 3 }));
        assert_eq!(evaluate_line(&p, &l(vec![Some(gb(300)), None], Some(2))), Some(Outcome::Missing { step: 2 }));
        assert_eq!(evaluate_line(&p, &l(vec![Some(gb(300)), None], None)), None);
    }

    /// Seed 003's published results as a simulation: 16 open in September; in October 5 of them
    /// improve and 11 move to ②, 5 new; and so on. The counts per month and cohort come out.
    #[test]
    fn the_seed_results_follow_from_the_rules() {
        let p = EscalationPolicy::maebashi();
        // cohort → months (from the cohort's month) the line keeps meeting the criteria
        let plan: &[(&str, &[usize])] = &[
            ("2022-09", &[5, 8, 1, 2]), // 16: 5 stop after 1 month, 8 after 2, 1 after 3, 2 after 4+
            ("2022-10", &[1, 2, 2]),    // 5: 1, 2, 2
            ("2022-11", &[13, 5]),      // 18
            ("2022-12", &[14]),         // 14
        ];
        let months: Vec<YearMonth> = ["2022-09", "2022-10", "2022-11", "2022-12"].iter().map(|s| ym(s)).collect();
        // lines: (first heavy month index, number of heavy months)
        let mut lines: Vec<(usize, usize)> = Vec::new();
        for (cohort, groups) in plan {
            let start = months.iter().position(|m| *m == ym(cohort)).unwrap();
            for (i, n) in groups.iter().enumerate() {
                lines.extend(std::iter::repeat_n((start, i + 1), *n));
            }
        }
        let mut open: Vec<Option<(i64, u8)>> = vec![None; lines.len()];
        let mut events = Vec::new();
        let mut next_case = 1;
        for (mi, &m) in months.iter().enumerate() {
            let input: Vec<LineMonth> = lines
                .iter()
                .enumerate()
                .map(|(i, &(start, len))| {
                    let heavy = mi >= start && mi < start + len;
                    LineMonth {
                        line: i as i64,
                        history: vec![Some(gb(1)), Some(if heavy { gb(250) } else { gb(2) })],
                        open_step: open[i].map(|(_, s)| s),
                    }
                })
                .collect();
            for (line, o) in evaluate_month(&p, &input) {
                let i = line as usize;
                let case = match o {
                    Outcome::Opened => {
                        next_case += 1;
                        next_case
                    }
                    _ => open[i].unwrap().0,
                };
                open[i] = o.is_open().then_some((case, o.step()));
                events.push(CaseEvent { case, month: m, outcome: o });
            }
        }
        let s = month_summaries(&events, &months, 4);
        let steps = |i: usize| s[i].steps.values().copied().collect::<Vec<_>>();
        assert_eq!((s[0].new_cases, steps(0), s[0].improved), (16, vec![16, 0, 0, 0], 0));
        assert_eq!((s[1].new_cases, steps(1), s[1].improved), (5, vec![5, 11, 0, 0], 5));
        assert_eq!((s[2].new_cases, steps(2), s[2].improved), (18, vec![18, 4, 3, 0], 9));
        assert_eq!((s[3].new_cases, steps(3), s[3].improved), (14, vec![14, 5, 2, 2], 16));
        let c = cohort_summaries(&events, &months, 4);
        assert_eq!(c[0].entered, 16);
        assert_eq!(c[0].reached.values().copied().collect::<Vec<_>>(), vec![11, 3, 2]);
        assert_eq!(c[0].improved_after.values().copied().collect::<Vec<_>>(), vec![5, 8, 1, 0]);
        assert_eq!(c[1].improved_after.values().copied().collect::<Vec<_>>(), vec![1, 2, 0, 0]);
        assert_eq!(c[2].improved_after["1"], 13);
        assert_eq!(c[3].entered, 14);
    }

    fn usage() -> impl Strategy<Value = Option<i64>> {
        prop_oneof![
            1 => Just(None),
            3 => (0i64..400).prop_map(|g| Some(gb(g))),
            1 => prop_oneof![Just(Some(gb(100))), Just(Some(gb(200))), Just(Some(gb(100) - 1))],
        ]
    }

    proptest! {
        /// Over random usage, a case never skips a step, never passes the last, and the same input
        /// always gives the same outcome.
        #[test]
        fn cases_move_one_step_at_a_time(
            series in proptest::collection::vec(usage(), 1..24),
            months in 1u32..4,
            steps in 1usize..6,
        ) {
            let mut p = EscalationPolicy::maebashi();
            p.consecutive_months = months;
            p.steps = (0..steps).map(|_| p.steps[0].clone()).collect();
            let mut open: Option<u8> = None;
            for i in 0..series.len() {
                let from = (i + 1).saturating_sub(p.window());
                let history: Vec<Option<i64>> = series[from..=i].to_vec();
                let line = LineMonth { line: 1, history: history.clone(), open_step: open };
                let o = evaluate_line(&p, &line);
                prop_assert_eq!(o, evaluate_line(&p, &line), "deterministic");
                match (open, o) {
                    (None, Some(Outcome::Opened)) => prop_assert!(p.meets_criteria(&history)),
                    (None, None) => prop_assert!(!p.meets_criteria(&history)),
                    (Some(s), Some(Outcome::Advanced { to })) => {
                        prop_assert_eq!(to, s + 1);
                        prop_assert!(to as usize <= steps);
                    }
                    (Some(s), Some(Outcome::Continued { step })) => {
                        prop_assert_eq!(s as usize, steps);
                        prop_assert_eq!(step, s);
                    }
                    (Some(s), Some(Outcome::Improved { step })) => {
                        prop_assert_eq!(step, s);
                        prop_assert!(!p.meets_criteria(&history));
                    }
                    (Some(s), Some(Outcome::Missing { step })) => {
                        prop_assert_eq!(step, s);
                        prop_assert!(series[i].is_none());
                    }
                    (a, b) => prop_assert!(false, "impossible transition {:?} → {:?}", a, b),
                }
                if let Some(o) = o {
                    open = o.is_open().then_some(o.step());
                }
            }
        }

        /// Thresholds are inclusive: exactly the single threshold meets, one byte less does not.
        #[test]
        fn single_threshold_is_inclusive(t in 1i64..1_000_000_000_000, prev in proptest::option::of(0i64..50)) {
            let p = EscalationPolicy { single_month_bytes: t, consecutive_bytes: i64::MAX, ..EscalationPolicy::maebashi() };
            let prev = prev.map(gb);
            prop_assert!(p.meets_criteria(&[prev, Some(t)]));
            prop_assert!(!p.meets_criteria(&[prev, Some(t - 1)]));
        }

        /// Parsing a volume written from a byte count gives the byte count back, in every unit.
        #[test]
        fn volume_text_round_trips(bytes in 0i64..i64::MAX / 2) {
            for unit in [VolumeUnit::Bytes, VolumeUnit::Kb, VolumeUnit::Mb, VolumeUnit::Gb] {
                let per = unit.bytes();
                let text = if per == 1 { bytes.to_string() } else {
                    let digits = per.to_string().len() - 1;
                    format!("{}.{:0w$}", bytes / per, bytes % per, w = digits)
                };
                prop_assert_eq!(parse_volume(&text, unit), Ok(bytes), "{}", text);
            }
        }

        #[test]
        fn volume_parser_never_panics(s in "\\PC{0,40}") {
            let _ = parse_volume(&s, VolumeUnit::Gb);
            let _ = parse_volume(&s, VolumeUnit::Bytes);
        }
    }
}
