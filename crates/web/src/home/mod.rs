//! `GET /`: the home dashboard, by role. Who is signed in, then where things stand:
//!
//! - board staff (admin, board, support; committee viewers see the aggregate panels only) —
//!   [`board`]: spares left per model group with the run-out month, the latest evaluated month's
//!   escalation work still open by step, the plan year's state and graded goals, the latest usage
//!   ratio, the last imports;
//! - a `school` user — [`school`]: their own schools only — devices by status, open incidents,
//!   the escalation notices to their schools not done yet.
//!
//! Every figure is of the latest period that has data, names that period (和暦 / 年度), and links to
//! its page with that period; a panel without data says so in one sentence. Each panel reuses the
//! query or rule of the page it links to (a few aggregate queries; nothing per device or line).
//! The pages the user may use stay listed at the bottom (and in the header).

mod board;
mod school;

use crate::access_routes::{Routes, Rule};
use crate::auth::{Capability, SignedIn};
use crate::errors::AppResult;
use crate::page::{render, Layout, Section};
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use gigaops_store::municipalities;

pub(crate) fn routes() -> Routes {
    Routes::new().get("/", home, Rule::SignedIn)
}

/// A link on the home page with what it is for.
struct Entry {
    href: &'static str,
    label: &'static str,
    description: &'static str,
}

/// One panel of the dashboard: a heading, the period its figures are of, the figures (or the
/// sentence saying there are none) and the link to the page they come from.
pub(crate) struct Panel {
    /// `id` of the panel's section (tests and the browser find it by this).
    pub id: &'static str,
    pub heading: &'static str,
    /// e.g. `令和4年度`, `令和4年12月`; empty when the panel has no data.
    pub period: String,
    /// The figures: (label, value, link to the figure's page or empty).
    pub rows: Vec<Figure>,
    /// Said instead of the figures when there are none (one short sentence).
    pub empty: Option<String>,
    /// The page the figures come from, with their period, and the link's text.
    pub more: (String, &'static str),
}

/// One figure of a panel.
pub(crate) struct Figure {
    pub label: String,
    pub value: String,
    /// A second line (e.g. the run-out month); may be empty.
    pub detail: String,
    /// Where the figure's page is; empty = no link.
    pub href: String,
}

impl Figure {
    pub(crate) fn new(label: impl Into<String>, value: impl Into<String>, href: impl Into<String>) -> Self {
        Figure { label: label.into(), value: value.into(), detail: String::new(), href: href.into() }
    }
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    name: String,
    role: &'static str,
    municipality: String,
    /// The school user's schools, e.g. `前橋市立桃井小学校`; empty for staff.
    schools: String,
    panels: Vec<Panel>,
    entries: Vec<Entry>,
}

/// The links of the pages the user may use (the header has them too).
fn entries(me: &SignedIn) -> Vec<Entry> {
    let a = &me.access;
    let scoped = a.school_scope().is_some();
    let mut v = Vec::new();
    if a.allows(Capability::ViewDevices) {
        let description = if scoped {
            "自校の端末の検索と事故の登録。"
        } else {
            "端末の検索、事故の登録、予備機との交換、修理完了。"
        };
        v.push(Entry { href: "/fleet/devices", label: "端末台帳", description });
    }
    if a.allows(Capability::ViewReports) {
        v.push(Entry {
            href: "/fleet/report",
            label: "学習者用端末の運用状況",
            description: "月別の破損・故障等の件数と保守残数。",
        });
        v.push(Entry {
            href: "/usage/report",
            label: "通信量",
            description: "契約通信量に対する使用率と段階的な対応。",
        });
    }
    if a.allows(Capability::ViewDevices) {
        v.push(Entry {
            href: "/usage/work",
            label: "段階的な対応の作業",
            description: "月ごとの作業一覧と完了の記録。",
        });
    }
    if a.allows(Capability::ViewPlan) {
        v.push(Entry {
            href: "/plan",
            label: "推進計画",
            description: "年度ごとの取組・評価（資料4-1）とスケジュール。",
        });
    }
    if a.allows(Capability::ViewSchools) {
        v.push(Entry {
            href: "/schools", label: "学校一覧", description: "学校コード、学校種、本校・分校。"
        });
    }
    if a.allows(Capability::ViewImports) {
        v.push(Entry {
            href: "/imports", label: "取り込み", description: "ファイルの取り込みと履歴。"
        });
    }
    v
}

async fn home(State(state): State<AppState>, me: SignedIn) -> AppResult<Response> {
    let a = &me.access;
    let municipality = municipalities::list(&state.store)
        .await?
        .into_iter()
        .find(|m| m.id == a.municipality_id())
        .map(|m| m.name)
        .unwrap_or_default();
    let (panels, schools) = match a.school_scope() {
        Some(ids) => school::panels(&state, &me, &ids).await?,
        None => (board::panels(&state, &me).await?, String::new()),
    };
    let user = me.user();
    render(&HomePage {
        layout: me.layout("ホーム", Section::Home).await?,
        name: user.display_name.clone(),
        role: user.role.label_ja(),
        municipality,
        schools,
        panels,
        entries: entries(&me),
    })
}
