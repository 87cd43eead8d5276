//! `GET /login`, `POST /login`, `POST /logout`.
//!
//! - An anonymous `GET /login` stores nothing: the form's CSRF token is a double-submit cookie
//!   (see [`crate::csrf`]); the session row is created at a successful sign-in.
//! - `POST /login` first asks [`gigaops_store::login_throttle`] whether the account (e-mail) or
//!   the client address is blocked after failed attempts: if so, 429 with the time to try again,
//!   and the password is not checked. The client address is the TCP peer (axum `ConnectInfo`); a
//!   reverse proxy's `X-Forwarded-For` is not read, so behind a proxy every client shares the
//!   proxy's address (its limit is the higher one of an address).
//! - A failure counts against both; a success resets the account's count, replaces the session id
//!   and the CSRF token, and goes to `next` if it is a path on this site, else to `/`. A wrong
//!   e-mail or password re-renders the form (401) with the e-mail kept and one message that does
//!   not say which of the two was wrong.

use super::{AuthSession, Credentials};
use crate::access_routes::{Routes, Rule};
use crate::errors::{AppError, AppResult};
use crate::http::is_local_path;
use crate::page::{render_with, Layout};
use crate::AppState;
use askama::Template;
use axum::extract::{ConnectInfo, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{DateTime, Utc};
use gigaops_store::login_throttle::{self, Key};
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};

pub(crate) fn routes() -> Routes {
    Routes::new().get("/login", show, Rule::Public).post("/login", submit, Rule::LoginForm).post(
        "/logout",
        logout,
        Rule::SignedIn,
    )
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    email: String,
    next: String,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

/// The client's address: the TCP peer, when the server was started with connect info.
struct ClientAddr(Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())))
    }
}

/// Where to go after login.
fn destination(next: Option<&str>) -> &str {
    next.filter(|n| is_local_path(n)).unwrap_or("/")
}

/// The login form with `status`, its token from the request's cookie (or a new one, then set).
fn form(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    email: String,
    next: String,
    error: Option<String>,
) -> AppResult<Response> {
    let (token, set_cookie) = crate::csrf::login_token_or_new(headers, state.secure_cookies);
    let next = if is_local_path(&next) { next } else { String::new() };
    let mut r = render_with(status, &LoginPage { layout: Layout::anonymous("ログイン", token), email, next, error })?;
    if let Some(c) = set_cookie {
        r.headers_mut().append(header::SET_COOKIE, c.parse().map_err(AppError::internal)?);
    }
    Ok(r)
}

async fn show(
    State(state): State<AppState>,
    auth: AuthSession,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> AppResult<Response> {
    if auth.user.is_some() {
        return Ok(Redirect::to(destination(q.next.as_deref())).into_response());
    }
    form(&state, &headers, StatusCode::OK, String::new(), q.next.unwrap_or_default(), None)
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

/// The message of a refused (throttled) attempt, with the time in Japan to try again.
fn throttled_message(until: DateTime<Utc>) -> String {
    let at = until.with_timezone(&gigaops_domain::calendar::jst()).format("%H:%M:%S");
    format!("ログインの試行が多すぎます。しばらく受け付けません。{at} 以降にもう一度お試しください。")
}

/// Where a refused attempt will be written to the audit log; for now the warning log only.
fn audit_throttled(email: &str, addr: Option<IpAddr>, until: DateTime<Utc>) {
    tracing::warn!(email = %email, client = ?addr, until = %until, "ログインの試行が多すぎるため拒否しました");
}

async fn submit(
    State(state): State<AppState>,
    mut auth: AuthSession,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> AppResult<Response> {
    let store = &state.store;
    let mut keys = vec![Key::Account(f.email.clone())];
    keys.extend(addr.map(Key::Address));
    if let Some(until) = login_throttle::blocked_until(store, &keys, Utc::now()).await? {
        audit_throttled(&f.email, addr, until);
        let wait = (until - Utc::now()).num_seconds().max(1);
        let mut r =
            form(&state, &headers, StatusCode::TOO_MANY_REQUESTS, f.email, f.next, Some(throttled_message(until)))?;
        r.headers_mut().insert(header::RETRY_AFTER, wait.into());
        return Ok(r);
    }
    let creds = Credentials { email: f.email.clone(), password: f.password };
    let user = auth.authenticate(creds).await.map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))?;
    let Some(user) = user else {
        tracing::info!(email = %f.email, client = ?addr, "ログインに失敗しました");
        login_throttle::record_failure(store, &keys, Utc::now()).await?;
        let error = "メールアドレスまたはパスワードが正しくありません。".to_string();
        return form(&state, &headers, StatusCode::UNAUTHORIZED, f.email, f.next, Some(error));
    };
    login_throttle::reset(store, &keys[0]).await?;
    auth.login(&user).await.map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))?;
    crate::csrf::rotate(&auth.session).await?;
    tracing::info!(user.id = user.0.id, role = %user.0.role, "ログインしました");
    let mut r = Redirect::to(destination(Some(&f.next))).into_response();
    let clear = crate::csrf::clear_login_cookie(state.secure_cookies);
    r.headers_mut().append(header::SET_COOKIE, clear.parse().map_err(AppError::internal)?);
    Ok(r)
}

async fn logout(mut auth: AuthSession) -> AppResult<Response> {
    auth.logout().await.map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))?;
    Ok(Redirect::to("/login").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_throttle_message_gives_the_time_in_japan() {
        let until = DateTime::parse_from_rfc3339("2026-12-02T00:15:30Z").unwrap().with_timezone(&Utc);
        let m = throttled_message(until);
        assert!(m.contains("09:15:30 以降にもう一度お試しください"), "{m}");
    }
}
