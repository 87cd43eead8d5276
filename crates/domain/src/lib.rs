//! gigaops domain: pure types and rules of a GIGA School programme (年度/和暦, 学校コード,
//! fleet stock, incident kinds, plan codes and grades, LTE usage and its escalation state machine).
//! No I/O, no async, no database: everything here is a value or a function.

pub mod calendar;
pub mod fleet;
pub mod plan;
pub mod school;
pub mod usage;

pub use calendar::{FiscalYear, YearMonth};
pub use school::SchoolCode;
