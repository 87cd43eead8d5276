//! Request body limits, checked before the CSRF check reads a body.
//!
//! - **Anonymous requests** (no signed-in user): at most [`ANONYMOUS_MAX_BYTES`] (16 KiB; the
//!   login form is a few hundred bytes). A larger `Content-Length` is refused at once with 413; a
//!   body without a length is read up to the limit (and a little past it, so the client gets the
//!   413 page) and handed on from memory. Thousands of parallel anonymous uploads so hold at most
//!   16 KiB each.
//! - **Signed-in users**: the upload routes ([`UPLOAD_ROUTES`]) are left to their handlers, which
//!   limit the file to the configured size (`--max-upload-mib` for `/imports`,
//!   [`crate::csrf::MAX_UPLOAD_BYTES`] for `/plan/import`); every other route refuses a
//!   `Content-Length` over [`SIGNED_IN_MAX_BYTES`] (2 MiB, what the CSRF check reads of a form).
//!   When an upload handler answers before it has read the whole body (a file over its limit, a
//!   refused form), the rest is read and dropped — at most [`DRAIN_MAX_BYTES`] — before the answer
//!   goes out, so that a browser still sending reads the answer instead of a reset connection;
//!   past that the connection is closed after the answer.
//!
//! Requests that do not change state (GET, HEAD …) are not limited here: their bodies are never read.

use crate::auth::AuthSession;
use crate::errors::AppError;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use std::sync::Arc;
use tokio::sync::Mutex;

/// Largest body of an anonymous request (16 KiB).
pub const ANONYMOUS_MAX_BYTES: usize = 16 * 1024;
/// Largest body of a signed-in user's request outside the upload routes (2 MiB).
pub const SIGNED_IN_MAX_BYTES: usize = 2 * 1024 * 1024;
/// The routes that take file uploads (POST): their handlers limit the size.
pub const UPLOAD_ROUTES: [&str; 2] = ["/imports", "/plan/import"];
/// Most of an upload's body left unread by its handler that is read and dropped before the
/// answer (64 MiB).
pub const DRAIN_MAX_BYTES: usize = 64 * 1024 * 1024;

fn content_length(req: &Request) -> Option<usize> {
    req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok())
}

/// The limit of a request with `method` to `path`; `None` = not limited here.
fn limit(method: &Method, path: &str, signed_in: bool) -> Option<usize> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE) {
        None
    } else if !signed_in {
        Some(ANONYMOUS_MAX_BYTES)
    } else if UPLOAD_ROUTES.contains(&path) {
        None
    } else {
        Some(SIGNED_IN_MAX_BYTES)
    }
}

/// Middleware (inside the login layer, outside [`crate::csrf::verify`]): refuses a body over the
/// request's limit with 413 ([`AppError::TooLarge`]) before anything reads it.
pub async fn enforce(req: Request, next: Next) -> Response {
    let signed_in = req.extensions().get::<AuthSession>().is_some_and(|a| a.user.is_some());
    let Some(max) = limit(req.method(), req.uri().path(), signed_in) else {
        if signed_in && req.method() == Method::POST && UPLOAD_ROUTES.contains(&req.uri().path()) {
            return drained_after(req, next).await;
        }
        return next.run(req).await;
    };
    match content_length(&req) {
        Some(n) if n > max => AppError::TooLarge { limit: max }.into_response(),
        Some(_) => next.run(req).await,
        None if signed_in => next.run(req).await,
        None => {
            // no length (chunked): read it here, at most the limit, so nothing behind holds more
            let (parts, body) = req.into_parts();
            let mut stream = body.into_data_stream();
            let mut buf = Vec::new();
            while let Some(chunk) = stream.next().await {
                let Ok(chunk) = chunk else {
                    return AppError::BadRequest("送信された内容を最後まで受け取れませんでした".into()).into_response();
                };
                buf.extend_from_slice(&chunk);
                if buf.len() > max {
                    return AppError::TooLarge { limit: max }.into_response();
                }
            }
            next.run(Request::from_parts(parts, Body::from(buf))).await
        }
    }
}

/// Runs the handler on a body it shares with this function; once the handler has answered, reads
/// and drops what it left unread (at most [`DRAIN_MAX_BYTES`]; past that, or on a read error, the
/// answer gets `Connection: close`).
async fn drained_after(req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let shared = Arc::new(Mutex::new(body.into_data_stream()));
    let handler_side = futures::stream::unfold(shared.clone(), |s| async move {
        let item = s.lock().await.next().await;
        item.map(|item| (item, s))
    });
    let mut response = next.run(Request::from_parts(parts, Body::from_stream(handler_side))).await;
    let mut rest = shared.lock().await;
    let mut drained = 0usize;
    loop {
        match rest.next().await {
            None => break,
            Some(Ok(chunk)) => {
                drained = drained.saturating_add(chunk.len());
                if drained <= DRAIN_MAX_BYTES {
                    continue;
                }
            }
            Some(Err(_)) => {}
        }
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        break;
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_by_user_method_and_route() {
        assert_eq!(limit(&Method::GET, "/login", false), None);
        assert_eq!(limit(&Method::POST, "/login", false), Some(ANONYMOUS_MAX_BYTES));
        assert_eq!(limit(&Method::POST, "/imports", false), Some(ANONYMOUS_MAX_BYTES), "anonymous upload");
        assert_eq!(limit(&Method::POST, "/imports", true), None, "the handler's limit");
        assert_eq!(limit(&Method::POST, "/plan/import", true), None);
        assert_eq!(limit(&Method::POST, "/fleet/devices/X/incidents", true), Some(SIGNED_IN_MAX_BYTES));
    }
}
