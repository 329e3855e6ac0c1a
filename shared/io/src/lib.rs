//! The lakehouse's I/O: sources through sqlx, the lake through object_store, Delta tables
//! through delta-rs, the Glue Data Catalog and Athena through the AWS SDK, and the stages that
//! tie them to the pure engine in `lakehouse-core`. The `lakehouse` command and every Lambda
//! function are thin callers of this crate.

pub mod alert;
pub mod athena;
pub mod catalog;
pub mod delta;
pub mod error;
pub mod faults;
pub mod lake;
mod parallel;
pub mod parquet_io;
pub mod query;
pub mod source;
pub mod stages;
pub mod status;

pub use error::{Error, Result};
pub use lake::{Lake, Layer};
pub use source::{Source, SourceUrl};

/// The AWS SDK configuration from the environment: region, credentials, and `AWS_ENDPOINT_URL`
/// for an AWS-compatible endpoint.
pub async fn aws_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}
