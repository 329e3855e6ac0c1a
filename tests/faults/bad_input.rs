//! Bad landing files among good ones: each bad one is quarantined with a reason that names what
//! is wrong and raises an alert; the good ones are ingested; a rerun tries none of them again.

use std::sync::Arc;

use anyhow::Result;
use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use bytes::Bytes;
use lakehouse_core::pipeline::shop;
use lakehouse_io::Layer;
use lakehouse_io::alert::{self, IncidentKind};
use lakehouse_io::stages::{self, ExtractOptions};
use lakehouse_testkit::Harness;
use parquet::arrow::ArrowWriter;

use crate::{SIZES, TAKE_TURNS};

/// A Parquet file holding `columns`.
fn parquet(columns: Vec<(&str, ArrayRef)>) -> Result<Bytes> {
    let batch = RecordBatch::try_from_iter(columns)?;
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, batch.schema(), None)?;
    writer.write(&batch)?;
    writer.close()?;
    Ok(Bytes::from(out))
}

/// An `orders` file whose `status` column is declared UTF-8 but holds bytes that are not.
fn non_utf8_status() -> Result<Bytes> {
    use parquet::data_type::{ByteArray, ByteArrayType, Int64Type};
    use parquet::file::writer::SerializedFileWriter;
    let schema = parquet::schema::parser::parse_message_type(
        "message orders { required int64 id; required binary status (UTF8); }",
    )?;
    let mut out = Vec::new();
    let mut writer = SerializedFileWriter::new(&mut out, Arc::new(schema), Default::default())?;
    let mut group = writer.next_row_group()?;
    let mut id = group.next_column()?.expect("the id column");
    id.typed::<Int64Type>().write_batch(&[900_001], None, None)?;
    id.close()?;
    let mut status = group.next_column()?.expect("the status column");
    status
        .typed::<ByteArrayType>()
        .write_batch(&[ByteArray::from(vec![0xff, 0xfe, 0x70])], None, None)?;
    status.close()?;
    group.close()?;
    writer.close()?;
    Ok(Bytes::from(out))
}

#[tokio::test]
async fn each_bad_file_is_quarantined_with_its_reason_and_the_good_ones_go_on() -> Result<()> {
    let _turn = TAKE_TURNS.lock().await;
    let h = Harness::sqlite().await?;
    let pipeline = shop()?;
    h.source.seed(SIZES, 51).await?;
    stages::extract(&h.source, &h.lake, &pipeline, ExtractOptions::default()).await?;
    let good = h.lake.list(Layer::Landing, "orders", ".parquet").await?;
    let good_file = h
        .lake
        .relative(Layer::Landing, &good[0].location)
        .expect("a landing file");
    let good_bytes = h.lake.get(Layer::Landing, &good_file).await?.expect("the file");

    let ids = |values: Vec<Option<i64>>| Arc::new(Int64Array::from(values)) as ArrayRef;
    let text = |values: Vec<&str>| Arc::new(StringArray::from(values)) as ArrayRef;
    // (file, bytes, what its reason must mention)
    let bad: Vec<(&str, Bytes, &str)> = vec![
        ("orders/bad/empty.parquet", Bytes::new(), "parquet"),
        (
            "orders/bad/truncated.parquet",
            good_bytes.slice(..good_bytes.len() / 2),
            "parquet",
        ),
        (
            "orders/bad/not-parquet.parquet",
            Bytes::from_static(b"id,status\n1,paid\n"),
            "parquet",
        ),
        (
            "orders/bad/wrong-types.parquet",
            parquet(vec![("id", text(vec!["seven"])), ("status", text(vec!["paid"]))])?,
            "id",
        ),
        (
            "orders/bad/no-key.parquet",
            parquet(vec![("status", text(vec!["paid"]))])?,
            "key column id",
        ),
        (
            "orders/bad/null-keys.parquet",
            parquet(vec![
                ("id", ids(vec![Some(1), None, None])),
                ("status", text(vec!["paid"; 3])),
            ])?,
            "2 rows have no id",
        ),
        ("orders/bad/non-utf8.parquet", non_utf8_status()?, "cannot be read"),
    ];
    for (file, bytes, _) in &bad {
        h.lake.put(Layer::Landing, file, bytes.clone()).await?;
    }
    // Odd but acceptable: a column the table does not have yet, and a very long text.
    let long = "x".repeat(1 << 20);
    let odd = parquet(vec![
        ("id", ids(vec![Some(900_100)])),
        ("status", text(vec![long.as_str()])),
        ("coupon_code", text(vec!["WELCOME10"])),
    ])?;
    h.lake
        .put(Layer::Landing, "orders/odd/extra-column-long-text.parquet", odd)
        .await?;

    let report = stages::ingest_pending(&h.lake, &pipeline).await?;
    let mut quarantined = report.files_quarantined.clone();
    quarantined.sort();
    let mut expected: Vec<&str> = bad.iter().map(|(file, _, _)| *file).collect();
    expected.sort();
    let files: Vec<&str> = quarantined.iter().map(|(file, _)| file.as_str()).collect();
    assert_eq!(files, expected, "exactly the bad files are quarantined");
    for (file, _, mention) in &bad {
        let reason = &quarantined.iter().find(|(f, _)| f == file).expect("quarantined").1;
        assert!(
            reason.contains(mention),
            "{file}: {reason:?} should mention {mention:?}"
        );
    }
    let alerts = alert::quarantined_files(&report, None);
    assert_eq!(alerts.len(), bad.len());
    assert!(
        alerts
            .iter()
            .all(|a| a.kind == IncidentKind::Quarantine && a.file.is_some())
    );
    h.assert_bronze_holds_each_landing_file_once().await?;
    let odd_row = h
        .lake_rows(Layer::Bronze, "orders", &["coupon_code", "length(status)"])
        .await?
        .into_iter()
        .find(|row| row[0].is_some())
        .expect("the odd file was ingested with its new column");
    assert_eq!(odd_row[1].as_deref(), Some("1048576"));

    let again = stages::ingest_pending(&h.lake, &pipeline).await?;
    assert!(again.files_quarantined.is_empty(), "{again:?}");
    assert_eq!(again.files_ingested, 0);
    h.cleanup().await
}
