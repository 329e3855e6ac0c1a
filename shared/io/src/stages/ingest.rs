//! Bronze ingestion: every landing file not yet ingested is appended to `bronze/<table>` with
//! its ingestion metadata, exactly once.
//!
//! Exactly once rests on Delta application transactions: the commit that appends a file's rows
//! also records the marker `lakehouse.bronze:<file>`. A file whose marker is present is skipped;
//! an attempt that stopped before its commit left nothing visible; and two writers racing on
//! one file conflict at commit, so the loser re-reads, finds the marker and skips. Rows stream
//! from the landing files into the Delta writer batch by batch.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow::datatypes::{Schema, SchemaRef};
use datafusion::catalog::streaming::StreamingTable;
use datafusion::datasource::provider_as_source;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::LogicalPlanBuilder;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use deltalake::DeltaTable;
use deltalake::protocol::SaveMode;
use futures::{StreamExt, TryStreamExt};
use lakehouse_core::Pipeline;
use lakehouse_core::bronze::{FileMeta, bronze_schema, conform};
use object_store::{ObjectMeta, ObjectStore};
use parquet::arrow::ParquetRecordBatchStreamBuilder;

use super::extract::EXTRACTED_AT_KEY;
use super::quarantine::quarantine_file;
use crate::delta;
use crate::error::{Error, Result};
use crate::lake::{Lake, Layer};
use crate::parquet_io::ObjectReader;

/// The application-transaction id that marks a landing file as ingested.
pub fn file_marker(relative: &str) -> String {
    format!("lakehouse.bronze:{relative}")
}

/// What an ingestion did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct IngestReport {
    pub files_ingested: u64,
    /// Files found already ingested and skipped.
    pub files_skipped: u64,
    /// Files that can never be ingested, moved aside with their reason.
    pub files_quarantined: Vec<(String, String)>,
    /// Files outside the pipeline's tables, left alone.
    pub files_ignored: Vec<String>,
    pub rows: u64,
    /// Size of the landing files ingested.
    pub bytes: u64,
}

impl IngestReport {
    /// Adds another report's counts to this one.
    pub fn absorb(&mut self, other: IngestReport) {
        self.files_ingested += other.files_ingested;
        self.files_skipped += other.files_skipped;
        self.files_quarantined.extend(other.files_quarantined);
        self.files_ignored.extend(other.files_ignored);
        self.rows += other.rows;
        self.bytes += other.bytes;
    }
}

/// A landing file to ingest, as listed or as announced by an S3 event.
#[derive(Debug, Clone)]
pub struct LandingFile {
    /// Path relative to the landing root: `<table>/…`.
    pub relative: String,
    pub meta: ObjectMeta,
}

impl LandingFile {
    /// The table a landing file belongs to: the first folder of its path.
    pub fn table(&self) -> &str {
        self.relative.split('/').next().unwrap_or("")
    }
}

/// Ingests every landing file of every pipeline table that Bronze does not have yet.
pub async fn ingest_pending(lake: &Lake, pipeline: &Pipeline) -> Result<IngestReport> {
    let mut files = Vec::new();
    for spec in &pipeline.tables {
        for meta in lake.list(Layer::Landing, &spec.name, ".parquet").await? {
            if let Some(relative) = lake.relative(Layer::Landing, &meta.location) {
                files.push(LandingFile { relative, meta });
            }
        }
    }
    ingest_files(lake, pipeline, files).await
}

/// Ingests the given landing files, one Bronze commit per table.
pub async fn ingest_files(lake: &Lake, pipeline: &Pipeline, files: Vec<LandingFile>) -> Result<IngestReport> {
    let mut report = IngestReport::default();
    for spec in &pipeline.tables {
        let of_table: Vec<LandingFile> = files.iter().filter(|f| f.table() == spec.name).cloned().collect();
        if !of_table.is_empty() {
            report.absorb(ingest_table(lake, &spec.name, of_table).await?);
        }
    }
    report.files_ignored = files
        .iter()
        .filter(|f| pipeline.table(f.table()).is_none())
        .map(|f| f.relative.clone())
        .collect();
    Ok(report)
}

/// Appends `files` to `bronze/<table>`, retrying from a fresh read when another writer wins a race.
async fn ingest_table(lake: &Lake, table: &str, files: Vec<LandingFile>) -> Result<IngestReport> {
    let mut attempt = 0;
    loop {
        let bronze = delta::open_in(lake, Layer::Bronze, table).await?;
        match ingest_once(lake, table, bronze, &files).await {
            Err(e) if delta::is_conflict(&e) && attempt < delta::MAX_CONFLICT_RETRIES => {
                attempt += 1;
                tracing::info!(table, attempt, "bronze commit lost a race; retrying");
            }
            other => return other,
        }
    }
}

async fn ingest_once(lake: &Lake, table: &str, bronze: DeltaTable, files: &[LandingFile]) -> Result<IngestReport> {
    let mut report = IngestReport::default();
    let mut pending = Vec::new();
    for file in files {
        if delta::marker(&bronze, &file_marker(&file.relative)).await?.is_some() {
            report.files_skipped += 1;
        } else {
            pending.push(file);
        }
    }
    if pending.is_empty() {
        return Ok(report);
    }

    let mut schema: Option<SchemaRef> = table_schema(&bronze)?;
    let ingested_at = chrono::Utc::now().timestamp_micros();
    let batch_id = uuid::Uuid::now_v7().to_string();
    let mut accepted = Vec::new();
    for file in pending {
        let checked = read_footer(lake, file).await.and_then(|(file_schema, extracted_at)| {
            Ok((bronze_schema(&file_schema, schema.as_deref())?, extracted_at))
        });
        match checked {
            Ok((merged, extracted_at)) => {
                schema = Some(merged);
                accepted.push((
                    file.clone(),
                    FileMeta {
                        source_file: file.relative.clone(),
                        extracted_at,
                        ingested_at,
                        batch_id: batch_id.clone(),
                    },
                ));
            }
            Err(reason) => {
                quarantine_file(lake, Layer::Landing, &file.relative, table, &reason.to_string()).await?;
                report
                    .files_quarantined
                    .push((file.relative.clone(), reason.to_string()));
            }
        }
    }
    let Some(schema) = schema.filter(|_| !accepted.is_empty()) else {
        return Ok(report);
    };

    let rows = Arc::new(AtomicU64::new(0));
    let markers: Vec<(String, i64)> = accepted.iter().map(|(f, _)| (file_marker(&f.relative), 1)).collect();
    let (store, _) = lake.store(Layer::Landing);
    let stream = LandingStream {
        store,
        files: accepted.iter().map(|(f, m)| (f.meta.clone(), m.clone())).collect(),
        schema: schema.clone(),
        rows: rows.clone(),
    };
    let provider = StreamingTable::try_new(schema, vec![Arc::new(stream)])?;
    let plan = LogicalPlanBuilder::scan("landing", provider_as_source(Arc::new(provider)), None)?.build()?;
    let url = bronze.table_url().clone();
    let properties = delta::with_markers(&bronze, markers);
    let written = bronze
        .write(Vec::new())
        .with_input_plan(plan)
        .with_save_mode(SaveMode::Append)
        .with_schema_mode(deltalake::operations::write::SchemaMode::Merge)
        .with_commit_properties(properties)
        .await
        .map_err(Error::delta(&url))?;
    report.files_ingested += accepted.len() as u64;
    report.bytes += accepted.iter().map(|(f, _)| f.meta.size).sum::<u64>();
    report.rows += rows.load(Ordering::Relaxed);
    tracing::info!(
        table,
        files = accepted.len(),
        rows = report.rows,
        version = written.version().unwrap_or_default(),
        "bronze commit"
    );
    Ok(report)
}

/// The table's Arrow schema, or `None` before its first commit.
fn table_schema(table: &DeltaTable) -> Result<Option<SchemaRef>> {
    if table.version().is_none() {
        return Ok(None);
    }
    let state = table.snapshot().map_err(Error::delta(table.table_url()))?;
    Ok(Some(state.snapshot().arrow_schema()))
}

/// Reads a landing file's footer: its schema and when its rows were extracted (from our key-value
/// metadata, else the object's modification time). Fails for anything that is not Parquet.
async fn read_footer(lake: &Lake, file: &LandingFile) -> Result<(Schema, i64)> {
    let (store, _) = lake.store(Layer::Landing);
    let reader = ObjectReader::new(store, file.meta.clone());
    let builder = ParquetRecordBatchStreamBuilder::new(reader)
        .await
        .map_err(Error::parquet(&file.relative))?;
    let extracted_at = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|k| k.key == EXTRACTED_AT_KEY))
        .and_then(|k| k.value.as_deref()?.parse().ok())
        .unwrap_or_else(|| file.meta.last_modified.timestamp_micros());
    Ok((builder.schema().as_ref().clone(), extracted_at))
}

/// Landing files read one after another, each batch conformed to the Bronze schema: the input
/// of the Delta write, so that no file is ever held in memory whole.
#[derive(Debug)]
struct LandingStream {
    store: Arc<dyn ObjectStore>,
    files: Vec<(ObjectMeta, FileMeta)>,
    schema: SchemaRef,
    rows: Arc<AtomicU64>,
}

impl PartitionStream for LandingStream {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let (store, schema, rows) = (self.store.clone(), self.schema.clone(), self.rows.clone());
        let batches = futures::stream::iter(self.files.clone())
            .then(move |(object, meta)| open_conformed(store.clone(), object, meta, schema.clone(), rows.clone()))
            .try_flatten();
        Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), batches))
    }
}

async fn open_conformed(
    store: Arc<dyn ObjectStore>,
    object: ObjectMeta,
    meta: FileMeta,
    schema: SchemaRef,
    rows: Arc<AtomicU64>,
) -> datafusion::error::Result<impl futures::Stream<Item = datafusion::error::Result<arrow::record_batch::RecordBatch>>>
{
    let reader = ObjectReader::new(store, object);
    let stream = ParquetRecordBatchStreamBuilder::new(reader).await?.build()?;
    Ok(stream.map(move |batch| {
        let conformed =
            conform(&batch?, &schema, &meta).map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
        rows.fetch_add(conformed.num_rows() as u64, Ordering::Relaxed);
        Ok(conformed)
    }))
}
