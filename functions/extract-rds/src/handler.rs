//! One incremental extraction per invocation, whatever the triggering event.

use lakehouse_io::Source;
use lakehouse_io::stages::{self, ExtractOptions};
use lakehouse_lambda::config::parsed;
use lakehouse_lambda::{FunctionError, Lakehouse, SdkConfig, source_from_env};
use lambda_runtime::LambdaEvent;
use serde_json::Value;

/// What the function needs, built once at cold start.
pub struct Settings {
    pub lakehouse: Lakehouse,
    pub source: Source,
    pub options: ExtractOptions,
}

impl Settings {
    /// The lake and pipeline, the source, and the batch sizes (`LAKEHOUSE_EXTRACT_BATCH_ROWS`,
    /// `LAKEHOUSE_EXTRACT_FILE_ROWS`) and safety margin (`LAKEHOUSE_EXTRACT_MARGIN_MS`).
    pub async fn from_env(aws: &SdkConfig) -> Result<Self, FunctionError> {
        let defaults = ExtractOptions::default();
        Ok(Self {
            lakehouse: Lakehouse::from_env()?,
            source: source_from_env(aws).await?,
            options: ExtractOptions {
                batch_rows: parsed("LAKEHOUSE_EXTRACT_BATCH_ROWS", defaults.batch_rows)?,
                file_rows: parsed("LAKEHOUSE_EXTRACT_FILE_ROWS", defaults.file_rows)?,
                margin_micros: parsed::<i64>("LAKEHOUSE_EXTRACT_MARGIN_MS", 0)? * 1000,
            },
        })
    }
}

pub async fn function_handler(_event: LambdaEvent<Value>, settings: &Settings) -> Result<Value, FunctionError> {
    let Lakehouse { lake, pipeline } = &settings.lakehouse;
    let report = stages::extract(&settings.source, lake, pipeline, settings.options).await?;
    tracing::info!(rows = report.rows(), files = report.files().count(), "extraction done");
    serde_json::to_value(report).map_err(|e| FunctionError::config(e.to_string()))
}
