//! Bronze ingestion: every landing file not yet ingested is appended to `bronze/<table>` with
//! its ingestion metadata, exactly once.
//!
//! Exactly once rests on Delta application transactions: the commit that appends a file's rows
//! also records the marker `lakehouse.bronze:<file>`. A file whose marker is present is skipped;
//! an attempt that stopped before its commit left nothing visible; and two writers racing on
//! one file conflict at commit, so the loser re-reads, finds the marker and skips. Rows stream
//! from the landing files into the Delta writer batch by batch.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arrow::array::RecordBatch;
use arrow::datatypes::{Schema, SchemaRef};
use datafusion::catalog::streaming::StreamingTable;
use datafusion::datasource::provider_as_source;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::LogicalPlanBuilder;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use deltalake::DeltaTable;
use deltalake::protocol::SaveMode;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt};
use lakehouse_core::bronze::{FileMeta, bronze_schema, conform};
use lakehouse_core::{Pipeline, TableSpec};
use object_store::{ObjectMeta, ObjectStore};
use parquet::arrow::ParquetRecordBatchStreamBuilder;
use parquet::file::metadata::ParquetMetaData;

use super::extract::EXTRACTED_AT_KEY;
use super::quarantine::{FILES, quarantine_file};
use crate::delta;
use crate::error::{Error, Result};
use crate::faults;
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

/// Ingests the given landing files, one Bronze commit per table, as many tables at once as
/// there are cores (a table's files are read as one stream, though its writer encodes on every
/// core), the most bytes first: the smaller tables then share the cores while the largest is
/// written, instead of the largest starting last and finishing alone.
pub async fn ingest_files(lake: &Lake, pipeline: &Pipeline, files: Vec<LandingFile>) -> Result<IngestReport> {
    let mut by_table: Vec<(&TableSpec, Vec<LandingFile>)> = pipeline
        .tables
        .iter()
        .map(|spec| {
            let of_table = files.iter().filter(|f| f.table() == spec.name).cloned();
            (spec, of_table.collect::<Vec<_>>())
        })
        .filter(|(_, of_table)| !of_table.is_empty())
        .collect();
    by_table.sort_by_cached_key(|(_, of_table)| std::cmp::Reverse(of_table.iter().map(|f| f.meta.size).sum::<u64>()));
    // Collected before any await, so that no closure is held across one (callers stay Send).
    let tables: Vec<BoxFuture<'_, Result<IngestReport>>> = by_table
        .into_iter()
        .map(|(spec, of_table)| ingest_table(lake, spec, of_table).boxed())
        .collect();
    let width = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut report = IngestReport::default();
    let mut done = futures::stream::iter(tables).buffered(width);
    while let Some(table) = done.next().await {
        report.absorb(table?);
    }
    report.files_ignored = files
        .iter()
        .filter(|f| pipeline.table(f.table()).is_none())
        .map(|f| f.relative.clone())
        .collect();
    Ok(report)
}

/// Appends `files` to `bronze/<table>`, retrying from a fresh read when another writer wins a
/// race, and without a file whose rows turned out to be unreadable (that file is quarantined).
async fn ingest_table(lake: &Lake, spec: &TableSpec, mut files: Vec<LandingFile>) -> Result<IngestReport> {
    let (table, mut attempt, mut report) = (spec.name.as_str(), 0, IngestReport::default());
    loop {
        let bronze = delta::open_in(lake, Layer::Bronze, table).await?;
        match ingest_once(lake, spec, bronze, &files).await {
            Err(e) if delta::is_conflict(&e) && attempt < delta::MAX_CONFLICT_RETRIES => {
                attempt += 1;
                tracing::info!(table, attempt, "bronze commit lost a race; retrying");
            }
            Err(e) => return Err(e),
            Ok(Attempt::Unreadable(partial, bad)) => {
                report.files_quarantined.extend(partial.files_quarantined);
                quarantine_file(lake, Layer::Landing, &bad.file, table, &bad.reason).await?;
                report.files_quarantined.push((bad.file.clone(), bad.reason));
                files.retain(|f| f.relative != bad.file);
            }
            Ok(Attempt::Done(done)) => {
                report.absorb(done);
                return Ok(report);
            }
        }
    }
}

/// How one attempt at a Bronze commit ended.
enum Attempt {
    Done(IngestReport),
    /// A file's rows could not be read or broke the contract; nothing was committed. The report
    /// holds the files quarantined on the way.
    Unreadable(IngestReport, BadFile),
}

async fn ingest_once(lake: &Lake, spec: &TableSpec, bronze: DeltaTable, files: &[LandingFile]) -> Result<Attempt> {
    let table = spec.name.as_str();
    let mut report = IngestReport::default();
    let mut pending = Vec::new();
    for file in files {
        if delta::marker(&bronze, &file_marker(&file.relative)).await?.is_some() || is_quarantined(lake, file).await? {
            report.files_skipped += 1;
        } else {
            pending.push(file);
        }
    }
    if pending.is_empty() {
        return Ok(Attempt::Done(report));
    }

    let mut schema: Option<SchemaRef> = table_schema(&bronze)?;
    let ingested_at = chrono::Utc::now().timestamp_micros();
    let batch_id = uuid::Uuid::now_v7().to_string();
    let mut accepted = Vec::new();
    for file in pending {
        let checked = read_footer(lake, file, &spec.key)
            .await?
            .and_then(|(file_schema, extracted_at)| {
                bronze_schema(&file_schema, schema.as_deref())
                    .map(|merged| (merged, extracted_at))
                    .map_err(|e| e.to_string())
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
                quarantine_file(lake, Layer::Landing, &file.relative, table, &reason).await?;
                report.files_quarantined.push((file.relative.clone(), reason));
            }
        }
    }
    let Some(schema) = schema.filter(|_| !accepted.is_empty()) else {
        return Ok(Attempt::Done(report));
    };

    let rows = Arc::new(AtomicU64::new(0));
    let unreadable = Arc::new(Mutex::new(None));
    let markers: Vec<(String, i64)> = accepted.iter().map(|(f, _)| (file_marker(&f.relative), 1)).collect();
    let (store, _) = lake.store(Layer::Landing);
    let stream = LandingStream {
        store,
        files: accepted.iter().map(|(f, m)| (f.meta.clone(), m.clone())).collect(),
        schema: schema.clone(),
        key: spec.key.clone(),
        rows: rows.clone(),
        unreadable: unreadable.clone(),
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
        .await;
    let written = match written {
        Ok(written) => written,
        // delta-rs keeps only the text of an input's error, so the stream left the file aside.
        Err(e) => match take(&unreadable) {
            Some(bad) => return Ok(Attempt::Unreadable(report, bad)),
            None => return Err(Error::delta(&url)(e)),
        },
    };
    faults::crash("ingest-after-commit")?;
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
    Ok(Attempt::Done(report))
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
/// metadata, else the object's modification time). The inner error says why the file can never be
/// ingested (not Parquet, no key column, null keys); the outer one is a failure to read it at all.
async fn read_footer(lake: &Lake, file: &LandingFile, key: &str) -> Result<Result<(Schema, i64), String>> {
    let (store, _) = lake.store(Layer::Landing);
    let reader = ObjectReader::new(store, file.meta.clone());
    let builder = match ParquetRecordBatchStreamBuilder::new(reader).await {
        Ok(builder) => builder,
        Err(e) if is_transient(&e) => return Err(Error::parquet(&file.relative)(e)),
        Err(e) => return Ok(Err(format!("not a readable parquet file: {e}"))),
    };
    if builder.schema().field_with_name(key).is_err() {
        return Ok(Err(format!("the key column {key} is missing")));
    }
    let null_keys = null_count(builder.metadata(), key);
    if null_keys > 0 {
        return Ok(Err(format!("{null_keys} rows have no {key}: a key must not be null")));
    }
    let extracted_at = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|k| k.key == EXTRACTED_AT_KEY))
        .and_then(|k| k.value.as_deref()?.parse().ok())
        .unwrap_or_else(|| file.meta.last_modified.timestamp_micros());
    Ok(Ok((builder.schema().as_ref().clone(), extracted_at)))
}

/// The nulls in column `name` that the footer's statistics count (rows without statistics are
/// checked as they stream).
fn null_count(metadata: &ParquetMetaData, name: &str) -> u64 {
    metadata
        .row_groups()
        .iter()
        .flat_map(|group| group.columns().iter().filter(|c| c.column_path().string() == name))
        .filter_map(|column| column.statistics()?.null_count_opt())
        .sum()
}

/// Whether a Parquet error is the object store failing (worth a retry), not the file's bytes.
fn is_transient(error: &parquet::errors::ParquetError) -> bool {
    matches!(error, parquet::errors::ParquetError::External(inner) if inner.is::<object_store::Error>())
}

/// A file whose rows turned out to be unreadable or to break the contract while streaming.
#[derive(Debug, thiserror::Error)]
#[error("landing file {file}: {reason}")]
struct BadFile {
    file: String,
    reason: String,
}

/// The file a failed stream left aside, if any.
fn take(slot: &Mutex<Option<BadFile>>) -> Option<BadFile> {
    slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take()
}

/// Whether the file was quarantined by an earlier attempt (so it is not tried again).
async fn is_quarantined(lake: &Lake, file: &LandingFile) -> Result<bool> {
    Ok(lake
        .head(Layer::Quarantine, &format!("{FILES}/{}.reason.json", file.relative))
        .await?
        .is_some())
}

/// Landing files read one after another, each batch conformed to the Bronze schema: the input
/// of the Delta write, so that no file is ever held in memory whole.
#[derive(Debug)]
struct LandingStream {
    store: Arc<dyn ObjectStore>,
    files: Vec<(ObjectMeta, FileMeta)>,
    schema: SchemaRef,
    key: String,
    rows: Arc<AtomicU64>,
    /// Where the stream leaves the file that stopped it, for the ingestion to quarantine.
    unreadable: Arc<Mutex<Option<BadFile>>>,
}

impl PartitionStream for LandingStream {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let (store, schema, rows) = (self.store.clone(), self.schema.clone(), self.rows.clone());
        // Batches of the plan's size pass through the writer's repartitioning as they are;
        // smaller ones (the reader's default is 1024 rows) are copied together first.
        let batch_rows = ctx.session_config().batch_size();
        let (key, unreadable) = (self.key.clone(), self.unreadable.clone());
        let batches = futures::stream::iter(self.files.clone())
            .then(move |(object, meta)| {
                let file = Landed {
                    store: store.clone(),
                    object,
                    meta,
                    key: key.clone(),
                    unreadable: unreadable.clone(),
                };
                file.conformed(schema.clone(), rows.clone(), batch_rows)
            })
            .try_flatten()
            .chain(
                futures::stream::once(end_of_input())
                    .filter_map(|end| async move { end.err() })
                    .map(Err),
            );
        Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), batches))
    }
}

/// The end of the input: every row has been handed to the writer, which has written its data
/// files, and the commit comes next (a crash point).
async fn end_of_input() -> datafusion::error::Result<()> {
    faults::crash("ingest-before-commit").map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))
}

/// One landing file to stream into Bronze.
struct Landed {
    store: Arc<dyn ObjectStore>,
    object: ObjectMeta,
    meta: FileMeta,
    key: String,
    unreadable: Arc<Mutex<Option<BadFile>>>,
}

impl Landed {
    /// The file's batches conformed to the Bronze schema. Bytes that do not decode, and null
    /// keys, fail the stream with a [`BadFile`] so that the file is quarantined and the others
    /// go on; a failing object store fails it plainly, to be retried.
    async fn conformed(
        self,
        schema: SchemaRef,
        rows: Arc<AtomicU64>,
        batch_rows: usize,
    ) -> datafusion::error::Result<impl futures::Stream<Item = datafusion::error::Result<RecordBatch>>> {
        let Landed {
            store,
            object,
            meta,
            key,
            unreadable,
        } = self;
        let source_file = meta.source_file.clone();
        let bad = move |reason: String| {
            let file = BadFile {
                file: source_file.clone(),
                reason,
            };
            let error = datafusion::error::DataFusionError::Execution(file.to_string());
            *unreadable.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(file);
            error
        };
        let decode = {
            let bad = bad.clone();
            move |e: parquet::errors::ParquetError| {
                if is_transient(&e) {
                    datafusion::error::DataFusionError::ParquetError(Box::new(e))
                } else {
                    bad(format!("its rows cannot be read: {e}"))
                }
            }
        };
        let reader = ObjectReader::new(store, object);
        let stream = ParquetRecordBatchStreamBuilder::new(reader)
            .await
            .and_then(|b| b.with_batch_size(batch_rows).build())
            .map_err(&decode)?;
        Ok(stream.map(move |batch| {
            let batch = batch.map_err(&decode)?;
            let null_keys = batch.column_by_name(&key).map_or(0, |c| c.null_count());
            if null_keys > 0 {
                return Err(bad(format!("{null_keys} rows have no {key}: a key must not be null")));
            }
            let conformed = conform(&batch, &schema, &meta).map_err(|e| bad(e.to_string()))?;
            rows.fetch_add(conformed.num_rows() as u64, Ordering::Relaxed);
            Ok(conformed)
        }))
    }
}
