//! CSRF protection with a per-session synchronizer token.
//!
//! Every session (anonymous ones too, for the login form) holds one random token: 32 bytes from
//! the OS, hex-encoded, under the session key [`SESSION_KEY`]. Every form renders it as the hidden
//! field `csrf_token` (see [`token`]). The [`verify`] middleware runs on *every* request with a
//! state-changing method (POST, PUT, PATCH, DELETE): the token must come in the form field
//! `csrf_token` (URL-encoded forms) or the `X-CSRF-Token` header, and must equal the session's;
//! otherwise the request ends with 403 ([`AppError::Csrf`]) before any handler runs. The token
//! is replaced at login and dropped with the session at logout.

use crate::errors::AppError;
use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Form;
use rand::RngCore;
use std::collections::HashMap;
use tower_sessions::Session;

/// Session key of the token.
pub const SESSION_KEY: &str = "csrf_token";
/// Name of the hidden form field.
pub const FORM_FIELD: &str = "csrf_token";
/// Name of the header alternative (for scripts and htmx).
pub const HEADER: &str = "x-csrf-token";
/// Largest form body the check reads (2 MiB).
const MAX_FORM_BYTES: usize = 2 * 1024 * 1024;

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The session's token, created (and the session saved) if it has none yet.
///
/// Errors: [`AppError::Internal`] when the session store fails.
pub async fn token(session: &Session) -> Result<String, AppError> {
    if let Some(t) = session.get::<String>(SESSION_KEY).await? {
        return Ok(t);
    }
    let t = new_token();
    session.insert(SESSION_KEY, &t).await?;
    Ok(t)
}

/// Replaces the session's token (after login).
///
/// Errors: [`AppError::Internal`] when the session store fails.
pub async fn rotate(session: &Session) -> Result<String, AppError> {
    let t = new_token();
    session.insert(SESSION_KEY, &t).await?;
    Ok(t)
}

/// Compares in time independent of where the strings differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn changes_state(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE)
}

/// Middleware: rejects state-changing requests without the session's token (403), passes the
/// others on unchanged. The form body is read once and handed on to the handler as it was.
pub async fn verify(req: Request, next: Next) -> Response {
    if !changes_state(req.method()) {
        return next.run(req).await;
    }
    match check(req).await {
        Ok(req) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

async fn check(req: Request) -> Result<Request, AppError> {
    let Some(session) = req.extensions().get::<Session>().cloned() else {
        return Err(AppError::internal(anyhow::anyhow!("CSRF: session layer missing")));
    };
    let expected = session.get::<String>(SESSION_KEY).await?;
    let header_token = req.headers().get(HEADER).and_then(|v| v.to_str().ok()).map(str::to_string);
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    let (req, provided) = match header_token {
        Some(t) => (req, Some(t)),
        None if is_form => {
            let (parts, body) = req.into_parts();
            let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
                .await
                .map_err(|_| AppError::BadRequest("送信された内容が大きすぎます".into()))?;
            let probe = Request::builder()
                .method(Method::POST)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(bytes.clone()))
                .map_err(AppError::internal)?;
            let token = match Form::<HashMap<String, String>>::from_request(probe, &()).await {
                Ok(Form(fields)) => fields.get(FORM_FIELD).cloned(),
                Err(_) => None,
            };
            (Request::from_parts(parts, Body::from(bytes)), token)
        }
        None => (req, None),
    };
    match (expected, provided) {
        (Some(e), Some(p)) if same(&e, p.trim()) => Ok(req),
        _ => {
            tracing::warn!(uri = %req.uri(), "CSRF トークンが一致しない送信を拒否しました");
            Err(AppError::Csrf)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_64_hex_digits_and_differ() {
        let a = new_token();
        let b = new_token();
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn comparison() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "abcd"));
        assert!(!same("", "a"));
    }
}
