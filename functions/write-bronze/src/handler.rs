//! Appends the landing files an event announces to Bronze.
//!
//! Through SQS, each message succeeds or fails on its own: the response lists only the messages
//! whose files could not be ingested for a reason a retry can fix, so one bad file never makes the
//! good ones retry. A file that can never be ingested (not Parquet, columns that contradict the
//! table) is quarantined by the ingest stage and its message acknowledged; a message that is not
//! a readable S3 notification is reported failed, so the queue's retries end in its dead-letter
//! queue where it can be inspected. A direct S3 event fails as a whole, retryably, if any of its
//! files failed.

use std::collections::BTreeMap;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse};
use lakehouse_io::alert;
use lakehouse_io::stages::{IngestReport, LandingFile, ingest_files};
use lakehouse_io::{Lake, Layer};
use lakehouse_lambda::landing::{self, Content, Delivery};
use lakehouse_lambda::{FunctionError, Lakehouse, notices};
use lambda_runtime::LambdaEvent;
use serde_json::Value;

pub async fn function_handler(event: LambdaEvent<Value>, lakehouse: &Lakehouse) -> Result<Value, FunctionError> {
    let through_sqs = landing::is_sqs(&event.payload);
    let deliveries = landing::deliveries(event.payload)?;
    let outcome = ingest(lakehouse, deliveries).await?;
    tracing::info!(
        files = outcome.report.files_ingested,
        skipped = outcome.report.files_skipped,
        quarantined = outcome.report.files_quarantined.len(),
        rows = outcome.report.rows,
        failed = outcome.failed.len(),
        "bronze ingest done"
    );
    crate::metrics().ingest(&outcome.report);
    notices::log(&alert::quarantined_files(&outcome.report, Some("write-bronze")));
    if through_sqs {
        let mut response = SqsBatchResponse::default();
        response.batch_item_failures = outcome
            .failed
            .into_iter()
            .map(|id| {
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = id;
                failure
            })
            .collect();
        return serde_json::to_value(response).map_err(|e| FunctionError::config(e.to_string()));
    }
    if let Some(reason) = outcome.first_failure {
        return Err(reason);
    }
    serde_json::to_value(outcome.report).map_err(|e| FunctionError::config(e.to_string()))
}

/// What became of a batch of deliveries.
#[derive(Default)]
struct Outcome {
    report: IngestReport,
    /// Ids of the SQS messages to be delivered again.
    failed: Vec<String>,
    first_failure: Option<FunctionError>,
}

impl Outcome {
    fn fail(&mut self, message_id: Option<&String>, error: FunctionError) {
        tracing::error!(message_id = ?message_id, error_type = %error.kind.error_type(), error = %error, "delivery failed");
        if let Some(id) = message_id
            && !self.failed.contains(id)
        {
            self.failed.push(id.clone());
        }
        self.first_failure.get_or_insert(error);
    }
}

async fn ingest(lakehouse: &Lakehouse, deliveries: Vec<Delivery>) -> Result<Outcome, FunctionError> {
    let mut outcome = Outcome::default();
    // Files by table, each with the message that announced it.
    let mut by_table: BTreeMap<String, Vec<(Option<String>, LandingFile)>> = BTreeMap::new();
    for delivery in deliveries {
        let objects = match delivery.content {
            Content::TestEvent => continue,
            Content::Unreadable(reason) => {
                outcome.fail(delivery.message_id.as_ref(), FunctionError::bad_event(reason));
                continue;
            }
            Content::Objects(objects) => objects,
        };
        for (bucket, key) in objects {
            match locate(&lakehouse.lake, &bucket, &key).await {
                Ok(Some(file)) => by_table
                    .entry(file.table().to_owned())
                    .or_default()
                    .push((delivery.message_id.clone(), file)),
                Ok(None) => {}
                Err(error) => outcome.fail(delivery.message_id.as_ref(), error),
            }
        }
    }
    for (table, entries) in by_table {
        let files: Vec<LandingFile> = entries.iter().map(|(_, f)| f.clone()).collect();
        match ingest_files(&lakehouse.lake, &lakehouse.pipeline, files).await {
            Ok(report) => outcome.report.absorb(report),
            Err(error) => {
                let error = FunctionError::from(error);
                tracing::error!(table, error = %error, "bronze ingest failed");
                for (message_id, _) in &entries {
                    outcome.fail(
                        message_id.as_ref(),
                        FunctionError::new(error.kind, error.message.clone()),
                    );
                }
            }
        }
    }
    Ok(outcome)
}

/// The landing file an announced object is, or `None` (logged) when it lies outside the landing
/// zone or no longer exists.
async fn locate(lake: &Lake, bucket: &str, key: &str) -> Result<Option<LandingFile>, FunctionError> {
    let Some(relative) = lake.relative_object(Layer::Landing, bucket, key) else {
        tracing::warn!(bucket, key, "object outside the landing zone ignored");
        return Ok(None);
    };
    match lake.head(Layer::Landing, &relative).await? {
        Some(meta) => Ok(Some(LandingFile { relative, meta })),
        None => {
            tracing::warn!(bucket, key, "announced object no longer exists; nothing to ingest");
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use anyhow::Result;
    use bytes::Bytes;
    use lakehouse_io::stages::{ExtractOptions, extract};
    use lakehouse_testkit::Harness;
    use lakehouse_testkit::aws::retarget;
    use lambda_runtime::{Context, LambdaEvent};

    use super::*;

    const SQS_PUT: &str = include_str!("../../../events/write-bronze/sqs-s3-put.json");
    const S3_PUT: &str = include_str!("../../../events/write-bronze/s3-put.json");
    const SQS_TEST_EVENT: &str = include_str!("../../../events/write-bronze/sqs-s3-test-event.json");
    const SQS_SPACED_KEY: &str = include_str!("../../../events/write-bronze/sqs-key-with-space.json");

    /// A SQLite source, seeded and extracted into a lake on the local S3 endpoint.
    async fn landed() -> Result<(Harness, Lakehouse, String)> {
        let h = Harness::sqlite().await?.on_s3().await?;
        let pipeline = lakehouse_core::pipeline::shop()?;
        h.source
            .seed(
                lakehouse_io::source::SeedSizes {
                    customers: 50,
                    products: 20,
                    orders: 100,
                },
                1,
            )
            .await?;
        extract(&h.source, &h.lake, &pipeline, ExtractOptions::default()).await?;
        let lakehouse = Lakehouse {
            lake: h.lake.clone(),
            pipeline,
        };
        let bucket = h.bucket().expect("an S3 lake");
        Ok((h, lakehouse, bucket))
    }

    async fn invoke(
        sample: &str,
        bucket: &str,
        keys: &[String],
        lakehouse: &Lakehouse,
    ) -> Result<Value, FunctionError> {
        let event = retarget(&serde_json::from_str(sample).expect("a JSON sample"), bucket, keys);
        function_handler(LambdaEvent::new(event, Context::default()), lakehouse).await
    }

    fn failures(response: &Value) -> Vec<&str> {
        response["batchItemFailures"]
            .as_array()
            .expect("an SQS batch response")
            .iter()
            .map(|f| f["itemIdentifier"].as_str().unwrap())
            .collect()
    }

    #[tokio::test]
    async fn sqs_notifications_append_every_landing_file_exactly_once() -> Result<()> {
        let (h, lakehouse, bucket) = landed().await?;
        let keys = h.landing_keys().await?;
        assert_eq!(keys.len(), 4);
        let response = invoke(SQS_PUT, &bucket, &keys, &lakehouse).await?;
        assert!(failures(&response).is_empty(), "{response}");
        let counts = h.row_counts().await?;
        assert_eq!(counts.len(), 4, "one bronze table per source table: {counts:?}");

        // The same notifications again, as SQS may deliver them: nothing changes.
        let again = invoke(SQS_PUT, &bucket, &keys, &lakehouse).await?;
        assert!(failures(&again).is_empty());
        assert_eq!(h.row_counts().await?, counts);
        h.cleanup().await
    }

    #[tokio::test]
    async fn a_direct_s3_event_is_ingested_and_a_test_event_ignored() -> Result<()> {
        let (h, lakehouse, bucket) = landed().await?;
        let keys: Vec<String> = h
            .landing_keys()
            .await?
            .into_iter()
            .filter(|k| k.contains("/orders/"))
            .collect();
        let response = invoke(S3_PUT, &bucket, &keys, &lakehouse).await?;
        assert_eq!(response["files_ingested"], 1, "{response}");
        assert!(response["rows"].as_u64().unwrap() > 0);

        let test_event = function_handler(
            LambdaEvent::new(serde_json::from_str(SQS_TEST_EVENT)?, Context::default()),
            &lakehouse,
        )
        .await?;
        assert!(failures(&test_event).is_empty());
        assert_eq!(h.row_counts().await?.len(), 1, "the test event ingested nothing");
        h.cleanup().await
    }

    #[tokio::test]
    async fn keys_with_spaces_and_non_ascii_characters_are_decoded() -> Result<()> {
        let (h, lakehouse, bucket) = landed().await?;
        let source = h
            .landing_keys()
            .await?
            .into_iter()
            .find(|k| k.contains("/orders/"))
            .unwrap();
        let bytes = h
            .lake
            .get(Layer::Landing, source.trim_start_matches("lake/landing/"))
            .await?
            .unwrap();
        let relative = "orders/airbyte sync/2026_11_26 été.parquet";
        h.lake.put(Layer::Landing, relative, bytes).await?;
        let response = invoke(
            SQS_SPACED_KEY,
            &bucket,
            &[format!("lake/landing/{relative}")],
            &lakehouse,
        )
        .await?;
        assert!(failures(&response).is_empty(), "{response}");
        let files = h.lake_rows(Layer::Bronze, "orders", &["_source_file"]).await?;
        assert!(
            files.iter().all(|f| f[0].as_deref() == Some(relative)),
            "{:?}",
            &files[..1]
        );
        h.cleanup().await
    }

    #[tokio::test]
    async fn one_bad_message_fails_alone_and_a_bad_file_is_quarantined_not_retried() -> Result<()> {
        let (h, lakehouse, bucket) = landed().await?;
        let good = h
            .landing_keys()
            .await?
            .into_iter()
            .find(|k| k.contains("/customers/"))
            .unwrap();
        h.lake
            .put(
                Layer::Landing,
                "orders/broken.parquet",
                Bytes::from_static(b"this is not parquet"),
            )
            .await?;
        let outside = "lake/bronze/orders/part-0.parquet".to_owned();
        let keys = vec![good, "lake/landing/orders/broken.parquet".to_owned(), outside];
        let mut event = retarget(&serde_json::from_str(SQS_PUT)?, &bucket, &keys);
        // A fourth message whose body is not an S3 notification at all.
        let mut unreadable = event["Records"][0].clone();
        unreadable["messageId"] = Value::from("unreadable");
        unreadable["body"] = Value::from("{\"truncated\": ");
        event["Records"].as_array_mut().unwrap().push(unreadable);

        let response = function_handler(LambdaEvent::new(event, Context::default()), &lakehouse).await?;
        assert_eq!(
            failures(&response),
            ["unreadable"],
            "only the unreadable message is retried: {response}"
        );
        assert_eq!(
            h.lake_rows(Layer::Bronze, "customers", &["id"]).await?.len(),
            50,
            "the good file is in"
        );
        let reason = h
            .lake
            .get(Layer::Quarantine, "_files/orders/broken.parquet.reason.json")
            .await?;
        let reason: Value = serde_json::from_slice(&reason.expect("the bad file is quarantined"))?;
        assert!(reason["reason"].as_str().unwrap().contains("parquet"), "{reason}");
        assert!(
            h.lake
                .get(Layer::Quarantine, "_files/orders/broken.parquet")
                .await?
                .is_some(),
            "its bytes are kept"
        );
        h.cleanup().await
    }
}
