//! `COUNT(DISTINCT x)` per group for an integer `x`, counted as DataFusion counts it (one set of
//! `(group, value)` pairs and a count per group) but without looking up a row equal to the row
//! before it. A join's output repeats a key on consecutive rows (an order's items follow one
//! another), so in Gold most rows are such repeats, and each lookup is a likely cache miss in a
//! set of millions of pairs.
//!
//! Everything else (the plain and the ungrouped accumulators, the partial state's format) is
//! DataFusion's `count`, so partial states from either merge into the other.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int64Array, ListArray};
use arrow::buffer::OffsetBuffer;
use arrow::compute::cast;
use arrow::datatypes::{DataType, FieldRef, Int64Type};
use datafusion::common::{Result, ScalarValue};
use datafusion::functions_aggregate::count::count_udaf;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::AggregateOrderSensitivity;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, EmitTo, GroupsAccumulator, ReversedUDAF, Signature,
};

/// DataFusion's `count`, with its own groups accumulator for `COUNT(DISTINCT integer)`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct CountSkippingRepeats {
    count: Arc<AggregateUDF>,
}

impl CountSkippingRepeats {
    pub(super) fn udaf() -> Arc<AggregateUDF> {
        Arc::new(AggregateUDF::new_from_impl(Self { count: count_udaf() }))
    }

    fn counts_ours(args: &AccumulatorArgs) -> bool {
        args.is_distinct && args.exprs.len() == 1 && fits_i64(args.expr_fields[0].data_type())
    }
}

/// Integer types every value of which is an `i64`.
fn fits_i64(data_type: &DataType) -> bool {
    data_type.is_signed_integer() || matches!(data_type, DataType::UInt8 | DataType::UInt16 | DataType::UInt32)
}

impl AggregateUDFImpl for CountSkippingRepeats {
    fn name(&self) -> &str {
        self.count.name()
    }

    fn signature(&self) -> &Signature {
        self.count.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.count.return_type(arg_types)
    }

    fn is_nullable(&self) -> bool {
        self.count.is_nullable()
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        self.count.state_fields(args)
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        self.count.accumulator(args)
    }

    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        Self::counts_ours(&args) || self.count.groups_accumulator_supported(args)
    }

    fn create_groups_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        match Self::counts_ours(&args) {
            true => Ok(Box::new(DistinctIntegers::new(args.expr_fields[0].data_type().clone()))),
            false => self.count.create_groups_accumulator(args),
        }
    }

    fn reverse_expr(&self) -> ReversedUDAF {
        self.count.reverse_udf()
    }

    fn order_sensitivity(&self) -> AggregateOrderSensitivity {
        self.count.order_sensitivity()
    }

    fn default_value(&self, data_type: &DataType) -> Result<ScalarValue> {
        self.count.default_value(data_type)
    }
}

/// The distinct values seen in each group, as `(group, value)` pairs, and how many per group.
struct DistinctIntegers {
    /// The counted column's type, which the partial state's lists hold.
    input: DataType,
    seen: HashSet<(usize, i64), BuildHasherDefault<PairHasher>>,
    counts: Vec<i64>,
}

impl DistinctIntegers {
    fn new(input: DataType) -> Self {
        Self {
            input,
            seen: HashSet::default(),
            counts: Vec::new(),
        }
    }

    fn insert(&mut self, group: usize, value: i64) {
        if self.seen.insert((group, value)) {
            self.counts[group] += 1;
        }
    }

    /// The partial state of DataFusion's `count`: a list of distinct values per group.
    fn partial_state(&self, offsets: OffsetBuffer<i32>, values: ArrayRef) -> Result<Vec<ArrayRef>> {
        let item = Arc::new(arrow::datatypes::Field::new_list_field(self.input.clone(), true));
        Ok(vec![Arc::new(ListArray::try_new(item, offsets, values, None)?)])
    }

    /// Drops the pairs of the groups `emit_to` takes; the rest move down to their new indices.
    fn forget(&mut self, emit_to: EmitTo) {
        match emit_to {
            EmitTo::All => self.seen.clear(),
            EmitTo::First(n) => {
                self.seen = self
                    .seen
                    .drain()
                    .filter(|(group, _)| *group >= n)
                    .map(|(group, value)| (group - n, value))
                    .collect();
            }
        }
    }
}

impl GroupsAccumulator for DistinctIntegers {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.counts.resize(total_num_groups, 0);
        let values = cast(&values[0], &DataType::Int64)?;
        let values = values.as_primitive::<Int64Type>();
        let mut previous = None;
        for (row, &group) in group_indices.iter().enumerate() {
            if !counted(values, filter, row) {
                continue;
            }
            let pair = (group, values.value(row));
            if previous != Some(pair) {
                previous = Some(pair);
                self.insert(pair.0, pair.1);
            }
        }
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let counts = emit_to.take_needed(&mut self.counts);
        self.forget(emit_to);
        Ok(Arc::new(Int64Array::from(counts)))
    }

    /// Each group's distinct values as a list, the partial state of DataFusion's `count`.
    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let counts = emit_to.take_needed(&mut self.counts);
        let lengths = counts.iter().map(|&n| usize::try_from(n).unwrap_or_default());
        let offsets = OffsetBuffer::<i32>::from_lengths(lengths);
        let mut next: Vec<usize> = offsets
            .iter()
            .map(|&o| usize::try_from(o).unwrap_or_default())
            .collect();
        let mut values = vec![0i64; next.last().copied().unwrap_or_default()];
        for &(group, value) in self.seen.iter().filter(|(group, _)| *group < counts.len()) {
            values[next[group]] = value;
            next[group] += 1;
        }
        self.forget(emit_to);
        let values = cast(&(Arc::new(Int64Array::from(values)) as ArrayRef), &self.input)?;
        self.partial_state(offsets, values)
    }

    fn merge_batch(&mut self, values: &[ArrayRef], group_indices: &[usize], total_num_groups: usize) -> Result<()> {
        self.counts.resize(total_num_groups, 0);
        let lists = values[0].as_list::<i32>();
        let items = cast(lists.values(), &DataType::Int64)?;
        let items = items.as_primitive::<Int64Type>();
        for (row, &group) in group_indices.iter().enumerate() {
            let range = lists.value_offsets()[row]..lists.value_offsets()[row + 1];
            for item in range {
                let item = usize::try_from(item).unwrap_or_default();
                if items.is_valid(item) {
                    self.insert(group, items.value(item));
                }
            }
        }
        Ok(())
    }

    /// Each counted row as a one-value list, the rest as empty lists.
    fn convert_to_state(&self, values: &[ArrayRef], filter: Option<&BooleanArray>) -> Result<Vec<ArrayRef>> {
        let keep: Vec<bool> = (0..values[0].len())
            .map(|row| counted(&values[0], filter, row))
            .collect();
        let offsets = OffsetBuffer::<i32>::from_lengths(keep.iter().map(|&kept| usize::from(kept)));
        let kept = arrow::compute::filter(&values[0], &BooleanArray::from(keep))?;
        self.partial_state(offsets, kept)
    }

    fn size(&self) -> usize {
        self.seen.capacity() * (size_of::<(usize, i64)>() + 1) + self.counts.capacity() * size_of::<i64>()
    }
}

/// Whether `row` counts: a value, not NULL, and not filtered out.
fn counted(values: &impl Array, filter: Option<&BooleanArray>, row: usize) -> bool {
    values.is_valid(row) && filter.is_none_or(|f| f.is_valid(row) && f.value(row))
}

/// An add-and-multiply hash of a few integers, rotated at the end so that its best-mixed bits
/// pick the bucket (the scheme of rustc's FxHash): no per-set random state and two instructions
/// a word, where the set's cost is its memory, not its hashing.
#[derive(Default)]
struct PairHasher(u64);

impl Hasher for PairHasher {
    fn finish(&self) -> u64 {
        self.0.rotate_left(26)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u64(u64::from(byte));
        }
    }

    fn write_u64(&mut self, word: u64) {
        const SEED: u64 = 0xf135_7aea_2e62_a9c5;
        self.0 = self.0.wrapping_add(word).wrapping_mul(SEED);
    }

    fn write_usize(&mut self, word: usize) {
        self.write_u64(word as u64);
    }

    fn write_i64(&mut self, word: i64) {
        self.write_u64(word as u64);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use arrow::array::Int32Array;

    use super::*;

    fn counted(accumulator: &mut DistinctIntegers, emit_to: EmitTo) -> Vec<i64> {
        let counts = accumulator.evaluate(emit_to).unwrap();
        counts.as_primitive::<Int64Type>().values().to_vec()
    }

    #[test]
    fn repeats_nulls_and_filtered_rows_are_not_counted() {
        let mut accumulator = DistinctIntegers::new(DataType::Int32);
        let values: ArrayRef = Arc::new(Int32Array::from(vec![
            Some(7),
            Some(7),
            Some(8),
            Some(7),
            None,
            Some(9),
            Some(7),
            Some(5),
        ]));
        let groups = [0, 0, 0, 0, 1, 1, 1, 1];
        let filter = BooleanArray::from(vec![true, true, true, true, true, true, true, false]);
        accumulator.update_batch(&[values], &groups, Some(&filter), 3).unwrap();
        assert_eq!(counted(&mut accumulator, EmitTo::All), [2, 2, 0]);
    }

    #[test]
    fn a_partial_state_merges_into_datafusions_count_and_back() {
        let mut ours = DistinctIntegers::new(DataType::Int32);
        let values: ArrayRef = Arc::new(Int32Array::from(vec![1, 2, 2, 3, 1, 4]));
        ours.update_batch(&[values], &[0, 0, 1, 1, 2, 2], None, 3).unwrap();

        // The first two groups' state, then the rest, which moves down to group 0.
        let first = ours.state(EmitTo::First(2)).unwrap();
        let lists = first[0].as_list::<i32>();
        assert_eq!(lists.value(0).as_primitive::<arrow::datatypes::Int32Type>().len(), 2);
        assert_eq!(ours.state(EmitTo::All).unwrap()[0].as_list::<i32>().value(0).len(), 2);

        let schema = arrow::datatypes::Schema::new(vec![arrow::datatypes::Field::new("x", DataType::Int32, true)]);
        let field = Arc::new(arrow::datatypes::Field::new("n", DataType::Int64, false));
        let expr = datafusion::physical_expr::expressions::col("x", &schema).unwrap();
        let input = schema.field(0).clone().into();
        let args = AccumulatorArgs {
            return_field: field,
            schema: &schema,
            expr_fields: &[input],
            ignore_nulls: false,
            order_bys: &[],
            is_reversed: false,
            name: "n",
            is_distinct: true,
            exprs: &[expr],
        };
        let mut theirs = count_udaf().create_groups_accumulator(args).unwrap();
        theirs.merge_batch(&first, &[1, 0], 2).unwrap();
        let state_of_theirs = theirs.state(EmitTo::All).unwrap();
        let mut again = DistinctIntegers::new(DataType::Int32);
        again.merge_batch(&state_of_theirs, &[0, 0], 1).unwrap();
        assert_eq!(counted(&mut again, EmitTo::All), [3], "{{1, 2}} and {{2, 3}} merged");
    }

    #[test]
    fn emitting_the_first_groups_keeps_the_others_sets() {
        let mut accumulator = DistinctIntegers::new(DataType::Int64);
        let values: ArrayRef = Arc::new(Int64Array::from(vec![1, 2, 1, 5]));
        accumulator.update_batch(&[values], &[0, 0, 1, 2], None, 3).unwrap();
        assert_eq!(counted(&mut accumulator, EmitTo::First(1)), [2]);
        let more: ArrayRef = Arc::new(Int64Array::from(vec![1, 6, 5]));
        accumulator.update_batch(&[more], &[0, 1, 1], None, 2).unwrap();
        assert_eq!(
            counted(&mut accumulator, EmitTo::All),
            [1, 2],
            "1 again in the old group 1; 5 again, 6 new"
        );
    }
}
