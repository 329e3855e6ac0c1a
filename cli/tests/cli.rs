//! The `lakehouse` binary as a user meets it: the demo works on the embedded defaults, and a
//! wrong URL, a dead database or an unusable lake gives one clear line and a non-zero exit.

// Test code: a failed expectation is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

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
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("alert: Rows quarantined in") && stderr.contains("break the rule"),
        "the quarantine alert, on stderr without a webhook:\n{stderr}"
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

    catalog_and_time_travel_on(dir.path());
}

/// After the demo: the local catalog is current, Glue (the local endpoint) takes every table,
/// and both list the same tables; time travel flags are checked and name what is wrong.
fn catalog_and_time_travel_on(dir: &std::path::Path) {
    let local = lakehouse(dir, &["catalog"]);
    assert!(local.status.success(), "{}", text(&local.stderr));
    assert!(
        text(&local.stdout).starts_with("catalog: 0 created, 0 updated"),
        "the demo keeps the local catalog: {}",
        text(&local.stdout)
    );
    let prefix = format!("cli{}_", std::process::id());
    let glue = lakehouse(dir, &["catalog", "--glue", "--prefix", &prefix]);
    assert!(glue.status.success(), "{}", text(&glue.stderr));
    assert!(
        text(&glue.stdout).contains(&format!("created {prefix}silver.orders")),
        "{}",
        text(&glue.stdout)
    );
    let again = lakehouse(dir, &["catalog", "--glue", "--prefix", &prefix]);
    assert!(
        text(&again.stdout).starts_with("catalog: 0 created, 0 updated"),
        "{}",
        text(&again.stdout)
    );

    let listed = |glue: bool| {
        let mut args = vec!["tables", "--prefix", &prefix];
        if glue {
            args.push("--glue");
        }
        let out = lakehouse(dir, &args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let (in_lake, in_glue) = (listed(false), listed(true));
    assert!(
        in_lake.contains(&format!("{prefix}gold")) && in_lake.contains("daily_sales"),
        "{in_lake}"
    );
    let sorted = |text: &str| {
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        lines.sort();
        lines
    };
    assert_eq!(sorted(&in_lake), sorted(&in_glue), "Glue lists what the lake holds");

    let beyond = lakehouse(
        dir,
        &[
            "query",
            "SELECT COUNT(*) FROM silver.orders",
            "--version",
            "silver.orders=999",
        ],
    );
    assert_one_clear_line(&beyond, &["silver.orders has no version 999"]);
    let garbled = lakehouse(dir, &["query", "SELECT 1", "--as-of", "yesterday"]);
    assert!(
        text(&garbled.stderr).contains("2026-11-26"),
        "{}",
        text(&garbled.stderr)
    );
    let before_anything = lakehouse(
        dir,
        &["query", "SELECT COUNT(*) FROM silver.orders", "--as-of", "2000-01-01"],
    );
    assert_one_clear_line(&before_anything, &["silver.orders"]);
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
fn a_malformed_datafusion_setting_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lakehouse"))
        .current_dir(dir.path())
        .args(["--lake", "lake", "query", "SELECT 1"])
        .env("DATAFUSION_EXECUTION_TARGET_PARTITIONS", "many")
        .output()
        .expect("the binary runs");
    assert_one_clear_line(&out, &["DATAFUSION_", "target_partitions"]);
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

#[tokio::test(flavor = "multi_thread")]
async fn with_a_webhook_the_quarantine_alerts_go_to_slack() {
    let webhook = lakehouse_testkit::webhook::Webhook::start("/services/T1/B1/cli", vec![])
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lakehouse"))
        .current_dir(dir.path())
        .args(["demo", "--customers", "60", "--products", "20", "--orders", "100"])
        .env_remove("LAKEHOUSE_SOURCE_URL")
        .env_remove("LAKEHOUSE_LAKE")
        .env("LAKEHOUSE_SLACK_WEBHOOK_URL", &webhook.url)
        .output()
        .expect("the binary runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains("alert:"),
        "sent, not printed: {}",
        text(&out.stderr)
    );
    let received = webhook.received();
    assert!(!received.is_empty());
    for message in &received {
        assert_eq!(message.path, "/services/T1/B1/cli");
        let header = message.body["blocks"][0]["text"]["text"].as_str().unwrap();
        assert!(header.starts_with("Rows quarantined in "), "{header}");
    }
}
