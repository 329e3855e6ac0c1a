//! Reading changed rows out of the source: one consistent snapshot per pass, each table read in
//! cursor order and handed over in bounded batches, never a whole table at once.

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Int32Type, Int64Type, SchemaRef, TimestampMicrosecondType};
use chrono::{NaiveDate, NaiveDateTime};
use futures::TryStreamExt;
use lakehouse_core::TableSpec;
use lakehouse_core::cursor::{Cursor, Window};
use lakehouse_core::types::{BatchBuilder, Cell, format_timestamp_millis, timestamp_type};
use sqlx::mysql::{MySqlConnection, MySqlRow};
use sqlx::sqlite::{SqliteConnection, SqliteRow};
use sqlx::{AssertSqlSafe, Connection, Row};

use super::{Dialect, Source};
use crate::error::{Error, Result};

/// Rows read from one table, in cursor order, and the cursor of the last of them.
pub struct ExtractedBatch {
    pub batch: RecordBatch,
    pub last: Cursor,
}

/// A read-only, consistent view of the source for one extraction pass, with the clock readings
/// that decide how far the pass may safely read (see [`lakehouse_core::cursor`]).
pub struct Snapshot {
    connection: SnapshotConnection,
    /// The database clock when the pass began (µs, UTC).
    pub db_now: i64,
    /// When the oldest transaction still open at that moment began (µs, UTC), if any.
    pub oldest_open: Option<i64>,
    /// Whether the source told us about open transactions; if not, only the margin protects
    /// against late commits.
    pub sees_open_transactions: bool,
}

enum SnapshotConnection {
    MySql(MySqlConnection),
    Sqlite(SqliteConnection),
}

impl Source {
    /// Starts a pass. The open transactions are read *before* the snapshot is taken, so every
    /// transaction the snapshot cannot see either was listed or began after the clock reading.
    pub async fn snapshot(&self) -> Result<Snapshot> {
        match self {
            Source::MySql { pool, .. } => {
                let mut connection = pool.acquire().await.map_err(Error::source("connect"))?.detach();
                let now: NaiveDateTime = sqlx::query_scalar("SELECT NOW(3)")
                    .fetch_one(&mut connection)
                    .await
                    .map_err(Error::source("read the clock"))?;
                let open = sqlx::query_scalar::<_, Option<NaiveDateTime>>(
                    "SELECT MIN(trx_started) FROM information_schema.INNODB_TRX \
                     WHERE trx_mysql_thread_id <> CONNECTION_ID()",
                )
                .fetch_one(&mut connection)
                .await;
                let (oldest_open, sees_open_transactions) = match open {
                    Ok(oldest) => (oldest.map(micros), true),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot read open transactions (needs the PROCESS privilege); relying on the margin");
                        (None, false)
                    }
                };
                for statement in [
                    "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ",
                    "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY",
                ] {
                    sqlx::query(statement)
                        .execute(&mut connection)
                        .await
                        .map_err(Error::source("start the snapshot"))?;
                }
                Ok(Snapshot {
                    connection: SnapshotConnection::MySql(connection),
                    db_now: micros(now),
                    oldest_open,
                    sees_open_transactions,
                })
            }
            Source::Sqlite { pool, .. } => {
                // SQLite has one writer at a time, which holds its lock from its first write to
                // its commit, so no commit can land behind a row this snapshot sees.
                let mut connection = pool.acquire().await.map_err(Error::source("connect"))?.detach();
                sqlx::query("BEGIN")
                    .execute(&mut connection)
                    .await
                    .map_err(Error::source("start the snapshot"))?;
                let now: String = sqlx::query_scalar(AssertSqlSafe(format!("SELECT {}", Dialect::Sqlite.now())))
                    .fetch_one(&mut connection)
                    .await
                    .map_err(Error::source("read the clock"))?;
                let db_now = lakehouse_core::types::parse_timestamp(&now).ok_or_else(|| Error::SourceTable {
                    table: "(clock)".into(),
                    reason: format!("unexpected time {now:?}"),
                })?;
                Ok(Snapshot {
                    connection: SnapshotConnection::Sqlite(connection),
                    db_now,
                    oldest_open: None,
                    sees_open_transactions: true,
                })
            }
        }
    }
}

impl Snapshot {
    /// Reads the rows of `spec`'s table inside `window`, in cursor order, handing them to `sink`
    /// in batches of at most `batch_rows`. `schema` is the table's Arrow schema, in the order of
    /// the source's columns.
    pub async fn read(
        &mut self,
        spec: &TableSpec,
        schema: &SchemaRef,
        window: Window,
        batch_rows: usize,
        mut sink: impl AsyncFnMut(ExtractedBatch) -> Result<()>,
    ) -> Result<()> {
        if window.is_empty() {
            return Ok(());
        }
        let positions = CursorColumns::find(spec, schema)?;
        let mut builder = BatchBuilder::new(&spec.name, schema.clone())?;
        let what = format!("read {}", spec.name);
        // The same loop over two drivers' row streams, whose types differ.
        macro_rules! drain {
            ($rows:expr) => {{
                let mut rows = $rows;
                while let Some(row) = rows.try_next().await.map_err(Error::source(what.as_str()))? {
                    push_row(&row, schema, &mut builder)?;
                    builder.end_row();
                    if builder.len() >= batch_rows {
                        sink(positions.batch(builder.finish()?)?).await?;
                    }
                }
            }};
        }
        match &mut self.connection {
            SnapshotConnection::MySql(connection) => {
                let sql = select_sql(Dialect::MySql, spec, schema);
                let (after, before) = bounds(window, timestamp);
                drain!(
                    sqlx::query(AssertSqlSafe(sql))
                        .bind(after.0)
                        .bind(after.0)
                        .bind(after.1)
                        .bind(before)
                        .fetch(&mut *connection)
                );
            }
            SnapshotConnection::Sqlite(connection) => {
                let sql = select_sql(Dialect::Sqlite, spec, schema);
                let (after, before) = bounds(window, format_timestamp_millis);
                drain!(
                    sqlx::query(AssertSqlSafe(sql))
                        .bind(after.0.clone())
                        .bind(after.0)
                        .bind(after.1)
                        .bind(before)
                        .fetch(&mut *connection)
                );
            }
        }
        if !builder.is_empty() {
            sink(positions.batch(builder.finish()?)?).await?;
        }
        Ok(())
    }

    /// Ends the read transaction and closes its connection.
    pub async fn finish(self) -> Result<()> {
        match self.connection {
            SnapshotConnection::MySql(mut c) => {
                sqlx::query("COMMIT")
                    .execute(&mut c)
                    .await
                    .map_err(Error::source("end the snapshot"))?;
                c.close().await.map_err(Error::source("close"))
            }
            SnapshotConnection::Sqlite(mut c) => {
                sqlx::query("COMMIT")
                    .execute(&mut c)
                    .await
                    .map_err(Error::source("end the snapshot"))?;
                c.close().await.map_err(Error::source("close"))
            }
        }
    }
}

/// Where a first pass starts: before 1000-01-01, the earliest DATETIME MySQL holds.
const BEGINNING: Cursor = Cursor {
    at: -30_610_224_000_000_000,
    key: i64::MIN,
};

/// The window as bind values: the cursor to read past, and the bound to stop before.
fn bounds<T>(window: Window, to_value: impl Fn(i64) -> T) -> ((T, i64), T) {
    let after = window.after.unwrap_or(BEGINNING);
    ((to_value(after.at), after.key), to_value(window.before))
}

/// `SELECT` of every column, read past the cursor and before the bound, in cursor order.
fn select_sql(dialect: Dialect, spec: &TableSpec, schema: &SchemaRef) -> String {
    let columns: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| select_expression(dialect, &dialect.quote(f.name()), f.data_type()))
        .collect();
    let (cursor, key, table) = (
        dialect.quote(&spec.cursor),
        dialect.quote(&spec.key),
        dialect.quote(&spec.name),
    );
    format!(
        "SELECT {} FROM {table} WHERE ({cursor} > ? OR ({cursor} = ? AND {key} > ?)) AND {cursor} < ? \
         ORDER BY {cursor}, {key}",
        columns.join(", ")
    )
}

/// How a column is selected so that its value decodes exactly: decimals as text (no float on
/// the way), and on SQLite, where times are text, as text.
fn select_expression(dialect: Dialect, column: &str, data_type: &DataType) -> String {
    match (dialect, data_type) {
        (Dialect::MySql, DataType::Decimal128(..)) => format!("CAST({column} AS CHAR)"),
        (Dialect::MySql, DataType::Float32 | DataType::Float64) => format!("CAST({column} AS DOUBLE)"),
        (Dialect::Sqlite, DataType::Decimal128(..)) => format!("CAST({column} AS TEXT)"),
        _ => column.to_owned(),
    }
}

/// Reads one column of a result row as a [`Cell`], in the form the dialect hands it over.
trait CellReader {
    fn integer(&self, i: usize) -> Result<Cell<'_>, sqlx::Error>;
    fn float(&self, i: usize) -> Result<Cell<'_>, sqlx::Error>;
    fn text(&self, i: usize) -> Result<Cell<'_>, sqlx::Error>;
    fn bytes(&self, i: usize) -> Result<Cell<'_>, sqlx::Error>;
    /// A DATETIME or DATE column: native in MySQL, text in SQLite.
    fn time(&self, i: usize, data_type: &DataType) -> Result<Cell<'_>, sqlx::Error>;
}

macro_rules! read_as {
    ($row:expr, $i:expr, $t:ty, $cell:expr) => {{
        let value: Option<$t> = $row.try_get($i)?;
        Ok(value.map_or(Cell::Null, $cell))
    }};
}

impl CellReader for MySqlRow {
    fn integer(&self, i: usize) -> Result<Cell<'_>, sqlx::Error> {
        read_as!(self, i, i64, Cell::Int)
    }
    fn float(&self, i: usize) -> Result<Cell<'_>, sqlx::Error> {
        read_as!(self, i, f64, Cell::Float)
    }
    fn text(&self, i: usize) -> Result<Cell<'_>, sqlx::Error> {
        read_as!(self, i, &str, Cell::Text)
    }
    fn bytes(&self, i: usize) -> Result<Cell<'_>, sqlx::Error> {
        read_as!(self, i, &[u8], Cell::Bytes)
    }
    fn time(&self, i: usize, data_type: &DataType) -> Result<Cell<'_>, sqlx::Error> {
        match data_type {
            DataType::Date32 => read_as!(self, i, NaiveDate, |d| Cell::Date(days(d))),
            _ => read_as!(self, i, NaiveDateTime, |t| Cell::Timestamp(micros(t))),
        }
    }
}

impl CellReader for SqliteRow {
    fn integer(&self, i: usize) -> Result<Cell<'_>, sqlx::Error> {
        read_as!(self, i, i64, Cell::Int)
    }
    fn float(&self, i: usize) -> Result<Cell<'_>, sqlx::Error> {
        read_as!(self, i, f64, Cell::Float)
    }
    fn text(&self, i: usize) -> Result<Cell<'_>, sqlx::Error> {
        read_as!(self, i, &str, Cell::Text)
    }
    fn bytes(&self, i: usize) -> Result<Cell<'_>, sqlx::Error> {
        read_as!(self, i, &[u8], Cell::Bytes)
    }
    fn time(&self, i: usize, _: &DataType) -> Result<Cell<'_>, sqlx::Error> {
        self.text(i)
    }
}

/// Appends one result row to `builder`, column by column.
fn push_row(row: &impl CellReader, schema: &SchemaRef, builder: &mut BatchBuilder) -> Result<()> {
    for (i, field) in schema.fields().iter().enumerate() {
        let cell = match field.data_type() {
            DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 | DataType::Boolean => row.integer(i),
            DataType::Float32 | DataType::Float64 => row.float(i),
            DataType::Timestamp(..) | DataType::Date32 => row.time(i, field.data_type()),
            DataType::Binary => row.bytes(i),
            _ => row.text(i),
        }
        .map_err(Error::source(format!("decode column {}", field.name())))?;
        builder.push(i, cell)?;
    }
    Ok(())
}

/// Where the cursor and key sit in a table's schema, to read the last row's cursor off a batch.
struct CursorColumns {
    table: String,
    cursor: usize,
    key: usize,
}

impl CursorColumns {
    fn find(spec: &TableSpec, schema: &SchemaRef) -> Result<Self> {
        let problem = |reason: String| Error::SourceTable {
            table: spec.name.clone(),
            reason,
        };
        let cursor = schema
            .index_of(&spec.cursor)
            .map_err(|_| problem(format!("has no cursor column {}", spec.cursor)))?;
        let key = schema
            .index_of(&spec.key)
            .map_err(|_| problem(format!("has no key column {}", spec.key)))?;
        if schema.field(cursor).data_type() != &timestamp_type() {
            return Err(problem(format!(
                "cursor column {} is not a DATETIME/TIMESTAMP",
                spec.cursor
            )));
        }
        if !matches!(schema.field(key).data_type(), DataType::Int32 | DataType::Int64) {
            return Err(problem(format!("key column {} is not an integer", spec.key)));
        }
        Ok(Self {
            table: spec.name.clone(),
            cursor,
            key,
        })
    }

    fn batch(&self, batch: RecordBatch) -> Result<ExtractedBatch> {
        let last = batch.num_rows().saturating_sub(1);
        let at = batch.column(self.cursor).as_primitive::<TimestampMicrosecondType>();
        let key_column = batch.column(self.key);
        let key = match key_column.data_type() {
            DataType::Int32 => i64::from(key_column.as_primitive::<Int32Type>().value(last)),
            _ => key_column.as_primitive::<Int64Type>().value(last),
        };
        if at.is_null(last) {
            return Err(Error::SourceTable {
                table: self.table.clone(),
                reason: "a row has no cursor value".into(),
            });
        }
        Ok(ExtractedBatch {
            last: Cursor {
                at: at.value(last),
                key,
            },
            batch,
        })
    }
}

fn micros(t: NaiveDateTime) -> i64 {
    t.and_utc().timestamp_micros()
}

fn timestamp(micros: i64) -> NaiveDateTime {
    chrono::DateTime::from_timestamp_micros(micros)
        .unwrap_or_default()
        .naive_utc()
}

fn days(d: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    i32::try_from((d - epoch).num_days()).unwrap_or(i32::MAX)
}
