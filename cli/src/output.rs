//! How results are shown: short summaries on stdout, tables through Arrow's pretty printer, and
//! a spinner on stderr only when it is a terminal.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::Result;
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use arrow::util::pretty::pretty_format_batches;
use indicatif::{ProgressBar, ProgressStyle};
use lakehouse_core::Pipeline;
use lakehouse_io::catalog::glue::CrawlerRun;
use lakehouse_io::catalog::{Listed, SyncReport};
use lakehouse_io::source::SeedReport;
use lakehouse_io::stages::quarantine::quarantined_files;
use lakehouse_io::stages::{ExtractReport, GoldReport, IngestReport, PassReport, TableMaintenance, TableRefine};
use lakehouse_io::status::Status;
use lakehouse_io::{Lake, Layer, query};

use crate::args::Format;

/// A spinner for a long step, shown only on a terminal.
pub struct Progress(Option<ProgressBar>);

impl Progress {
    pub fn start(message: &'static str) -> Self {
        if !std::io::stderr().is_terminal() {
            return Self(None);
        }
        let bar = ProgressBar::new_spinner().with_message(message);
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(120));
        Self(Some(bar))
    }

    pub fn done(self) {
        if let Some(bar) = self.0 {
            bar.finish_and_clear();
        }
    }
}

fn counts(map: &std::collections::BTreeMap<&'static str, u64>) -> String {
    if map.is_empty() {
        return "none".into();
    }
    map.iter()
        .map(|(t, n)| format!("{t} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn seed(report: &SeedReport) {
    if report.initial {
        println!("Seeded: {}", counts(&report.inserted));
    } else {
        println!("Activity: inserted {}", counts(&report.inserted));
        println!("  updated {}", counts(&report.updated));
        println!("  soft-deleted {}", counts(&report.soft_deleted));
        println!(
            "  broke a rule {}; fixed {}",
            counts(&report.broken),
            counts(&report.fixed)
        );
    }
}

pub fn extract(report: &ExtractReport) {
    for t in &report.tables {
        println!("extract  {:<12} {:>8} rows  {} file(s)", t.table, t.rows, t.files.len());
    }
}

pub fn ingest(report: &IngestReport) {
    println!(
        "ingest   {} file(s), {} rows into bronze; {} already there; {} quarantined",
        report.files_ingested,
        report.rows,
        report.files_skipped,
        report.files_quarantined.len()
    );
    for (file, reason) in &report.files_quarantined {
        println!("  quarantined {file}: {reason}");
    }
    for file in &report.files_ignored {
        println!("  ignored {file} (no such table in the pipeline)");
    }
}

pub fn refine(report: &[TableRefine]) {
    for t in report {
        if t.up_to_date {
            println!("refine   {:<12} up to date", t.table);
        } else {
            println!(
                "refine   {:<12} {:>8} changed keys  {} deleted  {} quarantined",
                t.table, t.changed_keys, t.deleted, t.quarantined
            );
        }
    }
}

pub fn gold(report: &[GoldReport]) {
    for g in report {
        match g.rows {
            Some(rows) => println!(
                "gold     {:<14} {rows:>6} rows (version {})",
                g.table,
                g.version.unwrap_or_default()
            ),
            None if !g.waiting_for.is_empty() => {
                println!("gold     {:<14} waiting for {}", g.table, g.waiting_for.join(", "))
            }
            None => println!("gold     {:<14} up to date", g.table),
        }
    }
}

pub fn pass(report: &PassReport) {
    extract(&report.extract);
    ingest(&report.ingest);
    refine(&report.refine);
    gold(&report.gold);
}

pub fn status(status: &Status) -> Result<()> {
    println!("{:<11} {:<14} {:>8} {:>10}", "layer", "table", "version", "rows");
    for t in &status.tables {
        println!("{:<11} {:<14} {:>8} {:>10}", t.layer.name(), t.table, t.version, t.rows);
    }
    println!("\n{:<14} {:<25} last key", "source table", "watermark (UTC)");
    for w in &status.watermarks {
        let watermark = w.watermark.as_deref().unwrap_or("not extracted yet");
        let key = w.last_key.map(|k| k.to_string()).unwrap_or_default();
        println!("{:<14} {watermark:<25} {key}", w.table);
    }
    Ok(())
}

pub fn maintenance(report: &[TableMaintenance]) {
    println!(
        "{:<24} {:>9} {:>8} {:>11} {:>9}",
        "table", "compacted", "written", "checkpoint", "vacuumed"
    );
    for t in report {
        let checkpoint = t.checkpoint.map_or_else(|| "-".to_owned(), |v| v.to_string());
        println!(
            "{:<24} {:>9} {:>8} {checkpoint:>11} {:>9}{}",
            t.table,
            t.files_compacted,
            t.files_written,
            t.files_vacuumed,
            t.skipped
                .as_ref()
                .map(|_| "  (compaction skipped: a writer committed meanwhile)")
                .unwrap_or_default()
        );
    }
}

pub fn catalog(report: &SyncReport) {
    println!(
        "catalog: {} created, {} updated, {} unchanged",
        report.created.len(),
        report.updated.len(),
        report.unchanged.len()
    );
    for (what, tables) in [("created", &report.created), ("updated", &report.updated)] {
        for table in tables {
            println!("  {what} {table}");
        }
    }
}

pub fn crawler(name: &str, run: CrawlerRun) {
    let outcome = match run {
        CrawlerRun::Started => "started",
        CrawlerRun::AlreadyRunning => "already running; its run will see the changes",
        CrawlerRun::Throttled => "throttled; the next run will see the changes",
    };
    println!("crawler {name}: {outcome}");
}

pub fn tables(listed: &[Listed]) {
    println!(
        "{:<28} {:<14} {:>8} {:>10}  location",
        "database", "table", "version", "rows"
    );
    for t in listed {
        let version = t.version.map_or_else(|| "-".to_owned(), |v| v.to_string());
        let rows = t.rows.map_or_else(|| "-".to_owned(), |r| r.to_string());
        println!(
            "{:<28} {:<14} {version:>8} {rows:>10}  {}",
            t.database, t.name, t.location
        );
    }
}

/// Quarantined rows counted by table and rule, and quarantined files with their reasons.
pub async fn quarantine(lake: &Lake) -> Result<()> {
    let tables = lake.tables(Layer::Quarantine).await?;
    if !tables.is_empty() {
        let sql = tables
            .iter()
            .map(|t| format!("SELECT '{t}' AS \"table\", _failed_rule AS rule, _failed_check AS \"check\", COUNT(*) AS \"rows\" FROM quarantine.\"{t}\" GROUP BY _failed_rule, _failed_check"))
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        let batches = query::query(lake, &format!("SELECT * FROM ({sql}) ORDER BY \"table\", rule")).await?;
        println!("\nQuarantined rows (latest version of each key breaks the rule)");
        println!("{}", pretty_format_batches(&batches)?);
    }
    let files = quarantined_files(lake).await?;
    if !files.is_empty() {
        println!("\nQuarantined files");
        for f in files {
            println!("  {}: {}", f.source_file, f.reason);
        }
    }
    Ok(())
}

/// The top rows of each Gold table, by its first decimal column.
pub async fn gold_samples(lake: &Lake, pipeline: &Pipeline) -> Result<()> {
    let ctx = query::lake_session(lake).await?;
    for gold in &pipeline.gold {
        let frame = ctx.table(format!("gold.{}", gold.name)).await?;
        let order = frame
            .schema()
            .fields()
            .iter()
            .find(|f| matches!(f.data_type(), DataType::Decimal128(..)))
            .map(|f| format!(" ORDER BY \"{}\" DESC", f.name()))
            .unwrap_or_default();
        let batches = ctx
            .sql(&format!("SELECT * FROM gold.{}{order} LIMIT 5", gold.name))
            .await?
            .collect()
            .await?;
        println!("\ngold.{}{}", gold.name, if order.is_empty() { "" } else { " (top 5)" });
        println!("{}", pretty_format_batches(&batches)?);
    }
    Ok(())
}

/// Prints query results as a table, CSV or JSON lines.
pub fn batches(batches: &[RecordBatch], format: Format) -> Result<()> {
    let stdout = std::io::stdout();
    match format {
        Format::Table => println!("{}", pretty_format_batches(batches)?),
        Format::Csv => {
            let mut writer = arrow::csv::WriterBuilder::new().with_header(true).build(stdout.lock());
            for batch in batches {
                writer.write(batch)?;
            }
        }
        Format::Json => {
            let mut writer = arrow::json::LineDelimitedWriter::new(stdout.lock());
            for batch in batches {
                writer.write(batch)?;
            }
            writer.finish()?;
        }
    }
    Ok(())
}
