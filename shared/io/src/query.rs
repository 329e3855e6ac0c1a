//! SQL over the lake with DataFusion: every Delta table registered as `<layer>.<table>`.

use arrow::record_batch::RecordBatch;
use datafusion::prelude::SessionContext;

use crate::delta;
use crate::error::Result;
use crate::lake::{Lake, Layer};

/// A session with every table of every layer registered.
pub async fn lake_session(lake: &Lake) -> Result<SessionContext> {
    let ctx = delta::session();
    for layer in Layer::TABLES {
        for name in lake.tables(layer).await? {
            let table = delta::open_in(lake, layer, &name).await?;
            if table.version().is_some() {
                delta::register(&ctx, Some(layer), &name, &table).await?;
            }
        }
    }
    Ok(ctx)
}

/// Runs `sql` over the lake and returns the result.
pub async fn query(lake: &Lake, sql: &str) -> Result<Vec<RecordBatch>> {
    let ctx = lake_session(lake).await?;
    Ok(ctx.sql(sql).await?.collect().await?)
}
