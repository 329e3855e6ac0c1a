//! One catalog sync per invocation, whatever the triggering event (a schedule, or write-gold's
//! success destination): the sync compares the catalog with the lake and writes the difference.

use lakehouse_io::catalog::glue::{CrawlerRun, Glue};
use lakehouse_io::catalog::{DEFAULT_PREFIX, SyncReport};
use lakehouse_lambda::config::optional;
use lakehouse_lambda::{FunctionError, Lakehouse, SdkConfig};
use lambda_runtime::LambdaEvent;
use serde::Serialize;
use serde_json::Value;

/// The catalog this function keeps: Glue, the databases' prefix, and the optional crawler.
#[derive(Clone)]
pub struct Catalog {
    pub glue: Glue,
    /// Databases are `<prefix>bronze`, `<prefix>silver`, … (`LAKEHOUSE_GLUE_DATABASE_PREFIX`).
    pub prefix: String,
    /// A Glue crawler with a Delta Lake target to start after each sync (`LAKEHOUSE_GLUE_CRAWLER`).
    pub crawler: Option<String>,
}

impl Catalog {
    pub fn from_env(aws: &SdkConfig) -> Result<Self, FunctionError> {
        let prefix = optional("LAKEHOUSE_GLUE_DATABASE_PREFIX").unwrap_or_else(|| DEFAULT_PREFIX.to_owned());
        if !prefix
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(FunctionError::config(format!(
                "LAKEHOUSE_GLUE_DATABASE_PREFIX: {prefix:?} may hold only lowercase letters, digits and _"
            )));
        }
        Ok(Self {
            glue: Glue::from_config(aws),
            prefix,
            crawler: optional("LAKEHOUSE_GLUE_CRAWLER"),
        })
    }
}

/// What one invocation did.
#[derive(Debug, Serialize)]
struct Synced {
    catalog: SyncReport,
    crawler: Option<CrawlerRun>,
}

pub async fn function_handler(
    _event: LambdaEvent<Value>,
    lakehouse: &Lakehouse,
    catalog: &Catalog,
) -> Result<Value, FunctionError> {
    let report = catalog.glue.sync(&lakehouse.lake, &catalog.prefix).await?;
    tracing::info!(
        created = report.created.len(),
        updated = report.updated.len(),
        unchanged = report.unchanged.len(),
        "glue catalog synced"
    );
    let crawler = match &catalog.crawler {
        Some(name) => {
            let run = catalog.glue.start_crawler(name).await?;
            tracing::info!(crawler = %name, outcome = ?run, "crawler trigger");
            Some(run)
        }
        None => None,
    };
    let synced = Synced {
        catalog: report,
        crawler,
    };
    serde_json::to_value(synced).map_err(|e| FunctionError::config(e.to_string()))
}

#[cfg(test)]
mod tests {
    use anyhow::Result;
    use aws_sdk_glue::types::{CrawlerTargets, S3Target};
    use lakehouse_io::stages::{self, ExtractOptions};
    use lakehouse_lambda::ErrorKind;
    use lakehouse_testkit::Harness;
    use lambda_runtime::{Context, LambdaEvent};

    use super::*;

    const SCHEDULED: &str = include_str!("../../../events/sync-catalog/scheduled.json");
    const AFTER_GOLD: &str = include_str!("../../../events/sync-catalog/after-gold.json");

    fn event(sample: &str) -> LambdaEvent<Value> {
        LambdaEvent::new(serde_json::from_str(sample).expect("a JSON sample"), Context::default())
    }

    async fn glue() -> aws_sdk_glue::Client {
        aws_sdk_glue::Client::new(&lakehouse_lambda::aws().await)
    }

    /// A catalog under a prefix of its own, so that tests sharing the endpoint do not meet.
    async fn catalog(crawler: Option<String>) -> Catalog {
        let prefix = format!("t{}_", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        Catalog {
            glue: Glue::new(glue().await),
            prefix,
            crawler,
        }
    }

    /// Each column of a Glue table, with its type.
    async fn glue_columns(database: &str, table: &str) -> Result<Vec<(String, String)>> {
        let found = glue()
            .await
            .get_table()
            .database_name(database)
            .name(table)
            .send()
            .await?;
        let table = found.table.expect("a table");
        Ok(table
            .storage_descriptor()
            .expect("a storage descriptor")
            .columns()
            .iter()
            .map(|c| (c.name().to_owned(), c.r#type().unwrap_or_default().to_owned()))
            .collect())
    }

    #[tokio::test]
    async fn every_table_is_registered_as_delta_with_glue_types_and_a_second_sync_is_a_no_op() -> Result<()> {
        let h = Harness::sqlite().await?.on_s3().await?;
        let lakehouse = Lakehouse {
            lake: h.lake.clone(),
            pipeline: h.landed_in_bronze(3).await?,
        };
        stages::refine(&h.lake, &lakehouse.pipeline).await?;
        stages::build_gold(&h.lake, &lakehouse.pipeline).await?;
        let catalog = catalog(None).await;

        let first = function_handler(event(SCHEDULED), &lakehouse, &catalog).await?;
        let created = first["catalog"]["created"].as_array().unwrap();
        assert_eq!(created.len(), h.row_counts().await?.len(), "{first}");

        let silver = format!("{}silver", catalog.prefix);
        let orders = glue()
            .await
            .get_table()
            .database_name(&silver)
            .name("order_items")
            .send()
            .await?
            .table
            .unwrap();
        let parameters = orders.parameters().unwrap();
        assert_eq!(parameters.get("table_type").map(String::as_str), Some("DELTA"));
        assert_eq!(orders.table_type(), Some("EXTERNAL_TABLE"));
        let location = orders.storage_descriptor().unwrap().location().unwrap();
        assert_eq!(
            location,
            h.lake.table_url(lakehouse_io::Layer::Silver, "order_items")?.as_str()
        );
        assert!(location.starts_with("s3://"), "{location}");
        let columns = glue_columns(&silver, "order_items").await?;
        for expected in [
            ("id", "bigint"),
            ("quantity", "int"),
            ("unit_price", "decimal(10,2)"),
            ("updated_at", "timestamp"),
        ] {
            assert!(
                columns.iter().any(|(n, t)| (n.as_str(), t.as_str()) == expected),
                "{expected:?} in {columns:?}"
            );
        }

        let second = function_handler(event(AFTER_GOLD), &lakehouse, &catalog).await?;
        assert_eq!(second["catalog"]["created"], serde_json::json!([]), "{second}");
        assert_eq!(second["catalog"]["updated"], serde_json::json!([]), "{second}");
        assert_eq!(second["catalog"]["unchanged"].as_array().unwrap().len(), created.len());
        h.cleanup().await
    }

    #[tokio::test]
    async fn a_column_added_at_the_source_reaches_the_glue_columns() -> Result<()> {
        let h = Harness::mariadb().await?.on_s3().await?;
        let outcome = async {
            let lakehouse = Lakehouse {
                lake: h.lake.clone(),
                pipeline: lakehouse_core::pipeline::shop()?,
            };
            let sizes = lakehouse_io::source::SeedSizes {
                customers: 50,
                products: 10,
                orders: 40,
            };
            h.source.seed(sizes, 4).await?;
            stages::run_pass(&h.source, &h.lake, &lakehouse.pipeline, ExtractOptions::default()).await?;
            let catalog = catalog(None).await;
            function_handler(event(SCHEDULED), &lakehouse, &catalog).await?;
            let silver = format!("{}silver", catalog.prefix);
            assert!(
                !glue_columns(&silver, "customers")
                    .await?
                    .iter()
                    .any(|(n, _)| n == "loyalty_tier")
            );

            h.source
                .execute_all(&[
                    "ALTER TABLE customers ADD COLUMN loyalty_tier VARCHAR(16) NULL".to_owned(),
                    "UPDATE customers SET loyalty_tier = 'gold' WHERE id <= 5".to_owned(),
                ])
                .await?;
            stages::run_pass(&h.source, &h.lake, &lakehouse.pipeline, ExtractOptions::default()).await?;
            let synced = function_handler(event(SCHEDULED), &lakehouse, &catalog).await?;
            let updated = synced["catalog"]["updated"].as_array().unwrap();
            assert!(updated.iter().any(|t| *t == format!("{silver}.customers")), "{synced}");
            let columns = glue_columns(&silver, "customers").await?;
            assert!(
                columns.contains(&("loyalty_tier".to_owned(), "string".to_owned())),
                "{columns:?}"
            );
            anyhow::Ok(())
        }
        .await;
        h.cleanup().await?;
        outcome
    }

    #[tokio::test]
    async fn the_crawler_is_started_then_found_running_and_a_missing_one_is_named() -> Result<()> {
        let h = Harness::sqlite().await?.on_s3().await?;
        let lakehouse = Lakehouse {
            lake: h.lake.clone(),
            pipeline: h.landed_in_bronze(2).await?,
        };
        let name = format!("lakehouse-test-{}", uuid::Uuid::new_v4().simple());
        let target = S3Target::builder()
            .path(h.lake.table_url(lakehouse_io::Layer::Bronze, "orders")?.as_str())
            .build();
        glue()
            .await
            .create_crawler()
            .name(&name)
            .role("arn:aws:iam::123456789012:role/lakehouse-crawler")
            .targets(CrawlerTargets::builder().s3_targets(target).build())
            .send()
            .await?;
        let catalog = catalog(Some(name.clone())).await;

        let first = function_handler(event(SCHEDULED), &lakehouse, &catalog).await?;
        assert_eq!(first["crawler"], "started", "{first}");
        let second = function_handler(event(SCHEDULED), &lakehouse, &catalog).await?;
        assert_eq!(second["crawler"], "already_running", "{second}");

        let missing = Catalog {
            crawler: Some("no-such-crawler".into()),
            ..catalog
        };
        let error = function_handler(event(SCHEDULED), &lakehouse, &missing)
            .await
            .unwrap_err();
        assert_eq!(error.kind, ErrorKind::Config);
        assert!(error.message.contains("no-such-crawler"), "{}", error.message);
        h.cleanup().await
    }
}
