//! 「通信量の状況」: monthly LTE usage against the pooled contract (Maebashi's report, seed 003),
//! city-wide and per school. The JSON shape of [`UsageReport`] is a contract:
//! `{"months":[{"month":"2022-01","usage_gb":57563.0,"capacity_gb":124665.0,"active_lines":24933,
//! "ratio":0.4617}, …], "schools":[…]}`. GB = 10^9 bytes; `ratio` = usage ÷ capacity rounded to 4
//! decimals (`null` without capacity), computed here and never stored.
//!
//! The schools are one table of ratios (schools × months, [`schools`]); each school's months are
//! [`schools::SchoolReport`]. Everything is read from the store's per-school aggregates.
//!
//! The escalation report (段階的な対応) is [`escalation`].

pub mod escalation;
pub mod schools;
pub mod work;

pub use schools::{build_school, SchoolLinks, SchoolReport, SchoolSort, SortKey};

use crate::render::{self, Cell, Table};
use crate::svg::{self, BarLineChart, Series};
use crate::ReportError;
use askama::Template;
use gigaops_domain::usage::bytes_to_gb;
use gigaops_domain::YearMonth;
use gigaops_store::usage::queries::{self, CapacityRow};

const TITLE: &str = "学習者用端末の運用状況（通信量）";

/// One month of the capacity table.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CapacityMonth {
    /// `YYYY-MM`.
    pub month: String,
    /// Σ usage, GB.
    pub usage_gb: f64,
    /// Σ allowances of the lines active in the month, GB.
    pub capacity_gb: f64,
    pub active_lines: i64,
    /// usage ÷ capacity, 4 decimals; `None` when the capacity is 0.
    pub ratio: Option<f64>,
    /// Σ usage, bytes (not in the JSON: `usage_gb` is).
    #[serde(skip)]
    pub usage_bytes: i64,
    /// Σ allowances, bytes (not in the JSON: `capacity_gb` is).
    #[serde(skip)]
    pub capacity_bytes: i64,
}

/// One school's months.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SchoolUsage {
    pub school_code: String,
    pub school_name: String,
    pub months: Vec<CapacityMonth>,
}

/// The capacity report for a range of months.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct UsageReport {
    pub months: Vec<CapacityMonth>,
    pub schools: Vec<SchoolUsage>,
}

/// usage ÷ capacity rounded to 4 decimals.
pub fn ratio(usage_bytes: i64, capacity_bytes: i64) -> Option<f64> {
    (capacity_bytes > 0).then(|| (usage_bytes as f64 / capacity_bytes as f64 * 10_000.0).round() / 10_000.0)
}

fn month_of(r: &CapacityRow) -> CapacityMonth {
    CapacityMonth {
        month: r.month.to_string(),
        usage_gb: bytes_to_gb(r.usage_bytes),
        capacity_gb: bytes_to_gb(r.capacity_bytes),
        active_lines: r.active_lines,
        ratio: ratio(r.usage_bytes, r.capacity_bytes),
        usage_bytes: r.usage_bytes,
        capacity_bytes: r.capacity_bytes,
    }
}

/// Builds the report for `from..=to` from the store's per-school aggregates
/// ([`queries::capacity_table`]): every month of the range city-wide, and each school with active
/// lines or usage in the range (by school code) with its months that have either.
///
/// Errors: database errors from the store.
pub async fn build(
    store: &gigaops_store::Store,
    municipality_id: i64,
    from: YearMonth,
    to: YearMonth,
) -> Result<UsageReport, gigaops_store::StoreError> {
    let t = queries::capacity_table(store, municipality_id, from, to, None).await?;
    let mut by_code: std::collections::BTreeMap<&str, SchoolUsage> = Default::default();
    for r in &t.schools {
        let code = r.school_code.as_deref().unwrap_or_default();
        by_code
            .entry(code)
            .or_insert_with(|| SchoolUsage {
                school_code: code.to_string(),
                school_name: r.school_name.clone().unwrap_or_default(),
                months: Vec::new(),
            })
            .months
            .push(month_of(r));
    }
    Ok(UsageReport { months: t.city.iter().map(month_of).collect(), schools: by_code.into_values().collect() })
}

fn label(month: &str) -> String {
    month.parse::<YearMonth>().map(|m| format!("{}年{}月", m.year(), m.month())).unwrap_or_else(|_| month.to_string())
}

const COLUMNS: [&str; 5] = ["月", "通信量（GB）", "契約通信量（GB）", "回線数", "使用率"];

fn row(m: &CapacityMonth) -> Vec<Cell> {
    vec![
        Cell::Text(label(&m.month)),
        Cell::Float(m.usage_gb),
        Cell::Float(m.capacity_gb),
        Cell::Int(m.active_lines),
        m.ratio.map_or(Cell::Empty, Cell::Percent),
    ]
}

impl UsageReport {
    /// The JSON contract, pretty-printed.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the report serialises to JSON")
    }

    /// The city-wide months (市全体), then 学校別の使用率 in school-code order
    /// ([`UsageReport::school_table`]).
    pub fn tables(&self) -> Vec<Table> {
        let mut city = Table::new("市全体", COLUMNS);
        city.rows = self.months.iter().map(row).collect();
        vec![city, self.school_table(SchoolSort::default())]
    }

    /// Every school's months as one grid (学校別の明細): 区分 (市全体 or the school code),
    /// 学校名, then the columns of the city table; the city's months first.
    fn detail_table(&self) -> Table {
        let mut t = Table::new("学校別の明細", ["区分", "学校名"].into_iter().chain(COLUMNS));
        for m in &self.months {
            t.rows.push([Cell::text("市全体"), Cell::Empty].into_iter().chain(row(m)).collect());
        }
        for s in &self.schools {
            for m in &s.months {
                t.rows
                    .push([Cell::text(&s.school_code), Cell::text(&s.school_name)].into_iter().chain(row(m)).collect());
            }
        }
        t
    }

    /// One CSV grid (UTF-8 with BOM): 区分 (市全体 or the school code), 学校名, then the columns.
    pub fn to_csv(&self) -> Vec<u8> {
        render::to_csv(&self.detail_table())
    }

    /// A workbook: 市全体, 学校別の使用率 (schools × months), 学校別の明細 (the CSV's grid).
    pub fn to_xlsx(&self) -> Result<Vec<u8>, ReportError> {
        let mut sheets = self.tables();
        sheets.push(self.detail_table());
        render::to_xlsx(&sheets)
    }

    /// Monthly usage (bars, GB) and the usage ratio (line, %).
    pub fn chart_svg(&self) -> String {
        months_chart(&self.months)
    }

    fn view(&self, sort: SchoolSort, links: Option<&SchoolLinks>) -> SectionsView {
        let city = &self.tables()[0];
        let sections = vec![
            SectionView {
                label: "市全体".into(), table_html: render::to_html(city), charts: vec![self.chart_svg()]
            },
            SectionView {
                label: "学校別の使用率".into(), table_html: self.schools_html(sort, links), charts: vec![]
            },
        ];
        SectionsView { title: TITLE.into(), period: period(&self.months), sections }
    }

    /// The report body for embedding in a page: the city's months and chart, then 学校別の使用率
    /// sorted by `sort`, its headers and school names linked by `links`.
    pub fn to_html_fragment(&self, sort: SchoolSort, links: &SchoolLinks) -> String {
        SectionsFragment { view: self.view(sort, Some(links)) }.render().expect("rendering cannot fail")
    }

    /// A complete Japanese HTML page (A4 landscape print CSS, charts inline), schools by code.
    pub fn to_html_document(&self) -> String {
        SectionsDocument { view: self.view(SchoolSort::default(), None) }.render().expect("rendering cannot fail")
    }
}

/// Monthly usage (bars, GB) and the usage ratio (line, %) of `months`.
fn months_chart(months: &[CapacityMonth]) -> String {
    svg::bar_line_chart(&BarLineChart {
        title: "月別の通信量と使用率".into(),
        categories: months
            .iter()
            .map(|m| m.month.parse::<YearMonth>().map(YearMonth::label_ja).unwrap_or_else(|_| m.month.clone()))
            .collect(),
        bars: vec![Series::new("通信量（GB）", months.iter().map(|m| m.usage_gb))],
        bar_axis_label: "通信量（GB）".into(),
        line: Some(Series {
            label: "使用率（%）".into(),
            values: months.iter().map(|m| m.ratio.map(|r| r * 100.0)).collect(),
        }),
        line_axis_label: "使用率（%）".into(),
    })
}

fn period(months: &[CapacityMonth]) -> String {
    match (months.first(), months.last()) {
        (Some(a), Some(b)) => format!("{}〜{}", label(&a.month), label(&b.month)),
        _ => String::new(),
    }
}

/// A titled page of sections, each a table and charts (`templates/usage_report.html`).
pub(crate) struct SectionsView {
    pub title: String,
    pub period: String,
    pub sections: Vec<SectionView>,
}

pub(crate) struct SectionView {
    pub label: String,
    pub table_html: String,
    pub charts: Vec<String>,
}

#[derive(Template)]
#[template(path = "usage_report.html")]
pub(crate) struct SectionsDocument {
    pub view: SectionsView,
}

#[derive(Template)]
#[template(path = "usage_report.html", block = "content")]
pub(crate) struct SectionsFragment {
    pub view: SectionsView,
}

/// The city-wide figures of the latest month with usage (the home page's 使用率): `None` when no
/// usage is stored. The one place the home page reads usage from, so that it can change source
/// (e.g. stored per-school monthly sums) without the page changing.
///
/// Errors: database errors from the store.
pub async fn latest_month(
    store: &gigaops_store::Store,
    municipality_id: i64,
) -> Result<Option<CapacityMonth>, gigaops_store::StoreError> {
    let Some(month) = queries::months_with_usage(store, municipality_id).await?.last().copied() else {
        return Ok(None);
    };
    let rows = queries::capacity(store, municipality_id, month, month, false).await?;
    Ok(rows.first().map(month_of))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_is_rounded_to_four_decimals_and_matches_the_seed() {
        let gb = gigaops_domain::usage::gb;
        assert_eq!(ratio(gb(57_563), gb(124_665)), Some(0.4617));
        assert_eq!(ratio(gb(45_761), gb(124_440)), Some(0.3677));
        assert_eq!(ratio(1, 0), None);
        let r = UsageReport {
            months: vec![CapacityMonth {
                month: "2022-01".into(),
                usage_gb: 57563.0,
                capacity_gb: 124665.0,
                active_lines: 24933,
                ratio: Some(0.4617),
                usage_bytes: gb(57_563),
                capacity_bytes: gb(124_665),
            }],
            schools: vec![],
        };
        let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(
            json["months"][0],
            serde_json::json!({"month":"2022-01","usage_gb":57563.0,"capacity_gb":124665.0,"active_lines":24933,"ratio":0.4617})
        );
        let csv = String::from_utf8(r.to_csv()).unwrap();
        assert!(csv.contains("市全体,,2022年1月,57563.00,124665.00,24933,46.17%"), "{csv}");
        let html = r.to_html_document();
        assert!(html.contains("<svg") && html.contains("46.17%"), "{html}");
    }
}
