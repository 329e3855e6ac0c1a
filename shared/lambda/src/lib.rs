//! What every Lambda function of the lakehouse shares, so that each function's `main.rs` stays a
//! few lines: configuration read and validated once from the environment, the database password
//! from Secrets Manager, S3 notifications decoded (direct or through SQS), and errors that carry
//! a stable type saying whether a retry can help.

pub mod config;
pub mod error;
pub mod landing;
pub mod secrets;

pub use config::{Lakehouse, source_from_env};
pub use error::{ErrorKind, FunctionError};

/// Starts the runtime's tracing subscriber: JSON lines with the request id when the function's
/// log format is JSON, the level from `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG`.
pub fn init_logging() {
    lambda_runtime::tracing::init_default_subscriber();
}

pub use aws_config::SdkConfig;

/// The AWS SDK configuration from the environment: region, credentials, and `AWS_ENDPOINT_URL`
/// for an AWS-compatible endpoint.
pub async fn aws() -> SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}
