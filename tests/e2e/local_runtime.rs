//! The local Lambda loop users run: `cargo lambda watch` serving the functions and
//! `cargo lambda invoke` sending them the sample events, against the local AWS endpoint.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use lakehouse_testkit::aws;

/// `cargo lambda watch` in its own process group, stopped with everything it started.
struct Watch(Child);

impl Drop for Watch {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.0.wait();
    }
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// `cargo` run from the workspace root without the package variables `cargo test` sets for this
/// test (`CARGO_PKG_NAME`, `CARGO_MANIFEST_DIR`, …): build scripts watch some of them, and a
/// changed value would make the functions' build start over instead of reusing the workspace's.
fn cargo() -> Command {
    let mut command = Command::new("cargo");
    command.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    for (name, _) in std::env::vars() {
        let keep = matches!(name.as_str(), "CARGO_TARGET_DIR" | "CARGO_HOME");
        if name.starts_with("CARGO_") && !keep {
            command.env_remove(name);
        }
    }
    command
}

fn cargo_lambda_available() -> bool {
    cargo()
        .args(["lambda", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn invoke(port: u16, function: &str, event_file: &str) -> Result<std::process::Output> {
    Ok(cargo()
        .args([
            "lambda",
            "invoke",
            function,
            "--invoke-port",
            &port.to_string(),
            "--data-file",
            event_file,
        ])
        .output()?)
}

#[tokio::test]
async fn cargo_lambda_watch_serves_the_functions_and_invoke_reaches_them() -> Result<()> {
    if !cargo_lambda_available() {
        eprintln!("skipped: cargo-lambda is not installed (`make test` installs it from PyPI)");
        return Ok(());
    }
    let bucket = aws::new_bucket().await?;
    let port = free_port()?;
    let child = cargo()
        .args([
            "lambda",
            "watch",
            "--ignore-changes",
            "--invoke-port",
            &port.to_string(),
        ])
        .env("LAKEHOUSE_LAKE", format!("s3://{bucket}/lake"))
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting cargo lambda watch")?;
    let _watch = Watch(child);

    // The first invocation builds and starts the function; give it time.
    let started = Instant::now();
    let output = loop {
        let output = invoke(port, "write-silver", "events/write-silver/scheduled.json")?;
        if output.status.success() || started.elapsed() > Duration::from_secs(240) {
            break output;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "write-silver failed through cargo lambda: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).context("a JSON report")?;
    assert_eq!(
        report.as_array().map(Vec::len),
        Some(4),
        "one entry per table: {report}"
    );

    // A handler error comes back as an error naming its stable type.
    let wrong = invoke(port, "write-bronze", "events/write-silver/scheduled.json")?;
    assert!(!wrong.status.success());
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&wrong.stdout),
        String::from_utf8_lossy(&wrong.stderr)
    );
    assert!(said.contains("Permanent.BadEvent"), "{said}");
    Ok(())
}
