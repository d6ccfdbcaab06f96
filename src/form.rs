//! The form fields of a record, as Moodle's REST server reads them: typed
//! values, how many `name=value` pairs they make, and their encoding.
//!
//! A leaf shared by validate (the `max_input_vars` budget of one record),
//! plan (the budget of a batch), render (the bodies) and fetch (read calls),
//! so that each counts and encodes exactly as the others do.

use std::fmt::Write as _;

use crate::moodle::ws::{REST_FORMAT, WSFUNCTION, WSTOKEN};
use serde_json::Value as Json;

use crate::template::{Field, FieldType, Value};

/// One `name=value` form pair, unencoded.
pub type Pair = (String, String);

/// A field's typed value.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// A scalar.
    Scalar(Value),
    /// A list of elements, each a set of (field position in the list's fields, value).
    List(Vec<Vec<(usize, FieldValue)>>),
    /// A single structure: (field position in the object's fields, value), by position.
    Object(Vec<(usize, FieldValue)>),
    /// A list of values of one type (`list int`): `name[0]=5&name[1]=7`.
    Values(Vec<FieldValue>),
}

impl FieldValue {
    /// Form fields this value adds to a request (each scalar leaf is one pair).
    pub fn form_fields(&self) -> usize {
        match self {
            FieldValue::Scalar(_) => 1,
            FieldValue::List(elements) => elements.iter().map(|e| field_count(e)).sum(),
            FieldValue::Object(values) => field_count(values),
            FieldValue::Values(values) => values.iter().map(FieldValue::form_fields).sum(),
        }
    }
}

/// Form fields a record adds to a request (each scalar leaf is one `name=value` pair).
pub fn field_count(values: &[(usize, FieldValue)]) -> usize {
    values.iter().map(|(_, v)| v.form_fields()).sum()
}

/// The wire text of a scalar.
pub fn scalar_text(value: &Value) -> String {
    match value {
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Bool(b) => if *b { "1" } else { "0" }.to_owned(),
        Value::Str(s) => s.clone(),
    }
}

/// `application/x-www-form-urlencoded` text of `pairs`.
pub fn encode(pairs: &[Pair]) -> String {
    let mut body = String::with_capacity(pairs.iter().map(|(k, v)| k.len() + v.len() + 2).sum());
    for (key, value) in pairs {
        push_pair(key, value, &mut body);
    }
    body
}

/// Append one encoded `key=value` pair to `body`, after a `&` unless it is the first.
pub fn push_pair(key: &str, value: &str, body: &mut String) {
    if !body.is_empty() {
        body.push('&');
    }
    encode_key(key, body);
    body.push('=');
    body.extend(form_urlencoded::byte_serialize(value.as_bytes()));
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

/// A request body holding the control parameters (`wstoken`, `wsfunction`,
/// `moodlewsrestformat=json`), with room for `capacity` more bytes. The token
/// goes in the body, never in the URL: URLs end up in logs.
pub fn start_body(token: &str, function: &str, capacity: usize) -> String {
    let control_len =
        WSTOKEN.len() + token.len() + WSFUNCTION.len() + function.len() + REST_FORMAT.len() + 10;
    let mut body = String::with_capacity(control_len + capacity);
    push_control(token, function, &mut body);
    body
}

/// Append the control parameters (`wstoken`, `wsfunction`,
/// `moodlewsrestformat=json`) to `body`, as [`start_body`] starts it.
pub fn push_control(token: &str, function: &str, body: &mut String) {
    for (key, value) in [(WSTOKEN, token), (WSFUNCTION, function), (REST_FORMAT, "json")] {
        push_pair(key, value, body);
    }
}

/// `value` (of type `ty`) as JSON, each scalar as `scalar` writes it: lists
/// as arrays, structures as objects keyed by their fields' names. A value
/// that does not fit its type (never made by validate) is `null`.
pub fn value_json(ty: &FieldType, value: &FieldValue, scalar: &dyn Fn(&Value) -> Json) -> Json {
    match (ty, value) {
        (_, FieldValue::Scalar(v)) => scalar(v),
        (FieldType::List(fields), FieldValue::List(elements)) => Json::Array(
            elements
                .iter()
                .map(|element| Json::Object(values_json(fields, element, scalar)))
                .collect(),
        ),
        (FieldType::Object(fields), FieldValue::Object(values)) => {
            Json::Object(values_json(fields, values, scalar))
        }
        (FieldType::Values(inner), FieldValue::Values(items)) => {
            Json::Array(items.iter().map(|item| value_json(inner, item, scalar)).collect())
        }
        _ => Json::Null,
    }
}

/// The values of a record or structure (positions in `fields`) as a JSON object.
pub fn values_json(
    fields: &[Field],
    values: &[(usize, FieldValue)],
    scalar: &dyn Fn(&Value) -> Json,
) -> serde_json::Map<String, Json> {
    values
        .iter()
        .filter_map(|(position, value)| {
            let field = fields.get(*position)?;
            Some((field.name.clone(), value_json(&field.ty, value, scalar)))
        })
        .collect()
}

/// Call `visit` with every scalar leaf of `value` and the leaf's own type
/// (`password` in `list { field password: password }` too).
pub fn visit_scalars_mut(
    ty: &FieldType,
    value: &mut FieldValue,
    visit: &mut dyn FnMut(&FieldType, &mut Value),
) {
    match (ty, value) {
        (_, FieldValue::Scalar(v)) => visit(ty, v),
        (FieldType::List(fields), FieldValue::List(elements)) => {
            for element in elements {
                visit_fields_mut(fields, element, visit);
            }
        }
        (FieldType::Object(fields), FieldValue::Object(values)) => visit_fields_mut(fields, values, visit),
        (FieldType::Values(inner), FieldValue::Values(items)) => {
            for item in items {
                visit_scalars_mut(inner, item, visit);
            }
        }
        _ => {}
    }
}

/// [`visit_scalars_mut`] over the values of a record or structure.
pub fn visit_fields_mut(
    fields: &[Field],
    values: &mut [(usize, FieldValue)],
    visit: &mut dyn FnMut(&FieldType, &mut Value),
) {
    for (position, value) in values {
        if let Some(field) = fields.get(*position) {
            visit_scalars_mut(&field.ty, value, visit);
        }
    }
}

/// The form pairs of one field's value under `key` (`name`, or
/// `users[0][name]`), in PHP's bracket syntax at any depth:
/// `members[0][cohorttype][type]`, `userids[2]`.
pub fn value_pairs(ty: &FieldType, value: &FieldValue, key: &mut String, out: &mut dyn FnMut(&str, &Value)) {
    match (ty, value) {
        (_, FieldValue::Scalar(v)) => out(key, v),
        (FieldType::List(fields), FieldValue::List(elements)) => {
            let base = key.len();
            for (index, element) in elements.iter().enumerate() {
                push_index(key, index);
                fields_pairs(fields, element, key, out);
                key.truncate(base);
            }
        }
        (FieldType::Object(fields), FieldValue::Object(values)) => fields_pairs(fields, values, key, out),
        (FieldType::Values(inner), FieldValue::Values(items)) => {
            let base = key.len();
            for (index, item) in items.iter().enumerate() {
                push_index(key, index);
                value_pairs(inner, item, key, out);
                key.truncate(base);
            }
        }
        _ => {}
    }
}

/// The pairs of the values of a structure whose key is `key` (each field `key[name]`;
/// bare `name` when `key` is empty: the call's top level).
pub fn fields_pairs(
    fields: &[Field],
    values: &[(usize, FieldValue)],
    key: &mut String,
    out: &mut dyn FnMut(&str, &Value),
) {
    for (position, value) in values {
        if let Some(field) = fields.get(*position) {
            field_pairs(field, value, key, out);
        }
    }
}

/// The pairs of one field of a structure whose key is `key`: `key[name]...`,
/// or `name...` when `key` is empty. `key` is left as it was.
pub fn field_pairs(field: &Field, value: &FieldValue, key: &mut String, out: &mut dyn FnMut(&str, &Value)) {
    let base = key.len();
    if base == 0 {
        key.push_str(&field.name);
    } else {
        key.push('[');
        key.push_str(&field.name);
        key.push(']');
    }
    value_pairs(&field.ty, value, key, out);
    key.truncate(base);
}

fn push_index(key: &mut String, index: usize) {
    key.push('[');
    key.push_str(itoa::Buffer::new().format(index));
    key.push(']');
}
