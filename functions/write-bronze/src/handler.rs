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
use lakehouse_io::stages::{IngestReport, LandingFile, ingest_files};
use lakehouse_io::{Lake, Layer};
use lakehouse_lambda::landing::{self, Content, Delivery};
use lakehouse_lambda::{FunctionError, Lakehouse};
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
        if let Some(id) = message_id {
            if !self.failed.contains(id) {
                self.failed.push(id.clone());
            }
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
                Ok(Some(file)) => by_table.entry(file.table().to_owned()).or_default().push((delivery.message_id.clone(), file)),
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
                    outcome.fail(message_id.as_ref(), FunctionError::new(error.kind, error.message.clone()));
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
