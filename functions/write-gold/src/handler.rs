//! One pass per invocation, whatever the triggering event: the stage itself knows what is new.

use lakehouse_io::{stages, status};
use lakehouse_lambda::{FunctionError, Lakehouse};
use lambda_runtime::LambdaEvent;
use serde_json::Value;

pub async fn function_handler(_event: LambdaEvent<Value>, lakehouse: &Lakehouse) -> Result<Value, FunctionError> {
    let Lakehouse { lake, pipeline } = lakehouse;
    let report = stages::build_gold(lake, pipeline).await?;
    tracing::info!(tables = report.len(), "gold built");
    let metrics = crate::metrics();
    metrics.gold(&report);
    metrics.freshness(&status::newest_changes(lake, pipeline).await?);
    serde_json::to_value(report).map_err(|e| FunctionError::config(e.to_string()))
}

#[cfg(test)]
mod tests {
    use anyhow::Result;
    use lakehouse_io::stages::refine;
    use lakehouse_testkit::Harness;
    use lambda_runtime::{Context, LambdaEvent};

    use super::*;

    const SCHEDULED: &str = include_str!("../../../events/write-gold/scheduled.json");

    fn event() -> LambdaEvent<Value> {
        LambdaEvent::new(
            serde_json::from_str(SCHEDULED).expect("a JSON sample"),
            Context::default(),
        )
    }

    #[tokio::test]
    async fn a_schedule_rebuilds_gold_when_silver_moved_and_only_then() -> Result<()> {
        let h = Harness::sqlite().await?.on_s3().await?;
        let lakehouse = Lakehouse {
            lake: h.lake.clone(),
            pipeline: h.landed_in_bronze(5).await?,
        };
        refine(&h.lake, &lakehouse.pipeline).await?;

        let first = function_handler(event(), &lakehouse).await?;
        assert!(first.as_array().unwrap().iter().all(|g| g["rows"].is_u64()), "{first}");
        h.assert_matches_reference().await?;
        let before = h.row_counts().await?;
        let second = function_handler(event(), &lakehouse).await?;
        assert!(
            second.as_array().unwrap().iter().all(|g| g["rows"].is_null()),
            "{second}"
        );
        assert_eq!(
            h.row_counts().await?,
            before,
            "Silver did not move, so Gold was not rewritten"
        );
        h.cleanup().await
    }

    #[tokio::test]
    async fn on_a_new_lake_gold_waits_for_silver_instead_of_failing() -> Result<()> {
        let h = Harness::sqlite().await?.on_s3().await?;
        let lakehouse = Lakehouse {
            lake: h.lake.clone(),
            pipeline: lakehouse_core::pipeline::shop()?,
        };
        let report = function_handler(event(), &lakehouse).await?;
        for gold in report.as_array().unwrap() {
            assert!(gold["rows"].is_null(), "{gold}");
            assert!(
                gold["waiting_for"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|t| t == "silver.orders"),
                "{gold}"
            );
        }
        assert!(h.row_counts().await?.is_empty(), "nothing was written");
        h.cleanup().await
    }
}
