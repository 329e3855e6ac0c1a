//! Our Delta tables read back by an independent implementation of the protocol: DuckDB's delta
//! extension (delta-kernel-rs), run through `scripts/delta_rows.py`.

use std::process::Command;

use anyhow::{Context, Result, bail};
use lakehouse_core::pipeline::shop;
use lakehouse_io::Layer;
use lakehouse_testkit::Harness;

use crate::scenarios::{SIZES, pass};

/// The interpreter with duckdb installed, if any (`make test` prepares one).
fn python() -> Option<String> {
    let python = std::env::var("LAKEHOUSE_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&python)
        .args(["-c", "import duckdb, duckdb_ext"])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(python)
}

#[tokio::test]
async fn duckdb_reads_every_table_with_our_row_counts_and_columns() -> Result<()> {
    let Some(python) = python() else {
        eprintln!("skipped: duckdb with its delta extension is not installed (run `make test`)");
        return Ok(());
    };
    let h = Harness::sqlite().await?;
    let pipeline = shop()?;
    h.source.seed(SIZES, 3).await?;
    pass(&h, &pipeline).await?;
    h.source.seed(SIZES, 3).await?;
    pass(&h, &pipeline).await?;

    let (mut checked, mut with_deletion_vectors) = (0, 0);
    for layer in Layer::TABLES {
        for name in h.lake.tables(layer).await? {
            let table = lakehouse_io::delta::open_in(&h.lake, layer, &name).await?;
            let ours = lakehouse_io::delta::row_count(&table).await?;
            let path = table
                .table_url()
                .to_file_path()
                .map_err(|()| anyhow::anyhow!("not a local table"))?;
            let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/delta_rows.py");
            let out = Command::new(&python).arg(script).arg(&path).output()?;
            if !out.status.success() {
                bail!(
                    "duckdb could not read {layer}.{name}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            let theirs: serde_json::Value = serde_json::from_slice(&out.stdout).context("duckdb's answer")?;
            with_deletion_vectors += lakehouse_testkit::files_with_deletion_vectors(&h.lake, layer, &name).await?;
            assert_eq!(theirs["rows"].as_u64(), Some(ours), "{layer}.{name}: row counts differ");
            let schema = table.snapshot()?.snapshot().arrow_schema();
            let columns: Vec<_> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            let their_columns: Vec<_> = theirs["columns"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap())
                .collect();
            assert_eq!(their_columns, columns, "{layer}.{name}: columns differ");
            checked += 1;
        }
    }
    assert_eq!(checked, 15);
    assert!(
        with_deletion_vectors > 0,
        "the second pass's MERGEs marked rows in deletion vectors, which duckdb must apply"
    );
    h.cleanup().await
}
