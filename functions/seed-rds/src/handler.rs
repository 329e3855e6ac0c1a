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
    let overrides: Overrides = event
        .payload
        .get("detail")
        .filter(|d| d.is_object())
        .map(|d| serde_json::from_value(d.clone()))
        .transpose()
        .map_err(|e| FunctionError::bad_event(format!("detail: {e}")))?
        .unwrap_or_default();
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
