//! `GET /health`: `200 ok` when the database answers, `503` otherwise. No session needed.

use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

async fn health(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ok"),
        Err(e) => {
            tracing::error!(error = %e, "ヘルスチェック: データベースが応答しません");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}
