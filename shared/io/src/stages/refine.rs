//! Silver refinement: the Bronze rows a table gained since its last refine, reduced to the
//! latest version per key, judged by the table's rules, and MERGEd into `silver/<table>` and
//! `quarantine/<table>`.
//!
//! Each target records the Bronze version it has consumed as an application-transaction marker
//! in the same commit as its data, so a refine reads only the Bronze commits after that marker,
//! a crash between the two merges is caught up by the next run, and a replay changes nothing.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, AsArray};
use arrow::compute::concat;
use arrow::datatypes::{Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use datafusion::datasource::MemTable;
use datafusion::functions_aggregate::expr_fn::count;
use datafusion::prelude::{DataFrame, Expr, SessionContext, cast, col, ident, lit, not};
use deltalake::DeltaTable;
use deltalake::operations::write::SchemaMode;
use deltalake::protocol::SaveMode;
use futures::FutureExt;
use lakehouse_core::bronze::{EXTRACTED_AT, SOURCE_FILE, is_metadata};
use lakehouse_core::latest::latest_per_key;
use lakehouse_core::silver::{
    DELETED, FAILED_RULE, QUARANTINED_AT, newest_first, quarantine_columns, silver_columns, verdicts_sql,
};
use lakehouse_core::types::timestamp_type;
use lakehouse_core::upsert::Incoming;
use lakehouse_core::{Pipeline, TableSpec};

use crate::delta::{self, deletion_vectors};
use crate::error::{Error, Result};
use crate::faults;
use crate::lake::{Lake, Layer};
use crate::parallel::{cores, in_parallel, rounds};

/// The column of the merge input saying whether a version belongs in the target.
const BELONGS: &str = "_belongs";

/// The marker holding the Bronze version a Silver or quarantine table has consumed.
pub fn refine_marker(table: &str) -> String {
    format!("lakehouse.refine:bronze/{table}")
}

/// What refining one table did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct TableRefine {
    pub table: String,
    /// Bronze version consumed, if Bronze has the table.
    pub bronze_version: Option<u64>,
    /// Keys whose latest version arrived in this refine.
    pub changed_keys: u64,
    /// Of those, keys whose latest version breaks a rule.
    pub quarantined: u64,
    /// The quarantined keys by the rule they break first.
    pub quarantined_by_rule: BTreeMap<String, u64>,
    /// Of those, keys whose latest version is soft-deleted.
    pub deleted: u64,
    /// True when Silver was already up to date with Bronze.
    pub up_to_date: bool,
}

/// Refines every table of the pipeline. Tables are refined side by side (as many at once as
/// there are cores) in rounds that hold at most as much Bronze data together as the largest
/// table has alone: a refine's memory grows with the Bronze it reads, so side by side it needs
/// about what refining the largest table needs.
pub async fn refine(lake: &Lake, pipeline: &Pipeline) -> Result<Vec<TableRefine>> {
    let names = pipeline.tables.iter().map(|t| t.name.as_str());
    let mut bronzes: Vec<Option<DeltaTable>> = delta::open_all_in(lake, Layer::Bronze, names)
        .await?
        .into_iter()
        .map(Some)
        .collect();
    let sizes: Vec<u64> = bronzes
        .iter()
        .map(|bronze| bronze.as_ref().map_or(0, data_bytes))
        .collect();
    let mut reports: Vec<Option<TableRefine>> = vec![None; pipeline.tables.len()];
    for round in rounds(&sizes) {
        let work = round
            .iter()
            .filter_map(|&i| Some((i, pipeline.tables.get(i)?.clone(), bronzes.get_mut(i)?.take()?)))
            .map(|(i, spec, bronze)| {
                let lake = lake.clone();
                async move { Ok((i, refine_table(&lake, &spec, bronze).await?)) }.boxed()
            })
            .collect();
        for (i, report) in in_parallel(work, cores()).await? {
            if let Some(slot) = reports.get_mut(i) {
                *slot = Some(report);
            }
        }
    }
    Ok(reports.into_iter().flatten().collect())
}

/// The bytes of a table's data files: at most what refining it reads.
fn data_bytes(table: &DeltaTable) -> u64 {
    table.snapshot().map_or(0, |state| {
        state
            .log_data()
            .iter()
            .map(|file| u64::try_from(file.size()).unwrap_or(0))
            .sum()
    })
}

/// Refines one table, retrying when a commit loses a race; `bronze` is its Bronze table, opened
/// (it is re-opened for a retry).
async fn refine_table(lake: &Lake, spec: &TableSpec, bronze: DeltaTable) -> Result<TableRefine> {
    let mut bronze = Some(bronze);
    let mut attempt = 0;
    loop {
        match refine_once(lake, spec, bronze.take()).await {
            Err(e) if delta::is_conflict(&e) && attempt < delta::MAX_CONFLICT_RETRIES => {
                attempt += 1;
                tracing::info!(table = %spec.name, attempt, "silver commit lost a race; retrying");
            }
            other => return other,
        }
    }
}

async fn refine_once(lake: &Lake, spec: &TableSpec, bronze: Option<DeltaTable>) -> Result<TableRefine> {
    let mut report = TableRefine {
        table: spec.name.clone(),
        ..Default::default()
    };
    let bronze = async {
        match bronze {
            Some(opened) => Ok(opened),
            None => delta::open_in(lake, Layer::Bronze, &spec.name).await,
        }
    };
    // The three tables are opened at once: on S3 each open is a few round trips.
    let (bronze, silver, quarantine) = tokio::try_join!(
        bronze,
        delta::open_in(lake, Layer::Silver, &spec.name),
        delta::open_in(lake, Layer::Quarantine, &spec.name),
    )?;
    let Some(bronze_version) = bronze.version() else {
        report.up_to_date = true;
        return Ok(report);
    };
    report.bronze_version = Some(bronze_version);
    let marker = refine_marker(&spec.name);
    let (silver_done, quarantine_done) =
        tokio::try_join!(delta::marker(&silver, &marker), delta::marker(&quarantine, &marker))?;
    let wanted = Some(delta::marker_value(bronze_version));
    if silver_done == wanted && quarantine_done == wanted {
        report.up_to_date = true;
        return Ok(report);
    }

    // Read from the older of the two markers; the merges' guards make re-reading harmless.
    let consumed = silver_done.min(quarantine_done);
    let ctx = delta::session()?;
    let columns = register_latest_changes(&ctx, spec, &bronze, consumed, bronze_version).await?;
    let changes = ctx
        .sql(&verdicts_sql(spec, &columns, "latest_changes"))
        .await?
        .cache()
        .await?;
    count_verdicts(&changes, &mut report).await?;

    let consumed_now = (marker, delta::marker_value(bronze_version));
    faults::crash("refine-before-commit")?;
    if quarantine_done != wanted {
        merge_quarantine(quarantine, spec, &columns, changes.clone(), consumed_now.clone()).await?;
    }
    faults::crash("refine-between-commits")?;
    if silver_done != wanted {
        merge_silver(silver, spec, &columns, changes, consumed_now).await?;
    }
    faults::crash("refine-after-commit")?;
    tracing::info!(
        table = %spec.name,
        bronze_version,
        changed_keys = report.changed_keys,
        quarantined = report.quarantined,
        deleted = report.deleted,
        "silver refined"
    );
    Ok(report)
}

/// Registers the latest version of each key among the Bronze rows after version `consumed` (all
/// of Bronze when nothing was consumed yet or the log no longer reaches back) as
/// `latest_changes`, and returns the data columns.
async fn register_latest_changes(
    ctx: &SessionContext,
    spec: &TableSpec,
    bronze: &DeltaTable,
    consumed: Option<i64>,
    upto: u64,
) -> Result<Vec<String>> {
    let files = match consumed {
        Some(after) => delta::added_files(bronze, u64::try_from(after).unwrap_or(0), upto).await?,
        None => None,
    };
    bronze
        .update_datafusion_session(&ctx.state())
        .map_err(Error::delta(bronze.table_url()))?;
    let builder = bronze.table_provider();
    let builder = match files {
        Some(files) => builder.with_file_paths(files),
        None => builder,
    };
    let provider = builder.await?;
    let columns: Vec<String> = provider
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .filter(|name| !is_metadata(name))
        .collect();
    // Only the data and the lineage Silver keeps are read (not the ingestion's own metadata).
    let read: Vec<Expr> = columns
        .iter()
        .map(ident)
        .chain([SOURCE_FILE, EXTRACTED_AT].map(ident))
        .collect();
    let changes = ctx.read_table(provider)?.select(read)?;
    let schema: SchemaRef = Arc::new(changes.schema().as_arrow().clone());
    let rows = changes.collect().await?;
    let schema = rows.first().map_or(schema, RecordBatch::schema);
    let latest = latest_per_key(&schema, &rows, &spec.key, &newest_first(spec))?;
    drop(rows);
    ctx.register_table("latest_changes", Arc::new(MemTable::try_new(schema, vec![latest])?))?;
    Ok(columns)
}

async fn count_verdicts(changes: &DataFrame, report: &mut TableRefine) -> Result<()> {
    report.changed_keys = changes.clone().count().await? as u64;
    let failing = changes
        .clone()
        .filter(col(FAILED_RULE).is_not_null())?
        .aggregate(vec![col(FAILED_RULE)], vec![count(lit(1)).alias("n")])?
        .collect()
        .await?;
    for batch in &failing {
        let rules = arrow::array::cast::as_string_array(batch.column(0));
        let counts = arrow::array::cast::as_primitive_array::<arrow::datatypes::Int64Type>(batch.column(1));
        for (rule, n) in rules.iter().zip(counts.iter()) {
            if let (Some(rule), Some(n)) = (rule, n) {
                report.quarantined_by_rule.insert(rule.to_owned(), n as u64);
            }
        }
    }
    report.quarantined = report.quarantined_by_rule.values().sum();
    report.deleted = changes.clone().filter(col(DELETED))?.count().await? as u64;
    Ok(())
}

/// Upserts valid latest versions into Silver and removes keys now deleted or failing a rule.
async fn merge_silver(
    silver: DeltaTable,
    spec: &TableSpec,
    columns: &[String],
    changes: DataFrame,
    marker: (String, i64),
) -> Result<()> {
    let valid = not(col(DELETED)).and(col(FAILED_RULE).is_null());
    merge_latest(silver, spec, changes, silver_columns(spec, columns), valid, marker).await
}

/// Keeps the latest failing version of each key in quarantine with its rule; a key whose latest
/// version passes (it was fixed) or is deleted leaves the quarantine.
async fn merge_quarantine(
    quarantine: DeltaTable,
    spec: &TableSpec,
    columns: &[String],
    changes: DataFrame,
    marker: (String, i64),
) -> Result<()> {
    let now = datafusion::functions::datetime::expr_fn::now();
    let changes = changes.with_column(QUARANTINED_AT, cast(now, timestamp_type()))?;
    let mut keep = quarantine_columns(columns);
    keep.push(QUARANTINED_AT.to_owned());
    let failing = not(col(DELETED)).and(col(FAILED_RULE).is_not_null());
    merge_latest(quarantine, spec, changes, keep, failing, marker).await
}

/// Upserts the latest versions into `table`, which holds the keys whose latest version satisfies
/// `belongs`: such a version is inserted or replaces the stored one, any other removes the key,
/// and no version replaces or removes a newer one (see [`delta::upsert`]). The marker is
/// committed with the change, or alone when nothing changed.
async fn merge_latest(
    table: DeltaTable,
    spec: &TableSpec,
    changes: DataFrame,
    keep: Vec<String>,
    belongs: Expr,
    marker: (String, i64),
) -> Result<()> {
    let table = ensure_columns(table, spec, &changes, &keep).await?;
    let mut selected: Vec<Expr> = keep.iter().map(ident).collect();
    selected.push(belongs.alias(BELONGS));
    let changes = changes.select(selected)?;
    let schema: SchemaRef = Arc::new(changes.schema().as_arrow().clone());
    let mut batches = changes.collect().await?;
    if batches.is_empty() {
        batches.push(RecordBatch::new_empty(schema));
    }
    let verdicts: Vec<&dyn Array> = batches.iter().map(|b| b.column(keep.len()).as_ref()).collect();
    let belongs = concat(&verdicts)?.as_boolean().clone();
    let data: Vec<usize> = (0..keep.len()).collect();
    let rows = batches
        .iter()
        .map(|b| b.project(&data))
        .collect::<Result<Vec<_>, _>>()?;
    let incoming = Incoming::new(rows, &spec.key, &spec.cursor, belongs)?;
    let report = delta::upsert(&table, incoming, [marker]).await?;
    tracing::debug!(
        table = %table.table_url(),
        version = report.version,
        files_sifted = report.files_sifted,
        files_rewritten = report.files_rewritten,
        rows_removed = report.rows_removed,
        rows_written = report.rows_written,
        "upserted"
    );
    Ok(())
}

/// Creates the table (with deletion vectors if the spec wants them), or adds the columns it
/// lacks, so that `keep` (taken from `changes`) fits. New source columns reach Silver this way;
/// the merge itself never changes the schema.
async fn ensure_columns(
    table: DeltaTable,
    spec: &TableSpec,
    changes: &DataFrame,
    keep: &[String],
) -> Result<DeltaTable> {
    let wanted: SchemaRef = Arc::new(Schema::new(
        keep.iter()
            .filter_map(|c| changes.schema().as_arrow().field_with_name(c).ok().cloned())
            .map(|f| f.with_nullable(true))
            .collect::<Vec<_>>(),
    ));
    let present: Vec<String> = match table.version() {
        Some(_) => {
            let state = table.snapshot().map_err(Error::delta(table.table_url()))?;
            state
                .snapshot()
                .arrow_schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect()
        }
        None => Vec::new(),
    };
    if wanted.fields().iter().all(|f| present.contains(f.name())) {
        return Ok(table);
    }
    let url = table.table_url().clone();
    let configuration = (table.version().is_none() && spec.deletion_vectors).then_some(deletion_vectors::ENABLE);
    table
        .write(vec![RecordBatch::new_empty(wanted)])
        .with_save_mode(SaveMode::Append)
        .with_schema_mode(SchemaMode::Merge)
        .with_configuration(configuration.map(|(name, value)| (name, Some(value))))
        .await
        .map_err(Error::delta(&url))
}
