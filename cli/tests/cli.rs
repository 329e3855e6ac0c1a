//! The `lakehouse` binary as a user meets it: the demo works on the embedded defaults, and a
//! wrong URL, a dead database or an unusable lake gives one clear line and a non-zero exit.

use std::process::{Command, Output};

fn lakehouse(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lakehouse"))
        .current_dir(dir)
        .args(args)
        .env_remove("LAKEHOUSE_SOURCE_URL")
        .env_remove("LAKEHOUSE_LAKE")
        .env_remove("LAKEHOUSE_PIPELINE")
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_demo_runs_on_the_embedded_defaults_and_shows_every_layer() {
    let dir = tempfile::tempdir().unwrap();
    let out = lakehouse(
        dir.path(),
        &["demo", "--customers", "100", "--products", "30", "--orders", "300"],
    );
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "stdout:\n{stdout}\nstderr:\n{}",
        text(&out.stderr)
    );
    for expected in [
        "Pass 1",
        "Pass 2",
        "silver      orders",
        "Quarantined rows",
        "gold.daily_sales",
        "Done in",
    ] {
        assert!(stdout.contains(expected), "missing {expected:?} in:\n{stdout}");
    }
    assert!(dir.path().join(".lakehouse/shop.db").is_file());
    assert!(dir.path().join(".lakehouse/lake/gold/customer_ltv/_delta_log").is_dir());

    // The lake answers SQL afterwards, in every format.
    let csv = lakehouse(
        dir.path(),
        &["query", "SELECT COUNT(*) AS n FROM silver.customers", "--format", "csv"],
    );
    assert!(csv.status.success(), "{}", text(&csv.stderr));
    let count: u64 = text(&csv.stdout).lines().nth(1).unwrap().trim().parse().unwrap();
    assert!(count > 0);
    let json = lakehouse(dir.path(), &["query", "SELECT 1 AS one", "--format", "json"]);
    assert_eq!(text(&json.stdout).trim(), "{\"one\":1}");
    let status = lakehouse(dir.path(), &["status"]);
    assert!(text(&status.stdout).contains("watermark"), "{}", text(&status.stdout));
}

/// One line on stderr, naming the problem, and a failure exit code.
fn assert_one_clear_line(out: &Output, mentions: &[&str]) {
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "one line, not a stack:\n{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    for m in mentions {
        assert!(stderr.contains(m), "{m:?} not in {stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_database_that_does_not_answer_is_named_with_the_password_masked() {
    let dir = tempfile::tempdir().unwrap();
    // Port 9 (discard) on loopback: nothing listens there.
    let out = lakehouse(
        dir.path(),
        &["--source", "mysql://shop:hunter2@127.0.0.1:9/shop", "seed"],
    );
    assert_one_clear_line(&out, &["cannot connect to source mysql://shop:***@127.0.0.1:9/shop"]);
    assert!(!text(&out.stderr).contains("hunter2"));
}

#[test]
fn a_wrong_url_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = lakehouse(dir.path(), &["--source", "postgres://u:hunter2@db/shop", "extract"]);
    assert_one_clear_line(&out, &["source URL postgres://u:***@db/shop", "mysql://"]);
    assert!(!text(&out.stderr).contains("hunter2"));
}

#[test]
fn a_lake_that_is_not_writable_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-folder");
    std::fs::write(&file, b"").unwrap();
    let lake = file.join("lake");
    let out = lakehouse(dir.path(), &["--lake", lake.to_str().unwrap(), "ingest"]);
    assert_one_clear_line(&out, &["lake ", "not-a-folder"]);
}

#[test]
fn an_invalid_pipeline_is_named_with_its_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("pipeline.toml"),
        "name = \"p\"\n[[table]]\nname = \"t\"\n",
    )
    .unwrap();
    let out = lakehouse(dir.path(), &["--pipeline", dir.path().to_str().unwrap(), "refine"]);
    assert_one_clear_line(&out, &["pipeline.toml", "table t", "no key"]);
}
