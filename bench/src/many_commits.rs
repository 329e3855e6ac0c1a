//! Maintenance on a table with many commits: builds `commits` one-row appends (one small file
//! each, as a busy Bronze table gets them), then times the maintenance round that compacts,
//! checkpoints and vacuums it — the work `maintain-tables` must finish within a Lambda's limit.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use arrow::array::{Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use deltalake::protocol::SaveMode;
use lakehouse_io::stages::{MaintainOptions, maintain};
use lakehouse_io::{Lake, Layer, delta};

pub async fn measure(commits: u64, location: &str) -> Result<serde_json::Value> {
    let lake = Lake::open(location)?;
    let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
    let started = Instant::now();
    for id in 0..commits {
        let table = delta::open_in(&lake, Layer::Bronze, "busy").await?;
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(vec![id as i64]))])?;
        table.write(vec![batch]).with_save_mode(SaveMode::Append).await?;
    }
    let built = started.elapsed();
    let started = Instant::now();
    let report = maintain(&lake, MaintainOptions::default()).await?;
    let maintained = started.elapsed();
    let table = delta::open_in(&lake, Layer::Bronze, "busy").await?;
    Ok(serde_json::json!({
        "commits": commits,
        "build_s": built.as_secs_f64(),
        "maintain_s": maintained.as_secs_f64(),
        "files_compacted": report.iter().map(|t| t.files_compacted).sum::<u64>(),
        "rows_after": delta::row_count(&table).await?,
    }))
}
