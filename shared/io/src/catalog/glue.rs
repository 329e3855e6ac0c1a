//! The lake's tables in the AWS Glue Data Catalog, as native Delta tables Athena can query, and
//! the optional Glue crawler run.

use std::collections::HashMap;

use aws_sdk_glue::Client;
use aws_sdk_glue::error::ProvideErrorMetadata;
use aws_sdk_glue::types::{Column, DatabaseInput, SerDeInfo, StorageDescriptor, Table, TableInput};
use lakehouse_core::catalog::{self as model, TableDefinition};
use serde::Serialize;

use super::{Change, SyncReport, change, lake_definitions};
use crate::error::{Error, Result};
use crate::lake::{Lake, Layer};

/// Table parameters that make Athena read a Glue table as a native Delta Lake table.
/// `table_type = DELTA` is what Athena's own `CREATE EXTERNAL TABLE … TBLPROPERTIES
/// ('table_type' = 'DELTA')` records ("Get started with Delta Lake tables", Amazon Athena User
/// Guide); `spark.sql.sources.provider = delta` and the SerDe `path` parameter are what Spark
/// engines (EMR, Glue jobs) read, per "Synchronize Delta Lake metadata" in the same guide.
const DELTA_PARAMETERS: [(&str, &str); 4] = [
    ("table_type", "DELTA"),
    ("EXTERNAL", "TRUE"),
    ("classification", "delta"),
    ("spark.sql.sources.provider", "delta"),
];
const PARQUET_INPUT: &str = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat";
const PARQUET_OUTPUT: &str = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat";
const PARQUET_SERDE: &str = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe";

/// The Glue Data Catalog, reached through the usual AWS environment.
#[derive(Clone)]
pub struct Glue {
    client: Client,
}

/// How a crawler start went. Already running and throttled are normal: the run that is going on,
/// or the next scheduled one, will pick up the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CrawlerRun {
    Started,
    AlreadyRunning,
    Throttled,
}

impl Glue {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// A client configured from the environment (`AWS_REGION`, `AWS_ENDPOINT_URL`, credentials).
    pub async fn from_env() -> Self {
        Self::from_config(&crate::aws_config().await)
    }

    pub fn from_config(aws: &aws_config::SdkConfig) -> Self {
        Self::new(Client::new(aws))
    }

    /// Registers every table of the lake, creating the layer databases as needed.
    pub async fn sync(&self, lake: &Lake, prefix: &str) -> Result<SyncReport> {
        let mut report = SyncReport::default();
        for layer in Layer::TABLES {
            self.ensure_database(&model::database_name(prefix, layer.name()))
                .await?;
        }
        for wanted in lake_definitions(lake, prefix).await? {
            let change = match self.table(&wanted.database, &wanted.name).await? {
                None => change(None, &wanted),
                Some(table) if !has_delta_parameters(&table) => Change::Update,
                Some(table) => change(Some(&definition(&wanted.database, &table)), &wanted),
            };
            match change {
                Change::Create => self.put_table(&wanted, false).await?,
                Change::Update => self.put_table(&wanted, true).await?,
                Change::Unchanged => {}
            }
            report.record(change, &wanted);
        }
        Ok(report)
    }

    /// The tables registered in the databases under `prefix`.
    pub async fn tables(&self, prefix: &str) -> Result<Vec<TableDefinition>> {
        let mut found = Vec::new();
        for layer in Layer::TABLES {
            let database = model::database_name(prefix, layer.name());
            let pages = self
                .client
                .get_tables()
                .database_name(&database)
                .into_paginator()
                .send()
                .try_collect()
                .await;
            let listed: Vec<Table> = match pages {
                Ok(pages) => pages
                    .into_iter()
                    .flat_map(|p| p.table_list.unwrap_or_default())
                    .collect(),
                Err(e) if e.as_service_error().is_some_and(|e| e.is_entity_not_found_exception()) => continue,
                Err(e) => return Err(Error::aws("glue", format!("GetTables {database}"))(e)),
            };
            found.extend(listed.iter().map(|t| definition(&database, t)));
        }
        Ok(found)
    }

    /// Starts the crawler `name`.
    pub async fn start_crawler(&self, name: &str) -> Result<CrawlerRun> {
        match self.client.start_crawler().name(name).send().await {
            Ok(_) => Ok(CrawlerRun::Started),
            Err(e) => match e.as_service_error() {
                Some(s) if s.is_crawler_running_exception() => Ok(CrawlerRun::AlreadyRunning),
                Some(s) if s.code() == Some("ThrottlingException") => Ok(CrawlerRun::Throttled),
                Some(s) if s.is_entity_not_found_exception() => Err(Error::NotFound(format!(
                    "glue crawler {name} does not exist (check LAKEHOUSE_GLUE_CRAWLER and the region)"
                ))),
                _ => Err(Error::aws("glue", format!("StartCrawler {name}"))(e)),
            },
        }
    }

    async fn ensure_database(&self, name: &str) -> Result<()> {
        let input = DatabaseInput::builder()
            .name(name)
            .description("Delta Lake tables written by the lakehouse")
            .build()
            .map_err(Error::aws("glue", format!("CreateDatabase {name}")))?;
        match self.client.create_database().database_input(input).send().await {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_already_exists_exception()) => Ok(()),
            Err(e) => Err(Error::aws("glue", format!("CreateDatabase {name}"))(e)),
        }
    }

    async fn table(&self, database: &str, name: &str) -> Result<Option<Table>> {
        match self.client.get_table().database_name(database).name(name).send().await {
            Ok(found) => Ok(found.table),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_entity_not_found_exception()) => Ok(None),
            Err(e) => Err(Error::aws("glue", format!("GetTable {database}.{name}"))(e)),
        }
    }

    /// Creates the table, or replaces its definition when it exists.
    async fn put_table(&self, wanted: &TableDefinition, exists: bool) -> Result<()> {
        let verb = if exists { "UpdateTable" } else { "CreateTable" };
        let operation = format!("{verb} {}.{}", wanted.database, wanted.name);
        let input = table_input(wanted).map_err(Error::aws("glue", &operation))?;
        let database = wanted.database.as_str();
        if exists {
            let sent = self
                .client
                .update_table()
                .database_name(database)
                .table_input(input)
                .send();
            sent.await.map(drop).map_err(Error::aws("glue", operation))
        } else {
            let sent = self
                .client
                .create_table()
                .database_name(database)
                .table_input(input)
                .send();
            sent.await.map(drop).map_err(Error::aws("glue", operation))
        }
    }
}

/// The Glue table input for a definition: an external table at the Delta table's root, with the
/// columns of its current schema and the Delta parameters.
fn table_input(wanted: &TableDefinition) -> std::result::Result<TableInput, aws_sdk_glue::error::BuildError> {
    let columns = wanted
        .columns
        .iter()
        .map(|c| Column::builder().name(&c.name).r#type(&c.glue_type).build())
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let serde = SerDeInfo::builder()
        .serialization_library(PARQUET_SERDE)
        .parameters("path", &wanted.location)
        .build();
    let storage = StorageDescriptor::builder()
        .set_columns(Some(columns))
        .location(&wanted.location)
        .input_format(PARQUET_INPUT)
        .output_format(PARQUET_OUTPUT)
        .serde_info(serde)
        .build();
    let parameters: HashMap<String, String> = DELTA_PARAMETERS
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    TableInput::builder()
        .name(&wanted.name)
        .table_type("EXTERNAL_TABLE")
        .set_parameters(Some(parameters))
        .storage_descriptor(storage)
        .build()
}

/// A registered Glue table as a definition, to compare with what the lake holds.
fn definition(database: &str, table: &Table) -> TableDefinition {
    let storage = table.storage_descriptor();
    TableDefinition {
        database: database.to_owned(),
        name: table.name().to_owned(),
        location: storage.and_then(|s| s.location()).unwrap_or_default().to_owned(),
        columns: storage
            .map(|s| s.columns())
            .unwrap_or_default()
            .iter()
            .map(|c| model::Column {
                name: c.name().to_owned(),
                glue_type: c.r#type().unwrap_or_default().to_owned(),
            })
            .collect(),
    }
}

fn has_delta_parameters(table: &Table) -> bool {
    let parameters = table.parameters();
    DELTA_PARAMETERS
        .iter()
        .all(|(k, v)| parameters.and_then(|p| p.get(*k)).is_some_and(|found| found == v))
}
