//! `notify-slack`: turns CloudWatch alarms (through SNS), error lines from the functions' logs
//! (a subscription), failed invocations (on-failure destinations) and the pipeline's quarantine
//! notices into one concise Slack message per incident.

pub mod events;
pub mod handler;

pub use handler::{function_handler, notifier_from_env};

/// The function's metrics, by its name.
pub fn metrics() -> lakehouse_lambda::Metrics {
    lakehouse_lambda::Metrics::new("notify-slack")
}
