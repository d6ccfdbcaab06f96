//! Stage 4: valid records to batches: size, grouping and the `max_input_vars` budget.
//!
//! Batches are deterministic: the same records in the same order always give
//! the same batches. With `group_by`, every batch holds records of one key
//! only (a failing course cannot roll back another course's enrolments), in
//! input order; a group's batch is emitted when full, the rest at the end in
//! order of each key's first record.

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::form::FieldValue;
use crate::moodle::ws::CONTROL_FIELDS;
use crate::template::{BatchRule, Template, Value};
use crate::validate::hash::FxBuildHasher;
use crate::validate::ValidRecord;

/// Records sent in one call.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// 1-based, in the order batches are emitted.
    pub number: usize,
    /// The records, in input order.
    pub records: Vec<ValidRecord>,
    /// Form fields of the request, control parameters included.
    pub form_fields: usize,
}

/// A record that cannot be sent at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooLarge {
    /// Its form fields.
    pub form_fields: usize,
    /// The most a request may carry.
    pub limit: usize,
}

/// Groups valid records into batches as they stream in.
pub struct Batcher {
    rule: BatchRule,
    group_by: Option<usize>,
    /// Positions of the `per_call` fields: a batch holds only records with
    /// equal values of them (they are sent once per call).
    per_call: Vec<usize>,
    open: Vec<Open>,
    /// Empty buffers of emitted batches, for groups starting a batch.
    spare: Vec<Open>,
    /// Empty values buffers of records taken in, for the records of emitted batches.
    pool: Vec<Values>,
    /// The open batch of each group whose `group_by` value's text is an integer's, by that integer.
    by_int: HashMap<i64, usize, FxBuildHasher>,
    /// The open batch of every other group, by the text of its `group_by` value.
    by_text: HashMap<String, usize, FxBuildHasher>,
    /// The open batch of records without a group value (all records, without `group_by`).
    ungrouped: Option<usize>,
    /// The text of the group value being looked up, reused so a lookup allocates only for a new group.
    text: String,
    emitted: usize,
}

/// The records of one group waiting for their batch.
///
/// With `group_by`, a batch's records arrive among those of every other
/// group, and all the groups' waiting records together outgrow the CPU
/// caches (500 courses of 100 enrolments are 50,000 records). So they are
/// kept compactly, one group's after the other: a record's own allocation
/// would be spread over the heap and read back (to render it, to free it)
/// only much later, waiting on memory each time; here a record costs a few
/// bytes appended to its group's buffers, read back in order when the batch
/// is emitted, and each record's values are allocated afresh then.
#[derive(Default)]
struct Open {
    /// (number, line, count of values) of each record, in input order.
    records: Vec<(u64, u64, usize)>,
    /// The values of `records`, in the same order.
    slots: Vec<Slot>,
    /// The values that do not fit in a slot, in the same order.
    others: Vec<(usize, FieldValue)>,
    form_fields: usize,
}

/// One value of a waiting record: numbers and booleans (with the field's
/// position) inline in 16 bytes, where `(usize, FieldValue)` takes 40.
#[derive(Clone, Copy)]
enum Slot {
    Int(u32, i64),
    Float(u32, f64),
    Bool(u32, bool),
    /// The next value of [`Open::others`].
    Other,
}

const _: () = assert!(std::mem::size_of::<Slot>() == 16);

impl Slot {
    /// The slot of a value; values that do not fit go to `others`.
    fn pack(position: usize, value: FieldValue, others: &mut Vec<(usize, FieldValue)>) -> Slot {
        let slot = match (u32::try_from(position), &value) {
            (Ok(p), FieldValue::Scalar(Value::Int(i))) => Slot::Int(p, *i),
            (Ok(p), FieldValue::Scalar(Value::Float(f))) => Slot::Float(p, *f),
            (Ok(p), FieldValue::Scalar(Value::Bool(b))) => Slot::Bool(p, *b),
            _ => {
                others.push((position, value));
                return Slot::Other;
            }
        };
        // A number or boolean owns no memory: forgetting it leaks nothing
        // and spares the call that drops a `FieldValue`, once per value.
        std::mem::forget(value);
        slot
    }

    /// The value again; `others` yields those that went there, in order.
    fn unpack(self, others: &mut impl Iterator<Item = (usize, FieldValue)>) -> Option<(usize, FieldValue)> {
        let scalar = |p: u32, value| Some((p as usize, FieldValue::Scalar(value)));
        match self {
            Slot::Int(p, i) => scalar(p, Value::Int(i)),
            Slot::Float(p, f) => scalar(p, Value::Float(f)),
            Slot::Bool(p, b) => scalar(p, Value::Bool(b)),
            Slot::Other => others.next(),
        }
    }
}

impl Open {
    /// Add `record`; its emptied values buffer goes to `pool`, if it has room.
    /// A batch holds at most `size` records.
    fn push(&mut self, mut record: ValidRecord, fields: usize, size: usize, pool: &mut Vec<Values>) {
        let count = record.values.len();
        grow(&mut self.records, 1, size);
        grow(&mut self.slots, count, size.saturating_mul(count));
        self.records.push((record.number, record.line, count));
        for (position, value) in record.values.drain(..) {
            let slot = Slot::pack(position, value, &mut self.others);
            self.slots.push(slot);
        }
        if pool.len() < POOL_LIMIT && record.values.capacity() > 0 {
            pool.push(record.values);
        }
        self.form_fields += fields;
    }

    /// The records as `ValidRecord`s again, leaving the group empty (its
    /// buffers keep their capacity); their values buffers come from `pool`
    /// while it has some.
    fn drain(&mut self, pool: &mut Vec<Values>) -> (Vec<ValidRecord>, usize) {
        let mut slots = self.slots.drain(..);
        let mut others = self.others.drain(..);
        let records = (self.records.drain(..))
            .map(|(number, line, count)| {
                let mut values = pool.pop().unwrap_or_default();
                values.reserve(count);
                values.extend(
                    slots
                        .by_ref()
                        .take(count)
                        .filter_map(|slot| slot.unpack(&mut others)),
                );
                ValidRecord { number, line, values }
            })
            .collect();
        (records, std::mem::take(&mut self.form_fields))
    }
}

/// Room in `buffer` for `additional` more items: it doubles as a `Vec` does,
/// but not beyond `most` (the most a batch can need), as every group with
/// waiting records keeps its buffers: with `batch size 100`, 100 records'
/// room rather than 128's.
fn grow<T>(buffer: &mut Vec<T>, additional: usize, most: usize) {
    if buffer.capacity() - buffer.len() >= additional {
        return;
    }
    let wanted = (buffer.capacity() * 2).clamp(4, most.max(4));
    let capacity = wanted.max(buffer.len() + additional);
    buffer.reserve_exact(capacity - buffer.len());
}

/// The values of one record.
type Values = Vec<(usize, FieldValue)>;

/// Emptied values buffers of records taken in, kept for the records of the
/// batches given out, at most this many: a record's values then cost no
/// allocation of their own between the validator and the batch (about as
/// many records come in between two batches as a batch holds).
const POOL_LIMIT: usize = 256;

/// Emptied group buffers kept for the next batch, at most this many.
///
/// Growing a group's buffers from nothing for every batch costs more than
/// filling them (and their large reallocations make glibc's malloc tidy up
/// its free lists each time). Keeping a few spares, rather than every
/// group's, keeps memory to the records waiting in batches.
const SPARE_LIMIT: usize = 4;

impl Batcher {
    /// A batcher for `template`'s batch rule.
    pub fn new(template: &Template) -> Self {
        let group_by = template
            .batch
            .group_by
            .as_ref()
            .and_then(|name| template.fields.iter().position(|f| &f.name == name));
        Batcher {
            rule: template.batch.clone(),
            group_by,
            per_call: (0..template.fields.len())
                .filter(|&p| template.fields[p].per_call)
                .collect(),
            open: Vec::new(),
            spare: Vec::new(),
            pool: Vec::new(),
            by_int: HashMap::default(),
            by_text: HashMap::default(),
            ungrouped: None,
            text: String::new(),
            emitted: 0,
        }
    }

    /// Form fields a request may carry besides the control parameters.
    fn budget(&self) -> usize {
        self.rule.max_input_vars.saturating_sub(CONTROL_FIELDS)
    }

    /// Add a record; returns the batches it completed.
    ///
    /// # Errors
    /// The record alone carries more form fields than PHP would read.
    pub fn push(&mut self, record: ValidRecord) -> Result<Vec<Batch>, TooLarge> {
        let mut done = Vec::new();
        self.place(record, &mut |batcher, slot| done.push(batcher.take(slot)))?;
        Ok(done)
    }

    /// [`Batcher::push`] without materialising the completed batches: `emit`
    /// sees each one in the batcher's own storage, in the order `push` would
    /// return them. For writers that only read a batch once (render's bodies):
    /// its records are not rebuilt as [`ValidRecord`]s.
    ///
    /// # Errors
    /// The record alone carries more form fields than PHP would read.
    pub fn push_each(
        &mut self,
        record: ValidRecord,
        emit: &mut dyn FnMut(&PendingBatch<'_>),
    ) -> Result<(), TooLarge> {
        self.place(record, &mut |batcher, slot| batcher.take_each(slot, emit))
    }

    /// Add `record` to its group; `take` emits the group at a slot (before
    /// the record when it would overflow the budget, after it when full).
    fn place(
        &mut self,
        record: ValidRecord,
        take: &mut dyn FnMut(&mut Batcher, usize),
    ) -> Result<(), TooLarge> {
        // A scalar is one field: counted here without a call for each.
        let all: usize = (record.values.iter())
            .map(|(_, value)| match value {
                FieldValue::Scalar(_) => 1,
                value => value.form_fields(),
            })
            .sum();
        // `per_call` fields are sent once per call, whatever its records.
        let call: usize = if self.per_call.is_empty() {
            0
        } else {
            (record.values.iter())
                .filter(|(p, _)| self.per_call.contains(p))
                .map(|(_, v)| v.form_fields())
                .sum()
        };
        let fields = all - call;
        if all > self.budget() {
            return Err(TooLarge {
                form_fields: all + CONTROL_FIELDS,
                limit: self.rule.max_input_vars,
            });
        }
        let slot = self.slot(&record);
        let budget = self.budget();
        if !self.open[slot].records.is_empty() && self.open[slot].form_fields + fields > budget {
            // Split before PHP would silently drop this record's fields.
            take(self, slot);
        }
        if self.open[slot].records.capacity() == 0 {
            if let Some(spare) = self.spare.pop() {
                self.open[slot] = spare;
            }
        }
        if self.open[slot].records.is_empty() {
            self.open[slot].form_fields += call;
        }
        let open = &mut self.open[slot];
        open.push(record, fields, self.rule.size, &mut self.pool);
        if open.records.len() >= self.rule.size {
            take(self, slot);
        }
        Ok(())
    }

    /// [`Batcher::take`] for [`Batcher::push_each`]: the batch is shown to
    /// `emit` where it lies, then its buffers are emptied for reuse.
    fn take_each(&mut self, slot: usize, emit: &mut dyn FnMut(&PendingBatch<'_>)) {
        let mut open = std::mem::take(&mut self.open[slot]);
        self.emit_pending(&mut open, emit);
        if self.spare.len() < SPARE_LIMIT {
            self.spare.push(open);
        }
    }

    fn emit_pending(&mut self, open: &mut Open, emit: &mut dyn FnMut(&PendingBatch<'_>)) {
        self.emitted += 1;
        emit(&PendingBatch {
            number: self.emitted,
            form_fields: open.form_fields + CONTROL_FIELDS,
            open,
        });
        open.records.clear();
        open.slots.clear();
        open.others.clear();
        open.form_fields = 0;
    }

    /// [`Batcher::finish`] for [`Batcher::push_each`]: the batches still
    /// open, in order of their key's first record.
    pub fn finish_each(mut self, emit: &mut dyn FnMut(&PendingBatch<'_>)) {
        let open = std::mem::take(&mut self.open);
        for mut o in open.into_iter().filter(|o| !o.records.is_empty()) {
            self.emit_pending(&mut o, emit);
        }
    }

    /// Emit the open batch of group `slot`, leaving the group empty.
    fn take(&mut self, slot: usize) -> Batch {
        let mut open = std::mem::take(&mut self.open[slot]);
        let (records, form_fields) = open.drain(&mut self.pool);
        if self.spare.len() < SPARE_LIMIT {
            self.spare.push(open);
        }
        self.emit(records, form_fields)
    }

    /// The batches still open, in order of their key's first record.
    pub fn finish(mut self) -> Vec<Batch> {
        let open = std::mem::take(&mut self.open);
        open.into_iter()
            .filter(|o| !o.records.is_empty())
            .map(|mut o| {
                let (records, form_fields) = o.drain(&mut self.pool);
                self.emit(records, form_fields)
            })
            .collect()
    }

    fn emit(&mut self, records: Vec<ValidRecord>, form_fields: usize) -> Batch {
        self.emitted += 1;
        Batch {
            number: self.emitted,
            records,
            form_fields: form_fields + CONTROL_FIELDS,
        }
    }

    /// The open batch of `record`'s group, opened if the group is new.
    ///
    /// Groups are the distinct texts of the `group_by` value, as `Display`
    /// writes it. Ints (ids, nearly always) are looked up by value instead,
    /// without writing their text, and so is any other value whose text is
    /// an int's (a float 5.0 is "5"): the groups stay exactly those of the texts.
    fn slot(&mut self, record: &ValidRecord) -> usize {
        if !self.per_call.is_empty() {
            return self.call_slot(record);
        }
        let int = match self.group_value(record) {
            // Kept out of the maps (all records, without `group_by`).
            None => return *self.ungrouped.get_or_insert_with(|| open_group(&mut self.open)),
            Some(Value::Int(i)) => Some(*i),
            Some(value) => {
                self.text.clear();
                let _ = write!(self.text, "{value}");
                int_of_text(&self.text)
            }
        };
        let open = &mut self.open;
        if let Some(i) = int {
            return *self.by_int.entry(i).or_insert_with(|| open_group(open));
        }
        if let Some(&slot) = self.by_text.get(self.text.as_str()) {
            return slot;
        }
        let slot = open_group(open);
        self.by_text.insert(self.text.clone(), slot);
        slot
    }

    /// The open batch of `record`'s group when the template has `per_call`
    /// fields: the group is the `group_by` value together with theirs.
    fn call_slot(&mut self, record: &ValidRecord) -> usize {
        self.text.clear();
        if let Some(value) = self.group_value(record) {
            let _ = write!(self.text, "{value}");
        }
        for &position in &self.per_call {
            self.text.push('\u{1f}');
            if let Some((_, value)) = record.values.iter().find(|(p, _)| *p == position) {
                let _ = write!(self.text, "{value:?}");
            }
        }
        if let Some(&slot) = self.by_text.get(self.text.as_str()) {
            return slot;
        }
        let slot = open_group(&mut self.open);
        self.by_text.insert(self.text.clone(), slot);
        slot
    }

    /// The `group_by` value of `record`; none without `group_by`, when the
    /// record has no value for it, or when that is a list.
    fn group_value<'r>(&self, record: &'r ValidRecord) -> Option<&'r Value> {
        let position = self.group_by?;
        match record.values.iter().find(|(p, _)| *p == position) {
            Some((_, FieldValue::Scalar(value))) => Some(value),
            _ => None,
        }
    }
}

/// A completed batch as the batcher holds it (see [`Batcher::push_each`]):
/// the same records as the [`Batch`] [`Batcher::push`] would return.
pub struct PendingBatch<'a> {
    /// 1-based, in the order batches are emitted.
    pub number: usize,
    /// Form fields of the request, control parameters included.
    pub form_fields: usize,
    open: &'a Open,
}

impl<'a> PendingBatch<'a> {
    /// How many records the batch holds.
    pub fn len(&self) -> usize {
        self.open.records.len()
    }

    /// Whether the batch holds no records (never, for an emitted batch).
    pub fn is_empty(&self) -> bool {
        self.open.records.is_empty()
    }

    /// The records, in input order.
    pub fn records(&self) -> PendingRecords<'a> {
        PendingRecords {
            records: self.open.records.iter(),
            slots: &self.open.slots,
            others: &self.open.others,
        }
    }

    /// The batch with its records as [`ValidRecord`]s.
    pub fn to_batch(&self) -> Batch {
        Batch {
            number: self.number,
            records: self
                .records()
                .map(|record| ValidRecord {
                    number: record.number,
                    line: record.line,
                    values: record.values().map(|(p, v)| (p, v.to_field_value())).collect(),
                })
                .collect(),
            form_fields: self.form_fields,
        }
    }
}

/// The records of a [`PendingBatch`].
pub struct PendingRecords<'a> {
    records: std::slice::Iter<'a, (u64, u64, usize)>,
    slots: &'a [Slot],
    others: &'a [(usize, FieldValue)],
}

impl<'a> Iterator for PendingRecords<'a> {
    type Item = PendingRecord<'a>;

    fn next(&mut self) -> Option<PendingRecord<'a>> {
        let &(number, line, count) = self.records.next()?;
        let (slots, rest) = self.slots.split_at(count);
        self.slots = rest;
        let other = slots.iter().filter(|s| matches!(s, Slot::Other)).count();
        let (others, rest) = self.others.split_at(other);
        self.others = rest;
        Some(PendingRecord {
            number,
            line,
            slots,
            others,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.records.size_hint()
    }
}

/// One record of a [`PendingBatch`].
pub struct PendingRecord<'a> {
    /// 1-based record number in the input.
    pub number: u64,
    /// Line where the record starts.
    pub line: u64,
    slots: &'a [Slot],
    others: &'a [(usize, FieldValue)],
}

impl<'a> PendingRecord<'a> {
    /// (field position, value), sorted by position, as in [`ValidRecord::values`].
    pub fn values(&self) -> impl Iterator<Item = (usize, PendingValue<'a>)> + 'a {
        let mut others = self.others.iter();
        self.slots.iter().filter_map(move |slot| match *slot {
            Slot::Int(p, i) => Some((p as usize, PendingValue::Int(i))),
            Slot::Float(p, f) => Some((p as usize, PendingValue::Float(f))),
            Slot::Bool(p, b) => Some((p as usize, PendingValue::Bool(b))),
            Slot::Other => others.next().map(|(p, v)| (*p, PendingValue::Other(v))),
        })
    }
}

/// A value of a [`PendingRecord`]: numbers and booleans by value, anything else borrowed.
#[derive(Debug, Clone, Copy)]
pub enum PendingValue<'a> {
    /// `FieldValue::Scalar(Value::Int(_))`.
    Int(i64),
    /// `FieldValue::Scalar(Value::Float(_))`.
    Float(f64),
    /// `FieldValue::Scalar(Value::Bool(_))`.
    Bool(bool),
    /// Any other value.
    Other(&'a FieldValue),
}

impl PendingValue<'_> {
    /// The value as a [`FieldValue`].
    pub fn to_field_value(self) -> FieldValue {
        match self {
            PendingValue::Int(i) => FieldValue::Scalar(Value::Int(i)),
            PendingValue::Float(f) => FieldValue::Scalar(Value::Float(f)),
            PendingValue::Bool(b) => FieldValue::Scalar(Value::Bool(b)),
            PendingValue::Other(v) => v.clone(),
        }
    }
}

/// The integer whose `Display` text is exactly `text`, if any.
fn int_of_text(text: &str) -> Option<i64> {
    let int: i64 = text.parse().ok()?;
    // `parse` also takes "+5" and "05", which are other texts than 5's.
    (itoa::Buffer::new().format(int) == text).then_some(int)
}

/// A new, empty open batch; returns its slot.
fn open_group(open: &mut Vec<Open>) -> usize {
    open.push(Open::default());
    open.len() - 1
}
