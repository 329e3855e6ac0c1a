//! The catalog: which Delta tables the lake holds, where, and with which columns.
//!
//! [`lake_tables`] is the one place that finds the tables: the query engine, `lakehouse tables`,
//! the local catalog and the Glue Data Catalog all read their list from it. Both catalogs are
//! kept the same way: compare what is registered with what the lake holds, and write only the
//! difference, so a second sync changes nothing and an evolved schema is followed.

pub mod glue;

use std::collections::BTreeMap;

use deltalake::DeltaTable;
use lakehouse_core::catalog::{TableDefinition, columns, database_name};
use serde::{Deserialize, Serialize};

use crate::delta;
use crate::error::{Error, Result};
use crate::lake::{Lake, Layer};

/// Where the local catalog is kept, in the lake's state layer.
const LOCAL_CATALOG: &str = "catalog.json";

/// The catalog database prefix when none is configured.
pub const DEFAULT_PREFIX: &str = "lakehouse_";

/// A Delta table of the lake, opened at its latest version.
pub struct LakeTable {
    pub layer: Layer,
    pub name: String,
    pub table: DeltaTable,
}

impl LakeTable {
    pub fn version(&self) -> u64 {
        self.table.version().unwrap_or_default()
    }

    /// The table as a catalog registers it, in the database `<prefix><layer>`.
    pub fn definition(&self, prefix: &str) -> Result<TableDefinition> {
        let location = self.table.table_url().to_string();
        let snapshot = self.table.snapshot().map_err(Error::delta(&location))?;
        let columns = columns(&snapshot.snapshot().arrow_schema()).map_err(|e| Error::State {
            path: location.clone(),
            reason: e.to_string(),
        })?;
        Ok(TableDefinition {
            database: database_name(prefix, self.layer.name()),
            name: self.name.clone(),
            location,
            columns,
        })
    }
}

/// Every Delta table with at least one commit, layer by layer, by name.
pub async fn lake_tables(lake: &Lake) -> Result<Vec<LakeTable>> {
    let mut found = Vec::new();
    for layer in Layer::TABLES {
        for name in lake.tables(layer).await? {
            let table = delta::open_in(lake, layer, &name).await?;
            if table.version().is_some() {
                found.push(LakeTable { layer, name, table });
            }
        }
    }
    Ok(found)
}

/// The definitions of every table in the lake.
pub async fn lake_definitions(lake: &Lake, prefix: &str) -> Result<Vec<TableDefinition>> {
    lake_tables(lake).await?.iter().map(|t| t.definition(prefix)).collect()
}

/// What a catalog sync did, table by table (`database.table`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SyncReport {
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: Vec<String>,
}

impl SyncReport {
    pub fn changed(&self) -> bool {
        !self.created.is_empty() || !self.updated.is_empty()
    }

    fn record(&mut self, change: Change, table: &TableDefinition) {
        let name = format!("{}.{}", table.database, table.name);
        match change {
            Change::Create => self.created.push(name),
            Change::Update => self.updated.push(name),
            Change::Unchanged => self.unchanged.push(name),
        }
    }
}

/// What a catalog must do for one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Create,
    Update,
    Unchanged,
}

/// Compares a table's registered definition with the wanted one.
pub fn change(registered: Option<&TableDefinition>, wanted: &TableDefinition) -> Change {
    match registered {
        None => Change::Create,
        Some(registered) if registered == wanted => Change::Unchanged,
        Some(_) => Change::Update,
    }
}

/// The local catalog: the definitions a Glue sync would register, kept as JSON in the lake.
#[derive(Debug, Default, Serialize, Deserialize)]
struct LocalCatalog {
    tables: BTreeMap<String, TableDefinition>,
}

/// Brings the local catalog in line with the lake; writes only when something changed.
pub async fn sync_local(lake: &Lake, prefix: &str) -> Result<SyncReport> {
    let mut catalog: LocalCatalog = lake.get_json(Layer::State, LOCAL_CATALOG).await?.unwrap_or_default();
    let mut report = SyncReport::default();
    for wanted in lake_definitions(lake, prefix).await? {
        let key = format!("{}.{}", wanted.database, wanted.name);
        let change = change(catalog.tables.get(&key), &wanted);
        report.record(change, &wanted);
        catalog.tables.insert(key, wanted);
    }
    if report.changed() {
        lake.put_json(Layer::State, LOCAL_CATALOG, &catalog).await?;
    }
    Ok(report)
}

/// The tables the local catalog holds.
pub async fn local_tables(lake: &Lake) -> Result<Vec<TableDefinition>> {
    let catalog: LocalCatalog = lake.get_json(Layer::State, LOCAL_CATALOG).await?.unwrap_or_default();
    Ok(catalog.tables.into_values().collect())
}

/// A catalog entry with the state of its Delta table, for `lakehouse tables`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Listed {
    pub database: String,
    pub name: String,
    pub location: String,
    /// `None` when no Delta table is found at the location.
    pub version: Option<u64>,
    pub rows: Option<u64>,
}

/// Reads the version and row count of each cataloged table from its location.
pub async fn listing(lake: &Lake, definitions: Vec<TableDefinition>) -> Result<Vec<Listed>> {
    let mut listed = Vec::with_capacity(definitions.len());
    for definition in definitions {
        let url = url::Url::parse(&definition.location).map_err(|e| Error::State {
            path: format!("{}.{}", definition.database, definition.name),
            reason: format!("location {}: {e}", definition.location),
        })?;
        let table = delta::open(&url, lake.storage_options()).await?;
        let rows = match table.version() {
            Some(_) => Some(delta::row_count(&table).await?),
            None => None,
        };
        listed.push(Listed {
            version: table.version(),
            rows,
            database: definition.database,
            name: definition.name,
            location: definition.location,
        });
    }
    Ok(listed)
}
