//! Deletion vectors: rows of a data file marked deleted without rewriting the file.
//!
//! A table created with `delta.enableDeletionVectors` lets the upsert remove a few rows from a
//! large file by writing a small bitmap of their positions, instead of copying every other row
//! into a new file. Readers that know the feature (delta-rs, Spark, Trino, DuckDB)
//! skip the marked rows; the file's statistics stay as they were, now as loose bounds.

use std::collections::HashMap;

use arrow::array::BooleanArray;
use bytes::Bytes;
use delta_kernel::actions::deletion_vector_writer::{KernelDeletionVector, StreamingDeletionVectorWriter};
use deltalake::DeltaTable;
use deltalake::delta_datafusion::{DeltaScanConfig, DeltaScanNext};
use deltalake::kernel::{Add, DeletionVectorDescriptor, LogicalFileView, StorageType};
use deltalake::table::state::DeltaTableState;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt as _};

use crate::error::{Error, Result};

/// The table property that enables deletion vectors on a new table.
pub const ENABLE: (&str, &str) = ("delta.enableDeletionVectors", "true");

/// Whether the table lets writers record deletions in deletion vectors. (Setting the property
/// on a table adds the feature to its protocol; delta-rs does so when it creates the table.)
pub(super) fn enabled(state: &DeltaTableState) -> bool {
    state.table_config().enable_deletion_vectors == Some(true)
}

/// For each file that already has a deletion vector, by its path in the table: which of its
/// rows are still live.
pub(super) async fn live_rows(table: &DeltaTable, files: &[LogicalFileView]) -> Result<HashMap<String, BooleanArray>> {
    if files.iter().all(|f| f.deletion_vector_descriptor().is_none()) {
        return Ok(HashMap::new());
    }
    let url = table.table_url();
    let state = table.snapshot().map_err(Error::delta(url))?;
    let session = super::session()?.state();
    table.update_datafusion_session(&session).map_err(Error::delta(url))?;
    let unreadable = |e: datafusion::error::DataFusionError| Error::State {
        path: url.to_string(),
        reason: format!("cannot read the deletion vectors: {e}"),
    };
    let scan = DeltaScanNext::new(state.snapshot().clone(), DeltaScanConfig::new()).map_err(unreadable)?;
    let selections = scan.deletion_vectors(&session).await.map_err(unreadable)?;
    let mut live = HashMap::new();
    for file in files.iter().filter(|f| f.deletion_vector_descriptor().is_some()) {
        let path = file.path().into_owned();
        let suffix = format!("/{path}");
        let selection = selections
            .iter()
            .find(|s| s.filepath.ends_with(&suffix))
            .ok_or_else(|| Error::State {
                path: format!("{url}{path}"),
                reason: "the file's deletion vector could not be read".into(),
            })?;
        live.insert(path, BooleanArray::from(selection.keep_mask.clone()));
    }
    Ok(live)
}

/// Writes one deletion vector file holding, for each file, the rows its `keep` mask marks
/// false (rows deleted before included), and returns the adds that attach them: the same data
/// file, with its deletion vector.
pub(super) async fn record(
    table: &DeltaTable,
    store: &dyn ObjectStore,
    files: Vec<(LogicalFileView, BooleanArray)>,
) -> Result<Vec<Add>> {
    if files.is_empty() {
        return Ok(Vec::new());
    }
    let uuid = uuid::Uuid::new_v4();
    let location = Path::from(format!("deletion_vector_{uuid}.bin"));
    let failed = |e: delta_kernel::Error| Error::State {
        path: format!("{}{location}", table.table_url()),
        reason: format!("cannot write the deletion vector: {e}"),
    };
    let mut bytes = Vec::new();
    let mut writer = StreamingDeletionVectorWriter::new(&mut bytes);
    let mut adds = Vec::with_capacity(files.len());
    for (file, keep) in &files {
        let mut deleted = KernelDeletionVector::new();
        deleted.add_deleted_row_indexes((0..keep.len() as u64).filter(|row| !keep.value(*row as usize)));
        let written = writer.write_deletion_vector(deleted).map_err(failed)?;
        let descriptor = DeletionVectorDescriptor {
            storage_type: StorageType::UuidRelativePath,
            path_or_inline_dv: z85::encode(uuid.as_bytes()),
            offset: Some(written.offset),
            size_in_bytes: written.size_in_bytes,
            cardinality: written.cardinality,
        };
        adds.push(with_deletion_vector(file, descriptor));
    }
    writer.finalize().map_err(failed)?;
    store
        .put(&location, Bytes::from(bytes).into())
        .await
        .map_err(Error::object(format!("{}{location}", table.table_url())))?;
    Ok(adds)
}

/// The add of `file` with a new deletion vector; its statistics now bound the live rows loosely.
fn with_deletion_vector(file: &LogicalFileView, descriptor: DeletionVectorDescriptor) -> Add {
    let stats = file.stats().map(|stats| match serde_json::from_str(&stats) {
        Ok(serde_json::Value::Object(mut fields)) => {
            fields.insert("tightBounds".into(), serde_json::Value::Bool(false));
            serde_json::Value::Object(fields).to_string()
        }
        _ => stats,
    });
    Add {
        path: file.path().into_owned(),
        partition_values: file.partition_values_map(),
        size: file.size(),
        modification_time: file.modification_time(),
        data_change: true,
        stats,
        tags: None,
        deletion_vector: Some(descriptor),
        base_row_id: None,
        default_row_commit_version: None,
        clustering_provider: None,
    }
}
