//! One pass per invocation, whatever the triggering event: the stage itself knows what is new.

use lakehouse_io::{alert, stages, status};
use lakehouse_lambda::{FunctionError, Lakehouse, notices};
use lambda_runtime::LambdaEvent;
use serde_json::Value;

pub async fn function_handler(_event: LambdaEvent<Value>, lakehouse: &Lakehouse) -> Result<Value, FunctionError> {
    let Lakehouse { lake, pipeline } = lakehouse;
    let report = stages::refine(lake, pipeline).await?;
    tracing::info!(tables = report.len(), "silver refined");
    let metrics = crate::metrics();
    metrics.refine(&report);
    metrics.freshness(&status::newest_changes(lake, pipeline).await?);
    notices::log(&alert::quarantined_rows(&report, Some("write-silver")));
    serde_json::to_value(report).map_err(|e| FunctionError::config(e.to_string()))
}

#[cfg(test)]
mod tests {
    use anyhow::Result;
    use lakehouse_io::stages::build_gold;
    use lakehouse_testkit::Harness;
    use lambda_runtime::{Context, LambdaEvent};

    use super::*;

    const SCHEDULED: &str = include_str!("../../../events/write-silver/scheduled.json");

    fn event() -> LambdaEvent<Value> {
        LambdaEvent::new(
            serde_json::from_str(SCHEDULED).expect("a JSON sample"),
            Context::default(),
        )
    }

    #[tokio::test]
    async fn a_schedule_refines_what_bronze_gained_and_a_second_changes_nothing() -> Result<()> {
        let h = Harness::sqlite().await?.on_s3().await?;
        let lakehouse = Lakehouse {
            lake: h.lake.clone(),
            pipeline: h.landed_in_bronze(4).await?,
        };

        let first = function_handler(event(), &lakehouse).await?;
        assert!(
            first.as_array().unwrap().iter().all(|t| t["up_to_date"] == false),
            "{first}"
        );
        let before = h.row_counts().await?;
        let second = function_handler(event(), &lakehouse).await?;
        assert!(
            second.as_array().unwrap().iter().all(|t| t["up_to_date"] == true),
            "{second}"
        );
        assert_eq!(h.row_counts().await?, before, "nothing new, nothing written");

        build_gold(&h.lake, &lakehouse.pipeline).await?;
        h.assert_matches_reference().await?;
        h.cleanup().await
    }
}
