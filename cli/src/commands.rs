//! What each command does: open what it needs, call the library, print the outcome.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Result;
use lakehouse_core::Pipeline;
use lakehouse_io::alert::{self, Incident, Notifier};
use lakehouse_io::athena::{Athena, AthenaTarget};
use lakehouse_io::catalog::{self, glue::Glue};
use lakehouse_io::query::{self, AsOf};
use lakehouse_io::source::SeedSizes;
use lakehouse_io::stages::{self, ExtractOptions, MaintainOptions, PassReport};
use lakehouse_io::{Lake, Source, SourceUrl, status};

use crate::args::{Cli, Command, Places, QueryArgs, SeedArgs};
use crate::output::{self, Progress};

pub async fn run(cli: Cli) -> Result<()> {
    let places = cli.places;
    match cli.command {
        Command::Seed(args) => {
            let source = connect(&places).await?;
            let progress = Progress::start("seeding the source");
            let report = source.seed(sizes(&args), args.seed).await?;
            progress.done();
            output::seed(&report);
        }
        Command::Extract => {
            let (source, lake, pipeline) = (connect(&places).await?, open_lake(&places)?, load_pipeline(&places)?);
            let progress = Progress::start("extracting");
            let report = stages::extract(&source, &lake, &pipeline, ExtractOptions::default()).await?;
            progress.done();
            output::extract(&report);
        }
        Command::Ingest => {
            let (lake, pipeline) = (open_lake(&places)?, load_pipeline(&places)?);
            let progress = Progress::start("ingesting into bronze");
            let report = stages::ingest_pending(&lake, &pipeline).await?;
            progress.done();
            output::ingest(&report);
            send_alerts(&places, alert::quarantined_files(&report, None)).await?;
        }
        Command::Refine => {
            let (lake, pipeline) = (open_lake(&places)?, load_pipeline(&places)?);
            let progress = Progress::start("refining silver");
            let report = stages::refine(&lake, &pipeline).await?;
            progress.done();
            output::refine(&report);
            send_alerts(&places, alert::quarantined_rows(&report, None)).await?;
        }
        Command::Gold => {
            let (lake, pipeline) = (open_lake(&places)?, load_pipeline(&places)?);
            let progress = Progress::start("building gold");
            let report = stages::build_gold(&lake, &pipeline).await?;
            progress.done();
            output::gold(&report);
        }
        Command::Run => {
            let (source, lake, pipeline) = (connect(&places).await?, open_lake(&places)?, load_pipeline(&places)?);
            let progress = Progress::start("running one pass");
            let report = stages::run_pass(&source, &lake, &pipeline, ExtractOptions::default()).await?;
            catalog::sync_local(&lake, catalog::DEFAULT_PREFIX).await?;
            progress.done();
            output::pass(&report);
            send_alerts(&places, pass_incidents(&report)).await?;
        }
        Command::Demo(args) => demo(&places, &args).await?,
        Command::Query(args) => query(&places, args).await?,
        Command::Maintain(args) => {
            let lake = open_lake(&places)?;
            let options = MaintainOptions {
                retention: chrono::TimeDelta::hours(args.retention_hours),
                ..MaintainOptions::default()
            };
            let progress = Progress::start("maintaining tables");
            let report = stages::maintain(&lake, options).await?;
            progress.done();
            output::maintenance(&report);
        }
        Command::Catalog(args) => {
            let lake = open_lake(&places)?;
            let report = if args.catalog.glue {
                let glue = Glue::from_env().await;
                let report = glue.sync(&lake, &args.catalog.prefix).await?;
                if let Some(crawler) = &args.crawler {
                    output::crawler(crawler, glue.start_crawler(crawler).await?);
                }
                report
            } else {
                catalog::sync_local(&lake, &args.catalog.prefix).await?
            };
            output::catalog(&report);
        }
        Command::Tables(args) => {
            let lake = open_lake(&places)?;
            let definitions = if args.glue {
                Glue::from_env().await.tables(&args.prefix).await?
            } else {
                catalog::lake_definitions(&lake, &args.prefix).await?
            };
            output::tables(&catalog::listing(&lake, definitions).await?);
        }
        Command::Status => {
            let (lake, pipeline) = (open_lake(&places)?, load_pipeline(&places)?);
            output::status(&status::status(&lake, &pipeline).await?)?;
        }
    }
    Ok(())
}

/// The quarantine incidents of a pass.
fn pass_incidents(report: &PassReport) -> Vec<Incident> {
    let mut incidents = alert::quarantined_files(&report.ingest, None);
    incidents.extend(alert::quarantined_rows(&report.refine, None));
    incidents
}

/// Sends incidents to the Slack webhook when one is configured, else prints them on stderr.
async fn send_alerts(places: &Places, incidents: Vec<Incident>) -> Result<()> {
    if !incidents.is_empty() {
        Notifier::to_webhook_or_stderr(places.slack_webhook.clone())?
            .notify(incidents)
            .await?;
    }
    Ok(())
}

/// Runs SQL locally over the lake (now or as it was), or in Athena.
async fn query(places: &Places, args: QueryArgs) -> Result<()> {
    let batches = if args.athena {
        let target = AthenaTarget {
            workgroup: args.workgroup,
            database: args.database,
            timeout: Duration::from_secs(args.timeout),
        };
        let result = Athena::from_env().await.query(&args.sql, &target).await?;
        vec![result.to_batch()?]
    } else {
        let as_of = AsOf {
            time: args.as_of,
            versions: args.versions.into_iter().collect(),
        };
        query::query_as_of(&open_lake(places)?, &args.sql, &as_of).await?
    };
    output::batches(&batches, args.format)
}

/// Seed, run, simulate activity, run again, then show what the lakehouse holds.
async fn demo(places: &Places, args: &SeedArgs) -> Result<()> {
    let started = Instant::now();
    let (source, lake, pipeline) = (connect(places).await?, open_lake(places)?, load_pipeline(places)?);
    println!("Lakehouse demo: source {}, lake {}\n", source.url(), lake);

    let progress = Progress::start("seeding the source");
    let seeded = source.seed(sizes(args), args.seed).await?;
    progress.done();
    output::seed(&seeded);

    let progress = Progress::start("pass 1: extract, ingest, refine, gold");
    let first = stages::run_pass(&source, &lake, &pipeline, ExtractOptions::default()).await?;
    progress.done();
    println!("\nPass 1");
    output::pass(&first);

    let progress = Progress::start("simulating business activity");
    let activity = source.seed(sizes(args), args.seed).await?;
    progress.done();
    println!();
    output::seed(&activity);

    let progress = Progress::start("pass 2: extract, ingest, refine, gold");
    let second = stages::run_pass(&source, &lake, &pipeline, ExtractOptions::default()).await?;
    catalog::sync_local(&lake, catalog::DEFAULT_PREFIX).await?;
    progress.done();
    println!("\nPass 2");
    output::pass(&second);
    println!();
    send_alerts(places, [pass_incidents(&first), pass_incidents(&second)].concat()).await?;

    println!();
    output::status(&status::status(&lake, &pipeline).await?)?;
    output::quarantine(&lake).await?;
    output::gold_samples(&lake, &pipeline).await?;
    println!(
        "\nDone in {:.1} s. Explore with: lakehouse query \"SELECT * FROM gold.daily_sales ORDER BY order_date DESC LIMIT 10\"",
        started.elapsed().as_secs_f64()
    );
    source.close().await;
    Ok(())
}

fn sizes(args: &SeedArgs) -> SeedSizes {
    SeedSizes {
        customers: args.customers,
        products: args.products,
        orders: args.orders,
    }
}

async fn connect(places: &Places) -> Result<Source> {
    let url = SourceUrl::parse(&places.source)?;
    Ok(Source::connect(&url).await?)
}

fn open_lake(places: &Places) -> Result<Lake> {
    Ok(Lake::from_env(&places.lake)?)
}

/// The pipeline folder given, else `./pipelines/shop` when present, else the built-in one.
fn load_pipeline(places: &Places) -> Result<Pipeline> {
    let local = PathBuf::from("pipelines/shop");
    let dir: Option<&Path> = match &places.pipeline {
        Some(dir) => Some(dir),
        None if local.join("pipeline.toml").is_file() => Some(&local),
        None => None,
    };
    match dir {
        Some(dir) => Ok(Pipeline::load(dir)?),
        None => Ok(lakehouse_core::pipeline::shop()?),
    }
}
