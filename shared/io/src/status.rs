//! Where the lakehouse stands: each Delta table's version and row count, and each source
//! table's extraction watermark.

use arrow::array::{Array, TimestampMicrosecondArray};
use chrono::{DateTime, Utc};
use deltalake::DeltaTable;

use crate::catalog::lake_tables;
use crate::delta;
use crate::error::Result;
use crate::lake::{Lake, Layer};
use crate::stages::extract::load_cursor;
use lakehouse_core::Pipeline;
use lakehouse_core::silver::quote;
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
/// for a table Silver does not have yet or that is empty. Read from the data files' statistics
/// when they all have them (they bound rows a deletion vector removed too: changes Silver has
/// seen), else by a query.
pub async fn newest_changes(lake: &Lake, pipeline: &Pipeline) -> Result<Vec<(String, Option<DateTime<Utc>>)>> {
    let tables = delta::open_all_in(lake, Layer::Silver, pipeline.tables.iter().map(|t| t.name.as_str())).await?;
    let mut newest = Vec::with_capacity(pipeline.tables.len());
    for (spec, table) in pipeline.tables.iter().zip(tables) {
        let at = match table.version() {
            None => None,
            Some(_) => match largest_in_statistics(&table, &spec.cursor) {
                Some(at) => at,
                None => largest_by_query(&table, &spec.cursor).await?,
            },
        };
        newest.push((spec.name.clone(), at));
    }
    Ok(newest)
}

/// The largest value of a timestamp column by the files' statistics: `None` when a file has
/// none for it.
fn largest_in_statistics(table: &DeltaTable, column: &str) -> Option<Option<DateTime<Utc>>> {
    let state = table.snapshot().ok()?;
    let mut largest = None;
    for file in state.log_data().iter() {
        let stats = delta::file_statistics(&file)?;
        if stats["numRecords"].as_u64() == Some(0) {
            continue;
        }
        let max = DateTime::parse_from_rfc3339(stats["maxValues"][column].as_str()?).ok()?;
        largest = largest.max(Some(max.with_timezone(&Utc)));
    }
    Some(largest)
}

async fn largest_by_query(table: &DeltaTable, column: &str) -> Result<Option<DateTime<Utc>>> {
    let ctx = delta::session()?;
    delta::register(&ctx, None, "silver", table).await?;
    let sql = format!("SELECT MAX({}) FROM silver", quote(column));
    let batches = ctx.sql(&sql).await?.collect().await?;
    let Some(column) = batches.first().map(|b| b.column(0)) else {
        return Ok(None);
    };
    let micros = arrow::compute::cast(column, &timestamp_type())?;
    Ok(micros
        .as_any()
        .downcast_ref::<TimestampMicrosecondArray>()
        .filter(|a| !a.is_empty() && a.is_valid(0))
        .and_then(|a| DateTime::from_timestamp_micros(a.value(0))))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use arrow::array::{Int64Array, RecordBatch};
    use deltalake::protocol::SaveMode;

    use super::*;

    #[tokio::test]
    async fn the_newest_change_from_statistics_is_the_one_a_query_finds() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let pipeline = lakehouse_core::pipeline::shop().unwrap();
        let before = newest_changes(&lake, &pipeline).await.unwrap();
        assert!(before.iter().all(|(_, at)| at.is_none()), "no Silver yet: {before:?}");

        let url = lake.table_url(Layer::Silver, "customers").unwrap();
        let mut table = delta::open(&url, lake.storage_options()).await.unwrap();
        for stamps in [
            [1_700_000_000_123_456, 1_600_000_000_000_000],
            [1_650_000_000_000_000, 1_690_000_000_000_000],
        ] {
            let batch = RecordBatch::try_from_iter(vec![
                ("id", Arc::new(Int64Array::from(vec![1, 2])) as _),
                (
                    "updated_at",
                    Arc::new(TimestampMicrosecondArray::from(stamps.to_vec()).with_timezone("UTC")) as _,
                ),
            ])
            .unwrap();
            table = table.write(vec![batch]).with_save_mode(SaveMode::Append).await.unwrap();
        }
        let by_statistics = largest_in_statistics(&table, "updated_at").unwrap().unwrap();
        let by_query = largest_by_query(&table, "updated_at").await.unwrap().unwrap();
        // Delta's statistics keep timestamps to the millisecond.
        assert_eq!(by_statistics.timestamp_millis(), by_query.timestamp_millis());
        assert_eq!(by_query.timestamp_micros(), 1_700_000_000_123_456);
        let newest = newest_changes(&lake, &pipeline).await.unwrap();
        assert_eq!(newest[0], ("customers".to_owned(), Some(by_statistics)));
    }
}
