//! What every Lambda function of the lakehouse shares, so that each function's `main.rs` stays a
//! few lines: configuration read and validated once from the environment, the database password
//! from Secrets Manager, S3 notifications decoded (direct or through SQS), and errors that carry
//! a stable type saying whether a retry can help.

pub mod config;
pub mod error;
pub mod landing;
pub mod metrics;
pub mod notices;
pub mod secrets;

use std::future::Future;
use std::time::Instant;

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

pub use config::{Lakehouse, source_from_env};

/// Every function allocates through mimalloc: with glibc's allocator, about a third of a Silver
/// refine's CPU time went to malloc and free (perf, 100k orders; see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
pub use error::{ErrorKind, FunctionError};
pub use metrics::Metrics;

/// Serves `handler` under the Lambda runtime. After each invocation its duration is recorded, a
/// failure is logged at error level with its type (what the error-log alert listens for), and the
/// invocation's metrics are flushed as EMF documents.
pub async fn serve<F, Fut>(metrics: Metrics, handler: F) -> Result<(), lambda_runtime::Error>
where
    F: Fn(LambdaEvent<Value>) -> Fut,
    Fut: Future<Output = Result<Value, FunctionError>>,
{
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let request_id = event.context.request_id.clone();
        let started = Instant::now();
        let invocation = handler(event);
        async move {
            let outcome = invocation.await;
            metrics.duration(started.elapsed());
            if let Err(error) = &outcome {
                tracing::error!(error_type = %error.kind.error_type(), error = %error.message, "invocation failed");
            }
            metrics::flush(&request_id, std::io::stdout());
            outcome
        }
    }))
    .await
}

/// Starts the runtime's tracing subscriber: JSON lines with the request id when the function's
/// log format is JSON, the level from `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG`.
pub fn init_logging() {
    lambda_runtime::tracing::init_default_subscriber();
}

pub use aws_config::SdkConfig;

/// The AWS SDK configuration from the environment (see [`lakehouse_io::aws_config`]).
pub async fn aws() -> SdkConfig {
    lakehouse_io::aws_config().await
}
