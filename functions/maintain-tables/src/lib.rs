//! `maintain-tables`: on a schedule, compacts small files, writes checkpoints and vacuums every
//! Delta table of the lake.

pub mod handler;

pub use handler::{function_handler, options_from_env};

/// The function's metrics, by its name.
pub fn metrics() -> lakehouse_lambda::Metrics {
    lakehouse_lambda::Metrics::new("maintain-tables")
}
