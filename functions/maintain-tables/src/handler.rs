//! One maintenance round per invocation, over every table of the lake.

use lakehouse_io::stages::{self, MaintainOptions};
use lakehouse_lambda::config::parsed;
use lakehouse_lambda::{FunctionError, Lakehouse};
use lambda_runtime::LambdaEvent;
use serde_json::Value;

/// The retention from `LAKEHOUSE_MAINTAIN_RETENTION_HOURS` (168 by default, at least 24).
pub fn options_from_env() -> Result<MaintainOptions, FunctionError> {
    options(parsed("LAKEHOUSE_MAINTAIN_RETENTION_HOURS", 168)?)
}

fn options(hours: i64) -> Result<MaintainOptions, FunctionError> {
    let retention = chrono::TimeDelta::hours(hours);
    if retention < stages::maintain::MIN_RETENTION {
        return Err(FunctionError::config(format!(
            "LAKEHOUSE_MAINTAIN_RETENTION_HOURS: {hours} h could delete files a reader still needs; the least is 24"
        )));
    }
    Ok(MaintainOptions {
        retention,
        ..MaintainOptions::default()
    })
}

pub async fn function_handler(
    _event: LambdaEvent<Value>,
    lakehouse: &Lakehouse,
    options: MaintainOptions,
) -> Result<Value, FunctionError> {
    let report = stages::maintain(&lakehouse.lake, options).await?;
    let compacted: u64 = report.iter().map(|t| t.files_compacted).sum();
    tracing::info!(tables = report.len(), compacted, "tables maintained");
    serde_json::to_value(report).map_err(|e| FunctionError::config(e.to_string()))
}

#[cfg(test)]
mod tests {
    use anyhow::Result;
    use lakehouse_io::Layer;
    use lakehouse_io::stages::{LandingFile, build_gold, extract, ingest_files, refine};
    use lakehouse_testkit::Harness;
    use lambda_runtime::{Context, LambdaEvent};

    use super::*;

    const SCHEDULED: &str = include_str!("../../../events/maintain-tables/scheduled.json");

    fn event() -> LambdaEvent<Value> {
        LambdaEvent::new(
            serde_json::from_str(SCHEDULED).expect("a JSON sample"),
            Context::default(),
        )
    }

    /// Files in a table's current version.
    async fn live_files(h: &Harness, layer: Layer, table: &str) -> Result<usize> {
        let table = lakehouse_io::delta::open_in(&h.lake, layer, table).await?;
        Ok(table.get_file_uris()?.count())
    }

    #[tokio::test]
    async fn small_files_are_compacted_checkpointed_and_no_row_changes() -> Result<()> {
        let h = Harness::sqlite().await?.on_s3().await?;
        let lakehouse = Lakehouse {
            lake: h.lake.clone(),
            pipeline: lakehouse_core::pipeline::shop()?,
        };
        let options = extract::ExtractOptions {
            file_rows: 40,
            batch_rows: 40,
            ..Default::default()
        };
        let sizes = lakehouse_io::source::SeedSizes {
            customers: 60,
            products: 20,
            orders: 150,
        };
        // Two rounds of changes (the second seeds the seeded source again); in Bronze, one
        // commit and one small file per landing file; in Silver, the second round's MERGE marks
        // replaced rows in deletion vectors.
        let mut ingested = std::collections::HashSet::new();
        for _round in 0..2 {
            h.source.seed(sizes, 8).await?;
            extract(&h.source, &h.lake, &lakehouse.pipeline, options).await?;
            for spec in &lakehouse.pipeline.tables {
                for meta in h.lake.list(Layer::Landing, &spec.name, ".parquet").await? {
                    let relative = h.lake.relative(Layer::Landing, &meta.location).expect("a landing file");
                    if ingested.insert(relative.clone()) {
                        ingest_files(&h.lake, &lakehouse.pipeline, vec![LandingFile { relative, meta }]).await?;
                    }
                }
            }
            refine(&h.lake, &lakehouse.pipeline).await?;
        }
        let small = live_files(&h, Layer::Bronze, "order_items").await?;
        assert!(small >= 8, "many small files to compact: {small}");
        let marked = lakehouse_testkit::files_with_deletion_vectors(&h.lake, Layer::Silver, "order_items").await?;
        assert!(marked > 0, "Silver has rows marked deleted for compaction to drop");
        let before = h.row_counts().await?;

        let report = function_handler(event(), &lakehouse, options_from_env()?).await?;
        let items = report
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["table"] == "bronze.order_items")
            .expect("bronze.order_items maintained");
        assert_eq!(items["files_compacted"].as_u64(), Some(small as u64), "{items}");
        assert_eq!(live_files(&h, Layer::Bronze, "order_items").await?, 1);
        assert_eq!(
            live_files(&h, Layer::Silver, "order_items").await?,
            1,
            "deletion vectors applied"
        );
        assert!(
            h.lake
                .get(Layer::Bronze, "order_items/_delta_log/_last_checkpoint")
                .await?
                .is_some(),
            "a checkpoint was written"
        );
        assert_eq!(
            items["files_vacuumed"], 0,
            "nothing younger than the retention is deleted"
        );
        let after = h.row_counts().await?;
        for (table, (_, rows)) in &before {
            assert_eq!(after[table].1, *rows, "{table} kept its rows");
        }

        // Silver reads only what Bronze gained since its refine; compaction gained no rows.
        refine(&h.lake, &lakehouse.pipeline).await?;
        build_gold(&h.lake, &lakehouse.pipeline).await?;
        h.assert_matches_reference().await?;
        h.cleanup().await
    }

    #[test]
    fn a_retention_under_a_day_is_refused() {
        let error = options(2).unwrap_err();
        assert!(error.message.contains("least is 24"), "{}", error.message);
        assert_eq!(options(24).unwrap().retention, chrono::TimeDelta::days(1));
    }
}
