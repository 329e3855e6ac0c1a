//! The `lakehouse` process killed outright (SIGKILL, no chance to clean up) at random moments of
//! a pass, again and again, then run to the end: nothing lost, nothing duplicated.

// Test code: a failed expectation is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Stdio};
use std::time::Duration;

use lakehouse_io::source::SeedSizes;
use lakehouse_testkit::Harness;

fn run(h: &Harness) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lakehouse"));
    command
        .args(["--source", &h.source_url(), "--lake", &h.lake.to_string(), "run"])
        .env_remove("LAKEHOUSE_PIPELINE")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pass_killed_at_random_moments_loses_and_duplicates_nothing() -> anyhow::Result<()> {
    let h = Harness::sqlite().await?;
    let sizes = SeedSizes {
        customers: 300,
        products: 60,
        orders: 1_500,
    };
    h.source.seed(sizes, 41).await?;
    // A fixed sequence of moments, spread over a pass. When a pass finishes before its moment,
    // the moments that follow are halved, so that kills land mid-pass however fast passes are.
    let moments_ms = [150, 900, 400, 1_700, 60, 1_200, 2_400, 650];
    let (mut killed, mut runs, mut scale) = (0, 0, 1.0);
    while killed < moments_ms.len() && runs < 3 * moments_ms.len() {
        if runs == 4 {
            h.source.seed(sizes, 41).await?;
        }
        let after = Duration::from_millis(moments_ms[runs % moments_ms.len()]).mul_f64(scale);
        let mut child = run(&h).spawn()?;
        tokio::time::sleep(after).await;
        if child.try_wait()?.is_none() {
            child.kill()?;
            killed += 1;
        } else {
            scale /= 2.0;
        }
        child.wait()?;
        runs += 1;
    }
    assert_eq!(killed, moments_ms.len(), "runs killed mid-pass, of {runs}");
    let finished = run(&h).status()?;
    assert!(finished.success());
    h.assert_bronze_holds_each_landing_file_once().await?;
    h.assert_matches_reference().await?;
    eprintln!("killed {killed} of {runs} runs");
    h.cleanup().await
}
