//! Reading a table whose files carry deletion vectors, across all partitions.
//!
//! delta-rs 1.1 reads such a table in a single partition, tagging each row with its file and
//! position to drop the deleted ones afterwards. Here each file's deletion vector becomes a
//! Parquet row selection instead: deleted rows are never decoded, and the files are spread over
//! the session's partitions like those of any Parquet table.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::Statistics;
use datafusion::common::stats::Precision;
use datafusion::datasource::TableType;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::parquet::{ParquetRowSelection, transform_schema_to_view};
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;
use deltalake::DeltaTable;
use deltalake::kernel::LogicalFileView;
use parquet::arrow::arrow_reader::RowSelection;

use super::deletion_vectors;
use crate::error::{Error, Result};

/// A provider for `table` that applies its deletion vectors as row selections, or `None` when
/// no file has one (or the table is partitioned or maps its columns, which this does not read).
/// The deletion vectors are read when the table is scanned, not before.
pub(super) fn with_deletion_vectors(
    ctx: &SessionContext,
    table: &DeltaTable,
) -> Result<Option<Arc<dyn TableProvider>>> {
    let state = table.snapshot().map_err(Error::delta(table.table_url()))?;
    let plain = !state.metadata().partition_columns().is_empty()
        || state
            .metadata()
            .configuration()
            .contains_key("delta.columnMapping.mode");
    if plain
        || state
            .log_data()
            .iter()
            .all(|f| f.deletion_vector_descriptor().is_none())
    {
        return Ok(None);
    }
    // Paths below are relative to the table root: read through a store scoped to it.
    let store_url = table.log_store().object_store_url();
    ctx.runtime_env()
        .register_object_store(store_url.as_ref(), table.log_store().object_store(None));
    // Strings and binaries are read as views, as delta-rs reads a table without deletion vectors:
    // a query sees the same types either way, and views decode and compare short values faster.
    let schema = transform_schema_to_view(&state.snapshot().arrow_schema());
    Ok(Some(Arc::new(MarkedTable {
        schema: Arc::new(schema),
        store_url,
        table: table.clone(),
    })))
}

/// The live rows of a table's data files.
#[derive(Debug)]
struct MarkedTable {
    schema: SchemaRef,
    store_url: ObjectStoreUrl,
    table: DeltaTable,
}

impl MarkedTable {
    /// Every data file, with the rows its deletion vector leaves live as a row selection, and
    /// the table's statistics.
    async fn files(&self) -> Result<(Vec<PartitionedFile>, Statistics)> {
        let state = self.table.snapshot().map_err(Error::delta(self.table.table_url()))?;
        let files: Vec<LogicalFileView> = state.log_data().iter().collect();
        let statistics = self.statistics(&files);
        let mut live = deletion_vectors::live_rows(&self.table, &files).await?;
        let files = files
            .iter()
            .map(|file| {
                let size = u64::try_from(file.size()).unwrap_or_default();
                let read = PartitionedFile::new(file.object_store_path().to_string(), size);
                match live.remove(file.path().as_ref()) {
                    Some(live) => read.with_extension(ParquetRowSelection::new(RowSelection::from_filters(&[live]))),
                    None => read,
                }
            })
            .collect();
        Ok((files, statistics))
    }

    /// The live rows (each file's records less its deletion vector's) and the files' bytes, from
    /// the log: the sizes the planner compares to put the smaller side of a join in memory.
    fn statistics(&self, files: &[LogicalFileView]) -> Statistics {
        let live = |file: &LogicalFileView| {
            let deleted = file.deletion_vector_descriptor().map_or(0, |dv| dv.cardinality);
            let records = super::file_statistics(file)?["numRecords"].as_i64()?;
            usize::try_from(records - deleted).ok()
        };
        let rows: Option<usize> = files.iter().map(live).sum();
        let bytes: i64 = files.iter().map(LogicalFileView::size).sum();
        let mut statistics = Statistics::new_unknown(&self.schema);
        statistics.num_rows = rows.map_or(Precision::Absent, Precision::Exact);
        statistics.total_byte_size = usize::try_from(bytes).map_or(Precision::Absent, Precision::Inexact);
        statistics
    }
}

#[async_trait]
impl TableProvider for MarkedTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        let (files, statistics) = self
            .files()
            .await
            .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
        let partitions = state.config().target_partitions().max(1);
        let mut groups: Vec<Vec<PartitionedFile>> = vec![Vec::new(); partitions.min(files.len()).max(1)];
        let width = groups.len();
        for (i, file) in files.into_iter().enumerate() {
            groups[i % width].push(file);
        }
        let source = Arc::new(ParquetSource::new(self.schema.clone()));
        let config = FileScanConfigBuilder::new(self.store_url.clone(), source)
            .with_file_groups(groups.into_iter().map(FileGroup::new).collect())
            .with_projection_indices(projection.cloned())?
            .with_limit(limit)
            .with_statistics(statistics)
            .build();
        Ok(DataSourceExec::from_data_source(config))
    }
}
