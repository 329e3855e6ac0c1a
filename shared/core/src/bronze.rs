//! Bronze: landing rows as they arrived, plus where and when they came from.
//!
//! A landing file is conformed to its Bronze table: its columns cast to the table's types (only
//! where nothing can be lost), columns the file lacks filled with NULL, new columns added to the
//! table, and the ingestion metadata appended. Files from Airbyte's S3 destination carry their own
//! `_airbyte_*` columns; their extraction time becomes ours and the rest are dropped.

use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::buffer::{Buffer, OffsetBuffer, ScalarBuffer};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit, TimestampMicrosecondType};

use crate::error::{Error, Result};
use crate::types::{UTC, fit_column, timestamp_type};

/// The landing file a row came from, relative to the landing root.
pub const SOURCE_FILE: &str = "_source_file";
/// When the row was read from its source (UTC).
pub const EXTRACTED_AT: &str = "_extracted_at";
/// When the row was appended to Bronze (UTC).
pub const INGESTED_AT: &str = "_ingested_at";
/// The Bronze commit the row arrived in.
pub const BATCH_ID: &str = "_batch_id";

/// Airbyte's per-row extraction time, in the files its S3 destination writes.
pub const AIRBYTE_EXTRACTED_AT: &str = "_airbyte_extracted_at";
const AIRBYTE_PREFIX: &str = "_airbyte_";

/// The metadata columns every Bronze table ends with.
pub fn metadata_fields() -> [Field; 4] {
    [
        Field::new(SOURCE_FILE, DataType::Utf8, false),
        Field::new(EXTRACTED_AT, timestamp_type(), false),
        Field::new(INGESTED_AT, timestamp_type(), false),
        Field::new(BATCH_ID, DataType::Utf8, false),
    ]
}

/// Whether a column is ingestion metadata rather than source data.
pub fn is_metadata(name: &str) -> bool {
    metadata_fields().iter().any(|f| f.name() == name)
}

/// What the ingestion knows about one landing file.
#[derive(Debug, Clone)]
pub struct FileMeta {
    /// Path relative to the landing root, e.g. `orders/20261126T…-0001.parquet`.
    pub source_file: String,
    /// When the producer read the rows (µs, UTC); used when the file has no per-row time.
    pub extracted_at: i64,
    /// When this ingestion runs (µs, UTC).
    pub ingested_at: i64,
    pub batch_id: String,
}

/// The Bronze schema after a file with `landing` columns arrives: the table's columns (or none
/// for a new table) with the file's new columns added, then the metadata columns.
/// Fails, naming the column, if a column's type changed in a way that cannot be cast losslessly.
pub fn bronze_schema(landing: &Schema, table: Option<&Schema>) -> Result<SchemaRef> {
    let mut fields: Vec<Field> = table
        .map(|t| {
            t.fields()
                .iter()
                .filter(|f| !is_metadata(f.name()))
                .map(|f| f.as_ref().clone())
                .collect()
        })
        .unwrap_or_default();
    for field in data_fields(landing) {
        match fields.iter().find(|f| f.name() == field.name()) {
            Some(existing) => check_compatible(field, existing)?,
            None => fields.push(Field::new(field.name(), normalized(field.data_type()), true)),
        }
    }
    fields.extend(metadata_fields());
    Ok(Arc::new(Schema::new(fields)))
}

/// Conforms one landing batch to `target` (from [`bronze_schema`]) and adds the metadata.
pub fn conform(batch: &RecordBatch, target: &SchemaRef, meta: &FileMeta) -> Result<RecordBatch> {
    let rows = batch.num_rows();
    let columns = target
        .fields()
        .iter()
        .map(|field| -> Result<ArrayRef> {
            Ok(match field.name().as_str() {
                SOURCE_FILE => repeated(&meta.source_file, rows)?,
                EXTRACTED_AT => extracted_at(batch, meta)?,
                INGESTED_AT => timestamps(vec![meta.ingested_at; rows]),
                BATCH_ID => repeated(&meta.batch_id, rows)?,
                _ => fit_column(batch, field)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(RecordBatch::try_new(target.clone(), columns)?)
}

/// The file's source columns: everything but Airbyte's bookkeeping and our own metadata.
fn data_fields(landing: &Schema) -> impl Iterator<Item = &Field> {
    landing
        .fields()
        .iter()
        .map(|f| f.as_ref())
        .filter(|f| !f.name().starts_with(AIRBYTE_PREFIX) && !is_metadata(f.name()))
}

/// The type a new column gets in Bronze: strings and binaries in their plain form, timestamps
/// in microseconds UTC.
fn normalized(data_type: &DataType) -> DataType {
    match data_type {
        DataType::LargeUtf8 | DataType::Utf8View => DataType::Utf8,
        DataType::LargeBinary | DataType::BinaryView => DataType::Binary,
        DataType::Timestamp(..) => timestamp_type(),
        other => other.clone(),
    }
}

/// Accepts a file column whose type can be cast into the table's without losing anything.
fn check_compatible(file: &Field, table: &Field) -> Result<()> {
    use DataType::*;
    let (from, to) = (normalized(file.data_type()), table.data_type());
    let widening = match (&from, to) {
        (a, b) if a == b => true,
        (Int8, Int16 | Int32 | Int64) | (Int16, Int32 | Int64) | (Int32, Int64) => true,
        (UInt8, Int16 | Int32 | Int64) | (UInt16, Int32 | Int64) | (UInt32, Int64) => true,
        (Float32, Float64) => true,
        (Decimal128(p1, s1), Decimal128(p2, s2)) => s1 == s2 && p1 <= p2,
        (Date32, Timestamp(TimeUnit::Microsecond, _)) => true,
        (Null, _) => true,
        _ => false,
    };
    if widening {
        Ok(())
    } else {
        Err(Error::Incompatible(format!(
            "column {} is {} in the table but {} in the file",
            file.name(),
            to,
            file.data_type()
        )))
    }
}

/// Per-row extraction times from Airbyte's column when present, else the file's.
fn extracted_at(batch: &RecordBatch, meta: &FileMeta) -> Result<ArrayRef> {
    let Some(column) = batch.column_by_name(AIRBYTE_EXTRACTED_AT) else {
        return Ok(timestamps(vec![meta.extracted_at; batch.num_rows()]));
    };
    // Airbyte writes epoch milliseconds, either as a timestamp or as a plain integer.
    let as_time = match column.data_type() {
        DataType::Timestamp(..) => column.clone(),
        _ => cast(column, &DataType::Timestamp(TimeUnit::Millisecond, None))?,
    };
    let micros = cast(&as_time, &timestamp_type())?;
    let micros = micros
        .as_primitive_opt::<TimestampMicrosecondType>()
        .ok_or_else(|| Error::Incompatible(format!("column {AIRBYTE_EXTRACTED_AT} is not a time")))?;
    Ok(timestamps(
        micros.iter().map(|v| v.unwrap_or(meta.extracted_at)).collect(),
    ))
}

/// `value` on each of `rows` rows, built in one copy: these columns are most of the bytes Bronze
/// adds to a row, and pushing the same string row by row cost a tenth of an ingest's CPU.
fn repeated(value: &str, rows: usize) -> Result<ArrayRef> {
    let fits = value
        .len()
        .checked_mul(rows)
        .is_some_and(|end| i32::try_from(end).is_ok());
    if !fits {
        return Err(Error::Incompatible(format!(
            "{rows} rows of {value:?} do not fit one string column"
        )));
    }
    // Every offset is at most the last, which fits an i32.
    let offsets = ScalarBuffer::from_iter((0..=rows).map(|row| (row * value.len()) as i32));
    let values = Buffer::from(value.repeat(rows).into_bytes());
    Ok(Arc::new(StringArray::new(OffsetBuffer::new(offsets), values, None)))
}

fn timestamps(values: Vec<i64>) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from(values).with_timezone(UTC))
}

#[cfg(test)]
mod tests {
    use arrow::array::{Array, Decimal128Array, Int32Array, Int64Array};
    use arrow::datatypes::Int64Type;

    use super::*;

    fn meta() -> FileMeta {
        FileMeta {
            source_file: "orders/a.parquet".into(),
            extracted_at: 111,
            ingested_at: 222,
            batch_id: "b1".into(),
        }
    }

    fn landing(fields: Vec<(&str, ArrayRef)>) -> RecordBatch {
        RecordBatch::try_from_iter(fields.into_iter().map(|(n, a)| (n.to_string(), a))).unwrap()
    }

    #[test]
    fn a_new_table_takes_the_file_columns_and_the_metadata() {
        let batch = landing(vec![
            ("id", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
            (
                "price",
                Arc::new(
                    Decimal128Array::from(vec![199, 250])
                        .with_precision_and_scale(10, 2)
                        .unwrap(),
                ),
            ),
        ]);
        let schema = bronze_schema(&batch.schema(), None).unwrap();
        let names: Vec<_> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["id", "price", SOURCE_FILE, EXTRACTED_AT, INGESTED_AT, BATCH_ID]);
        let out = conform(&batch, &schema, &meta()).unwrap();
        assert_eq!(out.num_rows(), 2);
        assert_eq!(out.column(2).as_string::<i32>().value(1), "orders/a.parquet");
        assert_eq!(out.column(3).as_primitive::<TimestampMicrosecondType>().value(0), 111);
        assert_eq!(out.column(4).as_primitive::<TimestampMicrosecondType>().value(0), 222);
        assert_eq!(out.column(5).as_string::<i32>().value(0), "b1");
    }

    #[test]
    fn a_repeated_value_is_on_every_row_and_an_impossible_column_is_refused() {
        for (value, rows) in [("orders/a.parquet", 3), ("", 2), ("x", 0)] {
            let column = repeated(value, rows).unwrap();
            let strings = column.as_string::<i32>();
            assert_eq!(strings.len(), rows);
            assert!(strings.iter().all(|v| v == Some(value)), "{value:?}");
        }
        let error = repeated("abc", i32::MAX as usize).unwrap_err().to_string();
        assert!(error.contains("do not fit one string column"), "{error}");
    }

    #[test]
    fn narrower_types_widen_missing_columns_are_null_and_new_ones_are_added() {
        let table = Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("note", DataType::Utf8, true),
        ]);
        let batch = landing(vec![
            ("id", Arc::new(Int32Array::from(vec![7])) as ArrayRef),
            ("added", Arc::new(StringArray::from(vec!["x"]))),
        ]);
        let schema = bronze_schema(&batch.schema(), Some(&table)).unwrap();
        let out = conform(&batch, &schema, &meta()).unwrap();
        assert_eq!(
            out.column_by_name("id").unwrap().as_primitive::<Int64Type>().value(0),
            7
        );
        assert!(out.column_by_name("note").unwrap().is_null(0));
        assert_eq!(out.column_by_name("added").unwrap().as_string::<i32>().value(0), "x");
    }

    #[test]
    fn a_changed_type_is_refused_with_the_column_named() {
        let table = Schema::new(vec![Field::new("unit_price", DataType::Decimal128(10, 2), false)]);
        let file = Schema::new(vec![Field::new("unit_price", DataType::Utf8, false)]);
        let err = bronze_schema(&file, Some(&table)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "does not fit the table: column unit_price is Decimal128(10, 2) in the table but Utf8 in the file"
        );
        let narrowing = Schema::new(vec![Field::new("unit_price", DataType::Decimal128(12, 2), false)]);
        assert!(bronze_schema(&narrowing, Some(&table)).is_err());
    }

    #[test]
    fn airbyte_columns_are_mapped_to_ours() {
        let batch = landing(vec![
            ("_airbyte_raw_id", Arc::new(StringArray::from(vec!["r1"])) as ArrayRef),
            (
                "_airbyte_extracted_at",
                Arc::new(Int64Array::from(vec![1_700_000_000_123])),
            ),
            ("_airbyte_generation_id", Arc::new(Int64Array::from(vec![3]))),
            ("id", Arc::new(Int64Array::from(vec![1]))),
        ]);
        let schema = bronze_schema(&batch.schema(), None).unwrap();
        assert!(schema.fields().iter().all(|f| !f.name().starts_with("_airbyte_")));
        let out = conform(&batch, &schema, &meta()).unwrap();
        let at = out
            .column_by_name(EXTRACTED_AT)
            .unwrap()
            .as_primitive::<TimestampMicrosecondType>();
        assert_eq!(at.value(0), 1_700_000_000_123_000);
    }
}
