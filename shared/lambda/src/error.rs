//! A function's error: a message naming what failed, and a kind that says whether the platform
//! should retry. The kind becomes the Lambda `errorType`, so alarms and retries can key on it.

use lambda_runtime::Diagnostic;

/// What kind of failure ended an invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The function's configuration is wrong: retrying cannot help until it is fixed.
    Config,
    /// The event is not one this function understands.
    BadEvent,
    /// The pipeline definition or the data contradicts itself (a missing table, a bad value).
    Pipeline,
    /// The source database failed or did not answer.
    Source,
    /// Reading or writing the lake failed, or another writer won every commit race.
    Lake,
    /// Another AWS service (Glue, Athena, Slack's webhook) failed or throttled.
    Service,
}

impl ErrorKind {
    /// Whether retrying the same event later can succeed.
    pub fn retryable(self) -> bool {
        matches!(self, ErrorKind::Source | ErrorKind::Lake | ErrorKind::Service)
    }

    /// The stable `errorType` reported to Lambda, e.g. `Retryable.Source` or `Permanent.BadEvent`.
    pub fn error_type(self) -> String {
        let name = match self {
            ErrorKind::Config => "Config",
            ErrorKind::BadEvent => "BadEvent",
            ErrorKind::Pipeline => "Pipeline",
            ErrorKind::Source => "Source",
            ErrorKind::Lake => "Lake",
            ErrorKind::Service => "Service",
        };
        let class = if self.retryable() { "Retryable" } else { "Permanent" };
        format!("{class}.{name}")
    }
}

/// An invocation's failure.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct FunctionError {
    pub kind: ErrorKind,
    pub message: String,
}

impl FunctionError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }

    pub fn bad_event(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadEvent, message)
    }
}

impl From<lakehouse_io::Error> for FunctionError {
    fn from(error: lakehouse_io::Error) -> Self {
        use lakehouse_io::Error as E;
        let kind = match &error {
            E::SourceUrl { .. } | E::Lake { .. } | E::NotFound(_) | E::Settings(_) => ErrorKind::Config,
            E::Aws { .. } | E::Alert(_) => ErrorKind::Service,
            E::Connect { .. } | E::Source { .. } => ErrorKind::Source,
            E::Object { .. } | E::Parquet { .. } | E::Delta { .. } | E::Injected(_) => ErrorKind::Lake,
            E::Query(datafusion_error) if datafusion_error.to_string().contains("Object Store") => ErrorKind::Lake,
            E::SourceTable { .. }
            | E::Gold { .. }
            | E::Query(_)
            | E::State { .. }
            | E::Core(_)
            | E::Arrow(_)
            | E::Athena { .. } => ErrorKind::Pipeline,
        };
        Self::new(kind, error.to_string())
    }
}

impl From<lakehouse_core::Error> for FunctionError {
    fn from(error: lakehouse_core::Error) -> Self {
        Self::new(ErrorKind::Pipeline, error.to_string())
    }
}

impl From<FunctionError> for Diagnostic {
    fn from(error: FunctionError) -> Self {
        Diagnostic {
            error_type: error.kind.error_type(),
            error_message: error.message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_types_say_whether_to_retry() {
        assert_eq!(ErrorKind::Source.error_type(), "Retryable.Source");
        assert_eq!(ErrorKind::Lake.error_type(), "Retryable.Lake");
        assert_eq!(ErrorKind::BadEvent.error_type(), "Permanent.BadEvent");
        assert_eq!(ErrorKind::Config.error_type(), "Permanent.Config");
        let diagnostic: Diagnostic = FunctionError::config("LAKEHOUSE_LAKE is not set").into();
        assert_eq!(diagnostic.error_type, "Permanent.Config");
        assert_eq!(diagnostic.error_message, "LAKEHOUSE_LAKE is not set");
    }

    #[test]
    fn io_errors_are_classified() {
        let unreachable = lakehouse_io::Error::Connect {
            url: "mysql://u:***@h/db".into(),
            reason: "no answer".into(),
        };
        assert_eq!(FunctionError::from(unreachable).kind, ErrorKind::Source);
        let missing = lakehouse_io::Error::SourceTable {
            table: "orders".into(),
            reason: "not found".into(),
        };
        assert_eq!(FunctionError::from(missing).kind, ErrorKind::Pipeline);
    }
}
