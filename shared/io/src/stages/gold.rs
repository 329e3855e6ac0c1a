//! Gold: each Gold query run with DataFusion over Silver and written over `gold/<name>`.
//!
//! A Gold table records the Silver versions it was computed from as application-transaction
//! markers; when none of them moved, the table is already current and nothing is written.

use datafusion::common::config::Dialect;
use datafusion::prelude::SessionContext;
use deltalake::DeltaTable;
use deltalake::operations::write::SchemaMode;
use deltalake::protocol::SaveMode;
use futures::FutureExt;
use futures::future::try_join_all;
use lakehouse_core::{GoldSpec, Pipeline};

use crate::delta;
use crate::error::{Error, Result};
use crate::faults;
use crate::lake::{Lake, Layer};
use crate::parallel::in_parallel;

/// The marker holding the version of Silver table `table` a Gold table was computed from.
pub fn gold_marker(table: &str) -> String {
    format!("lakehouse.gold:silver/{table}")
}

/// What building one Gold table did.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GoldReport {
    pub table: String,
    /// Rows written, or `None` when nothing was written.
    pub rows: Option<u64>,
    pub version: Option<u64>,
    /// Tables the query reads that do not exist yet (a new lake): the table is built once they do.
    pub waiting_for: Vec<String>,
}

/// Builds every Gold table of the pipeline from the current Silver tables. The queries run side
/// by side, as many at once as the session has partitions (its cores, unless set otherwise),
/// sharing them: a query given one partition is spared the repartitioning and two-phase
/// aggregation a query spread over every core pays.
pub async fn build_gold(lake: &Lake, pipeline: &Pipeline) -> Result<Vec<GoldReport>> {
    let ctx = delta::session()?;
    let mut inputs = Vec::new();
    let silvers = delta::open_all_in(lake, Layer::Silver, pipeline.tables.iter().map(|t| t.name.as_str())).await?;
    for (spec, silver) in pipeline.tables.iter().zip(silvers) {
        if let Some(version) = silver.version() {
            delta::register(&ctx, Some(Layer::Silver), &spec.name, &silver).await?;
            inputs.push((gold_marker(&spec.name), delta::marker_value(version)));
        }
    }
    let golds = delta::open_all_in(lake, Layer::Gold, pipeline.gold.iter().map(|g| g.name.as_str())).await?;
    let shared = ctx.state().config().target_partitions();
    let at_once = pipeline.gold.len().clamp(1, shared.max(1));
    let partitions = (shared / at_once).max(1);
    let builds = pipeline.gold.iter().zip(golds).map(|(gold, table)| {
        let (ctx, gold, inputs) = (with_partitions(&ctx, partitions), gold.clone(), inputs.clone());
        async move { build_one(&ctx, &gold, table, &inputs).await }.boxed()
    });
    in_parallel(builds.collect(), at_once).await
}

/// A session sharing `ctx`'s tables whose queries are planned for `partitions` partitions.
fn with_partitions(ctx: &SessionContext, partitions: usize) -> SessionContext {
    let mut state = ctx.state();
    state.config_mut().options_mut().execution.target_partitions = partitions;
    SessionContext::new_with_state(state)
}

async fn build_one(
    ctx: &SessionContext,
    gold: &GoldSpec,
    table: DeltaTable,
    inputs: &[(String, i64)],
) -> Result<GoldReport> {
    let waiting_for = missing_inputs(ctx, gold).await?;
    if !waiting_for.is_empty() {
        tracing::info!(table = %gold.name, ?waiting_for, "gold waits for its inputs");
        return Ok(GoldReport {
            table: gold.name.clone(),
            rows: None,
            version: table.version(),
            waiting_for,
        });
    }
    if table.version().is_some() {
        // Each marker is a read of the log: all at once.
        let recorded = try_join_all(inputs.iter().map(|(marker, _)| delta::marker(&table, marker))).await?;
        let current = recorded
            .iter()
            .zip(inputs)
            .all(|(recorded, (_, version))| *recorded == Some(*version));
        if current {
            return Ok(GoldReport {
                table: gold.name.clone(),
                rows: None,
                version: table.version(),
                waiting_for,
            });
        }
    }
    let frame = ctx.sql(&gold.sql).await.map_err(|source| Error::Gold {
        table: gold.name.clone(),
        source,
    })?;
    let batches = frame.collect().await?;
    let rows = batches.iter().map(|b| b.num_rows() as u64).sum();
    let url = table.table_url().clone();
    let properties = delta::with_markers(&table, inputs.iter().cloned());
    faults::crash("gold-before-commit")?;
    let written = table
        .write(batches)
        .with_save_mode(SaveMode::Overwrite)
        .with_schema_mode(SchemaMode::Overwrite)
        .with_commit_properties(properties)
        .await
        .map_err(Error::delta(&url))?;
    faults::crash("gold-after-commit")?;
    tracing::info!(table = %gold.name, rows, version = written.version().unwrap_or_default(), "gold written");
    Ok(GoldReport {
        table: gold.name.clone(),
        rows: Some(rows),
        version: written.version(),
        waiting_for,
    })
}

/// The tables `gold`'s query reads that the session does not have.
async fn missing_inputs(ctx: &SessionContext, gold: &GoldSpec) -> Result<Vec<String>> {
    let state = ctx.state();
    let invalid = |source| Error::Gold {
        table: gold.name.clone(),
        source,
    };
    let statement = state.sql_to_statement(&gold.sql, &Dialect::Generic).map_err(invalid)?;
    let mut missing = Vec::new();
    for reference in state.resolve_table_references(&statement).map_err(invalid)? {
        if !ctx.table_exist(reference.clone()).map_err(invalid)? {
            missing.push(reference.to_string());
        }
    }
    Ok(missing)
}
