//! The source database, through sqlx: MySQL/MariaDB in production, SQLite as the embedded
//! default. Both hold the contract's tables; the differences between their dialects live in
//! [`Dialect`].

mod extract;
mod seed;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use lakehouse_core::types::SourceColumn;
use log::LevelFilter;
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::{AssertSqlSafe, ConnectOptions, Row};

pub use extract::{ExtractedBatch, Snapshot};
pub use seed::{SeedReport, SeedSizes};

use crate::error::{Error, Result};

/// How long to wait for a connection before giving up with a clear error. sqlx's default
/// (30 s of retries) would make a dead database look like a hang.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A source URL that never shows its password: `Display` and `Debug` mask it.
#[derive(Clone, PartialEq, Eq)]
pub struct SourceUrl(String);

impl SourceUrl {
    /// Accepts `mysql://…`, `mariadb://…` and `sqlite://…` URLs.
    pub fn parse(url: &str) -> Result<Self> {
        let scheme = url.split_once("://").map(|(s, _)| s).unwrap_or("");
        match scheme {
            "mysql" | "mariadb" | "sqlite" => Ok(Self(url.to_owned())),
            _ => Err(Error::SourceUrl {
                url: mask(url),
                reason: "expected mysql://user:password@host:port/database or sqlite://path/to/file.db".into(),
            }),
        }
    }

    /// The same URL with `password` set (percent-encoded as a URL needs).
    pub fn with_password(&self, password: &str) -> Result<Self> {
        let fail = |reason: String| Error::SourceUrl {
            url: self.to_string(),
            reason,
        };
        let mut url = url::Url::parse(&self.0).map_err(|e| fail(e.to_string()))?;
        url.set_password(Some(password))
            .map_err(|()| fail("this URL cannot carry a password".into()))?;
        Ok(Self(url.into()))
    }

    /// The URL with its password, for the driver only.
    fn expose(&self) -> &str {
        &self.0
    }

    fn dialect(&self) -> Dialect {
        if self.0.starts_with("sqlite:") {
            Dialect::Sqlite
        } else {
            Dialect::MySql
        }
    }
}

impl fmt::Display for SourceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&mask(&self.0))
    }
}

impl fmt::Debug for SourceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SourceUrl({self})")
    }
}

/// Replaces the password in `scheme://user:password@host…` with `***`.
pub fn mask(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => {
            let user = rest[..at].split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***{}", &rest[at..])
        }
        None => url.to_owned(),
    }
}

/// The SQL dialect of a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    MySql,
    Sqlite,
}

impl Dialect {
    /// Quotes an identifier.
    pub fn quote(self, identifier: &str) -> String {
        match self {
            Dialect::MySql => format!("`{}`", identifier.replace('`', "``")),
            Dialect::Sqlite => format!("\"{}\"", identifier.replace('"', "\"\"")),
        }
    }

    /// The database clock, UTC, to the millisecond, as the contract's columns store it.
    pub fn now(self) -> &'static str {
        match self {
            Dialect::MySql => "CURRENT_TIMESTAMP(3)",
            Dialect::Sqlite => "strftime('%Y-%m-%d %H:%M:%f', 'now')",
        }
    }

    /// Makes a text comparison byte-wise (case- and space-sensitive).
    pub fn binary(self, expr: &str) -> String {
        match self {
            Dialect::MySql => format!("CAST({expr} AS BINARY)"),
            Dialect::Sqlite => expr.to_owned(),
        }
    }
}

/// A connected source database.
#[derive(Clone)]
pub enum Source {
    MySql { url: SourceUrl, pool: MySqlPool },
    Sqlite { url: SourceUrl, pool: SqlitePool },
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Source({})", self.url())
    }
}

impl Source {
    /// Connects, failing within a few seconds with a clear message if the database does not answer.
    /// A SQLite file is created if missing.
    pub async fn connect(url: &SourceUrl) -> Result<Self> {
        let fail = |e: sqlx::Error| Error::Connect {
            url: url.to_string(),
            reason: describe_connect_error(&e),
        };
        match url.dialect() {
            Dialect::MySql => {
                let options = mysql_options(url)?;
                let pool = MySqlPoolOptions::new()
                    .max_connections(4)
                    .acquire_timeout(CONNECT_TIMEOUT)
                    .connect_with(options)
                    .await
                    .map_err(fail)?;
                Ok(Source::MySql { url: url.clone(), pool })
            }
            Dialect::Sqlite => {
                create_parent_folder(url)?;
                let options = SqliteConnectOptions::from_str(url.expose())
                    .map_err(|e| Error::SourceUrl {
                        url: url.to_string(),
                        reason: describe_connect_error(&e),
                    })?
                    .log_slow_statements(LevelFilter::Off, Duration::ZERO)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .busy_timeout(Duration::from_secs(10));
                let pool = SqlitePoolOptions::new()
                    .max_connections(4)
                    .acquire_timeout(CONNECT_TIMEOUT)
                    .connect_with(options)
                    .await
                    .map_err(fail)?;
                Ok(Source::Sqlite { url: url.clone(), pool })
            }
        }
    }

    /// A pool that connects on first use: for a Lambda function, whose cold start should not
    /// depend on the database being up.
    pub fn connect_lazy(url: &SourceUrl) -> Result<Self> {
        match url.dialect() {
            Dialect::MySql => Ok(Source::MySql {
                url: url.clone(),
                pool: MySqlPoolOptions::new()
                    .max_connections(2)
                    .acquire_timeout(CONNECT_TIMEOUT)
                    .connect_lazy_with(mysql_options(url)?),
            }),
            Dialect::Sqlite => Err(Error::SourceUrl {
                url: url.to_string(),
                reason: "a SQLite file cannot serve a function; use mysql://".into(),
            }),
        }
    }

    /// The source's URL, password masked when shown.
    pub fn url(&self) -> &SourceUrl {
        match self {
            Source::MySql { url, .. } | Source::Sqlite { url, .. } => url,
        }
    }

    pub fn dialect(&self) -> Dialect {
        match self {
            Source::MySql { .. } => Dialect::MySql,
            Source::Sqlite { .. } => Dialect::Sqlite,
        }
    }

    /// Runs statements that return nothing, one after another, in one transaction.
    pub async fn execute_all(&self, statements: &[String]) -> Result<()> {
        macro_rules! run {
            ($pool:expr) => {{
                let mut tx = $pool.begin().await.map_err(Error::source("begin"))?;
                for statement in statements {
                    sqlx::query(AssertSqlSafe(statement.as_str()))
                        .execute(&mut *tx)
                        .await
                        .map_err(Error::source(first_line(statement)))?;
                }
                tx.commit().await.map_err(Error::source("commit"))?;
            }};
        }
        match self {
            Source::MySql { pool, .. } => run!(pool),
            Source::Sqlite { pool, .. } => run!(pool),
        }
        Ok(())
    }

    /// Runs one query returning a single integer (`COUNT(*)`, `MAX(id)`, …); NULL reads as 0.
    pub async fn scalar(&self, sql: &str) -> Result<i64> {
        let value: Option<i64> = match self {
            Source::MySql { pool, .. } => sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(pool).await,
            Source::Sqlite { pool, .. } => sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(pool).await,
        }
        .map_err(Error::source(first_line(sql)))?;
        Ok(value.unwrap_or(0))
    }

    /// The columns of `table` in declaration order, with their declared types.
    pub async fn columns(&self, table: &str) -> Result<Vec<SourceColumn>> {
        let columns: Vec<SourceColumn> = match self {
            Source::MySql { pool, .. } => sqlx::query(
                "SELECT CAST(COLUMN_NAME AS CHAR), CAST(COLUMN_TYPE AS CHAR), CAST(IS_NULLABLE AS CHAR) \
                 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? \
                 ORDER BY ORDINAL_POSITION",
            )
            .bind(table)
            .fetch_all(pool)
            .await
            .map_err(Error::source(format!("columns of {table}")))?
            .iter()
            .map(|row| {
                Ok(SourceColumn {
                    name: row.try_get(0)?,
                    source_type: row.try_get(1)?,
                    nullable: row.try_get::<String, _>(2)? == "YES",
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Error::source(format!("columns of {table}")))?,
            Source::Sqlite { pool, .. } => sqlx::query("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?)")
                .bind(table)
                .fetch_all(pool)
                .await
                .map_err(Error::source(format!("columns of {table}")))?
                .iter()
                .map(|row| {
                    Ok(SourceColumn {
                        name: row.try_get(0)?,
                        source_type: row.try_get(1)?,
                        nullable: row.try_get::<i64, _>(2)? == 0 && row.try_get::<i64, _>(3)? == 0,
                    })
                })
                .collect::<Result<_, sqlx::Error>>()
                .map_err(Error::source(format!("columns of {table}")))?,
        };
        if columns.is_empty() {
            return Err(Error::SourceTable {
                table: table.to_owned(),
                reason: format!("not found in {}", self.url()),
            });
        }
        Ok(columns)
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        match self {
            Source::MySql { pool, .. } => pool.close().await,
            Source::Sqlite { pool, .. } => pool.close().await,
        }
    }
}

fn mysql_options(url: &SourceUrl) -> Result<MySqlConnectOptions> {
    let options = MySqlConnectOptions::from_str(&url.expose().replacen("mariadb://", "mysql://", 1)).map_err(|e| {
        Error::SourceUrl {
            url: url.to_string(),
            reason: describe_connect_error(&e),
        }
    })?;
    // Extraction streams whole tables on purpose: not a slow statement to warn of.
    Ok(options.log_slow_statements(LevelFilter::Off, Duration::ZERO))
}

/// Creates the folder a SQLite file goes in, so a first run needs no set-up.
fn create_parent_folder(url: &SourceUrl) -> Result<()> {
    let path = url.expose().trim_start_matches("sqlite:").trim_start_matches("//");
    let path = path.split('?').next().unwrap_or("");
    match std::path::Path::new(path).parent() {
        Some(parent) if !parent.as_os_str().is_empty() && path != ":memory:" => std::fs::create_dir_all(parent)
            .map_err(|e| Error::Connect {
                url: url.to_string(),
                reason: format!("cannot create {}: {e}", parent.display()),
            }),
        _ => Ok(()),
    }
}

/// The first line of a statement, to name it in an error without echoing a whole batch.
fn first_line(sql: &str) -> String {
    let line = sql.trim().lines().next().unwrap_or("");
    line.chars().take(80).collect()
}

/// A one-line reason for a failed connection, without the driver's internals.
fn describe_connect_error(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::PoolTimedOut => format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
        sqlx::Error::Io(e) => e.to_string(),
        sqlx::Error::Database(e) => e.message().to_owned(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        let url = SourceUrl::parse("mysql://shop:s3cret@db.example.com:3306/shop").unwrap();
        assert_eq!(url.to_string(), "mysql://shop:***@db.example.com:3306/shop");
        assert!(!format!("{url:?}").contains("s3cret"));
        assert_eq!(mask("mysql://shop@host/db"), "mysql://shop:***@host/db");
        assert_eq!(mask("sqlite://data/shop.db"), "sqlite://data/shop.db");
        let with = SourceUrl::parse("mysql://shop@db:3306/shop")
            .unwrap()
            .with_password("p@ss/w:rd")
            .unwrap();
        assert_eq!(with.to_string(), "mysql://shop:***@db:3306/shop");
        assert!(
            with.expose().contains("p%40ss%2Fw%3Ard"),
            "the password is percent-encoded"
        );
        let err = SourceUrl::parse("postgres://u:s3cret@h/db").unwrap_err().to_string();
        assert!(
            err.contains("postgres://u:***@h/db") && !err.contains("s3cret"),
            "{err}"
        );
    }

    #[test]
    fn dialects_quote_and_compare_in_their_own_way() {
        assert_eq!(Dialect::MySql.quote("order`s"), "`order``s`");
        assert_eq!(Dialect::Sqlite.quote("a\"b"), "\"a\"\"b\"");
        assert_eq!(Dialect::MySql.binary("country"), "CAST(country AS BINARY)");
    }
}
