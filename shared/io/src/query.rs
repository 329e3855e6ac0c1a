//! SQL over the lake with DataFusion: every Delta table registered as `<layer>.<table>`, at its
//! latest version or, for time travel, as it was at an earlier version or time.

use std::collections::BTreeMap;

use arrow::record_batch::RecordBatch;
use chrono::{DateTime, Utc};
use datafusion::prelude::SessionContext;

use crate::catalog::{LakeTable, lake_tables};
use crate::delta;
use crate::error::{Error, Result};
use crate::lake::Lake;

/// Which state of the lake a query reads: the latest, the whole lake as it was at a time, and
/// single tables (`silver.orders`) at a version. A table pinned to a version ignores the time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AsOf {
    pub time: Option<DateTime<Utc>>,
    pub versions: BTreeMap<String, u64>,
}

impl AsOf {
    /// Parses `layer.table=version` as given on the command line.
    pub fn parse_version(text: &str) -> std::result::Result<(String, u64), String> {
        let (table, version) = text
            .split_once('=')
            .ok_or_else(|| format!("{text:?}: expected <layer>.<table>=<version>, e.g. silver.orders=3"))?;
        let version = version
            .trim()
            .parse()
            .map_err(|_| format!("{text:?}: the version must be a whole number"))?;
        Ok((table.trim().to_owned(), version))
    }
}

/// A session with every table of every layer registered, at the latest version.
pub async fn lake_session(lake: &Lake) -> Result<SessionContext> {
    lake_session_as_of(lake, &AsOf::default()).await
}

/// A session with every table registered as `as_of` says.
pub async fn lake_session_as_of(lake: &Lake, as_of: &AsOf) -> Result<SessionContext> {
    let ctx = delta::session()?;
    let tables = lake_tables(lake).await?;
    for pinned in as_of.versions.keys() {
        if !tables.iter().any(|t| qualified(t) == *pinned) {
            return Err(Error::NotFound(format!("no table {pinned} in the lake")));
        }
    }
    for mut found in tables {
        if travel(&mut found, as_of).await? {
            delta::register(&ctx, Some(found.layer), &found.name, &found.table).await?;
        }
    }
    Ok(ctx)
}

/// Runs `sql` over the lake and returns the result.
pub async fn query(lake: &Lake, sql: &str) -> Result<Vec<RecordBatch>> {
    query_as_of(lake, sql, &AsOf::default()).await
}

/// Runs `sql` over the lake as it was at `as_of`.
pub async fn query_as_of(lake: &Lake, sql: &str, as_of: &AsOf) -> Result<Vec<RecordBatch>> {
    let ctx = lake_session_as_of(lake, as_of).await?;
    Ok(ctx.sql(sql).await?.collect().await?)
}

fn qualified(table: &LakeTable) -> String {
    format!("{}.{}", table.layer.name(), table.name)
}

/// Loads the table's state that `as_of` asks for; `false` when the table did not exist yet at
/// the time asked for, so it is left out of the session.
async fn travel(found: &mut LakeTable, as_of: &AsOf) -> Result<bool> {
    let name = qualified(found);
    let latest = found.version();
    if let Some(&version) = as_of.versions.get(&name) {
        if version > latest {
            return Err(Error::NotFound(format!(
                "{name} has no version {version}: its latest is {latest}"
            )));
        }
        found
            .table
            .load_version(version)
            .await
            .map_err(Error::delta(format!("{name} version {version}")))?;
        return Ok(true);
    }
    let Some(time) = as_of.time else { return Ok(true) };
    let created = delta::commit_time(&found.table, 0).await?;
    if created.is_some_and(|created| created > time) {
        return Ok(false);
    }
    found
        .table
        .load_with_datetime(time)
        .await
        .map_err(Error::delta(format!("{name} as of {time}")))?;
    Ok(true)
}
