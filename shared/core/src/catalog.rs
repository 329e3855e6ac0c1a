//! The catalog's model of a table, shared by the local catalog and the Glue Data Catalog: where
//! a Delta table lives and its columns with Hive/Glue types, derived from the Arrow schema.

use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A column as the catalog holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    /// The Hive type Glue and Athena use: `bigint`, `decimal(12,2)`, `timestamp`, …
    #[serde(rename = "type")]
    pub glue_type: String,
}

/// A Delta table as registered in a catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableDefinition {
    /// The catalog database: the layer's name behind the environment's prefix.
    pub database: String,
    pub name: String,
    /// The table's root, e.g. `s3://lake/silver/orders/`.
    pub location: String,
    pub columns: Vec<Column>,
}

/// The catalog database of a layer: `<prefix><layer>`, e.g. `prod_lakehouse_silver`.
pub fn database_name(prefix: &str, layer: &str) -> String {
    format!("{prefix}{layer}")
}

/// The catalog columns of an Arrow schema, in order.
pub fn columns(schema: &Schema) -> Result<Vec<Column>> {
    schema
        .fields()
        .iter()
        .map(|field| {
            Ok(Column {
                name: field.name().to_lowercase(),
                glue_type: glue_type(field)?,
            })
        })
        .collect()
}

/// The Hive type of an Arrow field, as Glue stores it and Athena reads it.
pub fn glue_type(field: &Field) -> Result<String> {
    hive_type(field.data_type()).ok_or_else(|| Error::Catalog {
        column: field.name().clone(),
        reason: format!("no Glue type for Arrow type {}", field.data_type()),
    })
}

fn hive_type(data_type: &DataType) -> Option<String> {
    let simple = match data_type {
        DataType::Boolean => "boolean",
        DataType::Int8 => "tinyint",
        DataType::Int16 | DataType::UInt8 => "smallint",
        DataType::Int32 | DataType::UInt16 => "int",
        DataType::Int64 | DataType::UInt32 => "bigint",
        DataType::Float16 | DataType::Float32 => "float",
        DataType::Float64 => "double",
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "string",
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => "binary",
        DataType::Date32 | DataType::Date64 => "date",
        DataType::Timestamp(TimeUnit::Second | TimeUnit::Millisecond | TimeUnit::Microsecond, _) => "timestamp",
        DataType::Decimal128(precision, scale) | DataType::Decimal256(precision, scale) => {
            return Some(format!("decimal({precision},{scale})"));
        }
        DataType::List(item) | DataType::LargeList(item) | DataType::FixedSizeList(item, _) => {
            return Some(format!("array<{}>", hive_type(item.data_type())?));
        }
        DataType::Struct(fields) => {
            let members: Option<Vec<String>> = fields
                .iter()
                .map(|f| Some(format!("{}:{}", f.name().to_lowercase(), hive_type(f.data_type())?)))
                .collect();
            return Some(format!("struct<{}>", members?.join(",")));
        }
        DataType::Map(entries, _) => {
            let DataType::Struct(kv) = entries.data_type() else {
                return None;
            };
            let [key, value] = kv.iter().collect::<Vec<_>>()[..] else {
                return None;
            };
            return Some(format!(
                "map<{},{}>",
                hive_type(key.data_type())?,
                hive_type(value.data_type())?
            ));
        }
        _ => return None,
    };
    Some(simple.to_owned())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn arrow_types_map_to_the_hive_types_athena_reads() {
        let schema = Schema::new(vec![
            Field::new("ID", DataType::Int64, false),
            Field::new("qty", DataType::Int32, true),
            Field::new("price", DataType::Decimal128(12, 2), true),
            Field::new(
                "at",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
            Field::new("day", DataType::Date32, true),
            Field::new("name", DataType::Utf8, true),
            Field::new("ok", DataType::Boolean, true),
            Field::new(
                "tags",
                DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
                true,
            ),
        ]);
        let types: Vec<(String, String)> = columns(&schema)
            .unwrap()
            .into_iter()
            .map(|c| (c.name, c.glue_type))
            .collect();
        let expected = [
            ("id", "bigint"),
            ("qty", "int"),
            ("price", "decimal(12,2)"),
            ("at", "timestamp"),
            ("day", "date"),
            ("name", "string"),
            ("ok", "boolean"),
            ("tags", "array<string>"),
        ];
        let expected: Vec<(String, String)> = expected.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        assert_eq!(types, expected);
    }

    #[test]
    fn a_type_glue_cannot_hold_names_its_column() {
        let schema = Schema::new(vec![Field::new("span", DataType::Duration(TimeUnit::Second), true)]);
        let error = columns(&schema).unwrap_err().to_string();
        assert!(error.contains("span") && error.contains("Duration"), "{error}");
    }
}
