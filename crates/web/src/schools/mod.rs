//! Schools (学校): `GET /schools`, the list of the municipality's schools.

mod list;

use crate::AppState;
use axum::routing::get;
use axum::Router;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/schools", get(list::list))
}
