//! Source values to typed field values, per field type.
//!
//! JSON values are typed already; CSV cells (and `map` results) are text and
//! are converted as the issue prescribes: ints as decimals, bools as
//! 0/1/true/false, timestamps from unix seconds or ISO-8601, lists as JSON.
//! Moodle's own acceptance of the result is checked afterwards.

use crate::diagnostic::Code;
use serde_json::Value as Json;

use crate::form::FieldValue;
use crate::record::Cell;
use crate::template::{DefaultValue, Field, FieldType, ScalarType, Value};

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
    // Scalars, nearly every value: straight to their type.
    match (cell, &field.ty) {
        (Cell::Json(Json::Null), _) => return Ok(None),
        (Cell::Text(text), _) if text.is_empty() => return Ok(None),
        (Cell::Json(json), FieldType::Scalar(scalar)) => {
            return json_scalar(json, *scalar).map(|v| Some(FieldValue::Scalar(v)))
        }
        (Cell::Text(text), ty) if !ty.is_structure() => return coerce_text(text, ty).map(Some),
        _ => {}
    }
    coerce_all(cell, field, &|_| None).map_err(|mut errors| {
        let (path, error) = errors.swap_remove(0);
        if path.is_empty() {
            error
        } else {
            CoerceError {
                message: format!("`{}{path}`: {}", field.name, error.message),
                help: error.help,
            }
        }
    })
}

/// The value of a param a default names (`default param.NAME`), if it has one.
pub type ParamDefault<'a> = &'a dyn Fn(&str) -> Option<Value>;

/// The typed value of `cell` for `field`, with every problem inside a
/// structure: each error with its path below the field (`[2]`, `.type`,
/// `[0].cohorttype.type`; empty for the field itself). Fields inside
/// structures get their defaults (`param` ones from `param`).
///
/// # Errors
/// Every value that does not fit its type, and every unknown key of a structure.
pub fn coerce_all(
    cell: &Cell,
    field: &Field,
    param: ParamDefault<'_>,
) -> Result<Option<FieldValue>, Vec<(String, CoerceError)>> {
    let json = match cell {
        Cell::Json(Json::Null) => return Ok(None),
        Cell::Text(text) if text.is_empty() => return Ok(None),
        Cell::Json(json) => std::borrow::Cow::Borrowed(json),
        Cell::Text(text) => {
            if !field.ty.is_structure() {
                return coerce_text(text, &field.ty)
                    .map(Some)
                    .map_err(|e| vec![(String::new(), e)]);
            }
            std::borrow::Cow::Owned(structure_text(text, &field.ty).map_err(|e| vec![(String::new(), e)])?)
        }
    };
    let mut errors = Vec::new();
    let mut path = String::new();
    let value = Nested {
        param,
        errors: &mut errors,
    }
    .json(&json, &field.ty, &mut path);
    if errors.is_empty() {
        Ok(value)
    } else {
        Err(errors)
    }
}

/// A structure given as text (a CSV cell, a `map` result): JSON.
fn structure_text(text: &str, ty: &FieldType) -> Result<Json, CoerceError> {
    serde_json::from_str(text).map_err(|e| {
        let (what, example) = match ty {
            FieldType::Object(_) => ("a JSON object", "{\"type\":\"idnumber\",\"value\":\"C1\"}"),
            FieldType::Values(_) => ("a JSON array", "[5, 7]"),
            _ => (
                "a JSON array of objects",
                "[{\"type\":\"dept\",\"value\":\"HR\"}]",
            ),
        };
        CoerceError::new(format!("expected {what}: {e}")).help(format!(
            "a CSV cell (or a map) gives a structure as JSON, e.g. {example}"
        ))
    })
}

/// A text value (a CSV cell or a `map` result) for a field type.
pub fn coerce_text(text: &str, ty: &FieldType) -> Result<FieldValue, CoerceError> {
    match ty {
        FieldType::Scalar(scalar) => text_scalar(text, *scalar).map(FieldValue::Scalar),
        FieldType::Enum(_) => Ok(FieldValue::Scalar(Value::Str(text.to_owned()))),
        FieldType::List(_) | FieldType::Object(_) | FieldType::Values(_) => {
            let json = structure_text(text, ty)?;
            let mut errors = Vec::new();
            let value = Nested {
                param: &|_| None,
                errors: &mut errors,
            }
            .json(&json, ty, &mut String::new());
            match (value, errors.into_iter().next()) {
                (_, Some((path, error))) if path.is_empty() => Err(error),
                (_, Some((path, error))) => Err(CoerceError {
                    message: format!("`{}`: {}", path.trim_start_matches('.'), error.message),
                    help: error.help,
                }),
                (Some(value), None) => Ok(value),
                (None, None) => Err(CoerceError::new("expected a value, found null")),
            }
        }
    }
}

/// Coerces JSON values into structures, collecting every error with its path.
struct Nested<'a, 'p> {
    param: ParamDefault<'p>,
    errors: &'a mut Vec<(String, CoerceError)>,
}

impl Nested<'_, '_> {
    fn fail(&mut self, path: &str, error: CoerceError) -> Option<FieldValue> {
        self.errors.push((path.to_owned(), error));
        None
    }

    /// `json` as a value of `ty`; `None` for null (absent) or on error.
    fn json(&mut self, json: &Json, ty: &FieldType, path: &mut String) -> Option<FieldValue> {
        if json.is_null() {
            return None;
        }
        match ty {
            FieldType::Scalar(scalar) => match json_scalar(json, *scalar) {
                Ok(value) => Some(FieldValue::Scalar(value)),
                Err(error) => self.fail(path, error),
            },
            FieldType::Enum(_) => match json {
                Json::String(s) => Some(FieldValue::Scalar(Value::Str(s.clone()))),
                other => self.fail(
                    path,
                    CoerceError::new(format!("expected a string, found {}", json_kind(other))),
                ),
            },
            FieldType::Object(fields) => self.object(json, fields, path).map(FieldValue::Object),
            FieldType::List(fields) => {
                let items = self.array(json, "a list of objects", path)?;
                let base = path.len();
                let mut elements = Vec::with_capacity(items.len());
                for (index, item) in items.iter().enumerate() {
                    push_index(path, index);
                    if let Some(element) = self.object(item, fields, path) {
                        elements.push(element);
                    }
                    path.truncate(base);
                }
                Some(FieldValue::List(elements))
            }
            FieldType::Values(inner) => {
                let items = self.array(json, "a list", path)?;
                let base = path.len();
                let mut values = Vec::with_capacity(items.len());
                for (index, item) in items.iter().enumerate() {
                    push_index(path, index);
                    match self.json(item, inner, path) {
                        Some(value) => values.push(value),
                        // Moodle has no null element: a list's elements are all sent.
                        None if item.is_null() => {
                            self.fail(path, CoerceError::new("a list element cannot be null"));
                        }
                        None => {}
                    }
                    path.truncate(base);
                }
                Some(FieldValue::Values(values))
            }
        }
    }

    fn array<'j>(&mut self, json: &'j Json, what: &str, path: &str) -> Option<&'j Vec<Json>> {
        match json {
            Json::Array(items) => Some(items),
            other => {
                self.fail(
                    path,
                    CoerceError::new(format!("expected {what}, found {}", json_kind(other))),
                );
                None
            }
        }
    }

    /// A structure's values by position, its fields' defaults filled in.
    fn object(
        &mut self,
        json: &Json,
        fields: &[Field],
        path: &mut String,
    ) -> Option<Vec<(usize, FieldValue)>> {
        let Json::Object(object) = json else {
            self.fail(
                path,
                CoerceError::new(format!("expected an object, found {}", json_kind(json))),
            );
            return None;
        };
        let base = path.len();
        let mut values = Vec::with_capacity(fields.len());
        let errors_before = self.errors.len();
        for (key, value) in object {
            let Some(position) = fields.iter().position(|f| f.name == *key) else {
                let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
                self.fail(
                    path,
                    CoerceError::new(format!("unknown key {key:?}"))
                        .help(format!("the keys here are: {}", names.join(", "))),
                );
                continue;
            };
            path.push('.');
            path.push_str(key);
            if let Some(value) = self.json(value, &fields[position].ty, path) {
                values.push((position, value));
            }
            path.truncate(base);
        }
        for (position, field) in fields.iter().enumerate() {
            if values.iter().any(|(p, _)| *p == position) {
                continue;
            }
            if let Some(value) = default_value(field, self.param) {
                values.push((position, value));
            }
        }
        values.sort_by_key(|(position, _)| *position);
        (self.errors.len() == errors_before).then_some(values)
    }
}

/// For a structure that did not coerce: the problems of its parts that did
/// (Moodle's checks, constraints, missing required fields), each at its
/// path, so that a record reports all its problems at once. `field` is the
/// top-level field, `json` its value.
pub(super) fn partial_problems(json: &Json, field: &Field) -> Vec<super::Violation> {
    let mut found = Vec::new();
    let mut path = field.name.clone();
    partial(json, field, &field.name, &mut path, &mut found);
    found
}

fn partial(json: &Json, field: &Field, top: &str, path: &mut String, found: &mut Vec<super::Violation>) {
    let base = path.len();
    match &field.ty {
        FieldType::Scalar(_) | FieldType::Enum(_) => {
            let mut errors = Vec::new();
            let value = Nested {
                param: &|_| None,
                errors: &mut errors,
            }
            .json(json, &field.ty, &mut String::new());
            if let Some(FieldValue::Scalar(value)) = value {
                if let Err(mut violation) = super::check_scalar(field, &value, path) {
                    violation.field = Some(top.to_owned());
                    found.push(violation);
                }
            }
        }
        FieldType::Object(fields) => partial_object(json, fields, top, path, found),
        FieldType::List(fields) => {
            for (index, item) in json.as_array().into_iter().flatten().enumerate() {
                push_index(path, index);
                partial_object(item, fields, top, path, found);
                path.truncate(base);
            }
        }
        FieldType::Values(inner) => {
            let element = Field {
                ty: (**inner).clone(),
                ..field.clone()
            };
            for (index, item) in json.as_array().into_iter().flatten().enumerate() {
                push_index(path, index);
                partial(item, &element, top, path, found);
                path.truncate(base);
            }
        }
    }
}

fn partial_object(
    json: &Json,
    fields: &[Field],
    top: &str,
    path: &mut String,
    found: &mut Vec<super::Violation>,
) {
    let Json::Object(object) = json else {
        return;
    };
    let base = path.len();
    for field in fields {
        match object.get(&field.name) {
            Some(value) if !value.is_null() => {
                path.push('.');
                path.push_str(&field.name);
                partial(value, field, top, path, found);
                path.truncate(base);
            }
            _ if field.required && field.default.is_none() && default_value(field, &|_| None).is_none() => {
                found.push(
                    super::Violation::new(
                        Code::MissingRequired,
                        Some(top),
                        format!("missing required field `{path}.{}`", field.name),
                    )
                    .help(Some(format!("{} ({})", field.doc_or_type(), field.ty))),
                )
            }
            _ => {}
        }
    }
}

/// The value a field inside a structure takes when the structure lacks it:
/// its default, or for a `required` structure, one built from its fields' defaults.
pub fn default_value(field: &Field, param: ParamDefault<'_>) -> Option<FieldValue> {
    match &field.default {
        Some(DefaultValue::Value(value)) => return Some(FieldValue::Scalar(value.clone())),
        Some(DefaultValue::Param(name)) => return param(name).map(FieldValue::Scalar),
        None => {}
    }
    match &field.ty {
        FieldType::Object(fields) if field.required => {
            let values: Vec<(usize, FieldValue)> = fields
                .iter()
                .enumerate()
                .filter_map(|(position, inner)| Some((position, default_value(inner, param)?)))
                .collect();
            (!values.is_empty()).then_some(FieldValue::Object(values))
        }
        _ => None,
    }
}

fn push_index(path: &mut String, index: usize) {
    path.push('[');
    path.push_str(itoa::Buffer::new().format(index));
    path.push(']');
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
