//! Source column types and their Arrow counterparts, and the conversion of source values into
//! Arrow arrays. Exactness first: DECIMAL stays an exact decimal, DATETIME becomes a UTC
//! timestamp in microseconds, integers keep their width.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Float32Builder, Float64Builder,
    Int8Builder, Int16Builder, Int32Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder, new_null_array,
};
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use chrono::{NaiveDate, NaiveDateTime};

use crate::decimal::parse_decimal;
use crate::error::{Error, Result};

/// The time zone every timestamp in the lake carries.
pub const UTC: &str = "UTC";

/// The Arrow type of every timestamp in the lake: microseconds, UTC.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some(Arc::from(UTC)))
}

/// The column `field` names, taken from `batch` by name and cast to the field's type (strictly:
/// a value that does not fit is an error naming the column); all NULL if `batch` lacks it.
pub fn fit_column(batch: &RecordBatch, field: &Field) -> Result<ArrayRef> {
    let strict = CastOptions {
        safe: false,
        ..Default::default()
    };
    match batch.column_by_name(field.name()) {
        Some(column) if column.data_type() == field.data_type() => Ok(column.clone()),
        Some(column) => cast_with_options(column, field.data_type(), &strict)
            .map_err(|e| Error::Incompatible(format!("column {}: {e}", field.name()))),
        None => Ok(new_null_array(field.data_type(), batch.num_rows())),
    }
}

/// `batch` with exactly the columns of `target`, in its order (see [`fit_column`]).
pub fn fit(batch: &RecordBatch, target: &SchemaRef) -> Result<RecordBatch> {
    let columns = target
        .fields()
        .iter()
        .map(|field| fit_column(batch, field))
        .collect::<Result<Vec<_>>>()?;
    let options = arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    Ok(RecordBatch::try_new_with_options(target.clone(), columns, &options)?)
}

/// A column as the source describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceColumn {
    pub name: String,
    /// The declared type, e.g. `decimal(10,2)`, `datetime(3)`, `bigint unsigned`.
    pub source_type: String,
    pub nullable: bool,
}

/// Maps a declared SQL type (MySQL or SQLite spelling) to its Arrow type.
/// Returns `None` for types the lakehouse does not carry.
pub fn arrow_type(declared: &str) -> Option<DataType> {
    let lower = declared.trim().to_ascii_lowercase();
    let unsigned = lower.contains("unsigned");
    let (base, args) = match lower.find('(') {
        Some(open) => {
            let close = lower[open..].find(')').map(|c| open + c)?;
            (lower[..open].trim(), Some(&lower[open + 1..close]))
        }
        None => (lower.split_whitespace().next().unwrap_or(""), None),
    };
    let numbers: Vec<u8> = args
        .map(|a| a.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_default();
    Some(match base {
        "tinyint" if unsigned => DataType::Int16,
        "tinyint" => DataType::Int8,
        "smallint" if unsigned => DataType::Int32,
        "smallint" => DataType::Int16,
        "mediumint" | "int" if unsigned => DataType::Int64,
        "mediumint" | "int" => DataType::Int32,
        // SQLite's INTEGER is 64-bit (MySQL reports its INTEGER columns as `int`).
        "integer" => DataType::Int64,
        "bigint" if unsigned => DataType::Decimal128(20, 0),
        "bigint" => DataType::Int64,
        "decimal" | "numeric" | "dec" | "fixed" => {
            let precision = numbers.first().copied().unwrap_or(10);
            let scale = numbers.get(1).copied().unwrap_or(0);
            if precision == 0 || precision > 38 || scale > precision {
                return None;
            }
            DataType::Decimal128(precision, scale as i8)
        }
        "float" => DataType::Float32,
        "double" | "real" | "double precision" => DataType::Float64,
        "bool" | "boolean" => DataType::Boolean,
        "datetime" | "timestamp" => timestamp_type(),
        "date" => DataType::Date32,
        "char" | "varchar" | "text" | "tinytext" | "mediumtext" | "longtext" | "enum" | "set" | "json"
        | "character" | "nchar" | "nvarchar" | "clob" => DataType::Utf8,
        "binary" | "varbinary" | "blob" | "tinyblob" | "mediumblob" | "longblob" => DataType::Binary,
        _ => return None,
    })
}

/// The Arrow schema of a source table's columns.
pub fn arrow_schema(table: &str, columns: &[SourceColumn]) -> Result<SchemaRef> {
    let fields = columns
        .iter()
        .map(|c| {
            let data_type = arrow_type(&c.source_type).ok_or_else(|| Error::UnsupportedType {
                table: table.to_owned(),
                column: c.name.clone(),
                source_type: c.source_type.clone(),
            })?;
            Ok(Field::new(&c.name, data_type, c.nullable))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Arc::new(Schema::new(fields)))
}

/// One value as a database driver hands it over, before it is typed for Arrow.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    Null,
    Int(i64),
    Float(f64),
    Text(&'a str),
    Bytes(&'a [u8]),
    /// Microseconds since the Unix epoch, UTC.
    Timestamp(i64),
    /// Days since the Unix epoch.
    Date(i32),
}

/// Accumulates rows of cells into a typed [`RecordBatch`].
pub struct BatchBuilder {
    table: String,
    schema: SchemaRef,
    columns: Vec<ColumnBuilder>,
    rows: usize,
}

enum ColumnBuilder {
    Int8(Int8Builder),
    Int16(Int16Builder),
    Int32(Int32Builder),
    Int64(Int64Builder),
    Float32(Float32Builder),
    Float64(Float64Builder),
    Boolean(BooleanBuilder),
    Decimal(Decimal128Builder, u8, i8),
    Timestamp(TimestampMicrosecondBuilder),
    Date(Date32Builder),
    Utf8(StringBuilder),
    Binary(BinaryBuilder),
}

impl BatchBuilder {
    /// A builder for `schema`, whose fields must use types [`arrow_type`] returns.
    pub fn new(table: &str, schema: SchemaRef) -> Result<Self> {
        let columns = schema
            .fields()
            .iter()
            .map(|f| ColumnBuilder::for_type(f.data_type()).ok_or_else(|| unsupported(table, f)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            table: table.to_owned(),
            schema,
            columns,
            rows: 0,
        })
    }

    /// The number of rows appended since the last [`BatchBuilder::finish`].
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no row was appended since the last [`BatchBuilder::finish`].
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Appends the cell for column `index` of the current row.
    pub fn push(&mut self, index: usize, cell: Cell<'_>) -> Result<()> {
        let column = &mut self.columns[index];
        column.push(cell).map_err(|expected| Error::BadValue {
            table: self.table.clone(),
            column: self.schema.field(index).name().clone(),
            value: describe(cell),
            expected,
        })
    }

    /// Marks the current row complete.
    pub fn end_row(&mut self) {
        self.rows += 1;
    }

    /// Takes the rows appended so far as a batch and starts afresh.
    pub fn finish(&mut self) -> Result<RecordBatch> {
        let arrays: Vec<ArrayRef> = self.columns.iter_mut().map(ColumnBuilder::finish).collect();
        self.rows = 0;
        Ok(RecordBatch::try_new(self.schema.clone(), arrays)?)
    }
}

fn unsupported(table: &str, field: &Field) -> Error {
    Error::UnsupportedType {
        table: table.to_owned(),
        column: field.name().clone(),
        source_type: field.data_type().to_string(),
    }
}

/// Shows a rejected value without risking a huge message.
fn describe(cell: Cell<'_>) -> String {
    let text = match cell {
        Cell::Null => "NULL".to_owned(),
        Cell::Int(v) => v.to_string(),
        Cell::Float(v) => v.to_string(),
        Cell::Text(v) => v.to_owned(),
        Cell::Bytes(v) => format!("{} bytes", v.len()),
        Cell::Timestamp(v) => format!("{v} µs"),
        Cell::Date(v) => format!("day {v}"),
    };
    text.chars().take(64).collect()
}

impl ColumnBuilder {
    fn for_type(data_type: &DataType) -> Option<Self> {
        Some(match data_type {
            DataType::Int8 => Self::Int8(Int8Builder::new()),
            DataType::Int16 => Self::Int16(Int16Builder::new()),
            DataType::Int32 => Self::Int32(Int32Builder::new()),
            DataType::Int64 => Self::Int64(Int64Builder::new()),
            DataType::Float32 => Self::Float32(Float32Builder::new()),
            DataType::Float64 => Self::Float64(Float64Builder::new()),
            DataType::Boolean => Self::Boolean(BooleanBuilder::new()),
            DataType::Decimal128(p, s) => {
                Self::Decimal(Decimal128Builder::new().with_precision_and_scale(*p, *s).ok()?, *p, *s)
            }
            DataType::Timestamp(TimeUnit::Microsecond, Some(tz)) if tz.as_ref() == UTC => {
                Self::Timestamp(TimestampMicrosecondBuilder::new().with_timezone(UTC))
            }
            DataType::Date32 => Self::Date(Date32Builder::new()),
            DataType::Utf8 => Self::Utf8(StringBuilder::new()),
            DataType::Binary => Self::Binary(BinaryBuilder::new()),
            _ => return None,
        })
    }

    /// Appends one cell; on refusal returns what was expected.
    fn push(&mut self, cell: Cell<'_>) -> std::result::Result<(), String> {
        if cell == Cell::Null {
            self.push_null();
            return Ok(());
        }
        match (self, cell) {
            (Self::Int8(b), Cell::Int(v)) => b.append_value(v.try_into().map_err(|_| "an 8-bit integer")?),
            (Self::Int16(b), Cell::Int(v)) => b.append_value(v.try_into().map_err(|_| "a 16-bit integer")?),
            (Self::Int32(b), Cell::Int(v)) => b.append_value(v.try_into().map_err(|_| "a 32-bit integer")?),
            (Self::Int64(b), Cell::Int(v)) => b.append_value(v),
            (Self::Float32(b), Cell::Float(v)) => b.append_value(v as f32),
            (Self::Float64(b), Cell::Float(v)) => b.append_value(v),
            (Self::Float64(b), Cell::Int(v)) => b.append_value(v as f64),
            (Self::Boolean(b), Cell::Int(v)) => b.append_value(v != 0),
            (Self::Decimal(b, p, s), Cell::Text(v)) => {
                b.append_value(parse_decimal(v, *p, *s).ok_or_else(|| format!("DECIMAL({p},{s})"))?)
            }
            (Self::Decimal(b, p, s), Cell::Int(v)) => {
                let value = i128::from(v)
                    .checked_mul(10_i128.pow(*s as u32))
                    .filter(|x| x.unsigned_abs() < 10_u128.pow(u32::from(*p)))
                    .ok_or_else(|| format!("DECIMAL({p},{s})"))?;
                b.append_value(value)
            }
            (Self::Timestamp(b), Cell::Timestamp(v)) => b.append_value(v),
            (Self::Timestamp(b), Cell::Text(v)) => {
                b.append_value(parse_timestamp(v).ok_or("a timestamp like 2026-01-31 23:59:59.123")?)
            }
            (Self::Date(b), Cell::Date(v)) => b.append_value(v),
            (Self::Date(b), Cell::Text(v)) => b.append_value(parse_date(v).ok_or("a date like 2026-01-31")?),
            (Self::Utf8(b), Cell::Text(v)) => b.append_value(v),
            (Self::Utf8(b), Cell::Int(v)) => b.append_value(v.to_string()),
            (Self::Binary(b), Cell::Bytes(v)) => b.append_value(v),
            (Self::Binary(b), Cell::Text(v)) => b.append_value(v.as_bytes()),
            (builder, _) => return Err(format!("a value of type {}", builder.type_name())),
        }
        Ok(())
    }

    fn push_null(&mut self) {
        match self {
            Self::Int8(b) => b.append_null(),
            Self::Int16(b) => b.append_null(),
            Self::Int32(b) => b.append_null(),
            Self::Int64(b) => b.append_null(),
            Self::Float32(b) => b.append_null(),
            Self::Float64(b) => b.append_null(),
            Self::Boolean(b) => b.append_null(),
            Self::Decimal(b, _, _) => b.append_null(),
            Self::Timestamp(b) => b.append_null(),
            Self::Date(b) => b.append_null(),
            Self::Utf8(b) => b.append_null(),
            Self::Binary(b) => b.append_null(),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Self::Int8(b) => Arc::new(b.finish()),
            Self::Int16(b) => Arc::new(b.finish()),
            Self::Int32(b) => Arc::new(b.finish()),
            Self::Int64(b) => Arc::new(b.finish()),
            Self::Float32(b) => Arc::new(b.finish()),
            Self::Float64(b) => Arc::new(b.finish()),
            Self::Boolean(b) => Arc::new(b.finish()),
            Self::Decimal(b, _, _) => Arc::new(b.finish()),
            Self::Timestamp(b) => Arc::new(b.finish()),
            Self::Date(b) => Arc::new(b.finish()),
            Self::Utf8(b) => Arc::new(b.finish()),
            Self::Binary(b) => Arc::new(b.finish()),
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            Self::Int8(_) | Self::Int16(_) | Self::Int32(_) | Self::Int64(_) => "integer",
            Self::Float32(_) | Self::Float64(_) => "float",
            Self::Boolean(_) => "boolean",
            Self::Decimal(..) => "decimal",
            Self::Timestamp(_) => "timestamp",
            Self::Date(_) => "date",
            Self::Utf8(_) => "text",
            Self::Binary(_) => "binary",
        }
    }
}

/// Parses `YYYY-MM-DD HH:MM:SS[.ffffff]` (or with a `T`, and an optional trailing `Z`) as UTC,
/// returning microseconds since the epoch.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let text = text.trim().trim_end_matches('Z');
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .map(|t| t.and_utc().timestamp_micros())
}

/// Formats microseconds since the epoch as `YYYY-MM-DD HH:MM:SS.mmm` (UTC), the text form
/// both MySQL's DATETIME(3) and the SQLite source use.
pub fn format_timestamp_millis(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S%.3f").to_string())
        .unwrap_or_else(|| micros.to_string())
}

fn parse_date(text: &str) -> Option<i32> {
    let date = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()?;
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)?;
    i32::try_from((date - epoch).num_days()).ok()
}

#[cfg(test)]
mod tests {
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{Decimal128Type, Int32Type, TimestampMicrosecondType};

    use super::*;

    #[test]
    fn contract_types_map_exactly() {
        assert_eq!(arrow_type("bigint"), Some(DataType::Int64));
        assert_eq!(arrow_type("bigint(20)"), Some(DataType::Int64));
        assert_eq!(arrow_type("BIGINT"), Some(DataType::Int64));
        assert_eq!(arrow_type("int(11)"), Some(DataType::Int32));
        assert_eq!(arrow_type("INT"), Some(DataType::Int32));
        assert_eq!(arrow_type("INTEGER"), Some(DataType::Int64));
        assert_eq!(arrow_type("int(10) unsigned"), Some(DataType::Int64));
        assert_eq!(arrow_type("bigint unsigned"), Some(DataType::Decimal128(20, 0)));
        assert_eq!(arrow_type("decimal(10,2)"), Some(DataType::Decimal128(10, 2)));
        assert_eq!(arrow_type("DECIMAL(10, 2)"), Some(DataType::Decimal128(10, 2)));
        assert_eq!(arrow_type("decimal"), Some(DataType::Decimal128(10, 0)));
        assert_eq!(arrow_type("datetime(3)"), Some(timestamp_type()));
        assert_eq!(arrow_type("DATETIME(3)"), Some(timestamp_type()));
        assert_eq!(arrow_type("timestamp"), Some(timestamp_type()));
        assert_eq!(arrow_type("date"), Some(DataType::Date32));
        assert_eq!(arrow_type("varchar(255)"), Some(DataType::Utf8));
        assert_eq!(arrow_type("char(2)"), Some(DataType::Utf8));
        assert_eq!(arrow_type("enum('a','b')"), Some(DataType::Utf8));
        assert_eq!(arrow_type("double"), Some(DataType::Float64));
        assert_eq!(arrow_type("longblob"), Some(DataType::Binary));
    }

    #[test]
    fn unknown_and_impossible_types_are_refused() {
        assert_eq!(arrow_type("geometry"), None);
        assert_eq!(arrow_type("time(3)"), None);
        assert_eq!(arrow_type("decimal(40,2)"), None);
        assert_eq!(arrow_type("decimal(2,4)"), None);
        let err = arrow_schema(
            "places",
            &[SourceColumn {
                name: "shape".into(),
                source_type: "geometry".into(),
                nullable: true,
            }],
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "table places, column shape: unsupported source type \"geometry\""
        );
    }

    fn schema(fields: Vec<Field>) -> SchemaRef {
        Arc::new(Schema::new(fields))
    }

    #[test]
    fn cells_become_typed_arrays() {
        let schema = schema(vec![
            Field::new("id", DataType::Int32, false),
            Field::new("price", DataType::Decimal128(10, 2), false),
            Field::new("at", timestamp_type(), true),
        ]);
        let mut builder = BatchBuilder::new("t", schema).unwrap();
        for (id, price, at) in [
            (1, Cell::Text("19.99"), Cell::Text("2026-03-01 10:00:00.123")),
            (2, Cell::Text("20"), Cell::Null),
            (3, Cell::Int(7), Cell::Timestamp(5)),
        ] {
            builder.push(0, Cell::Int(id)).unwrap();
            builder.push(1, price).unwrap();
            builder.push(2, at).unwrap();
            builder.end_row();
        }
        assert_eq!(builder.len(), 3);
        let batch = builder.finish().unwrap();
        assert!(builder.is_empty());
        assert_eq!(batch.column(0).as_primitive::<Int32Type>().values(), &[1, 2, 3]);
        assert_eq!(
            batch.column(1).as_primitive::<Decimal128Type>().values(),
            &[1999, 2000, 700]
        );
        let at = batch.column(2).as_primitive::<TimestampMicrosecondType>();
        assert_eq!(at.value(0), parse_timestamp("2026-03-01T10:00:00.123Z").unwrap());
        assert!(at.is_null(1));
        assert_eq!(at.value(2), 5);
    }

    #[test]
    fn a_bad_value_names_table_column_and_value() {
        let schema = schema(vec![Field::new("quantity", DataType::Int32, false)]);
        let mut builder = BatchBuilder::new("order_items", schema).unwrap();
        let err = builder.push(0, Cell::Int(i64::MAX)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "table order_items, column quantity: cannot read \"9223372036854775807\" as a 32-bit integer"
        );
        let err = builder.push(0, Cell::Text("seven")).unwrap_err();
        assert!(err.to_string().contains("a value of type integer"), "{err}");
    }

    #[test]
    fn timestamps_round_trip_through_text() {
        let micros = parse_timestamp("2026-11-26 15:29:00.123").unwrap();
        assert_eq!(format_timestamp_millis(micros), "2026-11-26 15:29:00.123");
        assert_eq!(
            parse_timestamp("2026-11-26T15:29:00Z"),
            parse_timestamp("2026-11-26 15:29:00.000")
        );
        assert_eq!(parse_timestamp("yesterday"), None);
        assert_eq!(parse_date("1970-01-02"), Some(1));
    }
}
