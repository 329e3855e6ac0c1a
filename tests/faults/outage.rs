//! The source database drops the extraction's connection in the middle of a pass (its session is
//! killed on the server): a clear error, no cursor past what was written whole, and the next run
//! catches up with nothing missed.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use lakehouse_core::pipeline::shop;
use lakehouse_io::source::SeedSizes;
use lakehouse_io::stages::{self, ExtractOptions};
use lakehouse_io::{Layer, Source, SourceUrl};
use lakehouse_testkit::Harness;

use crate::TAKE_TURNS;

const SIZES: lakehouse_io::source::SeedSizes = SeedSizes {
    customers: 400,
    products: 60,
    orders: 6_000,
};

/// Small files, so that an extraction lasts long enough to be cut.
const OPTIONS: ExtractOptions = ExtractOptions {
    batch_rows: 200,
    file_rows: 200,
    margin_micros: 0,
};

/// Waits until the extraction has started on `orders`, then kills every session on the test
/// database from another connection. Returns how many sessions were killed.
async fn cut_when_orders_start(h: &Harness) -> Result<u64> {
    let database = h.database_name().context("a MariaDB harness")?.to_owned();
    let admin_url = std::env::var(lakehouse_testkit::MYSQL_ADMIN_ENV).context("the test MariaDB")?;
    let admin = Source::connect(&SourceUrl::parse(&admin_url)?).await?;
    for _ in 0..5_000 {
        if !h.lake.list(Layer::Landing, "orders", ".parquet").await?.is_empty() {
            let mut killed = 0;
            let session =
                format!("SELECT COALESCE(MAX(ID), 0) FROM information_schema.PROCESSLIST WHERE DB = '{database}'");
            loop {
                let id = admin.scalar(&session).await?;
                if id == 0 || killed > 20 {
                    break;
                }
                // The session may end by itself meanwhile; then there is nothing to kill.
                let _ = admin.execute_all(&[format!("KILL CONNECTION {id}")]).await;
                killed += 1;
            }
            admin.close().await;
            return Ok(killed);
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    bail!("the extraction never reached orders")
}

#[tokio::test]
async fn a_source_outage_mid_extraction_fails_clearly_and_the_next_run_catches_up() -> Result<()> {
    let _turn = TAKE_TURNS.lock().await;
    let h = Harness::mariadb().await?;
    let outcome = async {
        let pipeline = shop()?;
        h.source.seed(SIZES, 71).await?;
        let (cut, extracted) = tokio::join!(
            cut_when_orders_start(&h),
            stages::extract(&h.source, &h.lake, &pipeline, OPTIONS)
        );
        assert!(cut? > 0, "a session was killed");
        let error = extracted.expect_err("the extraction lost its connection").to_string();
        assert!(error.contains("source"), "a source error: {error}");
        // Cursors saved before the cut cover only files written whole, and the cut table's cursor
        // stays where it was: the comparison below proves that nothing was skipped.

        stages::run_pass(&h.source, &h.lake, &pipeline, OPTIONS).await?;
        h.assert_bronze_holds_each_landing_file_once().await?;
        h.assert_matches_reference().await?;
        anyhow::Ok(())
    }
    .await;
    h.cleanup().await?;
    outcome
}
