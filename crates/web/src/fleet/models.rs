//! `GET /fleet/models?alias=`: the models (機種) with their report groups, device counts and
//! aliases (機種の別名), and for the board the form that adds an alias (`POST
//! /fleet/models/aliases`) and a remove button per alias (`POST /fleet/models/aliases/remove`).
//!
//! `alias` pre-fills the form's alias field, so a page that meets an unknown model name (an import
//! preview) can link here with it. A refused alias (empty, a registered model's name, another
//! model's alias, unknown model) re-renders the page with the message beside the field and the
//! typed values kept (422); names are compared as `gigaops_store::fleet::models` says (width, case
//! and spaces do not matter).

use super::SelectOption;
use crate::auth::{Capability, SignedIn};
use crate::errors::AppResult;
use crate::http;
use crate::page::{flash, render_with, Layout, Section};
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use gigaops_store::fleet::models;
use gigaops_store::StoreError;
use serde::Deserialize;

/// The page's query: an alias to pre-fill.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ModelsQuery {
    pub alias: String,
}

/// The add form as typed.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AliasForm {
    /// The model's register name.
    pub model: String,
    pub alias: String,
}

/// The remove button's field.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RemoveForm {
    pub alias: String,
}

struct AliasView {
    alias: String,
    added: String,
}

struct ModelView {
    name: String,
    group: String,
    devices: i64,
    aliases: Vec<AliasView>,
}

#[derive(Template)]
#[template(path = "fleet/models.html")]
struct ModelsPage {
    layout: Layout,
    models: Vec<ModelView>,
    can_manage: bool,
    options: Vec<SelectOption>,
    alias: String,
    /// What the pre-filled alias already means, if anything.
    resolves_to: Option<String>,
    alias_error: Option<String>,
    model_error: Option<String>,
    general_error: Option<String>,
}

#[derive(Default)]
struct Errors {
    alias: Option<String>,
    model: Option<String>,
    general: Option<String>,
}

async fn page(
    state: &AppState,
    me: &SignedIn,
    form: AliasForm,
    errors: Errors,
    status: StatusCode,
) -> AppResult<Response> {
    let m = me.access.municipality_id();
    let list = models::list(&state.store, m).await?;
    let alias = form.alias.trim().to_string();
    let resolves_to = if alias.is_empty() || errors.alias.is_some() {
        None
    } else {
        models::resolve(&state.store, m, &alias).await?.map(|x| x.name)
    };
    let chosen = form.model.trim();
    let options = std::iter::once(SelectOption::new("", "選んでください", chosen))
        .chain(
            list.iter().map(|x| SelectOption::new(x.name.as_str(), format!("{}（{}）", x.name, x.model_group), chosen)),
        )
        .collect();
    let views = list
        .into_iter()
        .map(|x| ModelView {
            aliases: x
                .aliases
                .into_iter()
                .map(|a| AliasView {
                    added: format!(
                        "{}{}",
                        gigaops_mail::tokyo(a.created_at),
                        a.created_by.map(|b| format!("・{b}")).unwrap_or_default()
                    ),
                    alias: a.alias,
                })
                .collect(),
            name: x.name,
            group: x.model_group,
            devices: x.devices,
        })
        .collect();
    render_with(
        status,
        &ModelsPage {
            layout: me.layout("機種と別名", Section::Devices).await?,
            models: views,
            can_manage: me.access.allows(Capability::ManageModels),
            options,
            alias,
            resolves_to,
            alias_error: errors.alias,
            model_error: errors.model,
            general_error: errors.general,
        },
    )
}

pub(super) async fn show(
    State(state): State<AppState>,
    me: SignedIn,
    Query(q): Query<ModelsQuery>,
) -> AppResult<Response> {
    me.access.require(Capability::ViewModels)?;
    let form = AliasForm { model: String::new(), alias: q.alias };
    page(&state, &me, form, Errors::default(), StatusCode::OK).await
}

pub(super) async fn add(State(state): State<AppState>, me: SignedIn, Form(f): Form<AliasForm>) -> AppResult<Response> {
    me.access.require(Capability::ManageModels)?;
    let mut errors = Errors::default();
    if f.model.trim().is_empty() {
        errors.model = Some("別名を付ける機種を選んでください。".into());
    }
    if f.alias.trim().is_empty() {
        errors.alias = Some("別名（MDM などでの機種名）を入力してください。".into());
    }
    if errors.model.is_some() || errors.alias.is_some() {
        return page(&state, &me, f, errors, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let m = me.access.municipality_id();
    match models::add_alias(&state.store, m, &f.model, &f.alias, Some(&me.user().email)).await {
        Ok(a) => {
            tracing::info!(alias = %a.alias, model = %a.model_name, user.id = me.user().id, "機種の別名を登録しました");
            let message = if a.changed {
                format!("「{}」を機種「{}」の別名として登録しました。", a.alias, a.model_name)
            } else {
                format!("「{}」は機種「{}」の別名として登録済みです。", a.alias, a.model_name)
            };
            flash(&me.session, message).await?;
            Ok(Redirect::to("/fleet/models").into_response())
        }
        Err(StoreError::NotFound(msg)) => {
            errors.model = Some(msg);
            page(&state, &me, f, errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(StoreError::Rule(msg)) => {
            errors.alias = Some(msg);
            page(&state, &me, f, errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn remove(
    State(state): State<AppState>,
    me: SignedIn,
    Form(f): Form<RemoveForm>,
) -> AppResult<Response> {
    me.access.require(Capability::ManageModels)?;
    match models::remove_alias(&state.store, me.access.municipality_id(), &f.alias).await {
        Ok(a) => {
            tracing::info!(alias = %a.alias, model = %a.model_name, user.id = me.user().id, "機種の別名を削除しました");
            flash(&me.session, format!("機種「{}」の別名「{}」を削除しました。", a.model_name, a.alias)).await?;
            Ok(Redirect::to("/fleet/models").into_response())
        }
        Err(StoreError::NotFound(msg)) => {
            let errors = Errors { general: Some(msg), ..Default::default() };
            page(&state, &me, AliasForm::default(), errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

/// URL of the models page with `alias` pre-filled (for links from pages that meet an unknown
/// model name, such as an import preview).
#[allow(dead_code)] // the import preview links here
pub fn alias_href(alias: &str) -> String {
    format!("/fleet/models{}", http::query(&[("alias", alias)]))
}

#[cfg(test)]
mod tests {
    #[test]
    fn alias_links_are_encoded() {
        assert_eq!(super::alias_href("iPad (8th generation)"), "/fleet/models?alias=iPad%20%288th%20generation%29");
        assert_eq!(super::alias_href(""), "/fleet/models");
    }
}
