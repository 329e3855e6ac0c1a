//! Table maintenance, on a schedule: small files compacted, a checkpoint written so that opening
//! a table reads one file instead of its whole log, and files no version within the retention
//! period still needs vacuumed.
//!
//! Compaction commits with `dataChange: false`, so the stages that read what a table gained
//! (Silver from Bronze) skip its files. Vacuum never goes below [`MIN_RETENTION`]: a reader that
//! opened a version before the compaction keeps its files for at least that long.

use std::num::NonZeroU64;

use chrono::TimeDelta;
use deltalake::DeltaTable;
use serde::Serialize;

use crate::catalog::lake_tables;
use crate::delta;
use crate::error::{Error, Result};
use crate::lake::{Lake, Layer};

/// The shortest retention vacuum accepts.
pub const MIN_RETENTION: TimeDelta = TimeDelta::days(1);

#[derive(Debug, Clone, Copy)]
pub struct MaintainOptions {
    /// The size compaction aims each file at.
    pub target_file_bytes: NonZeroU64,
    /// How long files removed from the table are kept for readers of older versions.
    pub retention: TimeDelta,
}

impl Default for MaintainOptions {
    fn default() -> Self {
        Self {
            target_file_bytes: NonZeroU64::new(128 << 20).unwrap_or(NonZeroU64::MIN),
            retention: TimeDelta::days(7),
        }
    }
}

/// What maintaining one table did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TableMaintenance {
    pub table: String,
    /// Small files replaced by compaction, and the files that replaced them.
    pub files_compacted: u64,
    pub files_written: u64,
    /// The version the checkpoint was written at.
    pub checkpoint: Option<u64>,
    /// Files no longer referenced by any version within the retention, deleted.
    pub files_vacuumed: u64,
    /// Set when another writer committed during compaction; the next run compacts.
    pub skipped: Option<String>,
}

/// Maintains every Delta table of the lake.
pub async fn maintain(lake: &Lake, options: MaintainOptions) -> Result<Vec<TableMaintenance>> {
    if options.retention < MIN_RETENTION {
        return Err(Error::State {
            path: "maintenance".into(),
            reason: format!(
                "a retention of {} h could delete files a reader still needs; the least is {} h",
                options.retention.num_hours(),
                MIN_RETENTION.num_hours()
            ),
        });
    }
    let mut done = Vec::new();
    for found in lake_tables(lake).await? {
        let name = format!("{}.{}", found.layer.name(), found.name);
        done.push(maintain_table(lake, found.layer, &found.name, found.table, name, options).await?);
    }
    Ok(done)
}

async fn maintain_table(
    lake: &Lake,
    layer: Layer,
    name: &str,
    table: DeltaTable,
    qualified: String,
    options: MaintainOptions,
) -> Result<TableMaintenance> {
    let mut report = TableMaintenance {
        table: qualified,
        ..TableMaintenance::default()
    };
    let url = table.table_url().clone();
    match table.optimize().with_target_size(options.target_file_bytes).await {
        Ok((_, metrics)) => {
            report.files_compacted = metrics.num_files_removed;
            report.files_written = metrics.num_files_added;
        }
        Err(e) => {
            let error = Error::delta(&url)(e);
            if !delta::is_conflict(&error) {
                return Err(error);
            }
            report.skipped = Some(error.to_string());
        }
    }
    // Reopened: compaction's commit (if any) is in the checkpoint.
    let table = delta::open_in(lake, layer, name).await?;
    deltalake::checkpoints::create_checkpoint(&table, None)
        .await
        .map_err(Error::delta(&url))?;
    report.checkpoint = table.version();
    let (_, vacuumed) = table
        .vacuum()
        .with_retention_period(options.retention)
        .await
        .map_err(Error::delta(&url))?;
    report.files_vacuumed = vacuumed.files_deleted.len() as u64;
    tracing::info!(
        table = %report.table,
        compacted = report.files_compacted,
        checkpoint = ?report.checkpoint,
        vacuumed = report.files_vacuumed,
        "table maintained"
    );
    Ok(report)
}
