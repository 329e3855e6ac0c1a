//! The functions chained as AWS would chain them, on MariaDB and the local S3 endpoint:
//! seed-rds → extract-rds → an SQS-wrapped S3 notification per landed object → write-bronze →
//! write-silver → write-gold, compared with the contract's reference views.

use std::collections::BTreeSet;

use anyhow::Result;
use lakehouse_core::pipeline::shop;
use lakehouse_io::Layer;
use lakehouse_io::source::SeedSizes;
use lakehouse_io::stages::ExtractOptions;
use lakehouse_lambda::Lakehouse;
use lakehouse_testkit::Harness;
use lakehouse_testkit::aws::retarget;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::Value;

const SEED: &str = include_str!("../../events/seed-rds/scheduled-with-sizes.json");
const EXTRACT: &str = include_str!("../../events/extract-rds/scheduled.json");
const SQS_PUT: &str = include_str!("../../events/write-bronze/sqs-s3-put.json");
const SILVER: &str = include_str!("../../events/write-silver/scheduled.json");
const GOLD: &str = include_str!("../../events/write-gold/scheduled.json");

fn event(payload: Value) -> LambdaEvent<Value> {
    LambdaEvent::new(payload, Context::default())
}

fn sample(text: &str) -> Value {
    serde_json::from_str(text).expect("a JSON sample")
}

/// The keys extract-rds reported writing, as S3 object keys under the lake.
fn landed_keys(report: &Value) -> Vec<String> {
    report["tables"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|t| t["files"].as_array().into_iter().flatten())
        .filter_map(|f| f.as_str().map(|f| format!("lake/landing/{f}")))
        .collect()
}

struct Functions {
    bucket: String,
    lakehouse: Lakehouse,
    seed: seed_rds::Settings,
    extract: extract_rds::Settings,
}

impl Functions {
    fn new(h: &Harness) -> Result<Self> {
        let lakehouse = Lakehouse {
            lake: h.lake.clone(),
            pipeline: shop()?,
        };
        Ok(Self {
            bucket: h.bucket().expect("an S3 lake"),
            seed: seed_rds::Settings {
                source: h.source.clone(),
                sizes: SeedSizes::default(),
                seed: 3,
            },
            extract: extract_rds::Settings {
                lakehouse: lakehouse.clone(),
                source: h.source.clone(),
                options: ExtractOptions {
                    file_rows: 250,
                    ..Default::default()
                },
            },
            lakehouse,
        })
    }

    /// One scheduled round: extract, then every landed file through SQS, then Silver and Gold.
    async fn round(&self) -> Result<()> {
        let extracted = extract_rds::function_handler(event(sample(EXTRACT)), &self.extract).await?;
        let keys = landed_keys(&extracted);
        let notifications = retarget(&sample(SQS_PUT), &self.bucket, &keys);
        let response = write_bronze::function_handler(event(notifications), &self.lakehouse).await?;
        assert_eq!(response["batchItemFailures"], serde_json::json!([]), "{response}");
        write_silver::function_handler(event(sample(SILVER)), &self.lakehouse).await?;
        write_gold::function_handler(event(sample(GOLD)), &self.lakehouse).await?;
        Ok(())
    }
}

#[tokio::test]
async fn the_functions_chained_on_s3_produce_the_reference_silver_and_gold() -> Result<()> {
    let h = Harness::mariadb().await?.on_s3().await?;
    let outcome = async {
        let functions = Functions::new(&h)?;
        seed_rds::function_handler(event(sample(SEED)), &functions.seed).await?;
        functions.round().await?;
        h.assert_matches_reference()
            .await
            .map_err(|e| e.context("after the first round"))?;

        let activity = seed_rds::function_handler(event(sample(SEED)), &functions.seed).await?;
        assert_eq!(activity["initial"], false);
        functions.round().await?;
        h.assert_matches_reference()
            .await
            .map_err(|e| e.context("after a round of activity"))
    }
    .await;
    h.cleanup().await?;
    outcome
}

#[tokio::test]
async fn concurrent_write_bronze_invocations_lose_no_file_and_duplicate_none() -> Result<()> {
    let h = Harness::sqlite().await?.on_s3().await?;
    let functions = Functions::new(&h)?;
    h.source
        .seed(
            SeedSizes {
                customers: 300,
                products: 40,
                orders: 1_000,
            },
            8,
        )
        .await?;
    let extracted = extract_rds::function_handler(event(sample(EXTRACT)), &functions.extract).await?;
    let keys: Vec<String> = landed_keys(&extracted)
        .into_iter()
        .filter(|k| k.contains("/order_items/"))
        .collect();
    assert!(keys.len() >= 8, "the test needs many files for one table: {keys:?}");

    // Every file announced twice, each announcement its own invocation, all at once.
    let mut invocations = tokio::task::JoinSet::new();
    for key in keys.iter().chain(keys.iter()) {
        let notification = retarget(&sample(SQS_PUT), &functions.bucket, std::slice::from_ref(key));
        let lakehouse = functions.lakehouse.clone();
        invocations.spawn(async move { write_bronze::function_handler(event(notification), &lakehouse).await });
    }
    while let Some(result) = invocations.join_next().await {
        let response = result??;
        assert_eq!(response["batchItemFailures"], serde_json::json!([]), "{response}");
    }

    let rows = h
        .lake_rows(Layer::Bronze, "order_items", &["id", "_source_file"])
        .await?;
    let distinct: BTreeSet<_> = rows.iter().collect();
    assert_eq!(distinct.len(), rows.len(), "no row ingested twice");
    let files: BTreeSet<_> = rows.iter().map(|r| r[1].clone()).collect();
    assert_eq!(files.len(), keys.len(), "every file ingested");
    let extracted_rows = extracted["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "order_items")
        .unwrap()["rows"]
        .as_u64()
        .unwrap();
    assert_eq!(rows.len() as u64, extracted_rows, "every row of every file, once");
    h.cleanup().await
}
