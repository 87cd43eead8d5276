//! `GET /schools`: 学校コード, 学校名, 学校種, 本校・分校・廃校 and the main school of a branch.

use crate::auth::{Capability, SignedIn};
use crate::errors::AppResult;
use crate::page::{render, Layout, Section};
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use gigaops_domain::school::{school_kind_label, SchoolStatus};
use gigaops_store::schools;
use std::collections::HashMap;

/// One row of the list, ready to show.
struct Row {
    code: String,
    name: String,
    kind: String,
    status: &'static str,
    main_school: Option<String>,
    closed_on: Option<String>,
}

#[derive(Template)]
#[template(path = "schools/list.html")]
struct SchoolsPage {
    layout: Layout,
    rows: Vec<Row>,
}

pub(super) async fn list(State(state): State<AppState>, me: SignedIn) -> AppResult<Response> {
    me.access.require(Capability::ViewSchools)?;
    let all = schools::list(&state.store, me.access.municipality_id()).await?;
    let names: HashMap<i64, String> = all.iter().map(|s| (s.id, s.name.clone())).collect();
    let rows = all
        .iter()
        .map(|s| Row {
            code: s.school_code.clone(),
            name: s.name.clone(),
            kind: school_kind_label(&s.kind).map(str::to_string).unwrap_or_else(|| s.kind.clone()),
            status: SchoolStatus::parse(&s.status).map(SchoolStatus::label_ja).unwrap_or("—"),
            main_school: s.branch_of.and_then(|id| names.get(&id).cloned()),
            closed_on: s.closed_on.map(|d| d.to_string()),
        })
        .collect();
    render(&SchoolsPage { layout: me.layout("学校一覧", Section::Schools).await?, rows })
}
