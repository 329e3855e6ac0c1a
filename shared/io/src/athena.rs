//! SQL in Athena over the tables the Glue Data Catalog holds: start the query, poll its state
//! with backoff, then page through the results.

use std::sync::Arc;
use std::time::Duration;

use arrow::array::{ArrayRef, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use aws_sdk_athena::Client;
use aws_sdk_athena::types::{QueryExecutionContext, QueryExecutionState, Row};

use crate::error::{Error, Result};

/// Where Athena queries run.
#[derive(Debug, Clone)]
pub struct AthenaTarget {
    pub workgroup: String,
    /// The database unqualified table names resolve in (e.g. `lakehouse_gold`).
    pub database: Option<String>,
    /// How long to wait for a query before giving up on it.
    pub timeout: Duration,
}

/// A finished query's rows, every value as Athena renders it.
#[derive(Debug, Clone, PartialEq)]
pub struct AthenaResult {
    pub query_id: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
}

impl AthenaResult {
    /// The rows as one Arrow batch of text columns, to print like a local query.
    pub fn to_batch(&self) -> Result<RecordBatch> {
        let fields: Vec<Field> = self
            .columns
            .iter()
            .map(|c| Field::new(c, DataType::Utf8, true))
            .collect();
        let arrays: Vec<ArrayRef> = (0..self.columns.len())
            .map(|i| {
                let values = self.rows.iter().map(|row| row.get(i).cloned().flatten());
                Arc::new(values.collect::<StringArray>()) as ArrayRef
            })
            .collect();
        Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?)
    }
}

/// Athena, reached through the usual AWS environment.
#[derive(Clone)]
pub struct Athena {
    client: Client,
}

/// The first wait between two polls, and the longest.
const FIRST_POLL: Duration = Duration::from_millis(200);
const LONGEST_POLL: Duration = Duration::from_secs(5);

impl Athena {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// A client configured from the environment (`AWS_REGION`, `AWS_ENDPOINT_URL`, credentials).
    pub async fn from_env() -> Self {
        Self::from_config(&crate::aws_config().await)
    }

    pub fn from_config(aws: &aws_config::SdkConfig) -> Self {
        Self::new(Client::new(aws))
    }

    /// Runs `sql` and returns every row of its result.
    pub async fn query(&self, sql: &str, target: &AthenaTarget) -> Result<AthenaResult> {
        let query_id = self.start(sql, target).await?;
        self.wait(&query_id, target.timeout).await?;
        self.results(query_id).await
    }

    async fn start(&self, sql: &str, target: &AthenaTarget) -> Result<String> {
        let context = QueryExecutionContext::builder()
            .set_database(target.database.clone())
            .build();
        let started = self
            .client
            .start_query_execution()
            .query_string(sql)
            .work_group(&target.workgroup)
            .query_execution_context(context)
            .send()
            .await
            .map_err(Error::aws(
                "athena",
                format!("StartQueryExecution in {}", target.workgroup),
            ))?;
        started.query_execution_id.ok_or_else(|| Error::Aws {
            service: "athena",
            operation: "StartQueryExecution".into(),
            reason: "the answer carries no query id".into(),
        })
    }

    /// Polls until the query succeeds, with waits doubling from [`FIRST_POLL`] to [`LONGEST_POLL`].
    async fn wait(&self, query_id: &str, timeout: Duration) -> Result<()> {
        let started = tokio::time::Instant::now();
        let mut pause = FIRST_POLL;
        loop {
            let answer = self
                .client
                .get_query_execution()
                .query_execution_id(query_id)
                .send()
                .await
                .map_err(Error::aws("athena", format!("GetQueryExecution {query_id}")))?;
            let status = answer.query_execution().and_then(|q| q.status());
            let failed = |state: &str| Error::Athena {
                query_id: query_id.to_owned(),
                state: state.to_owned(),
                reason: status
                    .and_then(|s| {
                        s.athena_error()
                            .and_then(|e| e.error_message())
                            .or(s.state_change_reason())
                    })
                    .unwrap_or("no reason given")
                    .to_owned(),
            };
            match status.and_then(|s| s.state()) {
                Some(QueryExecutionState::Succeeded) => return Ok(()),
                Some(QueryExecutionState::Failed) => return Err(failed("failed")),
                Some(QueryExecutionState::Cancelled) => return Err(failed("was cancelled")),
                _ if started.elapsed() + pause > timeout => {
                    return Err(Error::Athena {
                        query_id: query_id.to_owned(),
                        state: "timed out".into(),
                        reason: format!("still running after {} s", timeout.as_secs()),
                    });
                }
                _ => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(LONGEST_POLL);
                }
            }
        }
    }

    /// Every page of the results. Athena repeats the column names as the first row of a
    /// SELECT's first page; that row is dropped.
    async fn results(&self, query_id: String) -> Result<AthenaResult> {
        let pages: Vec<_> = self
            .client
            .get_query_results()
            .query_execution_id(&query_id)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(Error::aws("athena", format!("GetQueryResults {query_id}")))?;
        let columns: Vec<String> = pages
            .first()
            .and_then(|p| p.result_set())
            .and_then(|r| r.result_set_metadata())
            .map(|m| m.column_info().iter().map(|c| c.name().to_owned()).collect())
            .unwrap_or_default();
        let mut rows: Vec<Vec<Option<String>>> = pages
            .iter()
            .filter_map(|p| p.result_set())
            .flat_map(|r| r.rows())
            .map(values)
            .collect();
        let header: Vec<Option<String>> = columns.iter().cloned().map(Some).collect();
        if rows.first() == Some(&header) {
            rows.remove(0);
        }
        Ok(AthenaResult {
            query_id,
            columns,
            rows,
        })
    }
}

fn values(row: &Row) -> Vec<Option<String>> {
    row.data()
        .iter()
        .map(|d| d.var_char_value().map(str::to_owned))
        .collect()
}
