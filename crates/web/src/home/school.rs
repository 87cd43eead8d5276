//! A `school` user's panels of the home page: their own schools only — devices by status, the open
//! incidents of their devices, the escalation notices to their schools not done yet. Every query
//! is limited to the user's school ids; nothing of another school is read.

use super::{Figure, Panel};
use crate::auth::SignedIn;
use crate::errors::AppResult;
use crate::http;
use crate::AppState;
use gigaops_domain::calendar::{wareki_date, wareki_month};
use gigaops_domain::fleet::IncidentKind;
use gigaops_report::render::Cell;
use gigaops_store::fleet::at_school;
use gigaops_store::usage::open_work::{work_counts, WorkScope};
use std::collections::BTreeMap;

/// Open incidents listed on the home page (the count covers all).
const INCIDENTS_SHOWN: u64 = 10;

/// The panels and the names of the user's schools (`前橋市立桃井小学校`, joined with 「、」).
pub(super) async fn panels(state: &AppState, me: &SignedIn, school_ids: &[i64]) -> AppResult<(Vec<Panel>, String)> {
    let m = me.access.municipality_id();
    let names: Vec<String> = gigaops_store::schools::list(&state.store, m)
        .await?
        .into_iter()
        .filter(|s| school_ids.contains(&s.id))
        .map(|s| s.name)
        .collect();
    let panels = vec![
        devices(state, m, school_ids).await?,
        incidents(state, m, school_ids).await?,
        notices(state, m, school_ids).await?,
    ];
    Ok((panels, names.join("、")))
}

/// 自校の端末: the devices at the user's schools, by status.
async fn devices(state: &AppState, m: i64, school_ids: &[i64]) -> AppResult<Panel> {
    let counts = at_school::device_counts(&state.store, m, school_ids).await?;
    let more = ("/fleet/devices".to_string(), "端末台帳を見る");
    let mut panel = Panel {
        id: "home-school-devices",
        heading: "自校の端末",
        period: format!("{}現在", wareki_date(crate::page::today_tokyo())),
        rows: Vec::new(),
        empty: None,
        more,
    };
    if counts.is_empty() {
        panel.empty = Some("自校に登録された端末はありません。".into());
        return Ok(panel);
    }
    let total: i64 = counts.iter().map(|c| c.n).sum();
    panel.rows.push(Figure::new("合計", format!("{} 台", Cell::Int(total).display()), "/fleet/devices"));
    for c in counts {
        let href = format!("/fleet/devices{}", http::query(&[("status", &c.status)]));
        panel.rows.push(Figure::new(
            crate::fleet::status_ja(&c.status),
            format!("{} 台", Cell::Int(c.n).display()),
            href,
        ));
    }
    Ok(panel)
}

/// 対応中の事故: incidents of devices of the user's schools neither repaired nor written off.
async fn incidents(state: &AppState, m: i64, school_ids: &[i64]) -> AppResult<Panel> {
    let (open, total) = at_school::open_incidents(&state.store, m, school_ids, INCIDENTS_SHOWN).await?;
    let mut panel = Panel {
        id: "home-school-incidents",
        heading: "対応中の事故（破損・故障・紛失・盗難）",
        period: if total > 0 { format!("{total} 件") } else { String::new() },
        rows: Vec::new(),
        empty: None,
        more: ("/fleet/devices".to_string(), "端末台帳を見る"),
    };
    if open.is_empty() {
        // a real zero, not a lack of records
        panel.rows.push(Figure::new("対応中の事故", "0 件", ""));
        return Ok(panel);
    }
    for i in open {
        let kind = IncidentKind::parse(&i.kind).map_or(i.kind.clone(), |k| k.label_ja().to_string());
        panel.rows.push(Figure {
            detail: wareki_date(i.occurred_on),
            ..Figure::new(format!("{kind}　{}", i.serial_number), crate::fleet::status_ja(&i.device_status), "")
        });
    }
    Ok(panel)
}

/// 学校への通知: the escalation's notices to the user's schools not marked done, per month.
async fn notices(state: &AppState, m: i64, school_ids: &[i64]) -> AppResult<Panel> {
    let scope = WorkScope { month: None, school_ids: Some(school_ids), audience: Some("school") };
    let mut by_month: BTreeMap<gigaops_domain::YearMonth, i64> = BTreeMap::new();
    for c in work_counts(&state.store, m, &scope).await?.into_iter().filter(|c| c.open > 0) {
        *by_month.entry(c.month).or_default() += c.open;
    }
    let mut panel = Panel {
        id: "home-school-notices",
        heading: "対応が必要な通知（段階的な対応）",
        period: String::new(),
        rows: Vec::new(),
        empty: None,
        more: ("/usage/work".to_string(), "作業一覧を見る"),
    };
    if by_month.is_empty() {
        // a real zero: the latest evaluated month, nothing left to do
        let (month, no_data) = crate::usage::evaluated_month(&state.store, m, "", "/usage/work").await?;
        if no_data.is_some() {
            panel.empty = Some("段階的な対応の判定はまだありません。".into());
        } else {
            let href = format!("/usage/work{}", http::query(&[("month", &month.to_string())]));
            panel.period = format!("{}まで", wareki_month(month));
            panel.rows.push(Figure::new("未完了の通知", "0 件", &href));
            panel.more = (href, "作業一覧を見る");
        }
        return Ok(panel);
    }
    let total: i64 = by_month.values().sum();
    panel.period = format!("未完了 {total} 件");
    for (month, n) in by_month.iter().rev() {
        let href = format!("/usage/work{}", http::query(&[("month", &month.to_string())]));
        panel.rows.push(Figure::new(wareki_month(*month), format!("{n} 件"), href));
    }
    if let Some((latest, _)) = by_month.iter().next_back() {
        panel.more = (format!("/usage/work{}", http::query(&[("month", &latest.to_string())])), "作業一覧を見る");
    }
    Ok(panel)
}
