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
        let key = if prefix.is_empty() { name.clone() } else { format!("{prefix}[{name}]") };
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
