//! `write-bronze`: S3 `ObjectCreated` notifications for the landing zone, through SQS or direct,
//! appended to Bronze exactly once per file.

pub mod handler;

pub use handler::function_handler;

/// The function's metrics, by its name.
pub fn metrics() -> lakehouse_lambda::Metrics {
    lakehouse_lambda::Metrics::new("write-bronze")
}
