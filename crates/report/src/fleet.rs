//! 「学習者用端末の運用状況」: monthly incidents and spare stock per model group for one 年度
//! (Maebashi's report, seed 003). The JSON shape of [`FleetReport`] is a contract.
//!
//! Renderers: [`FleetReport::to_json`], [`FleetReport::to_csv`], [`FleetReport::to_xlsx`],
//! [`FleetReport::to_html_fragment`], [`FleetReport::to_html_document`] and
//! [`FleetReport::chart_svg`], all built on [`FleetReport::tables`] and the generic writers of
//! [`crate::render`] and [`crate::svg`].

use crate::render::{self, Cell, Table};
use crate::svg::{self, BarLineChart, Series};
use crate::ReportError;
use askama::Template;
use chrono::NaiveDate;
use gigaops_domain::calendar::wareki_date;
use gigaops_domain::fleet::{incident_rate, spares_exhausted_in, IncidentKind};
use gigaops_domain::{FiscalYear, YearMonth};
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
    /// 年度当初の予備機: spares (status spare) at the end of 31 March, plus spares registered by an
    /// inventory dated 1 April (a register that starts with the year).
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

/// Title of the report, as in Maebashi's 資料.
const REPORT_TITLE: &str = "学習者用端末の運用状況";
/// Label of the leading CSV column that names the model group.
const GROUP_COLUMN: &str = "区分";
const PERIOD_COLUMN: &str = "時期";
const TOTAL_COLUMN: &str = "計";
const SPARES_COLUMN: &str = "保守残数";
const TOTAL_ROW: &str = "合計";
/// Incident kinds in column order: 破損, 故障, 紛失, 盗難.
const KINDS: [IncidentKind; 4] = [IncidentKind::Damage, IncidentKind::Fault, IncidentKind::Loss, IncidentKind::Theft];

impl MonthRow {
    fn count(&self, kind: IncidentKind) -> i64 {
        match kind {
            IncidentKind::Damage => self.damage,
            IncidentKind::Fault => self.fault,
            IncidentKind::Loss => self.loss,
            IncidentKind::Theft => self.theft,
        }
    }

    /// `4月` for `2022-04`; the raw text if it is not a month.
    fn label(&self) -> String {
        self.month.parse::<YearMonth>().map(YearMonth::label_ja).unwrap_or_else(|_| self.month.clone())
    }
}

impl FleetReport {
    fn year(&self) -> FiscalYear {
        FiscalYear(self.fiscal_year)
    }

    /// `学習者用端末の運用状況（令和4年度）`.
    pub fn title(&self) -> String {
        format!("{REPORT_TITLE}（{}）", self.year().label_ja())
    }

    /// The JSON contract, pretty-printed; `incident_rate` rounded to 3 decimals.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the report serialises to JSON (non-finite floats become null)")
    }

    /// The column labels of a group's table: 時期, 破損, 故障, 紛失, 盗難, 計, 保守残数.
    fn columns() -> Vec<String> {
        std::iter::once(PERIOD_COLUMN)
            .chain(KINDS.iter().map(|k| k.label_ja()))
            .chain([TOTAL_COLUMN, SPARES_COLUMN])
            .map(String::from)
            .collect()
    }

    /// The body rows of a group's table: 4月 … 3月, 合計, 前年度（令和3年度）.
    fn rows(&self, group: &GroupReport) -> Vec<Vec<Cell>> {
        let mut rows: Vec<Vec<Cell>> = group
            .months
            .iter()
            .map(|m| {
                std::iter::once(Cell::Text(m.label()))
                    .chain(KINDS.iter().map(|&k| Cell::Int(m.count(k))))
                    .chain([Cell::Int(m.total), Cell::Int(m.spare_remaining)])
                    .collect()
            })
            .collect();
        rows.push(
            std::iter::once(Cell::text(TOTAL_ROW))
                .chain(KINDS.iter().map(|&k| Cell::Int(group.months.iter().map(|m| m.count(k)).sum())))
                .chain([Cell::Int(group.total), Cell::Empty])
                .collect(),
        );
        let mut previous = vec![Cell::Text(format!("前年度（{}）", self.year().previous().label_ja()))];
        previous.extend(KINDS.iter().map(|_| Cell::Empty));
        previous.extend([Cell::Int(group.previous_year_total), Cell::Empty]);
        rows.push(previous);
        rows
    }

    /// One table per group, titled with the group label: the months, 合計 and 前年度 as rows, and
    /// 配置済台数 / 年度当初の予備機 / 発生率 / 予備機が尽きる見込み as the summary.
    pub fn tables(&self) -> Vec<Table> {
        self.groups
            .iter()
            .map(|g| Table {
                title: g.model_group.clone(),
                summary: vec![
                    ("配置済台数".to_string(), Cell::Int(g.deployed)),
                    ("年度当初の予備機".to_string(), Cell::Int(g.spares_start)),
                    ("発生率".to_string(), g.incident_rate.map_or_else(|| Cell::text("—"), Cell::Percent)),
                    (
                        "予備機が尽きる見込み".to_string(),
                        Cell::Text(exhaustion_label(g.spares_exhausted_in.as_deref())),
                    ),
                ],
                columns: Self::columns(),
                rows: self.rows(g),
            })
            .collect()
    }

    /// All groups in one CSV grid (UTF-8 with BOM, CRLF), the group label in the leading 区分
    /// column: 区分, 時期, 破損, 故障, 紛失, 盗難, 計, 保守残数.
    pub fn to_csv(&self) -> Vec<u8> {
        let mut table = Table::new(self.title(), std::iter::once(GROUP_COLUMN.to_string()).chain(Self::columns()));
        for g in &self.groups {
            for row in self.rows(g) {
                table.rows.push(std::iter::once(Cell::text(&g.model_group)).chain(row).collect());
            }
        }
        render::to_csv(&table)
    }

    /// A workbook with one sheet per group ([`FleetReport::tables`]).
    pub fn to_xlsx(&self) -> Result<Vec<u8>, ReportError> {
        render::to_xlsx(&self.tables())
    }

    /// The group's chart: incidents per month stacked by kind (破損, 故障, 紛失, 盗難) on the left
    /// axis, 保守残数 as a line on the right axis.
    pub fn chart_svg(&self, group: &GroupReport) -> String {
        svg::bar_line_chart(&BarLineChart {
            title: format!("{} 月別の破損・故障等と保守残数（{}）", group.model_group, self.year().label_ja()),
            categories: group.months.iter().map(MonthRow::label).collect(),
            bars: KINDS
                .iter()
                .map(|&k| Series::new(k.label_ja(), group.months.iter().map(|m| m.count(k) as f64)))
                .collect(),
            bar_axis_label: "件数（台）".to_string(),
            line: Some(Series::new(SPARES_COLUMN, group.months.iter().map(|m| m.spare_remaining as f64))),
            line_axis_label: "保守残数（台）".to_string(),
        })
    }

    fn view(&self) -> FleetView {
        let year = self.year();
        FleetView {
            title: self.title(),
            period: format!("{}〜{}", wareki_date(year.start()), wareki_date(year.end())),
            groups: self
                .groups
                .iter()
                .zip(self.tables())
                .map(|(g, table)| GroupView {
                    label: g.model_group.clone(),
                    table_html: render::to_html(&table),
                    chart_svg: self.chart_svg(g),
                })
                .collect(),
        }
    }

    /// The report body for embedding in a page: the period, then per group a section with its
    /// heading, summary, table and chart. Rendered from the `content` block of
    /// `templates/fleet_report.html`.
    pub fn to_html_fragment(&self) -> String {
        FleetFragment { view: self.view() }.render().expect("rendering the fleet report cannot fail")
    }

    /// A complete Japanese HTML page (`<html lang="ja">`) with print CSS for A4 landscape and the
    /// charts inline; it loads nothing from elsewhere.
    pub fn to_html_document(&self) -> String {
        FleetDocument { view: self.view() }.render().expect("rendering the fleet report cannot fail")
    }
}

/// `2023年12月` for `2023-12`, 「見込みなし」 for `None`; the raw text if it is not a month.
fn exhaustion_label(month: Option<&str>) -> String {
    match month {
        None => "見込みなし".to_string(),
        Some(s) => s
            .parse::<YearMonth>()
            .map(|ym| format!("{}年{}月", ym.year(), ym.month()))
            .unwrap_or_else(|_| s.to_string()),
    }
}

struct FleetView {
    title: String,
    period: String,
    groups: Vec<GroupView>,
}

struct GroupView {
    label: String,
    table_html: String,
    chart_svg: String,
}

#[derive(Template)]
#[template(path = "fleet_report.html")]
struct FleetDocument {
    view: FleetView,
}

#[derive(Template)]
#[template(path = "fleet_report.html", block = "content")]
struct FleetFragment {
    view: FleetView,
}

/// Builds the report for `fy` from the register: stock from the device state history, incidents
/// from the incident log (learner devices only, per model group).
///
/// `today` bounds the reference month of the spare projection: the latest month of the year, up to
/// `today`, in which anything happened to the fleet after its inventory (see
/// [`gigaops_domain::fleet::spares_exhausted_in`] for the rule).
///
/// Errors: database errors from the store.
pub async fn build(
    store: &gigaops_store::Store,
    municipality_id: i64,
    fy: FiscalYear,
    today: NaiveDate,
) -> Result<FleetReport, gigaops_store::StoreError> {
    use gigaops_store::fleet::queries;
    let prev = fy.previous();
    // stock at a day = stock now − the changes after that day; the earliest day asked is the
    // previous year's last day
    let now = queries::stock_now(store, municipality_id).await?;
    let deltas = queries::stock_deltas(store, municipality_id, prev.end()).await?;
    let counts = queries::incident_counts(store, municipality_id, prev.start(), fy.end()).await?;
    let horizon = fy.end().min(today);
    let reference = queries::latest_event_on(store, municipality_id, fy.start(), horizon)
        .await?
        .map(YearMonth::of)
        .unwrap_or_else(|| YearMonth::of(horizon.max(fy.start())));
    let mut names: Vec<String> = now
        .iter()
        .map(|n| n.model_group.clone())
        .chain(deltas.iter().map(|d| d.model_group.clone()))
        .chain(counts.iter().map(|c| c.model_group.clone()))
        .collect();
    names.sort();
    names.dedup();
    let mut groups = Vec::new();
    for name in names {
        let group = name.as_str();
        let deltas = &deltas;
        let current = now.iter().find(|n| n.model_group == group);
        let later = move |day: NaiveDate| deltas.iter().filter(move |d| d.model_group == group && d.effective_on > day);
        let spare_at =
            |day: NaiveDate| -> i64 { current.map_or(0, |c| c.spare) - later(day).map(|d| d.spare).sum::<i64>() };
        let deployed_at =
            |day: NaiveDate| -> i64 { current.map_or(0, |c| c.deployed) - later(day).map(|d| d.deployed).sum::<i64>() };
        let count = |from: NaiveDate, to: NaiveDate, kind: IncidentKind| -> i64 {
            counts
                .iter()
                .filter(|c| {
                    c.model_group == name && c.kind == kind.as_str() && c.occurred_on >= from && c.occurred_on <= to
                })
                .map(|c| c.n)
                .sum()
        };
        let months: Vec<MonthRow> = fy
            .months()
            .iter()
            .map(|ym| {
                let (a, b) = (ym.first_day(), ym.last_day());
                let (damage, fault, loss, theft) = (
                    count(a, b, IncidentKind::Damage),
                    count(a, b, IncidentKind::Fault),
                    count(a, b, IncidentKind::Loss),
                    count(a, b, IncidentKind::Theft),
                );
                MonthRow {
                    month: ym.to_string(),
                    damage,
                    fault,
                    loss,
                    theft,
                    total: damage + fault + loss + theft,
                    spare_remaining: spare_at(b),
                }
            })
            .collect();
        let total: i64 = months.iter().map(|m| m.total).sum();
        let previous_year_total: i64 = IncidentKind::ALL.iter().map(|k| count(prev.start(), prev.end(), *k)).sum();
        // the stock the year starts with: on 31 March, plus spares registered by an inventory taken
        // as of 1 April
        let spares_start = spare_at(prev.end())
            + deltas
                .iter()
                .filter(|d| d.model_group == group && d.effective_on == fy.start())
                .map(|d| d.registered_spare)
                .sum::<i64>();
        let mut deployed = deployed_at(fy.start());
        if deployed == 0 {
            deployed = deployed_at(horizon.max(fy.start()));
        }
        // month-end stock from the previous March up to the reference month
        let mut series = vec![spares_start];
        series.extend(fy.months().iter().filter(|m| **m <= reference).map(|m| spare_at(m.last_day())));
        let exhausted = spares_exhausted_in(reference, &series);
        groups.push(GroupReport {
            model_group: name.clone(),
            deployed,
            spares_start,
            months,
            total,
            previous_year_total,
            incident_rate: incident_rate(total, deployed),
            spares_exhausted_in: exhausted.map(|m| m.to_string()),
        });
    }
    Ok(FleetReport { fiscal_year: fy.0, groups })
}
