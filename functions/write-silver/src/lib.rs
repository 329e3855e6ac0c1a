//! `write-silver`: on a schedule, or when invoked after the layer below moved, refines Silver (and quarantine) from what Bronze gained.

pub mod handler;

pub use handler::function_handler;

/// The function's metrics, by its name.
pub fn metrics() -> lakehouse_lambda::Metrics {
    lakehouse_lambda::Metrics::new("write-silver")
}
