//! The form fields of a record, as Moodle's REST server reads them: typed
//! values, how many `name=value` pairs they make, and their encoding.
//!
//! A leaf shared by validate (the `max_input_vars` budget of one record),
//! plan (the budget of a batch), render (the bodies) and fetch (read calls),
//! so that each counts and encodes exactly as the others do.

use std::fmt::Write as _;

use crate::moodle::ws::{REST_FORMAT, WSFUNCTION, WSTOKEN};
use crate::template::Value;

/// One `name=value` form pair, unencoded.
pub type Pair = (String, String);

/// A field's typed value.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// A scalar.
    Scalar(Value),
    /// A list of elements, each a set of (field position in the list's fields, value).
    List(Vec<Vec<(usize, FieldValue)>>),
}

/// Form fields a record adds to a request (each scalar leaf is one `name=value` pair).
pub fn field_count(values: &[(usize, FieldValue)]) -> usize {
    values
        .iter()
        .map(|(_, v)| match v {
            FieldValue::Scalar(_) => 1,
            FieldValue::List(elements) => elements.iter().map(|e| field_count(e)).sum(),
        })
        .sum()
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
    let control = [(WSTOKEN, token), (WSFUNCTION, function), (REST_FORMAT, "json")];
    let control_len: usize = control.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
    let mut body = String::with_capacity(control_len + capacity);
    for (key, value) in control {
        push_pair(key, value, &mut body);
    }
    body
}
