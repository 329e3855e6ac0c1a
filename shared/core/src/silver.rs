//! Silver: the current, valid, not-deleted state of each source table.
//!
//! From the Bronze rows a refine has not seen yet, the latest version of each key is kept (by
//! [`newest_first`]) and [`verdicts_sql`] gives it a verdict: deleted, failing a named rule, or
//! valid. The I/O layer then
//! merges those verdicts into the Silver table (valid rows upserted, the rest removed) and into
//! the quarantine table (the latest failing version of each key kept with its rule), under the
//! rules of [`crate::upsert`]: an older version never replaces a newer one, which makes replaying
//! a batch harmless.

use crate::bronze::{EXTRACTED_AT, SOURCE_FILE};
use crate::pipeline::TableSpec;

/// Whether the latest version is soft-deleted (a boolean column of the changes).
pub const DELETED: &str = "_deleted";
/// The first rule the latest version fails, or NULL (a column of the changes).
pub const FAILED_RULE: &str = "_failed_rule";
/// The failed rule's check, for people reading the quarantine.
pub const FAILED_CHECK: &str = "_failed_check";
/// When a row was put in quarantine (UTC).
pub const QUARANTINED_AT: &str = "_quarantined_at";

/// Quotes an identifier for DataFusion SQL.
pub fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// The columns that order the versions of a key, newest first: the cursor, then the later
/// extraction, then the later landing file (see [`crate::latest::latest_per_key`]).
pub fn newest_first(spec: &TableSpec) -> [&str; 3] {
    [&spec.cursor, EXTRACTED_AT, SOURCE_FILE]
}

/// SQL over the relation `input` (the latest version of each key: data columns `columns` plus
/// the lineage) that gives each version its verdict: [`DELETED`], [`FAILED_RULE`] and
/// [`FAILED_CHECK`].
pub fn verdicts_sql(spec: &TableSpec, columns: &[String], input: &str) -> String {
    let listed = columns
        .iter()
        .chain([SOURCE_FILE.to_owned(), EXTRACTED_AT.to_owned()].iter())
        .map(|c| quote(c))
        .collect::<Vec<_>>()
        .join(", ");
    let deleted = match &spec.soft_delete {
        Some(column) if columns.contains(column) => format!("({} IS NOT NULL)", quote(column)),
        _ => "false".to_owned(),
    };
    let verdict = |pick: fn(&crate::pipeline::Rule) -> String| {
        if spec.rules.is_empty() {
            return "CAST(NULL AS VARCHAR)".to_owned();
        }
        let arms: String = spec
            .rules
            .iter()
            .map(|rule| format!(" WHEN ({}) IS NOT TRUE THEN {}", rule.check, pick(rule)))
            .collect();
        format!("CASE WHEN {deleted} THEN NULL{arms} ELSE NULL END")
    };
    format!(
        "SELECT {listed}, {deleted} AS {DELETED}, {rule} AS {FAILED_RULE}, {check} AS {FAILED_CHECK} FROM {input}",
        rule = verdict(|r| sql_string(&r.name)),
        check = verdict(|r| sql_string(&r.check)),
    )
}

/// The columns Silver keeps: the data columns without the soft-delete marker, plus lineage.
pub fn silver_columns(spec: &TableSpec, columns: &[String]) -> Vec<String> {
    columns
        .iter()
        .filter(|c| spec.soft_delete.as_ref() != Some(*c))
        .cloned()
        .chain([SOURCE_FILE.to_owned(), EXTRACTED_AT.to_owned()])
        .collect()
}

/// The columns quarantine keeps: every data column, lineage, and why the row failed.
pub fn quarantine_columns(columns: &[String]) -> Vec<String> {
    columns
        .iter()
        .cloned()
        .chain([SOURCE_FILE, EXTRACTED_AT, FAILED_RULE, FAILED_CHECK].map(str::to_owned))
        .collect()
}

fn sql_string(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{AsArray, BooleanArray, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
    use datafusion::prelude::SessionContext;

    use super::*;
    use crate::pipeline::Rule;

    fn spec() -> TableSpec {
        TableSpec {
            name: "customers".into(),
            key: "id".into(),
            cursor: "updated_at".into(),
            soft_delete: Some("deleted_at".into()),
            rules: vec![
                Rule {
                    name: "email_format".into(),
                    check: "email LIKE '%_@_%'".into(),
                },
                Rule {
                    name: "country_iso2".into(),
                    check: "country ~ '^[A-Z]{2}$'".into(),
                },
            ],
            deletion_vectors: true,
        }
    }

    /// Keeps the latest version per key and runs `verdicts_sql` over rows of (id, email, country, updated_at, deleted?, file, extracted_at)
    /// and returns (id, email, deleted, failed rule) sorted by id.
    async fn changes(rows: Vec<(i64, &str, &str, i64, bool, &str, i64)>) -> Vec<(i64, String, bool, Option<String>)> {
        let ts = |v: Vec<Option<i64>>| Arc::new(TimestampMicrosecondArray::from(v).with_timezone("UTC"));
        let batch = RecordBatch::try_from_iter(vec![
            (
                "id",
                Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.0))) as _,
            ),
            (
                "email",
                Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.1))) as _,
            ),
            (
                "country",
                Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.2))) as _,
            ),
            ("updated_at", ts(rows.iter().map(|r| Some(r.3)).collect()) as _),
            ("deleted_at", ts(rows.iter().map(|r| r.4.then_some(r.3)).collect()) as _),
            (
                SOURCE_FILE,
                Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.5))) as _,
            ),
            (EXTRACTED_AT, ts(rows.iter().map(|r| Some(r.6)).collect()) as _),
        ])
        .unwrap();
        let schema = batch.schema();
        let latest = crate::latest::latest_per_key(&schema, &[batch], "id", &newest_first(&spec())).unwrap();
        let ctx = SessionContext::new();
        let table = datafusion::datasource::MemTable::try_new(schema, vec![latest]).unwrap();
        ctx.register_table("latest_changes", Arc::new(table)).unwrap();
        let columns = ["id", "email", "country", "updated_at", "deleted_at"].map(String::from);
        let sql = verdicts_sql(&spec(), &columns, "latest_changes");
        let out = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
        let mut result = Vec::new();
        for b in out {
            let ids = b
                .column_by_name("id")
                .unwrap()
                .as_primitive::<arrow::datatypes::Int64Type>();
            let emails = b.column_by_name("email").unwrap().as_string::<i32>();
            let deleted = b
                .column_by_name(DELETED)
                .unwrap()
                .as_any()
                .downcast_ref::<BooleanArray>()
                .unwrap();
            let rules = b.column_by_name(FAILED_RULE).unwrap().as_string::<i32>();
            for i in 0..b.num_rows() {
                let rule = (!arrow::array::Array::is_null(rules, i)).then(|| rules.value(i).to_owned());
                result.push((ids.value(i), emails.value(i).to_owned(), deleted.value(i), rule));
            }
        }
        result.sort();
        result
    }

    #[tokio::test]
    async fn the_latest_version_of_each_key_wins_with_its_verdict() {
        let got = changes(vec![
            (1, "a@x.io", "US", 10, false, "f1", 1),
            (1, "a2@x.io", "US", 20, false, "f2", 2), // newer: wins
            (2, "b@x.io", "DE", 10, false, "f1", 1),
            (2, "b@x.io", "DE", 30, true, "f2", 2), // deleted later: deleted, no rule verdict
            (3, "c@x.io", "us", 10, false, "f1", 1), // lower-case country fails
            (4, "@x.io", "FR", 10, false, "f1", 1), // nothing before the @
            (5, "bad", "fr", 10, false, "f1", 1),   // first failing rule is named
        ])
        .await;
        assert_eq!(
            got,
            vec![
                (1, "a2@x.io".into(), false, None),
                (2, "b@x.io".into(), true, None),
                (3, "c@x.io".into(), false, Some("country_iso2".into())),
                (4, "@x.io".into(), false, Some("email_format".into())),
                (5, "bad".into(), false, Some("email_format".into())),
            ]
        );
    }

    #[tokio::test]
    async fn equal_stamps_go_to_the_later_extraction_then_the_later_file() {
        let got = changes(vec![
            (1, "old@x.io", "US", 10, false, "f1", 1),
            (1, "new@x.io", "US", 10, false, "f0", 2),
            (2, "old@x.io", "US", 10, false, "f1", 5),
            (2, "new@x.io", "US", 10, false, "f2", 5),
        ])
        .await;
        assert_eq!(got[0].1, "new@x.io");
        assert_eq!(got[1].1, "new@x.io");
    }

    #[test]
    fn silver_drops_the_soft_delete_marker_and_quarantine_keeps_everything() {
        let columns = ["id", "email", "deleted_at"].map(String::from);
        assert_eq!(
            silver_columns(&spec(), &columns),
            ["id", "email", SOURCE_FILE, EXTRACTED_AT]
        );
        assert_eq!(
            quarantine_columns(&columns),
            [
                "id",
                "email",
                "deleted_at",
                SOURCE_FILE,
                EXTRACTED_AT,
                FAILED_RULE,
                FAILED_CHECK
            ]
        );
        assert_eq!(quote("a\"b"), "\"a\"\"b\"");
    }
}
