//! CSRF protection: a per-session synchronizer token for signed-in users, a double-submit cookie
//! for the login form.
//!
//! - **Signed-in users**: the session holds one random token (32 bytes from the OS, hex-encoded)
//!   under the session key [`SESSION_KEY`]; every form renders it as the hidden field `csrf_token`
//!   (see [`token`]). It is replaced at login and dropped with the session at logout.
//! - **The login form** ([`LOGIN_PATH`]): an anonymous visitor has no session row (a `GET /login`
//!   stores nothing in the database). The form's token is also set as the cookie [`LOGIN_COOKIE`]
//!   (`HttpOnly; SameSite=Strict; Path=/login`), and `POST /login` must send the same value in the
//!   form field: another site can neither read nor set that cookie, so it cannot forge the pair.
//!
//! The [`verify`] middleware runs on *every* request with a state-changing method (POST, PUT,
//! PATCH, DELETE): the token must come in the `X-CSRF-Token` header or in the form field
//! `csrf_token` — of a URL-encoded form (`application/x-www-form-urlencoded`, body read up to
//! 2 MiB; over it 413 [`AppError::TooLarge`]) or of a file upload (`multipart/form-data`: a body
//! of up to 2 MiB is read whole; a larger one only as far as the token field, which every form
//! sends first, and at most 2 MiB of it; the upload's size is the handler's to limit) — and must
//! equal the session's (the cookie's for the login form); otherwise the request ends with 403
//! ([`AppError::Csrf`]) before any handler runs. The bytes read are handed on to the handler in
//! front of the rest of the body, so a 200 MiB upload is never held in memory here. Before this
//! check, [`crate::body_limit`] has already refused large bodies of anonymous requests.

use crate::errors::AppError;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Form;
use futures::StreamExt;
use rand::RngCore;
use std::collections::HashMap;
use tower_sessions::Session;

/// Session key of the token.
pub const SESSION_KEY: &str = "csrf_token";
/// Name of the hidden form field.
pub const FORM_FIELD: &str = "csrf_token";
/// The login form's path: its token is the [`LOGIN_COOKIE`], not the session's.
pub const LOGIN_PATH: &str = "/login";
/// Name of the cookie with the login form's token.
pub const LOGIN_COOKIE: &str = "gigaops_login_csrf";
/// Name of the header alternative (for scripts and htmx).
pub const HEADER: &str = "x-csrf-token";
/// Largest URL-encoded form body the check reads (2 MiB).
const MAX_FORM_BYTES: usize = 2 * 1024 * 1024;
/// Largest plan-file upload (`/plan/import`): 20 MiB. `/imports` has its own, configurable limit.
pub const MAX_UPLOAD_BYTES: usize = 20 * 1024 * 1024;

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

/// The login form's token from the request's [`LOGIN_COOKIE`], if it has a well-formed one
/// (64 hex digits).
pub fn login_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == LOGIN_COOKIE)
        .map(|(_, value)| value.trim().to_string())
        .filter(|t| t.len() == 64 && t.bytes().all(|c| c.is_ascii_hexdigit()))
}

/// The login form's token: the one of the request's cookie, else a new one (then `Some` is the
/// `Set-Cookie` value that stores it, `Secure` when `secure`).
pub fn login_token_or_new(headers: &HeaderMap, secure: bool) -> (String, Option<String>) {
    match login_token(headers) {
        Some(t) => (t, None),
        None => {
            let t = new_token();
            let cookie = login_cookie(&t, secure);
            (t, Some(cookie))
        }
    }
}

/// `Set-Cookie` value of the login form's token: `HttpOnly; SameSite=Strict; Path=/login`, a
/// session cookie (no expiry), `Secure` when `secure`.
pub fn login_cookie(token: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{LOGIN_COOKIE}={token}; Path={LOGIN_PATH}; HttpOnly; SameSite=Strict{secure}")
}

/// `Set-Cookie` value that deletes the login form's cookie (after a successful sign-in).
pub fn clear_login_cookie(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{LOGIN_COOKIE}=; Path={LOGIN_PATH}; Max-Age=0; HttpOnly; SameSite=Strict{secure}")
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

/// How the body of a state-changing request may carry the token.
enum BodyKind {
    /// `application/x-www-form-urlencoded`.
    UrlEncoded,
    /// `multipart/form-data` with its boundary.
    Multipart(String),
    /// Anything else: only the header counts.
    Other,
}

fn body_kind(headers: &HeaderMap) -> BodyKind {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let essence = ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    match essence.as_str() {
        "application/x-www-form-urlencoded" => BodyKind::UrlEncoded,
        "multipart/form-data" => multer::parse_boundary(ct).map_or(BodyKind::Other, BodyKind::Multipart),
        _ => BodyKind::Other,
    }
}

/// The request's `Content-Length`; `None` when absent (a chunked body: treated as large).
fn content_length(headers: &HeaderMap) -> Option<usize> {
    headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok())
}

/// The whole body, at most `limit` bytes. A larger body is still read to its end (up to four times
/// the limit), so that the client gets the 413 page rather than a connection closed mid-upload.
async fn read_body(body: Body, limit: usize) -> Result<Bytes, AppError> {
    let mut stream = body.into_data_stream();
    let mut buf = Vec::new();
    let mut seen = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| AppError::BadRequest("送信された内容を最後まで受け取れませんでした".into()))?;
        seen = seen.saturating_add(chunk.len());
        if seen <= limit {
            buf.extend_from_slice(&chunk);
        } else if seen > limit.saturating_mul(4) {
            break;
        }
    }
    if seen > limit {
        return Err(AppError::TooLarge { limit });
    }
    Ok(Bytes::from(buf))
}

/// The value of the URL-encoded form field [`FORM_FIELD`].
async fn urlencoded_token(bytes: Bytes) -> Result<Option<String>, AppError> {
    let probe = Request::builder()
        .method(Method::POST)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(bytes))
        .map_err(AppError::internal)?;
    Ok(match Form::<HashMap<String, String>>::from_request(probe, &()).await {
        Ok(Form(fields)) => fields.get(FORM_FIELD).cloned(),
        Err(_) => None,
    })
}

/// The value of the multipart field [`FORM_FIELD`], read from the start of the body: at most
/// [`MAX_FORM_BYTES`] are read looking for it (a body that does not parse, or whose token comes
/// later, has none). Returns the token and the whole body (the bytes read, then the rest).
async fn multipart_token(body: Body, boundary: String) -> (Option<String>, Body) {
    let mut data = body.into_data_stream();
    let mut read: Vec<Bytes> = Vec::new();
    let token = {
        let mut total = 0usize;
        let read = &mut read;
        let tee = (&mut data).map(move |chunk| {
            let chunk = chunk?;
            total += chunk.len();
            read.push(chunk.clone());
            if total > MAX_FORM_BYTES {
                return Err(axum::Error::new("CSRF token not within the first 2 MiB"));
            }
            Ok(chunk)
        });
        let mut form = multer::Multipart::new(tee, boundary);
        let mut token = None;
        while let Ok(Some(field)) = form.next_field().await {
            if field.name() == Some(FORM_FIELD) {
                token = field.text().await.ok();
                break;
            }
        }
        token
    };
    let replay = futures::stream::iter(read.into_iter().map(Ok::<Bytes, axum::Error>));
    (token, Body::from_stream(replay.chain(data)))
}

async fn check(req: Request) -> Result<Request, AppError> {
    let Some(session) = req.extensions().get::<Session>().cloned() else {
        return Err(AppError::internal(anyhow::anyhow!("CSRF: session layer missing")));
    };
    let expected = if req.uri().path() == LOGIN_PATH {
        login_token(req.headers())
    } else {
        session.get::<String>(SESSION_KEY).await?
    };
    let header_token = req.headers().get(HEADER).and_then(|v| v.to_str().ok()).map(str::to_string);
    let (req, provided) = match (header_token, body_kind(req.headers())) {
        (Some(t), _) => (req, Some(t)),
        // nothing to compare with, or nowhere to look: the body is not read
        (None, _) if expected.is_none() => (req, None),
        (None, BodyKind::Other) => (req, None),
        // a small upload is read whole, as a form is: a handler that refuses it without reading
        // it then leaves no unread body on the connection
        (None, BodyKind::Multipart(boundary)) if content_length(req.headers()).is_none_or(|n| n > MAX_FORM_BYTES) => {
            let (parts, body) = req.into_parts();
            let (token, body) = multipart_token(body, boundary).await;
            (Request::from_parts(parts, body), token)
        }
        (None, BodyKind::Multipart(boundary)) => {
            let (parts, body) = req.into_parts();
            let bytes = read_body(body, MAX_FORM_BYTES).await?;
            let (token, body) = multipart_token(Body::from(bytes), boundary).await;
            (Request::from_parts(parts, body), token)
        }
        (None, BodyKind::UrlEncoded) => {
            let (parts, body) = req.into_parts();
            let bytes = read_body(body, MAX_FORM_BYTES).await?;
            let token = urlencoded_token(bytes.clone()).await?;
            (Request::from_parts(parts, Body::from(bytes)), token)
        }
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
    fn body_kinds() {
        let kind = |ct: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, ct.parse().unwrap());
            match body_kind(&h) {
                BodyKind::UrlEncoded => "form".to_string(),
                BodyKind::Multipart(b) => format!("multipart {b}"),
                BodyKind::Other => "other".to_string(),
            }
        };
        assert_eq!(kind("application/x-www-form-urlencoded; charset=UTF-8"), "form");
        assert_eq!(kind("multipart/form-data; boundary=----abc"), "multipart ----abc");
        assert_eq!(kind("Multipart/Form-Data; boundary=\"x y\""), "multipart x y");
        assert_eq!(kind("multipart/form-data"), "other", "no boundary: nothing to read");
        assert_eq!(kind("application/json"), "other");
    }

    #[tokio::test]
    async fn multipart_token_is_found_and_the_body_handed_on_whole() {
        let body = "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\nx,y\r\n\
                    --b\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\nabc\r\n--b--\r\n";
        let (token, rest) = multipart_token(Body::from(body), "b".into()).await;
        assert_eq!(token.as_deref(), Some("abc"));
        let whole = axum::body::to_bytes(rest, usize::MAX).await.unwrap();
        assert_eq!(whole, Bytes::from(body), "the handler gets every byte, in order");
        assert_eq!(multipart_token(Body::from("garbage"), "b".into()).await.0, None);
        // a token after 2 MiB of file is not looked for: the body is not read to its end
        let big = format!(
            "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\n{}\r\n\
             --b\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\nabc\r\n--b--\r\n",
            "x".repeat(3 * 1024 * 1024)
        );
        let (token, rest) = multipart_token(Body::from(big.clone()), "b".into()).await;
        assert_eq!(token, None);
        assert_eq!(axum::body::to_bytes(rest, usize::MAX).await.unwrap().len(), big.len());
    }

    #[tokio::test]
    async fn bodies_over_the_limit_are_refused() {
        assert_eq!(read_body(Body::from("12345"), 5).await.unwrap(), Bytes::from("12345"));
        assert!(matches!(read_body(Body::from("123456"), 5).await, Err(AppError::TooLarge { limit: 5 })));
    }

    #[test]
    fn the_login_token_is_read_from_its_cookie_only_when_well_formed() {
        let t = new_token();
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, format!("gigaops_session=abc; {LOGIN_COOKIE}={t}").parse().unwrap());
        assert_eq!(login_token(&h), Some(t.clone()));
        assert_eq!(login_token_or_new(&h, false), (t.clone(), None), "kept: no new cookie");
        h.insert(header::COOKIE, format!("{LOGIN_COOKIE}=short").parse().unwrap());
        assert_eq!(login_token(&h), None);
        let (fresh, cookie) = login_token_or_new(&h, true);
        let cookie = cookie.expect("a new cookie");
        assert!(cookie.starts_with(&format!("{LOGIN_COOKIE}={fresh}; Path=/login; HttpOnly; SameSite=Strict")));
        assert!(cookie.ends_with("; Secure"));
        assert!(!login_cookie(&fresh, false).contains("Secure"));
    }

    #[test]
    fn comparison() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "abcd"));
        assert!(!same("", "a"));
    }
}
