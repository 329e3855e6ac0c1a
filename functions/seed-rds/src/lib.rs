//! `seed-rds`: on a schedule, seeds the shop source or, once seeded, simulates a round of business
//! activity on it.

pub mod handler;

pub use handler::{Settings, function_handler};

/// The function's metrics, by its name.
pub fn metrics() -> lakehouse_lambda::Metrics {
    lakehouse_lambda::Metrics::new("seed-rds")
}
