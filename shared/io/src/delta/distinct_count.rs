//! `COUNT(DISTINCT x)` per group for an integer `x`, counted without DataFusion's set of
//! `(group, value)` pairs, where each row is a lookup and, in a set of millions of pairs, likely a
//! cache miss: rows are appended and sorted into their groups' values in bulk. A row equal to the
//! row before it is not even appended: a join's output repeats a key on consecutive rows (an
//! order's items follow one another), so in Gold most rows are such repeats.
//!
//! Everything else (the plain and the ungrouped accumulators, the partial state's format) is
//! DataFusion's `count`, so partial states from either merge into the other.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int64Array, ListArray};
use arrow::buffer::OffsetBuffer;
use arrow::compute::cast;
use arrow::datatypes::{DataType, FieldRef, Int64Type};
use datafusion::common::{DataFusionError, Result, ScalarValue};
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

/// Pairs gathered before they are sorted in: 16 MiB of them at least, then as many as there
/// are distinct values, so that each value is sorted in a bounded number of times.
const MIN_PENDING: usize = 1 << 20;

/// The distinct values of each group. New `(group, value)` pairs are appended as they come and
/// sorted into each group's sorted, deduplicated values now and then (at the latest when counts
/// are asked for): appending never looks anything up, where a set of millions of pairs costs a
/// cache miss per row, and a group's values are already together when its partial state is
/// asked for.
struct DistinctIntegers {
    /// The counted column's type, which the partial state's lists hold.
    input: DataType,
    /// How many groups there are.
    groups: usize,
    /// The fewest pending pairs that are sorted in before counts are asked for.
    min_pending: usize,
    /// Pairs not yet sorted in, repeats included.
    pending: Vec<(usize, i64)>,
    /// The sorted-in values, group by group: group `g`'s are `values[offsets[g]..offsets[g + 1]]`,
    /// ascending and each once. Groups past the end of `offsets` have none yet.
    offsets: Vec<usize>,
    values: Vec<i64>,
}

impl DistinctIntegers {
    fn new(input: DataType) -> Self {
        Self {
            input,
            groups: 0,
            min_pending: MIN_PENDING,
            pending: Vec::new(),
            offsets: vec![0],
            values: Vec::new(),
        }
    }

    fn push(&mut self, group: usize, value: i64) {
        self.pending.push((group, value));
    }

    /// Sorts the pending pairs in once there are enough of them.
    fn sort_in_when_due(&mut self) {
        if self.pending.len() >= self.values.len().max(self.min_pending) {
            self.sort_in();
        }
    }

    /// The values sorted in of group `group`.
    fn sorted(&self, group: usize) -> &[i64] {
        match (self.offsets.get(group), self.offsets.get(group + 1)) {
            (Some(&start), Some(&end)) => &self.values[start..end],
            _ => &[],
        }
    }

    /// Sorts the pending pairs into their groups' values, dropping repeats; afterwards every
    /// group has its offsets.
    fn sort_in(&mut self) {
        if self.pending.is_empty() {
            let end = self.values.len();
            self.offsets.resize(self.groups + 1, end);
            return;
        }
        // Each group's slot: its values so far, then its pending ones.
        let mut starts = vec![0; self.groups + 1];
        for (group, start) in starts.iter_mut().skip(1).enumerate() {
            *start = self.sorted(group).len();
        }
        for &(group, _) in &self.pending {
            starts[group + 1] += 1;
        }
        for group in 0..self.groups {
            starts[group + 1] += starts[group];
        }
        let mut merged = vec![0; starts[self.groups]];
        let mut next = starts.clone();
        for (group, next) in next.iter_mut().enumerate().take(self.groups) {
            let sorted = self.sorted(group);
            merged[*next..*next + sorted.len()].copy_from_slice(sorted);
            *next += sorted.len();
        }
        for &(group, value) in &self.pending {
            merged[next[group]] = value;
            next[group] += 1;
        }
        // Sort each slot and move its distinct values down over the room repeats left.
        let mut offsets = Vec::with_capacity(self.groups + 1);
        offsets.push(0);
        let mut end = 0;
        for group in 0..self.groups {
            merged[starts[group]..starts[group + 1]].sort_unstable();
            let mut previous = None;
            for at in starts[group]..starts[group + 1] {
                let value = merged[at];
                if previous != Some(value) {
                    merged[end] = value;
                    end += 1;
                    previous = Some(value);
                }
            }
            offsets.push(end);
        }
        merged.truncate(end);
        self.values = merged;
        self.offsets = offsets;
        self.pending.clear();
    }

    /// How many distinct values each group `emit_to` takes has; those groups are then dropped.
    fn take_counts(&mut self, emit_to: EmitTo) -> Vec<i64> {
        self.sort_in();
        let taken = self.taken(emit_to);
        let counts = self.offsets[..=taken]
            .windows(2)
            .map(|w| i64::try_from(w[1] - w[0]).unwrap_or(i64::MAX))
            .collect();
        self.forget(taken);
        counts
    }

    /// How many groups `emit_to` takes.
    fn taken(&self, emit_to: EmitTo) -> usize {
        match emit_to {
            EmitTo::All => self.groups,
            EmitTo::First(n) => n.min(self.groups),
        }
    }

    /// Drops the first `taken` groups (their values sorted in); the rest move down to their new
    /// indices.
    fn forget(&mut self, taken: usize) {
        let dropped = self.offsets[taken];
        self.values.drain(..dropped);
        self.offsets.drain(..taken);
        self.offsets.iter_mut().for_each(|offset| *offset -= dropped);
        self.groups -= taken;
    }

    /// The partial state of DataFusion's `count`: a list of distinct values per group.
    fn partial_state(&self, offsets: OffsetBuffer<i32>, values: ArrayRef) -> Result<Vec<ArrayRef>> {
        let item = Arc::new(arrow::datatypes::Field::new_list_field(self.input.clone(), true));
        Ok(vec![Arc::new(ListArray::try_new(item, offsets, values, None)?)])
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
        self.groups = self.groups.max(total_num_groups);
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
                self.push(pair.0, pair.1);
            }
        }
        self.sort_in_when_due();
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        Ok(Arc::new(Int64Array::from(self.take_counts(emit_to))))
    }

    /// Each group's distinct values as a list, the partial state of DataFusion's `count`.
    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        self.sort_in();
        let taken = self.taken(emit_to);
        let offsets = self.offsets[..=taken]
            .iter()
            .map(|&offset| i32::try_from(offset))
            .collect::<std::result::Result<Vec<i32>, _>>()
            .map_err(|_| {
                DataFusionError::ResourcesExhausted(format!(
                    "COUNT(DISTINCT …): {} distinct values are more than one partial state holds",
                    self.offsets[taken]
                ))
            })?;
        let values: ArrayRef = Arc::new(Int64Array::from(self.values[..self.offsets[taken]].to_vec()));
        self.forget(taken);
        self.partial_state(OffsetBuffer::new(offsets.into()), cast(&values, &self.input)?)
    }

    fn merge_batch(&mut self, values: &[ArrayRef], group_indices: &[usize], total_num_groups: usize) -> Result<()> {
        self.groups = self.groups.max(total_num_groups);
        let lists = values[0].as_list::<i32>();
        let items = cast(lists.values(), &DataType::Int64)?;
        let items = items.as_primitive::<Int64Type>();
        for (row, &group) in group_indices.iter().enumerate() {
            let range = lists.value_offsets()[row]..lists.value_offsets()[row + 1];
            for item in range {
                let item = usize::try_from(item).unwrap_or_default();
                if items.is_valid(item) {
                    self.push(group, items.value(item));
                }
            }
        }
        self.sort_in_when_due();
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
        self.pending.capacity() * size_of::<(usize, i64)>()
            + (self.offsets.capacity() + self.values.capacity()) * size_of::<usize>()
    }
}

/// Whether `row` counts: a value, not NULL, and not filtered out.
fn counted(values: &impl Array, filter: Option<&BooleanArray>, row: usize) -> bool {
    values.is_valid(row) && filter.is_none_or(|f| f.is_valid(row) && f.value(row))
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

    #[test]
    fn counts_stay_exact_across_many_sortings_in() {
        use std::collections::BTreeSet;

        let mut accumulator = DistinctIntegers::new(DataType::Int64);
        accumulator.min_pending = 64;
        let groups = 50;
        let mut expected = vec![BTreeSet::new(); groups];
        let mut state = 7u64;
        for batch in 0..40 {
            let mut values = Vec::new();
            let mut group_indices = Vec::new();
            for _ in 0..100 {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let (group, value) = ((state >> 33) as usize % groups, (state >> 40) as i64 % 30 - 10);
                values.push(value);
                group_indices.push(group);
                expected[group].insert(value);
            }
            let values: ArrayRef = Arc::new(Int64Array::from(values));
            accumulator
                .update_batch(&[values], &group_indices, None, groups)
                .unwrap();
            let bound = accumulator.values.len().max(64);
            assert!(
                accumulator.pending.len() < bound,
                "pending pairs are sorted in once there are enough"
            );
            if batch == 20 {
                // The state of the first ten groups goes out; the same values come back merged.
                let state = accumulator.state(EmitTo::First(10)).unwrap();
                let lists = state[0].as_list::<i32>();
                for (group, set) in expected.iter().enumerate().take(10) {
                    let list = lists.value(group);
                    let list: Vec<i64> = list.as_primitive::<Int64Type>().values().to_vec();
                    assert_eq!(
                        list,
                        set.iter().copied().collect::<Vec<_>>(),
                        "group {group}, sorted and once each"
                    );
                }
                let mut back = vec![groups - 10; 10];
                back.iter_mut().enumerate().for_each(|(i, g)| *g += i);
                accumulator.merge_batch(&state, &back, groups).unwrap();
                expected.rotate_left(10);
            }
        }
        let expected: Vec<i64> = expected.iter().map(|set| set.len() as i64).collect();
        assert_eq!(counted(&mut accumulator, EmitTo::All), expected);
    }
}
