//! One pass per invocation, whatever the triggering event: the stage itself knows what is new.

use lakehouse_io::stages;
use lakehouse_lambda::{FunctionError, Lakehouse};
use lambda_runtime::LambdaEvent;
use serde_json::Value;

pub async fn function_handler(_event: LambdaEvent<Value>, lakehouse: &Lakehouse) -> Result<Value, FunctionError> {
    let Lakehouse { lake, pipeline } = lakehouse;
    let report = stages::refine(lake, pipeline).await?;
    tracing::info!(tables = report.len(), "silver refined");
    serde_json::to_value(report).map_err(|e| FunctionError::config(e.to_string()))
}
