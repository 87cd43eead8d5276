//! 「令和４年９月以降の対応数と改善状況」: the escalation results per month and per cohort (the
//! month a case opened), as in Maebashi's report (seed 003). The JSON shape of
//! [`EscalationReport`] is a contract:
//! `{"months":[{"month":"2022-10","new_cases":5,"steps":{"1":5,"2":11,"3":0,"4":0},"improved":5,
//! "continued":0,"missing_data":0}, …],"cohorts":[{"cohort":"2022-09","entered":16,
//! "reached":{"2":11,"3":3,"4":2},"improved_after":{"1":5,"2":8,"3":1,"4":0}}, …]}`.
//! `steps.N` counts the cases that took step N in the month (step 1 = the new cases);
//! `improved_after` has a key for every step (a case at the last step can improve too), and
//! `stale_months` lists months whose usage changed after they were run.

use super::{SectionView, SectionsDocument, SectionsFragment, SectionsView};
use crate::render::{self, Cell, Table};
use crate::svg::{self, BarLineChart, FunnelChart, Series};
use crate::ReportError;
use askama::Template;
use gigaops_domain::usage::{cohort_summaries, month_summaries, CohortSummary, EscalationPolicy, MonthSummary};
use gigaops_domain::YearMonth;

const TITLE: &str = "通信量の多い児童生徒への段階的な対応";

/// The escalation report for a range of months.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EscalationReport {
    pub months: Vec<MonthSummary>,
    pub cohorts: Vec<CohortSummary>,
    /// Months in the range whose usage changed after their run (run them again).
    pub stale_months: Vec<String>,
    /// Months in the range not run yet.
    pub not_run: Vec<String>,
    #[serde(skip)]
    pub policy: EscalationPolicy,
}

fn circled(n: usize) -> String {
    ["①", "②", "③", "④", "⑤", "⑥", "⑦", "⑧", "⑨"]
        .get(n.wrapping_sub(1))
        .map_or_else(|| n.to_string(), |s| s.to_string())
}

/// Builds the report for `from..=to` from the recorded runs.
///
/// Errors: database errors from the store.
pub async fn build(
    store: &gigaops_store::Store,
    municipality_id: i64,
    from: YearMonth,
    to: YearMonth,
) -> Result<EscalationReport, gigaops_store::StoreError> {
    use gigaops_store::usage::escalation;
    let policy = escalation::policy(store, municipality_id).await?;
    let events = escalation::events(store, municipality_id, from, to).await?;
    let runs = escalation::runs(store, municipality_id).await?;
    let mut months = Vec::new();
    let mut m = from;
    while m <= to {
        months.push(m);
        m = m.add_months(1);
    }
    let n = policy.step_count();
    Ok(EscalationReport {
        months: month_summaries(&events, &months, n),
        cohorts: cohort_summaries(&events, &months, n),
        stale_months: runs
            .iter()
            .filter(|r| r.stale && months.contains(&r.month))
            .map(|r| r.month.to_string())
            .collect(),
        not_run: months.iter().filter(|m| !runs.iter().any(|r| r.month == **m)).map(|m| m.to_string()).collect(),
        policy,
    })
}

fn label(month: &str) -> String {
    month.parse::<YearMonth>().map(|m| format!("{}年{}月", m.year(), m.month())).unwrap_or_else(|_| month.to_string())
}

impl EscalationReport {
    fn steps(&self) -> usize {
        self.policy.steps.len()
    }

    /// The JSON contract, pretty-printed.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the report serialises to JSON")
    }

    /// 月別 (month, new, each step, improved, continued, missing) and コホート別 (cohort, entered,
    /// reached ②…, improved after ①…).
    pub fn tables(&self) -> Vec<Table> {
        let n = self.steps();
        let step_label = |i: usize| format!("{} {}", circled(i), self.policy.steps[i - 1].name);
        let mut months = Table::new(
            "月別の対応数",
            ["月".to_string(), "新規対象者".to_string()]
                .into_iter()
                .chain((1..=n).map(step_label))
                .chain(["改善された", "最終段階で継続", "データなし"].map(String::from)),
        );
        for m in &self.months {
            let mut row = vec![Cell::Text(label(&m.month)), Cell::Int(m.new_cases)];
            row.extend((1..=n).map(|i| Cell::Int(m.steps.get(&i.to_string()).copied().unwrap_or(0))));
            row.extend([Cell::Int(m.improved), Cell::Int(m.continued), Cell::Int(m.missing_data)]);
            months.rows.push(row);
        }
        let mut cohorts = Table::new(
            "開始月別（コホート）の推移",
            ["開始月".to_string(), "対象者".to_string()]
                .into_iter()
                .chain((2..=n).map(|i| format!("{}に進んだ", circled(i))))
                .chain((1..=n).map(|i| format!("{}の後に改善", circled(i)))),
        );
        for c in &self.cohorts {
            let mut row = vec![Cell::Text(label(&c.cohort)), Cell::Int(c.entered)];
            row.extend((2..=n).map(|i| Cell::Int(c.reached.get(&i.to_string()).copied().unwrap_or(0))));
            row.extend((1..=n).map(|i| Cell::Int(c.improved_after.get(&i.to_string()).copied().unwrap_or(0))));
            cohorts.rows.push(row);
        }
        let mut notes = Vec::new();
        if !self.stale_months.is_empty() {
            notes.push(("再判定が必要な月".to_string(), Cell::Text(self.stale_months.join("、"))));
        }
        if !self.not_run.is_empty() {
            notes.push(("未判定の月".to_string(), Cell::Text(self.not_run.join("、"))));
        }
        months.summary = notes;
        vec![months, cohorts]
    }

    /// Both tables in one CSV (UTF-8 with BOM): the monthly grid, an empty line, the cohort grid.
    pub fn to_csv(&self) -> Vec<u8> {
        let t = self.tables();
        let mut out = render::to_csv(&t[0]);
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&render::to_csv(&t[1])[render::UTF8_BOM.len()..]);
        out
    }

    /// A workbook with the two tables as sheets.
    pub fn to_xlsx(&self) -> Result<Vec<u8>, ReportError> {
        render::to_xlsx(&self.tables())
    }

    /// Steps taken per month, stacked (①…), with the improved cases as a line.
    pub fn months_chart_svg(&self) -> String {
        let n = self.steps();
        svg::bar_line_chart(&BarLineChart {
            title: "月別の対応数".into(),
            categories: self
                .months
                .iter()
                .map(|m| m.month.parse::<YearMonth>().map(YearMonth::label_ja).unwrap_or_else(|_| m.month.clone()))
                .collect(),
            bars: (1..=n)
                .map(|i| {
                    Series::new(
                        circled(i),
                        self.months.iter().map(|m| m.steps.get(&i.to_string()).copied().unwrap_or(0) as f64),
                    )
                })
                .collect(),
            bar_axis_label: "人数".into(),
            line: Some(Series::new("改善された", self.months.iter().map(|m| m.improved as f64))),
            line_axis_label: "改善（人）".into(),
        })
    }

    /// One funnel per cohort: entered at ①, reached ②…; improved after each step as notes.
    pub fn funnel_svgs(&self) -> Vec<String> {
        let n = self.steps();
        self.cohorts
            .iter()
            .filter(|c| c.entered > 0)
            .map(|c| {
                let at =
                    |i: usize| if i == 1 { c.entered } else { c.reached.get(&i.to_string()).copied().unwrap_or(0) };
                svg::funnel_chart(&FunnelChart {
                    title: format!("{}の新規対象者", label(&c.cohort)),
                    stages: (1..=n).map(|i| (circled(i), at(i) as f64)).collect(),
                    notes: (1..=n)
                        .map(|i| match c.improved_after.get(&i.to_string()).copied().unwrap_or(0) {
                            0 => String::new(),
                            k => format!("改善 {k}"),
                        })
                        .collect(),
                })
            })
            .collect()
    }

    fn view(&self) -> SectionsView {
        let t = self.tables();
        let period = match (self.months.first(), self.months.last()) {
            (Some(a), Some(b)) => format!("{}〜{}", label(&a.month), label(&b.month)),
            _ => String::new(),
        };
        SectionsView {
            title: TITLE.into(),
            period,
            sections: vec![
                SectionView {
                    label: "月別".into(),
                    table_html: render::to_html(&t[0]),
                    charts: vec![self.months_chart_svg()],
                },
                SectionView {
                    label: "開始月別の推移".into(),
                    table_html: render::to_html(&t[1]),
                    charts: self.funnel_svgs(),
                },
            ],
        }
    }

    /// The report body for embedding in a page.
    pub fn to_html_fragment(&self) -> String {
        SectionsFragment { view: self.view() }.render().expect("rendering cannot fail")
    }

    /// A complete Japanese HTML page with the monthly chart and the cohort funnels.
    pub fn to_html_document(&self) -> String {
        SectionsDocument { view: self.view() }.render().expect("rendering cannot fail")
    }
}
