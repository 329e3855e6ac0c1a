//! A newest-wins upsert by key, decided row by row on Arrow data.
//!
//! [`Incoming`] holds the latest version of each changed key and whether that version belongs in
//! the table. Given the key and cursor columns of rows already stored, [`Incoming::sift`] says
//! which stored rows stay and which incoming versions a newer stored row beats; after every
//! stored file is sifted, [`Incoming::survivors`] are the versions to write. The I/O layer
//! applies this file by file, so a file without a changed key is never rewritten.
//!
//! The rules are those of a SQL MERGE guarded by `source.cursor >= target.cursor`:
//! - a stored row whose key has an incoming version that is not older is removed (the version
//!   then replaces it if it belongs, and the key leaves the table if not);
//! - a stored row that is newer than the incoming version of its key stays, and that version is
//!   dropped (so replaying an old batch changes nothing);
//! - an incoming version whose key matches no stored row is inserted if it belongs;
//! - NULL keys match nothing, and a NULL cursor on either side makes the guard fail.

use std::sync::OnceLock;

use arrow::array::{Array, ArrayRef, BooleanArray, RecordBatch, make_comparator};
use arrow::buffer::BooleanBuffer;
use arrow::compute::{SortOptions, cast, filter_record_batch};

use crate::error::{Error, Result};
use crate::keys::{KeyColumn, KeyIndex};

/// The latest versions an upsert brings, indexed by key.
pub struct Incoming {
    key_column: String,
    cursor_column: String,
    rows: Vec<RecordBatch>,
    belongs: BooleanArray,
    keys: ArrayRef,
    cursor: ArrayRef,
    // Both built on first use: a load into an empty table needs neither.
    /// Each non-NULL key → its index in `rows` (or why there is none).
    index: OnceLock<Result<KeyIndex, String>>,
    /// The keys in order, when they are integers: files whose key range holds none of them
    /// need no sifting.
    sorted_keys: OnceLock<Option<Vec<i64>>>,
}

/// What sifting one run of stored rows decided.
#[derive(Debug)]
pub struct Sifted {
    /// True for each stored row that stays.
    pub keep: BooleanArray,
    /// Incoming versions that a stored row is newer than (indices into the incoming rows).
    pub beaten: Vec<usize>,
}

impl Sifted {
    /// How many stored rows the upsert removes (replaced or deleted).
    pub fn removed(&self) -> usize {
        self.keep.false_count()
    }
}

impl Incoming {
    /// Indexes `rows` (batches of one schema) by the column `key`; `belongs[i]` says whether
    /// row `i` is to be in the table after the upsert (false: its key is to leave). Keys must be
    /// unique among `rows`.
    pub fn new(rows: Vec<RecordBatch>, key: &str, cursor: &str, belongs: BooleanArray) -> Result<Self> {
        let schema = rows
            .first()
            .map(RecordBatch::schema)
            .ok_or_else(|| Error::Incompatible("no incoming rows, not even an empty batch".into()))?;
        let column = |name: &str| crate::latest::column(&schema, &rows, name);
        let (keys, cursors) = (column(key)?, column(cursor)?);
        if belongs.len() != keys.len() || belongs.null_count() > 0 {
            return Err(Error::Incompatible(
                "every incoming row needs a non-NULL verdict of whether it belongs".into(),
            ));
        }
        Ok(Self {
            key_column: key.to_owned(),
            cursor_column: cursor.to_owned(),
            rows,
            belongs,
            keys,
            cursor: cursors,
            index: OnceLock::new(),
            sorted_keys: OnceLock::new(),
        })
    }

    /// The index of the incoming keys; refuses keys that appear twice.
    fn index(&self) -> Result<&KeyIndex> {
        let built = self.index.get_or_init(|| {
            let keys = KeyColumn::new(&self.keys).map_err(|e| e.to_string())?;
            KeyIndex::unique(&keys).map_err(|_| {
                format!(
                    "key {:?} appears more than once among the incoming rows",
                    self.key_column
                )
            })
        });
        built.as_ref().map_err(|reason| Error::Incompatible(reason.clone()))
    }

    /// The names of the key and the cursor column, which [`Incoming::sift`] is given.
    pub fn key_and_cursor(&self) -> [&str; 2] {
        [&self.key_column, &self.cursor_column]
    }

    /// Whether stored rows with integer keys between `min` and `max` (inclusive: a file's
    /// statistics) can match an incoming key. Always true for keys that are not integers.
    pub fn may_match(&self, min: i64, max: i64) -> bool {
        let sorted = self.sorted_keys.get_or_init(|| match KeyColumn::integers(&self.keys) {
            Ok(Some(ints)) => {
                let mut keys: Vec<i64> = ints.iter().flatten().collect();
                keys.sort_unstable();
                Some(keys)
            }
            _ => None,
        });
        let Some(keys) = sorted else {
            return true;
        };
        let first_not_below = keys.partition_point(|k| *k < min);
        keys.get(first_not_below).is_some_and(|k| *k <= max)
    }

    /// Decides, for stored rows given by their key and cursor columns, which stay.
    pub fn sift(&self, stored_key: &ArrayRef, stored_cursor: &ArrayRef) -> Result<Sifted> {
        let index = self.index()?;
        let stored_key = cast(stored_key, self.keys.data_type())?;
        let stored_cursor = cast(stored_cursor, self.cursor.data_type())?;
        let stored_keys = KeyColumn::new(&stored_key)?;
        let compare = make_comparator(&self.cursor, &stored_cursor, SortOptions::default())?;
        let mut beaten = Vec::new();
        let keep = BooleanBuffer::collect_bool(stored_key.len(), |row| {
            let Some(incoming) = index.get(&stored_keys, row) else {
                return true;
            };
            let comparable = self.cursor.is_valid(incoming) && stored_cursor.is_valid(row);
            if comparable && compare(incoming, row).is_ge() {
                false
            } else {
                beaten.push(incoming);
                true
            }
        });
        let keep = BooleanArray::new(keep, None);
        Ok(Sifted { keep, beaten })
    }

    /// The incoming versions to write once every stored row was sifted: those that belong and
    /// that no stored row beat. `beaten` holds the `beaten` indices of every [`Sifted`].
    pub fn survivors(&self, beaten: impl IntoIterator<Item = usize>) -> Result<Vec<RecordBatch>> {
        let mut write: Vec<bool> = self.belongs.iter().map(|b| b == Some(true)).collect();
        for row in beaten {
            if let Some(slot) = write.get_mut(row) {
                *slot = false;
            }
        }
        let write = BooleanArray::from(write);
        let mut offset = 0;
        let mut survivors = Vec::new();
        for batch in &self.rows {
            let kept = filter_record_batch(batch, &write.slice(offset, batch.num_rows()))?;
            offset += batch.num_rows();
            if kept.num_rows() > 0 {
                survivors.push(kept);
            }
        }
        Ok(survivors)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{AsArray, Int32Array, Int64Array, StringArray};
    use arrow::datatypes::Int64Type;

    use super::*;

    /// Incoming rows of (id, version, name), each with whether it belongs.
    fn incoming(rows: &[(Option<i64>, Option<i64>, &str, bool)]) -> Incoming {
        let batch = RecordBatch::try_from_iter(vec![
            (
                "id",
                Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.0))) as ArrayRef,
            ),
            (
                "version",
                Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.1))) as ArrayRef,
            ),
            (
                "name",
                Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.2))) as ArrayRef,
            ),
        ])
        .unwrap();
        let belongs = BooleanArray::from_iter(rows.iter().map(|r| Some(r.3)));
        // Two batches, so that row indices run across them.
        let split = rows.len() / 2;
        let batches = vec![batch.slice(0, split), batch.slice(split, rows.len() - split)];
        Incoming::new(batches, "id", "version", belongs).unwrap()
    }

    fn sift(incoming: &Incoming, stored: &[(Option<i64>, Option<i64>)]) -> (Vec<bool>, Vec<usize>) {
        let keys: ArrayRef = Arc::new(Int64Array::from_iter(stored.iter().map(|r| r.0)));
        let cursors: ArrayRef = Arc::new(Int64Array::from_iter(stored.iter().map(|r| r.1)));
        let sifted = incoming.sift(&keys, &cursors).unwrap();
        (sifted.keep.iter().map(|k| k.unwrap()).collect(), sifted.beaten)
    }

    fn ids(batches: &[RecordBatch]) -> Vec<i64> {
        batches
            .iter()
            .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
            .collect()
    }

    #[test]
    fn a_newer_or_equal_version_replaces_the_stored_row_and_an_older_one_is_dropped() {
        let incoming = incoming(&[
            (Some(1), Some(5), "newer", true),
            (Some(2), Some(5), "same", true),
            (Some(3), Some(5), "older", true),
        ]);
        let (keep, beaten) = sift(&incoming, &[(Some(1), Some(4)), (Some(2), Some(5)), (Some(3), Some(6))]);
        assert_eq!(keep, [false, false, true]);
        assert_eq!(beaten, [2]);
        assert_eq!(ids(&incoming.survivors(beaten).unwrap()), [1, 2]);
    }

    #[test]
    fn a_version_that_does_not_belong_removes_its_key_unless_it_is_older() {
        let incoming = incoming(&[(Some(1), Some(5), "deleted", false), (Some(2), Some(5), "stale", false)]);
        let (keep, beaten) = sift(&incoming, &[(Some(1), Some(4)), (Some(2), Some(9)), (Some(7), Some(1))]);
        assert_eq!(keep, [false, true, true]);
        assert!(incoming.survivors(beaten).unwrap().is_empty());
    }

    #[test]
    fn new_keys_are_inserted_when_they_belong() {
        let incoming = incoming(&[
            (Some(8), Some(1), "new", true),
            (Some(9), Some(1), "new but failing", false),
        ]);
        let (keep, beaten) = sift(&incoming, &[(Some(1), Some(1))]);
        assert_eq!(keep, [true]);
        assert_eq!(ids(&incoming.survivors(beaten).unwrap()), [8]);
    }

    #[test]
    fn null_keys_match_nothing_and_null_cursors_fail_the_guard() {
        let incoming = incoming(&[(None, Some(5), "no key", true), (Some(2), None, "no cursor", true)]);
        let (keep, beaten) = sift(&incoming, &[(None, Some(1)), (Some(2), Some(1))]);
        assert_eq!(keep, [true, true]);
        assert_eq!(beaten, [1]);
        let survivors = incoming.survivors(beaten).unwrap();
        assert_eq!(survivors.len(), 1);
        assert_eq!(survivors[0].num_rows(), 1);
        assert!(survivors[0].column(0).is_null(0));
    }

    #[test]
    fn stored_keys_of_another_integer_type_are_compared_by_value() {
        let incoming = incoming(&[(Some(3), Some(5), "x", true)]);
        let keys: ArrayRef = Arc::new(Int32Array::from(vec![3, 4]));
        let cursors: ArrayRef = Arc::new(Int32Array::from(vec![1, 1]));
        let sifted = incoming.sift(&keys, &cursors).unwrap();
        assert_eq!(sifted.removed(), 1);
        assert!(!sifted.keep.value(0));
    }

    #[test]
    fn a_key_range_may_match_only_when_an_incoming_key_lies_in_it() {
        let incoming = incoming(&[
            (Some(10), Some(1), "a", true),
            (Some(20), Some(1), "b", true),
            (None, Some(1), "c", true),
        ]);
        assert!(incoming.may_match(10, 10));
        assert!(incoming.may_match(15, 25));
        assert!(!incoming.may_match(11, 19));
        assert!(!incoming.may_match(21, 100));
        assert!(!incoming.may_match(-5, 9));

        let by_name = RecordBatch::try_from_iter(vec![
            ("id", Arc::new(StringArray::from(vec!["x"])) as ArrayRef),
            ("version", Arc::new(Int64Array::from(vec![1])) as ArrayRef),
        ])
        .unwrap();
        let by_name = Incoming::new(vec![by_name], "id", "version", BooleanArray::from(vec![true])).unwrap();
        assert!(
            by_name.may_match(0, 1),
            "string keys are never pruned by integer ranges"
        );
    }

    #[test]
    fn duplicate_incoming_keys_and_missing_columns_are_refused_by_name() {
        let batch = RecordBatch::try_from_iter(vec![
            ("id", Arc::new(Int64Array::from(vec![1, 1])) as ArrayRef),
            ("version", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
        ])
        .unwrap();
        let belongs = BooleanArray::from(vec![true, true]);
        let keys: ArrayRef = Arc::new(Int64Array::from(vec![1]));
        let duplicate = Incoming::new(vec![batch.clone()], "id", "version", belongs.clone())
            .unwrap()
            .sift(&keys, &keys)
            .err()
            .unwrap();
        assert!(duplicate.to_string().contains("more than once"), "{duplicate}");
        let missing = Incoming::new(vec![batch], "id", "updated_at", belongs).err().unwrap();
        assert!(missing.to_string().contains("\"updated_at\""), "{missing}");
    }
}
