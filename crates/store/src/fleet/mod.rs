//! The device fleet: imports (devices, incidents, movements), the counter operations of the web
//! UI, and the queries behind the device list and the monthly report.

pub mod devices;
pub mod events;
pub mod queries;

pub use events::{Applied, IncidentInput, MovementInput};
pub use queries::{DeviceDetail, DeviceFilter, DeviceRow};
