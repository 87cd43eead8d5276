//! The device fleet: imports (devices, incidents, movements), the counter operations of the web
//! UI, the queries behind the device list and the monthly report, and the model register with its
//! aliases (`models`), and a school's own devices and open incidents (`at_school`).

pub mod at_school;
pub mod devices;
pub mod events;
pub mod models;
pub mod queries;

pub use events::{Applied, IncidentInput, MovementInput};
pub use queries::{DeviceDetail, DeviceFilter, DeviceRow};
