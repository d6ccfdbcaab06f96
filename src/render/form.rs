//! Moodle's REST encoding: PHP-style nested form fields, percent-encoded.
//!
//! `users[0][customfields][1][value]=HR`: one `name=value` pair per leaf,
//! explicit indices, values as Moodle's strict validation wants them (ints in
//! canonical decimal, bools as 1/0). Only template field names ever become
//! keys, and those are identifiers, so keys need no escaping beyond brackets
//! (sent raw; PHP reads raw and percent-encoded brackets alike).

use crate::form::{scalar_text, FieldValue, Pair};
use crate::template::{Field, FieldType, Template, Value};
use crate::validate::ValidRecord;

/// The pairs of record `record` placed at index `index` of the template's list parameter.
pub fn record_pairs(template: &Template, record: &ValidRecord, index: usize, out: &mut Vec<Pair>) {
    // A write template that collects a field sends each record's value as
    // `{into}[{index}]` (read templates take the collected field out first).
    if let (None, Some(collect)) = (&template.wrap, &template.batch.collect) {
        for (position, value) in &record.values {
            match value {
                FieldValue::Scalar(scalar) if template.fields[*position].name == collect.field => {
                    out.push((format!("{}[{index}]", collect.into), scalar_text(scalar)));
                }
                _ => value_pairs(
                    &template.fields,
                    std::slice::from_ref(&(*position, value.clone())),
                    "",
                    out,
                ),
            }
        }
        return;
    }
    let prefix = match &template.wrap {
        Some(wrap) => format!("{wrap}[{index}]"),
        None => String::new(),
    };
    value_pairs(&template.fields, &record.values, &prefix, out);
}

fn value_pairs(fields: &[Field], values: &[(usize, FieldValue)], prefix: &str, out: &mut Vec<Pair>) {
    for (position, value) in values {
        let name = &fields[*position].name;
        let key = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}[{name}]")
        };
        match (value, &fields[*position].ty) {
            (FieldValue::Scalar(scalar), _) => out.push((key, scalar_text(scalar))),
            (FieldValue::List(elements), FieldType::List(inner)) => {
                for (index, element) in elements.iter().enumerate() {
                    value_pairs(inner, element, &format!("{key}[{index}]"), out);
                }
            }
            (FieldValue::List(_), _) => {}
        }
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
}

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
        }
    }

    /// Append the `&KEY=VALUE` pairs of `record`, placed at index `index`, to `body`.
    pub fn write(&self, record: &ValidRecord, index: usize, body: &mut String) {
        let mut digits = itoa::Buffer::new();
        // Without a wrap, keys are bare field names: no index at all.
        let index_text = if self.open.is_empty() {
            ""
        } else {
            digits.format(index)
        };
        for (position, value) in &record.values {
            match value {
                FieldValue::Scalar(scalar) => {
                    if !body.is_empty() {
                        body.push('&');
                    }
                    body.push_str(&self.open);
                    body.push_str(index_text);
                    body.push_str(&self.after_index[*position]);
                    write_scalar(scalar, body);
                }
                FieldValue::List(_) => {
                    // Rare and nested: the general path, with the key built up as it goes.
                    let mut key = String::with_capacity(64);
                    if !self.open.is_empty() {
                        key.push_str(&self.open);
                        key.push_str(index_text);
                        key.push(']');
                    }
                    write_field(&self.fields[*position], value, &mut key, body);
                }
            }
        }
    }
}

fn write_values(fields: &[Field], values: &[(usize, FieldValue)], key: &mut String, body: &mut String) {
    for (position, value) in values {
        write_field(&fields[*position], value, key, body);
    }
}

/// The pairs of one field; `key` holds the key up to the field and is left as it was.
fn write_field(field: &Field, value: &FieldValue, key: &mut String, body: &mut String) {
    let base = key.len();
    if base == 0 {
        key.push_str(&field.name);
    } else {
        key.push('[');
        key.push_str(&field.name);
        key.push(']');
    }
    match (value, &field.ty) {
        (FieldValue::Scalar(scalar), _) => {
            if !body.is_empty() {
                body.push('&');
            }
            body.push_str(key);
            body.push('=');
            write_scalar(scalar, body);
        }
        (FieldValue::List(elements), FieldType::List(inner)) => {
            let list_base = key.len();
            for (index, element) in elements.iter().enumerate() {
                key.push('[');
                key.push_str(itoa::Buffer::new().format(index));
                key.push(']');
                write_values(inner, element, key, body);
                key.truncate(list_base);
            }
        }
        (FieldValue::List(_), _) => {}
    }
    key.truncate(base);
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
