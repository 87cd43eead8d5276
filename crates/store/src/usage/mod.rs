//! LTE usage: lines of the pooled contract and their monthly usage (imports through the
//! shared bulk path), the capacity table, and the staged escalation of heavy users — its policy,
//! the monthly runs, cases, events and work items (counted for the home pages: `open_work`). Volumes are bytes; ratios are computed by
//! `report`, never stored.

pub mod aggregate;
pub mod escalation;
pub mod import;
pub mod notify;
pub mod open_work;
pub mod partition;
pub mod queries;

pub use import::{import_lines, import_usage, UsageColumns};
