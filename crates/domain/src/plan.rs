//! The ICT promotion plan (学校教育情報化推進計画) and its yearly evaluation (PDCA).
//!
//! Hierarchy, as in Sendai's 資料4-1 (seed 000): 基本方針 (policy `1`) → 施策 (measure `1-(1)`) →
//! 取組項目 (initiative `1-(1)-①`) → 目標 (goal `1-(1)-①-A`). [`PlanCode`] parses and prints these
//! codes; they are the stable identifiers of a plan's items. A goal's entry for one 年度 carries a
//! [`Status`] (新規/継続/拡充) and a [`Grade`] (◎ ○ △ or not graded); Chuo City's R7–R11 schedule
//! (seed 004) adds [`ScheduleBar`]s over months and a [`KpiDirection`] per goal.

use crate::calendar::{fullwidth_to_ascii, FiscalYear, YearMonth};
use std::fmt;

/// Circled numbers ① … ⑳ (U+2460 … U+2473), the initiative numbers of 資料4-1.
const CIRCLED_FIRST: u32 = 0x2460;
/// The largest initiative number a code can carry (⑳).
pub const MAX_CIRCLED: u8 = 20;

/// The circled form of `n` (1 → `①`, 20 → `⑳`); `None` outside 1..=20.
pub fn circled(n: u8) -> Option<char> {
    (1..=MAX_CIRCLED).contains(&n).then(|| char::from_u32(CIRCLED_FIRST + u32::from(n) - 1)).flatten()
}

/// The number of a circled digit (`③` → 3); `None` for any other character.
pub fn uncircled(c: char) -> Option<u8> {
    let v = c as u32;
    (CIRCLED_FIRST..CIRCLED_FIRST + u32::from(MAX_CIRCLED)).contains(&v).then(|| (v - CIRCLED_FIRST + 1) as u8)
}

/// The level of a plan item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// 基本方針, e.g. `1`.
    Policy,
    /// 施策, e.g. `1-(1)`.
    Measure,
    /// 取組項目, e.g. `1-(1)-①`.
    Initiative,
    /// 目標, e.g. `1-(1)-①-A`.
    Goal,
}

impl Level {
    /// 基本方針 / 施策 / 取組項目 / 目標.
    pub fn label_ja(self) -> &'static str {
        match self {
            Level::Policy => "基本方針",
            Level::Measure => "施策",
            Level::Initiative => "取組項目",
            Level::Goal => "目標",
        }
    }
}

/// The code of a plan item: policy number (1–99), then optionally measure number (1–99),
/// initiative number (1–20, written ①…⑳) and goal letter (A–Z), each present only if the previous
/// one is. Ordered as in the document (1 < 1-(1) < 1-(1)-① < 1-(1)-①-A < 1-(1)-② < 1-(2) < 2).
///
/// Text form: `1`, `1-(1)`, `1-(1)-①`, `1-(1)-①-A` ([`PlanCode::parse`], `Display`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PlanCode {
    policy: u8,
    measure: Option<u8>,
    initiative: Option<u8>,
    goal: Option<char>,
}

/// Why a text is not a plan code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("「{0}」は計画の項目コードではありません（例: 1、1-(1)、1-(1)-①、1-(1)-①-A）")]
pub struct PlanCodeError(pub String);

impl PlanCode {
    /// A policy code `n` (1–99); `None` outside that range.
    pub fn policy(n: u8) -> Option<Self> {
        (1..=99).contains(&n).then_some(PlanCode { policy: n, measure: None, initiative: None, goal: None })
    }

    /// Parses a code. Accepts the document's full-width forms (`１－(1)－①`, `１－（１）－①`), spaces
    /// around the dashes, `‐ − – —` as dashes, a lower-case or full-width goal letter (`ａ`), and a
    /// goal letter followed by `.` or `．` (`A.`, as some 資料 rows write it).
    ///
    /// Errors: [`PlanCodeError`] for anything else (a number out of range, a missing level, a
    /// goal without initiative, trailing text).
    pub fn parse(s: &str) -> Result<Self, PlanCodeError> {
        let bad = || PlanCodeError(s.trim().to_string());
        let norm: String = s
            .trim()
            .chars()
            .map(fullwidth_to_ascii)
            .map(|c| match c {
                '（' => '(',
                '）' => ')',
                '‐' | '−' | '–' | '—' | 'ー' | '－' => '-',
                c => c,
            })
            .filter(|c| !c.is_whitespace())
            .collect();
        let norm = norm.trim_end_matches('.').trim_end_matches('．');
        let mut parts = norm.split('-');
        let number = |t: &str, max: u8| -> Option<u8> {
            (!t.is_empty() && t.len() <= 2 && t.bytes().all(|b| b.is_ascii_digit()))
                .then(|| t.parse::<u8>().ok())
                .flatten()
                .filter(|n| (1..=max).contains(n))
        };
        let policy = number(parts.next().ok_or_else(bad)?, 99).ok_or_else(bad)?;
        let mut code = PlanCode { policy, measure: None, initiative: None, goal: None };
        if let Some(m) = parts.next() {
            let inner = m.strip_prefix('(').and_then(|r| r.strip_suffix(')')).ok_or_else(bad)?;
            code.measure = Some(number(inner, 99).ok_or_else(bad)?);
        }
        if let Some(i) = parts.next() {
            let mut chars = i.chars();
            let n = chars.next().and_then(uncircled).ok_or_else(bad)?;
            if chars.next().is_some() {
                return Err(bad());
            }
            code.initiative = Some(n);
        }
        if let Some(g) = parts.next() {
            let mut chars = g.chars();
            let letter =
                chars.next().map(|c| c.to_ascii_uppercase()).filter(char::is_ascii_uppercase).ok_or_else(bad)?;
            if chars.next().is_some() {
                return Err(bad());
            }
            code.goal = Some(letter);
        }
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(code)
    }

    /// The level of the item the code names.
    pub fn level(self) -> Level {
        match (self.measure, self.initiative, self.goal) {
            (None, _, _) => Level::Policy,
            (Some(_), None, _) => Level::Measure,
            (Some(_), Some(_), None) => Level::Initiative,
            (Some(_), Some(_), Some(_)) => Level::Goal,
        }
    }

    /// The code one level up (`1-(1)-①-A` → `1-(1)-①`); `None` for a policy.
    pub fn parent(self) -> Option<Self> {
        let mut p = self;
        if p.goal.take().is_some() || p.initiative.take().is_some() || p.measure.take().is_some() {
            Some(p)
        } else {
            None
        }
    }

    /// The code of the ancestor (or self) at `level`; `None` if `level` is below the code's own.
    pub fn at(self, level: Level) -> Option<Self> {
        let mut c = self;
        while c.level() > level {
            c = c.parent()?;
        }
        (c.level() == level).then_some(c)
    }

    /// The child code `letter` under an initiative (`1-(1)-①` + `B` → `1-(1)-①-B`); `None` unless
    /// `self` is an initiative and `letter` is A–Z (lower case accepted).
    pub fn goal(self, letter: char) -> Option<Self> {
        let l = fullwidth_to_ascii(letter).to_ascii_uppercase();
        (self.level() == Level::Initiative && l.is_ascii_uppercase()).then_some(PlanCode { goal: Some(l), ..self })
    }

    /// Policy number.
    pub fn policy_number(self) -> u8 {
        self.policy
    }

    /// Goal letter, for a goal code.
    pub fn goal_letter(self) -> Option<char> {
        self.goal
    }
}

impl fmt::Display for PlanCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.policy)?;
        if let Some(m) = self.measure {
            write!(f, "-({m})")?;
        }
        if let Some(i) = self.initiative.and_then(circled) {
            write!(f, "-{i}")?;
        }
        if let Some(g) = self.goal {
            write!(f, "-{g}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for PlanCode {
    type Err = PlanCodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// 評価 of a goal's year: ◎ excellent, ○ good, △ insufficient, or not graded (`-`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grade {
    /// ◎ (U+25CE).
    Excellent,
    /// ○ (U+25CB); ◯ (U+25EF) and 〇 (U+3007) mean the same (seed 000 mixes them).
    Good,
    /// △ (U+25B3).
    Insufficient,
    /// Not graded: `-`, `‐`, `ー`, `—` or an empty cell.
    Ungraded,
}

impl Grade {
    /// All grades, in the order of the summary columns.
    pub const ALL: [Grade; 4] = [Grade::Excellent, Grade::Good, Grade::Insufficient, Grade::Ungraded];

    /// Normalises a 評価 cell. `◎`; `○` `◯` `〇` (also `o`/`O` never: they are letters); `△` (and
    /// `▲`); `-` `‐` `‑` `−` `–` `—` `ー` `－` or empty → ungraded; the English codes
    /// (`excellent`, `good`, `insufficient`, `ungraded`) too. Surrounding whitespace is ignored.
    /// `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        let t = s.trim();
        match t {
            "◎" | "excellent" => Some(Grade::Excellent),
            "○" | "◯" | "〇" | "good" => Some(Grade::Good),
            "△" | "▲" | "insufficient" => Some(Grade::Insufficient),
            "" | "-" | "‐" | "‑" | "−" | "–" | "—" | "ー" | "－" | "ungraded" => Some(Grade::Ungraded),
            _ => None,
        }
    }

    /// The canonical symbol: `◎`, `○` (U+25CB), `△`, and `-` for ungraded.
    pub fn symbol(self) -> &'static str {
        match self {
            Grade::Excellent => "◎",
            Grade::Good => "○",
            Grade::Insufficient => "△",
            Grade::Ungraded => "-",
        }
    }

    /// The JSON / database code: `excellent`, `good`, `insufficient`, `ungraded`.
    pub fn as_str(self) -> &'static str {
        match self {
            Grade::Excellent => "excellent",
            Grade::Good => "good",
            Grade::Insufficient => "insufficient",
            Grade::Ungraded => "ungraded",
        }
    }

    /// Japanese label for summaries: 十分達成 (◎) / 達成 (○) / 不十分 (△) / 評価なし.
    pub fn label_ja(self) -> &'static str {
        match self {
            Grade::Excellent => "◎",
            Grade::Good => "○",
            Grade::Insufficient => "△",
            Grade::Ungraded => "評価なし",
        }
    }
}

/// Most characters (Unicode scalar values, after trimming) of a comment on a plan entry.
pub const MAX_COMMENT_CHARS: usize = 2_000;

/// A comment's text as stored: trimmed, not empty, at most [`MAX_COMMENT_CHARS`] characters.
///
/// Errors: the Japanese message for the user (`コメントを入力してください`, or one naming the limit).
pub fn comment_text(body: &str) -> Result<&str, String> {
    let text = body.trim();
    if text.is_empty() {
        return Err("コメントを入力してください".into());
    }
    let n = text.chars().count();
    if n > MAX_COMMENT_CHARS {
        return Err(format!("コメントは{MAX_COMMENT_CHARS}文字以内で入力してください（{n}文字あります）"));
    }
    Ok(text)
}

/// Most characters (Unicode scalar values, after trimming) of a plan's note.
pub const MAX_NOTE_CHARS: usize = 500;

/// A plan's note (計画の注記, e.g. that the plan is another city's, shown for illustration) as
/// stored: trimmed; empty = no note (`None`); at most [`MAX_NOTE_CHARS`] characters.
///
/// Errors: the Japanese message for the user, naming the limit.
pub fn note_text(text: &str) -> Result<Option<&str>, String> {
    let text = text.trim();
    let n = text.chars().count();
    if n > MAX_NOTE_CHARS {
        return Err(format!("計画の注記は{MAX_NOTE_CHARS}文字以内で入力してください（{n}文字あります）"));
    }
    Ok(Some(text).filter(|t| !t.is_empty()))
}

/// What a 評価 cell may hold, for error messages.
pub const GRADE_EXPECTED: &str = "評価（◎、○、△、または評価なしの - か空欄）";

/// Status of a year's action: 新規 / 継続 / 拡充.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// 新規.
    New,
    /// 継続.
    Continued,
    /// 拡充.
    Expanded,
}

impl Status {
    pub const ALL: [Status; 3] = [Status::New, Status::Continued, Status::Expanded];

    /// `新規`/`継続`/`拡充` or `new`/`continued`/`expanded` (trimmed); `None` otherwise.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "新規" | "new" => Some(Status::New),
            "継続" | "continued" => Some(Status::Continued),
            "拡充" | "expanded" => Some(Status::Expanded),
            _ => None,
        }
    }

    /// `new`, `continued`, `expanded`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Continued => "continued",
            Status::Expanded => "expanded",
        }
    }

    /// `新規`, `継続`, `拡充`.
    pub fn label_ja(self) -> &'static str {
        match self {
            Status::New => "新規",
            Status::Continued => "継続",
            Status::Expanded => "拡充",
        }
    }
}

/// What a 新規/継続/拡充 cell may hold, for error messages.
pub const STATUS_EXPECTED: &str = "新規・継続・拡充のいずれか（または空欄）";

/// The KPI direction mark of a goal in Chuo City's schedule (seed 004, last column
/// 「教育DXに係るKPIの方向性」).
///
/// The seed prints the marks without a legend. ↑ and → follow the glossary (increase / maintain);
/// ↓ (decrease) is accepted for other plans. Our reading of the other two, from the rows that
/// carry them: ◆ stands before 「クラウド対応の教育情報セキュリティポリシー策定済み自治体(R7年に100%)」,
/// a state to reach once by a date and then keep (a milestone, [`KpiDirection::Milestone`]);
/// 参 stands before a KPI that the same document repeats for the 校務DX row (ロケーションフリーでの
/// 校務処理), i.e. a KPI given for reference (参考), owned elsewhere ([`KpiDirection::Reference`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KpiDirection {
    /// ↑ increase.
    Increase,
    /// → maintain.
    Maintain,
    /// ↓ decrease.
    Decrease,
    /// ◆ a milestone: reach once by the date given, then keep.
    Milestone,
    /// 参 for reference (参考): the KPI is tracked under another item.
    Reference,
}

impl KpiDirection {
    /// `↑` `→` `↓` `◆` `参` (also `⇧`, `⇒`, `⬆`, `◇`, `参考`, and the English codes); `None` otherwise.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "↑" | "⇧" | "⬆" | "increase" => Some(KpiDirection::Increase),
            "→" | "⇒" | "➡" | "maintain" => Some(KpiDirection::Maintain),
            "↓" | "⇩" | "⬇" | "decrease" => Some(KpiDirection::Decrease),
            "◆" | "◇" | "milestone" => Some(KpiDirection::Milestone),
            "参" | "参考" | "reference" => Some(KpiDirection::Reference),
            _ => None,
        }
    }

    /// The mark as printed: `↑`, `→`, `↓`, `◆`, `参`.
    pub fn symbol(self) -> &'static str {
        match self {
            KpiDirection::Increase => "↑",
            KpiDirection::Maintain => "→",
            KpiDirection::Decrease => "↓",
            KpiDirection::Milestone => "◆",
            KpiDirection::Reference => "参",
        }
    }

    /// `increase`, `maintain`, `decrease`, `milestone`, `reference`.
    pub fn as_str(self) -> &'static str {
        match self {
            KpiDirection::Increase => "increase",
            KpiDirection::Maintain => "maintain",
            KpiDirection::Decrease => "decrease",
            KpiDirection::Milestone => "milestone",
            KpiDirection::Reference => "reference",
        }
    }

    /// 向上 / 維持 / 減少 / 達成目標 / 参考.
    pub fn label_ja(self) -> &'static str {
        match self {
            KpiDirection::Increase => "向上",
            KpiDirection::Maintain => "維持",
            KpiDirection::Decrease => "減少",
            KpiDirection::Milestone => "達成目標",
            KpiDirection::Reference => "参考",
        }
    }
}

/// What a KPI direction cell may hold, for error messages.
pub const KPI_DIRECTION_EXPECTED: &str = "KPIの方向（↑、→、↓、◆、参 のいずれか、または空欄）";

/// A plan period, e.g. R5–R9 (`first` = 2023, `last` = 2027), both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Period {
    pub first: FiscalYear,
    pub last: FiscalYear,
}

impl Period {
    /// Parses `R5-R9`, `R5～R9`, `令和5～9年度`, `2023-2027` (any of `-`, `～`, `〜`, `~`, `–`).
    /// `None` if either end is not a year or the period runs backwards or spans more than 20 years.
    pub fn parse(s: &str) -> Option<Self> {
        let t = s.trim().trim_end_matches("年度");
        let (a, b) = t.split_once(['-', '～', '〜', '~', '–', '－'])?;
        let first = FiscalYear::parse(a.trim()).ok()?;
        let b = b.trim();
        // 令和5～9: the second end inherits the era of the first
        let last = FiscalYear::parse(b).ok().or_else(|| {
            let digits: String = b.chars().map(fullwidth_to_ascii).collect();
            digits.parse::<u8>().ok()?;
            let prefix: String = a.trim().chars().map(fullwidth_to_ascii).take_while(|c| !c.is_ascii_digit()).collect();
            (!prefix.is_empty()).then(|| FiscalYear::parse(&format!("{prefix}{digits}")).ok()).flatten()
        })?;
        (first <= last && last.0 - first.0 < 20).then_some(Period { first, last })
    }

    /// Whether `fy` lies in the period.
    pub fn contains(self, fy: FiscalYear) -> bool {
        self.first <= fy && fy <= self.last
    }

    /// The years of the period, in order.
    pub fn years(self) -> impl Iterator<Item = FiscalYear> {
        (self.first.0..=self.last.0).map(FiscalYear)
    }
}

impl fmt::Display for Period {
    /// `R5-R9`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.first.short_label(), self.last.short_label())
    }
}

/// What a period cell may hold, for error messages.
pub const PERIOD_EXPECTED: &str = "計画期間（例: R5-R9、2023-2027）";

/// One bar of a goal's schedule: from the first day of `start` to the last day of `end`, with its
/// label (Chuo's 「契約準備・調達・設定」).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleBar {
    start: YearMonth,
    end: YearMonth,
    pub label: String,
}

impl ScheduleBar {
    /// A bar; `None` when `end` is before `start`.
    pub fn new(start: YearMonth, end: YearMonth, label: impl Into<String>) -> Option<Self> {
        (start <= end).then(|| ScheduleBar { start, end, label: label.into() })
    }
    pub fn start(&self) -> YearMonth {
        self.start
    }
    pub fn end(&self) -> YearMonth {
        self.end
    }
    /// Number of months covered (≥ 1).
    pub fn months(&self) -> u32 {
        (self.start.months_until(self.end) + 1) as u32
    }
    /// Whether the bar covers `month`.
    pub fn covers(&self, month: YearMonth) -> bool {
        self.start <= month && month <= self.end
    }
}

/// How many goals got each grade.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GradeCounts {
    pub excellent: u32,
    pub good: u32,
    pub insufficient: u32,
    pub ungraded: u32,
}

impl GradeCounts {
    /// Counts the grades given.
    pub fn of(grades: impl IntoIterator<Item = Grade>) -> Self {
        let mut c = GradeCounts::default();
        for g in grades {
            c.add(g);
        }
        c
    }
    /// Adds one grade.
    pub fn add(&mut self, g: Grade) {
        match g {
            Grade::Excellent => self.excellent += 1,
            Grade::Good => self.good += 1,
            Grade::Insufficient => self.insufficient += 1,
            Grade::Ungraded => self.ungraded += 1,
        }
    }
    /// The count for one grade.
    pub fn get(&self, g: Grade) -> u32 {
        match g {
            Grade::Excellent => self.excellent,
            Grade::Good => self.good,
            Grade::Insufficient => self.insufficient,
            Grade::Ungraded => self.ungraded,
        }
    }
    /// All goals counted.
    pub fn total(&self) -> u32 {
        self.excellent + self.good + self.insufficient + self.ungraded
    }
    /// The sum of two counts.
    pub fn plus(self, o: GradeCounts) -> Self {
        GradeCounts {
            excellent: self.excellent + o.excellent,
            good: self.good + o.good,
            insufficient: self.insufficient + o.insufficient,
            ungraded: self.ungraded + o.ungraded,
        }
    }
}

/// A policy, measure, initiative or goal of a plan: what a plan file says of it (`ingest::plan`),
/// what is stored (`store::plan::Item` adds the row id) and what the reports read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemFields {
    pub code: PlanCode,
    /// Title (基本方針名, 施策名, 取組項目名) or, for a goal, its text (令和9年度までの目標).
    pub title: String,
    /// 概要 of an initiative; empty otherwise.
    pub summary: String,
    /// 担当課 of a goal, in order; empty for other levels.
    pub divisions: Vec<String>,
    /// KPI direction of a goal (schedule layout).
    pub kpi_direction: Option<KpiDirection>,
    /// KPI text of a goal (schedule layout); empty when none.
    pub kpi: String,
}

/// What a goal's entry for one 年度 says: the editable columns of a 資料4-1 row, as read from a file
/// (`ingest::plan::EntryRecord`), stored and edited (`store::plan::Entry`, the change log's before and
/// after JSON) and reported (flattened into each goal of the report's JSON). Empty text cells are
/// empty strings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EntryFields {
    /// 取組 of the year.
    pub action: String,
    /// 新規/継続/拡充 of the year's action; `None` when blank or `-`.
    pub status: Option<Status>,
    /// 達成時期, free text (年度内, 夏頃, 年内, 6月 …).
    pub due: String,
    /// 実績・課題.
    pub result: String,
    /// 評価.
    pub grade: Grade,
    /// Next year's 取組 (the 教育委員会 column).
    pub next_action: String,
    /// 新規/継続/拡充 of next year's action.
    pub next_status: Option<Status>,
    /// The 学校 column's □ items ([`split_school_actions`]).
    pub school_actions: Vec<String>,
    /// 重点項目 of the year.
    pub priority: bool,
}

/// Splits a 担当課 cell into divisions: separators `、` `,` `，` and line breaks; a trailing
/// `他` / ` 他` (「文化財課 他」, "and others") becomes its own entry `他`. Entries are trimmed and
/// empty ones dropped; order is kept.
pub fn split_divisions(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in s.split(['、', ',', '，', '\n', '\r']) {
        let p = part.trim();
        if p.is_empty() {
            continue;
        }
        match p.strip_suffix('他') {
            Some(rest) if !rest.is_empty() && rest.ends_with([' ', '　']) => {
                out.push(rest.trim().to_string());
                out.push("他".to_string());
            }
            _ => out.push(p.to_string()),
        }
    }
    out
}

/// Splits a 学校 cell into school actions, one per line.
///
/// A line starting with `□` (or `☐`) is an item (the box is dropped). When the cell has boxed items,
/// a line without a box is a heading (seed 000 prints 「特別支援学校」 above its items) and is kept as
/// `【特別支援学校】`; a line already written `【…】` is a heading too. In a cell without any box, every
/// line is an item. A cell that is only a dash (`-`, `‐`, `ー`, `—`, `－`: 「no school action」) or
/// empty gives no items. Items are trimmed; order is kept. [`join_school_actions`] is the inverse.
pub fn split_school_actions(s: &str) -> Vec<String> {
    let lines: Vec<&str> = s.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    if lines.len() == 1 && Grade::parse(lines[0]) == Some(Grade::Ungraded) {
        return Vec::new();
    }
    let boxed = |l: &str| l.starts_with(['□', '☐']);
    let any_box = lines.iter().any(|l| boxed(l));
    lines
        .iter()
        .filter_map(|l| {
            if boxed(l) {
                let item = l.trim_start_matches(['□', '☐']).trim();
                (!item.is_empty()).then(|| item.to_string())
            } else if l.starts_with('【') && l.ends_with('】') {
                Some(l.to_string())
            } else if any_box {
                Some(format!("【{l}】"))
            } else {
                Some(l.to_string())
            }
        })
        .collect()
}

/// The 学校 cell text for school actions: one line per item, items with a leading `□`, headings
/// (`【…】`) as they are.
pub fn join_school_actions(items: &[String]) -> String {
    items
        .iter()
        .map(|i| if i.starts_with('【') && i.ends_with('】') { i.clone() } else { format!("□{i}") })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn codes_parse_and_print() {
        let c = PlanCode::parse("1-(1)-①-A").unwrap();
        assert_eq!(c.level(), Level::Goal);
        assert_eq!(c.to_string(), "1-(1)-①-A");
        assert_eq!(PlanCode::parse("１－(1)－①").unwrap().to_string(), "1-(1)-①");
        assert_eq!(PlanCode::parse("１－（２）－⑥").unwrap().to_string(), "1-(2)-⑥");
        assert_eq!(PlanCode::parse(" 4 - (2) - ④ - b ").unwrap().to_string(), "4-(2)-④-B");
        assert_eq!(PlanCode::parse("2-(1)-①-A.").unwrap().to_string(), "2-(1)-①-A");
        assert_eq!(PlanCode::parse("3").unwrap().level(), Level::Policy);
        assert_eq!(c.parent().unwrap().to_string(), "1-(1)-①");
        assert_eq!(c.at(Level::Measure).unwrap().to_string(), "1-(1)");
        assert_eq!(c.at(Level::Policy).unwrap().to_string(), "1");
        assert_eq!(PlanCode::parse("1").unwrap().parent(), None);
        assert_eq!(PlanCode::parse("1-(1)-②").unwrap().goal('c').unwrap().to_string(), "1-(1)-②-C");
        for bad in ["", "0", "1-1", "1-(1)-1", "1-(1)-①-AB", "1-(1)-①-A-1", "A", "1-()", "1-(1)-㉑", "1-(1)-①-1"]
        {
            assert!(PlanCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_note_is_trimmed_empty_is_none_and_long_is_refused() {
        assert_eq!(note_text("  他市の計画です。\n"), Ok(Some("他市の計画です。")));
        assert_eq!(note_text(" \n\t"), Ok(None));
        assert_eq!(note_text(&"あ".repeat(MAX_NOTE_CHARS)).map(|t| t.map(|t| t.chars().count())), Ok(Some(500)));
        let err = note_text(&"あ".repeat(MAX_NOTE_CHARS + 1)).unwrap_err();
        assert!(err.contains("500文字以内") && err.contains("501文字"), "{err}");
    }

    #[test]
    fn codes_sort_as_in_the_document() {
        let mut v: Vec<PlanCode> =
            ["2", "1-(2)", "1-(1)-②", "1-(1)-①-B", "1-(1)-①", "1-(1)-①-A", "1", "1-(1)", "1-(10)"]
                .iter()
                .map(|s| s.parse().unwrap())
                .collect();
        v.sort();
        let s: Vec<String> = v.iter().map(ToString::to_string).collect();
        assert_eq!(s, ["1", "1-(1)", "1-(1)-①", "1-(1)-①-A", "1-(1)-①-B", "1-(1)-②", "1-(2)", "1-(10)", "2"]);
    }

    #[test]
    fn grade_symbols_are_normalised() {
        for s in ["○", "◯", "〇", " ○ ", "good"] {
            assert_eq!(Grade::parse(s), Some(Grade::Good), "{s}");
        }
        assert_eq!(Grade::parse("◎"), Some(Grade::Excellent));
        assert_eq!(Grade::parse("△"), Some(Grade::Insufficient));
        for s in ["", "-", "‐", "ー", "—", "－"] {
            assert_eq!(Grade::parse(s), Some(Grade::Ungraded), "{s:?}");
        }
        for s in ["×", "A", "o", "◎○"] {
            assert_eq!(Grade::parse(s), None, "{s}");
        }
        assert_eq!(Grade::Good.symbol(), "\u{25cb}");
    }

    #[test]
    fn statuses_and_directions() {
        assert_eq!(Status::parse("新規"), Some(Status::New));
        assert_eq!(Status::parse("継続"), Some(Status::Continued));
        assert_eq!(Status::parse(" 拡充 "), Some(Status::Expanded));
        assert_eq!(Status::parse("廃止"), None);
        assert_eq!(KpiDirection::parse("↑"), Some(KpiDirection::Increase));
        assert_eq!(KpiDirection::parse("→"), Some(KpiDirection::Maintain));
        assert_eq!(KpiDirection::parse("◆"), Some(KpiDirection::Milestone));
        assert_eq!(KpiDirection::parse("参"), Some(KpiDirection::Reference));
        assert_eq!(KpiDirection::parse("?"), None);
    }

    #[test]
    fn periods() {
        let p = Period::parse("R5-R9").unwrap();
        assert_eq!((p.first, p.last), (FiscalYear(2023), FiscalYear(2027)));
        assert_eq!(p.to_string(), "R5-R9");
        assert_eq!(Period::parse("令和5～9年度"), Some(p));
        assert_eq!(Period::parse("2023-2027"), Some(p));
        assert_eq!(Period::parse("R7～R11").unwrap().years().count(), 5);
        assert!(p.contains(FiscalYear(2023)) && !p.contains(FiscalYear(2028)));
        assert_eq!(Period::parse("R9-R5"), None);
        assert_eq!(Period::parse("R5"), None);
    }

    #[test]
    fn divisions_and_school_actions() {
        assert_eq!(split_divisions("教育指導課、教育センター"), ["教育指導課", "教育センター"]);
        assert_eq!(split_divisions("生涯学習課、文化財課 他"), ["生涯学習課", "文化財課", "他"]);
        assert_eq!(split_divisions("教育相談課\n教育センター"), ["教育相談課", "教育センター"]);
        let items = split_school_actions("□目の健康について配慮した端末活用\n□保護者への周知");
        assert_eq!(items, ["目の健康について配慮した端末活用", "保護者への周知"]);
        assert_eq!(split_school_actions(&join_school_actions(&items)), items);
        let sp = split_school_actions("特別支援学校\n□入出力機器の効果的な活用\n特別支援学級\n□個別の活用");
        assert_eq!(sp, ["【特別支援学校】", "入出力機器の効果的な活用", "【特別支援学級】", "個別の活用"]);
        assert_eq!(
            join_school_actions(&sp),
            "【特別支援学校】\n□入出力機器の効果的な活用\n【特別支援学級】\n□個別の活用"
        );
        assert_eq!(split_school_actions(&join_school_actions(&sp)), sp);
        assert!(split_school_actions("‐").is_empty() && split_school_actions(" ").is_empty());
        assert_eq!(split_school_actions("a\nb"), ["a", "b"]);
    }

    #[test]
    fn bars_and_counts() {
        let ym = |y, m| YearMonth::new(y, m).unwrap();
        let b = ScheduleBar::new(ym(2025, 4), ym(2026, 3), "契約準備・調達・設定").unwrap();
        assert_eq!(b.months(), 12);
        assert!(b.covers(ym(2025, 12)) && !b.covers(ym(2026, 4)));
        assert!(ScheduleBar::new(ym(2026, 4), ym(2025, 4), "x").is_none());
        let c = GradeCounts::of([Grade::Good, Grade::Good, Grade::Excellent, Grade::Ungraded]);
        assert_eq!((c.excellent, c.good, c.insufficient, c.ungraded, c.total()), (1, 2, 0, 1, 4));
    }

    fn code_strategy() -> impl Strategy<Value = PlanCode> {
        (1u8..=99, proptest::option::of(1u8..=99), proptest::option::of(1u8..=20), proptest::option::of(0u8..26))
            .prop_map(|(p, m, i, g)| {
                let mut c = PlanCode::policy(p).unwrap();
                if let Some(m) = m {
                    c.measure = Some(m);
                    if let Some(i) = i {
                        c.initiative = Some(i);
                        if let Some(g) = g {
                            c.goal = Some((b'A' + g) as char);
                        }
                    }
                }
                c
            })
    }

    proptest! {
        #[test]
        fn code_text_round_trips(c in code_strategy()) {
            prop_assert_eq!(PlanCode::parse(&c.to_string()), Ok(c));
            // the document's full-width form parses to the same code
            let wide: String = c.to_string().chars().map(|ch| match ch {
                '0'..='9' => char::from_u32(ch as u32 + 0xFEE0).unwrap(),
                '-' => '－',
                c => c,
            }).collect();
            prop_assert_eq!(PlanCode::parse(&wide), Ok(c));
            if let Some(p) = c.parent() { prop_assert!(p < c); }
        }

        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,16}") {
            let _ = PlanCode::parse(&s);
            let _ = Grade::parse(&s);
            let _ = Status::parse(&s);
            let _ = KpiDirection::parse(&s);
            let _ = Period::parse(&s);
            let _ = split_divisions(&s);
        }

        #[test]
        fn grade_symbols_round_trip(i in 0usize..4, pad in "[ \t]{0,2}") {
            let g = Grade::ALL[i];
            let padded = format!("{pad}{}{pad}", g.symbol());
            prop_assert_eq!(Grade::parse(&padded), Some(g));
            prop_assert_eq!(Grade::parse(g.as_str()), Some(g));
        }
    }
}
