//! The command line, as clap parses it.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};
use lakehouse_io::catalog::DEFAULT_PREFIX;
use lakehouse_io::query::AsOf;

/// A serverless lakehouse, run locally: MySQL or SQLite → Bronze, Silver and Gold Delta tables.
#[derive(Debug, Parser)]
#[command(name = "lakehouse", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub places: Places,

    /// More log output on stderr (-v: stage events, -vv: debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

/// Where the source, the lake and the pipeline definition are.
#[derive(Debug, Args)]
pub struct Places {
    /// The source database: mysql://user:password@host:3306/db or sqlite://path/to/file.db.
    #[arg(
        long,
        global = true,
        env = "LAKEHOUSE_SOURCE_URL",
        hide_env_values = true,
        default_value = "sqlite://.lakehouse/shop.db"
    )]
    pub source: String,

    /// The lake: a folder (created if missing).
    #[arg(long, global = true, env = "LAKEHOUSE_LAKE", default_value = ".lakehouse/lake")]
    pub lake: String,

    /// The pipeline definition folder; the built-in shop pipeline if not given and
    /// ./pipelines/shop does not exist.
    #[arg(long, global = true, env = "LAKEHOUSE_PIPELINE")]
    pub pipeline: Option<PathBuf>,

    /// A Slack incoming webhook for alerts (quarantined files and rows); without one, alerts are
    /// printed on stderr.
    #[arg(long, global = true, env = "LAKEHOUSE_SLACK_WEBHOOK_URL", hide_env_values = true)]
    pub slack_webhook: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the shop schema and seed it; on a seeded source, simulate a round of activity.
    Seed(SeedArgs),
    /// Extract the rows changed since the last extraction into landing/ as Parquet.
    Extract,
    /// Append landing files not yet in Bronze.
    Ingest,
    /// Merge what Bronze gained into Silver, quarantining rows that break a rule.
    Refine,
    /// Rebuild the Gold tables from Silver.
    Gold,
    /// One pass: extract, ingest, refine, gold.
    Run,
    /// Seed, run, simulate activity, run again, and show what the lakehouse holds.
    Demo(SeedArgs),
    /// Run SQL over the lake (tables bronze.orders, silver.orders, gold.daily_sales, …), as it is
    /// now or as it was (--as-of, --version), or in Athena (--athena).
    Query(QueryArgs),
    /// Compact small files, write checkpoints and vacuum, in every Delta table.
    Maintain(MaintainArgs),
    /// Register every Delta table in the local catalog, or with --glue in the Glue Data Catalog.
    Catalog(CatalogArgs),
    /// List the catalog's tables (local, or --glue) with location, version and row count.
    Tables(GlueArgs),
    /// Each table's Delta version and row count, and each source table's watermark.
    Status,
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// Seed for the data generator: the same seed gives the same data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Customers in a first seed (activity rounds add about 5% more).
    #[arg(long, default_value_t = 1_000)]
    pub customers: u64,
    /// Products in a first seed.
    #[arg(long, default_value_t = 200)]
    pub products: u64,
    /// Orders in a first seed, about three items each.
    #[arg(long, default_value_t = 3_000)]
    pub orders: u64,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The SQL to run (DataFusion's dialect locally, Trino's in Athena).
    pub sql: String,
    /// How to print the result.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Read every table as it was at this time: 2026-11-26T09:30:00Z, or a date for its midnight UTC.
    #[arg(long, value_parser = parse_time, conflicts_with = "athena")]
    pub as_of: Option<DateTime<Utc>>,
    /// Read one table at a version: --version silver.orders=3 (repeatable; wins over --as-of).
    #[arg(long = "version", value_name = "TABLE=VERSION", value_parser = AsOf::parse_version, conflicts_with = "athena")]
    pub versions: Vec<(String, u64)>,
    /// Run the SQL in Athena, over the tables registered in Glue, instead of locally.
    #[arg(long)]
    pub athena: bool,
    /// The Athena workgroup (it holds the results location).
    #[arg(
        long,
        env = "LAKEHOUSE_ATHENA_WORKGROUP",
        default_value = "primary",
        requires = "athena"
    )]
    pub workgroup: String,
    /// The Glue database unqualified table names resolve in, e.g. lakehouse_gold.
    #[arg(long, env = "LAKEHOUSE_ATHENA_DATABASE", requires = "athena")]
    pub database: Option<String>,
    /// How long to wait for Athena, in seconds.
    #[arg(long, default_value_t = 600, requires = "athena")]
    pub timeout: u64,
}

#[derive(Debug, Args)]
pub struct MaintainArgs {
    /// Hours that files removed from a table stay for readers of older versions (at least 24).
    #[arg(long, default_value_t = 168)]
    pub retention_hours: i64,
}

/// Which catalog: the local one, or Glue's.
#[derive(Debug, Args)]
pub struct GlueArgs {
    /// Use the AWS Glue Data Catalog, reached through the usual AWS environment.
    #[arg(long)]
    pub glue: bool,
    /// Catalog databases are <prefix>bronze, <prefix>silver, <prefix>gold, <prefix>quarantine.
    #[arg(long, env = "LAKEHOUSE_GLUE_DATABASE_PREFIX", default_value = DEFAULT_PREFIX)]
    pub prefix: String,
}

#[derive(Debug, Args)]
pub struct CatalogArgs {
    #[command(flatten)]
    pub catalog: GlueArgs,
    /// A Glue crawler to start after registering (one already running is fine).
    #[arg(long, env = "LAKEHOUSE_GLUE_CRAWLER", requires = "glue")]
    pub crawler: Option<String>,
}

/// A time as RFC 3339, or a date meaning its midnight UTC.
fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(|day| day.and_time(chrono::NaiveTime::MIN).and_utc())
        .map_err(|_| format!("{text:?}: expected a time like 2026-11-26T09:30:00Z or a date like 2026-11-26"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
}
