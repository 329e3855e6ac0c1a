//! Pipeline definitions as data: which tables flow through the lakehouse, their keys, cursors,
//! soft-delete columns and quality rules, and the Gold queries. They live in `pipelines/<name>/`
//! as a `pipeline.toml` and `.sql` files, so that adding a table or a Gold query needs no Rust.

use std::path::{Path, PathBuf};

use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;
use serde::Deserialize;

use crate::error::{Error, Result};

/// A validated pipeline: tables in extraction order and Gold queries in build order.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    pub name: String,
    pub tables: Vec<TableSpec>,
    pub gold: Vec<GoldSpec>,
}

/// One source table and how it becomes Silver.
#[derive(Debug, Clone, PartialEq)]
pub struct TableSpec {
    pub name: String,
    /// The primary-key column: Silver holds one row per key. Integer-valued.
    pub key: String,
    /// The column that moves forward on every change (a timestamp).
    pub cursor: String,
    /// A nullable timestamp column whose non-NULL value marks the row deleted.
    pub soft_delete: Option<String>,
    pub rules: Vec<Rule>,
    /// Whether the table's Silver and quarantine tables are created with deletion vectors, so
    /// that a MERGE removing a few rows of a large file marks them instead of rewriting it. On
    /// by default; off for readers that do not support them.
    pub deletion_vectors: bool,
}

/// A named quality rule: a SQL predicate a row must satisfy to reach Silver.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Rule {
    pub name: String,
    pub check: String,
}

/// A Gold table: a SQL query over Silver, rewritten whenever Silver moves.
#[derive(Debug, Clone, PartialEq)]
pub struct GoldSpec {
    pub name: String,
    pub sql: String,
}

/// The shop pipeline, compiled in so that a binary runs without the `pipelines/` folder.
pub fn shop() -> Result<Pipeline> {
    Pipeline::from_parts(
        "pipelines/shop/pipeline.toml (embedded)",
        include_str!("../../../pipelines/shop/pipeline.toml"),
        |path| match path {
            "gold/daily_sales.sql" => Ok(include_str!("../../../pipelines/shop/gold/daily_sales.sql").to_owned()),
            "gold/customer_ltv.sql" => Ok(include_str!("../../../pipelines/shop/gold/customer_ltv.sql").to_owned()),
            "gold/product_sales.sql" => Ok(include_str!("../../../pipelines/shop/gold/product_sales.sql").to_owned()),
            other => Err(format!("no embedded file {other}")),
        },
    )
}

impl Pipeline {
    /// Loads `dir/pipeline.toml` and the SQL files it names (paths relative to `dir`).
    pub fn load(dir: &Path) -> Result<Self> {
        let manifest = dir.join("pipeline.toml");
        let text = std::fs::read_to_string(&manifest).map_err(|source| Error::PipelineRead {
            path: manifest.clone(),
            source,
        })?;
        Self::from_parts(&manifest.display().to_string(), &text, |relative| {
            let path: PathBuf = dir.join(relative);
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))
        })
    }

    /// Parses a manifest; `read_sql` resolves the Gold SQL paths it names.
    pub fn from_parts(
        origin: &str,
        manifest: &str,
        read_sql: impl Fn(&str) -> std::result::Result<String, String>,
    ) -> Result<Self> {
        let invalid = |reason: String| Error::InvalidPipeline {
            origin: origin.to_owned(),
            reason,
        };
        let raw: RawPipeline = toml::from_str(manifest).map_err(|e| invalid(e.to_string()))?;
        let defaults = raw.defaults.unwrap_or_default();
        let tables = raw
            .table
            .into_iter()
            .map(|t| t.resolve(&defaults).map_err(&invalid))
            .collect::<Result<Vec<_>>>()?;
        let gold = raw
            .gold
            .into_iter()
            .map(|g| {
                let sql = read_sql(&g.sql).map_err(|e| invalid(format!("gold table {}: {e}", g.name)))?;
                Ok(GoldSpec { name: g.name, sql })
            })
            .collect::<Result<Vec<_>>>()?;
        let pipeline = Pipeline {
            name: raw.name,
            tables,
            gold,
        };
        pipeline.validate().map_err(invalid)?;
        Ok(pipeline)
    }

    /// The table spec for `name`, if the pipeline has it.
    pub fn table(&self, name: &str) -> Option<&TableSpec> {
        self.tables.iter().find(|t| t.name == name)
    }

    fn validate(&self) -> std::result::Result<(), String> {
        check_identifier("pipeline name", &self.name)?;
        if self.tables.is_empty() {
            return Err("a pipeline needs at least one [[table]]".into());
        }
        let mut seen = std::collections::HashSet::new();
        for table in &self.tables {
            if !seen.insert(table.name.as_str()) {
                return Err(format!("table {} is listed twice", table.name));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for gold in &self.gold {
            check_identifier("gold table name", &gold.name)?;
            if !seen.insert(gold.name.as_str()) {
                return Err(format!("gold table {} is listed twice", gold.name));
            }
            Parser::parse_sql(&GenericDialect {}, &gold.sql)
                .map_err(|e| format!("gold table {}: invalid SQL: {e}", gold.name))?;
        }
        Ok(())
    }
}

/// Table and column names are spliced into SQL, so only plain identifiers are accepted.
pub(crate) fn check_identifier(what: &str, name: &str) -> std::result::Result<(), String> {
    let mut chars = name.chars();
    let starts_well = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if starts_well && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Ok(())
    } else {
        Err(format!(
            "{what} {name:?} is not a plain identifier (letters, digits and _, not starting with a digit)"
        ))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPipeline {
    name: String,
    defaults: Option<RawDefaults>,
    #[serde(default)]
    table: Vec<RawTable>,
    #[serde(default)]
    gold: Vec<RawGold>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    key: Option<String>,
    cursor: Option<String>,
    soft_delete: Option<String>,
    deletion_vectors: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    name: String,
    key: Option<String>,
    cursor: Option<String>,
    soft_delete: Option<String>,
    deletion_vectors: Option<bool>,
    #[serde(default)]
    rules: Vec<Rule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGold {
    name: String,
    sql: String,
}

impl RawTable {
    fn resolve(self, defaults: &RawDefaults) -> std::result::Result<TableSpec, String> {
        let name = self.name;
        check_identifier("table name", &name)?;
        let required = |value: Option<String>, default: &Option<String>, what: &str| {
            value
                .or_else(|| default.clone())
                .ok_or_else(|| format!("table {name}: no {what} (set it on the table or in [defaults])"))
        };
        let key = required(self.key, &defaults.key, "key")?;
        let cursor = required(self.cursor, &defaults.cursor, "cursor")?;
        let soft_delete = self.soft_delete.or_else(|| defaults.soft_delete.clone());
        for column in [Some(&key), Some(&cursor), soft_delete.as_ref()].into_iter().flatten() {
            check_identifier(&format!("table {name}: column"), column)?;
        }
        let mut seen = std::collections::HashSet::new();
        for rule in &self.rules {
            check_identifier(&format!("table {name}: rule name"), &rule.name)?;
            if !seen.insert(rule.name.as_str()) {
                return Err(format!("table {name}: rule {} is listed twice", rule.name));
            }
            Parser::new(&GenericDialect {})
                .try_with_sql(&rule.check)
                .and_then(|mut p| p.parse_expr())
                .map_err(|e| format!("table {name}: rule {}: invalid SQL predicate: {e}", rule.name))?;
        }
        Ok(TableSpec {
            name,
            key,
            cursor,
            soft_delete,
            rules: self.rules,
            deletion_vectors: self.deletion_vectors.or(defaults.deletion_vectors).unwrap_or(true),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(manifest: &str) -> Result<Pipeline> {
        Pipeline::from_parts("test.toml", manifest, |p| Ok(format!("SELECT 1 AS x -- {p}")))
    }

    #[test]
    fn the_embedded_shop_pipeline_is_valid() {
        let shop = shop().unwrap();
        assert_eq!(shop.name, "shop");
        let names: Vec<_> = shop.tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["customers", "products", "orders", "order_items"]);
        assert_eq!(shop.gold.len(), 3);
        let orders = shop.table("orders").unwrap();
        assert_eq!((orders.key.as_str(), orders.cursor.as_str()), ("id", "updated_at"));
        assert_eq!(orders.soft_delete.as_deref(), Some("deleted_at"));
    }

    #[test]
    fn defaults_apply_and_tables_override_them() {
        let p = parse(
            r#"
            name = "p"
            [defaults]
            key = "id"
            cursor = "updated_at"
            deletion_vectors = false
            [[table]]
            name = "a"
            [[table]]
            name = "b"
            key = "b_id"
            soft_delete = "removed_at"
            deletion_vectors = true
            "#,
        )
        .unwrap();
        assert_eq!(p.tables[0].key, "id");
        assert_eq!(p.tables[0].soft_delete, None);
        assert!(!p.tables[0].deletion_vectors);
        assert_eq!(p.tables[1].key, "b_id");
        assert_eq!(p.tables[1].soft_delete.as_deref(), Some("removed_at"));
        assert!(p.tables[1].deletion_vectors);
        assert!(
            shop().unwrap().tables.iter().all(|t| t.deletion_vectors),
            "on by default"
        );
    }

    #[test]
    fn errors_name_the_file_the_table_and_the_problem() {
        let missing_key = parse("name = \"p\"\n[[table]]\nname = \"a\"\ncursor = \"u\"").unwrap_err();
        let message = missing_key.to_string();
        assert!(
            message.contains("test.toml") && message.contains("table a") && message.contains("no key"),
            "{message}"
        );

        let bad_rule = parse(
            "name = \"p\"\n[[table]]\nname = \"a\"\nkey = \"id\"\ncursor = \"u\"\nrules = [{ name = \"r\", check = \"x >\" }]",
        )
        .unwrap_err();
        assert!(
            bad_rule.to_string().contains("rule r: invalid SQL predicate"),
            "{bad_rule}"
        );

        let injected = parse("name = \"p\"\n[[table]]\nname = \"a; drop\"\nkey = \"id\"\ncursor = \"u\"").unwrap_err();
        assert!(injected.to_string().contains("not a plain identifier"), "{injected}");

        let unknown =
            parse("name = \"p\"\ncolour = 1\n[[table]]\nname = \"a\"\nkey = \"id\"\ncursor = \"u\"").unwrap_err();
        assert!(unknown.to_string().contains("colour"), "{unknown}");
    }
}
