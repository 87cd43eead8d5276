//! `GET /health`: `200 ok` when the database answers, `503` otherwise. No session needed.

use crate::access_routes::{Routes, Rule};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;

pub(crate) fn routes() -> Routes {
    Routes::new().get("/health", health, Rule::Public)
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
