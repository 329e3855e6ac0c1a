//! An upsert of a Delta table by key, under the rules of [`lakehouse_core::upsert`].
//!
//! delta-rs's MERGE joins the whole table with the changes through a general query plan and then
//! rewrites every file a changed key touches. This does the same change with less work:
//! 1. read only the key and cursor columns of each data file and sift them;
//! 2. for just the files that lose a row: when the table has deletion vectors and the file keeps
//!    at least half its rows, mark the lost rows in a deletion vector; otherwise rewrite the
//!    file, in parallel, copying the rows that stay;
//! 3. write the incoming versions that survive;
//! 4. commit the removes, the adds and the markers as one MERGE commit.
//!
//! A file whose key statistics hold no incoming key is not read at all; one without a changed
//! key is read for two columns and left as it is.

use std::sync::Arc;

use arrow::array::{Array, BooleanArray, RecordBatch};
use arrow::compute::{concat, filter, filter_record_batch};
use deltalake::DeltaTable;
use deltalake::kernel::transaction::CommitBuilder;
use deltalake::kernel::{Action, Add, LogicalFileView};
use deltalake::protocol::DeltaOperation;
use deltalake::writer::{DeltaWriter, RecordBatchWriter};
use futures::{FutureExt, TryStreamExt};
use lakehouse_core::types::fit;
use lakehouse_core::upsert::Incoming;
use object_store::{ObjectMeta, ObjectStore};
use parquet::arrow::async_reader::ParquetRecordBatchStream;
use parquet::arrow::{ParquetRecordBatchStreamBuilder, ProjectionMask};

use super::{deletion_vectors, with_markers};
use crate::error::{Error, Result};
use crate::parallel::{cores, in_parallel};
use crate::parquet_io::ObjectReader;

/// Rows per batch when reading stored files.
const BATCH_ROWS: usize = 64 * 1024;
/// Incoming versions are written in parallel, in files of at least this many rows...
const MIN_ROWS_PER_FILE: usize = 64 * 1024;
/// ...and at most this many.
const MAX_ROWS_PER_FILE: usize = 1 << 20;

/// What an upsert changed.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct UpsertReport {
    /// Data files left unread because their key statistics hold no incoming key.
    pub files_pruned: usize,
    /// Data files whose key and cursor columns were read.
    pub files_sifted: usize,
    /// Of those, files that lost rows and were rewritten without them.
    pub files_rewritten: usize,
    /// Of those, files that lost rows and kept them, marked deleted in a deletion vector.
    pub files_marked: usize,
    /// Stored rows removed: replaced by a newer version or deleted.
    pub rows_removed: usize,
    /// Incoming versions written.
    pub rows_written: usize,
    /// The version committed.
    pub version: u64,
}

/// What sifting one stored file decided.
struct FileSift {
    file: LogicalFileView,
    /// For each row of the file: whether it is live after the upsert.
    keep: BooleanArray,
    /// Rows the upsert removes (rows deleted before are not counted).
    removed: usize,
    /// Incoming versions a row of the file is newer than.
    beaten: Vec<usize>,
}

impl FileSift {
    /// Whether the file's removed rows are better marked in a deletion vector than rewritten
    /// away: while at most half the file is deleted, marking is far cheaper; past that, the
    /// file is rewritten so that deleted rows do not pile up.
    fn mark(&self) -> bool {
        2 * self.keep.true_count() >= self.keep.len()
    }
}

/// Applies `incoming` to `table` (which must exist) and commits it with `markers`.
pub async fn upsert(
    table: &DeltaTable,
    incoming: Incoming,
    markers: impl IntoIterator<Item = (String, i64)>,
) -> Result<UpsertReport> {
    let url = table.table_url().clone();
    let state = table.snapshot().map_err(Error::delta(&url))?;
    let marks = deletion_vectors::enabled(state);
    let key = incoming.key_and_cursor()[0].to_owned();
    let files: Vec<LogicalFileView> = state.log_data().iter().collect();
    let total = files.len();
    let files: Vec<LogicalFileView> = files
        .into_iter()
        .filter(|file| key_range(file, &key).is_none_or(|(min, max)| incoming.may_match(min, max)))
        .collect();
    let mut live = deletion_vectors::live_rows(table, &files).await?;
    let incoming = Arc::new(incoming);
    let store = table.object_store();
    let mut report = UpsertReport {
        files_pruned: total - files.len(),
        files_sifted: files.len(),
        ..Default::default()
    };

    let sifts = files
        .into_iter()
        .map(|file| {
            let (store, incoming) = (store.clone(), incoming.clone());
            let live = live.remove(file.path().as_ref());
            async move { sift_file(store, file, live, &incoming).await }.boxed()
        })
        .collect();
    let sifted = in_parallel(sifts, cores()).await?;
    let survivors = incoming.survivors(sifted.iter().flat_map(|s| s.beaten.iter().copied()))?;
    let (marked, rewritten): (Vec<FileSift>, Vec<FileSift>) = sifted
        .into_iter()
        .filter(|s| s.removed > 0)
        .partition(|s| marks && s.mark());
    report.files_rewritten = rewritten.len();
    report.files_marked = marked.len();
    report.rows_removed = marked.iter().chain(&rewritten).map(|s| s.removed).sum();
    report.rows_written = survivors.iter().map(RecordBatch::num_rows).sum();

    let mut actions: Vec<Action> = marked
        .iter()
        .chain(&rewritten)
        .map(|s| Action::Remove(s.file.remove_action(true)))
        .collect();
    let marked = marked.into_iter().map(|s| (s.file, s.keep)).collect();
    let marked = deletion_vectors::record(table, store.as_ref(), marked).await?;
    actions.extend(marked.into_iter().map(Action::Add));
    let rewrites = rewritten.into_iter().map(|sifted| {
        let (writer, store) = (writer_for(table), store.clone());
        async move { rewrite_file(writer?, store, &sifted.file, &sifted.keep).await }.boxed()
    });
    let per_file = report
        .rows_written
        .div_ceil(cores())
        .clamp(MIN_ROWS_PER_FILE, MAX_ROWS_PER_FILE);
    let inserts = groups(survivors, per_file).into_iter().map(|rows| {
        let writer = writer_for(table);
        async move { write_rows(writer?, rows).await }.boxed()
    });
    for adds in in_parallel(rewrites.chain(inserts).collect(), cores()).await? {
        actions.extend(adds.into_iter().map(Action::Add));
    }

    let operation = DeltaOperation::Merge {
        predicate: None,
        merge_predicate: Some(format!("target.{key} = source.{key}")),
        matched_predicates: Vec::new(),
        not_matched_predicates: Vec::new(),
        not_matched_by_source_predicates: Vec::new(),
    };
    let committed = CommitBuilder::from(with_markers(table, markers))
        .with_actions(actions)
        .build(Some(state), table.log_store(), operation)
        .await
        .map_err(Error::delta(&url))?;
    report.version = committed.version();
    Ok(report)
}

/// The smallest and largest key in `file`, from its statistics, when they are integers.
fn key_range(file: &LogicalFileView, key: &str) -> Option<(i64, i64)> {
    let stats = super::file_statistics(file)?;
    Some((stats["minValues"][key].as_i64()?, stats["maxValues"][key].as_i64()?))
}

/// Reads the key and cursor columns of one data file and sifts its live rows (all rows, or
/// those `live` marks when the file has a deletion vector).
async fn sift_file(
    store: Arc<dyn ObjectStore>,
    file: LogicalFileView,
    live: Option<BooleanArray>,
    incoming: &Incoming,
) -> Result<FileSift> {
    let path = file.path().into_owned();
    let batches: Vec<RecordBatch> = read(store, &file, Some(incoming.key_and_cursor()))
        .await?
        .try_collect()
        .await
        .map_err(Error::parquet(&path))?;
    let [key, cursor] = incoming.key_and_cursor().map(|name| {
        let parts: Vec<&dyn Array> = batches
            .iter()
            .filter_map(|b| b.column_by_name(name).map(|c| c.as_ref()))
            .collect();
        if parts.len() < batches.len() {
            return Err(Error::State {
                path: path.clone(),
                reason: format!("the data file has no column {name:?}"),
            });
        }
        Ok(concat(&parts)?)
    });
    let (key, cursor) = (key?, cursor?);
    if let Some(live) = live.as_ref().filter(|l| l.len() != key.len()) {
        return Err(Error::State {
            path,
            reason: format!(
                "the deletion vector covers {} rows but the file holds {}",
                live.len(),
                key.len()
            ),
        });
    }
    let Some(live) = live.filter(|l| l.false_count() > 0) else {
        let sifted = incoming.sift(&key, &cursor)?;
        return Ok(FileSift {
            file,
            removed: sifted.removed(),
            keep: sifted.keep,
            beaten: sifted.beaten,
        });
    };
    let sifted = incoming.sift(&filter(&key, &live)?, &filter(&cursor, &live)?)?;
    let mut kept = sifted.keep.values().iter();
    let keep: BooleanArray = live
        .values()
        .iter()
        .map(|is_live| Some(is_live && kept.next().unwrap_or(true)))
        .collect();
    Ok(FileSift {
        file,
        removed: sifted.removed(),
        keep,
        beaten: sifted.beaten,
    })
}

/// Copies the rows of `file` that `keep` marks into a new file; returns its adds.
async fn rewrite_file(
    mut writer: TableWriter,
    store: Arc<dyn ObjectStore>,
    file: &LogicalFileView,
    keep: &BooleanArray,
) -> Result<Vec<Add>> {
    let path = file.path().into_owned();
    let mut batches = read(store, file, None).await?;
    let mut offset = 0;
    while let Some(batch) = batches.try_next().await.map_err(Error::parquet(&path))? {
        let rows = batch.num_rows();
        writer
            .write(filter_record_batch(&batch, &keep.slice(offset, rows))?)
            .await?;
        offset += rows;
    }
    writer.finish().await
}

/// Writes `rows` into a new file; returns its adds.
async fn write_rows(mut writer: TableWriter, rows: Vec<RecordBatch>) -> Result<Vec<Add>> {
    for batch in rows {
        writer.write(batch).await?;
    }
    writer.finish().await
}

/// delta-rs's writer for one new data file of a table, fitting each batch to the table's schema
/// (columns the batch lacks, e.g. from before a column was added, become NULL).
struct TableWriter {
    writer: RecordBatchWriter,
    table: url::Url,
}

fn writer_for(table: &DeltaTable) -> Result<TableWriter> {
    let writer = RecordBatchWriter::for_table(table).map_err(Error::delta(table.table_url()))?;
    Ok(TableWriter {
        writer,
        table: table.table_url().clone(),
    })
}

impl TableWriter {
    async fn write(&mut self, batch: RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let batch = fit(&batch, &self.writer.arrow_schema())?;
        self.writer.write(batch).await.map_err(Error::delta(&self.table))
    }

    async fn finish(mut self) -> Result<Vec<Add>> {
        self.writer.flush().await.map_err(Error::delta(&self.table))
    }
}

/// Streams one data file, all columns or only `columns`.
async fn read(
    store: Arc<dyn ObjectStore>,
    file: &LogicalFileView,
    columns: Option<[&str; 2]>,
) -> Result<ParquetRecordBatchStream<ObjectReader>> {
    let location = file.object_store_path();
    let meta = ObjectMeta {
        location: location.clone(),
        last_modified: file.modification_datetime().map_err(Error::delta(&location))?,
        size: u64::try_from(file.size()).unwrap_or_default(),
        e_tag: None,
        version: None,
    };
    let builder = ParquetRecordBatchStreamBuilder::new(ObjectReader::new(store, meta))
        .await
        .map_err(Error::parquet(&location))?
        .with_batch_size(BATCH_ROWS);
    let builder = match columns {
        Some(names) => {
            let projection = ProjectionMask::columns(builder.parquet_schema(), names);
            builder.with_projection(projection)
        }
        None => builder,
    };
    builder.build().map_err(Error::parquet(&location))
}

/// `batches` in groups of about `rows` rows each (a batch is never split).
fn groups(batches: Vec<RecordBatch>, rows: usize) -> Vec<Vec<RecordBatch>> {
    let mut groups: Vec<Vec<RecordBatch>> = Vec::new();
    let mut filled = rows;
    for batch in batches {
        if filled >= rows {
            groups.push(Vec::new());
            filled = 0;
        }
        filled += batch.num_rows();
        if let Some(group) = groups.last_mut() {
            group.push(batch);
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::HashMap;

    use arrow::array::{ArrayRef, AsArray, Int64Array, StringArray};
    use arrow::datatypes::Int64Type;
    use datafusion::common::stats::Precision;
    use datafusion::physical_plan::statistics::{StatisticsArgs, StatisticsContext};
    use deltalake::protocol::SaveMode;

    use super::*;
    use crate::delta::{marker, open, register, session};

    /// A batch of (id, version, name) rows.
    fn rows(rows: &[(i64, i64, &str)]) -> RecordBatch {
        RecordBatch::try_from_iter(vec![
            (
                "id",
                Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.0))) as ArrayRef,
            ),
            (
                "version",
                Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.1))) as ArrayRef,
            ),
            (
                "name",
                Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.2))) as ArrayRef,
            ),
        ])
        .unwrap()
    }

    /// A table of three files: ids 1–100, 101–200, 201–300, all at version 1.
    async fn three_files(dir: &tempfile::TempDir) -> DeltaTable {
        files_of(dir, false).await
    }

    /// The same table, created with deletion vectors when `marks`.
    async fn files_of(dir: &tempfile::TempDir, marks: bool) -> DeltaTable {
        let url = url::Url::from_directory_path(dir.path()).unwrap();
        let mut table = open(&url, HashMap::new()).await.unwrap();
        let configuration = marks.then_some((deletion_vectors::ENABLE.0, Some(deletion_vectors::ENABLE.1)));
        table = table
            .write(vec![RecordBatch::new_empty(rows(&[]).schema())])
            .with_configuration(configuration)
            .await
            .unwrap();
        for first in [1, 101, 201] {
            let names: Vec<String> = (first..first + 100).map(|id| format!("n{id}")).collect();
            let file: Vec<(i64, i64, &str)> = (first..first + 100)
                .zip(&names)
                .map(|(id, name)| (id, 1, name.as_str()))
                .collect();
            table = table
                .write(vec![rows(&file)])
                .with_save_mode(SaveMode::Append)
                .await
                .unwrap();
        }
        table
    }

    async fn contents(table: &DeltaTable) -> Vec<(i64, i64, String)> {
        let ctx = session().unwrap();
        register(&ctx, None, "t", table).await.unwrap();
        let batches = ctx.sql("SELECT id, version, name FROM t ORDER BY id").await.unwrap();
        let mut out = Vec::new();
        for batch in batches.collect().await.unwrap() {
            let ids = batch.column(0).as_primitive::<Int64Type>();
            let versions = batch.column(1).as_primitive::<Int64Type>();
            let names = arrow::compute::cast(batch.column(2), &arrow::datatypes::DataType::Utf8).unwrap();
            let names = names.as_string::<i32>();
            for i in 0..batch.num_rows() {
                out.push((ids.value(i), versions.value(i), names.value(i).to_owned()));
            }
        }
        out
    }

    #[tokio::test]
    async fn only_files_holding_a_replaced_or_removed_key_are_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let table = three_files(&dir).await;
        let mut expected = contents(&table).await;

        // 150 gets a newer version, 250 leaves, 10 brings an older version (it loses), 400 is new.
        let changes = rows(&[
            (150, 2, "changed"),
            (250, 2, "deleted"),
            (10, 0, "stale"),
            (400, 1, "new"),
        ]);
        let belongs = BooleanArray::from(vec![true, false, true, true]);
        let incoming = Incoming::new(vec![changes], "id", "version", belongs).unwrap();
        let report = upsert(&table, incoming, [("app".to_owned(), 7)]).await.unwrap();

        assert_eq!((report.files_pruned, report.files_sifted), (0, 3));
        assert_eq!(
            report.files_rewritten, 2,
            "the file of ids 1–100 is left alone: {report:?}"
        );
        assert_eq!(report.rows_removed, 2);
        assert_eq!(report.rows_written, 2);
        let mut table = table;
        table.load().await.unwrap();
        assert_eq!(table.version(), Some(report.version));
        assert_eq!(marker(&table, "app").await.unwrap(), Some(7));

        expected.retain(|r| r.0 != 150 && r.0 != 250);
        expected.push((150, 2, "changed".into()));
        expected.push((400, 1, "new".into()));
        expected.sort();
        assert_eq!(contents(&table).await, expected);
    }

    #[tokio::test]
    async fn files_whose_key_range_holds_no_incoming_key_are_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let table = three_files(&dir).await;
        let new_keys = Incoming::new(
            vec![rows(&[(400, 1, "new"), (150, 2, "changed")])],
            "id",
            "version",
            BooleanArray::from(vec![true, true]),
        )
        .unwrap();
        let report = upsert(&table, new_keys, [("app".to_owned(), 1)]).await.unwrap();
        assert_eq!((report.files_pruned, report.files_sifted), (2, 1), "{report:?}");
        assert_eq!(
            (report.files_rewritten, report.rows_removed, report.rows_written),
            (1, 1, 2)
        );
    }

    #[tokio::test]
    async fn an_upsert_without_changes_commits_its_marker_alone() {
        let dir = tempfile::tempdir().unwrap();
        let mut table = three_files(&dir).await;
        let before = contents(&table).await;
        let stale = Incoming::new(
            vec![rows(&[(5, 0, "old")])],
            "id",
            "version",
            BooleanArray::from(vec![true]),
        )
        .unwrap();
        let report = upsert(&table, stale, [("app".to_owned(), 3)]).await.unwrap();
        assert_eq!((report.files_rewritten, report.rows_written), (0, 0));
        table.load().await.unwrap();
        assert_eq!(marker(&table, "app").await.unwrap(), Some(3));
        assert_eq!(contents(&table).await, before);
    }

    /// Upserts (id, version, belongs) changes with names "v<version>".
    async fn apply(table: &mut DeltaTable, changes: &[(i64, i64, bool)]) -> UpsertReport {
        let names: Vec<String> = changes.iter().map(|c| format!("v{}", c.1)).collect();
        let data: Vec<(i64, i64, &str)> = changes
            .iter()
            .zip(&names)
            .map(|(c, n)| (c.0, c.1, n.as_str()))
            .collect();
        let belongs = BooleanArray::from(changes.iter().map(|c| c.2).collect::<Vec<_>>());
        let incoming = Incoming::new(vec![rows(&data)], "id", "version", belongs).unwrap();
        let report = upsert(table, incoming, [("app".to_owned(), 1)]).await.unwrap();
        table.load().await.unwrap();
        report
    }

    /// Applies the same changes to a plain table and to one with deletion vectors; both must
    /// end up holding the same rows.
    async fn both_ways(rounds: &[&[(i64, i64, bool)]]) -> (Vec<UpsertReport>, DeltaTable, tempfile::TempDir) {
        let (plain_dir, marked_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (mut plain, mut marked) = (files_of(&plain_dir, false).await, files_of(&marked_dir, true).await);
        let mut reports = Vec::new();
        for changes in rounds {
            apply(&mut plain, changes).await;
            reports.push(apply(&mut marked, changes).await);
            assert_eq!(contents(&marked).await, contents(&plain).await, "after {changes:?}");
            assert_eq!(
                crate::delta::row_count(&marked).await.unwrap(),
                contents(&plain).await.len() as u64
            );
        }
        (reports, marked, marked_dir)
    }

    #[tokio::test]
    async fn a_table_with_deletion_vectors_marks_a_few_removed_rows_instead_of_rewriting() {
        let (reports, table, _dir) =
            both_ways(&[&[(150, 2, true), (250, 2, false), (10, 0, true), (400, 1, true)]]).await;
        let report = &reports[0];
        assert_eq!((report.files_marked, report.files_rewritten), (2, 0), "{report:?}");
        assert_eq!((report.rows_removed, report.rows_written), (2, 2));
        let state = table.snapshot().unwrap();
        let marked: Vec<_> = state
            .log_data()
            .iter()
            .filter_map(|f| f.deletion_vector_descriptor())
            .map(|dv| dv.cardinality)
            .collect();
        assert_eq!(marked, [1, 1], "one deleted row in each of two files");
        let ctx = session().unwrap();
        let provider = super::super::scan::provider(&ctx, &table)
            .unwrap()
            .expect("read through row selections (and found equal above)");
        let plan = provider.scan(&ctx.state(), None, &[], None).await.unwrap();
        let statistics = StatisticsContext::new()
            .compute(plan.as_ref(), &StatisticsArgs::new())
            .unwrap();
        assert_eq!(
            statistics.num_rows,
            Precision::Exact(contents(&table).await.len()),
            "the planner is told the live rows, for choosing a join's sides"
        );
        let id = &statistics.column_statistics[0];
        assert!(
            matches!(id.min_value, Precision::Inexact(_)),
            "deleted rows still count in the log's bounds, so they are bounds only: {id:?}"
        );
        // A filter prunes by the files' bounds, which still cover the deleted rows: they stay deleted.
        register(&ctx, None, "t", &table).await.unwrap();
        let filtered = ctx
            .sql("SELECT id FROM t WHERE id BETWEEN 140 AND 260 ORDER BY id")
            .await
            .unwrap();
        let ids: Vec<i64> = filtered
            .collect()
            .await
            .unwrap()
            .iter()
            .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
            .collect();
        let expected: Vec<i64> = contents(&table)
            .await
            .into_iter()
            .map(|row| row.0)
            .filter(|id| (140..=260).contains(id))
            .collect();
        assert_eq!(ids, expected);
        assert!(!ids.contains(&250), "250 was deleted");
    }

    #[tokio::test]
    async fn marked_rows_stay_deleted_and_never_beat_an_incoming_version() {
        let (reports, _table, _dir) = both_ways(&[
            &[(150, 5, false)],                 // 150 leaves: marked
            &[(150, 1, true)],                  // an older version of 150 comes back: no stored row beats it
            &[(151, 2, true), (152, 2, false)], // the same file again: the marks add up
        ])
        .await;
        assert_eq!(reports[1].rows_removed, 0, "{:?}", reports[1]);
        assert_eq!(reports[1].rows_written, 1, "{:?}", reports[1]);
        assert_eq!(
            (reports[2].files_marked, reports[2].rows_removed),
            (1, 2),
            "{:?}",
            reports[2]
        );
    }

    #[tokio::test]
    async fn a_file_losing_more_than_half_its_rows_is_rewritten() {
        let most: Vec<(i64, i64, bool)> = (101..=160).map(|id| (id, 2, false)).collect();
        let (reports, table, _dir) = both_ways(&[&[(5, 2, false)], &most]).await;
        assert_eq!(
            (reports[1].files_rewritten, reports[1].files_marked),
            (1, 0),
            "{:?}",
            reports[1]
        );
        let with_marks = table
            .snapshot()
            .unwrap()
            .log_data()
            .iter()
            .filter(|f| f.deletion_vector_descriptor().is_some())
            .count();
        assert_eq!(
            with_marks, 1,
            "the first file keeps its mark; the rewritten one has none"
        );
    }
}
