//! gigaops report: builds report models (tables, series) from store data and renders them as
//! HTML fragments, SVG charts, XLSX, CSV and JSON (fleet; LTE usage and its escalation).

pub mod error;
pub mod fleet;
pub mod plan;
pub mod render;
pub mod svg;
pub mod usage;

pub use error::ReportError;
pub use fleet::{FleetReport, GroupReport, MonthRow};
pub use plan::{PlanReport, ScheduleReport};
pub use render::{Cell, Table};
