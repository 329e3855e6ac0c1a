//! Seeding the shop source: the contract's schema, then realistic, deterministic data. On a
//! database that already holds data, a seed simulates business activity instead: new customers
//! and orders, status and price changes, soft deletes, rows that break the quality rules and
//! fixes of earlier broken rows, every change moving `updated_at` forward.

use std::collections::{BTreeMap, BTreeSet};

use fake::Fake;
use fake::faker::company::en::{BsNoun, Buzzword};
use fake::faker::name::en::{FirstName, LastName};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sqlx::{AssertSqlSafe, QueryBuilder};

use super::{Dialect, Source};
use crate::error::{Error, Result};

const MYSQL_SCHEMA: &str = include_str!("../../../../contract/source_schema.sql");
const SQLITE_SCHEMA: &str = include_str!("schema/sqlite.sql");

/// Rows per multi-row INSERT: well under both databases' limits on bound parameters.
const INSERT_CHUNK: usize = 2_000;
/// Orders generated and inserted at a time (with about three times as many items).
const ORDER_CHUNK: u64 = 20_000;

/// How much a first seed writes; activity rounds are scaled from the same numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SeedSizes {
    pub customers: u64,
    pub products: u64,
    pub orders: u64,
}

impl Default for SeedSizes {
    fn default() -> Self {
        Self {
            customers: 1_000,
            products: 200,
            orders: 3_000,
        }
    }
}

/// What a seed did, per table.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SeedReport {
    /// True for a first seed, false for a round of simulated activity.
    pub initial: bool,
    pub inserted: BTreeMap<&'static str, u64>,
    pub updated: BTreeMap<&'static str, u64>,
    pub soft_deleted: BTreeMap<&'static str, u64>,
    pub broken: BTreeMap<&'static str, u64>,
    pub fixed: BTreeMap<&'static str, u64>,
}

/// A value in a generated row.
enum Value {
    Int(i64),
    Text(String),
    /// The database clock, evaluated by the INSERT itself.
    Now,
}

const COUNTRIES: [&str; 12] = ["US", "GB", "DE", "FR", "NL", "ES", "IT", "SE", "PL", "CA", "BR", "JP"];
const CATEGORIES: [&str; 8] = [
    "kitchen", "garden", "office", "toys", "books", "audio", "outdoor", "bath",
];
const STATUSES: [(&str, u32); 5] = [
    ("placed", 20),
    ("paid", 25),
    ("shipped", 25),
    ("delivered", 25),
    ("cancelled", 5),
];
const BAD_STATUSES: [&str; 3] = ["PAID", "refunded", "Shipped"];

/// 2026-01-01T00:00:00Z: first seeds spread `ordered_at` over the following 330 days, so the
/// same seed always gives the same orders.
const ORDER_EPOCH_MILLIS: i64 = 1_767_225_600_000;

impl Source {
    /// Creates the shop schema if missing.
    pub async fn create_schema(&self) -> Result<()> {
        let schema = match self.dialect() {
            Dialect::MySql => MYSQL_SCHEMA,
            Dialect::Sqlite => SQLITE_SCHEMA,
        };
        match self {
            Source::MySql { pool, .. } => sqlx::raw_sql(AssertSqlSafe(schema)).execute(pool).await.map(drop),
            Source::Sqlite { pool, .. } => sqlx::raw_sql(AssertSqlSafe(schema)).execute(pool).await.map(drop),
        }
        .map_err(Error::source("create the shop schema"))
    }

    /// Seeds an empty shop, or simulates a round of activity on one that has data.
    pub async fn seed(&self, sizes: SeedSizes, seed: u64) -> Result<SeedReport> {
        self.create_schema().await?;
        let max_customer = self.scalar("SELECT MAX(id) FROM customers").await?;
        // Each activity round draws differently, but deterministically for a given state.
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ (max_customer as u64).rotate_left(32));
        let mut seeder = Seeder {
            source: self,
            rng: &mut rng,
            report: SeedReport {
                initial: max_customer == 0,
                ..Default::default()
            },
        };
        // Boxed: the seeding futures nest deeply, beyond the compiler's layout depth limit in
        // callers that await them inside their own futures (a Lambda handler in release builds).
        if max_customer == 0 {
            Box::pin(seeder.initial(sizes)).await?;
        } else {
            Box::pin(seeder.activity(sizes)).await?;
        }
        Ok(seeder.report)
    }
}

struct Seeder<'a> {
    source: &'a Source,
    rng: &'a mut ChaCha8Rng,
    report: SeedReport,
}

impl Seeder<'_> {
    async fn initial(&mut self, sizes: SeedSizes) -> Result<()> {
        self.add_customers(sizes.customers, 0.02).await?;
        let prices = self.add_products(sizes.products, 0.01).await?;
        self.add_orders(sizes.orders, &prices, 0.01, false).await?;
        for table in ["customers", "orders", "order_items"] {
            let max_id = self.max_id(table).await?;
            let ids = self.pick(max_id, (max_id / 100).max(1));
            self.soft_delete(table, &ids).await?;
        }
        Ok(())
    }

    async fn activity(&mut self, sizes: SeedSizes) -> Result<()> {
        let tenth = |n: u64| (n / 10).max(1);
        let twentieth = |n: u64| (n / 20).max(1);
        self.add_customers(twentieth(sizes.customers), 0.02).await?;
        self.add_products((sizes.products / 50).max(1), 0.01).await?;
        let prices = self.product_prices().await?;
        self.add_orders(twentieth(sizes.orders), &prices, 0.01, true).await?;

        let orders = self.max_id("orders").await?;
        let ids = self.pick(orders, tenth(sizes.orders) as i64);
        self.update(
            "orders",
            "status = CASE status WHEN 'placed' THEN 'paid' WHEN 'paid' THEN 'shipped' \
             WHEN 'shipped' THEN 'delivered' ELSE status END",
            &ids,
        )
        .await?;
        let products = self.max_id("products").await?;
        let ids = self.pick(products, twentieth(sizes.products) as i64);
        self.update("products", "unit_price = ROUND(unit_price * 1.05, 2)", &ids)
            .await?;

        for table in ["customers", "orders", "order_items"] {
            let max_id = self.max_id(table).await?;
            let ids = self.pick(max_id, (max_id / 200).max(1));
            self.soft_delete(table, &ids).await?;
        }
        self.break_rules(sizes).await?;
        self.fix_broken().await
    }

    async fn add_customers(&mut self, count: u64, bad_share: f64) -> Result<()> {
        let first_id = self.max_id("customers").await? + 1;
        let rows = (0..count as i64)
            .map(|n| {
                let id = first_id + n;
                let (first, last): (String, String) =
                    (FirstName().fake_with_rng(self.rng), LastName().fake_with_rng(self.rng));
                let handle: String = format!("{first}.{last}.{id}").to_lowercase().replace([' ', '\''], "");
                let mut email = format!("{handle}@example.com");
                let mut country = COUNTRIES[self.rng.random_range(0..COUNTRIES.len())].to_owned();
                if self.rng.random_bool(bad_share) {
                    if self.rng.random_bool(0.5) {
                        email = format!("{handle}.example.com");
                    } else {
                        country = country.to_lowercase();
                    }
                }
                vec![
                    Value::Int(id),
                    Value::Text(email),
                    Value::Text(format!("{first} {last}")),
                    Value::Text(country),
                ]
            })
            .collect();
        self.insert("customers", &["id", "email", "full_name", "country"], rows)
            .await
    }

    /// Inserts products and returns every product's price in cents, indexed by id.
    async fn add_products(&mut self, count: u64, bad_share: f64) -> Result<Vec<i64>> {
        let first_id = self.max_id("products").await? + 1;
        let mut rows = Vec::new();
        for n in 0..count as i64 {
            let id = first_id + n;
            let name = format!(
                "{} {}",
                Buzzword().fake_with_rng::<String, _>(self.rng),
                BsNoun().fake_with_rng::<String, _>(self.rng)
            );
            let mut category = CATEGORIES[self.rng.random_range(0..CATEGORIES.len())].to_owned();
            let mut cents: i64 = self.rng.random_range(100..50_000);
            if self.rng.random_bool(bad_share) {
                if self.rng.random_bool(0.5) {
                    category = " ".into();
                } else {
                    cents = -cents;
                }
            }
            rows.push(vec![
                Value::Int(id),
                Value::Text(format!("SKU-{id:07}")),
                Value::Text(name),
                Value::Text(category),
                Value::Text(money(cents)),
            ]);
        }
        self.insert("products", &["id", "sku", "name", "category", "unit_price"], rows)
            .await?;
        self.product_prices().await
    }

    async fn product_prices(&self) -> Result<Vec<i64>> {
        let sql = "SELECT id, CAST(ROUND(unit_price * 100) AS SIGNED) FROM products ORDER BY id";
        let sql = match self.source.dialect() {
            Dialect::MySql => sql.to_owned(),
            Dialect::Sqlite => sql.replace("SIGNED", "INTEGER"),
        };
        let pairs: Vec<(i64, i64)> = match self.source {
            Source::MySql { pool, .. } => sqlx::query_as(AssertSqlSafe(sql)).fetch_all(pool).await,
            Source::Sqlite { pool, .. } => sqlx::query_as(AssertSqlSafe(sql)).fetch_all(pool).await,
        }
        .map_err(Error::source("read product prices"))?;
        let mut prices = vec![0; pairs.last().map_or(0, |p| p.0 as usize + 1)];
        for (id, cents) in pairs {
            prices[id as usize] = cents.abs();
        }
        Ok(prices)
    }

    /// Inserts orders with one to five items each, a chunk at a time so that memory stays flat
    /// however many are asked for. `now` stamps them with the database clock (activity);
    /// otherwise they spread deterministically over the order epoch.
    async fn add_orders(&mut self, count: u64, prices: &[i64], bad_share: f64, now: bool) -> Result<()> {
        let customers = self.max_id("customers").await?.max(1);
        let products = (prices.len() as i64 - 1).max(1);
        let mut next_order = self.max_id("orders").await? + 1;
        let mut next_item = self.max_id("order_items").await? + 1;
        let mut remaining = count;
        while remaining > 0 {
            let chunk = remaining.min(ORDER_CHUNK);
            remaining -= chunk;
            let (mut orders, mut items) = (Vec::new(), Vec::new());
            for _ in 0..chunk {
                orders.push(self.order(next_order, customers, bad_share, now));
                for _ in 0..self.rng.random_range(1..=5) {
                    items.push(self.item(next_item, next_order, products, prices, bad_share));
                    next_item += 1;
                }
                next_order += 1;
            }
            self.insert("orders", &["id", "customer_id", "status", "ordered_at"], orders)
                .await?;
            self.insert(
                "order_items",
                &["id", "order_id", "product_id", "quantity", "unit_price"],
                items,
            )
            .await?;
        }
        Ok(())
    }

    fn order(&mut self, id: i64, customers: i64, bad_share: f64, now: bool) -> Vec<Value> {
        let mut status = self.status();
        if self.rng.random_bool(bad_share) {
            status = BAD_STATUSES[self.rng.random_range(0..BAD_STATUSES.len())];
        }
        let ordered_at = if now {
            Value::Now
        } else {
            let millis = ORDER_EPOCH_MILLIS + self.rng.random_range(0..330 * 86_400_000_i64);
            Value::Text(lakehouse_core::types::format_timestamp_millis(millis * 1000))
        };
        vec![
            Value::Int(id),
            Value::Int(self.rng.random_range(1..=customers)),
            Value::Text(status.into()),
            ordered_at,
        ]
    }

    fn item(&mut self, id: i64, order: i64, products: i64, prices: &[i64], bad_share: f64) -> Vec<Value> {
        let product = self.rng.random_range(1..=products);
        let mut quantity = self.rng.random_range(1..=4_i64);
        if self.rng.random_bool(bad_share) {
            quantity = 0;
        }
        let cents = prices.get(product as usize).copied().unwrap_or(100);
        vec![
            Value::Int(id),
            Value::Int(order),
            Value::Int(product),
            Value::Int(quantity),
            Value::Text(money(cents)),
        ]
    }

    /// Breaks a quality rule on a few rows of each table, as a buggy client would.
    async fn break_rules(&mut self, sizes: SeedSizes) -> Result<()> {
        let share = |n: u64| (n / 300).max(1);
        let plan = [
            ("customers", "country = LOWER(country)", share(sizes.customers)),
            ("products", "category = ''", share(sizes.products)),
            ("orders", "status = 'UNKNOWN'", share(sizes.orders)),
            ("order_items", "quantity = 0", share(sizes.orders * 3)),
        ];
        for (table, set, count) in plan {
            let ids = self.pick(self.max_id(table).await?, count as i64);
            self.update(table, set, &ids).await?;
            *self.report.broken.entry(table).or_default() += ids.len() as u64;
        }
        Ok(())
    }

    /// Repairs about half of the rows that currently break a rule and are not deleted.
    async fn fix_broken(&mut self) -> Result<()> {
        let d = self.source.dialect();
        let plan: [(&'static str, String, &str); 6] = [
            (
                "customers",
                "email NOT LIKE '%_@_%'".into(),
                "email = REPLACE(email, '.example.com', '@example.com')",
            ),
            (
                "customers",
                format!("{} <> {}", d.binary("country"), d.binary("UPPER(country)")),
                "country = UPPER(country)",
            ),
            (
                "products",
                "TRIM(category) = '' OR unit_price < 0".into(),
                "category = 'misc', unit_price = ABS(unit_price)",
            ),
            (
                "orders",
                format!(
                    "{} NOT IN ('placed', 'paid', 'shipped', 'delivered', 'cancelled')",
                    d.binary("status")
                ),
                "status = 'placed'",
            ),
            ("order_items", "quantity <= 0".into(), "quantity = 1"),
            ("order_items", "unit_price < 0".into(), "unit_price = ABS(unit_price)"),
        ];
        for (table, broken, fix) in plan {
            let sql = format!("SELECT id FROM {table} WHERE deleted_at IS NULL AND ({broken}) ORDER BY id");
            let ids: Vec<i64> = match self.source {
                Source::MySql { pool, .. } => sqlx::query_scalar(AssertSqlSafe(sql)).fetch_all(pool).await,
                Source::Sqlite { pool, .. } => sqlx::query_scalar(AssertSqlSafe(sql)).fetch_all(pool).await,
            }
            .map_err(Error::source(format!("find broken {table}")))?;
            let chosen: Vec<i64> = ids.into_iter().filter(|_| self.rng.random_bool(0.5)).collect();
            self.update(table, fix, &chosen).await?;
            *self.report.fixed.entry(table).or_default() += chosen.len() as u64;
        }
        Ok(())
    }

    async fn soft_delete(&mut self, table: &'static str, ids: &[i64]) -> Result<()> {
        let now = self.source.dialect().now();
        self.update(table, &format!("deleted_at = {now}"), ids).await?;
        *self.report.soft_deleted.entry(table).or_default() += ids.len() as u64;
        Ok(())
    }

    /// `UPDATE table SET <set>, updated_at = now WHERE id IN (ids)`, in chunks.
    async fn update(&mut self, table: &'static str, set: &str, ids: &[i64]) -> Result<()> {
        let now = self.source.dialect().now();
        let statements: Vec<String> = ids
            .chunks(INSERT_CHUNK)
            .map(|chunk| {
                let list: Vec<String> = chunk.iter().map(i64::to_string).collect();
                format!(
                    "UPDATE {table} SET {set}, updated_at = {now} WHERE id IN ({})",
                    list.join(",")
                )
            })
            .collect();
        self.source.execute_all(&statements).await?;
        *self.report.updated.entry(table).or_default() += ids.len() as u64;
        Ok(())
    }

    /// Multi-row INSERTs of `rows`, in chunks, in one transaction.
    async fn insert(&mut self, table: &'static str, columns: &[&str], rows: Vec<Vec<Value>>) -> Result<()> {
        let count = rows.len() as u64;
        let d = self.source.dialect();
        let head = format!("INSERT INTO {table} ({}) ", columns.join(", "));
        macro_rules! run {
            ($pool:expr) => {{
                let mut tx = $pool.begin().await.map_err(Error::source("begin"))?;
                for chunk in rows.chunks(INSERT_CHUNK) {
                    let mut builder = QueryBuilder::new(head.clone());
                    builder.push_values(chunk, |mut row, values| {
                        for value in values {
                            match value {
                                Value::Int(v) => row.push_bind(*v),
                                Value::Text(v) => row.push_bind(v.clone()),
                                Value::Now => row.push(d.now()),
                            };
                        }
                    });
                    builder
                        .build()
                        .execute(&mut *tx)
                        .await
                        .map_err(Error::source(format!("insert into {table}")))?;
                }
                tx.commit().await.map_err(Error::source("commit"))?;
            }};
        }
        match self.source {
            Source::MySql { pool, .. } => run!(pool),
            Source::Sqlite { pool, .. } => run!(pool),
        }
        *self.report.inserted.entry(table).or_default() += count;
        Ok(())
    }

    /// An order status drawn with the weights of [`STATUSES`].
    fn status(&mut self) -> &'static str {
        let total: u32 = STATUSES.iter().map(|s| s.1).sum();
        let mut draw = self.rng.random_range(0..total);
        for (status, weight) in STATUSES {
            if draw < weight {
                return status;
            }
            draw -= weight;
        }
        "placed"
    }

    async fn max_id(&self, table: &str) -> Result<i64> {
        self.source.scalar(&format!("SELECT MAX(id) FROM {table}")).await
    }

    /// Up to `count` distinct ids drawn from `1..=max_id`, in ascending order.
    fn pick(&mut self, max_id: i64, count: i64) -> Vec<i64> {
        if max_id < 1 {
            return Vec::new();
        }
        let count = count.clamp(0, max_id) as usize;
        let mut ids = BTreeSet::new();
        while ids.len() < count {
            ids.insert(self.rng.random_range(1..=max_id));
        }
        ids.into_iter().collect()
    }
}

/// Cents as decimal text, e.g. -1999 → "-19.99".
fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100)
}

#[cfg(test)]
mod tests {
    use super::money;

    #[test]
    fn money_is_exact_text() {
        assert_eq!(money(1999), "19.99");
        assert_eq!(money(5), "0.05");
        assert_eq!(money(-1999), "-19.99");
    }
}
