//! Moodle's REST encoding: PHP-style nested form fields, percent-encoded.
//!
//! `users[0][customfields][1][value]=HR`: one `name=value` pair per leaf,
//! explicit indices, values as Moodle's strict validation wants them (ints in
//! canonical decimal, bools as 1/0). Only template field names ever become
//! keys, and those are identifiers, so keys need no escaping beyond brackets
//! (sent raw; PHP reads raw and percent-encoded brackets alike).

use crate::form::{field_pairs, scalar_text, value_pairs, FieldValue, Pair};
use crate::plan::{PendingRecord, PendingValue};
use crate::template::{Field, Template, Value};
use crate::validate::ValidRecord;

/// The pairs of record `record` placed at index `index` of the template's
/// list parameter. Its `per_call` fields are left out: [`call_pairs`] sends
/// them once per call.
pub fn record_pairs(template: &Template, record: &ValidRecord, index: usize, out: &mut Vec<Pair>) {
    let mut push = |key: &str, value: &Value| out.push((key.to_owned(), scalar_text(value)));
    let per_record = record
        .values
        .iter()
        .filter(|(position, _)| !template.fields[*position].per_call);
    // A write template that collects a field sends each record's value as
    // `{into}[{index}]` (read templates take the collected field out first).
    if let (None, Some(collect)) = (&template.wrap, &template.batch.collect) {
        for (position, value) in per_record {
            let field = &template.fields[*position];
            let mut key = if field.name == collect.field {
                format!("{}[{index}]", collect.into)
            } else {
                field.name.clone()
            };
            value_pairs(&field.ty, value, &mut key, &mut push);
        }
        return;
    }
    let mut key = match &template.wrap {
        Some(wrap) => format!("{wrap}[{index}]"),
        None => String::new(),
    };
    for (position, value) in per_record {
        field_pairs(&template.fields[*position], value, &mut key, &mut push);
    }
}

/// The pairs of the `per_call` fields of a call whose first record is
/// `record`: top-level parameters beside the record list, once per call
/// (the batcher puts only records with equal values of them in one call).
pub fn call_pairs(template: &Template, record: &ValidRecord, out: &mut Vec<Pair>) {
    let mut push = |key: &str, value: &Value| out.push((key.to_owned(), scalar_text(value)));
    let mut key = String::new();
    for (position, value) in record.values.iter().filter(|(p, _)| template.fields[*p].per_call) {
        field_pairs(&template.fields[*position], value, &mut key, &mut push);
    }
}

/// Append `&KEY=VALUE` pairs of record `record`, at index `index` of the
/// template's list parameter, straight to a form-encoded body. Equivalent to
/// `encode(record_pairs(..))` without the intermediate strings.
///
/// This works out the template's key text on every call; to write many
/// records, build one [`RecordWriter`] (as [`super::request_body`] does).
pub fn write_record(template: &Template, record: &ValidRecord, index: usize, body: &mut String) {
    RecordWriter::new(template).write(record, index, body);
}

/// Writes records of one template to form bodies: the hot path of `render`
/// and `run`.
///
/// The key of a top-level scalar is `{wrap}[{index}][{name}]`; everything
/// but the index is known per template, so the text around it is built once
/// here and a pair costs a few appends. Keys are built from identifiers,
/// digits and brackets only (the grammar allows nothing else in names), so
/// they need no encoding.
pub struct RecordWriter<'t> {
    fields: &'t [Field],
    /// `{wrap}[` (or `{into}[` for a template that collects a field), or
    /// empty when record fields are top-level parameters.
    open: String,
    /// Per field position, what follows the record's index up to the value:
    /// `][{name}]=`, or `{name}=` without a wrap.
    after_index: Vec<String>,
    /// Whether any field is `per_call` (written once per call, not per record).
    per_call: bool,
    /// Whole keys `&{open}{index}{after_index}` (see [`RecordWriter::keyed`]),
    /// index after index, field after field.
    keys: String,
    /// The end of each key in `keys`.
    key_ends: Vec<usize>,
}

/// The most record indices [`RecordWriter::keyed`] builds the keys of.
const KEYED_INDICES: usize = 256;

impl<'t> RecordWriter<'t> {
    /// A writer for records of `template`.
    pub fn new(template: &'t Template) -> Self {
        let wrapped = template.wrap.is_some();
        // Without a wrap, a collected field is `{into}[{index}]`.
        let collect = template.batch.collect.as_ref().filter(|_| !wrapped);
        let open = match (&template.wrap, collect) {
            (Some(wrap), _) => format!("{wrap}["),
            (None, Some(collect)) => format!("{}[", collect.into),
            (None, None) => String::new(),
        };
        RecordWriter {
            fields: &template.fields,
            open,
            after_index: template
                .fields
                .iter()
                .map(|field| {
                    if wrapped {
                        format!("][{}]=", field.name)
                    } else if collect.is_some_and(|c| c.field == field.name) {
                        "]=".to_owned()
                    } else {
                        format!("{}=", field.name)
                    }
                })
                .collect(),
            per_call: template.fields.iter().any(|f| f.per_call),
            keys: String::new(),
            key_ends: Vec::new(),
        }
    }

    /// A writer for records of `template` that also holds every key of the
    /// first indices a batch has (up to its size), whole: writing a value is
    /// then one copy of its key. For writing many batches (render).
    pub fn keyed(template: &'t Template) -> Self {
        let mut writer = RecordWriter::new(template);
        if writer.open.is_empty() {
            return writer;
        }
        let mut digits = itoa::Buffer::new();
        for index in 0..template.batch.size.min(KEYED_INDICES) {
            let index_text = digits.format(index);
            for after_index in &writer.after_index {
                writer.keys.push('&');
                writer.keys.push_str(&writer.open);
                writer.keys.push_str(index_text);
                writer.keys.push_str(after_index);
                writer.key_ends.push(writer.keys.len());
            }
        }
        writer
    }

    /// Append the `&KEY=VALUE` pairs of the `per_call` fields of a call whose
    /// first record is `record` to `body`: once per call.
    pub fn write_call(&self, record: &ValidRecord, body: &mut String) {
        if !self.per_call {
            return;
        }
        let mut key = String::new();
        for (position, value) in record.values.iter().filter(|(p, _)| self.fields[*p].per_call) {
            write_field(&self.fields[*position], value, &mut key, body);
        }
    }

    /// Append the `&KEY=VALUE` pairs of `record`, placed at index `index`, to `body`.
    pub fn write(&self, record: &ValidRecord, index: usize, body: &mut String) {
        let mut digits = itoa::Buffer::new();
        let index_text = self.index_text(index, &mut digits);
        for (position, value) in &record.values {
            if self.per_call && self.fields[*position].per_call {
                continue;
            }
            self.write_value(*position, value, index_text, body);
        }
    }

    /// [`RecordWriter::write_call`] for a record of a [`PendingBatch`](crate::plan::PendingBatch).
    pub fn write_pending_call(&self, record: &PendingRecord<'_>, body: &mut String) {
        if !self.per_call {
            return;
        }
        let mut key = String::new();
        for (position, value) in record.values().filter(|(p, _)| self.fields[*p].per_call) {
            write_field(&self.fields[position], &value.to_field_value(), &mut key, body);
        }
    }

    /// [`RecordWriter::write`] for a record of a [`PendingBatch`](crate::plan::PendingBatch):
    /// the same bytes.
    pub fn write_pending(&self, record: &PendingRecord<'_>, index: usize, body: &mut String) {
        let mut digits = itoa::Buffer::new();
        let index_text = self.index_text(index, &mut digits);
        // This index's keys, when they are built.
        let first = index * self.after_index.len();
        let keys = self
            .key_ends
            .get(first..first + self.after_index.len())
            .map(|ends| {
                let start = first.checked_sub(1).map_or(0, |k| self.key_ends[k]);
                (start, ends)
            });
        let push_key = |position: usize, body: &mut String| self.push_keyed(keys, position, index_text, body);
        for (position, value) in record.values() {
            if self.per_call && self.fields[position].per_call {
                continue;
            }
            let scalar = match value {
                PendingValue::Int(i) => {
                    push_key(position, body);
                    body.push_str(itoa::Buffer::new().format(i));
                    continue;
                }
                PendingValue::Bool(b) => {
                    push_key(position, body);
                    body.push(if b { '1' } else { '0' });
                    continue;
                }
                PendingValue::Float(f) => Value::Float(f),
                PendingValue::Other(value) => {
                    self.write_value(position, value, index_text, body);
                    continue;
                }
            };
            push_key(position, body);
            write_scalar(&scalar, body);
        }
    }

    /// `&KEY=` of the top-level scalar at `position`, from `keys` (where the
    /// keys of the record's index start in [`RecordWriter::keys`], and their
    /// ends) when they are built.
    #[inline(always)]
    fn push_keyed(
        &self,
        keys: Option<(usize, &[usize])>,
        position: usize,
        index_text: &str,
        body: &mut String,
    ) {
        match keys {
            Some((start, ends)) => {
                // Each key starts with its `&`, left out first in a body.
                let from = position.checked_sub(1).map_or(start, |p| ends[p]);
                body.push_str(&self.keys[from + usize::from(body.is_empty())..ends[position]]);
            }
            None => self.push_key(position, index_text, body),
        }
    }

    /// The text of index `index` in keys (`digits` holds it); empty without a
    /// wrap, where keys are bare field names.
    fn index_text<'d>(&self, index: usize, digits: &'d mut itoa::Buffer) -> &'d str {
        if self.open.is_empty() {
            ""
        } else {
            digits.format(index)
        }
    }

    /// `&KEY=` of the top-level scalar at `position` (no `&` first in an empty body).
    fn push_key(&self, position: usize, index_text: &str, body: &mut String) {
        if !body.is_empty() {
            body.push('&');
        }
        body.push_str(&self.open);
        body.push_str(index_text);
        body.push_str(&self.after_index[position]);
    }

    /// The pairs of the value of the field at `position` of a record at `index_text`.
    fn write_value(&self, position: usize, value: &FieldValue, index_text: &str, body: &mut String) {
        match value {
            FieldValue::Scalar(scalar) => {
                self.push_key(position, index_text, body);
                write_scalar(scalar, body);
            }
            FieldValue::List(_) | FieldValue::Object(_) | FieldValue::Values(_) => {
                // Rare and nested: the general path, with the key built up as it goes.
                let mut key = String::with_capacity(64);
                if !self.open.is_empty() {
                    key.push_str(&self.open);
                    key.push_str(index_text);
                    key.push(']');
                }
                write_field(&self.fields[position], value, &mut key, body);
            }
        }
    }
}

/// The pairs of one field; `key` holds the key up to the field and is left as it was.
fn write_field(field: &Field, value: &FieldValue, key: &mut String, body: &mut String) {
    let mut push = |key: &str, value: &Value| {
        if !body.is_empty() {
            body.push('&');
        }
        body.push_str(key);
        body.push('=');
        write_scalar(value, body);
    };
    field_pairs(field, value, key, &mut push);
}

fn write_scalar(value: &Value, body: &mut String) {
    match value {
        // itoa writes the same digits as `Display`, without the formatting machinery.
        Value::Int(i) => body.push_str(itoa::Buffer::new().format(*i)),
        Value::Bool(b) => body.push(if *b { '1' } else { '0' }),
        Value::Float(f) => body.extend(form_urlencoded::byte_serialize(f.to_string().as_bytes())),
        Value::Str(s) => body.extend(form_urlencoded::byte_serialize(s.as_bytes())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin;

    /// A write template that collects a field sends `LIST[i]`, the same
    /// through the writer as through the pairs.
    #[test]
    fn a_collected_field_is_sent_as_one_list() {
        let template = builtin::catalog().get("delete_users").expect("built-in");
        let records: Vec<ValidRecord> = [5, 7]
            .into_iter()
            .enumerate()
            .map(|(i, id)| ValidRecord {
                number: i as u64 + 1,
                line: i as u64 + 1,
                values: vec![(0, FieldValue::Scalar(Value::Int(id)))],
            })
            .collect();
        let mut body = String::new();
        let mut pairs = Vec::new();
        let writer = RecordWriter::new(template);
        for (index, record) in records.iter().enumerate() {
            writer.write(record, index, &mut body);
            record_pairs(template, record, index, &mut pairs);
        }
        assert_eq!(body, "userids[0]=5&userids[1]=7");
        assert_eq!(crate::form::encode(&pairs), body);
    }
}
