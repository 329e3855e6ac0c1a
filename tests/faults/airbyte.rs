//! Landing files written the way Airbyte's S3 destination writes Parquet: its `_airbyte_*`
//! columns and its path pattern (`<stream>/<yyyy>_<mm>_<dd>_<epoch ms>_<part>.parquet` under the
//! landing prefix). A lake fed only by such files equals the reference views.

use std::sync::Arc;

use anyhow::{Context as _, Result};
use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use bytes::Bytes;
use lakehouse_core::pipeline::shop;
use lakehouse_io::Layer;
use lakehouse_io::stages::{self, ExtractOptions};
use lakehouse_testkit::Harness;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::{SIZES, TAKE_TURNS};

/// Rewrites one of our landing files as Airbyte would have written the same rows.
fn as_airbyte(ours: Bytes, extracted_at_ms: i64, generation: i64) -> Result<Bytes> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(ours)?.build()?;
    let mut batches = Vec::new();
    for batch in reader {
        let batch = batch?;
        let rows = batch.num_rows();
        let raw_ids: Vec<String> = (0..rows).map(|_| uuid::Uuid::new_v4().to_string()).collect();
        let mut columns: Vec<(String, ArrayRef)> = vec![
            ("_airbyte_raw_id".into(), Arc::new(StringArray::from(raw_ids))),
            (
                "_airbyte_extracted_at".into(),
                Arc::new(Int64Array::from(vec![extracted_at_ms; rows])),
            ),
            (
                "_airbyte_meta".into(),
                Arc::new(StringArray::from(vec![r#"{"changes":[],"sync_id":42}"#; rows])),
            ),
            (
                "_airbyte_generation_id".into(),
                Arc::new(Int64Array::from(vec![generation; rows])),
            ),
        ];
        let schema = batch.schema();
        columns.extend(
            schema
                .fields()
                .iter()
                .zip(batch.columns())
                .map(|(f, c)| (f.name().clone(), c.clone())),
        );
        batches.push(RecordBatch::try_from_iter(columns)?);
    }
    let first = batches.first().context("an empty landing file")?;
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, first.schema(), None)?;
    for batch in &batches {
        writer.write(batch)?;
    }
    writer.close()?;
    Ok(Bytes::from(out))
}

/// Replaces every landing file of ours with its Airbyte twin, at Airbyte's path.
async fn rewrite_landing_as_airbyte(h: &Harness, round: i64) -> Result<()> {
    let extracted_at_ms = chrono::Utc::now().timestamp_millis();
    for table in ["customers", "products", "orders", "order_items"] {
        for (part, meta) in h
            .lake
            .list(Layer::Landing, table, ".parquet")
            .await?
            .into_iter()
            .enumerate()
        {
            let relative = h
                .lake
                .relative(Layer::Landing, &meta.location)
                .context("a landing file")?;
            if relative.contains("_airbyte") {
                continue;
            }
            let ours = h.lake.get(Layer::Landing, &relative).await?.context("the file")?;
            let target = format!(
                "{table}/{}_{extracted_at_ms}_{part}.parquet",
                chrono::Utc::now().format("%Y_%m_%d")
            );
            h.lake
                .put(Layer::Landing, &target, as_airbyte(ours, extracted_at_ms, round)?)
                .await?;
            h.lake.delete(Layer::Landing, &relative).await?;
        }
    }
    Ok(())
}

#[tokio::test]
async fn a_lake_fed_by_airbyte_files_equals_the_reference() -> Result<()> {
    let _turn = TAKE_TURNS.lock().await;
    let h = Harness::sqlite().await?;
    let pipeline = shop()?;
    for round in 0..2 {
        h.source.seed(SIZES, 61).await?;
        // Our extractor stands in for Airbyte's source connector; its files are then rewritten.
        stages::extract(&h.source, &h.lake, &pipeline, ExtractOptions::default()).await?;
        rewrite_landing_as_airbyte(&h, round).await?;
        let ingested = stages::ingest_pending(&h.lake, &pipeline).await?;
        assert!(ingested.files_quarantined.is_empty(), "{ingested:?}");
        stages::refine(&h.lake, &pipeline).await?;
        stages::build_gold(&h.lake, &pipeline).await?;
        h.assert_matches_reference()
            .await
            .map_err(|e| e.context(format!("after Airbyte round {round}")))?;
    }
    // Airbyte's bookkeeping is mapped, not copied: its extraction time is ours, the rest dropped.
    let names = lakehouse_io::query::query(&h.lake, "SELECT * FROM bronze.orders LIMIT 1").await?;
    let names: Vec<String> = names[0].schema().fields().iter().map(|f| f.name().clone()).collect();
    assert!(!names.iter().any(|n| n.starts_with("_airbyte")), "{names:?}");
    h.cleanup().await
}
