//! `GET /`: who is signed in (name, role, 教育委員会) and the pages they may use.

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

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    name: String,
    email: String,
    role: &'static str,
    municipality: String,
    entries: Vec<Entry>,
}

async fn home(State(state): State<AppState>, me: SignedIn) -> AppResult<Response> {
    let a = &me.access;
    let municipality = municipalities::list(&state.store)
        .await?
        .into_iter()
        .find(|m| m.id == a.municipality_id())
        .map(|m| m.name)
        .unwrap_or_default();
    let mut entries = Vec::new();
    if a.allows(Capability::ViewDevices) {
        entries.push(Entry {
            href: "/fleet/devices",
            label: "端末台帳",
            description: if a.school_scope().is_some() {
                "自校の端末を検索し、破損・故障・紛失・盗難を登録します。"
            } else {
                "端末を検索し、破損・故障・紛失・盗難の登録や予備機との交換、修理完了を記録します。"
            },
        });
    }
    if a.allows(Capability::ViewReports) {
        entries.push(Entry {
            href: "/fleet/report",
            label: "学習者用端末の運用状況",
            description: "年度ごとの月別の破損・故障等の件数と保守残数（予備機の残り）。CSV・Excel・JSON でダウンロードできます。",
        });
    }
    if a.allows(Capability::ViewSchools) {
        entries.push(Entry {
            href: "/schools",
            label: "学校一覧",
            description: "学校コード、学校種、本校・分校の一覧です。",
        });
    }
    let user = me.user();
    render(&HomePage {
        layout: me.layout("ホーム", Section::Home).await?,
        name: user.display_name.clone(),
        email: user.email.clone(),
        role: user.role.label_ja(),
        municipality,
        entries,
    })
}
