//! CloudWatch metrics as Embedded Metric Format documents on stdout, through the `metrics`
//! facade and `metrics_cloudwatch_embedded`: one namespace (`LAKEHOUSE_METRICS_NAMESPACE`,
//! `Lakehouse` by default), every metric by `Function`, and by `Function` and `Table` where a
//! table applies. The documents are flushed once per invocation.

use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use lakehouse_io::stages::{ExtractReport, GoldReport, IngestReport, TableRefine};
use metrics::{Unit, counter, describe_counter, describe_gauge, gauge};
use metrics_cloudwatch_embedded::Collector;

use crate::config::optional;

pub const DEFAULT_NAMESPACE: &str = "Lakehouse";

static COLLECTOR: OnceLock<Option<&'static Collector>> = OnceLock::new();

/// Installs the process's metrics recorder once; later calls return the same collector.
/// `None` when another recorder was installed first (metrics are then not emitted as EMF).
pub fn collector() -> Option<&'static Collector> {
    *COLLECTOR.get_or_init(|| {
        let namespace = optional("LAKEHOUSE_METRICS_NAMESPACE").unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
        let installed = metrics_cloudwatch_embedded::Builder::new()
            .cloudwatch_namespace(namespace)
            .init()
            .map_err(|e| tracing::warn!(error = %e, "metrics recorder not installed"))
            .ok()?;
        describe();
        Some(installed)
    })
}

fn describe() {
    for name in [
        "RowsRead",
        "RowsWritten",
        "RowsQuarantined",
        "FilesQuarantined",
        "Files",
    ] {
        describe_counter!(name, Unit::Count, "");
    }
    describe_counter!("Bytes", Unit::Bytes, "");
    describe_gauge!("DurationMs", Unit::Milliseconds, "");
    describe_gauge!("FreshnessSeconds", Unit::Seconds, "");
    describe_gauge!("DeltaVersion", Unit::Count, "");
}

/// Writes the metrics gathered since the last flush as EMF documents to `out`.
pub fn flush(request_id: &str, out: impl std::io::Write) {
    if let Some(collector) = collector()
        && let Err(e) = collector.set_property("RequestId", request_id).flush(out)
    {
        tracing::warn!(error = %e, "metrics not written");
    }
}

/// The metrics of one function.
#[derive(Debug, Clone, Copy)]
pub struct Metrics {
    function: &'static str,
}

impl Metrics {
    pub fn new(function: &'static str) -> Self {
        collector();
        Self { function }
    }

    /// Adds `value` to the counter `name`, by function and, when given, by function and table.
    pub fn count(&self, name: &'static str, table: Option<&str>, value: u64) {
        counter!(name, "Function" => self.function).increment(value);
        if let Some(table) = table {
            counter!(name, "Function" => self.function, "Table" => table.to_owned()).increment(value);
        }
    }

    /// Sets the gauge `name`, by function and table when given, else by function.
    pub fn set(&self, name: &'static str, table: Option<&str>, value: f64) {
        match table {
            Some(table) => gauge!(name, "Function" => self.function, "Table" => table.to_owned()).set(value),
            None => gauge!(name, "Function" => self.function).set(value),
        }
    }

    pub fn duration(&self, elapsed: std::time::Duration) {
        self.set("DurationMs", None, elapsed.as_secs_f64() * 1000.0);
    }

    pub fn extract(&self, report: &ExtractReport) {
        for table in &report.tables {
            self.count("RowsRead", Some(&table.table), table.rows);
            self.count("Files", Some(&table.table), table.files.len() as u64);
        }
    }

    pub fn ingest(&self, report: &IngestReport) {
        self.count("Files", None, report.files_ingested);
        self.count("RowsWritten", None, report.rows);
        self.count("Bytes", None, report.bytes);
        for (file, _) in &report.files_quarantined {
            self.count("FilesQuarantined", file.split('/').next(), 1);
        }
    }

    pub fn refine(&self, report: &[TableRefine]) {
        for table in report.iter().filter(|t| !t.up_to_date) {
            let name = Some(table.table.as_str());
            self.count("RowsRead", name, table.changed_keys);
            self.count("RowsWritten", name, table.changed_keys - table.quarantined);
            self.count("RowsQuarantined", name, table.quarantined);
            if let Some(version) = table.bronze_version {
                self.set("DeltaVersion", name, version as f64);
            }
        }
    }

    pub fn gold(&self, report: &[GoldReport]) {
        for table in report {
            let name = Some(table.table.as_str());
            if let Some(rows) = table.rows {
                self.count("RowsWritten", name, rows);
            }
            if let Some(version) = table.version {
                self.set("DeltaVersion", name, version as f64);
            }
        }
    }

    /// How old each table's newest source change is, and, by function alone, the newest of all:
    /// it grows without bound when the whole pipeline stops.
    pub fn freshness(&self, newest: &[(String, Option<DateTime<Utc>>)]) {
        let now = Utc::now();
        let age = |at: &DateTime<Utc>| (now - *at).num_milliseconds().max(0) as f64 / 1000.0;
        for (table, at) in newest {
            if let Some(at) = at {
                self.set("FreshnessSeconds", Some(table), age(at));
            }
        }
        if let Some(latest) = newest.iter().filter_map(|(_, at)| *at).max() {
            self.set("FreshnessSeconds", None, age(&latest));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_come_out_as_emf_documents_by_function_and_table() {
        let function: &'static str = Box::leak(format!("test-{}", uuid::Uuid::new_v4().simple()).into_boxed_str());
        let metrics = Metrics::new(function);
        metrics.count("RowsQuarantined", Some("orders"), 3);
        metrics.count("RowsQuarantined", Some("customers"), 2);
        let mut out = Vec::new();
        flush("req-1", &mut out);
        let documents: Vec<serde_json::Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .filter(|d: &serde_json::Value| d["Function"] == function)
            .collect();
        let of = |table: Option<&str>| {
            documents
                .iter()
                .find(|d| d.get("Table").and_then(|t| t.as_str()) == table)
                .unwrap_or_else(|| panic!("a document for {table:?} in {documents:?}"))
        };
        assert_eq!(of(None)["RowsQuarantined"], 5);
        assert_eq!(of(Some("orders"))["RowsQuarantined"], 3);
        let aws = &of(Some("orders"))["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(aws["Namespace"], DEFAULT_NAMESPACE);
        assert_eq!(aws["Dimensions"][0], serde_json::json!(["Function", "Table"]));
        assert_eq!(aws["Metrics"][0]["Unit"], "Count");
        assert_eq!(of(None)["RequestId"], "req-1");
    }
}
