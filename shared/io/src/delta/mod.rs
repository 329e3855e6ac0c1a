//! Delta tables through delta-rs: opening, the application-transaction markers that make every
//! stage exactly-once, reading what a table gained between two versions, and registering
//! tables with a DataFusion session.

use std::collections::HashMap;

use datafusion::prelude::SessionContext;
use deltalake::kernel::transaction::{CommitProperties, TransactionError};
use deltalake::kernel::{LogicalFileView, Transaction};
use deltalake::{DeltaTable, DeltaTableBuilder, DeltaTableError, Path};
use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use url::Url;

use crate::error::{Error, Result};
use crate::lake::{Lake, Layer};

pub mod deletion_vectors;
mod distinct_count;
mod scan;
mod session;
mod upsert;
pub use session::session;
pub use upsert::{UpsertReport, upsert};

/// How often a stage re-reads and retries after losing a commit race to another writer.
pub const MAX_CONFLICT_RETRIES: usize = 8;

/// Opens the table at `url`; a location without a table yet opens as an empty, unversioned table.
/// (Asking delta-rs to load a location without a log would work too, but logs an error.)
pub async fn open(url: &Url, storage_options: HashMap<String, String>) -> Result<DeltaTable> {
    let mut table = DeltaTableBuilder::from_url(url.clone())
        .and_then(|b| b.with_storage_options(storage_options).build())
        .map_err(Error::delta(url))?;
    let log = table.log_store().object_store(None);
    let has_commits = log
        .list(Some(&Path::from("_delta_log")))
        .try_next()
        .await
        .map_err(Error::object(format!("{url}_delta_log")))?
        .is_some();
    if has_commits {
        table.load().await.map_err(Error::delta(url))?;
    }
    Ok(table)
}

/// Opens `name` in `layer` of the lake.
pub async fn open_in(lake: &Lake, layer: Layer, name: &str) -> Result<DeltaTable> {
    open(&lake.table_url(layer, name)?, lake.storage_options()).await
}

/// Opens the tables `names` of `layer` at once: on S3 each open is a few round trips.
pub async fn open_all_in<'a>(
    lake: &Lake,
    layer: Layer,
    names: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<DeltaTable>> {
    futures::future::try_join_all(names.into_iter().map(|name| open_in(lake, layer, name))).await
}

/// A table version as a marker value (markers are signed in the Delta protocol).
pub fn marker_value(version: u64) -> i64 {
    i64::try_from(version).unwrap_or(i64::MAX)
}

/// The version recorded for `app_id` by an application transaction, if any.
pub async fn marker(table: &DeltaTable, app_id: &str) -> Result<Option<i64>> {
    if table.version().is_none() {
        return Ok(None);
    }
    let state = table.snapshot().map_err(Error::delta(table.table_url()))?;
    state
        .transaction_version(table.log_store().as_ref(), app_id)
        .await
        .map_err(Error::delta(table.table_url()))
}

/// Commit properties recording `markers` (app id, version) atomically with the data of a commit
/// on `table`.
///
/// A commit that creates the table must not be retried by delta-rs: when another writer created
/// version 0 first, delta-rs 1.1 re-bases the loser on the latest version without checking it
/// for conflicts, so the same marker could be committed twice. With no retries the loser fails
/// with a conflict instead, and the caller re-reads the table and finds the marker.
pub fn with_markers(table: &DeltaTable, markers: impl IntoIterator<Item = (String, i64)>) -> CommitProperties {
    let transactions: Vec<Transaction> = markers.into_iter().map(|(app, v)| Transaction::new(app, v)).collect();
    let properties = CommitProperties::default().with_application_transactions(transactions);
    if table.version().is_none() {
        properties.with_max_retries(0)
    } else {
        properties
    }
}

/// Whether an error means another writer committed first, so re-reading and retrying can help.
pub fn is_conflict(error: &Error) -> bool {
    matches!(
        error,
        Error::Delta {
            source: DeltaTableError::Transaction {
                source: TransactionError::CommitConflict(_)
                    | TransactionError::VersionAlreadyExists(_)
                    | TransactionError::MaxCommitAttempts(_)
            } | DeltaTableError::VersionAlreadyExists(_),
            ..
        }
    )
}

/// The data files `table` gained in versions `after + 1 ..= upto`, or `None` if some of those
/// commits are no longer in the log (expired), in which case a caller reads the whole table.
/// Files added by maintenance (`dataChange: false`) hold no new rows and are left out.
pub async fn added_files(table: &DeltaTable, after: u64, upto: u64) -> Result<Option<Vec<String>>> {
    let log_store = table.log_store();
    let mut files = Vec::new();
    for version in (after + 1)..=upto {
        let Some(bytes) = log_store
            .read_commit_entry(version)
            .await
            .map_err(Error::delta(table.table_url()))?
        else {
            return Ok(None);
        };
        for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let action: serde_json::Value = serde_json::from_slice(line).map_err(|e| Error::State {
                path: format!("{} version {version}", table.table_url()),
                reason: e.to_string(),
            })?;
            let add = &action["add"];
            if let (Some(true), Some(path)) = (add["dataChange"].as_bool(), add["path"].as_str()) {
                files.push(path.to_owned());
            }
        }
    }
    Ok(Some(files))
}

/// When `version` was committed, as delta-rs's time travel reckons it (the commit file's
/// modification time); `None` if that commit is no longer in the log.
pub async fn commit_time(table: &DeltaTable, version: u64) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
    let path = Path::from(format!("_delta_log/{version:020}.json"));
    match table.log_store().object_store(None).head(&path).await {
        Ok(meta) => Ok(Some(meta.last_modified)),
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(Error::object(format!("{}{path}", table.table_url()))(e)),
    }
}

/// Registers `table` in `ctx` as `<layer>.<name>` (or under `name` alone when `layer` is None).
pub async fn register(ctx: &SessionContext, layer: Option<Layer>, name: &str, table: &DeltaTable) -> Result<()> {
    let provider = match scan::provider(ctx, table)? {
        Some(provider) => provider,
        None => {
            table
                .update_datafusion_session(&ctx.state())
                .map_err(Error::delta(table.table_url()))?;
            table.table_provider().await?
        }
    };
    let reference = match layer {
        Some(layer) => datafusion::common::TableReference::partial(layer.name(), name),
        None => datafusion::common::TableReference::bare(name),
    };
    ctx.register_table(reference, provider)?;
    Ok(())
}

/// A data file's statistics from the log (`numRecords`, `minValues`, `maxValues`, `nullCount`),
/// when it has them.
pub(crate) fn file_statistics(file: &LogicalFileView) -> Option<serde_json::Value> {
    serde_json::from_str(&file.stats()?).ok()
}

/// The number of rows in the table's current version, from the log's file statistics when every
/// file has them, else by counting.
pub async fn row_count(table: &DeltaTable) -> Result<u64> {
    let ctx = session()?;
    register(&ctx, None, "counted", table).await?;
    let batches = ctx.sql("SELECT COUNT(*) AS n FROM counted").await?.collect().await?;
    let count = batches
        .first()
        .and_then(|b| b.column(0).as_any().downcast_ref::<arrow::array::Int64Array>())
        .map_or(0, |a| a.value(0));
    Ok(count as u64)
}
