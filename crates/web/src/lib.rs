//! gigaops web: the Japanese, server-rendered web UI — axum router, handlers per capability,
//! askama templates, login and sessions, CSRF protection, role checks and static assets.
#![warn(missing_docs)]

pub mod access_routes;
mod assets;
pub mod auth;
pub mod body_limit;
pub mod csrf;
pub mod errors;
mod fleet;
mod health;
mod home;
mod http;
pub mod imports;
mod page;
mod plan;
mod schools;
pub mod session_retry;
mod usage;

use anyhow::Context as _;
use axum::http::{header, HeaderValue};
use axum::Router;
use gigaops_store::Store;
use sea_orm::DbBackend;
use std::time::Duration;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "gigaops_session";

/// Sessions end after this long without a request (8 hours: one school day).
pub const SESSION_INACTIVITY: Duration = Duration::from_secs(8 * 60 * 60);

/// Environment variable: `1` marks the cookies `Secure` even when [`Settings::public_url`] is not
/// `https://` (an override for a TLS proxy in front of a server configured with an http URL).
pub const SECURE_COOKIES_ENV: &str = "GIGAOPS_SECURE_COOKIES";

/// The `Strict-Transport-Security` value sent with [`Settings::hsts`]: one year, subdomains too.
pub const HSTS_VALUE: &str = "max-age=31536000; includeSubDomains";

/// Shared state of every handler: the store (cheap to clone, a connection pool) and the settings.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The database every handler reads and writes through `gigaops-store`.
    pub store: Store,
    /// Where e-mail to schools goes; `None` = e-mail not configured (the button says so).
    pub smtp: Option<gigaops_mail::SmtpConfig>,
    /// Uploads for import: folder, size limit, keep days, live progress.
    pub imports: std::sync::Arc<imports::runner::ImportJobs>,
    /// Cookies (session, login form) are marked `Secure`: the public URL is `https://`, or
    /// [`SECURE_COOKIES_ENV`] is `1`.
    pub secure_cookies: bool,
}

/// What the server is started with besides the store (the `gigaops serve` options).
#[derive(Clone, Debug)]
pub struct Settings {
    /// SMTP settings for the e-mails to schools; `None` = not configured.
    pub smtp: Option<gigaops_mail::SmtpConfig>,
    /// Folder of uploaded files awaiting import (`gigaops-uploads` in the working directory by
    /// default). App instances sharing a PostgreSQL database must share it.
    pub upload_dir: std::path::PathBuf,
    /// Largest upload, bytes (default 200 MiB; 413 beyond).
    pub max_upload_bytes: usize,
    /// Days an uploaded file is kept (default 7).
    pub upload_keep_days: u32,
    /// The address users open (`gigaops serve --public-url`, `GIGAOPS_PUBLIC_URL`), e.g.
    /// `https://gigaops.example.jp`; `None` = not given. An `https://` URL makes every cookie
    /// `Secure` and allows [`Settings::hsts`].
    pub public_url: Option<String>,
    /// Send `Strict-Transport-Security` ([`HSTS_VALUE`]) — only when the public URL is `https://`
    /// (`gigaops serve --hsts`).
    pub hsts: bool,
}

impl Settings {
    /// Whether the public URL is `https://` (case-insensitive).
    pub fn is_https(&self) -> bool {
        self.public_url.as_deref().is_some_and(|u| u.trim().to_ascii_lowercase().starts_with("https://"))
    }

    /// Whether cookies are marked `Secure`: an `https://` public URL, or `env_override`
    /// (the value of [`SECURE_COOKIES_ENV`]) is `1`.
    fn secure_cookies(&self, env_override: Option<&str>) -> bool {
        self.is_https() || env_override.is_some_and(|v| v.trim() == "1")
    }

    /// Whether to send `Strict-Transport-Security`: asked for, and the public URL is `https://`.
    fn sends_hsts(&self) -> bool {
        self.hsts && self.is_https()
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            smtp: None,
            upload_dir: std::path::PathBuf::from("gigaops-uploads"),
            max_upload_bytes: imports::runner::DEFAULT_MAX_UPLOAD_BYTES,
            upload_keep_days: imports::runner::DEFAULT_KEEP_DAYS,
            public_url: None,
            hsts: false,
        }
    }
}

/// The session store of the backend the [`Store`] runs on: the sessions live in the same database
/// (table `tower_sessions` on SQLite, schema `tower_sessions` on PostgreSQL).
#[derive(Clone, Debug)]
enum Sessions {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl Sessions {
    async fn for_store(store: &Store) -> anyhow::Result<Self> {
        Ok(match store.backend() {
            DbBackend::Sqlite => {
                let s = SqliteStore::new(store.db.get_sqlite_connection_pool().clone());
                s.migrate().await.context("セッション表（SQLite）を作成できません")?;
                Sessions::Sqlite(s)
            }
            DbBackend::Postgres => {
                let s = PostgresStore::new(store.db.get_postgres_connection_pool().clone());
                s.migrate().await.context("セッション表（PostgreSQL）を作成できません")?;
                Sessions::Postgres(s)
            }
            other => anyhow::bail!("対応していないデータベースです: {other:?}"),
        })
    }

    /// Deletes expired sessions (called periodically by [`serve`]).
    async fn delete_expired(&self) -> anyhow::Result<()> {
        use tower_sessions::ExpiredDeletion;
        match self {
            Sessions::Sqlite(s) => s.delete_expired().await?,
            Sessions::Postgres(s) => s.delete_expired().await?,
        }
        Ok(())
    }
}

fn session_layer<S: tower_sessions::SessionStore + Clone>(store: S, secure: bool) -> SessionManagerLayer<S> {
    let inactivity = tower_sessions::cookie::time::Duration::seconds(SESSION_INACTIVITY.as_secs() as i64);
    SessionManagerLayer::new(store)
        .with_name(SESSION_COOKIE)
        .with_secure(secure)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        // 8 hours from the session's last change (sign-in, a form sent): a session is not rewritten
        // on every page view, which would make every read a database write
        .with_expiry(Expiry::OnInactivity(inactivity))
}

/// Routes that need no session: the login form, the health check and the static files.
fn public_routes() -> access_routes::Routes {
    auth::login::routes().merge(health::routes()).merge(assets::routes())
}

/// Routes that need a signed-in user; without one, pages redirect to `/login?next=…`.
fn protected_routes() -> access_routes::Routes {
    home::routes()
        .merge(fleet::routes())
        .merge(schools::routes())
        .merge(plan::routes())
        .merge(usage::routes())
        .merge(imports::routes())
        .signed_in_only()
}

/// Every route of the application with its access rule, from the same functions the router is
/// built from (see [`access_routes`]).
pub fn route_table() -> Vec<access_routes::RouteInfo> {
    public_routes().merge(protected_routes()).into_parts().1
}

/// The layers around every route, innermost first: the CSRF check; the body limits (before the
/// CSRF check reads a body); login and sessions; the 404 fallback; the security headers
/// (`Cache-Control: no-store` on every response that has none — every page and download but the
/// static files —, HSTS when configured, nosniff, frame, referrer and content policies); tracing.
fn with_layers<S>(app: Router<AppState>, state: AppState, sessions: S, hsts: bool) -> Router
where
    S: tower_sessions::SessionStore + Clone,
{
    let backend = auth::Backend::new(state.store.clone());
    let auth_layer =
        axum_login::AuthManagerLayerBuilder::new(backend, session_layer(sessions, state.secure_cookies)).build();
    let hsts = hsts.then(|| {
        SetResponseHeaderLayer::overriding(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS_VALUE))
    });
    app.layer(axum::middleware::from_fn(csrf::verify))
        .layer(axum::middleware::from_fn(body_limit::enforce))
        .layer(auth_layer)
        .fallback(errors::not_found)
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .layer(tower::util::option_layer(hsts))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data:; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Builds the application for `store`: every route, the session store (in the same database,
/// migrated here), login, CSRF checks, security headers and request tracing.
///
/// Errors: the session table cannot be created, or the store's backend is neither SQLite nor
/// PostgreSQL.
pub async fn router(store: Store) -> anyhow::Result<Router> {
    Ok(router_with(store, Settings::default()).await?.0)
}

/// [`router`] with `settings`; also returns the state (for background work such as
/// [`imports::runner::housekeeping`]).
pub async fn router_with(store: Store, settings: Settings) -> anyhow::Result<(Router, AppState)> {
    let (router, _, state) = build(store, settings).await?;
    Ok((router, state))
}

async fn build(store: Store, settings: Settings) -> anyhow::Result<(Router, Sessions, AppState)> {
    let sessions = Sessions::for_store(&store).await?;
    let secure_cookies = settings.secure_cookies(std::env::var(SECURE_COOKIES_ENV).ok().as_deref());
    let hsts = settings.sends_hsts();
    let jobs =
        imports::runner::ImportJobs::new(settings.upload_dir, settings.max_upload_bytes, settings.upload_keep_days);
    let state = AppState { store, smtp: settings.smtp, imports: std::sync::Arc::new(jobs), secure_cookies };
    let (app, _) = public_routes().merge(protected_routes()).into_parts();
    let router = match &sessions {
        Sessions::Sqlite(s) => with_layers(app, state.clone(), session_retry::RetryBusy::new(s.clone()), hsts),
        Sessions::Postgres(s) => with_layers(app, state.clone(), session_retry::RetryBusy::new(s.clone()), hsts),
    };
    Ok((router, sessions, state))
}

/// Serves the application on `listener` until Ctrl-C (or SIGTERM on Unix), then finishes the
/// requests in flight, with default [`Settings`] (no e-mail). See [`serve_with`].
///
/// Errors: those of [`router`], and I/O errors of the listener.
pub async fn serve(store: Store, listener: tokio::net::TcpListener) -> anyhow::Result<()> {
    serve_with(store, listener, Settings::default()).await
}

/// Serves the application with `settings` on `listener` until Ctrl-C (or SIGTERM on Unix), then
/// finishes the requests in flight. Expired sessions are deleted every hour. Handlers see the
/// client's address (the TCP peer, `ConnectInfo<SocketAddr>`) for the sign-in back-off; a proxy's
/// `X-Forwarded-For` is not trusted.
///
/// Errors: those of [`router`], and I/O errors of the listener.
pub async fn serve_with(store: Store, listener: tokio::net::TcpListener, settings: Settings) -> anyhow::Result<()> {
    let (app, sessions, state) = build(store, settings).await?;
    imports::runner::housekeeping(&state, true).await;
    let cleanup = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60 * 60));
        tick.tick().await; // the first tick is now: housekeeping just ran
        loop {
            tick.tick().await;
            if let Err(e) = sessions.delete_expired().await {
                tracing::warn!(error = %e, "期限切れセッションを削除できませんでした");
            }
            imports::runner::housekeeping(&state, false).await;
        }
    });
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let result = axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await;
    cleanup.abort();
    result.context("HTTP サーバーが停止しました")
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "Ctrl-C を待ち受けできません");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "SIGTERM を待ち受けできません");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("停止の合図を受けました。処理中のリクエストを終えてから停止します");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secure_cookies_with_an_https_url_or_when_asked_for() {
        let http = Settings { public_url: Some("http://127.0.0.1:8080".into()), hsts: true, ..Default::default() };
        let https = Settings { public_url: Some("HTTPS://gigaops.example.jp".into()), ..Default::default() };
        assert!(https.secure_cookies(None));
        assert!(!http.secure_cookies(None));
        assert!(!Settings::default().secure_cookies(None));
        assert!(http.secure_cookies(Some(" 1\n")));
        assert!(!http.secure_cookies(Some("0")) && !http.secure_cookies(Some("true")));
        assert!(!http.sends_hsts(), "HSTS only over https");
        assert!(!https.sends_hsts(), "HSTS only when asked for");
        assert!(Settings { hsts: true, ..https }.sends_hsts());
    }
}
