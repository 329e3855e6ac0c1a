//! Quarantine for whole files: a landing file that can never be ingested is copied to
//! `quarantine/_files/<its landing path>` beside a `.reason.json` saying why, so nothing is lost
//! and the rest of the batch goes on. (Rows that break a rule are quarantined by the refine
//! stage, in the `quarantine/<table>` Delta tables.)

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::lake::{Lake, Layer};

/// The folder of the quarantine layer that holds whole files.
pub const FILES: &str = "_files";

/// Why a file was quarantined.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileQuarantine {
    pub table: String,
    pub source_file: String,
    pub reason: String,
    pub quarantined_at: String,
}

/// Copies `relative` from `layer` into the quarantine with its reason. Idempotent.
pub async fn quarantine_file(lake: &Lake, layer: Layer, relative: &str, table: &str, reason: &str) -> Result<()> {
    tracing::warn!(table, file = relative, reason, "file quarantined");
    let target = format!("{FILES}/{relative}");
    if let Some(bytes) = lake.get(layer, relative).await? {
        lake.put(Layer::Quarantine, &target, bytes).await?;
    }
    let record = FileQuarantine {
        table: table.to_owned(),
        source_file: relative.to_owned(),
        reason: reason.to_owned(),
        quarantined_at: chrono::Utc::now().to_rfc3339(),
    };
    lake.put_json(Layer::Quarantine, &format!("{target}.reason.json"), &record)
        .await
}

/// Every quarantined file with its reason.
pub async fn quarantined_files(lake: &Lake) -> Result<Vec<FileQuarantine>> {
    let mut found = Vec::new();
    for meta in lake.list(Layer::Quarantine, FILES, ".reason.json").await? {
        let Some(relative) = lake.relative(Layer::Quarantine, &meta.location) else {
            continue;
        };
        if let Some(record) = lake.get_json(Layer::Quarantine, &relative).await? {
            found.push(record);
        }
    }
    Ok(found)
}
