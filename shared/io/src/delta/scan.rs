//! Reading a Delta table's data files with DataFusion's Parquet scan, told what the log knows.
//!
//! delta-rs 1.1 reads a table with deletion vectors in a single partition, tagging each row with
//! its file and position to drop the deleted ones afterwards, and does not pass on the bounds of
//! integer columns the log records (seen on Silver's keys). Here each file's deletion vector
//! becomes a Parquet row selection instead (deleted rows are never decoded), the files are spread
//! over the session's partitions, and the planner is told the live rows, the bytes and each
//! integer column's bounds: from the rows and a key's range of values it estimates how many rows
//! a join yields, and so which side to hold in memory. A query's filters prune row groups, and
//! whole files by the same bounds where no rows are deleted (there they are exact).

use std::sync::Arc;

use arrow::datatypes::{Field, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::stats::Precision;
use datafusion::common::{ColumnStatistics, DFSchema, ScalarValue, Statistics};
use datafusion::datasource::TableType;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::parquet::{ParquetRowSelection, transform_schema_to_view};
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;
use deltalake::DeltaTable;
use deltalake::kernel::LogicalFileView;
use parquet::arrow::arrow_reader::RowSelection;
use serde_json::Value;

use super::deletion_vectors;
use crate::error::{Error, Result};

/// A provider reading `table`'s files directly, or `None` when the table is partitioned or maps
/// its columns, which this does not read. The deletion vectors are read when the table is
/// scanned, not before.
pub(super) fn provider(ctx: &SessionContext, table: &DeltaTable) -> Result<Option<Arc<dyn TableProvider>>> {
    let state = table.snapshot().map_err(Error::delta(table.table_url()))?;
    if !state.metadata().partition_columns().is_empty()
        || state
            .metadata()
            .configuration()
            .contains_key("delta.columnMapping.mode")
    {
        return Ok(None);
    }
    // Paths below are relative to the table root: read through a store scoped to it.
    let store_url = table.log_store().object_store_url();
    ctx.runtime_env()
        .register_object_store(store_url.as_ref(), table.log_store().object_store(None));
    // Strings and binaries are read as views, as delta-rs reads them: a query sees the same types
    // whichever reader a table gets, and views decode and compare short values faster.
    let schema = transform_schema_to_view(&state.snapshot().arrow_schema());
    Ok(Some(Arc::new(DeltaFiles {
        schema: Arc::new(schema),
        store_url,
        table: table.clone(),
    })))
}

/// The live rows of a table's data files.
#[derive(Debug)]
struct DeltaFiles {
    schema: SchemaRef,
    store_url: ObjectStoreUrl,
    table: DeltaTable,
}

impl DeltaFiles {
    /// Every data file, with the rows its deletion vector leaves live as a row selection, and
    /// the table's statistics.
    async fn files(&self) -> Result<(Vec<PartitionedFile>, Statistics)> {
        let state = self.table.snapshot().map_err(Error::delta(self.table.table_url()))?;
        let files: Vec<LogicalFileView> = state.log_data().iter().collect();
        let logged: Vec<Option<Value>> = files.iter().map(super::file_statistics).collect();
        let mut live = deletion_vectors::live_rows(&self.table, &files).await?;
        let read = files
            .iter()
            .zip(&logged)
            .map(|(file, logged)| {
                let size = u64::try_from(file.size()).unwrap_or_default();
                let statistics = self.statistics(std::slice::from_ref(file), std::slice::from_ref(logged));
                let read = PartitionedFile::new(file.object_store_path().to_string(), size)
                    .with_statistics(Arc::new(statistics));
                match live.remove(file.path().as_ref()) {
                    Some(live) => read.with_extension(ParquetRowSelection::new(RowSelection::from_filters(&[live]))),
                    None => read,
                }
            })
            .collect();
        Ok((read, self.statistics(&files, &logged)))
    }

    /// The live rows (each file's records less its deletion vector's), the files' bytes and the
    /// integer columns' bounds and null counts, from the log: what the planner needs to put the
    /// smaller side of a join in memory.
    fn statistics(&self, files: &[LogicalFileView], logged: &[Option<Value>]) -> Statistics {
        let live = |(file, logged): (&LogicalFileView, &Option<Value>)| {
            let deleted = file.deletion_vector_descriptor().map_or(0, |dv| dv.cardinality);
            usize::try_from(logged.as_ref()?["numRecords"].as_i64()? - deleted).ok()
        };
        let rows: Option<usize> = files.iter().zip(logged).map(live).sum();
        let bytes: i64 = files.iter().map(LogicalFileView::size).sum();
        let bounds_only = files.iter().any(|f| f.deletion_vector_descriptor().is_some());
        Statistics {
            num_rows: rows.map_or(Precision::Absent, Precision::Exact),
            total_byte_size: usize::try_from(bytes).map_or(Precision::Absent, Precision::Inexact),
            column_statistics: self
                .schema
                .fields()
                .iter()
                .map(|f| integer_column(f, logged, bounds_only))
                .collect(),
        }
    }
}

/// An integer column's smallest and largest value and its nulls over all files, by the log;
/// either unknown when a file lacks it (an all-NULL file has no bounds). Exact, unless a file has
/// deleted rows (`bounds_only`), which the log's figures still count. With them the planner
/// estimates a join's size from the key's range of values, and a filter skips whole files.
fn integer_column(field: &Field, logged: &[Option<Value>], bounds_only: bool) -> ColumnStatistics {
    if !field.data_type().is_integer() {
        return ColumnStatistics::new_unknown();
    }
    let each = |part: &str| -> Option<Vec<i64>> {
        logged
            .iter()
            .map(|stats| stats.as_ref()?[part][field.name()].as_i64())
            .collect()
    };
    let bound = |part: &str, pick: fn(std::vec::IntoIter<i64>) -> Option<i64>| {
        each(part)
            .and_then(|values| pick(values.into_iter()))
            .and_then(|v| ScalarValue::Int64(Some(v)).cast_to(field.data_type()).ok())
            .map_or(Precision::Absent, |v| known(v, bounds_only))
    };
    let nulls = each("nullCount").and_then(|n| usize::try_from(n.iter().sum::<i64>()).ok());
    ColumnStatistics {
        min_value: bound("minValues", Iterator::min),
        max_value: bound("maxValues", Iterator::max),
        null_count: nulls.map_or(Precision::Absent, |n| known(n, bounds_only)),
        ..ColumnStatistics::new_unknown()
    }
}

/// A figure from the log: exact, or only a bound when it still counts deleted rows.
fn known<T: std::fmt::Debug + Clone + PartialEq + Eq + PartialOrd>(value: T, bounds_only: bool) -> Precision<T> {
    match bounds_only {
        true => Precision::Inexact(value),
        false => Precision::Exact(value),
    }
}

#[async_trait]
impl TableProvider for DeltaFiles {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    /// Filters prune files and row groups; the rows that pass are filtered again above the scan.
    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> datafusion::error::Result<Vec<TableProviderFilterPushDown>> {
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
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
        let mut source = ParquetSource::new(self.schema.clone());
        if let Some(predicate) = conjunction(filters.iter().cloned()) {
            let schema = DFSchema::try_from(self.schema.as_ref().clone())?;
            source = source.with_predicate(state.create_physical_expr(predicate, &schema)?);
        }
        let source = Arc::new(source);
        let config = FileScanConfigBuilder::new(self.store_url.clone(), source)
            .with_file_groups(groups.into_iter().map(FileGroup::new).collect())
            .with_projection_indices(projection.cloned())?
            .with_limit(limit)
            .with_statistics(statistics)
            .build();
        Ok(DataSourceExec::from_data_source(config))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::HashMap;

    use datafusion::physical_plan::displayable;
    use datafusion::physical_plan::statistics::{StatisticsArgs, StatisticsContext};

    use super::*;
    use crate::delta::{open, register, session};

    /// A Delta table under `dir` holding the rows of each query in `appends`, a file each.
    async fn table_of(dir: &std::path::Path, appends: &[&str]) -> DeltaTable {
        let ctx = session().unwrap();
        let mut table = open(&url::Url::from_directory_path(dir).unwrap(), HashMap::new())
            .await
            .unwrap();
        for sql in appends {
            let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
            table = table.write(batches).await.unwrap();
        }
        table
    }

    /// A session of one partition with each `(name, appends)` registered as a table.
    async fn session_with(dir: &tempfile::TempDir, tables: &[(&str, &[&str])]) -> SessionContext {
        let mut state = session().unwrap().state();
        state.config_mut().options_mut().execution.target_partitions = 1;
        let ctx = SessionContext::new_with_state(state);
        for (name, appends) in tables {
            let table = table_of(&dir.path().join(name), appends).await;
            register(&ctx, None, name, &table).await.unwrap();
        }
        ctx
    }

    #[tokio::test]
    async fn the_planner_is_told_the_rows_and_each_integer_columns_bounds() {
        let dir = tempfile::tempdir().unwrap();
        let table = table_of(
            dir.path(),
            &[
                "SELECT value AS id, CAST(NULL AS INT) AS unset, 'x' AS name FROM generate_series(5, 54)",
                "SELECT value AS id, CAST(value AS INT) AS unset, 'y' AS name FROM generate_series(55, 104)",
            ],
        )
        .await;
        let ctx = session().unwrap();
        let provider = provider(&ctx, &table).unwrap().expect("an unpartitioned table");
        let plan = provider.scan(&ctx.state(), None, &[], None).await.unwrap();
        let statistics = StatisticsContext::new()
            .compute(plan.as_ref(), &StatisticsArgs::new())
            .unwrap();
        assert_eq!(statistics.num_rows, Precision::Exact(100));
        let [id, unset, name] = &statistics.column_statistics[..] else {
            panic!("three columns: {statistics:?}")
        };
        assert_eq!(
            (&id.min_value, &id.max_value, &id.null_count),
            (
                &Precision::Exact(ScalarValue::Int64(Some(5))),
                &Precision::Exact(ScalarValue::Int64(Some(104))),
                &Precision::Exact(0)
            )
        );
        assert_eq!(unset.null_count, Precision::Exact(50), "{unset:?}");
        assert_eq!(
            unset.max_value,
            Precision::Absent,
            "a file without a bound leaves the column's unknown: {unset:?}"
        );
        assert_eq!(name.min_value, Precision::Absent, "strings are not bounded here");
    }

    #[tokio::test]
    async fn a_filter_on_an_integer_column_skips_the_files_whose_bounds_exclude_it() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = session_with(
            &dir,
            &[(
                "t",
                &[
                    "SELECT value AS id FROM generate_series(1, 50)",
                    "SELECT value AS id FROM generate_series(51, 100)",
                ],
            )],
        )
        .await;
        let analyzed = ctx
            .sql("EXPLAIN ANALYZE SELECT id FROM t WHERE id = 75")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let shown = arrow::util::pretty::pretty_format_batches(&analyzed)
            .unwrap()
            .to_string();
        assert!(
            shown.contains("files_ranges_pruned_statistics=2 total → 1 matched"),
            "{shown}"
        );
        let found = ctx
            .sql("SELECT id FROM t WHERE id = 75")
            .await
            .unwrap()
            .count()
            .await
            .unwrap();
        assert_eq!(found, 1);
    }

    /// The shape of Gold's customer_ltv: dimension rows LEFT JOIN a filtered join of facts. With
    /// only row counts the planner takes the filtered join for a fifth of the orders (200 rows by
    /// its default selectivity), smaller than the 1,000 customers, and holds it, every item row,
    /// in memory; with the keys' bounds it estimates ten items an order (2,000 rows).
    #[tokio::test]
    async fn a_left_join_holds_the_dimension_not_the_joined_facts_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = session_with(
            &dir,
            &[
                (
                    "customers",
                    &["SELECT value AS customer_key FROM generate_series(1, 1000)"],
                ),
                (
                    "orders",
                    &["SELECT value AS id, value % 300 + 1 AS customer_id, \
                       CASE WHEN value % 10 = 0 THEN 'cancelled' ELSE 'paid' END AS status \
                       FROM generate_series(1, 1000)"],
                ),
                (
                    "items",
                    &["SELECT value / 10 + 1 AS order_id, value AS qty FROM generate_series(0, 9999)"],
                ),
            ],
        )
        .await;
        let sql = "SELECT c.customer_key, COUNT(s.qty) AS items \
                   FROM customers c LEFT JOIN ( \
                     SELECT o.customer_id, i.qty FROM orders o LEFT JOIN items i ON i.order_id = o.id \
                     WHERE o.status <> 'cancelled') s ON s.customer_id = c.customer_key \
                   GROUP BY c.customer_key";
        let frame = ctx.sql(sql).await.unwrap();
        let plan = frame.clone().create_physical_plan().await.unwrap();
        let shown = displayable(plan.as_ref()).indent(false).to_string();
        let lines: Vec<&str> = shown.lines().collect();
        let join = lines.iter().position(|l| l.contains("HashJoinExec")).unwrap();
        assert!(
            lines[join + 1].contains("projection=[customer_key]"),
            "the build (first) side of the outer join is the customers' scan:\n{shown}"
        );
        let rows: usize = frame.collect().await.unwrap().iter().map(|b| b.num_rows()).sum();
        assert_eq!(rows, 1000);
    }
}
