//! The latest version of each key among a run of rows, found in one hashing pass.
//!
//! A window (`ROW_NUMBER() OVER (PARTITION BY key ORDER BY …)`) sorts every row with every
//! column to keep one per key; here only the key and the ordering columns are looked at, each
//! row once, and the winners are filtered out of their batches at the end.

use std::cmp::Ordering;

use arrow::array::{Array, ArrayRef, BooleanArray, DynComparator, RecordBatch, make_array, make_comparator};
use arrow::compute::{SortOptions, concat, filter_record_batch};
use arrow::datatypes::SchemaRef;

use crate::error::{Error, Result};
use crate::keys::KeyColumn;

/// Keeps, for each value of `key` (NULL being one value), the row that is greatest by the
/// columns `newest_first` compared in turn, a NULL counting as greater than any value (as in
/// SQL's `ORDER BY … DESC NULLS FIRST`). A complete tie goes to the later row. The rows kept
/// come back in their batches, in input order; a batch whose rows all win is not copied.
pub fn latest_per_key(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    key: &str,
    newest_first: &[&str],
) -> Result<Vec<RecordBatch>> {
    let keys = column(schema, batches, key)?;
    let order = newest_first
        .iter()
        .map(|name| column(schema, batches, name))
        .collect::<Result<Vec<_>>>()?;
    let newer = Newer::new(&order)?;
    let winners = KeyColumn::new(&keys)?.one_row_per_key(|row, kept| newer.is_not_older(row, kept));
    let mut wins = vec![false; keys.len()];
    for row in winners {
        wins[row] = true;
    }
    let wins = BooleanArray::from(wins);
    let mut offset = 0;
    let mut kept = Vec::with_capacity(batches.len());
    for batch in batches {
        let rows = filter_record_batch(batch, &wins.slice(offset, batch.num_rows()))?;
        offset += batch.num_rows();
        if rows.num_rows() > 0 {
            kept.push(rows);
        }
    }
    Ok(kept)
}

/// Compares two rows by the ordering columns, NULLs greatest.
struct Newer(Vec<DynComparator>);

impl Newer {
    fn new(columns: &[ArrayRef]) -> Result<Self> {
        let options = SortOptions {
            descending: false,
            nulls_first: false,
        };
        let comparators = columns
            .iter()
            .map(|c| make_comparator(c.as_ref(), c.as_ref(), options))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self(comparators))
    }

    fn is_not_older(&self, row: usize, than: usize) -> bool {
        self.0
            .iter()
            .map(|compare| compare(row, than))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
            .is_ge()
    }
}

/// One column over all batches (of `schema`), as a single array; an error names a missing
/// column.
pub(crate) fn column(schema: &SchemaRef, batches: &[RecordBatch], name: &str) -> Result<ArrayRef> {
    let index = schema
        .index_of(name)
        .map_err(|_| Error::Incompatible(format!("the rows have no column {name:?}")))?;
    let parts: Vec<&dyn Array> = batches.iter().map(|b| b.column(index).as_ref()).collect();
    Ok(match parts.as_slice() {
        [] => arrow::array::new_empty_array(schema.field(index).data_type()),
        [one] => make_array(one.to_data()),
        many => concat(many)?,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{AsArray, Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Int64Type, Schema};

    use super::*;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("cursor", DataType::Int64, true),
            Field::new("file", DataType::Utf8, true),
            Field::new("value", DataType::Utf8, true),
        ]))
    }

    fn batch(rows: &[(Option<i64>, Option<i64>, &str, &str)]) -> RecordBatch {
        RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(rows.iter().map(|r| r.0).collect::<Int64Array>()),
                Arc::new(rows.iter().map(|r| r.1).collect::<Int64Array>()),
                Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.2))),
                Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.3))),
            ],
        )
        .unwrap()
    }

    fn values(out: &[RecordBatch]) -> Vec<String> {
        out.iter()
            .flat_map(|b| b.column(3).as_string::<i32>().iter().map(|v| v.unwrap().to_owned()))
            .collect()
    }

    #[test]
    fn the_greatest_cursor_then_the_greatest_tie_breaker_wins_across_batches() {
        let batches = [
            batch(&[(Some(1), Some(5), "a", "1@5"), (Some(2), Some(9), "a", "2@9")]),
            batch(&[(Some(1), Some(7), "a", "1@7"), (Some(2), Some(9), "b", "2@9b")]),
            batch(&[(Some(1), Some(6), "z", "1@6"), (Some(3), Some(1), "a", "3@1")]),
        ];
        let out = latest_per_key(&schema(), &batches, "id", &["cursor", "file"]).unwrap();
        // In input order: 1@7 is row 2, 2@9b row 3, 3@1 row 5.
        assert_eq!(values(&out), ["1@7", "2@9b", "3@1"]);
    }

    #[test]
    fn a_null_cursor_counts_as_newest_and_null_keys_are_one_key() {
        let batches = [batch(&[
            (Some(1), Some(5), "a", "1@5"),
            (Some(1), None, "a", "1@null"),
            (Some(1), Some(9), "a", "1@9"),
            (None, Some(1), "a", "null@1"),
            (None, Some(2), "a", "null@2"),
        ])];
        let out = latest_per_key(&schema(), &batches, "id", &["cursor"]).unwrap();
        assert_eq!(values(&out), ["1@null", "null@2"]);
        assert_eq!(out[0].column(0).as_primitive::<Int64Type>().null_count(), 1);
    }

    #[test]
    fn a_complete_tie_goes_to_the_later_row() {
        let batches = [batch(&[
            (Some(1), Some(5), "a", "first"),
            (Some(1), Some(5), "a", "second"),
        ])];
        let out = latest_per_key(&schema(), &batches, "id", &["cursor", "file"]).unwrap();
        assert_eq!(values(&out), ["second"]);
    }

    #[test]
    fn a_batch_of_winners_is_kept_whole_and_a_missing_column_is_named() {
        let all_new = batch(&[(Some(1), Some(1), "a", "1"), (Some(2), Some(1), "a", "2")]);
        let out = latest_per_key(&schema(), std::slice::from_ref(&all_new), "id", &["cursor"]).unwrap();
        let same_buffer = |b: &RecordBatch| b.column(3).to_data().buffers()[1].as_ptr();
        assert_eq!(same_buffer(&out[0]), same_buffer(&all_new), "not copied");
        assert!(latest_per_key(&schema(), &[], "id", &["cursor"]).unwrap().is_empty());
        let err = latest_per_key(&schema(), &[], "id", &["updated_at"]).unwrap_err();
        assert!(err.to_string().contains("updated_at"), "{err}");
    }
}
