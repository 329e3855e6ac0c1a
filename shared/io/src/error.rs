//! The I/O layer's errors. Each names the thing that failed (a source, a table, a file) and never
//! carries a password: source URLs are shown through [`crate::source::SourceUrl`]'s masking.

/// Everything the I/O layer can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The source URL is malformed or names an unsupported database.
    #[error("source URL {url}: {reason}")]
    SourceUrl { url: String, reason: String },

    /// The source database could not be reached or refused the login.
    #[error("cannot connect to source {url}: {reason}")]
    Connect { url: String, reason: String },

    /// A query against the source failed.
    #[error("source query failed ({what}): {source}")]
    Source {
        what: String,
        #[source]
        source: sqlx::Error,
    },

    /// A table the pipeline names does not exist at the source, or lacks a required column.
    #[error("source table {table}: {reason}")]
    SourceTable { table: String, reason: String },

    /// The lake location is malformed or not usable.
    #[error("lake {location}: {reason}")]
    Lake { location: String, reason: String },

    /// Reading or writing an object in the lake failed.
    #[error("lake object {path}: {source}")]
    Object {
        path: String,
        #[source]
        source: object_store::Error,
    },

    /// A Parquet file could not be written or read.
    #[error("parquet file {path}: {source}")]
    Parquet {
        path: String,
        #[source]
        source: parquet::errors::ParquetError,
    },

    /// A Delta table operation failed.
    #[error("delta table {table}: {source}")]
    Delta {
        table: String,
        #[source]
        source: deltalake::DeltaTableError,
    },

    /// A Gold table's query could not be planned or run.
    #[error("gold table {table}: {source}")]
    Gold {
        table: String,
        #[source]
        source: datafusion::error::DataFusionError,
    },

    /// A DataFusion setting given in the environment is malformed; the reason is DataFusion's
    /// chain of causes on one line.
    #[error("DataFusion settings from DATAFUSION_* environment variables: {0}")]
    Settings(String),

    /// A query or plan over the lake failed.
    #[error("query failed: {0}")]
    Query(#[from] datafusion::error::DataFusionError),

    /// Saved pipeline state could not be read back.
    #[error("state {path}: {reason}")]
    State { path: String, reason: String },

    /// A call to an AWS service failed; `reason` is the service's own message.
    #[error("{service} {operation}: {reason}")]
    Aws {
        service: &'static str,
        operation: String,
        reason: String,
    },

    /// An Athena query ended without results.
    #[error("athena query {query_id} {state}: {reason}")]
    Athena {
        query_id: String,
        state: String,
        reason: String,
    },

    /// A crash injected by a fault-injection test at a crash point.
    #[error("crash injected at {0}")]
    Injected(&'static str),

    /// An alert could not be delivered. Never carries the webhook URL.
    #[error("alert not delivered: {0}")]
    Alert(String),

    /// A table or a version asked for is not in the lake.
    #[error("{0}")]
    NotFound(String),

    /// The pure engine refused something.
    #[error(transparent)]
    Core(#[from] lakehouse_core::Error),

    /// An Arrow computation failed.
    #[error(transparent)]
    Arrow(#[from] arrow::error::ArrowError),
}

/// The I/O layer's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn source(what: impl Into<String>) -> impl FnOnce(sqlx::Error) -> Self {
        let what = what.into();
        move |source| Error::Source { what, source }
    }

    pub(crate) fn object(path: impl ToString) -> impl FnOnce(object_store::Error) -> Self {
        let path = path.to_string();
        move |source| Error::Object { path, source }
    }

    pub(crate) fn parquet(path: impl ToString) -> impl FnOnce(parquet::errors::ParquetError) -> Self {
        let path = path.to_string();
        move |source| Error::Parquet { path, source }
    }

    /// Maps an AWS SDK error to [`Error::Aws`] with the whole chain of causes in its reason.
    pub(crate) fn aws<E: std::error::Error>(
        service: &'static str,
        operation: impl Into<String>,
    ) -> impl FnOnce(E) -> Self {
        let operation = operation.into();
        move |e| Error::Aws {
            service,
            operation,
            reason: aws_sdk_glue::error::DisplayErrorContext(e).to_string(),
        }
    }

    pub(crate) fn delta(table: impl ToString) -> impl FnOnce(deltalake::DeltaTableError) -> Self {
        let table = table.to_string();
        move |source| Error::Delta { table, source }
    }
}
