//! Running again with nothing new changes nothing, and Bronze takes each landing file once.

use anyhow::Result;
use lakehouse_core::pipeline::shop;
use lakehouse_io::Layer;
use lakehouse_io::stages::{LandingFile, ingest_files};
use lakehouse_testkit::Harness;

use crate::scenarios::{SIZES, pass};

#[tokio::test]
async fn a_second_run_without_source_changes_adds_nothing_to_any_layer() -> Result<()> {
    let h = Harness::mariadb().await?;
    let outcome = async {
        let pipeline = shop()?;
        h.source.seed(SIZES, 11).await?;
        pass(&h, &pipeline).await?;
        let before = h.row_counts().await?;
        assert_eq!(
            before.len(),
            15,
            "four tables in bronze, silver and quarantine, three in gold: {before:?}"
        );

        let again = pass(&h, &pipeline).await?;
        assert_eq!(again.extract.rows(), 0);
        assert_eq!(again.ingest.files_ingested, 0);
        assert!(again.refine.iter().all(|t| t.up_to_date), "{:?}", again.refine);
        assert!(again.gold.iter().all(|g| g.rows.is_none()), "{:?}", again.gold);
        assert_eq!(h.row_counts().await?, before, "no layer gained a row or a version");
        anyhow::Ok(())
    }
    .await;
    h.cleanup().await?;
    outcome
}

#[tokio::test]
async fn ingesting_the_same_landing_files_again_leaves_bronze_as_it_was() -> Result<()> {
    let h = Harness::sqlite().await?;
    let pipeline = shop()?;
    h.source.seed(SIZES, 5).await?;
    let first = pass(&h, &pipeline).await?;
    let before = h.row_counts().await?;

    // Every landing file delivered again, twice, as a retrying event source would.
    let mut files = Vec::new();
    for spec in &pipeline.tables {
        for meta in h.lake.list(Layer::Landing, &spec.name, ".parquet").await? {
            let relative = h.lake.relative(Layer::Landing, &meta.location).unwrap();
            files.push(LandingFile { relative, meta });
        }
    }
    assert_eq!(files.len() as u64, first.ingest.files_ingested);
    let doubled: Vec<_> = files.iter().chain(files.iter()).cloned().collect();
    let report = ingest_files(&h.lake, &pipeline, doubled).await?;
    assert_eq!(report.files_ingested, 0);
    assert_eq!(report.files_skipped, 2 * files.len() as u64);
    assert_eq!(h.row_counts().await?, before);
    h.cleanup().await
}

#[tokio::test]
async fn an_ingestion_that_stopped_before_its_commit_leaves_no_trace() -> Result<()> {
    let h = Harness::sqlite().await?;
    let pipeline = shop()?;
    h.source.seed(SIZES, 9).await?;
    let extracted = lakehouse_io::stages::extract(&h.source, &h.lake, &pipeline, Default::default()).await?;
    let orders = extracted.tables.iter().find(|t| t.table == "orders").unwrap().rows as usize;

    // A crashed attempt: a data file written into the Bronze table, no commit.
    let landing = h.lake.list(Layer::Landing, "orders", ".parquet").await?;
    let relative = h.lake.relative(Layer::Landing, &landing[0].location).unwrap();
    let bytes = h.lake.get(Layer::Landing, &relative).await?.unwrap();
    h.lake
        .put(Layer::Bronze, "orders/part-00000-crashed.snappy.parquet", bytes)
        .await?;

    let report = lakehouse_io::stages::ingest_pending(&h.lake, &pipeline).await?;
    assert_eq!(report.files_ingested, 4);
    let landed = h.lake_rows(Layer::Bronze, "orders", &["id"]).await?.len();
    assert_eq!(landed, orders, "the orphan file's rows are not in Bronze");
    h.cleanup().await
}

#[tokio::test]
async fn writers_racing_to_create_a_bronze_table_ingest_each_file_once() -> Result<()> {
    let h = Harness::sqlite().await?;
    let pipeline = shop()?;
    h.source.seed(SIZES, 13).await?;
    let extracted = lakehouse_io::stages::extract(&h.source, &h.lake, &pipeline, Default::default()).await?;
    let landed = extracted.tables.iter().find(|t| t.table == "customers").unwrap().rows as usize;
    let files: Vec<LandingFile> = h
        .lake
        .list(Layer::Landing, "customers", ".parquet")
        .await?
        .into_iter()
        .map(|meta| LandingFile {
            relative: h.lake.relative(Layer::Landing, &meta.location).unwrap(),
            meta,
        })
        .collect();

    // Six writers of the same files start together on a table that does not exist yet; the race
    // for its first version is the one delta-rs does not check for conflicts by itself.
    let mut invocations = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let (lake, pipeline, files) = (h.lake.clone(), pipeline.clone(), files.clone());
        invocations.spawn(async move { ingest_files(&lake, &pipeline, files).await });
    }
    let mut ingested = 0;
    while let Some(report) = invocations.join_next().await {
        ingested += report??.files_ingested;
    }
    assert_eq!(ingested, files.len() as u64, "each file ingested by exactly one writer");
    let rows = h.lake_rows(Layer::Bronze, "customers", &["id"]).await?;
    assert_eq!(rows.len(), landed, "every landed row once");
    h.cleanup().await
}
