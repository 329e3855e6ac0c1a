//! Seeds or simulates activity. The scheduled event may carry sizes in its `detail`
//! (`{"customers": 1000, "products": 200, "orders": 3000, "seed": 42}`); the function's
//! environment gives the defaults.

use lakehouse_io::Source;
use lakehouse_io::source::SeedSizes;
use lakehouse_lambda::config::parsed;
use lakehouse_lambda::{FunctionError, source_from_env};
use lambda_runtime::LambdaEvent;
use serde::Deserialize;
use serde_json::Value;

/// What the function needs, built once at cold start.
pub struct Settings {
    pub source: Source,
    pub sizes: SeedSizes,
    pub seed: u64,
}

impl Settings {
    /// The source (`LAKEHOUSE_SOURCE_URL`, `LAKEHOUSE_DB_SECRET_ARN`) and the default sizes
    /// (`LAKEHOUSE_SEED_CUSTOMERS`, `_PRODUCTS`, `_ORDERS`, and `LAKEHOUSE_SEED`).
    pub async fn from_env(aws: &lakehouse_lambda::SdkConfig) -> Result<Self, FunctionError> {
        let defaults = SeedSizes::default();
        Ok(Self {
            source: source_from_env(aws).await?,
            sizes: SeedSizes {
                customers: parsed("LAKEHOUSE_SEED_CUSTOMERS", defaults.customers)?,
                products: parsed("LAKEHOUSE_SEED_PRODUCTS", defaults.products)?,
                orders: parsed("LAKEHOUSE_SEED_ORDERS", defaults.orders)?,
            },
            seed: parsed("LAKEHOUSE_SEED", 42)?,
        })
    }
}

/// Sizes an event may override.
#[derive(Debug, Default, Deserialize)]
struct Overrides {
    customers: Option<u64>,
    products: Option<u64>,
    orders: Option<u64>,
    seed: Option<u64>,
}

pub async fn function_handler(event: LambdaEvent<Value>, settings: &Settings) -> Result<Value, FunctionError> {
    let overrides: Overrides = match event.payload.get("detail").filter(|d| d.is_object()) {
        Some(detail) => serde_path_to_error::deserialize(detail)
            .map_err(|e| FunctionError::bad_event(format!("detail.{}: {}", e.path(), e.inner())))?,
        None => Overrides::default(),
    };
    let sizes = SeedSizes {
        customers: overrides.customers.unwrap_or(settings.sizes.customers),
        products: overrides.products.unwrap_or(settings.sizes.products),
        orders: overrides.orders.unwrap_or(settings.sizes.orders),
    };
    let report = settings
        .source
        .seed(sizes, overrides.seed.unwrap_or(settings.seed))
        .await?;
    tracing::info!(initial = report.initial, inserted = ?report.inserted, "seeded");
    serde_json::to_value(report).map_err(|e| FunctionError::config(e.to_string()))
}

#[cfg(test)]
mod tests {
    use anyhow::Result;
    use lakehouse_testkit::Harness;
    use lambda_runtime::{Context, LambdaEvent};

    use super::*;

    const SCHEDULED: &str = include_str!("../../../events/seed-rds/scheduled.json");
    const WITH_SIZES: &str = include_str!("../../../events/seed-rds/scheduled-with-sizes.json");

    fn event(sample: &str) -> LambdaEvent<Value> {
        LambdaEvent::new(serde_json::from_str(sample).expect("a JSON sample"), Context::default())
    }

    #[tokio::test]
    async fn a_schedule_seeds_an_empty_source_then_simulates_activity() -> Result<()> {
        let h = Harness::mariadb().await?;
        let settings = Settings {
            source: h.source.clone(),
            sizes: SeedSizes {
                customers: 80,
                products: 20,
                orders: 200,
            },
            seed: 1,
        };
        // The event's detail overrides the configured sizes.
        let first = function_handler(event(WITH_SIZES), &settings).await?;
        assert_eq!(first["initial"], true);
        assert_eq!(first["inserted"]["customers"], 120);
        assert_eq!(first["inserted"]["orders"], 400);

        let second = function_handler(event(SCHEDULED), &settings).await?;
        assert_eq!(second["initial"], false);
        assert_eq!(
            second["inserted"]["customers"],
            80 / 20,
            "activity adds 5% of the configured customers"
        );
        assert!(second["updated"]["orders"].as_u64().unwrap() > 0);
        assert_eq!(h.source.scalar("SELECT COUNT(*) FROM customers").await?, 124);
        h.cleanup().await
    }

    #[tokio::test]
    async fn a_malformed_detail_is_a_permanent_bad_event() -> Result<()> {
        let h = Harness::sqlite().await?;
        let settings = Settings {
            source: h.source.clone(),
            sizes: SeedSizes::default(),
            seed: 1,
        };
        let mut payload: Value = serde_json::from_str(SCHEDULED)?;
        payload["detail"] = serde_json::json!({"orders": "many"});
        let err = function_handler(LambdaEvent::new(payload, Context::default()), &settings)
            .await
            .unwrap_err();
        assert_eq!(err.kind.error_type(), "Permanent.BadEvent");
        assert!(err.message.contains("orders"), "{}", err.message);
        h.cleanup().await
    }
}
