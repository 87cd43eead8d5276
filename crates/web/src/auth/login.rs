//! `GET /login`, `POST /login`, `POST /logout`.
//!
//! The login form carries the CSRF token of the anonymous session (checked by
//! [`crate::csrf::verify`] like every other form). After login the session id and the CSRF token
//! are replaced and the user goes to `next` if it is a path on this site, else to `/`. A wrong
//! e-mail or password re-renders the form (401) with the e-mail kept and one message that does not
//! say which of the two was wrong.

use super::{AuthSession, Credentials};
use crate::errors::{AppError, AppResult};
use crate::http::is_local_path;
use crate::page::{render, render_with, Layout};
use crate::AppState;
use askama::Template;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/login", get(show).post(submit)).route("/logout", post(logout))
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    email: String,
    next: String,
    error: Option<&'static str>,
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

/// Where to go after login.
fn destination(next: Option<&str>) -> &str {
    next.filter(|n| is_local_path(n)).unwrap_or("/")
}

async fn show(auth: AuthSession, Query(q): Query<LoginQuery>) -> AppResult<Response> {
    if auth.user.is_some() {
        return Ok(Redirect::to(destination(q.next.as_deref())).into_response());
    }
    let token = crate::csrf::token(&auth.session).await?;
    render(&LoginPage {
        layout: Layout::anonymous("ログイン", token),
        email: String::new(),
        next: q.next.filter(|n| is_local_path(n)).unwrap_or_default(),
        error: None,
    })
}

/// The login form's fields.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

async fn submit(mut auth: AuthSession, Form(f): Form<LoginForm>) -> AppResult<Response> {
    let creds = Credentials { email: f.email.clone(), password: f.password };
    let user = auth.authenticate(creds).await.map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))?;
    let Some(user) = user else {
        tracing::info!(email = %f.email, "ログインに失敗しました");
        let token = crate::csrf::token(&auth.session).await?;
        return render_with(
            StatusCode::UNAUTHORIZED,
            &LoginPage {
                layout: Layout::anonymous("ログイン", token),
                email: f.email,
                next: if is_local_path(&f.next) { f.next } else { String::new() },
                error: Some("メールアドレスまたはパスワードが正しくありません。"),
            },
        );
    };
    auth.login(&user).await.map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))?;
    crate::csrf::rotate(&auth.session).await?;
    tracing::info!(user.id = user.0.id, role = %user.0.role, "ログインしました");
    Ok(Redirect::to(destination(Some(&f.next))).into_response())
}

async fn logout(mut auth: AuthSession) -> AppResult<Response> {
    auth.logout().await.map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))?;
    Ok(Redirect::to("/login").into_response())
}
