//! What each command does: open what it needs, call the library, print the outcome.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;
use lakehouse_core::Pipeline;
use lakehouse_io::source::SeedSizes;
use lakehouse_io::stages::{self, ExtractOptions};
use lakehouse_io::{Lake, Source, SourceUrl, query, status};

use crate::args::{Cli, Command, Places, SeedArgs};
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
        }
        Command::Refine => {
            let (lake, pipeline) = (open_lake(&places)?, load_pipeline(&places)?);
            let progress = Progress::start("refining silver");
            let report = stages::refine(&lake, &pipeline).await?;
            progress.done();
            output::refine(&report);
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
            progress.done();
            output::pass(&report);
        }
        Command::Demo(args) => demo(&places, &args).await?,
        Command::Query(args) => {
            let lake = open_lake(&places)?;
            let batches = query::query(&lake, &args.sql).await?;
            output::batches(&batches, args.format)?;
        }
        Command::Status => {
            let (lake, pipeline) = (open_lake(&places)?, load_pipeline(&places)?);
            output::status(&status::status(&lake, &pipeline).await?)?;
        }
    }
    Ok(())
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
    progress.done();
    println!("\nPass 2");
    output::pass(&second);

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
