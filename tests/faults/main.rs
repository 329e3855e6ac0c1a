//! Fault injection: a stage stopped at each point where a crash can leave work half done, then
//! run again; at-least-once delivery of every landing event, shuffled and concurrent; Silver
//! refining while Bronze keeps ingesting. After each, Silver and Gold equal the contract's
//! reference views and Bronze holds every landed row exactly once.
//!
//! Crash points are process-wide, so the tests of this binary take turns.

// Test code: a failed expectation is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod airbyte;
mod bad_input;
mod outage;

use anyhow::{Result, bail};
use lakehouse_core::Pipeline;
use lakehouse_core::pipeline::shop;
use lakehouse_io::Layer;
use lakehouse_io::faults::{self, POINTS};
use lakehouse_io::source::SeedSizes;
use lakehouse_io::stages::{self, ExtractOptions, LandingFile, PassReport};
use lakehouse_lambda::Lakehouse;
use lakehouse_testkit::Harness;
use lakehouse_testkit::aws::retarget;
use lambda_runtime::{Context, LambdaEvent};
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use tokio::sync::Mutex;

pub static TAKE_TURNS: Mutex<()> = Mutex::const_new(());

pub const SIZES: SeedSizes = SeedSizes {
    customers: 80,
    products: 25,
    orders: 200,
};

async fn pass(h: &Harness, pipeline: &Pipeline) -> lakehouse_io::Result<PassReport> {
    stages::run_pass(&h.source, &h.lake, pipeline, ExtractOptions::default()).await
}

/// Arms `point` for one crash, runs a pass that must stop there, and disarms it.
async fn crashed_pass(h: &Harness, pipeline: &Pipeline, point: &'static str) -> Result<()> {
    faults::arm(point, 1);
    let outcome = pass(h, pipeline).await;
    faults::disarm();
    match outcome {
        Err(e) if e.to_string().contains(&format!("crash injected at {point}")) => Ok(()),
        Err(e) => bail!("the pass failed, but not at {point}: {e}"),
        Ok(_) => bail!("the pass did not reach {point}"),
    }
}

async fn assert_exact(h: &Harness, when: &str) -> Result<()> {
    h.assert_bronze_holds_each_landing_file_once()
        .await
        .map_err(|e| e.context(when.to_owned()))?;
    h.assert_matches_reference()
        .await
        .map_err(|e| e.context(when.to_owned()))
}

/// A crash at `point` in the first pass and again in an incremental pass; each repaired by the
/// next run.
async fn recovers_from(point: &'static str) -> Result<()> {
    let _turn = TAKE_TURNS.lock().await;
    let h = Harness::sqlite().await?;
    let pipeline = shop()?;
    h.source.seed(SIZES, 31).await?;
    crashed_pass(&h, &pipeline, point).await?;
    pass(&h, &pipeline).await?;
    assert_exact(&h, &format!("after a crash at {point} in the first pass")).await?;

    h.source.seed(SIZES, 31).await?;
    crashed_pass(&h, &pipeline, point).await?;
    pass(&h, &pipeline).await?;
    assert_exact(&h, &format!("after a crash at {point} in an incremental pass")).await?;
    h.cleanup().await
}

macro_rules! crash_tests {
    ($($name:ident => $point:literal),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() -> Result<()> {
                recovers_from($point).await
            }
        )*

        #[test]
        fn every_crash_point_has_a_test() {
            let tested = [$($point),*];
            assert_eq!(tested, POINTS);
        }
    };
}

crash_tests! {
    extraction_stopped_after_writing_files_before_saving_the_cursor => "extract-before-cursor",
    bronze_stopped_after_writing_data_files_before_the_commit => "ingest-before-commit",
    bronze_stopped_after_the_commit_before_the_event_was_acknowledged => "ingest-after-commit",
    silver_stopped_before_its_commits => "refine-before-commit",
    silver_stopped_between_the_quarantine_and_silver_commits => "refine-between-commits",
    silver_stopped_after_its_commits => "refine-after-commit",
    gold_stopped_before_its_commit => "gold-before-commit",
    gold_stopped_after_its_commit => "gold-after-commit",
}

/// Every landing file announced two to five times through SQS, in shuffled order, in waves of
/// concurrent invocations.
#[tokio::test]
async fn every_event_delivered_two_to_five_times_shuffled_and_concurrent_adds_each_file_once() -> Result<()> {
    let _turn = TAKE_TURNS.lock().await;
    let h = Harness::sqlite().await?.on_s3().await?;
    let lakehouse = Lakehouse {
        lake: h.lake.clone(),
        pipeline: shop()?,
    };
    let bucket = h.bucket().expect("a lake on S3");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let mut deliveries = 0;
    for round in 0..2 {
        h.source.seed(SIZES, 17).await?;
        stages::extract(&h.source, &h.lake, &lakehouse.pipeline, ExtractOptions::default()).await?;
        let mut keys = Vec::new();
        for key in h.landing_keys().await? {
            let times = rng.random_range(2..=5);
            keys.extend(std::iter::repeat_n(key, times));
        }
        keys.shuffle(&mut rng);
        deliveries += keys.len();
        let notification: serde_json::Value = serde_json::from_str(SQS_PUT)?;
        for wave in keys.chunks(6) {
            let mut invocations = tokio::task::JoinSet::new();
            for key in wave {
                let event = retarget(&notification, &bucket, std::slice::from_ref(key));
                let lakehouse = lakehouse.clone();
                invocations.spawn(async move {
                    write_bronze::function_handler(LambdaEvent::new(event, Context::default()), &lakehouse).await
                });
            }
            while let Some(answer) = invocations.join_next().await {
                let answer = answer??;
                assert_eq!(answer["batchItemFailures"], serde_json::json!([]), "{answer}");
            }
        }
        stages::refine(&h.lake, &lakehouse.pipeline).await?;
        stages::build_gold(&h.lake, &lakehouse.pipeline).await?;
        assert_exact(&h, &format!("after round {round} of repeated deliveries")).await?;
    }
    eprintln!("deliveries: {deliveries}");
    h.cleanup().await
}

/// Two refines racing over the same Silver and quarantine tables, for the initial load and for an
/// incremental round: the loser of each commit race re-reads and finds the work done or redoes it,
/// and no version is applied twice or lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_refines_racing_over_the_same_tables_apply_each_change_once() -> Result<()> {
    let _turn = TAKE_TURNS.lock().await;
    let h = Harness::sqlite().await?;
    let pipeline = shop()?;
    for round in ["initial", "incremental"] {
        h.source.seed(SIZES, 31).await?;
        stages::extract(&h.source, &h.lake, &pipeline, ExtractOptions::default()).await?;
        stages::ingest_pending(&h.lake, &pipeline).await?;
        let (first, second) = tokio::join!(stages::refine(&h.lake, &pipeline), stages::refine(&h.lake, &pipeline));
        first?;
        second?;
        stages::build_gold(&h.lake, &pipeline).await?;
        assert_exact(&h, &format!("after racing refines ({round})")).await?;
    }
    // The incremental round's commits marked rows in deletion vectors: the race covered them.
    let marked = lakehouse_testkit::files_with_deletion_vectors(&h.lake, lakehouse_io::Layer::Silver, "orders").await?;
    assert!(marked > 0, "no Silver file of orders has a deletion vector");
    h.cleanup().await
}

const SQS_PUT: &str = include_str!("../../events/write-bronze/sqs-s3-put.json");

/// Silver refines over and over while Bronze ingests the landing files one at a time.
#[tokio::test]
async fn silver_refining_while_bronze_ingests_misses_nothing() -> Result<()> {
    let _turn = TAKE_TURNS.lock().await;
    let h = Harness::sqlite().await?;
    let pipeline = shop()?;
    h.source.seed(SIZES, 23).await?;
    stages::extract(&h.source, &h.lake, &pipeline, ExtractOptions::default()).await?;
    h.source.seed(SIZES, 23).await?;
    stages::extract(&h.source, &h.lake, &pipeline, ExtractOptions::default()).await?;
    let mut files = Vec::new();
    for spec in &pipeline.tables {
        for meta in h.lake.list(Layer::Landing, &spec.name, ".parquet").await? {
            let relative = h.lake.relative(Layer::Landing, &meta.location).expect("a landing file");
            files.push(LandingFile { relative, meta });
        }
    }

    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let refiner = {
        let (lake, pipeline, done) = (h.lake.clone(), pipeline.clone(), done.clone());
        tokio::spawn(async move {
            let mut refines = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                stages::refine(&lake, &pipeline).await?;
                refines += 1;
            }
            anyhow::Ok(refines)
        })
    };
    for file in files {
        stages::ingest_files(&h.lake, &pipeline, vec![file]).await?;
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let refines = refiner.await??;
    assert!(refines > 0);

    stages::refine(&h.lake, &pipeline).await?;
    stages::build_gold(&h.lake, &pipeline).await?;
    assert_exact(&h, "after refining during ingestion").await?;
    h.cleanup().await
}
