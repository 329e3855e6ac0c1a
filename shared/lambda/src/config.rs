//! Configuration read from the environment once, at cold start, into validated values. A bad
//! value fails the cold start with a message naming the variable.

use std::path::Path;
use std::str::FromStr;

use lakehouse_core::Pipeline;
use lakehouse_io::{Lake, Source, SourceUrl};

use crate::error::FunctionError;
use crate::secrets;

/// What every function works on: the lake and the pipeline definition.
#[derive(Debug, Clone)]
pub struct Lakehouse {
    pub lake: Lake,
    pub pipeline: Pipeline,
}

impl Lakehouse {
    /// `LAKEHOUSE_LAKE` (e.g. `s3://bucket/lake`, with optional `LAKEHOUSE_<LAYER>_ROOT`s) and
    /// `LAKEHOUSE_PIPELINE` (a folder; the built-in shop pipeline when unset).
    pub fn from_env() -> Result<Self, FunctionError> {
        let location = required("LAKEHOUSE_LAKE")?;
        let lake = Lake::from_env(&location).map_err(|e| FunctionError::config(format!("LAKEHOUSE_LAKE: {e}")))?;
        let pipeline = match optional("LAKEHOUSE_PIPELINE") {
            Some(dir) => Pipeline::load(Path::new(&dir)),
            None => lakehouse_core::pipeline::shop(),
        }
        .map_err(|e| FunctionError::config(format!("LAKEHOUSE_PIPELINE: {e}")))?;
        Ok(Self { lake, pipeline })
    }
}

/// The source database from `LAKEHOUSE_SOURCE_URL`, with the password from the Secrets Manager
/// secret named by `LAKEHOUSE_DB_SECRET_ARN` when set. The pool connects on first use, so a
/// database that is down fails an invocation (retryably), not the cold start.
pub async fn source_from_env(aws: &aws_config::SdkConfig) -> Result<Source, FunctionError> {
    let url = SourceUrl::parse(&required("LAKEHOUSE_SOURCE_URL")?)
        .map_err(|e| FunctionError::config(format!("LAKEHOUSE_SOURCE_URL: {e}")))?;
    let url = match optional("LAKEHOUSE_DB_SECRET_ARN") {
        Some(arn) => {
            let client = aws_sdk_secretsmanager::Client::new(aws);
            let password = secrets::database_password(&client, &arn).await?;
            url.with_password(&password)
                .map_err(|e| FunctionError::config(format!("LAKEHOUSE_SOURCE_URL: {e}")))?
        }
        None => url,
    };
    Source::connect_lazy(&url).map_err(|e| FunctionError::config(format!("LAKEHOUSE_SOURCE_URL: {e}")))
}

/// A variable that must be set and not empty.
pub fn required(name: &str) -> Result<String, FunctionError> {
    optional(name).ok_or_else(|| FunctionError::config(format!("{name} is not set")))
}

/// A variable that may be unset (an empty value counts as unset).
pub fn optional(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A variable parsed as `T`, or `default` when unset.
pub fn parsed<T: FromStr>(name: &str, default: T) -> Result<T, FunctionError> {
    match optional(name) {
        None => Ok(default),
        Some(text) => text.trim().parse().map_err(|_| {
            FunctionError::config(format!(
                "{name}: cannot read {text:?} as a {}",
                std::any::type_name::<T>()
            ))
        }),
    }
}
