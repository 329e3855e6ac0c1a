//! The command line, as clap parses it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
    /// Run SQL over the lake; tables are named bronze.orders, silver.orders, gold.daily_sales, …
    Query(QueryArgs),
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
    /// The SQL to run (DataFusion dialect).
    pub sql: String,
    /// How to print the result.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
}
