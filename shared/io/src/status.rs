//! Where the lakehouse stands: each Delta table's version and row count, and each source
//! table's extraction watermark.

use arrow::array::{Array, TimestampMicrosecondArray};
use chrono::{DateTime, Utc};

use crate::catalog::lake_tables;
use crate::delta;
use crate::error::Result;
use crate::lake::{Lake, Layer};
use crate::stages::extract::load_cursor;
use lakehouse_core::Pipeline;
use lakehouse_core::types::timestamp_type;

/// One Delta table's state.
#[derive(Debug, Clone, PartialEq)]
pub struct TableStatus {
    pub layer: Layer,
    pub table: String,
    pub version: u64,
    pub rows: u64,
}

/// One source table's extraction state.
#[derive(Debug, Clone, PartialEq)]
pub struct WatermarkStatus {
    pub table: String,
    /// The last extracted row's `updated_at`, or `None` before the first extraction.
    pub watermark: Option<String>,
    pub last_key: Option<i64>,
}

/// The lakehouse's status.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub tables: Vec<TableStatus>,
    pub watermarks: Vec<WatermarkStatus>,
}

/// Reads every table's version and row count, and every cursor.
pub async fn status(lake: &Lake, pipeline: &Pipeline) -> Result<Status> {
    let mut tables = Vec::new();
    for found in lake_tables(lake).await? {
        tables.push(TableStatus {
            layer: found.layer,
            version: found.version(),
            rows: delta::row_count(&found.table).await?,
            table: found.name,
        });
    }
    let mut watermarks = Vec::new();
    for spec in &pipeline.tables {
        let state = load_cursor(lake, &spec.name).await?;
        let cursor = state.as_ref().and_then(|s| s.cursor);
        watermarks.push(WatermarkStatus {
            table: spec.name.clone(),
            watermark: state.and_then(|s| s.watermark),
            last_key: cursor.map(|c| c.key),
        });
    }
    Ok(Status { tables, watermarks })
}

/// Each Silver table's newest source change (its largest cursor value), for freshness: `None`
/// for a table Silver does not have yet or that is empty.
pub async fn newest_changes(lake: &Lake, pipeline: &Pipeline) -> Result<Vec<(String, Option<DateTime<Utc>>)>> {
    let mut newest = Vec::with_capacity(pipeline.tables.len());
    for spec in &pipeline.tables {
        let table = delta::open_in(lake, Layer::Silver, &spec.name).await?;
        let at = match table.version() {
            None => None,
            Some(_) => {
                let ctx = delta::session();
                delta::register(&ctx, None, "silver", &table).await?;
                let sql = format!("SELECT MAX(\"{}\") FROM silver", spec.cursor);
                let batches = ctx.sql(&sql).await?.collect().await?;
                let Some(column) = batches.first().map(|b| b.column(0)) else {
                    newest.push((spec.name.clone(), None));
                    continue;
                };
                let micros = arrow::compute::cast(column, &timestamp_type())?;
                micros
                    .as_any()
                    .downcast_ref::<TimestampMicrosecondArray>()
                    .filter(|a| !a.is_empty() && a.is_valid(0))
                    .and_then(|a| DateTime::from_timestamp_micros(a.value(0)))
            }
        };
        newest.push((spec.name.clone(), at));
    }
    Ok(newest)
}
