//! Silver and Gold equal the contract's reference views after every pass, through rounds of
//! realistic activity and the changes that break careless cursors.

use anyhow::Result;
use lakehouse_core::pipeline::shop;
use lakehouse_testkit::Harness;

use crate::scenarios::{SIZES, pass, two_updates_in_one_millisecond, update_committed_after_a_later_one};

async fn rounds_of_change(h: &Harness) -> Result<()> {
    let pipeline = shop()?;
    h.source.seed(SIZES, 7).await?;
    pass(h, &pipeline).await?;
    h.assert_matches_reference()
        .await
        .map_err(|e| e.context("after the first pass"))?;

    for round in 1..=2 {
        let activity = h.source.seed(SIZES, 7).await?;
        assert!(!activity.initial);
        assert!(activity.broken.values().sum::<u64>() > 0 && activity.soft_deleted.values().sum::<u64>() > 0);
        pass(h, &pipeline).await?;
        h.assert_matches_reference()
            .await
            .map_err(|e| e.context(format!("after activity round {round}")))?;
    }

    two_updates_in_one_millisecond(&h.source, 3).await?;
    pass(h, &pipeline).await?;
    h.assert_matches_reference()
        .await
        .map_err(|e| e.context("after two updates in one millisecond"))?;
    let status = h.lake_rows(lakehouse_io::Layer::Silver, "orders", &["status"]).await?;
    assert!(!status.is_empty());

    let during = update_committed_after_a_later_one(h, &pipeline, 5, 6).await?;
    assert!(
        during.extract.rows() < 3,
        "rows stamped after the open transaction began must wait: {:?}",
        during.extract
    );
    pass(h, &pipeline).await?;
    h.assert_matches_reference()
        .await
        .map_err(|e| e.context("after an update committed behind a later one"))?;
    let names = h
        .lake_rows(lakehouse_io::Layer::Silver, "customers", &["full_name"])
        .await?;
    assert!(
        names.contains(&vec![Some("Committed Late".to_owned())]),
        "the late commit reached Silver"
    );
    Ok(())
}

#[tokio::test]
async fn mariadb_silver_and_gold_equal_the_reference_through_rounds_of_change() -> Result<()> {
    let h = Harness::mariadb().await?;
    let outcome = rounds_of_change(&h).await;
    h.cleanup().await?;
    outcome
}

#[tokio::test]
async fn sqlite_silver_and_gold_equal_the_ported_reference_through_rounds_of_change() -> Result<()> {
    let h = Harness::sqlite().await?;
    let outcome = rounds_of_change(&h).await;
    h.cleanup().await?;
    outcome
}
