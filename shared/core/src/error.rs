//! The core's errors: each names what was wrong and where.

use std::path::PathBuf;

/// Everything the pure engine can refuse.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A pipeline manifest could not be read from disk.
    #[error("cannot read pipeline {}: {source}", path.display())]
    PipelineRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A pipeline manifest was read but says something invalid.
    #[error("invalid pipeline {origin}: {reason}")]
    InvalidPipeline { origin: String, reason: String },

    /// A source column has a type the lakehouse does not map to Arrow.
    #[error("table {table}, column {column}: unsupported source type {source_type:?}")]
    UnsupportedType {
        table: String,
        column: String,
        source_type: String,
    },

    /// A source value could not be converted to its column's Arrow type.
    #[error("table {table}, column {column}: cannot read {value:?} as {expected}")]
    BadValue {
        table: String,
        column: String,
        value: String,
        expected: String,
    },

    /// A landing file's columns cannot be made to fit its Bronze table.
    #[error("does not fit the table: {0}")]
    Incompatible(String),

    /// A column cannot be described in the catalog.
    #[error("column {column}: {reason}")]
    Catalog { column: String, reason: String },

    /// An Arrow computation failed.
    #[error(transparent)]
    Arrow(#[from] arrow::error::ArrowError),

    /// A DataFusion plan or query failed.
    #[error(transparent)]
    DataFusion(#[from] datafusion::error::DataFusionError),
}

/// The core's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
