//! `sync-catalog`: on a schedule and after Gold is written, registers every Bronze, Silver, Gold
//! and quarantine Delta table in the Glue Data Catalog, and starts the configured crawler.

pub mod handler;

pub use handler::{Catalog, function_handler};

/// The function's metrics, by its name.
pub fn metrics() -> lakehouse_lambda::Metrics {
    lakehouse_lambda::Metrics::new("sync-catalog")
}
