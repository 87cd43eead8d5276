//! 「行動計画 進捗・評価」 (資料4-1, Sendai seed 000) for one 年度, its grade summary per policy with
//! the previous year, and the multi-year schedule (Chuo seed 004) as a Gantt chart.
//!
//! [`PlanReport`] serialises to the issue-4 JSON contract. Its CSV and the first sheet of its XLSX
//! use exactly the import layout of `gigaops_ingest::plan` (evaluation), so export → import → export
//! gives the same bytes. [`ScheduleReport`] renders the bars as inline SVG, as an XLSX sheet with
//! one column per month, and as a CSV in the schedule import layout.

use crate::ReportError;
use askama::Template;
use gigaops_domain::calendar::YearMonth;
use gigaops_domain::plan::{
    join_school_actions, EntryFields, Grade, GradeCounts, ItemFields, KpiDirection, Level, PlanCode, Status,
};
use gigaops_domain::FiscalYear;
use gigaops_ingest::plan::{EvaluationColumn, SCHEDULE_COLUMNS};
use gigaops_store::plan::{self as store_plan, Plan};
use rust_xlsxwriter::{Color, DocProperties, Format, FormatAlign, FormatBorder, Workbook, Worksheet};
use serde::Serialize;
use std::collections::HashMap;

/// The evaluation of one year. JSON: `{"fiscal_year":2023,"policies":[{"code":"1","title":…,
/// "grade_counts":{"excellent":…,"good":…,"insufficient":…,"ungraded":…},"measures":[{"code":"1-(1)",
/// "title":…,"initiatives":[{"code":"1-(1)-①","title":…,"goals":[{"code":"1-(1)-①-A","text":…,
/// "divisions":[…],"action":…,"status":"continued","due":"年内","result":…,"grade":"good","next_action":…,
/// "next_status":"expanded","school_actions":[…]}]}]}]}],"grade_counts":{…}}`. Added keys: `plan`,
/// `period`, `previous` (the previous year's totals, `null` without entries), per policy
/// `previous_grade_counts`, per initiative `summary`, per goal `priority` and `previous_grade`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanReport {
    /// 計画 name.
    pub plan: String,
    /// 計画期間, e.g. `R5-R9`.
    pub period: String,
    /// 計画の注記 (e.g. that the plan is another city's, shown for illustration); the key is left
    /// out when the plan has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub fiscal_year: i32,
    pub policies: Vec<PolicyReport>,
    /// All goals of the year.
    pub grade_counts: GradeCounts,
    /// The previous year, when it has entries.
    pub previous: Option<PreviousYear>,
}

/// Totals of the previous year, for the comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PreviousYear {
    pub fiscal_year: i32,
    pub grade_counts: GradeCounts,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyReport {
    pub code: String,
    pub title: String,
    pub grade_counts: GradeCounts,
    /// The same policy's counts in the previous year; `null` when that year has no entries.
    pub previous_grade_counts: Option<GradeCounts>,
    pub measures: Vec<MeasureReport>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeasureReport {
    pub code: String,
    pub title: String,
    pub initiatives: Vec<InitiativeReport>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InitiativeReport {
    pub code: String,
    pub title: String,
    /// 概要.
    pub summary: String,
    pub goals: Vec<GoalReport>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GoalReport {
    pub code: String,
    /// 目標 (e.g. 令和9年度までの目標).
    pub text: String,
    /// 担当課.
    pub divisions: Vec<String>,
    /// action, status, due, result, grade, next_action, next_status, school_actions, priority.
    #[serde(flatten)]
    pub fields: EntryFields,
    /// The grade of the previous year, if the goal had an entry then.
    pub previous_grade: Option<Grade>,
}

/// Builds the report of `fy` from the store: the goals with an entry in `fy`, under their
/// initiatives, measures and policies (empty branches left out), counted per policy.
///
/// Errors: database errors.
pub async fn build(
    store: &gigaops_store::Store,
    plan: &Plan,
    fy: FiscalYear,
) -> Result<PlanReport, gigaops_store::StoreError> {
    let items = store_plan::items(store, plan.id).await?;
    let entries = store_plan::entries(store, plan.id, fy).await?;
    let previous = store_plan::entries(store, plan.id, fy.previous()).await?;
    Ok(assemble(plan, fy, &items, &entries, &previous))
}

/// [`build`] from what the store gave: the plan's `items`, its `entries` of `fy` and those of the
/// previous year (`previous`), for a page that shows those rows too and reads them once.
pub fn assemble(
    plan: &Plan,
    fy: FiscalYear,
    items: &[store_plan::Item],
    entries: &[store_plan::Entry],
    previous: &[store_plan::Entry],
) -> PlanReport {
    let by_code: HashMap<PlanCode, &ItemFields> = items.iter().map(|i| (i.fields.code, &i.fields)).collect();
    let prev: HashMap<&str, Grade> = previous.iter().map(|e| (e.goal.as_str(), e.fields.grade)).collect();
    let title = |c: Option<PlanCode>| c.and_then(|c| by_code.get(&c)).map(|i| i.title.clone()).unwrap_or_default();
    let mut policies: Vec<PolicyReport> = Vec::new();
    let mut sorted: Vec<(PlanCode, &store_plan::Entry)> =
        entries.iter().filter_map(|e| Some((PlanCode::parse(&e.goal).ok()?, e))).collect();
    sorted.sort_by_key(|(c, _)| *c);
    for (code, e) in sorted {
        let (Some(pc), Some(mc), Some(ic)) =
            (code.at(Level::Policy), code.at(Level::Measure), code.at(Level::Initiative))
        else {
            continue;
        };
        if policies.last().is_none_or(|p| p.code != pc.to_string()) {
            policies.push(PolicyReport {
                code: pc.to_string(),
                title: title(Some(pc)),
                grade_counts: GradeCounts::default(),
                previous_grade_counts: None,
                measures: Vec::new(),
            });
        }
        let p = policies.last_mut().expect("pushed");
        if p.measures.last().is_none_or(|m| m.code != mc.to_string()) {
            p.measures.push(MeasureReport { code: mc.to_string(), title: title(Some(mc)), initiatives: Vec::new() });
        }
        let m = p.measures.last_mut().expect("pushed");
        if m.initiatives.last().is_none_or(|i| i.code != ic.to_string()) {
            m.initiatives.push(InitiativeReport {
                code: ic.to_string(),
                title: title(Some(ic)),
                summary: by_code.get(&ic).map(|i| i.summary.clone()).unwrap_or_default(),
                goals: Vec::new(),
            });
        }
        let goal = by_code.get(&code);
        p.grade_counts.add(e.fields.grade);
        m.initiatives.last_mut().expect("pushed").goals.push(GoalReport {
            code: code.to_string(),
            text: goal.map(|g| g.title.clone()).unwrap_or_default(),
            divisions: goal.map(|g| g.divisions.clone()).unwrap_or_default(),
            fields: e.fields.clone(),
            previous_grade: prev.get(e.goal.as_str()).copied(),
        });
    }
    let has_previous = !previous.is_empty();
    for p in &mut policies {
        if has_previous {
            p.previous_grade_counts = Some(GradeCounts::of(
                previous.iter().filter(|e| e.goal.split('-').next() == Some(p.code.as_str())).map(|e| e.fields.grade),
            ));
        }
    }
    PlanReport {
        plan: plan.name.clone(),
        period: plan.period.to_string(),
        note: plan.note.clone(),
        fiscal_year: fy.0,
        grade_counts: policies.iter().fold(GradeCounts::default(), |a, p| a.plus(p.grade_counts)),
        policies,
        previous: has_previous.then(|| PreviousYear {
            fiscal_year: fy.previous().0,
            grade_counts: GradeCounts::of(previous.iter().map(|e| e.fields.grade)),
        }),
    }
}

fn status_ja(s: Option<Status>) -> &'static str {
    s.map_or("", Status::label_ja)
}

/// A goal with its ancestors, in document order.
struct Flat<'a> {
    policy: &'a PolicyReport,
    measure: &'a MeasureReport,
    initiative: &'a InitiativeReport,
    goal: &'a GoalReport,
}

impl PlanReport {
    fn year(&self) -> FiscalYear {
        FiscalYear(self.fiscal_year)
    }

    /// `仙台市学校教育情報化推進計画　行動計画 令和5年度 進捗・評価 令和6年度の取組`.
    pub fn title(&self) -> String {
        format!(
            "{}　行動計画 {} 進捗・評価 {}の取組",
            self.plan,
            self.year().label_ja(),
            FiscalYear(self.fiscal_year + 1).label_ja()
        )
    }

    /// The JSON contract, pretty-printed.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the plan report serialises")
    }

    fn flat(&self) -> Vec<Flat<'_>> {
        let mut v = Vec::new();
        for policy in &self.policies {
            for measure in &policy.measures {
                for initiative in &measure.initiatives {
                    for goal in &initiative.goals {
                        v.push(Flat { policy, measure, initiative, goal });
                    }
                }
            }
        }
        v
    }

    /// The cell of one goal row in column `c` of the evaluation import layout.
    fn layout_cell(&self, f: &Flat<'_>, c: EvaluationColumn) -> String {
        use EvaluationColumn as C;
        let g = f.goal;
        let e = &g.fields;
        match c {
            C::Plan => self.plan.clone(),
            C::Period => self.period.clone(),
            C::FiscalYear => self.fiscal_year.to_string(),
            C::Policy => f.policy.code.clone(),
            C::PolicyTitle => f.policy.title.clone(),
            C::Measure => f.measure.code.clone(),
            C::MeasureTitle => f.measure.title.clone(),
            C::Initiative => f.initiative.code.clone(),
            C::InitiativeTitle => f.initiative.title.clone(),
            C::Summary => f.initiative.summary.clone(),
            C::Goal => g.code.clone(),
            C::GoalText => g.text.clone(),
            C::Divisions => g.divisions.join("、"),
            C::Action => e.action.clone(),
            C::Status => status_ja(e.status).to_string(),
            C::Due => e.due.clone(),
            C::Result => e.result.clone(),
            C::Grade => e.grade.symbol().to_string(),
            C::NextAction => e.next_action.clone(),
            C::NextStatus => status_ja(e.next_status).to_string(),
            C::SchoolActions => join_school_actions(&e.school_actions),
            C::Priority => if e.priority { "○" } else { "" }.to_string(),
        }
    }

    /// The cells of one goal row in the evaluation import layout ([`EvaluationColumn::ALL`] order).
    fn layout_row(&self, f: &Flat<'_>) -> Vec<String> {
        EvaluationColumn::ALL.iter().map(|c| self.layout_cell(f, *c)).collect()
    }

    /// The table as CSV in the import layout: UTF-8 with BOM, CRLF, header labels of
    /// [`EvaluationColumn`], one row per goal, every hierarchy cell written (no carry-down).
    /// Importing this file and exporting again gives the same bytes.
    pub fn to_csv(&self) -> Vec<u8> {
        let labels = EvaluationColumn::ALL.iter().map(|c| c.label());
        layout_csv(labels, self.flat().iter().map(|f| self.layout_row(f)))
    }

    /// The workbook: sheet 「資料4-1」 in the import layout (header in row 1, repeated on every printed
    /// page; policy, measure and initiative cells merged over their goals; A4 landscape, one page wide,
    /// the title in the page header) and sheet 「評価の集計」 (grades per policy, this year and the
    /// previous one). Deterministic bytes (fixed document date).
    ///
    /// Errors: [`ReportError::Xlsx`].
    pub fn to_xlsx(&self) -> Result<Vec<u8>, ReportError> {
        let mut wb = workbook()?;
        let f = XlsxFormats::new();
        let sheet = wb.add_worksheet();
        sheet.set_name("資料4-1")?;
        page_setup(sheet, &self.title())?;
        for &c in EvaluationColumn::ALL {
            sheet.write_string_with_format(0, c.index() as u16, c.label(), &f.header)?;
            sheet.set_column_width(c.index() as u16, column_width(c))?;
        }
        let flat = self.flat();
        for (i, fl) in flat.iter().enumerate() {
            for (c, v) in self.layout_row(fl).iter().enumerate() {
                sheet.write_string_with_format(i as u32 + 1, c as u16, v, &f.cell)?;
            }
        }
        // merge the hierarchy columns (policy, measure, initiative with its 概要) over their goals
        use EvaluationColumn as C;
        let groups: [(Level, &[EvaluationColumn]); 3] = [
            (Level::Policy, &[C::Policy, C::PolicyTitle]),
            (Level::Measure, &[C::Measure, C::MeasureTitle]),
            (Level::Initiative, &[C::Initiative, C::InitiativeTitle, C::Summary]),
        ];
        for (level, cols) in groups {
            let key = |fl: &Flat<'_>| match level {
                Level::Policy => fl.policy.code.clone(),
                Level::Measure => fl.measure.code.clone(),
                _ => fl.initiative.code.clone(),
            };
            let mut start = 0;
            while start < flat.len() {
                let k = key(&flat[start]);
                let mut end = start;
                while end + 1 < flat.len() && key(&flat[end + 1]) == k {
                    end += 1;
                }
                if end > start {
                    for &c in cols {
                        let (first, last, col) = (start as u32 + 1, end as u32 + 1, c.index() as u16);
                        sheet.merge_range(first, col, last, col, &self.layout_cell(&flat[start], c), &f.cell)?;
                    }
                }
                start = end + 1;
            }
        }
        let summary = wb.add_worksheet();
        summary.set_name("評価の集計")?;
        page_setup(summary, &format!("評価の集計（{}）", self.year().label_ja()))?;
        let table = self.summary_table();
        for (c, label) in table.columns.iter().enumerate() {
            summary.write_string_with_format(0, c as u16, label, &f.header)?;
            summary.set_column_width(c as u16, if c == 0 { 48.0 } else { 10.0 })?;
        }
        for (r, row) in table.rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                match cell {
                    crate::Cell::Int(n) => {
                        summary.write_number_with_format(r as u32 + 1, c as u16, *n as f64, &f.cell)?
                    }
                    other => summary.write_string_with_format(r as u32 + 1, c as u16, other.display(), &f.cell)?,
                };
            }
        }
        Ok(wb.save_to_buffer()?)
    }

    /// The grade summary: one row per policy and a total row; columns ◎ ○ △ 評価なし 計 and, when
    /// the previous year has entries, the same for that year and the change in ◎ + ○.
    pub fn summary_table(&self) -> crate::Table {
        let prev_label = FiscalYear(self.fiscal_year - 1).label_ja();
        let mut columns: Vec<String> = vec!["基本方針".into()];
        columns.extend(Grade::ALL.iter().map(|g| g.label_ja().to_string()));
        columns.push("計".into());
        if self.previous.is_some() {
            columns.extend(Grade::ALL.iter().map(|g| format!("{prev_label} {}", g.label_ja())));
            columns.push(format!("{prev_label} 計"));
            columns.push("◎＋○ 前年度比".into());
        }
        let mut t = crate::Table::new(format!("評価の集計（{}）", self.year().label_ja()), columns);
        let row = |label: String, now: GradeCounts, before: Option<GradeCounts>| -> Vec<crate::Cell> {
            let mut r = vec![crate::Cell::Text(label)];
            r.extend(Grade::ALL.iter().map(|g| crate::Cell::Int(now.get(*g).into())));
            r.push(crate::Cell::Int(now.total().into()));
            if let Some(b) = before {
                r.extend(Grade::ALL.iter().map(|g| crate::Cell::Int(b.get(*g).into())));
                r.push(crate::Cell::Int(b.total().into()));
                let met = |c: GradeCounts| i64::from(c.excellent + c.good);
                r.push(crate::Cell::Text(format!("{:+}", met(now) - met(b))));
            }
            r
        };
        let has_prev = self.previous.is_some();
        for p in &self.policies {
            let before = has_prev.then(|| p.previous_grade_counts.unwrap_or_default());
            t.rows.push(row(format!("基本方針{} {}", p.code, p.title), p.grade_counts, before));
        }
        t.rows.push(row("計".into(), self.grade_counts, self.previous.as_ref().map(|p| p.grade_counts)));
        t
    }

    fn view(&self) -> PlanView {
        let fy = self.year();
        let mut rows = Vec::new();
        for p in &self.policies {
            rows.push(HtmlRow::Heading { class: "policy", text: format!("基本方針{}　{}", p.code, p.title) });
            for m in &p.measures {
                rows.push(HtmlRow::Heading { class: "measure", text: format!("{}　{}", m.code, m.title) });
                for i in &m.initiatives {
                    for (k, g) in i.goals.iter().enumerate() {
                        rows.push(HtmlRow::Goal {
                            initiative: (k == 0)
                                .then(|| (i.goals.len(), format!("{}　{}", i.code, i.title), i.summary.clone())),
                            letter: g.code.rsplit('-').next().unwrap_or_default().to_string(),
                            text: g.text.clone(),
                            divisions: g.divisions.join("、"),
                            action: g.fields.action.clone(),
                            status: status_ja(g.fields.status),
                            due: g.fields.due.clone(),
                            result: g.fields.result.clone(),
                            grade: if g.fields.grade == Grade::Ungraded { "-" } else { g.fields.grade.symbol() },
                            next_action: g.fields.next_action.clone(),
                            next_status: status_ja(g.fields.next_status),
                            school: g.fields.school_actions.iter().map(|s| display_school_action(s)).collect(),
                            priority: g.fields.priority,
                        });
                    }
                }
            }
        }
        PlanView {
            title: self.title(),
            note: self.note.clone(),
            goal_header: format!(
                "{}までの目標",
                period_last(&self.period).map_or_else(|| "計画期間".to_string(), |y| y.label_ja())
            ),
            year_header: format!("{}の取組", fy.label_ja()),
            next_header: format!("{}の取組", FiscalYear(fy.0 + 1).label_ja()),
            rows,
            summary_html: crate::render::to_html(&self.summary_table()),
        }
    }

    /// The 資料4-1 table as a complete HTML page for A4 landscape printing: the column header is a
    /// `<thead>` (repeated on every printed page), policy and measure headings span the row,
    /// initiatives span their goals; then the grade summary. All text escaped; nothing loaded from
    /// elsewhere.
    pub fn to_html_document(&self) -> String {
        PlanDocument { view: self.view() }.render().expect("rendering the plan report cannot fail")
    }

    /// The same table and summary as a fragment for a web page.
    pub fn to_html_fragment(&self) -> String {
        PlanFragment { view: self.view() }.render().expect("rendering the plan report cannot fail")
    }
}

/// `□` + item, or a heading (`【特別支援学校】`) as it is.
fn display_school_action(s: &str) -> String {
    if s.starts_with('【') {
        s.trim_start_matches('【').trim_end_matches('】').to_string()
    } else {
        format!("□{s}")
    }
}

fn period_last(period: &str) -> Option<FiscalYear> {
    gigaops_domain::plan::Period::parse(period).map(|p| p.last)
}

/// Width of a column of the 資料4-1 sheet (Excel units).
fn column_width(c: EvaluationColumn) -> f64 {
    use EvaluationColumn as C;
    match c {
        C::Plan => 16.0,
        C::Period => 8.0,
        C::FiscalYear | C::Policy | C::Status => 6.0,
        C::Grade | C::Priority => 5.0,
        C::PolicyTitle => 24.0,
        C::Measure | C::NextStatus => 7.0,
        C::MeasureTitle => 18.0,
        C::Initiative | C::Due => 8.0,
        C::InitiativeTitle => 20.0,
        C::Summary | C::GoalText | C::Action | C::NextAction => 30.0,
        C::Goal => 10.0,
        C::Divisions => 14.0,
        C::Result => 26.0,
        C::SchoolActions => 28.0,
    }
}

/// A CSV in an import layout: [`crate::render::write_csv`] with every cell as text.
fn layout_csv<S: AsRef<str>>(
    labels: impl IntoIterator<Item = S>,
    rows: impl IntoIterator<Item = Vec<String>>,
) -> Vec<u8> {
    let rows: Vec<Vec<crate::Cell>> =
        rows.into_iter().map(|r| r.into_iter().map(crate::Cell::Text).collect()).collect();
    crate::render::write_csv(labels, rows.iter())
}

struct XlsxFormats {
    header: Format,
    cell: Format,
    bar: Format,
}

impl XlsxFormats {
    fn new() -> Self {
        let base = Format::new().set_border(FormatBorder::Thin).set_text_wrap().set_align(FormatAlign::Top);
        XlsxFormats {
            header: base.clone().set_bold().set_align(FormatAlign::Center).set_background_color(Color::RGB(0xE8EDF5)),
            bar: base.clone().set_background_color(Color::RGB(0xBFD3E6)),
            cell: base,
        }
    }
}

/// A workbook with a fixed creation date, so the same report gives the same bytes.
fn workbook() -> Result<Workbook, ReportError> {
    let mut wb = Workbook::new();
    let date = rust_xlsxwriter::ExcelDateTime::from_ymd(2000, 1, 1)?;
    wb.set_properties(&DocProperties::new().set_creation_datetime(&date));
    Ok(wb)
}

fn page_setup(sheet: &mut Worksheet, title: &str) -> Result<(), ReportError> {
    sheet.set_landscape().set_paper_size(9).set_print_fit_to_pages(1, 0);
    sheet.set_header(format!("&C{}", title.replace('&', "&&")));
    sheet.set_repeat_rows(0, 0)?;
    sheet.set_freeze_panes(1, 0)?;
    Ok(())
}

#[allow(clippy::large_enum_variant)] // a few hundred rows per page, built once
enum HtmlRow {
    Heading {
        class: &'static str,
        text: String,
    },
    Goal {
        /// (rowspan, 項目, 概要) on the initiative's first goal.
        initiative: Option<(usize, String, String)>,
        letter: String,
        text: String,
        divisions: String,
        action: String,
        status: &'static str,
        due: String,
        result: String,
        grade: &'static str,
        next_action: String,
        next_status: &'static str,
        school: Vec<String>,
        priority: bool,
    },
}

struct PlanView {
    title: String,
    /// Shown under the title of the document (not in the fragment: the page shows it itself).
    note: Option<String>,
    goal_header: String,
    year_header: String,
    next_header: String,
    rows: Vec<HtmlRow>,
    summary_html: String,
}

#[derive(Template)]
#[template(path = "plan_report.html")]
struct PlanDocument {
    view: PlanView,
}

#[derive(Template)]
#[template(path = "plan_report.html", block = "content")]
struct PlanFragment {
    view: PlanView,
}

// ---------------------------------------------------------------------------------------------
// Schedule

/// A plan's schedule: every goal with bars, KPI direction or KPI, over the plan period's months.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScheduleReport {
    pub plan: String,
    pub period: String,
    /// 計画の注記; the key is left out when the plan has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// First and last month shown (`YYYY-MM`): April of the first year to March after the last.
    pub first_month: String,
    pub last_month: String,
    pub goals: Vec<ScheduleGoal>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScheduleGoal {
    pub code: String,
    pub policy: String,
    pub measure: String,
    /// The initiative's title (Chuo's 目標).
    pub title: String,
    /// The goal's text (Chuo's 内容).
    pub text: String,
    pub divisions: Vec<String>,
    pub kpi_direction: Option<KpiDirection>,
    pub kpi: String,
    pub bars: Vec<ScheduleBarReport>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScheduleBarReport {
    /// `YYYY-MM`.
    pub start: String,
    pub end: String,
    pub label: String,
}

/// Builds the schedule of a plan from the store.
///
/// Errors: database errors.
pub async fn build_schedule(
    store: &gigaops_store::Store,
    plan: &Plan,
) -> Result<ScheduleReport, gigaops_store::StoreError> {
    let items = store_plan::items(store, plan.id).await?;
    let bars = store_plan::bars(store, plan.id).await?;
    let by_code: HashMap<PlanCode, &ItemFields> = items.iter().map(|i| (i.fields.code, &i.fields)).collect();
    let title = |c: Option<PlanCode>| c.and_then(|c| by_code.get(&c)).map(|i| i.title.clone()).unwrap_or_default();
    let goals = items
        .iter()
        .map(|i| &i.fields)
        .filter(|i| i.code.level() == Level::Goal)
        .filter_map(|g| {
            let mine: Vec<ScheduleBarReport> = bars
                .iter()
                .filter(|b| b.goal == g.code)
                .map(|b| ScheduleBarReport {
                    start: b.start.to_string(),
                    end: b.end.to_string(),
                    label: b.label.clone(),
                })
                .collect();
            (!mine.is_empty() || g.kpi_direction.is_some() || !g.kpi.is_empty()).then(|| ScheduleGoal {
                code: g.code.to_string(),
                policy: title(g.code.at(Level::Policy)),
                measure: title(g.code.at(Level::Measure)),
                title: title(g.code.at(Level::Initiative)),
                text: g.title.clone(),
                divisions: g.divisions.clone(),
                kpi_direction: g.kpi_direction,
                kpi: g.kpi.clone(),
                bars: mine,
            })
        })
        .collect();
    let first = plan.period.first.months()[0];
    let last = plan.period.last.months()[11];
    Ok(ScheduleReport {
        plan: plan.name.clone(),
        period: plan.period.to_string(),
        note: plan.note.clone(),
        first_month: first.to_string(),
        last_month: last.to_string(),
        goals,
    })
}

impl ScheduleReport {
    fn months(&self) -> Vec<YearMonth> {
        let (Ok(a), Ok(b)) = (self.first_month.parse::<YearMonth>(), self.last_month.parse::<YearMonth>()) else {
            return Vec::new();
        };
        (0..=a.months_until(b)).map(|k| a.add_months(k)).collect()
    }

    /// `中央市ICT推進計画 スケジュール（R7-R11）`.
    pub fn title(&self) -> String {
        format!("{} スケジュール（{}）", self.plan, self.period)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the schedule serialises")
    }

    /// The bars as CSV in the schedule import layout ([`SCHEDULE_COLUMNS`]), one row per bar, every
    /// cell written. Import → export gives the same bytes.
    pub fn to_csv(&self) -> Vec<u8> {
        let rows = self.goals.iter().flat_map(|g| {
            let code: Option<PlanCode> = g.code.parse().ok();
            let at = |l: Level| code.and_then(|c| c.at(l)).map(|c| c.to_string()).unwrap_or_default();
            let lead = [
                self.plan.clone(),
                self.period.clone(),
                at(Level::Policy),
                g.policy.clone(),
                at(Level::Measure),
                g.measure.clone(),
                at(Level::Initiative),
                g.title.clone(),
                g.code.clone(),
                g.text.clone(),
                g.divisions.join("、"),
                g.kpi_direction.map_or("", KpiDirection::symbol).to_string(),
                g.kpi.clone(),
            ];
            g.bars.iter().map(move |b| {
                let mut row = lead.to_vec();
                row.extend([b.start.clone(), b.end.clone(), b.label.clone()]);
                row
            })
        });
        layout_csv(SCHEDULE_COLUMNS.iter().map(|a| a[0]), rows)
    }

    /// The schedule sheet: 目標, 内容, 担当課, then one column per month of the period (headed
    /// `R7 4月` …), bars as shaded merged cells with their label, then KPIの方向 and KPI. A4 landscape.
    ///
    /// Errors: [`ReportError::Xlsx`].
    pub fn to_xlsx(&self) -> Result<Vec<u8>, ReportError> {
        let mut wb = workbook()?;
        let f = XlsxFormats::new();
        let sheet = wb.add_worksheet();
        sheet.set_name("スケジュール")?;
        page_setup(sheet, &self.title())?;
        let months = self.months();
        let lead = ["目標コード", "目標", "内容", "担当課"];
        for (c, l) in lead.iter().enumerate() {
            sheet.write_string_with_format(0, c as u16, *l, &f.header)?;
        }
        sheet.set_column_width(0, 10.0)?;
        sheet.set_column_width(1, 20.0)?;
        sheet.set_column_width(2, 28.0)?;
        sheet.set_column_width(3, 14.0)?;
        let first_month_col = lead.len() as u16;
        for (k, m) in months.iter().enumerate() {
            let c = first_month_col + k as u16;
            sheet.write_string_with_format(
                0,
                c,
                format!("{} {}月", m.fiscal_year().short_label(), m.month()),
                &f.header,
            )?;
            sheet.set_column_width(c, 4.5)?;
        }
        let dir_col = first_month_col + months.len() as u16;
        sheet.write_string_with_format(0, dir_col, "KPIの方向", &f.header)?;
        sheet.write_string_with_format(0, dir_col + 1, "KPI", &f.header)?;
        sheet.set_column_width(dir_col + 1, 40.0)?;
        for (r, g) in self.goals.iter().enumerate() {
            let row = r as u32 + 1;
            sheet.write_string_with_format(row, 0, &g.code, &f.cell)?;
            sheet.write_string_with_format(row, 1, &g.title, &f.cell)?;
            sheet.write_string_with_format(row, 2, &g.text, &f.cell)?;
            sheet.write_string_with_format(row, 3, g.divisions.join("、"), &f.cell)?;
            for k in 0..months.len() {
                sheet.write_blank(row, first_month_col + k as u16, &f.cell)?;
            }
            let mut used: Vec<(usize, usize)> = Vec::new();
            for b in &g.bars {
                let (Ok(s), Ok(e)) = (b.start.parse::<YearMonth>(), b.end.parse::<YearMonth>()) else { continue };
                let Some(a) = months.iter().position(|m| *m >= s) else { continue };
                let Some(z) = months.iter().rposition(|m| *m <= e) else { continue };
                if z < a {
                    continue;
                }
                let (ca, cz) = (first_month_col + a as u16, first_month_col + z as u16);
                if a == z || used.iter().any(|&(x, y)| a <= y && x <= z) {
                    sheet.write_string_with_format(row, ca, &b.label, &f.bar)?;
                } else {
                    sheet.merge_range(row, ca, row, cz, &b.label, &f.bar)?;
                }
                used.push((a, z));
            }
            sheet.write_string_with_format(row, dir_col, g.kpi_direction.map_or("", KpiDirection::symbol), &f.cell)?;
            sheet.write_string_with_format(row, dir_col + 1, &g.kpi, &f.cell)?;
        }
        Ok(wb.save_to_buffer()?)
    }

    /// A complete HTML page (A4 landscape) with the title, the plan's note (if any) and the Gantt
    /// chart inline.
    pub fn to_html_document(&self) -> String {
        let title = crate::svg::escape(&self.title());
        let note = self
            .note
            .as_deref()
            .map(|n| format!("<p class=\"plan-note\">{}</p>\n", crate::svg::escape(n)))
            .unwrap_or_default();
        format!(
            "<!DOCTYPE html>\n<html lang=\"ja\">\n<head>\n<meta charset=\"utf-8\">\n<title>{title}</title>\n<style>\n\
             @page {{ size: A4 landscape; margin: 10mm; }}\nbody {{ font-family: IPAexGothic, \"Noto Sans CJK JP\", sans-serif; }}\n\
             svg.plan-gantt {{ width: 100%; height: auto; }}\n</style>\n</head>\n<body>\n<h1>{title}</h1>\n{note}{}\n</body>\n</html>\n",
            self.to_svg()
        )
    }

    /// The Gantt chart as inline SVG: one lane per goal (code and title on the left), a column per
    /// month with the fiscal years labelled above, bars with their labels, the KPI direction mark on
    /// the right. Deterministic; all text escaped.
    pub fn to_svg(&self) -> String {
        use crate::svg::{escape, FONT_FAMILY};
        use std::fmt::Write as _;
        let months = self.months();
        let (left, top, lane, month_w, right) = (260.0, 44.0, 30.0, 14.0, 40.0);
        let width = left + month_w * months.len() as f64 + right;
        let height = top + lane * self.goals.len() as f64 + 10.0;
        let mut s = String::new();
        let _ = write!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" class="plan-gantt" viewBox="0 0 {width:.1} {height:.1}" width="{width:.1}" height="{height:.1}" font-family="{FONT_FAMILY}" font-size="10" role="img" aria-label="{}">"#,
            escape(&self.title())
        );
        let _ = write!(s, "<title>{}</title>", escape(&self.title()));
        // year bands and month ticks
        for (k, m) in months.iter().enumerate() {
            let x = left + month_w * k as f64;
            if m.month() == 4 {
                let _ = write!(
                    s,
                    r##"<line x1="{x:.1}" y1="14.0" x2="{x:.1}" y2="{height:.1}" stroke="#888" stroke-width="0.8"/><text x="{:.1}" y="12.0">{}</text>"##,
                    x + 2.0,
                    escape(&m.fiscal_year().label_ja())
                );
            }
            if m.month() % 3 == 1 {
                let _ =
                    write!(s, r#"<text x="{:.1}" y="{:.1}" font-size="8">{}</text>"#, x + 1.0, top - 6.0, m.month());
            }
        }
        for (r, g) in self.goals.iter().enumerate() {
            let y = top + lane * r as f64;
            let _ = write!(
                s,
                r##"<line x1="0.0" y1="{y:.1}" x2="{width:.1}" y2="{y:.1}" stroke="#ddd"/><text x="2.0" y="{:.1}">{} {}</text>"##,
                y + lane / 2.0 + 3.0,
                escape(&g.code),
                escape(&truncate(&g.title, 18))
            );
            for (i, b) in g.bars.iter().enumerate() {
                let (Ok(bs), Ok(be)) = (b.start.parse::<YearMonth>(), b.end.parse::<YearMonth>()) else { continue };
                let Some(a) = months.iter().position(|m| *m >= bs) else { continue };
                let Some(z) = months.iter().rposition(|m| *m <= be) else { continue };
                if z < a {
                    continue;
                }
                let x = left + month_w * a as f64 + 1.0;
                let w = month_w * (z - a + 1) as f64 - 2.0;
                let color = crate::svg::BAR_COLORS[i % crate::svg::BAR_COLORS.len()];
                let chars = ((w / 10.0).floor() as usize).max(1);
                let _ = write!(
                    s,
                    r##"<g class="bar"><rect x="{x:.1}" y="{:.1}" width="{w:.1}" height="{:.1}" fill="{color}" fill-opacity="0.35" stroke="{color}"><title>{}</title></rect><text x="{:.1}" y="{:.1}" font-size="9">{}</text></g>"##,
                    y + 4.0,
                    lane - 8.0,
                    escape(&format!("{}〜{} {}", b.start, b.end, b.label)),
                    x + 2.0,
                    y + lane / 2.0 + 3.0,
                    escape(&truncate(&b.label, chars))
                );
            }
            if let Some(d) = g.kpi_direction {
                let _ = write!(
                    s,
                    r#"<text class="kpi" x="{:.1}" y="{:.1}" font-size="12">{}</text>"#,
                    width - right + 12.0,
                    y + lane / 2.0 + 4.0,
                    escape(d.symbol())
                );
            }
        }
        s.push_str("</svg>");
        s
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}
