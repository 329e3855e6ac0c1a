//! The pipeline's stages, each a library function the `lakehouse` command and the Lambda
//! functions call alike: extract, ingest (Bronze), refine (Silver), gold, and maintenance.

pub mod extract;
pub mod gold;
pub mod ingest;
pub mod maintain;
pub mod quarantine;
pub mod refine;

use lakehouse_core::Pipeline;

pub use extract::{ExtractOptions, ExtractReport, extract};
pub use gold::{GoldReport, build_gold};
pub use ingest::{IngestReport, LandingFile, ingest_files, ingest_pending};
pub use maintain::{MaintainOptions, TableMaintenance, maintain};
pub use refine::{TableRefine, refine};

use crate::error::Result;
use crate::lake::Lake;
use crate::source::Source;

/// What one pass of the whole pipeline did.
#[derive(Debug, Clone)]
pub struct PassReport {
    pub extract: ExtractReport,
    pub ingest: IngestReport,
    pub refine: Vec<TableRefine>,
    pub gold: Vec<GoldReport>,
}

/// One pass: extract, ingest, refine, gold.
pub async fn run_pass(
    source: &Source,
    lake: &Lake,
    pipeline: &Pipeline,
    options: ExtractOptions,
) -> Result<PassReport> {
    let extract = extract(source, lake, pipeline, options).await?;
    let ingest = ingest_pending(lake, pipeline).await?;
    let refine = refine(lake, pipeline).await?;
    let gold = build_gold(lake, pipeline).await?;
    Ok(PassReport {
        extract,
        ingest,
        refine,
        gold,
    })
}
