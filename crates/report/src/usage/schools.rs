//! 学校別の使用率: the schools of a usage report as one table — schools are rows, the range's
//! months are columns, each cell the school's usage ratio in the month, shaded by its level
//! ([`RatioLevel`]: quarters of the contract, and over it), and a last column with the ratio over
//! the range (Σ usage ÷ Σ capacity of its months, so a month with more lines weighs more). Sorted by
//! school code, by any month or by the range's ratio ([`SchoolSort`]); a school without capacity in
//! a month shows `—` there and sorts last in either direction.
//!
//! Also one school's months ([`SchoolReport`]), the page a school's name links to.

use super::{label, month_of, months_chart, ratio, row, CapacityMonth, SchoolUsage, UsageReport, COLUMNS};
use crate::render::{self, Cell, Table};
use askama::Template;
use gigaops_domain::usage::RatioLevel;
use gigaops_domain::YearMonth;
use std::cmp::Ordering;

/// What the school table is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    /// School code (学校コード).
    #[default]
    School,
    /// The ratio in one month.
    Month(YearMonth),
    /// The ratio over the whole range.
    Period,
}

/// The order of the school table: a key and a direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SchoolSort {
    pub key: SortKey,
    pub descending: bool,
}

impl SchoolSort {
    /// Parses the query values: `sort` = `""`/`school` (school code), `period` (the range's
    /// ratio) or a month `YYYY-MM`; `order` = `""`, `asc` or `desc` (`""` = ascending for the school
    /// code, descending for a ratio: the highest first).
    ///
    /// Errors: a Japanese message naming the value that is neither.
    pub fn parse(sort: &str, order: &str) -> Result<Self, String> {
        let key =
            match sort.trim() {
                "" | "school" => SortKey::School,
                "period" => SortKey::Period,
                t => SortKey::Month(t.parse().map_err(|_| {
                    format!("並べ替えの指定「{t}」は使えません（school、period または 2022-09 の形の月）")
                })?),
            };
        let descending = match order.trim() {
            "" => key != SortKey::School,
            "asc" => false,
            "desc" => true,
            t => return Err(format!("並べ替えの順序「{t}」は使えません（asc または desc）")),
        };
        Ok(SchoolSort { key, descending })
    }

    /// The `sort` query value of [`SchoolSort::parse`].
    pub fn sort_param(&self) -> String {
        match self.key {
            SortKey::School => "school".into(),
            SortKey::Period => "period".into(),
            SortKey::Month(m) => m.to_string(),
        }
    }

    /// The `order` query value of [`SchoolSort::parse`].
    pub fn order_param(&self) -> &'static str {
        if self.descending {
            "desc"
        } else {
            "asc"
        }
    }

    /// What a column header's link asks for: the same key in the other direction when the table
    /// is sorted by it, else the key in its first direction.
    pub fn next_for(&self, key: SortKey) -> SchoolSort {
        if self.key == key {
            SchoolSort { key, descending: !self.descending }
        } else {
            SchoolSort { key, descending: key != SortKey::School }
        }
    }
}

impl SchoolUsage {
    /// The school's ratio in `month` (`None` without capacity or without a row for the month).
    pub fn ratio_in(&self, month: &str) -> Option<f64> {
        self.months.iter().find(|m| m.month == month).and_then(|m| m.ratio)
    }

    /// The ratio over the school's months of the range: Σ usage ÷ Σ capacity, 4 decimals.
    pub fn period_ratio(&self) -> Option<f64> {
        let used = self.months.iter().map(|m| m.usage_bytes).sum();
        ratio(used, self.months.iter().map(|m| m.capacity_bytes).sum())
    }

    fn sort_value(&self, key: SortKey) -> Option<f64> {
        match key {
            SortKey::School => None,
            SortKey::Month(m) => self.ratio_in(&m.to_string()),
            SortKey::Period => self.period_ratio(),
        }
    }
}

/// Ratios in the chosen direction, `None` last either way, then by school code.
fn compare(a: &SchoolUsage, b: &SchoolUsage, sort: SchoolSort) -> Ordering {
    let dir = |o: Ordering| if sort.descending { o.reverse() } else { o };
    let by_value = match (a.sort_value(sort.key), b.sort_value(sort.key)) {
        (Some(x), Some(y)) => dir(x.total_cmp(&y)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    let by_code = a.school_code.cmp(&b.school_code);
    by_value.then(if sort.key == SortKey::School { dir(by_code) } else { by_code })
}

/// The links of the school table on a page (none in a printed document).
pub struct SchoolLinks<'a> {
    /// The page sorted another way (a column header's link).
    pub sort: &'a dyn Fn(SchoolSort) -> String,
    /// A school's months, by school code (the school name's link).
    pub school: &'a dyn Fn(&str) -> String,
}

struct HeaderView {
    label: String,
    href: Option<String>,
    /// `ascending` / `descending` on the column the table is sorted by (`aria-sort`).
    sorted: Option<&'static str>,
}

struct CellView {
    text: String,
    /// [`RatioLevel::rank`], `None` without a ratio.
    rank: Option<u8>,
}

struct RowView {
    code: String,
    name: String,
    href: Option<String>,
    cells: Vec<CellView>,
}

#[derive(Template)]
#[template(path = "usage_schools.html")]
struct SchoolsHtml {
    columns: Vec<HeaderView>,
    rows: Vec<RowView>,
    legend: Vec<(u8, &'static str)>,
}

fn cell(r: Option<f64>) -> CellView {
    match r {
        Some(r) => CellView { text: Cell::Percent(r).display(), rank: Some(RatioLevel::of(r).rank()) },
        None => CellView { text: "—".into(), rank: None },
    }
}

const PERIOD_LABEL: &str = "期間の使用率";

impl UsageReport {
    /// The schools in the order `sort` asks for.
    pub fn sorted_schools(&self, sort: SchoolSort) -> Vec<&SchoolUsage> {
        let mut v: Vec<&SchoolUsage> = self.schools.iter().collect();
        v.sort_by(|a, b| compare(a, b, sort));
        v
    }

    /// 学校別の使用率 as a table for the exports: 学校コード, 学校名, one column per month of the
    /// range, 期間の使用率; ratios as percentages, empty without capacity.
    pub fn school_table(&self, sort: SchoolSort) -> Table {
        let mut t = Table::new(
            "学校別の使用率",
            ["学校コード".to_string(), "学校名".to_string()]
                .into_iter()
                .chain(self.months.iter().map(|m| label(&m.month)))
                .chain([PERIOD_LABEL.to_string()]),
        );
        for s in self.sorted_schools(sort) {
            let mut r = vec![Cell::text(&s.school_code), Cell::text(&s.school_name)];
            r.extend(self.months.iter().map(|m| s.ratio_in(&m.month).map_or(Cell::Empty, Cell::Percent)));
            r.push(s.period_ratio().map_or(Cell::Empty, Cell::Percent));
            t.rows.push(r);
        }
        t
    }

    /// 学校別の使用率 as HTML: the legend, then the table with shaded cells; with `links`, the
    /// headers sort the table and each school's name links to its months.
    pub(crate) fn schools_html(&self, sort: SchoolSort, links: Option<&SchoolLinks>) -> String {
        let header = |text: String, key: SortKey| HeaderView {
            label: text,
            href: links.map(|l| (l.sort)(sort.next_for(key))),
            sorted: (sort.key == key).then_some(if sort.descending { "descending" } else { "ascending" }),
        };
        let mut columns = vec![header("学校".into(), SortKey::School)];
        for (i, m) in self.months.iter().enumerate() {
            if let Ok(ym) = m.month.parse::<YearMonth>() {
                // the year on the first month and on each January: 2021年10月, 11月, 12月, 2022年1月 …
                let text = if i == 0 || ym.month() == 1 { label(&m.month) } else { ym.label_ja() };
                columns.push(header(text, SortKey::Month(ym)));
            }
        }
        columns.push(header(PERIOD_LABEL.into(), SortKey::Period));
        let rows = self
            .sorted_schools(sort)
            .into_iter()
            .map(|s| RowView {
                code: s.school_code.clone(),
                name: s.school_name.clone(),
                href: links.map(|l| (l.school)(&s.school_code)),
                cells: self.months.iter().map(|m| cell(s.ratio_in(&m.month))).chain([cell(s.period_ratio())]).collect(),
            })
            .collect();
        let legend = RatioLevel::ALL.iter().map(|l| (l.rank(), l.label_ja())).collect();
        SchoolsHtml { columns, rows, legend }.render().expect("rendering a table of strings cannot fail")
    }
}

/// One school's months of a usage report: the page its name links to.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SchoolReport {
    pub school_code: String,
    pub school_name: String,
    /// Every month of the range, in order (zeros for a month without lines or usage).
    pub months: Vec<CapacityMonth>,
}

/// Builds school `school_code`'s report for `from..=to` from the per-school aggregates; `None`
/// when the municipality has no school with that code.
///
/// Errors: database errors from the store.
pub async fn build_school(
    store: &gigaops_store::Store,
    municipality_id: i64,
    school_code: &str,
    from: YearMonth,
    to: YearMonth,
) -> Result<Option<SchoolReport>, gigaops_store::StoreError> {
    let Some(school) = gigaops_store::schools::find_by_code(store, municipality_id, school_code).await? else {
        return Ok(None);
    };
    let t = gigaops_store::usage::queries::capacity_table(store, municipality_id, from, to, Some(school_code)).await?;
    Ok(Some(SchoolReport {
        school_code: school.school_code,
        school_name: school.name,
        months: t.city.iter().map(month_of).collect(),
    }))
}

impl SchoolReport {
    /// The school's months: 月, 通信量, 契約通信量, 回線数, 使用率.
    pub fn table(&self) -> Table {
        let mut t = Table::new(format!("{}（{}）", self.school_name, self.school_code), COLUMNS);
        t.rows = self.months.iter().map(row).collect();
        t
    }

    /// The table and the chart of the school's months, for embedding in a page.
    pub fn to_html_fragment(&self) -> String {
        super::SectionsFragment {
            view: super::SectionsView {
                title: self.table().title,
                period: super::period(&self.months),
                sections: vec![super::SectionView {
                    label: format!("{}の月別の通信量と使用率", self.school_name),
                    table_html: render::to_html(&self.table()),
                    charts: vec![months_chart(&self.months)],
                }],
            },
        }
        .render()
        .expect("rendering cannot fail")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn month(m: &str, usage: i64, capacity: i64) -> CapacityMonth {
        CapacityMonth {
            month: m.into(),
            usage_gb: usage as f64,
            capacity_gb: capacity as f64,
            active_lines: capacity / 5,
            ratio: ratio(usage, capacity),
            usage_bytes: usage,
            capacity_bytes: capacity,
        }
    }

    fn school(code: &str, months: Vec<CapacityMonth>) -> SchoolUsage {
        SchoolUsage { school_code: code.into(), school_name: format!("{code}小学校"), months }
    }

    /// A: 10 % then 90 %; B: 60 % then nothing; C: 30 % then 30 % on twice the lines.
    fn report() -> UsageReport {
        UsageReport {
            months: vec![month("2022-09", 0, 0), month("2022-10", 0, 0)],
            schools: vec![
                school("A", vec![month("2022-09", 10, 100), month("2022-10", 90, 100)]),
                school("B", vec![month("2022-09", 60, 100), month("2022-10", 0, 0)]),
                school("C", vec![month("2022-09", 30, 100), month("2022-10", 60, 200)]),
            ],
        }
    }

    fn order(r: &UsageReport, sort: &str, dir: &str) -> Vec<String> {
        r.sorted_schools(SchoolSort::parse(sort, dir).unwrap()).iter().map(|s| s.school_code.clone()).collect()
    }

    #[test]
    fn sorts_by_school_month_or_period_with_no_ratio_last() {
        let r = report();
        assert_eq!(order(&r, "", ""), ["A", "B", "C"]);
        assert_eq!(order(&r, "school", "desc"), ["C", "B", "A"]);
        assert_eq!(order(&r, "2022-09", ""), ["B", "C", "A"], "highest first");
        assert_eq!(order(&r, "2022-09", "asc"), ["A", "C", "B"]);
        assert_eq!(order(&r, "2022-10", "desc"), ["A", "C", "B"], "B has no capacity in October");
        assert_eq!(order(&r, "2022-10", "asc"), ["C", "A", "B"], "and stays last");
        // A: (10+90)/(100+100) = 50 %; B: 60/100 = 60 %; C: (30+60)/(100+200) = 30 %
        let ratios: Vec<_> = r.schools.iter().map(SchoolUsage::period_ratio).collect();
        assert_eq!(ratios, [Some(0.5), Some(0.6), Some(0.3)]);
        assert_eq!(order(&r, "period", ""), ["B", "A", "C"]);
        assert!(SchoolSort::parse("2022-13", "").unwrap_err().contains("「2022-13」"));
        assert!(SchoolSort::parse("period", "up").unwrap_err().contains("「up」"));
    }

    #[test]
    fn a_header_link_turns_the_order_round_on_its_own_column() {
        let by_sep = SchoolSort::parse("2022-09", "").unwrap();
        assert_eq!(by_sep.next_for(by_sep.key), SchoolSort { key: by_sep.key, descending: false });
        assert_eq!(by_sep.next_for(SortKey::School), SchoolSort::default());
        assert_eq!(
            SchoolSort::default().next_for(SortKey::Period),
            SchoolSort { key: SortKey::Period, descending: true }
        );
        assert_eq!((by_sep.sort_param(), by_sep.order_param()), ("2022-09".to_string(), "desc"));
    }

    #[test]
    fn the_table_shades_each_ratio_by_its_level() {
        let r = report();
        let html = r.schools_html(SchoolSort::default(), None);
        // A: 10 % (level 1), 90 % (level 4), 50 % over the range (level 3)
        assert!(html.contains("<td class=\"num ratio-1\">10.00%</td><td class=\"num ratio-4\">90.00%</td>"), "{html}");
        assert!(html.contains("<td class=\"num ratio-3\">50.00%</td>"), "{html}");
        assert!(html.contains("<td class=\"num no-ratio\">—</td>"), "B in October: {html}");
        assert!(html.contains("100%以上（契約通信量を超過）"), "the legend");
        assert!(!html.contains("<a "), "no links in a document");
        let sort = |s: SchoolSort| format!("?sort={}&order={}", s.sort_param(), s.order_param());
        let school = |code: &str| format!("/s/{code}");
        let links = SchoolLinks { sort: &sort, school: &school };
        let html = r.schools_html(SchoolSort::parse("2022-09", "").unwrap(), Some(&links));
        assert!(html.contains("aria-sort=\"descending\"><a href=\"?sort=2022-09&#38;order=asc\">"), "{html}");
        assert!(html.contains("<a href=\"/s/A\">A小学校</a>"), "{html}");
        let t = r.school_table(SchoolSort::default());
        assert_eq!(t.columns, ["学校コード", "学校名", "2022年9月", "2022年10月", "期間の使用率"]);
        assert_eq!(t.rows[1][3], Cell::Empty, "B in October");
        assert_eq!(t.rows[2][4], Cell::Percent(0.3));
    }
}
