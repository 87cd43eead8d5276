//! The board's panels of the home page. Each panel takes its period and figures from the rule of
//! the page it links to: the fleet report's year ([`crate::fleet::report::resolve_year`]) and its
//! spare projection (`gigaops_report::fleet::build`), the work list's month
//! ([`crate::usage::evaluated_month`]), the plan page's plan and year ([`crate::plan::table::load`]),
//! the usage report's latest month (`gigaops_report::usage::latest_month`) and the import history.

use super::{Figure, Panel};
use crate::auth::{Capability, SignedIn};
use crate::errors::{AppError, AppResult};
use crate::http;
use crate::page::today_tokyo;
use crate::AppState;
use gigaops_domain::calendar::{jst_minute, wareki_month};
use gigaops_domain::plan::{Grade, GradeCounts};
use gigaops_domain::YearMonth;
use gigaops_report::render::Cell;
use gigaops_store::imports::jobs::JobStatus;
use gigaops_store::usage::open_work::{work_counts, WorkScope};
use std::collections::BTreeMap;

/// Imports listed on the home page.
const IMPORTS_SHOWN: u64 = 5;

/// The panels the user's role may read, in order.
pub(super) async fn panels(state: &AppState, me: &SignedIn) -> AppResult<Vec<Panel>> {
    let a = &me.access;
    let mut v = Vec::new();
    if a.allows(Capability::ViewReports) {
        v.push(spares(state, me).await?);
    }
    if a.allows(Capability::ViewDevices) {
        v.push(escalation_work(state, me).await?);
    }
    if a.allows(Capability::ViewPlan) {
        v.push(plan_year(state, me).await?);
    }
    if a.allows(Capability::ViewReports) {
        v.push(usage_ratio(state, me).await?);
    }
    if a.allows(Capability::ViewImports) {
        v.push(imports(state, me).await?);
    }
    Ok(v)
}

fn empty(id: &'static str, heading: &'static str, sentence: String, more: (String, &'static str)) -> Panel {
    Panel { id, heading, period: String::new(), rows: Vec::new(), empty: Some(sentence), more }
}

/// 予備機の残り: per model group, the spares left at the end of the latest month with a record of
/// the fleet report's year, and the month the projection runs out.
async fn spares(state: &AppState, me: &SignedIn) -> AppResult<Panel> {
    const ID: &str = "home-spares";
    const HEADING: &str = "予備機の残り（保守残数）";
    let m = me.access.municipality_id();
    let (fy, no_data) =
        crate::fleet::report::resolve_year(state, me, &crate::fleet::report::ReportQuery::default()).await?;
    if no_data.is_some() {
        let more = ("/imports".to_string(), "取り込みへ");
        return Ok(empty(ID, HEADING, "端末の記録はまだありません。".into(), more));
    }
    let href = format!("/fleet/report{}", http::query(&[("fiscal_year", &fy.short_label())]));
    let days = gigaops_store::fleet::queries::recorded_days(&state.store, m, fy.start(), fy.end()).await?;
    let last = fy.months()[11];
    let month = days.latest.map_or(last, |d| YearMonth::of(d).min(last));
    let report = gigaops_report::fleet::build(&state.store, m, fy, today_tokyo()).await?;
    let rows = report
        .groups
        .iter()
        .map(|g| {
            let left = g.months.iter().find(|r| r.month == month.to_string()).map_or(0, |r| r.spare_remaining);
            let runs_out = g.spares_exhausted_in.as_deref().and_then(|s| s.parse::<YearMonth>().ok());
            Figure {
                detail: match runs_out {
                    Some(r) => format!("{}に尽きる見込み", wareki_month(r)),
                    None => "尽きる見込みなし".into(),
                },
                ..Figure::new(&g.model_group, format!("{} 台", Cell::Int(left).display()), &href)
            }
        })
        .collect();
    Ok(Panel {
        id: ID,
        heading: HEADING,
        period: format!("{}・{}末", fy.label_ja(), wareki_month(month)),
        rows,
        empty: None,
        more: (href, "運用状況を見る"),
    })
}

/// 段階的な対応の作業: the latest evaluated month's work items not done yet, by step.
async fn escalation_work(state: &AppState, me: &SignedIn) -> AppResult<Panel> {
    const ID: &str = "home-work";
    const HEADING: &str = "段階的な対応の未完了の作業";
    let m = me.access.municipality_id();
    let (month, no_data) = crate::usage::evaluated_month(&state.store, m, "", "/usage/work").await?;
    if no_data.is_some() {
        let more = ("/usage/work".to_string(), "作業一覧へ");
        return Ok(empty(ID, HEADING, "段階的な対応の判定はまだありません。".into(), more));
    }
    let href = format!("/usage/work{}", http::query(&[("month", &month.to_string())]));
    let counts = work_counts(&state.store, m, &WorkScope { month: Some(month), ..Default::default() }).await?;
    let policy = gigaops_store::usage::escalation::policy(&state.store, m).await?;
    let mut by_step: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for c in &counts {
        let e = by_step.entry(c.step).or_default();
        e.0 += c.open;
        e.1 += c.total;
    }
    let rows: Vec<Figure> = by_step
        .iter()
        .map(|(step, (open, total))| Figure {
            detail: format!("全 {total} 件のうち"),
            ..Figure::new(
                format!("段階 {}", crate::usage::work::step_label(&policy, *step)),
                format!("残り {open} 件"),
                &href,
            )
        })
        .collect();
    let period = wareki_month(month);
    if rows.is_empty() {
        return Ok(Panel {
            period,
            ..empty(ID, HEADING, "この月の作業はありません。".into(), (href, "作業一覧を見る"))
        });
    }
    Ok(Panel { id: ID, heading: HEADING, period, rows, empty: None, more: (href, "作業一覧を見る") })
}

/// 推進計画: the plan and year the plan page opens on, the year's state and how many goals are
/// graded (◎ ○ △).
async fn plan_year(state: &AppState, me: &SignedIn) -> AppResult<Panel> {
    const ID: &str = "home-plan";
    const HEADING: &str = "推進計画の評価";
    let q = crate::plan::table::PlanQuery::default();
    let (fy, pl, _) = match crate::plan::table::load(state, me, &q).await {
        Err(AppError::NotFound) => {
            let more = ("/plan".to_string(), "推進計画へ");
            return Ok(empty(ID, HEADING, "推進計画はまだ登録されていません。".into(), more));
        }
        other => other?,
    };
    let entries = gigaops_store::plan::entries(&state.store, pl.id, fy).await?;
    if entries.is_empty() {
        let more = (format!("/plan/schedule{}", http::query(&[("plan", &pl.name)])), "スケジュールを見る");
        return Ok(empty(ID, HEADING, format!("{}には年度ごとの評価の記録がありません。", pl.name), more));
    }
    let href = format!("/plan{}", http::query(&[("fiscal_year", &fy.short_label()), ("plan", &pl.name)]));
    let year_state = gigaops_store::plan::year_state(&state.store, pl.id, fy).await?;
    let counts = GradeCounts::of(entries.iter().map(|e| e.fields.grade));
    let graded = counts.total() - counts.get(Grade::Ungraded);
    let rows = vec![
        Figure::new("計画", pl.name.clone(), &href),
        Figure::new("年度の状態", year_state.label_ja(), &href),
        Figure {
            detail: format!(
                "◎ {}・○ {}・△ {}",
                counts.get(Grade::Excellent),
                counts.get(Grade::Good),
                counts.get(Grade::Insufficient)
            ),
            ..Figure::new("評価済みの目標", format!("{graded} / {} 目標", counts.total()), &href)
        },
    ];
    Ok(Panel {
        id: ID, heading: HEADING, period: fy.label_ja(), rows, empty: None, more: (href, "資料4-1 を見る")
    })
}

/// 通信量の使用率: the latest month with usage, city-wide.
async fn usage_ratio(state: &AppState, me: &SignedIn) -> AppResult<Panel> {
    const ID: &str = "home-usage";
    const HEADING: &str = "通信量の使用率";
    let m = me.access.municipality_id();
    let Some(latest) = gigaops_report::usage::latest_month(&state.store, m).await? else {
        let more = ("/usage/report".to_string(), "通信量へ");
        return Ok(empty(ID, HEADING, "通信量の記録はまだありません。".into(), more));
    };
    let month: YearMonth = latest.month.parse().map_err(AppError::internal)?;
    let from = month.add_months(-11).to_string();
    let href = format!("/usage/report{}", http::query(&[("from", &from), ("to", &month.to_string())]));
    let ratio = latest.ratio.map_or_else(|| "—".to_string(), |r| Cell::Percent(r).display());
    let rows = vec![Figure {
        detail: format!(
            "{} GB ／ 契約 {} GB（{} 回線）",
            Cell::Int(latest.usage_gb.round() as i64).display(),
            Cell::Int(latest.capacity_gb.round() as i64).display(),
            Cell::Int(latest.active_lines).display()
        ),
        ..Figure::new("使用率", ratio, &href)
    }];
    Ok(Panel {
        id: ID, heading: HEADING, period: wareki_month(month), rows, empty: None, more: (href, "通信量を見る")
    })
}

/// 取り込み: the latest imports of the municipality.
async fn imports(state: &AppState, me: &SignedIn) -> AppResult<Panel> {
    const ID: &str = "home-imports";
    const HEADING: &str = "最近の取り込み";
    let m = me.access.municipality_id();
    let history = gigaops_store::imports::jobs::history(&state.store, m, IMPORTS_SHOWN).await?;
    let more = ("/imports".to_string(), "取り込みと履歴へ");
    let Some(first) = history.first() else {
        return Ok(empty(ID, HEADING, "取り込みの記録はまだありません。".into(), more));
    };
    let period = format!("最新 {} 件（{} まで）", history.len(), jst_minute(first.imported_at));
    let rows = history
        .iter()
        .map(|j| Figure {
            detail: format!("{}・{} 行", jst_minute(j.imported_at), Cell::Int(j.rows).display()),
            ..Figure::new(
                format!("{}「{}」", crate::imports::kind_label(&j.kind), j.file_name),
                JobStatus::parse(&j.status).label_ja(),
                format!("/imports/{}", j.id),
            )
        })
        .collect();
    Ok(Panel { id: ID, heading: HEADING, period, rows, empty: None, more })
}
