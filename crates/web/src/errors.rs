//! Errors of the web layer, and which type to use where.
//!
//! - **Request handlers** return [`AppResult<T>`] (`Result<T, AppError>`). Each [`AppError`]
//!   variant is one HTTP status and renders the Japanese error page (`templates/error.html`):
//!   - [`AppError::NotFound`] (404 見つかりません) for anything the user cannot see — including a
//!     device of another school: a `school` user gets 404, not 403, so existence does not leak;
//!   - [`AppError::Forbidden`] (403 権限がありません) when the user's role lacks the capability
//!     (see [`crate::auth::Access`]);
//!   - [`AppError::Csrf`] (403) when a state-changing request has no matching CSRF token
//!     (see [`crate::csrf`]);
//!   - [`AppError::TooLarge`] (413) when a request body is over its limit (see [`crate::csrf`]);
//!   - [`AppError::BadRequest`] (400) for input the handler rejects, with a Japanese message to show;
//!   - [`AppError::Internal`] (500) for everything else: logged with `tracing` with its whole cause
//!     chain; the page only says that something went wrong and never shows the cause.
//! - **A form that fails validation is not an error**: the handler re-renders the form with each
//!   message beside its field and every typed value kept, with status 422.
//! - [`gigaops_store::StoreError`] converts with `?`: `NotFound` → 404, `Rule` / `Rows` / `Conflict`
//!   → 400 with the store's Japanese message, `Busy` → 503 with its message, `Db` / `Sqlx` → 500. Handlers that can blame a
//!   field (registering an incident) match on the store error instead of using `?`.
//! - **Start-up and wiring** ([`crate::router`], [`crate::serve`]) use `anyhow::Result`: there is no
//!   request to answer there.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use gigaops_store::StoreError;
use std::fmt;

/// Result of a request handler.
pub type AppResult<T> = Result<T, AppError>;

/// An error that ends a request with an error page. See the [module docs](self) for when to use
/// which variant.
#[derive(thiserror::Error)]
pub enum AppError {
    /// 404: the page or record does not exist, or the user may not know that it does.
    #[error("見つかりません")]
    NotFound,
    /// 403: the user's role does not allow this.
    #[error("権限がありません")]
    Forbidden,
    /// 403: the form's CSRF token is missing or does not match the session's.
    #[error("フォームの確認用トークンが一致しません")]
    Csrf,
    /// 413: the body (a form or an uploaded file) is larger than `limit` bytes.
    #[error("送信された内容が大きすぎます（上限 {}）", size_label(*limit))]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// 400: the request is malformed; the message (Japanese) is shown to the user.
    #[error("{0}")]
    BadRequest(String),
    /// 503: the database stayed busy with another write (an SQLite import) past its wait; the
    /// message (Japanese) says that nothing was written and to try again.
    #[error("{0}")]
    Busy(String),
    /// 500: anything else. Logged, never shown.
    #[error("内部エラー: {0:#}")]
    Internal(#[from] anyhow::Error),
}

impl fmt::Debug for AppError {
    /// The whole cause chain (for logs and test failures).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppError::Internal(e) => write!(f, "Internal({e:?})"),
            other => write!(f, "{other}"),
        }
    }
}

/// A body limit for people: whole MiB from 1 MiB on (`20 MiB`), else KiB (`16 KiB`).
fn size_label(bytes: usize) -> String {
    if bytes >= 1024 * 1024 {
        format!("{} MiB", bytes / (1024 * 1024))
    } else {
        format!("{} KiB", bytes.div_ceil(1024))
    }
}

impl AppError {
    /// Wraps any error as [`AppError::Internal`].
    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        AppError::Internal(e.into())
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Forbidden | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(_) => AppError::NotFound,
            StoreError::Rule(m) | StoreError::Conflict(m) => AppError::BadRequest(m),
            e @ (StoreError::Rows(_) | StoreError::Fleet(_)) => AppError::BadRequest(e.to_string()),
            e @ StoreError::Busy => AppError::Busy(e.to_string()),
            e @ (StoreError::Db(_) | StoreError::Sqlx(_)) => AppError::Internal(e.into()),
        }
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Internal(anyhow::Error::new(e).context("テンプレートを描画できません"))
    }
}

impl From<tower_sessions::session::Error> for AppError {
    fn from(e: tower_sessions::session::Error) -> Self {
        AppError::Internal(anyhow::Error::new(e).context("セッションを読み書きできません"))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    message: &'a str,
    css_href: &'static str,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let (title, message): (&str, String) = match &self {
            AppError::NotFound => ("見つかりません", "お探しのページまたはデータは見つかりませんでした。".into()),
            AppError::Forbidden => ("権限がありません", "このページを表示する権限がありません。".into()),
            AppError::Csrf => (
                "権限がありません",
                "フォームの有効期限が切れたか、正しくない送信です。ページを読み込み直してから、もう一度操作してください。"
                    .into(),
            ),
            AppError::TooLarge { limit } => (
                "送信された内容が大きすぎます",
                format!(
                    "送信できるのは {} までです。ファイルを分けるか小さくしてから、もう一度送ってください。",
                    size_label(*limit)
                ),
            ),
            AppError::BadRequest(m) => ("入力に誤りがあります", m.clone()),
            AppError::Busy(m) => ("混み合っています", m.clone()),
            AppError::Internal(e) => {
                tracing::error!(error = ?e, "リクエストの処理中にエラーが発生しました");
                (
                    "エラーが発生しました",
                    "処理中にエラーが発生しました。時間をおいてもう一度お試しください。続く場合は管理者に連絡してください。"
                        .into(),
                )
            }
        };
        let page = ErrorPage { status: status.as_u16(), title, message: &message, css_href: crate::assets::css_href() };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!(error = %e, "エラーページを描画できません");
                (status, format!("{status} {title}")).into_response()
            }
        }
    }
}

/// Fallback handler: 404 for every unknown path.
pub async fn not_found() -> AppError {
    AppError::NotFound
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(r: Response) -> String {
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 20).await.expect("body");
        String::from_utf8(bytes.to_vec()).expect("utf-8")
    }

    #[tokio::test]
    async fn internal_errors_do_not_leak_their_cause() {
        let e = AppError::internal(anyhow::anyhow!("password=hunter2 at postgres://db"));
        assert!(format!("{e:?}").contains("hunter2"), "the log sees the cause");
        let r = e.into_response();
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let html = body(r).await;
        assert!(html.contains("エラーが発生しました"));
        assert!(!html.contains("hunter2") && !html.contains("postgres"), "{html}");
    }

    #[tokio::test]
    async fn each_variant_has_its_status_and_japanese_page() {
        let cases = [
            (AppError::NotFound, StatusCode::NOT_FOUND, "見つかりません"),
            (AppError::Forbidden, StatusCode::FORBIDDEN, "権限がありません"),
            (AppError::Csrf, StatusCode::FORBIDDEN, "権限がありません"),
            (AppError::BadRequest("年度「X」は不正です".into()), StatusCode::BAD_REQUEST, "年度「X」は不正です"),
            (AppError::TooLarge { limit: 20 << 20 }, StatusCode::PAYLOAD_TOO_LARGE, "20 MiB までです"),
            (AppError::TooLarge { limit: 16 << 10 }, StatusCode::PAYLOAD_TOO_LARGE, "16 KiB までです"),
        ];
        for (e, status, text) in cases {
            let r = e.into_response();
            assert_eq!(r.status(), status);
            let html = body(r).await;
            assert!(html.contains(text) && html.contains("lang=\"ja\""), "{html}");
        }
    }

    #[test]
    fn store_errors_map_to_statuses() {
        assert_eq!(AppError::from(StoreError::NotFound("x".into())).status(), StatusCode::NOT_FOUND);
        assert_eq!(AppError::from(StoreError::Rule("x".into())).status(), StatusCode::BAD_REQUEST);
        assert_eq!(AppError::from(StoreError::Rows(vec!["a".into()])).status(), StatusCode::BAD_REQUEST);
        let db = StoreError::Db(sea_orm::DbErr::Custom("boom".into()));
        assert_eq!(AppError::from(db).status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
