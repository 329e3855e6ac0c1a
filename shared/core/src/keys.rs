//! Key columns in the form they hash fastest in: integer keys by value, keys of any other type
//! by their row encoding. The newest-version pass and the upsert's index both look up every row
//! of a batch by key, so this is on the hot path of each Silver refine.

use std::collections::HashMap;
use std::hash::Hash;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array};
use arrow::buffer::NullBuffer;
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int64Type};
use arrow::row::{RowConverter, Rows, SortField};

use crate::error::Result;

/// A hash map with a fast, per-process seeded hasher (keys are not chosen by an attacker who
/// can see the seed; SipHash took a quarter of an upsert's time).
pub(crate) type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// A key column, ready to hash. Two columns of the same data type always take the same form.
pub(crate) enum KeyColumn {
    /// Integer keys that fit an i64, widened to it.
    Integers(Int64Array),
    /// Any other key type, as one encoded row per key (NULL encodes as a value of its own),
    /// with which keys are NULL.
    Encoded(Rows, Option<NullBuffer>),
}

impl KeyColumn {
    pub(crate) fn new(keys: &ArrayRef) -> Result<Self> {
        if let Some(ints) = Self::integers(keys)? {
            return Ok(Self::Integers(ints));
        }
        let converter = RowConverter::new(vec![SortField::new(keys.data_type().clone())])?;
        let rows = converter.convert_columns(std::slice::from_ref(keys))?;
        Ok(Self::Encoded(rows, keys.logical_nulls()))
    }

    /// Integer keys widened to i64, the form [`KeyColumn::Integers`] holds; none for keys of
    /// any other type.
    pub(crate) fn integers(keys: &ArrayRef) -> Result<Option<Int64Array>> {
        if !fits_i64(keys.data_type()) {
            return Ok(None);
        }
        Ok(Some(cast(keys, &DataType::Int64)?.as_primitive::<Int64Type>().clone()))
    }

    fn is_valid(&self, row: usize) -> bool {
        match self {
            Self::Integers(ints) => ints.is_valid(row),
            Self::Encoded(_, nulls) => nulls.as_ref().is_none_or(|n| n.is_valid(row)),
        }
    }

    /// The row that is kept for each key: of the rows sharing a key (NULL being one key), the one
    /// that `replaces(row, kept)` lets replace the row kept so far.
    pub(crate) fn one_row_per_key(&self, replaces: impl Fn(usize, usize) -> bool) -> Vec<usize> {
        match self {
            Self::Integers(keys) => one_per_key(keys.iter(), keys.len(), replaces),
            Self::Encoded(rows, _) => one_per_key(rows.iter().map(|r| r.data()), rows.num_rows(), replaces),
        }
    }
}

fn one_per_key<K: Hash + Eq>(
    keys: impl Iterator<Item = K>,
    len: usize,
    replaces: impl Fn(usize, usize) -> bool,
) -> Vec<usize> {
    let mut kept: FastMap<K, usize> = FastMap::with_capacity_and_hasher(len / 2, Default::default());
    for (row, key) in keys.enumerate() {
        kept.entry(key)
            .and_modify(|slot| {
                if replaces(row, *slot) {
                    *slot = row;
                }
            })
            .or_insert(row);
    }
    kept.into_values().collect()
}

/// Each non-NULL key of a column → its row, for keys known to be unique.
pub(crate) enum KeyIndex {
    Integers(FastMap<i64, usize>),
    Encoded(FastMap<Box<[u8]>, usize>),
}

impl KeyIndex {
    /// Indexes the non-NULL keys of `keys`; a key seen twice is an error giving the row where it
    /// repeats.
    pub(crate) fn unique(keys: &KeyColumn) -> std::result::Result<Self, usize> {
        fn index<K: Hash + Eq>(
            keys: impl Iterator<Item = (usize, K)>,
        ) -> std::result::Result<FastMap<K, usize>, usize> {
            let mut index =
                FastMap::with_capacity_and_hasher(keys.size_hint().1.unwrap_or_default(), Default::default());
            for (row, key) in keys {
                if index.insert(key, row).is_some() {
                    return Err(row);
                }
            }
            Ok(index)
        }
        let valid = |row: &usize| keys.is_valid(*row);
        Ok(match keys {
            KeyColumn::Integers(ints) => {
                Self::Integers(index((0..ints.len()).filter(valid).map(|row| (row, ints.value(row))))?)
            }
            KeyColumn::Encoded(rows, _) => Self::Encoded(index(
                (0..rows.num_rows())
                    .filter(valid)
                    .map(|row| (row, Box::from(rows.row(row).data()))),
            )?),
        })
    }

    /// The indexed row whose key equals `keys`' key at `row`; none for a NULL key. `keys` must
    /// come from a column of the indexed column's data type.
    pub(crate) fn get(&self, keys: &KeyColumn, row: usize) -> Option<usize> {
        if !keys.is_valid(row) {
            return None;
        }
        match (self, keys) {
            (Self::Integers(index), KeyColumn::Integers(ints)) => index.get(&ints.value(row)).copied(),
            (Self::Encoded(index), KeyColumn::Encoded(rows, _)) => index.get(rows.row(row).data()).copied(),
            _ => None,
        }
    }
}

/// Whether every value of an integer type converts to i64 without loss.
fn fits_i64(data_type: &DataType) -> bool {
    use DataType::*;
    matches!(data_type, Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use arrow::array::{Int32Array, StringArray};

    use super::*;

    fn strings(values: &[Option<&str>]) -> ArrayRef {
        Arc::new(StringArray::from(values.to_vec()))
    }

    fn sorted(mut rows: Vec<usize>) -> Vec<usize> {
        rows.sort_unstable();
        rows
    }

    #[test]
    fn integer_and_other_keys_take_the_form_that_hashes_fastest() {
        let ints: ArrayRef = Arc::new(Int32Array::from(vec![1, 2]));
        assert!(matches!(KeyColumn::new(&ints).unwrap(), KeyColumn::Integers(_)));
        let big: ArrayRef = Arc::new(arrow::array::UInt64Array::from(vec![u64::MAX]));
        assert!(matches!(KeyColumn::new(&big).unwrap(), KeyColumn::Encoded(..)));
        assert_eq!(KeyColumn::integers(&ints).unwrap(), Some(Int64Array::from(vec![1, 2])));
        assert_eq!(KeyColumn::integers(&strings(&[Some("1")])).unwrap(), None);
    }

    #[test]
    fn one_row_per_key_lets_the_caller_choose_and_counts_null_as_one_key() {
        let keys = strings(&[Some("a"), None, Some("b"), Some("a"), None]);
        let later = |row: usize, kept: usize| row > kept;
        assert_eq!(sorted(KeyColumn::new(&keys).unwrap().one_row_per_key(later)), [2, 3, 4]);
        let ints: ArrayRef = Arc::new(Int32Array::from(vec![Some(7), None, Some(7), None]));
        let earlier = |row: usize, kept: usize| row < kept;
        assert_eq!(sorted(KeyColumn::new(&ints).unwrap().one_row_per_key(earlier)), [0, 1]);
    }

    #[test]
    fn an_index_finds_equal_keys_skips_nulls_and_refuses_repeats() {
        let index = KeyIndex::unique(&KeyColumn::new(&strings(&[Some("a"), None, Some("b")])).unwrap()).unwrap();
        let probe = KeyColumn::new(&strings(&[Some("b"), None, Some("c"), Some("a")])).unwrap();
        let found: Vec<Option<usize>> = (0..4).map(|row| index.get(&probe, row)).collect();
        assert_eq!(found, [Some(2), None, None, Some(0)]);

        let repeated = strings(&[Some("a"), None, None, Some("a")]);
        assert_eq!(KeyIndex::unique(&KeyColumn::new(&repeated).unwrap()).err(), Some(3));
        let ints: ArrayRef = Arc::new(Int32Array::from(vec![Some(5), None, None, Some(5)]));
        assert_eq!(KeyIndex::unique(&KeyColumn::new(&ints).unwrap()).err(), Some(3));
    }
}
