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
    crate::metrics().extract(&report);
    serde_json::to_value(report).map_err(|e| FunctionError::config(e.to_string()))
}

#[cfg(test)]
mod tests {
    use anyhow::Result;
    use lakehouse_io::Layer;
    use lakehouse_io::source::SeedSizes;
    use lakehouse_testkit::Harness;
    use lambda_runtime::{Context, LambdaEvent};

    use super::*;

    const SCHEDULED: &str = include_str!("../../../events/extract-rds/scheduled.json");

    #[tokio::test]
    async fn a_schedule_lands_what_changed_on_s3_and_then_nothing_more() -> Result<()> {
        let h = Harness::mariadb().await?.on_s3().await?;
        h.source
            .seed(
                SeedSizes {
                    customers: 60,
                    products: 20,
                    orders: 150,
                },
                2,
            )
            .await?;
        let settings = Settings {
            lakehouse: Lakehouse {
                lake: h.lake.clone(),
                pipeline: lakehouse_core::pipeline::shop()?,
            },
            source: h.source.clone(),
            options: ExtractOptions {
                file_rows: 100,
                ..Default::default()
            },
        };
        let event = || {
            LambdaEvent::new(
                serde_json::from_str(SCHEDULED).expect("a JSON sample"),
                Context::default(),
            )
        };
        let report = function_handler(event(), &settings).await?;
        let orders = report["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["table"] == "orders")
            .unwrap();
        assert_eq!(orders["rows"], 150);
        assert_eq!(
            orders["files"].as_array().unwrap().len(),
            2,
            "files roll over every 100 rows"
        );
        assert_eq!(h.lake.list(Layer::Landing, "orders", ".parquet").await?.len(), 2);

        let again = function_handler(event(), &settings).await?;
        assert!(
            again["tables"].as_array().unwrap().iter().all(|t| t["rows"] == 0),
            "{again}"
        );
        h.cleanup().await
    }
}
