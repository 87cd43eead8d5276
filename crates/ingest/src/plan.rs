//! The ICT promotion plan (学校教育情報化推進計画) → [`PlanFile`]: its items (基本方針 → 施策 → 取組項目 →
//! 目標) with either the yearly evaluation entries of 資料4-1 or the schedule bars of a multi-year plan.
//!
//! Two layouts, told apart by their headers (docs/plan-import.md):
//! - **evaluation** (資料4-1, seed 000), one row per goal per 年度: 計画, 計画期間, 年度, 基本方針, 基本方針名,
//!   施策, 施策名, 取組項目, 取組項目名, 概要, 目標, 目標内容, 担当課, 取組, 区分, 達成時期, 実績・課題, 評価,
//!   次年度の取組, 次年度の区分, 学校の取組, 重点 ([`EvaluationColumn`], the one table of the layout, also
//!   used by `report::plan` to write it);
//! - **schedule** (seed 004), one row per bar: 計画, 計画期間, 基本方針, 基本方針名, 施策, 施策名, 取組項目,
//!   取組項目名, 目標, 目標内容, 担当課, KPIの方向, KPI, 開始, 終了, 内容.
//!
//! English headers are accepted too (`fiscal_year`, `goal`, `grade` …). Hierarchy cells may be left
//! blank below the first row of a group (carried down, as merged cells read from a workbook are): a
//! blank code is taken from the goal code (`1-(1)-①-A` names its initiative, measure and policy) or
//! from the row above; a blank title from the row that names the code. The whole file is read and
//! checked before anything is returned: every error of every row is reported.

use crate::table::{FileError, RawRow, RowError, Table};
use gigaops_domain::calendar::YearMonth;
use gigaops_domain::plan::{
    split_divisions, split_school_actions, EntryFields, Grade, ItemFields, KpiDirection, Level, Period, PlanCode,
    Status, GRADE_EXPECTED, KPI_DIRECTION_EXPECTED, PERIOD_EXPECTED, STATUS_EXPECTED,
};
use gigaops_domain::FiscalYear;
use std::collections::{BTreeMap, HashMap};

// Header aliases, compared after normalize_header.
pub const PLAN: &[&str] = &["計画", "計画名", "plan"];
pub const PERIOD: &[&str] = &["計画期間", "期間", "period"];
pub const FISCAL_YEAR: &[&str] = &["年度", "fiscal_year"];
pub const POLICY: &[&str] = &["基本方針", "policy"];
pub const POLICY_TITLE: &[&str] = &["基本方針名", "policy_title"];
pub const MEASURE: &[&str] = &["施策", "measure"];
pub const MEASURE_TITLE: &[&str] = &["施策名", "measure_title"];
pub const INITIATIVE: &[&str] = &["取組項目", "項目", "initiative"];
pub const INITIATIVE_TITLE: &[&str] = &["取組項目名", "initiative_title"];
pub const SUMMARY: &[&str] = &["概要", "summary"];
pub const GOAL: &[&str] = &["目標", "目標コード", "goal", "goal_code"];
pub const GOAL_TEXT: &[&str] = &["目標内容", "令和9年度までの目標", "goal_text", "text"];
pub const DIVISIONS: &[&str] = &["担当課", "担当", "担当者", "divisions"];
pub const ACTION: &[&str] = &["取組", "action"];
pub const STATUS: &[&str] = &["区分", "新規/継続/拡充", "status"];
pub const DUE: &[&str] = &["達成時期", "due"];
pub const RESULT: &[&str] = &["実績・課題", "実績課題", "result"];
pub const GRADE: &[&str] = &["評価", "grade"];
pub const NEXT_ACTION: &[&str] = &["次年度の取組", "教育委員会", "next_action"];
pub const NEXT_STATUS: &[&str] = &["次年度の区分", "next_status"];
pub const SCHOOL_ACTIONS: &[&str] = &["学校の取組", "学校", "school_actions"];
pub const PRIORITY: &[&str] = &["重点", "重点項目", "priority"];
pub const KPI_DIRECTION: &[&str] = &["KPIの方向", "方向", "kpi_direction"];
pub const KPI: &[&str] = &["KPI", "kpi"];
pub const START: &[&str] = &["開始", "開始月", "start"];
pub const END: &[&str] = &["終了", "終了月", "end"];
pub const LABEL: &[&str] = &["内容", "label"];

/// Defines [`EvaluationColumn`] from one list of `Variant => ALIASES` in file order: the enum, its
/// [`ALL`](EvaluationColumn::ALL) and its [`aliases`](EvaluationColumn::aliases).
macro_rules! evaluation_columns {
    ($($column:ident => $aliases:ident),+ $(,)?) => {
        /// A column of the evaluation layout (資料4-1), in file order: the one table of that layout,
        /// read here and written by `report::plan` (CSV and XLSX), so export → import → export gives
        /// the same bytes.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum EvaluationColumn {
            $($column),+
        }

        impl EvaluationColumn {
            /// Every column, in file order ([`index`](Self::index) is the position here).
            pub const ALL: &'static [EvaluationColumn] = &[$(EvaluationColumn::$column),+];

            /// The header labels accepted for the column (compared after `normalize_header`); the
            /// first is the label written.
            pub const fn aliases(self) -> &'static [&'static str] {
                match self {
                    $(EvaluationColumn::$column => $aliases),+
                }
            }
        }
    };
}

evaluation_columns! {
    Plan => PLAN,
    Period => PERIOD,
    FiscalYear => FISCAL_YEAR,
    Policy => POLICY,
    PolicyTitle => POLICY_TITLE,
    Measure => MEASURE,
    MeasureTitle => MEASURE_TITLE,
    Initiative => INITIATIVE,
    InitiativeTitle => INITIATIVE_TITLE,
    Summary => SUMMARY,
    Goal => GOAL,
    GoalText => GOAL_TEXT,
    Divisions => DIVISIONS,
    Action => ACTION,
    Status => STATUS,
    Due => DUE,
    Result => RESULT,
    Grade => GRADE,
    NextAction => NEXT_ACTION,
    NextStatus => NEXT_STATUS,
    SchoolActions => SCHOOL_ACTIONS,
    Priority => PRIORITY,
}

impl EvaluationColumn {
    /// The label written in the header row (`計画`, `年度`, `評価` …).
    pub const fn label(self) -> &'static str {
        self.aliases()[0]
    }

    /// Whether a file must have the column (計画, 計画期間 and 重点 may be absent).
    pub const fn required(self) -> bool {
        !matches!(self, EvaluationColumn::Plan | EvaluationColumn::Period | EvaluationColumn::Priority)
    }

    /// The column's position in a written file (0-based, its place in [`ALL`](Self::ALL)).
    pub const fn index(self) -> usize {
        self as usize
    }
}

/// The columns of the schedule layout in export order.
pub const SCHEDULE_COLUMNS: &[&[&str]] = &[
    PLAN,
    PERIOD,
    POLICY,
    POLICY_TITLE,
    MEASURE,
    MEASURE_TITLE,
    INITIATIVE,
    INITIATIVE_TITLE,
    GOAL,
    GOAL_TEXT,
    DIVISIONS,
    KPI_DIRECTION,
    KPI,
    START,
    END,
    LABEL,
];
const SCHEDULE_REQUIRED: &[&[&str]] =
    &[POLICY, POLICY_TITLE, MEASURE, MEASURE_TITLE, INITIATIVE, INITIATIVE_TITLE, GOAL, GOAL_TEXT, START, END, LABEL];

const MONTH_EXPECTED: &str = "年月（YYYY-MM、例: 2025-04）";
const PRIORITY_EXPECTED: &str = "重点（○ か 重点、重点でなければ空欄）";

/// Which layout a file has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// 資料4-1: one row per goal per year.
    Evaluation,
    /// A multi-year schedule: one row per bar.
    Schedule,
}

/// One goal's entry for one 年度 (one row of 資料4-1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryRecord {
    /// Row number in the file (header = 1).
    pub row: usize,
    pub fiscal_year: FiscalYear,
    pub goal: PlanCode,
    /// The row's 取組 … 重点 columns.
    pub fields: EntryFields,
}

/// One bar of a goal's schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BarRecord {
    pub row: usize,
    pub goal: PlanCode,
    pub start: YearMonth,
    pub end: YearMonth,
    pub label: String,
}

/// A whole plan file, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanFile {
    /// File name as in error messages.
    pub file: String,
    pub layout: Layout,
    /// 計画 (first non-empty cell), if the file names the plan.
    pub plan_name: Option<String>,
    /// 計画期間, if the file gives it.
    pub period: Option<Period>,
    /// Label of the 年度 column as written in the file (for messages about years).
    pub year_column: String,
    /// Every item named by the file, in code order.
    pub items: Vec<ItemFields>,
    /// Evaluation layout: the entries, in file order.
    pub entries: Vec<EntryRecord>,
    /// Schedule layout: the bars, in file order.
    pub bars: Vec<BarRecord>,
}

/// Why a plan file cannot be imported.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    File(#[from] FileError),
    /// Every bad cell, as `file:row:column: value — expected`.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Rows(Vec<RowError>),
}

/// The layout of a table: schedule when it has 開始 and 終了 columns, else evaluation.
pub fn layout(table: &Table) -> Layout {
    if table.column(START).is_some() && table.column(END).is_some() {
        Layout::Schedule
    } else {
        Layout::Evaluation
    }
}

/// Reads and checks a whole plan file (either layout).
///
/// Errors: [`ReadError::File`] with [`FileError::MissingColumns`] when a required column is absent;
/// [`ReadError::Rows`] with every bad cell: unknown 評価 or 新規/継続/拡充 symbols, codes that do not
/// parse, a goal code that contradicts the row's 取組項目, a code with no title anywhere in the file
/// (a goal whose initiative does not exist), the same goal twice in one 年度, a 年度 outside the
/// file's 計画期間, two different titles for one code, months that run backwards.
pub fn read(table: &mut Table) -> Result<PlanFile, ReadError> {
    let layout = layout(table);
    let required: Vec<&[&str]> = match layout {
        Layout::Evaluation => EvaluationColumn::ALL.iter().filter(|c| c.required()).map(|c| c.aliases()).collect(),
        Layout::Schedule => SCHEDULE_REQUIRED.to_vec(),
    };
    let missing: Vec<&[&str]> = required.into_iter().filter(|a| table.column(a).is_none()).collect();
    if !missing.is_empty() {
        return Err(table.missing_columns(&missing).into());
    }
    let col = |a: &[&str]| table.column_checked(a);
    let c = Cols {
        plan: col(PLAN)?,
        period: col(PERIOD)?,
        fiscal_year: col(FISCAL_YEAR)?,
        codes: [col(POLICY)?, col(MEASURE)?, col(INITIATIVE)?],
        titles: [col(POLICY_TITLE)?, col(MEASURE_TITLE)?, col(INITIATIVE_TITLE)?],
        summary: col(SUMMARY)?,
        goal: col(GOAL)?,
        goal_text: col(GOAL_TEXT)?,
        divisions: col(DIVISIONS)?,
        action: col(ACTION)?,
        status: col(STATUS)?,
        due: col(DUE)?,
        result: col(RESULT)?,
        grade: col(GRADE)?,
        next_action: col(NEXT_ACTION)?,
        next_status: col(NEXT_STATUS)?,
        school: col(SCHOOL_ACTIONS)?,
        priority: col(PRIORITY)?,
        kpi_direction: col(KPI_DIRECTION)?,
        kpi: col(KPI)?,
        start: col(START)?,
        end: col(END)?,
        label: col(LABEL)?,
    };
    let file = table.file.clone();
    let headers = table.headers.clone();
    let mut st = State::default();
    let mut rows = Vec::new();
    for raw in table.rows() {
        match raw {
            Ok(r) => rows.push(r),
            Err(e) => st.errors.push(e),
        }
    }
    for raw in &rows {
        read_row(&Row { file: &file, headers: &headers, raw, c: &c, layout }, &mut st);
    }
    st.finish(&file, &headers, &c, layout)
}

struct Cols {
    plan: Option<usize>,
    period: Option<usize>,
    fiscal_year: Option<usize>,
    /// policy, measure, initiative code columns.
    codes: [Option<usize>; 3],
    titles: [Option<usize>; 3],
    summary: Option<usize>,
    goal: Option<usize>,
    goal_text: Option<usize>,
    divisions: Option<usize>,
    action: Option<usize>,
    status: Option<usize>,
    due: Option<usize>,
    result: Option<usize>,
    grade: Option<usize>,
    next_action: Option<usize>,
    next_status: Option<usize>,
    school: Option<usize>,
    priority: Option<usize>,
    kpi_direction: Option<usize>,
    kpi: Option<usize>,
    start: Option<usize>,
    end: Option<usize>,
    label: Option<usize>,
}

struct Row<'a> {
    file: &'a str,
    headers: &'a [String],
    raw: &'a RawRow,
    c: &'a Cols,
    layout: Layout,
}

impl Row<'_> {
    fn get(&self, col: Option<usize>) -> &str {
        self.raw.get(col)
    }
    fn error(&self, col: Option<usize>, expected: impl Into<String>) -> RowError {
        RowError {
            file: self.file.to_string(),
            row: self.raw.row,
            column: col_label(self.headers, col),
            value: crate::table::quote_value(self.get(col)),
            expected: expected.into(),
        }
    }
}

fn col_label(headers: &[String], col: Option<usize>) -> String {
    match col {
        Some(c) => headers.get(c).filter(|h| !h.is_empty()).cloned().unwrap_or_else(|| format!("{}列目", c + 1)),
        None => String::new(),
    }
}

/// A value defined by some row: the value and the row that gave it.
#[derive(Debug, Clone)]
struct Defined<T> {
    value: T,
    row: usize,
}

#[derive(Default)]
struct State {
    errors: Vec<RowError>,
    plan_name: Option<Defined<String>>,
    period: Option<Defined<Period>>,
    /// The hierarchy codes of the previous row (carry-down).
    prev: [Option<PlanCode>; 3],
    titles: BTreeMap<PlanCode, Defined<String>>,
    summaries: HashMap<PlanCode, Defined<String>>,
    /// First row that referenced each code, with the column of its title.
    referenced: BTreeMap<PlanCode, (usize, Option<usize>)>,
    goals: BTreeMap<PlanCode, GoalAttrs>,
    entries: Vec<EntryRecord>,
    seen_entries: HashMap<(PlanCode, FiscalYear), usize>,
    bars: Vec<BarRecord>,
}

#[derive(Default)]
struct GoalAttrs {
    divisions: Option<Defined<Vec<String>>>,
    kpi_direction: Option<Defined<KpiDirection>>,
    kpi: Option<Defined<String>>,
}

/// Records `value` for `key` unless a different value was given before (then an error).
fn define<T: Clone + PartialEq>(
    slot: &mut Option<Defined<T>>,
    value: T,
    r: &Row<'_>,
    col: Option<usize>,
    what: &str,
    errors: &mut Vec<RowError>,
) {
    match slot {
        Some(d) if d.value != value => {
            errors.push(r.error(col, format!("{what}は{}行目と同じ値（1つの項目に異なる値は書けません）", d.row)))
        }
        Some(_) => {}
        None => *slot = Some(Defined { value, row: r.raw.row }),
    }
}

fn read_row(r: &Row<'_>, st: &mut State) {
    let before = st.errors.len();
    let c = r.c;
    // plan name and period: the first non-empty cell; later ones must agree
    let name = r.get(c.plan).to_string();
    if !name.is_empty() {
        define(&mut st.plan_name, name, r, c.plan, "計画", &mut st.errors);
    }
    if !r.get(c.period).is_empty() {
        match Period::parse(r.get(c.period)) {
            Some(p) => define(&mut st.period, p, r, c.period, "計画期間", &mut st.errors),
            None => st.errors.push(r.error(c.period, PERIOD_EXPECTED)),
        }
    }
    // goal code, then the hierarchy codes (given, derived from the goal, or carried down)
    let goal_cell = r.get(c.goal).to_string();
    let mut goal: Option<PlanCode> = None;
    let mut letter: Option<char> = None;
    let trimmed = goal_cell.trim().trim_end_matches(['.', '．']);
    if goal_cell.is_empty() {
        st.errors.push(r.error(c.goal, "必須: 目標コード（例: 1-(1)-①-A、または A）"));
    } else if trimmed.chars().count() == 1
        && trimmed.chars().all(|ch| ch.is_ascii_alphabetic() || ('Ａ'..='Ｚ').contains(&ch))
    {
        letter = trimmed.chars().next();
    } else {
        match PlanCode::parse(&goal_cell) {
            Ok(g) if g.level() == Level::Goal => goal = Some(g),
            _ => st.errors.push(r.error(c.goal, "目標コード（例: 1-(1)-①-A、または A）")),
        }
    }
    let levels = [Level::Policy, Level::Measure, Level::Initiative];
    let mut codes: [Option<PlanCode>; 3] = [None; 3];
    for (i, level) in levels.iter().enumerate() {
        let cell = r.get(c.codes[i]);
        let derived = goal.and_then(|g| g.at(*level));
        codes[i] = if cell.is_empty() {
            derived.or(if goal.is_none() { st.prev[i] } else { None })
        } else {
            match PlanCode::parse(cell) {
                Ok(code) if code.level() == *level => {
                    if let Some(d) = derived.filter(|d| *d != code) {
                        st.errors.push(r.error(c.codes[i], format!("目標 {} の{}は {d}", goal_cell, level.label_ja())));
                    }
                    Some(code)
                }
                _ => {
                    st.errors
                        .push(r.error(c.codes[i], format!("{}のコード（例: {}）", level.label_ja(), example(*level))));
                    None
                }
            }
        };
    }
    // parents must agree
    for i in 1..3 {
        if let (Some(child), Some(parent)) = (codes[i], codes[i - 1]) {
            if child.parent() != Some(parent) {
                st.errors.push(r.error(
                    c.codes[i],
                    format!("{} の下の{}（{} は {} に属しません）", parent, levels[i].label_ja(), child, parent),
                ));
            }
        }
    }
    if goal.is_none() {
        if let (Some(l), Some(init)) = (letter, codes[2]) {
            goal = init.goal(l);
        } else if letter.is_some() {
            st.errors.push(r.error(c.codes[2], "取組項目のコード（目標を A などの記号だけで書くときは必須）"));
        }
    }
    st.prev = codes;
    // titles and summaries
    for i in 0..3 {
        let Some(code) = codes[i] else { continue };
        st.referenced.entry(code).or_insert((r.raw.row, c.titles[i]));
        let t = r.get(c.titles[i]).to_string();
        if !t.is_empty() {
            let mut slot = st.titles.remove(&code);
            define(&mut slot, t, r, c.titles[i], levels[i].label_ja(), &mut st.errors);
            st.titles.insert(code, slot.expect("defined"));
        }
    }
    if let Some(init) = codes[2] {
        let s = r.get(c.summary).to_string();
        if !s.is_empty() {
            let mut slot = st.summaries.remove(&init);
            define(&mut slot, s, r, c.summary, "概要", &mut st.errors);
            st.summaries.insert(init, slot.expect("defined"));
        }
    }
    let Some(goal) = goal else { return };
    st.referenced.entry(goal).or_insert((r.raw.row, c.goal_text));
    let text = r.get(c.goal_text).to_string();
    if !text.is_empty() {
        let mut slot = st.titles.remove(&goal);
        define(&mut slot, text, r, c.goal_text, "目標内容", &mut st.errors);
        st.titles.insert(goal, slot.expect("defined"));
    }
    let attrs = st.goals.entry(goal).or_default();
    if !r.get(c.divisions).is_empty() {
        define(&mut attrs.divisions, split_divisions(r.get(c.divisions)), r, c.divisions, "担当課", &mut st.errors);
    }
    match r.layout {
        Layout::Schedule => {
            if !r.get(c.kpi_direction).is_empty() {
                match KpiDirection::parse(r.get(c.kpi_direction)) {
                    Some(d) => define(&mut attrs.kpi_direction, d, r, c.kpi_direction, "KPIの方向", &mut st.errors),
                    None => st.errors.push(r.error(c.kpi_direction, KPI_DIRECTION_EXPECTED)),
                }
            }
            if !r.get(c.kpi).is_empty() {
                define(&mut attrs.kpi, r.get(c.kpi).to_string(), r, c.kpi, "KPI", &mut st.errors);
            }
            let month = |col: Option<usize>, st: &mut State| -> Option<YearMonth> {
                let s = r.get(col);
                let ok = s.len() <= 10 && s.contains(['-', '/']);
                match s.parse::<YearMonth>() {
                    Ok(m) if ok => Some(m),
                    _ => {
                        let msg =
                            if s.is_empty() { format!("必須: {MONTH_EXPECTED}") } else { MONTH_EXPECTED.to_string() };
                        st.errors.push(r.error(col, msg));
                        None
                    }
                }
            };
            let (start, end) = (month(c.start, st), month(c.end, st));
            if let (Some(start), Some(end)) = (start, end) {
                if end < start {
                    st.errors.push(r.error(c.end, format!("開始（{start}）以後の{MONTH_EXPECTED}")));
                } else if st.errors.len() == before {
                    st.bars.push(BarRecord { row: r.raw.row, goal, start, end, label: r.get(c.label).to_string() });
                }
            }
        }
        Layout::Evaluation => {
            let fy = match FiscalYear::parse(r.get(c.fiscal_year)) {
                Ok(fy) => Some(fy),
                Err(_) => {
                    st.errors.push(r.error(c.fiscal_year, "年度（例: 2023、R5、令和5年度）"));
                    None
                }
            };
            let status = |col: Option<usize>, st: &mut State| -> Option<Status> {
                let s = r.get(col);
                if Grade::parse(s) == Some(Grade::Ungraded) {
                    return None;
                }
                Status::parse(s).or_else(|| {
                    st.errors.push(r.error(col, STATUS_EXPECTED));
                    None
                })
            };
            let (status_v, next_status) = (status(c.status, st), status(c.next_status, st));
            let grade = Grade::parse(r.get(c.grade));
            if grade.is_none() {
                st.errors.push(r.error(c.grade, GRADE_EXPECTED));
            }
            let priority = match r.get(c.priority).trim() {
                "" | "-" | "‐" | "ー" | "—" | "－" | "false" | "0" => Some(false),
                "○" | "◯" | "〇" | "◎" | "●" | "重点" | "true" | "1" => Some(true),
                _ => None,
            };
            if priority.is_none() {
                st.errors.push(r.error(c.priority, PRIORITY_EXPECTED));
            }
            if let Some(fy) = fy {
                if let Some(first) = st.seen_entries.get(&(goal, fy)) {
                    st.errors
                        .push(r.error(c.goal, format!("同じ年度の同じ目標は1行だけ（{first}行目と重複しています）")));
                } else {
                    st.seen_entries.insert((goal, fy), r.raw.row);
                }
            }
            if let (Some(fiscal_year), Some(grade), Some(priority)) = (fy, grade, priority) {
                if st.errors.len() == before {
                    st.entries.push(EntryRecord {
                        row: r.raw.row,
                        fiscal_year,
                        goal,
                        fields: EntryFields {
                            action: r.get(c.action).to_string(),
                            status: status_v,
                            due: r.get(c.due).to_string(),
                            result: r.get(c.result).to_string(),
                            grade,
                            next_action: r.get(c.next_action).to_string(),
                            next_status,
                            school_actions: split_school_actions(r.get(c.school)),
                            priority,
                        },
                    });
                }
            }
        }
    }
}

fn example(level: Level) -> &'static str {
    match level {
        Level::Policy => "1",
        Level::Measure => "1-(1)",
        Level::Initiative => "1-(1)-①",
        Level::Goal => "1-(1)-①-A",
    }
}

impl State {
    fn finish(mut self, file: &str, headers: &[String], c: &Cols, layout: Layout) -> Result<PlanFile, ReadError> {
        // every referenced policy/measure/initiative needs a title somewhere in the file
        for (code, (row, col)) in &self.referenced {
            if code.level() != Level::Goal && !self.titles.contains_key(code) {
                self.errors.push(RowError {
                    file: file.to_string(),
                    row: *row,
                    column: col_label(headers, *col),
                    value: String::new(),
                    expected: format!(
                        "{}「{code}」の名前（このファイルのどの行にもありません。存在しない{}です）",
                        code.level().label_ja(),
                        code.level().label_ja()
                    ),
                });
            }
        }
        // a year outside the file's period
        if let Some(p) = &self.period {
            for e in &self.entries {
                if !p.value.contains(e.fiscal_year) {
                    self.errors.push(RowError {
                        file: file.to_string(),
                        row: e.row,
                        column: col_label(headers, c.fiscal_year),
                        value: e.fiscal_year.to_string(),
                        expected: format!("計画期間 {} 内の年度", p.value),
                    });
                }
            }
        }
        if !self.errors.is_empty() {
            self.errors.sort_by_key(|e| e.row);
            return Err(ReadError::Rows(self.errors));
        }
        let mut items: Vec<ItemFields> = self
            .referenced
            .keys()
            .map(|code| {
                let attrs = self.goals.get(code);
                ItemFields {
                    code: *code,
                    title: self.titles.get(code).map(|d| d.value.clone()).unwrap_or_default(),
                    summary: self.summaries.get(code).map(|d| d.value.clone()).unwrap_or_default(),
                    divisions: attrs.and_then(|a| a.divisions.as_ref()).map(|d| d.value.clone()).unwrap_or_default(),
                    kpi_direction: attrs.and_then(|a| a.kpi_direction.as_ref()).map(|d| d.value),
                    kpi: attrs.and_then(|a| a.kpi.as_ref()).map(|d| d.value.clone()).unwrap_or_default(),
                }
            })
            .collect();
        items.sort_by_key(|i| i.code);
        Ok(PlanFile {
            file: file.to_string(),
            layout,
            plan_name: self.plan_name.map(|d| d.value),
            period: self.period.map(|d| d.value),
            year_column: col_label(headers, c.fiscal_year),
            items,
            entries: self.entries,
            bars: self.bars,
        })
    }
}

impl crate::kind::PreviewRow for EntryRecord {
    fn preview(&self) -> Vec<(&'static str, String)> {
        let f = &self.fields;
        vec![
            ("fiscal_year", self.fiscal_year.label_ja()),
            ("goal", self.goal.to_string()),
            ("action", f.action.clone()),
            ("status", f.status.map(|s| s.label_ja().to_string()).unwrap_or_default()),
            ("due", f.due.clone()),
            ("result", f.result.clone()),
            ("grade", f.grade.as_str().to_string()),
        ]
    }
}

impl crate::kind::PreviewRow for BarRecord {
    fn preview(&self) -> Vec<(&'static str, String)> {
        vec![
            ("goal", self.goal.to_string()),
            ("start", self.start.to_string()),
            ("end", self.end.to_string()),
            ("label", self.label.clone()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The header of the evaluation layout, as written.
    fn eval() -> Vec<&'static str> {
        EvaluationColumn::ALL.iter().map(|c| c.label()).collect()
    }

    fn table(headers: &[&str], rows: &[&[&str]]) -> Table {
        Table::from_rows(
            "plan.csv",
            headers.iter().map(|s| s.to_string()).collect(),
            rows.iter().map(|r| r.iter().map(|s| s.to_string()).collect()).collect(),
        )
    }

    fn row<'a>(year: &'a str, goal: &'a str, grade: &'a str, status: &'a str) -> Vec<&'a str> {
        vec![
            "",
            "",
            year,
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            goal,
            "目標",
            "教育指導課",
            "取組",
            status,
            "年度内",
            "実績",
            grade,
            "次",
            "継続",
            "",
            "",
        ]
    }

    fn first_row() -> Vec<&'static str> {
        vec![
            "仙台市計画",
            "R5-R9",
            "2023",
            "1",
            "方針1",
            "1-(1)",
            "施策1",
            "1-(1)-①",
            "取組1",
            "概要1",
            "1-(1)-①-A",
            "目標A",
            "教育指導課、教育センター",
            "取組",
            "継続",
            "年内",
            "実績",
            "○",
            "次の取組",
            "拡充",
            "□学校1\n□学校2",
            "",
        ]
    }

    #[test]
    fn reads_evaluation_with_carry_down_and_symbols() {
        let r1 = first_row();
        let r2 = row("2023", "B", "◯", "新規");
        let r3 = row("R5", "1-(1)-①-C", "〇", "-");
        let r4 = row("2023", "1-(1)-①-D", "‐", "拡充");
        let mut t = table(&eval(), &[&r1, &r2, &r3, &r4]);
        let f = read(&mut t).unwrap();
        assert_eq!(f.layout, Layout::Evaluation);
        assert_eq!(f.plan_name.as_deref(), Some("仙台市計画"));
        assert_eq!(f.period.unwrap().to_string(), "R5-R9");
        assert_eq!(f.items.len(), 3 + 4);
        assert_eq!(f.items[2].summary, "概要1");
        assert_eq!(f.items[3].divisions, ["教育指導課", "教育センター"]);
        let grades: Vec<Grade> = f.entries.iter().map(|e| e.fields.grade).collect();
        assert_eq!(grades, [Grade::Good, Grade::Good, Grade::Good, Grade::Ungraded]);
        assert_eq!(f.entries[1].goal.to_string(), "1-(1)-①-B");
        assert_eq!(f.entries[2].fields.status, None);
        assert_eq!(f.entries[0].fields.school_actions, ["学校1", "学校2"]);
        assert_eq!(f.entries[0].fields.next_status, Some(Status::Expanded));
    }

    #[test]
    fn bad_rows_name_row_and_column() {
        let r1 = first_row();
        let bad_grade = row("2023", "B", "×", "新規");
        let bad_status = row("2023", "C", "○", "廃止");
        let dup = row("2023", "1-(1)-①-B", "○", "継続");
        let orphan = row("2023", "1-(1)-⑨-A", "○", "継続");
        let out_of_period = row("2030", "1-(1)-①-E", "○", "継続");
        let mut t = table(&eval(), &[&r1, &bad_grade, &bad_status, &dup, &orphan, &out_of_period]);
        let Err(ReadError::Rows(errs)) = read(&mut t) else { panic!("expected row errors") };
        let msgs: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert!(msgs.iter().any(|m| m.starts_with("plan.csv:3:評価: × — 評価（◎、○、△")), "{msgs:#?}");
        assert!(msgs.iter().any(|m| m.starts_with("plan.csv:4:区分: 廃止 — 新規・継続・拡充")), "{msgs:#?}");
        assert!(
            msgs.iter().any(|m| m.contains("plan.csv:5:目標: 1-(1)-①-B — 同じ年度の同じ目標は1行だけ（3行目")),
            "{msgs:#?}"
        );
        assert!(msgs.iter().any(|m| m.starts_with("plan.csv:6:取組項目名:  — 取組項目「1-(1)-⑨」の名前")), "{msgs:#?}");
        assert!(msgs.iter().any(|m| m == "plan.csv:7:年度: 2030 — 計画期間 R5-R9 内の年度"), "{msgs:#?}");
    }

    #[test]
    fn missing_columns_are_named() {
        let mut t = table(&["年度", "目標", "評価"], &[&["2023", "1-(1)-①-A", "○"]]);
        let Err(ReadError::File(FileError::MissingColumns { missing, .. })) = read(&mut t) else {
            panic!("expected MissingColumns")
        };
        assert!(missing.iter().any(|m| m.contains("実績・課題")), "{missing:?}");
        assert!(!missing.iter().any(|m| m.contains("評価")), "{missing:?}");
    }

    #[test]
    fn reads_schedule() {
        let h = [
            "計画",
            "計画期間",
            "基本方針",
            "基本方針名",
            "施策",
            "施策名",
            "取組項目",
            "取組項目名",
            "目標",
            "目標内容",
            "担当課",
            "KPIの方向",
            "KPI",
            "開始",
            "終了",
            "内容",
        ];
        let mut t = table(
            &h,
            &[
                &[
                    "中央市",
                    "R7-R11",
                    "1",
                    "環境",
                    "1-(1)",
                    "機器",
                    "1-(1)-①",
                    "端末",
                    "1-(1)-①-A",
                    "端末の充足",
                    "教育委員会",
                    "↑",
                    "率100%",
                    "2025-04",
                    "2026-03",
                    "調達",
                ],
                &["", "", "", "", "", "", "", "", "1-(1)-①-A", "", "", "", "", "2026-04", "2027-03", "利用開始"],
                &["", "", "", "", "", "", "", "", "1-(1)-①-A", "", "", "？", "", "2027-04", "2026-03", "逆"],
            ],
        );
        let Err(ReadError::Rows(errs)) = read(&mut t) else { panic!("expected errors") };
        let msgs: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert_eq!(msgs.len(), 2, "{msgs:#?}");
        assert!(msgs[0].starts_with("plan.csv:4:KPIの方向: ？ — KPIの方向"), "{msgs:#?}");
        assert!(msgs[1].starts_with("plan.csv:4:終了: 2026-03 — 開始（2027-04）以後"), "{msgs:#?}");

        let mut t = table(
            &h,
            &[&[
                "中央市",
                "R7-R11",
                "1",
                "環境",
                "1-(1)",
                "機器",
                "1-(1)-①",
                "端末",
                "A",
                "端末の充足",
                "教育委員会",
                "◆",
                "",
                "2025-04",
                "2027-03",
                "調達",
            ]],
        );
        let f = read(&mut t).unwrap();
        assert_eq!(f.layout, Layout::Schedule);
        assert_eq!(f.bars.len(), 1);
        assert_eq!(f.bars[0].goal.to_string(), "1-(1)-①-A");
        let goal = f.items.iter().find(|i| i.code.level() == Level::Goal).unwrap();
        assert_eq!(goal.kpi_direction, Some(KpiDirection::Milestone));
    }

    #[test]
    fn the_examples_read_cleanly() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
        let mut t = crate::open_table(&root.join("sendai-r5/plan-r5.csv"), None).unwrap();
        let f = read(&mut t).unwrap();
        let count = |l: Level| f.items.iter().filter(|i| i.code.level() == l).count();
        assert_eq!((count(Level::Policy), count(Level::Measure), count(Level::Initiative)), (4, 7, 25));
        assert_eq!((count(Level::Goal), f.entries.len()), (53, 53));
        assert_eq!(f.period.unwrap().to_string(), "R5-R9");
        let sp = f.entries.iter().find(|e| e.goal.to_string() == "1-(3)-③-A").unwrap();
        assert_eq!(sp.fields.school_actions[0], "【特別支援学校】");
        let vr = f.items.iter().find(|i| i.code.to_string() == "1-(2)-⑤-A").unwrap();
        assert_eq!(vr.divisions, ["生涯学習課", "文化財課", "他"]);

        let mut t = crate::open_table(&root.join("chuo-r7-r11/schedule-r7-r11.csv"), None).unwrap();
        let f = read(&mut t).unwrap();
        assert_eq!(f.layout, Layout::Schedule);
        assert_eq!((f.bars.len(), f.items.iter().filter(|i| i.code.level() == Level::Goal).count()), (78, 19));
    }

    proptest! {
        #[test]
        fn arbitrary_cells_never_panic(cells in proptest::collection::vec("\\PC{0,12}", 22)) {
            let mut t = Table::from_rows("x.csv", eval().iter().map(|s| s.to_string()).collect(), vec![cells]);
            match read(&mut t) {
                Ok(f) => prop_assert!(f.entries.len() <= 1),
                Err(ReadError::Rows(e)) => prop_assert!(!e.is_empty()),
                Err(ReadError::File(_)) => {}
            }
        }
    }
}
