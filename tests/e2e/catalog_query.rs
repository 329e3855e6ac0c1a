//! Querying the lake: SQL over every layer, time travel to earlier versions and times, and
//! Athena through the SDK against the local AWS endpoint.

use std::time::Duration;

use anyhow::Result;
use lakehouse_core::pipeline::shop;
use lakehouse_io::athena::{Athena, AthenaTarget};
use lakehouse_io::query::{AsOf, query, query_as_of};
use lakehouse_testkit::{Harness, batches_as_text};

use crate::scenarios::{SIZES, pass};

const ORDERS: &str = "SELECT id, status, updated_at FROM silver.orders ORDER BY id";

#[tokio::test]
async fn sql_reads_every_layer_and_time_travel_returns_the_earlier_rows() -> Result<()> {
    let h = Harness::sqlite().await?;
    let pipeline = shop()?;
    h.source.seed(SIZES, 21).await?;
    pass(&h, &pipeline).await?;
    let earlier = batches_as_text(&query(&h.lake, ORDERS).await?)?;
    let earlier_counts = h.row_counts().await?;
    let version = earlier_counts["silver.orders"].0;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let between = chrono::Utc::now();
    tokio::time::sleep(Duration::from_millis(50)).await;

    h.source.seed(SIZES, 21).await?;
    pass(&h, &pipeline).await?;
    let now = batches_as_text(&query(&h.lake, ORDERS).await?)?;
    assert_ne!(now, earlier, "the activity round changed orders");

    // Every table of every layer answers SQL, with the rows the table holds.
    for (table, (_, rows)) in h.row_counts().await? {
        let counted = batches_as_text(&query(&h.lake, &format!("SELECT COUNT(*) FROM {table}")).await?)?;
        assert_eq!(counted[0][0].as_deref(), Some(rows.to_string().as_str()), "{table}");
    }

    let at_version = AsOf {
        versions: [("silver.orders".to_owned(), version)].into(),
        ..AsOf::default()
    };
    assert_eq!(
        batches_as_text(&query_as_of(&h.lake, ORDERS, &at_version).await?)?,
        earlier
    );
    let at_time = AsOf {
        time: Some(between),
        ..AsOf::default()
    };
    assert_eq!(
        batches_as_text(&query_as_of(&h.lake, ORDERS, &at_time).await?)?,
        earlier
    );
    for (table, (_, rows)) in &earlier_counts {
        let counted = query_as_of(&h.lake, &format!("SELECT COUNT(*) FROM {table}"), &at_time).await?;
        let counted = batches_as_text(&counted)?;
        assert_eq!(
            counted[0][0].as_deref(),
            Some(rows.to_string().as_str()),
            "{table} as of {between}"
        );
    }

    // Asking for what is not there names it.
    let too_far = AsOf {
        versions: [("silver.orders".to_owned(), version + 100)].into(),
        ..AsOf::default()
    };
    let error = query_as_of(&h.lake, ORDERS, &too_far).await.unwrap_err().to_string();
    assert!(error.contains("silver.orders") && error.contains("latest"), "{error}");
    let unknown = AsOf {
        versions: [("silver.nope".to_owned(), 1)].into(),
        ..AsOf::default()
    };
    let error = query_as_of(&h.lake, ORDERS, &unknown).await.unwrap_err().to_string();
    assert!(error.contains("silver.nope"), "{error}");
    h.cleanup().await
}

/// The local endpoint does not run SQL: it records the request and answers with results queued
/// through its own API. What Athena itself computes is out of reach here; this checks that the
/// request is well formed, that the state is polled to the end, and that every row is read.
#[tokio::test]
async fn athena_queries_are_well_formed_and_every_result_row_is_read() -> Result<()> {
    let endpoint = lakehouse_testkit::aws::endpoint()?;
    let header = row(&["order_date", "revenue"]);
    let data: Vec<serde_json::Value> = (1..=3)
        .map(|d| row(&[&format!("2026-11-0{d}"), &format!("{d}0.50")]))
        .collect();
    let queued = serde_json::json!({
        "region": std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()),
        "results": [{
            "rows": std::iter::once(header).chain(data).collect::<Vec<_>>(),
            "column_info": [column("order_date", "date"), column("revenue", "decimal")],
        }],
    });
    let answer = reqwest::Client::new()
        .post(format!("{endpoint}/moto-api/static/athena/query-results"))
        .body(queued.to_string())
        .send()
        .await?;
    assert_eq!(answer.status().as_u16(), 201);

    let athena = Athena::from_env().await;
    let sql = "SELECT order_date, revenue FROM daily_sales ORDER BY order_date";
    let target = AthenaTarget {
        workgroup: "primary".into(),
        database: Some("lakehouse_gold".into()),
        timeout: Duration::from_secs(30),
    };
    let result = athena.query(sql, &target).await?;
    assert_eq!(result.columns, ["order_date", "revenue"]);
    let expected: Vec<Vec<Option<String>>> = (1..=3)
        .map(|d| vec![Some(format!("2026-11-0{d}")), Some(format!("{d}0.50"))])
        .collect();
    assert_eq!(result.rows, expected, "the header row dropped, every data row kept");
    assert_eq!(result.to_batch()?.num_rows(), 3);

    let client = aws_sdk_athena::Client::new(&lakehouse_lambda::aws().await);
    let recorded = client
        .get_query_execution()
        .query_execution_id(&result.query_id)
        .send()
        .await?;
    let execution = recorded.query_execution().expect("the execution");
    assert_eq!(execution.query(), Some(sql));
    assert_eq!(execution.work_group(), Some("primary"));
    assert_eq!(
        execution.query_execution_context().and_then(|c| c.database()),
        Some("lakehouse_gold")
    );
    Ok(())
}

fn row(values: &[&str]) -> serde_json::Value {
    let data: Vec<_> = values
        .iter()
        .map(|v| serde_json::json!({ "VarCharValue": v }))
        .collect();
    serde_json::json!({ "Data": data })
}

fn column(name: &str, kind: &str) -> serde_json::Value {
    serde_json::json!({ "Name": name, "Label": name, "Type": kind, "Nullable": "UNKNOWN" })
}
