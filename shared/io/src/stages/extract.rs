//! Extraction: the rows each source table changed since its cursor, streamed batch by batch into
//! Parquet files in `landing/<table>/`. A table's cursor is saved only after all of its files
//! are completely written, so a failed pass leaves the cursor where it was.

use arrow::datatypes::SchemaRef;
use chrono::DateTime;
use lakehouse_core::cursor::{self, Cursor, Window};
use lakehouse_core::types::{arrow_schema, format_timestamp_millis};
use lakehouse_core::{Pipeline, TableSpec};
use object_store::buffered::BufWriter;
use parquet::arrow::AsyncArrowWriter;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::faults;
use crate::lake::{Lake, Layer};
use crate::parquet_io::object_writer;
use crate::source::{Snapshot, Source};

/// Parquet key-value metadata naming when the rows were read (µs since the epoch, UTC).
pub const EXTRACTED_AT_KEY: &str = "lakehouse.extracted_at";

/// How extraction sizes its work.
#[derive(Debug, Clone, Copy)]
pub struct ExtractOptions {
    /// Rows per Arrow batch (and per Parquet row group): bounds memory.
    pub batch_rows: usize,
    /// Rows per landing file before a new one is started.
    pub file_rows: usize,
    /// Extra time to hold back beyond the settled bound, for sources whose `updated_at` does
    /// not come from the database clock.
    pub margin_micros: i64,
}

impl Default for ExtractOptions {
    fn default() -> Self {
        Self {
            batch_rows: 64 * 1024,
            file_rows: 1024 * 1024,
            margin_micros: 0,
        }
    }
}

/// What one table's extraction produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableExtract {
    pub table: String,
    pub rows: u64,
    /// Landing files written, relative to the landing root.
    pub files: Vec<String>,
    /// The cursor after this pass.
    pub cursor: Option<Cursor>,
}

/// What one extraction pass produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExtractReport {
    pub tables: Vec<TableExtract>,
    /// Rows stamped at or after this time (µs, UTC) were left for the next pass.
    pub bound: i64,
}

impl ExtractReport {
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }

    pub fn files(&self) -> impl Iterator<Item = &str> {
        self.tables.iter().flat_map(|t| t.files.iter().map(String::as_str))
    }
}

/// A table's saved extraction state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CursorState {
    pub cursor: Option<Cursor>,
    /// The cursor's time, readable (`YYYY-MM-DD HH:MM:SS.mmm`, UTC).
    pub watermark: Option<String>,
    pub saved_at: String,
}

/// Where a table's cursor is kept in the state layer.
fn cursor_path(table: &str) -> String {
    format!("extract/{table}.json")
}

/// Reads a table's saved cursor.
pub async fn load_cursor(lake: &Lake, table: &str) -> Result<Option<CursorState>> {
    lake.get_json(Layer::State, &cursor_path(table)).await
}

/// Extracts every table of `pipeline` from one consistent snapshot of `source`.
pub async fn extract(
    source: &Source,
    lake: &Lake,
    pipeline: &Pipeline,
    options: ExtractOptions,
) -> Result<ExtractReport> {
    // Read the schemas first: a missing table fails the pass before anything is written.
    let mut schemas = Vec::new();
    for spec in &pipeline.tables {
        let columns = source.columns(&spec.name).await?;
        schemas.push(arrow_schema(&spec.name, &columns)?);
    }
    let mut snapshot = source.snapshot().await?;
    let run_id = run_id(snapshot.db_now);
    let mut tables = Vec::new();
    let mut bound = snapshot.db_now;
    for (spec, schema) in pipeline.tables.iter().zip(schemas) {
        let previous = load_cursor(lake, &spec.name).await?.and_then(|s| s.cursor);
        let window = Window::settled(previous, snapshot.db_now, snapshot.oldest_open, options.margin_micros);
        bound = window.before;
        let table = extract_table(&mut snapshot, lake, spec, &schema, window, &run_id, options).await?;
        tracing::info!(table = %spec.name, rows = table.rows, files = table.files.len(), "extracted");
        tables.push(table);
    }
    snapshot.finish().await?;
    Ok(ExtractReport { tables, bound })
}

async fn extract_table(
    snapshot: &mut Snapshot,
    lake: &Lake,
    spec: &TableSpec,
    schema: &SchemaRef,
    window: Window,
    run_id: &str,
    options: ExtractOptions,
) -> Result<TableExtract> {
    let extracted_at = snapshot.db_now;
    let mut files = LandingFiles {
        lake,
        table: &spec.name,
        run_id,
        schema,
        extracted_at,
        options,
        open: None,
        written: Vec::new(),
    };
    let mut rows = 0_u64;
    let mut last = None;
    snapshot
        // A batch never spans two files, so files roll over at exactly `file_rows`.
        .read(
            spec,
            schema,
            window,
            options.batch_rows.min(options.file_rows),
            async |extracted| {
                rows += extracted.batch.num_rows() as u64;
                last = Some(extracted.last);
                files.write(&extracted.batch).await
            },
        )
        .await?;
    let written = files.close().await?;
    let cursor = cursor::advance(window.after, last);
    // Only now, with every file complete, may the cursor move.
    let state = CursorState {
        cursor,
        watermark: cursor.map(|c| format_timestamp_millis(c.at)),
        saved_at: format_timestamp_millis(extracted_at),
    };
    faults::crash("extract-before-cursor")?;
    lake.put_json(Layer::State, &cursor_path(&spec.name), &state).await?;
    Ok(TableExtract {
        table: spec.name.clone(),
        rows,
        files: written,
        cursor,
    })
}

/// The landing files of one table in one pass, rolled over every `file_rows` rows.
struct LandingFiles<'a> {
    lake: &'a Lake,
    table: &'a str,
    run_id: &'a str,
    schema: &'a SchemaRef,
    extracted_at: i64,
    options: ExtractOptions,
    open: Option<OpenFile>,
    written: Vec<String>,
}

struct OpenFile {
    relative: String,
    writer: AsyncArrowWriter<BufWriter>,
    rows: usize,
}

impl LandingFiles<'_> {
    async fn write(&mut self, batch: &arrow::record_batch::RecordBatch) -> Result<()> {
        let file = match &mut self.open {
            Some(file) => file,
            None => self.open.insert(self.start()?),
        };
        file.writer.write(batch).await.map_err(Error::parquet(&file.relative))?;
        file.rows += batch.num_rows();
        if file.rows >= self.options.file_rows {
            self.finish_open().await?;
        }
        Ok(())
    }

    fn start(&self) -> Result<OpenFile> {
        let relative = format!("{}/{}-{:04}.parquet", self.table, self.run_id, self.written.len() + 1);
        let (store, _) = self.lake.store(Layer::Landing);
        let path = self.lake.path(Layer::Landing, &relative);
        let properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(self.options.batch_rows))
            .set_key_value_metadata(Some(vec![
                KeyValue::new(EXTRACTED_AT_KEY.to_owned(), self.extracted_at.to_string()),
                KeyValue::new("lakehouse.table".to_owned(), self.table.to_owned()),
            ]))
            .build();
        let writer = AsyncArrowWriter::try_new(object_writer(store, path), self.schema.clone(), Some(properties))
            .map_err(Error::parquet(&relative))?;
        Ok(OpenFile {
            relative,
            writer,
            rows: 0,
        })
    }

    /// Completes the open file: only a completed upload becomes visible in the landing zone.
    async fn finish_open(&mut self) -> Result<()> {
        if let Some(file) = self.open.take() {
            file.writer.close().await.map_err(Error::parquet(&file.relative))?;
            self.written.push(file.relative);
        }
        Ok(())
    }

    async fn close(mut self) -> Result<Vec<String>> {
        self.finish_open().await?;
        Ok(self.written)
    }
}

/// A sortable, unique name for one pass: the snapshot time and a random suffix.
fn run_id(db_now: i64) -> String {
    let time = DateTime::from_timestamp_micros(db_now).unwrap_or_default();
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "{}-{}",
        time.format("%Y%m%dT%H%M%S%.3fZ").to_string().replace('.', ""),
        &suffix[..8]
    )
}
