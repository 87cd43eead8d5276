//! Static assets, compiled into the binary: `/static/app.css` (layout, tables, report charts and
//! the A4-landscape print rules). Pages link it as `/static/app.css?v=<hash>`, so browsers may
//! cache it for a day and still fetch a changed file at once.

use crate::access_routes::{Routes, Rule};
use axum::http::header;
use axum::response::IntoResponse;
use std::sync::LazyLock;

/// The stylesheet.
pub const APP_CSS: &str = include_str!("../static/app.css");

/// FNV-1a of the stylesheet: changes whenever the file does.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    h
}

const CSS_HASH: u64 = fnv1a(APP_CSS.as_bytes());

static CSS_HREF: LazyLock<String> = LazyLock::new(|| format!("/static/app.css?v={CSS_HASH:016x}"));

/// The stylesheet's URL with its content hash, for `<link rel="stylesheet">`.
pub fn css_href() -> &'static str {
    &CSS_HREF
}

pub(crate) fn routes() -> Routes {
    Routes::new().get("/static/app.css", app_css, Rule::Public)
}

async fn app_css() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=86400")], APP_CSS)
}
