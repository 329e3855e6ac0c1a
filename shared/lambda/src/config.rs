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
    let url = required("LAKEHOUSE_SOURCE_URL")?;
    let secret_arn = optional("LAKEHOUSE_DB_SECRET_ARN");
    source(&url, secret_arn.as_deref(), aws).await
}

/// The source at `url`, its password taken from the secret `secret_arn` when given.
pub async fn source(url: &str, secret_arn: Option<&str>, aws: &aws_config::SdkConfig) -> Result<Source, FunctionError> {
    let invalid = |e: lakehouse_io::Error| FunctionError::config(format!("LAKEHOUSE_SOURCE_URL: {e}"));
    let url = SourceUrl::parse(url).map_err(invalid)?;
    let url = match secret_arn {
        Some(arn) => {
            let client = aws_sdk_secretsmanager::Client::new(aws);
            let password = secrets::database_password(&client, arn).await?;
            url.with_password(&password).map_err(invalid)?
        }
        None => url,
    };
    Source::connect_lazy(&url).map_err(invalid)
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

#[cfg(test)]
mod tests {
    use lakehouse_testkit::Harness;

    use super::*;

    /// A database user whose password lives only in a Secrets Manager secret on the local endpoint.
    #[tokio::test]
    async fn the_password_comes_from_the_secret_and_never_shows() -> anyhow::Result<()> {
        let h = Harness::mariadb().await?;
        let (user, password) = (
            format!("u{}", &uuid::Uuid::new_v4().simple().to_string()[..12]),
            "s3cr3t:p@ss/w0rd",
        );
        let database = h.database_name().expect("a MariaDB harness");
        h.source
            .execute_all(&[
                format!("CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'"),
                format!("GRANT ALL ON {database}.* TO '{user}'@'%'"),
            ])
            .await?;
        let aws = crate::aws().await;
        let secrets = aws_sdk_secretsmanager::Client::new(&aws);
        let secret = secrets
            .create_secret()
            .name(format!("lakehouse-test-{user}"))
            .secret_string(serde_json::json!({"username": user, "password": password}).to_string())
            .send()
            .await?;
        let arn = secret.arn().expect("an ARN");
        let url = format!("{}/{database}", h.server_url_as(&user)?);

        let source = source(&url, Some(arn), &aws).await?;
        assert_eq!(
            source.scalar("SELECT 7").await?,
            7,
            "connected with the secret's password"
        );
        assert!(!format!("{source:?} {}", source.url()).contains(password));

        // Without the secret the login fails, and the error does not show any password either.
        let refused = Source::connect(&SourceUrl::parse(&url)?.with_password("wrong-pw")?)
            .await
            .unwrap_err();
        assert!(!refused.to_string().contains("wrong-pw"), "{refused}");
        let missing = super::source(
            &url,
            Some("arn:aws:secretsmanager:us-east-1:123456789012:secret:nope"),
            &aws,
        )
        .await
        .unwrap_err();
        assert_eq!(missing.kind, crate::ErrorKind::Config);
        source.close().await;
        h.cleanup().await
    }
}
