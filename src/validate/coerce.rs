//! Source values to typed field values, per field type.
//!
//! JSON values are typed already; CSV cells (and `map` results) are text and
//! are converted as the issue prescribes: ints as decimals, bools as
//! 0/1/true/false, timestamps from unix seconds or ISO-8601, lists as JSON.
//! Moodle's own acceptance of the result is checked afterwards.

use serde_json::Value as Json;

use crate::form::FieldValue;
use crate::record::Cell;
use crate::template::{Field, FieldType, ScalarType, Value};

/// Why a source value cannot become a field value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoerceError {
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
}

impl CoerceError {
    fn new(message: impl Into<String>) -> Self {
        CoerceError {
            message: message.into(),
            help: None,
        }
    }

    fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// The typed value of `cell` for `field`; `Ok(None)` when it counts as absent
/// (JSON null, or empty text).
#[inline]
pub fn coerce(cell: &Cell, field: &Field) -> Result<Option<FieldValue>, CoerceError> {
    // The most common case by far, a JSON integer for an int field, answered
    // here where the caller can inline it (what `json_scalar` would answer).
    if let (Cell::Json(Json::Number(n)), FieldType::Scalar(ScalarType::Int | ScalarType::Timestamp)) =
        (cell, &field.ty)
    {
        if let Some(i) = n.as_i64() {
            return Ok(Some(FieldValue::Scalar(Value::Int(i))));
        }
    }
    coerce_any(cell, field)
}

fn coerce_any(cell: &Cell, field: &Field) -> Result<Option<FieldValue>, CoerceError> {
    match cell {
        Cell::Json(Json::Null) => Ok(None),
        Cell::Text(text) if text.is_empty() => Ok(None),
        Cell::Json(json) => coerce_json(json, &field.ty).map(Some),
        Cell::Text(text) => coerce_text(text, &field.ty).map(Some),
    }
}

/// A text value (a CSV cell or a `map` result) for a field type.
pub fn coerce_text(text: &str, ty: &FieldType) -> Result<FieldValue, CoerceError> {
    match ty {
        FieldType::Scalar(scalar) => text_scalar(text, *scalar).map(FieldValue::Scalar),
        FieldType::Enum(_) => Ok(FieldValue::Scalar(Value::Str(text.to_owned()))),
        FieldType::List(_) => {
            let json: Json = serde_json::from_str(text).map_err(|e| {
                CoerceError::new(format!("expected a JSON array of objects: {e}"))
                    .help("in CSV, give list fields as JSON, e.g. [{\"type\":\"dept\",\"value\":\"HR\"}]")
            })?;
            coerce_json(&json, ty)
        }
    }
}

fn coerce_json(json: &Json, ty: &FieldType) -> Result<FieldValue, CoerceError> {
    match ty {
        FieldType::Scalar(scalar) => json_scalar(json, *scalar).map(FieldValue::Scalar),
        FieldType::Enum(_) => match json {
            Json::String(s) => Ok(FieldValue::Scalar(Value::Str(s.clone()))),
            other => Err(CoerceError::new(format!(
                "expected a string, found {}",
                json_kind(other)
            ))),
        },
        FieldType::List(fields) => coerce_list(json, fields),
    }
}

fn coerce_list(json: &Json, fields: &[Field]) -> Result<FieldValue, CoerceError> {
    let Json::Array(items) = json else {
        return Err(CoerceError::new(format!(
            "expected a list, found {}",
            json_kind(json)
        )));
    };
    let mut elements = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let Json::Object(object) = item else {
            return Err(CoerceError::new(format!(
                "element {index} is {}, expected an object",
                json_kind(item)
            )));
        };
        let mut element = Vec::with_capacity(object.len());
        for (key, value) in object {
            let Some(position) = fields.iter().position(|f| f.name == *key) else {
                let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
                return Err(
                    CoerceError::new(format!("element {index} has an unknown key {key:?}"))
                        .help(format!("elements take: {}", names.join(", "))),
                );
            };
            let field = &fields[position];
            match coerce(&Cell::Json(value.clone()), field) {
                Ok(Some(v)) => element.push((position, v)),
                Ok(None) => {}
                Err(e) => return Err(CoerceError::new(format!("element {index}, {key}: {}", e.message))),
            }
        }
        element.sort_by_key(|(position, _)| *position);
        elements.push(element);
    }
    Ok(FieldValue::List(elements))
}

fn json_scalar(json: &Json, scalar: ScalarType) -> Result<Value, CoerceError> {
    match (scalar, json) {
        (ScalarType::Int | ScalarType::Timestamp, Json::Number(n)) => {
            n.as_i64().map(Value::Int).ok_or_else(|| {
                let written = number_text(n);
                let error = CoerceError::new(format!("{written} is not a whole number Moodle accepts"));
                if written == "-0" {
                    error.help("Moodle refuses \"-0\"; write 0")
                } else {
                    error
                }
            })
        }
        (ScalarType::Float, Json::Number(n)) => n
            .as_f64()
            .map(Value::Float)
            .ok_or_else(|| CoerceError::new(format!("{n} is not a number"))),
        (ScalarType::Bool, Json::Bool(b)) => Ok(Value::Bool(*b)),
        (ScalarType::Bool, Json::Number(n)) => match n.as_i64() {
            Some(0) => Ok(Value::Bool(false)),
            Some(1) => Ok(Value::Bool(true)),
            _ => Err(CoerceError::new(format!("{} is not a boolean", number_text(n)))
                .help("use true/false or 1/0")),
        },
        (_, Json::String(s)) => text_scalar(s, scalar),
        // Text fields take JSON numbers as their decimal text (ids, phone numbers).
        (_, Json::Number(n)) if scalar.is_textual() => Ok(Value::Str(n.to_string())),
        (_, other) => Err(CoerceError::new(format!(
            "expected {}, found {}",
            expected(scalar),
            json_kind(other)
        ))),
    }
}

/// A JSON number as its writer most likely wrote it: serde_json keeps `-0`
/// as the float -0.0, which would print as "-0.0".
fn number_text(n: &serde_json::Number) -> String {
    match n.as_f64() {
        Some(f) if f == 0.0 && f.is_sign_negative() => "-0".to_owned(),
        _ => n.to_string(),
    }
}

fn text_scalar(text: &str, scalar: ScalarType) -> Result<Value, CoerceError> {
    match scalar {
        ScalarType::Int => parse_int(text).map(Value::Int),
        ScalarType::Timestamp => parse_timestamp(text).map(Value::Int),
        ScalarType::Float => text
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Value::Float)
            .ok_or_else(|| CoerceError::new(format!("{text:?} is not a number"))),
        ScalarType::Bool => parse_bool(text).map(Value::Bool),
        _ => Ok(Value::Str(text.to_owned())),
    }
}

/// Moodle's PARAM_INT accepts only canonical decimals: `007`, `+5`, ` 5`, `5.0` are rejected.
fn parse_int(text: &str) -> Result<i64, CoerceError> {
    crate::moodle::params::int(text).map_err(|r| CoerceError {
        message: r.message,
        // PHP's (int) cast turns any text into a number ("abc" → 0); only
        // suggest it where the text was a number written differently ("007").
        help: r
            .cleaned
            .filter(|_| {
                text.trim()
                    .starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+')
            })
            .map(|c| format!("Moodle would accept {c}")),
    })
}

fn parse_bool(text: &str) -> Result<bool, CoerceError> {
    match text.to_ascii_lowercase().as_str() {
        "1" | "true" => Ok(true),
        "0" | "false" => Ok(false),
        _ => Err(CoerceError::new(format!("{text:?} is not a boolean")).help("use 1, 0, true or false")),
    }
}

/// Unix seconds, or an ISO-8601 date (midnight UTC) or datetime (UTC unless an offset is given).
fn parse_timestamp(text: &str) -> Result<i64, CoerceError> {
    let numeric = !text.is_empty()
        && text
            .bytes()
            .enumerate()
            .all(|(i, b)| b.is_ascii_digit() || (i == 0 && b == b'-'));
    if numeric {
        return parse_int(text);
    }
    if let Ok(datetime) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(datetime.timestamp());
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(naive) = chrono::NaiveDateTime::parse_from_str(text, format) {
            return Ok(naive.and_utc().timestamp());
        }
    }
    if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date.and_hms_opt(0, 0, 0).map_or(0, |d| d.and_utc().timestamp()));
    }
    Err(CoerceError::new(format!("{text:?} is not a timestamp"))
        .help("give unix seconds (1767225600) or an ISO-8601 date (2026-01-01) or datetime (2026-01-01T09:00:00+01:00); times without an offset are UTC"))
}

fn expected(scalar: ScalarType) -> &'static str {
    match scalar {
        ScalarType::Int => "a whole number",
        ScalarType::Timestamp => "unix seconds or an ISO-8601 date",
        ScalarType::Float => "a number",
        ScalarType::Bool => "true/false or 1/0",
        _ => "a string",
    }
}

fn json_kind(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_minus_zero_is_refused_and_quoted_as_written() {
        let n: Json = serde_json::from_str("-0").expect("json");
        let error = json_scalar(&n, ScalarType::Int).expect_err("Moodle refuses -0");
        assert_eq!(error.message, "-0 is not a whole number Moodle accepts");
        assert!(error.help.is_some_and(|h| h.contains("write 0")));
        let n: Json = serde_json::from_str("1.5").expect("json");
        let error = json_scalar(&n, ScalarType::Int).expect_err("not whole");
        assert_eq!(error.message, "1.5 is not a whole number Moodle accepts");
    }

    #[test]
    fn timestamps_from_text() {
        assert_eq!(parse_timestamp("1767225600"), Ok(1_767_225_600));
        assert_eq!(parse_timestamp("2026-01-01"), Ok(1_767_225_600));
        assert_eq!(parse_timestamp("2026-01-01T01:00:00+01:00"), Ok(1_767_225_600));
        assert_eq!(parse_timestamp("2026-01-01T00:00:00Z"), Ok(1_767_225_600));
        assert_eq!(parse_timestamp("2026-01-01 00:00"), Ok(1_767_225_600));
        assert!(parse_timestamp("01/02/2026").is_err());
        assert!(parse_timestamp("2026-02-30").is_err());
    }

    #[test]
    fn csv_bools() {
        assert_eq!(parse_bool("TRUE"), Ok(true));
        assert_eq!(parse_bool("0"), Ok(false));
        assert!(parse_bool("yes").is_err());
    }
}
