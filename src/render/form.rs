//! Moodle's REST encoding: PHP-style nested form fields, percent-encoded.
//!
//! `users[0][customfields][1][value]=HR`: one `name=value` pair per leaf,
//! explicit indices, values as Moodle's strict validation wants them (ints in
//! canonical decimal, bools as 1/0). Only template field names ever become
//! keys, and those are identifiers, so keys need no escaping beyond brackets
//! (sent raw; PHP reads raw and percent-encoded brackets alike).

use std::fmt::Write as _;

use crate::template::{Field, FieldType, Template, Value};
use crate::validate::{FieldValue, ValidRecord};

/// One `name=value` form pair, unencoded.
pub type Pair = (String, String);

/// The wire text of a scalar.
pub fn scalar_text(value: &Value) -> String {
    match value {
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Bool(b) => if *b { "1" } else { "0" }.to_owned(),
        Value::Str(s) => s.clone(),
    }
}

/// The pairs of record `record` placed at index `index` of the template's list parameter.
pub fn record_pairs(template: &Template, record: &ValidRecord, index: usize, out: &mut Vec<Pair>) {
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
/// `encode(record_pairs(..))` without the intermediate strings: this is the
/// hot path of `render` and `run`.
pub fn write_record(template: &Template, record: &ValidRecord, index: usize, body: &mut String) {
    let mut key = String::with_capacity(64);
    if let Some(wrap) = &template.wrap {
        let _ = write!(key, "{wrap}[{index}]");
    }
    write_values(&template.fields, &record.values, &mut key, body);
}

fn write_values(fields: &[Field], values: &[(usize, FieldValue)], key: &mut String, body: &mut String) {
    let base = key.len();
    for (position, value) in values {
        let field = &fields[*position];
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
                // Keys are built from identifiers, digits and brackets only
                // (the grammar allows nothing else in names): no encoding needed.
                body.push_str(key);
                body.push('=');
                write_scalar(scalar, body);
            }
            (FieldValue::List(elements), FieldType::List(inner)) => {
                let list_base = key.len();
                for (index, element) in elements.iter().enumerate() {
                    let _ = write!(key, "[{index}]");
                    write_values(inner, element, key, body);
                    key.truncate(list_base);
                }
            }
            (FieldValue::List(_), _) => {}
        }
        key.truncate(base);
    }
}

fn write_scalar(value: &Value, body: &mut String) {
    match value {
        Value::Int(i) => {
            let _ = write!(body, "{i}");
        }
        Value::Bool(b) => body.push(if *b { '1' } else { '0' }),
        Value::Float(f) => body.extend(form_urlencoded::byte_serialize(f.to_string().as_bytes())),
        Value::Str(s) => body.extend(form_urlencoded::byte_serialize(s.as_bytes())),
    }
}

/// How many form fields a record adds to a request (for `max_input_vars`).
pub fn record_field_count(record: &ValidRecord) -> usize {
    fn count(values: &[(usize, FieldValue)]) -> usize {
        values
            .iter()
            .map(|(_, v)| match v {
                FieldValue::Scalar(_) => 1,
                FieldValue::List(elements) => elements.iter().map(|e| count(e)).sum(),
            })
            .sum()
    }
    count(&record.values)
}

/// `application/x-www-form-urlencoded` text of `pairs`.
pub fn encode(pairs: &[Pair]) -> String {
    let mut body = String::with_capacity(pairs.iter().map(|(k, v)| k.len() + v.len() + 2).sum());
    for (index, (key, value)) in pairs.iter().enumerate() {
        if index > 0 {
            body.push('&');
        }
        encode_key(key, &mut body);
        body.push('=');
        body.extend(form_urlencoded::byte_serialize(value.as_bytes()));
    }
    body
}

/// Keys keep their brackets readable; everything else is form-encoded.
fn encode_key(key: &str, out: &mut String) {
    for part in key.split_inclusive(['[', ']']) {
        let (text, bracket) = match part.as_bytes().last() {
            Some(b'[' | b']') => part.split_at(part.len() - 1),
            _ => (part, ""),
        };
        out.extend(form_urlencoded::byte_serialize(text.as_bytes()));
        let _ = out.write_str(bracket);
    }
}
