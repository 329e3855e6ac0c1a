//! Source changes that a careless cursor gets wrong, made directly with SQL.

use anyhow::Result;
use lakehouse_core::Pipeline;
use lakehouse_io::Source;
use lakehouse_io::source::SeedSizes;
use lakehouse_io::stages::{ExtractOptions, PassReport, run_pass};
use lakehouse_testkit::Harness;
use sqlx::{AssertSqlSafe, Connection};

/// Small enough for a quick test, big enough for every kind of change to occur.
pub const SIZES: SeedSizes = SeedSizes {
    customers: 200,
    products: 50,
    orders: 600,
};

pub async fn pass(h: &Harness, pipeline: &Pipeline) -> Result<PassReport> {
    Ok(run_pass(&h.source, &h.lake, pipeline, ExtractOptions::default()).await?)
}

/// Two updates of one order stamped with the same millisecond; the second must win.
pub async fn two_updates_in_one_millisecond(source: &Source, order_id: i64) -> Result<()> {
    let stamp = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S%.3f").to_string();
    source
        .execute_all(&[
            format!(
                "UPDATE orders SET status = 'paid', deleted_at = NULL, updated_at = '{stamp}' WHERE id = {order_id}"
            ),
            format!("UPDATE orders SET status = 'shipped', updated_at = '{stamp}' WHERE id = {order_id}"),
        ])
        .await?;
    Ok(())
}

/// Updates `late` in a transaction that stays open while a pass runs and while `early` is
/// updated and committed; `late` is stamped first but committed last. Commits, then returns
/// the report of the pass that ran meanwhile.
pub async fn update_committed_after_a_later_one(
    h: &Harness,
    pipeline: &Pipeline,
    late: i64,
    early: i64,
) -> Result<PassReport> {
    let late_update = format!("UPDATE customers SET full_name = 'Committed Late', deleted_at = NULL WHERE id = {late}");
    let early_update =
        format!("UPDATE customers SET full_name = 'Committed Early', deleted_at = NULL WHERE id = {early}");
    match &h.source {
        Source::MySql { pool, .. } => {
            let mut open = pool.acquire().await?.detach();
            let mut tx = open.begin().await?;
            sqlx::query(AssertSqlSafe(late_update)).execute(&mut *tx).await?;
            // A later change commits while the first transaction is still open.
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            h.source.execute_all(&[early_update]).await?;
            let report = pass(h, pipeline).await?;
            tx.commit().await?;
            Ok(report)
        }
        Source::Sqlite { pool, .. } => {
            // SQLite has one writer at a time, so only the open transaction can be shown here.
            let mut open = pool.acquire().await?.detach();
            let mut tx = open.begin().await?;
            sqlx::query(AssertSqlSafe(late_update)).execute(&mut *tx).await?;
            let report = pass(h, pipeline).await?;
            tx.commit().await?;
            Ok(report)
        }
    }
}
