//! `extract-rds`: on a schedule, extracts what each source table changed since its cursor into
//! the landing zone, where S3 notifications take it on to Bronze.

pub mod handler;

pub use handler::{Settings, function_handler};

/// The function's metrics, by its name.
pub fn metrics() -> lakehouse_lambda::Metrics {
    lakehouse_lambda::Metrics::new("extract-rds")
}
