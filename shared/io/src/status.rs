//! Where the lakehouse stands: each Delta table's version and row count, and each source
//! table's extraction watermark.

use crate::delta;
use crate::error::Result;
use crate::lake::{Lake, Layer};
use crate::stages::extract::load_cursor;
use lakehouse_core::Pipeline;

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
    for layer in Layer::TABLES {
        for name in lake.tables(layer).await? {
            let table = delta::open_in(lake, layer, &name).await?;
            let Some(version) = table.version() else { continue };
            tables.push(TableStatus {
                layer,
                rows: delta::row_count(&table).await?,
                table: name,
                version,
            });
        }
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
