//! The test harness: a fresh MariaDB database or SQLite file per test, a temporary lake, and the
//! contract's reference views compared row by row with the Silver and Gold tables.

pub mod aws;
pub mod http;
pub mod webhook;

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, TimeUnit,
    TimestampMicrosecondType,
};
use lakehouse_io::{Lake, Layer, Source, SourceUrl, query};
use sqlx::{AssertSqlSafe, Row};

/// The server tests create their databases on; `make test` starts a private MariaDB and sets it.
pub const MYSQL_ADMIN_ENV: &str = "LAKEHOUSE_TEST_MYSQL_URL";
const MYSQL_ADMIN_DEFAULT: &str = "mysql://root@127.0.0.1:3306";

const MYSQL_REFERENCE: &str = include_str!("../../../contract/reference.sql");
const SQLITE_REFERENCE: &str = include_str!("../sql/reference_sqlite.sql");

/// A source and a lake that exist only for one test.
pub struct Harness {
    pub source: Source,
    pub lake: Lake,
    /// Keeps the lake folder (and a SQLite file) alive for the test.
    pub dir: tempfile::TempDir,
    /// The admin URL of the test server and the test database's name.
    database: Option<(String, String)>,
}

impl Harness {
    /// A new, empty database on the test MariaDB and an empty lake.
    pub async fn mariadb() -> Result<Self> {
        let admin_url = std::env::var(MYSQL_ADMIN_ENV).unwrap_or_else(|_| MYSQL_ADMIN_DEFAULT.to_owned());
        let admin = Source::connect(&SourceUrl::parse(&admin_url)?)
            .await
            .with_context(|| format!("the tests need a MariaDB; set {MYSQL_ADMIN_ENV} or run `make test`"))?;
        let name = format!("lh_test_{}", uuid::Uuid::new_v4().simple());
        admin.execute_all(&[format!("CREATE DATABASE {name}")]).await?;
        admin.close().await;
        let url = SourceUrl::parse(&format!("{}/{name}", admin_url.trim_end_matches('/')))?;
        let dir = tempfile::tempdir()?;
        Ok(Self {
            source: Source::connect(&url).await?,
            lake: Lake::open(dir.path().join("lake").to_str().context("utf-8 path")?)?,
            dir,
            database: Some((admin_url, name)),
        })
    }

    /// The same harness with its lake moved to a new bucket on the local AWS endpoint, at
    /// `s3://<bucket>/lake`.
    pub async fn on_s3(mut self) -> Result<Self> {
        let bucket = aws::new_bucket().await?;
        self.lake = Lake::open(&format!("s3://{bucket}/lake"))?;
        Ok(self)
    }

    /// The lake's bucket, for a lake on S3.
    pub fn bucket(&self) -> Option<String> {
        self.lake
            .to_string()
            .strip_prefix("s3://")
            .and_then(|rest| rest.split('/').next())
            .map(str::to_owned)
    }

    /// Seeds a small shop with `seed`, extracts it and ingests it into Bronze; returns the pipeline.
    pub async fn landed_in_bronze(&self, seed: u64) -> Result<lakehouse_core::Pipeline> {
        let pipeline = lakehouse_core::pipeline::shop()?;
        let sizes = lakehouse_io::source::SeedSizes {
            customers: 60,
            products: 20,
            orders: 150,
        };
        self.source.seed(sizes, seed).await?;
        lakehouse_io::stages::extract(&self.source, &self.lake, &pipeline, Default::default()).await?;
        lakehouse_io::stages::ingest_pending(&self.lake, &pipeline).await?;
        Ok(pipeline)
    }

    /// The S3 keys of the lake's landing files, for notifications about them.
    pub async fn landing_keys(&self) -> Result<Vec<String>> {
        let mut keys = Vec::new();
        for layer_dir in ["customers", "products", "orders", "order_items"] {
            for meta in self.lake.list(Layer::Landing, layer_dir, ".parquet").await? {
                keys.push(meta.location.to_string());
            }
        }
        Ok(keys)
    }

    /// A new SQLite file and an empty lake, in one temporary folder.
    pub async fn sqlite() -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("shop.db");
        let url = SourceUrl::parse(&format!("sqlite://{}", file.display()))?;
        Ok(Self {
            source: Source::connect(&url).await?,
            lake: Lake::open(dir.path().join("lake").to_str().context("utf-8 path")?)?,
            dir,
            database: None,
        })
    }

    /// The source's URL, for the `lakehouse` command (`--source`).
    pub fn source_url(&self) -> String {
        match &self.database {
            Some((admin, name)) => format!("{}/{name}", admin.trim_end_matches('/')),
            None => format!("sqlite://{}", self.dir.path().join("shop.db").display()),
        }
    }

    /// Checks that Bronze holds every row of every landing file exactly once: per table and file,
    /// the rows Bronze attributes to the file equal the rows the file has (quarantined files
    /// excepted).
    pub async fn assert_bronze_holds_each_landing_file_once(&self) -> Result<()> {
        let quarantined: Vec<String> = lakehouse_io::stages::quarantine::quarantined_files(&self.lake)
            .await?
            .into_iter()
            .map(|q| q.source_file)
            .collect();
        for table in self.lake.tables(Layer::Bronze).await? {
            let mut expected = BTreeMap::new();
            for meta in self.lake.list(Layer::Landing, &table, ".parquet").await? {
                let relative = self
                    .lake
                    .relative(Layer::Landing, &meta.location)
                    .context("a landing file")?;
                if quarantined.contains(&relative) {
                    continue;
                }
                let bytes = self.lake.get(Layer::Landing, &relative).await?.context("the file")?;
                let rows = parquet::file::reader::SerializedFileReader::new(bytes)?;
                let rows = parquet::file::reader::FileReader::metadata(&rows)
                    .file_metadata()
                    .num_rows();
                expected.insert(relative, rows);
            }
            let sql = format!("SELECT _source_file, COUNT(*) FROM bronze.{table} GROUP BY _source_file");
            let found: BTreeMap<String, i64> = batches_as_text(&query::query(&self.lake, &sql).await?)?
                .into_iter()
                .map(|row| {
                    let file = row[0].clone().unwrap_or_default();
                    let rows = row[1].as_deref().unwrap_or("0").parse().unwrap_or(-1);
                    (file, rows)
                })
                .collect();
            if found != expected {
                bail!(
                    "bronze.{table} does not hold each landing file once:\n in bronze: {found:?}\n landed:    {expected:?}"
                );
            }
        }
        Ok(())
    }

    /// The test database's name, for a MariaDB harness.
    pub fn database_name(&self) -> Option<&str> {
        self.database.as_ref().map(|(_, name)| name.as_str())
    }

    /// The test server's URL (no database) with `user` in place of the admin user, no password.
    pub fn server_url_as(&self, user: &str) -> Result<String> {
        let (admin, _) = self.database.as_ref().context("not a MariaDB harness")?;
        let mut url = url::Url::parse(admin)?;
        url.set_username(user)
            .map_err(|()| anyhow::anyhow!("cannot set a user"))?;
        url.set_password(None)
            .map_err(|()| anyhow::anyhow!("cannot clear the password"))?;
        Ok(url.to_string().trim_end_matches('/').to_owned())
    }

    /// Drops the test database (the folder goes with the harness).
    pub async fn cleanup(self) -> Result<()> {
        self.source.close().await;
        if let Some((admin_url, name)) = self.database {
            let admin = Source::connect(&SourceUrl::parse(&admin_url)?).await?;
            admin.execute_all(&[format!("DROP DATABASE IF EXISTS {name}")]).await?;
            admin.close().await;
        }
        Ok(())
    }

    /// Creates (or replaces) the contract's reference views in the source.
    pub async fn load_reference(&self) -> Result<()> {
        match &self.source {
            Source::MySql { pool, .. } => {
                // The contract's comments hold no semicolon, so it splits safely at each one.
                for statement in MYSQL_REFERENCE.split(';').filter(|s| has_sql(s)) {
                    sqlx::raw_sql(AssertSqlSafe(statement)).execute(pool).await?;
                }
            }
            Source::Sqlite { pool, .. } => {
                sqlx::raw_sql(AssertSqlSafe(SQLITE_REFERENCE)).execute(pool).await?;
            }
        }
        Ok(())
    }

    /// Compares every Silver and Gold table with its reference view, row by row (order aside).
    /// Fails with the first differing rows of every table that differs.
    pub async fn assert_matches_reference(&self) -> Result<()> {
        self.load_reference().await?;
        let mut problems = Vec::new();
        for (view, layer, table, columns) in CONTRACT {
            let expected = self.view_rows(view, columns).await?;
            let actual = self.lake_rows(layer, table, columns).await?;
            if let Some(diff) = difference(&expected, &actual) {
                problems.push(format!("{layer}.{table} differs from {view}: {diff}"));
            }
        }
        if !problems.is_empty() {
            bail!("{}", problems.join("\n"));
        }
        Ok(())
    }

    /// Rows of a reference view, every value as text.
    async fn view_rows(&self, view: &str, columns: &[&str]) -> Result<Vec<Vec<Option<String>>>> {
        let text_type = match self.source.dialect() {
            lakehouse_io::source::Dialect::MySql => "CHAR",
            lakehouse_io::source::Dialect::Sqlite => "TEXT",
        };
        let casts: Vec<String> = columns.iter().map(|c| format!("CAST({c} AS {text_type})")).collect();
        let sql = format!("SELECT {} FROM {view}", casts.join(", "));
        // The same read through either driver, whose row types differ.
        macro_rules! rows_as_text {
            ($pool:expr) => {
                sqlx::query(AssertSqlSafe(sql))
                    .fetch_all($pool)
                    .await?
                    .iter()
                    .map(|row| {
                        (0..columns.len())
                            .map(|i| row.try_get::<Option<String>, _>(i))
                            .collect()
                    })
                    .collect::<Result<_, _>>()?
            };
        }
        Ok(match &self.source {
            Source::MySql { pool, .. } => rows_as_text!(pool),
            Source::Sqlite { pool, .. } => rows_as_text!(pool),
        })
    }

    /// Rows of a lake table, every value as the text the source would show.
    pub async fn lake_rows(&self, layer: Layer, table: &str, columns: &[&str]) -> Result<Vec<Vec<Option<String>>>> {
        let sql = format!("SELECT {} FROM {layer}.{table}", columns.join(", "));
        let batches = query::query(&self.lake, &sql).await?;
        batches_as_text(&batches)
    }

    /// Every table's row count in every layer, to check that a run added nothing.
    pub async fn row_counts(&self) -> Result<BTreeMap<String, (u64, u64)>> {
        let mut counts = BTreeMap::new();
        for layer in Layer::TABLES {
            for name in self.lake.tables(layer).await? {
                let table = lakehouse_io::delta::open_in(&self.lake, layer, &name).await?;
                let version = table.version().unwrap_or_default();
                counts.insert(
                    format!("{layer}.{name}"),
                    (version, lakehouse_io::delta::row_count(&table).await?),
                );
            }
        }
        Ok(counts)
    }
}

/// Each reference view, the lake table it defines, and the view's columns.
pub const CONTRACT: [(&str, Layer, &str, &[&str]); 7] = [
    (
        "ref_silver_customers",
        Layer::Silver,
        "customers",
        &["id", "email", "full_name", "country", "created_at", "updated_at"],
    ),
    (
        "ref_silver_products",
        Layer::Silver,
        "products",
        &[
            "id",
            "sku",
            "name",
            "category",
            "unit_price",
            "created_at",
            "updated_at",
        ],
    ),
    (
        "ref_silver_orders",
        Layer::Silver,
        "orders",
        &["id", "customer_id", "status", "ordered_at", "created_at", "updated_at"],
    ),
    (
        "ref_silver_order_items",
        Layer::Silver,
        "order_items",
        &[
            "id",
            "order_id",
            "product_id",
            "quantity",
            "unit_price",
            "created_at",
            "updated_at",
        ],
    ),
    (
        "ref_gold_daily_sales",
        Layer::Gold,
        "daily_sales",
        &["order_date", "orders", "items", "revenue", "customers"],
    ),
    (
        "ref_gold_customer_ltv",
        Layer::Gold,
        "customer_ltv",
        &[
            "customer_id",
            "country",
            "orders",
            "lifetime_value",
            "first_order_at",
            "last_order_at",
        ],
    ),
    (
        "ref_gold_product_sales",
        Layer::Gold,
        "product_sales",
        &["product_id", "category", "units", "revenue", "orders"],
    ),
];

fn has_sql(statement: &str) -> bool {
    statement
        .lines()
        .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with("--"))
}

/// How many data files of `table` in `layer` carry a deletion vector.
pub async fn files_with_deletion_vectors(lake: &Lake, layer: Layer, table: &str) -> Result<usize> {
    let table = lakehouse_io::delta::open_in(lake, layer, table).await?;
    let state = table.snapshot()?;
    Ok(state
        .log_data()
        .iter()
        .filter(|f| f.deletion_vector_descriptor().is_some())
        .count())
}

/// Describes how two multisets of rows differ, or `None` if they are equal.
pub fn difference(expected: &[Vec<Option<String>>], actual: &[Vec<Option<String>>]) -> Option<String> {
    let mut balance: BTreeMap<&Vec<Option<String>>, i64> = BTreeMap::new();
    for row in expected {
        *balance.entry(row).or_default() += 1;
    }
    for row in actual {
        *balance.entry(row).or_default() -= 1;
    }
    let missing: Vec<_> = balance
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(r, n)| format!("{r:?} x{n}"))
        .collect();
    let extra: Vec<_> = balance
        .iter()
        .filter(|(_, n)| **n < 0)
        .map(|(r, n)| format!("{r:?} x{}", -n))
        .collect();
    if missing.is_empty() && extra.is_empty() {
        return None;
    }
    Some(format!(
        "{} expected rows, {} actual; missing {} (e.g. {:?}); unexpected {} (e.g. {:?})",
        expected.len(),
        actual.len(),
        missing.len(),
        missing.iter().take(3).collect::<Vec<_>>(),
        extra.len(),
        extra.iter().take(3).collect::<Vec<_>>()
    ))
}

/// Renders batches as text rows: integers plainly, decimals with their scale, timestamps as
/// `YYYY-MM-DD HH:MM:SS.mmm` (UTC) and dates as `YYYY-MM-DD`, as MySQL casts them to text.
pub fn batches_as_text(batches: &[RecordBatch]) -> Result<Vec<Vec<Option<String>>>> {
    let mut rows = Vec::new();
    for batch in batches {
        for row in 0..batch.num_rows() {
            rows.push(
                batch
                    .columns()
                    .iter()
                    .map(|column| cell_as_text(column.as_ref(), row))
                    .collect::<Result<Vec<_>>>()?,
            );
        }
    }
    Ok(rows)
}

fn cell_as_text(column: &dyn Array, row: usize) -> Result<Option<String>> {
    if column.is_null(row) {
        return Ok(None);
    }
    let text = match column.data_type() {
        DataType::Int8 => column.as_primitive::<Int8Type>().value(row).to_string(),
        DataType::Int16 => column.as_primitive::<Int16Type>().value(row).to_string(),
        DataType::Int32 => column.as_primitive::<Int32Type>().value(row).to_string(),
        DataType::Int64 => column.as_primitive::<Int64Type>().value(row).to_string(),
        DataType::Float64 => column.as_primitive::<Float64Type>().value(row).to_string(),
        DataType::Utf8 => column.as_string::<i32>().value(row).to_owned(),
        DataType::Utf8View => column.as_string_view().value(row).to_owned(),
        DataType::Decimal128(_, scale) => {
            let value = column.as_primitive::<Decimal128Type>().value(row);
            decimal_text(value, *scale)
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            lakehouse_core::types::format_timestamp_millis(column.as_primitive::<TimestampMicrosecondType>().value(row))
        }
        DataType::Date32 => {
            let days = column.as_primitive::<Date32Type>().value(row);
            let date =
                chrono::NaiveDate::from_ymd_opt(1970, 1, 1).context("epoch")? + chrono::Duration::days(days.into());
            date.format("%Y-%m-%d").to_string()
        }
        other => bail!("no text form for {other}"),
    };
    Ok(Some(text))
}

fn decimal_text(value: i128, scale: i8) -> String {
    if scale <= 0 {
        return value.to_string();
    }
    let factor = 10_i128.pow(scale as u32);
    let sign = if value < 0 { "-" } else { "" };
    format!(
        "{sign}{}.{:0width$}",
        value.abs() / factor,
        value.abs() % factor,
        width = scale as usize
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_keep_their_scale() {
        assert_eq!(decimal_text(28097742, 2), "280977.42");
        assert_eq!(decimal_text(5, 2), "0.05");
        assert_eq!(decimal_text(-150, 2), "-1.50");
        assert_eq!(decimal_text(7, 0), "7");
    }

    #[test]
    fn differences_name_missing_and_unexpected_rows() {
        let row = |v: &str| vec![Some(v.to_owned())];
        assert_eq!(difference(&[row("a"), row("b")], &[row("b"), row("a")]), None);
        let diff = difference(&[row("a"), row("a")], &[row("a"), row("c")]).unwrap();
        assert!(diff.contains("missing 1") && diff.contains("unexpected 1"), "{diff}");
    }
}
