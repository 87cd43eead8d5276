//! Schools (学校): `GET /schools`, the list of the municipality's schools.

mod list;

use crate::access_routes::{Routes, Rule};
use crate::auth::Capability;

pub(crate) fn routes() -> Routes {
    Routes::new().get("/schools", list::list, Rule::Needs(Capability::ViewSchools))
}
