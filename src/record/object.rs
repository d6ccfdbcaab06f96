//! One JSON object's text to fields in source order, with the span of each value.
//!
//! The object is parsed once: serde_json checks the syntax and hands each
//! value over as a `RawValue` borrowed from the text, whose address gives the
//! value's span for free. Each value is then turned into a `serde_json::Value`
//! (small scalars directly, without a second parser run). Keys are checked
//! for duplicates here, because a JSON map would silently keep only one.

use std::collections::HashSet;
use std::fmt;
use std::ops::Range;

use serde::de::{DeserializeSeed, Error as _, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::Value;

use super::input::is_json_whitespace;
use super::Cell;

/// The fields of an object and the span of each value in its text.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Object {
    pub(super) fields: Vec<(String, Cell)>,
    pub(super) spans: Vec<Option<Range<usize>>>,
}

/// Why an object's text is not a readable record, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Problem {
    pub(super) message: String,
    pub(super) span: Option<Range<usize>>,
}

/// Parse `text` (one JSON value, maybe with surrounding whitespace) as an object.
pub(super) fn parse(text: &str) -> Result<Object, Problem> {
    let mut object = Object::default();
    parse_into(text, &mut object.fields, &mut object.spans)?;
    Ok(object)
}

/// [`parse`] into `fields` and `spans`, reusing their buffers (and the key
/// and string buffers of the fields already there): what the fields of a
/// record read before this one held. On a problem their contents are
/// unspecified.
pub(super) fn parse_into(
    text: &str,
    fields: &mut Vec<(String, Cell)>,
    spans: &mut Vec<Option<Range<usize>>>,
) -> Result<(), Problem> {
    spans.clear();
    if let Some(count) = parse_plain(text, fields, spans) {
        fields.truncate(count);
        return Ok(());
    }
    let object = parse_any(text)?;
    *fields = object.fields;
    *spans = object.spans;
    Ok(())
}

/// The object in `text` when it is plain, as nearly every data record is:
/// keys and strings without escapes, values that are strings, numbers,
/// booleans or null, no key twice. Read in one pass, without serde's
/// machinery, it gives exactly what [`parse_any`] gives. `None` for
/// anything else (nested values, escapes, errors), which `parse_any` then
/// reads and reports on.
///
/// The fields are written over the first entries of `fields` (their key
/// and string buffers reused), the spans pushed to `spans` (empty): the
/// count of fields is returned, and the entries past it are stale.
fn parse_plain(
    text: &str,
    fields: &mut Vec<(String, Cell)>,
    spans: &mut Vec<Option<Range<usize>>>,
) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut at = skip_whitespace(bytes, 0);
    if bytes.get(at) != Some(&b'{') {
        return None;
    }
    at = skip_whitespace(bytes, at + 1);
    if bytes.get(at) == Some(&b'}') {
        return (skip_whitespace(bytes, at + 1) == bytes.len()).then_some(0);
    }
    let mut keys = Keys::default();
    let mut count = 0;
    loop {
        let key_end = plain_string_end(bytes, at)?;
        let key = &text[at + 1..key_end - 1];
        at = skip_whitespace(bytes, key_end);
        if bytes.get(at) != Some(&b':') {
            return None;
        }
        let start = skip_whitespace(bytes, at + 1);
        let end = plain_scalar_end(bytes, start)?;
        if !keys.insert(key, &fields[..count]) {
            return None;
        }
        let raw = &text[start..end];
        match fields.get_mut(count) {
            Some((old_key, cell)) => {
                value_into(raw, cell).ok()?;
                old_key.clear();
                old_key.push_str(key);
            }
            None => fields.push((key.to_owned(), Cell::Json(value(raw).ok()?))),
        }
        count += 1;
        spans.push(Some(start..end));
        at = skip_whitespace(bytes, end);
        match bytes.get(at) {
            Some(b',') => at = skip_whitespace(bytes, at + 1),
            Some(b'}') => return (skip_whitespace(bytes, at + 1) == bytes.len()).then_some(count),
            _ => return None,
        }
    }
}

/// Where the value starting at `start` ends, if it is a plain scalar and
/// what follows it can end a value; the text is checked only as far as
/// [`value`] relies on (it leaves other numbers to serde_json, which
/// rejects what is not JSON).
fn plain_scalar_end(bytes: &[u8], start: usize) -> Option<usize> {
    let end = match *bytes.get(start)? {
        b'"' => plain_string_end(bytes, start)?,
        b't' => literal_end(bytes, start, b"true")?,
        b'f' => literal_end(bytes, start, b"false")?,
        b'n' => literal_end(bytes, start, b"null")?,
        b'-' | b'0'..=b'9' => {
            let length = (bytes[start..].iter())
                .take_while(|b| matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                .count();
            let number = &bytes[start..start + length];
            // `value` reads all-digit numbers itself: JSON has no leading zeros.
            if number.len() > 1 && number[0] == b'0' && number.iter().all(u8::is_ascii_digit) {
                return None;
            }
            start + length
        }
        _ => return None,
    };
    match bytes.get(end) {
        None | Some(b',' | b'}') => Some(end),
        Some(&b) if is_json_whitespace(b) => Some(end),
        Some(_) => None,
    }
}

/// The end (past the closing quote) of the string starting at `start`, if
/// it has no escapes and no control characters (which JSON forbids).
fn plain_string_end(bytes: &[u8], start: usize) -> Option<usize> {
    if bytes.get(start) != Some(&b'"') {
        return None;
    }
    let length = bytes[start + 1..]
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
    let end = start + 1 + length;
    (bytes[end] == b'"').then_some(end + 1)
}

/// The end of `literal` if the text at `start` is it.
fn literal_end(bytes: &[u8], start: usize, literal: &[u8]) -> Option<usize> {
    bytes[start..]
        .starts_with(literal)
        .then_some(start + literal.len())
}

fn skip_whitespace(bytes: &[u8], mut at: usize) -> usize {
    while at < bytes.len() && is_json_whitespace(bytes[at]) {
        at += 1;
    }
    at
}

/// Parse any object with serde_json: the general path.
fn parse_any(text: &str) -> Result<Object, Problem> {
    let Some(open) = text.bytes().position(|b| !is_json_whitespace(b)) else {
        return Err(Problem {
            message: "no JSON value here".to_owned(),
            span: None,
        });
    };
    if text.as_bytes()[open] != b'{' {
        return Err(not_an_object(text, open));
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let parsed = Fields { text, open }
        .deserialize(&mut deserializer)
        .and_then(|parsed| {
            deserializer.end()?;
            Ok(parsed)
        });
    match parsed {
        Ok(Parsed {
            object,
            problem: None,
        }) => Ok(object),
        Ok(Parsed {
            problem: Some(problem),
            ..
        }) => Err(problem),
        Err(error) => Err(syntax_problem(text, &error)),
    }
}

/// The fields, or the first problem with them (duplicate key, number out of range).
struct Parsed {
    object: Object,
    problem: Option<Problem>,
}

/// A serde seed and visitor for the object in `text` whose `{` is at `open`.
struct Fields<'t> {
    text: &'t str,
    open: usize,
}

impl<'de> DeserializeSeed<'de> for Fields<'de> {
    type Value = Parsed;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Parsed, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Fields<'de> {
    type Value = Parsed;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Parsed, A::Error> {
        let mut object = Object::default();
        let mut keys = Keys::default();
        let mut problem = None;
        let mut previous_end = self.open + 1;
        while let Some(key) = map.next_key::<String>()? {
            let raw: &'de RawValue = map.next_value()?;
            let span =
                span_within(self.text, raw.get()).ok_or_else(|| A::Error::custom("value outside text"))?;
            if problem.is_none() {
                problem = self.take(key, raw.get(), span.clone(), previous_end, &mut keys, &mut object);
            }
            previous_end = span.end;
        }
        Ok(Parsed { object, problem })
    }
}

impl Fields<'_> {
    /// Add one entry to `object`, or say why it cannot be added.
    fn take(
        &self,
        key: String,
        raw: &str,
        span: Range<usize>,
        previous_end: usize,
        keys: &mut Keys,
        object: &mut Object,
    ) -> Option<Problem> {
        if !keys.insert(&key, &object.fields) {
            let start = key_start(self.text, previous_end);
            let message = format!("duplicate key `{key}` in one object (JSON would keep only one of them)");
            return Some(Problem {
                message,
                span: Some(start..span.end),
            });
        }
        match value(raw) {
            Ok(value) => {
                object.fields.push((key, Cell::Json(value)));
                object.spans.push(Some(span));
                None
            }
            Err(error) => Some(Problem {
                message: format!("`{key}`: {}", bare_message(&error)),
                span: Some(span),
            }),
        }
    }
}

/// The keys seen so far in one object: a scan of the fields while they are
/// few (the usual case, no hashing), a set once they are many.
#[derive(Default)]
struct Keys {
    set: Option<HashSet<String>>,
}

impl Keys {
    /// Fields past which a set beats a scan.
    const SCAN_LIMIT: usize = 32;

    /// Whether `key` is new (and note it); `fields` are those taken so far.
    fn insert(&mut self, key: &str, fields: &[(String, Cell)]) -> bool {
        if let Some(set) = &mut self.set {
            return set.insert(key.to_owned());
        }
        if fields.iter().any(|(k, _)| k == key) {
            return false;
        }
        if fields.len() >= Self::SCAN_LIMIT {
            let mut set: HashSet<String> = fields.iter().map(|(k, _)| k.clone()).collect();
            set.insert(key.to_owned());
            self.set = Some(set);
        }
        true
    }
}

/// `cell` set to [`value`] of `raw`, reusing its string's buffer when both are strings.
fn value_into(raw: &str, cell: &mut Cell) -> Result<(), serde_json::Error> {
    let bytes = raw.as_bytes();
    if let (Cell::Json(Value::String(old)), Some(b'"')) = (&mut *cell, bytes.first()) {
        if bytes.len() >= 2 && !bytes.contains(&b'\\') {
            old.clear();
            old.push_str(&raw[1..raw.len() - 1]);
            return Ok(());
        }
    }
    *cell = Cell::Json(value(raw)?);
    Ok(())
}

/// The JSON value of a raw value that serde_json has already checked.
///
/// Strings without escapes, `true`/`false`/`null` and non-negative integers
/// (nearly every value of a data record) are built directly; anything else
/// goes through serde_json, which also reports numbers out of range.
fn value(raw: &str) -> Result<Value, serde_json::Error> {
    let bytes = raw.as_bytes();
    match bytes.first() {
        Some(b'"') if bytes.len() >= 2 && !bytes.contains(&b'\\') => {
            return Ok(Value::String(raw[1..raw.len() - 1].to_owned()));
        }
        Some(b't') => return Ok(Value::Bool(true)),
        Some(b'f') => return Ok(Value::Bool(false)),
        Some(b'n') => return Ok(Value::Null),
        Some(b'0'..=b'9') if bytes.iter().all(u8::is_ascii_digit) => {
            if let Ok(n) = raw.parse::<u64>() {
                return Ok(Value::from(n));
            }
        }
        _ => {}
    }
    serde_json::from_str(raw)
}

/// The byte range of `part` (a slice of `text`) within `text`.
fn span_within(text: &str, part: &str) -> Option<Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
    let end = start + part.len();
    (end <= text.len()).then_some(start..end)
}

/// Where the key after `previous_end` starts (past whitespace and a comma).
fn key_start(text: &str, previous_end: usize) -> usize {
    let bytes = text.as_bytes();
    let mut at = previous_end;
    while at < bytes.len() && (is_json_whitespace(bytes[at]) || bytes[at] == b',') {
        at += 1;
    }
    at
}

/// The problem with a value that does not start with `{`.
fn not_an_object(text: &str, start: usize) -> Problem {
    if let Err(error) = serde_json::from_str::<IgnoredAny>(text) {
        return syntax_problem(text, &error);
    }
    let kind = match text.as_bytes()[start] {
        b'[' => "an array",
        b'"' => "a string",
        b't' | b'f' => "a boolean",
        b'n' => "null",
        _ => "a number",
    };
    let end = text
        .trim_end_matches(|c: char| c.is_ascii() && is_json_whitespace(c as u8))
        .len();
    Problem {
        message: format!("a record must be a JSON object `{{...}}`, this is {kind}"),
        span: Some(start..end.max(start)),
    }
}

/// A problem from a serde_json syntax error, pointing at the character it names.
fn syntax_problem(text: &str, error: &serde_json::Error) -> Problem {
    let message = match error.classify() {
        serde_json::error::Category::Eof => format!("incomplete JSON: {}", bare_message(error)),
        _ => format!("malformed JSON: {}", bare_message(error)),
    };
    Problem {
        message,
        span: char_span(text, offset_of(text, error.line(), error.column())),
    }
}

/// The error's message without serde_json's " at line L column C" (the span
/// says where).
fn bare_message(error: &serde_json::Error) -> String {
    let full = error.to_string();
    let position = format!(" at line {} column {}", error.line(), error.column());
    full.strip_suffix(&position).map_or(full.clone(), str::to_owned)
}

/// The byte offset of serde_json's 1-based line and byte column in `text`.
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let line_start = if line <= 1 {
        0
    } else {
        text.match_indices('\n')
            .nth(line - 2)
            .map_or(text.len(), |(i, _)| i + 1)
    };
    line_start + column.saturating_sub(1)
}

/// The span of the character at `offset` (the last character when past the end).
fn char_span(text: &str, offset: usize) -> Option<Range<usize>> {
    if text.is_empty() {
        return None;
    }
    let mut start = offset.min(text.len() - 1);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let width = text[start..].chars().next().map_or(1, char::len_utf8);
    Some(start..start + width)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(text: &str) -> Vec<(String, Value)> {
        parse(text)
            .unwrap()
            .fields
            .into_iter()
            .map(|(k, c)| match c {
                Cell::Json(v) => (k, v),
                Cell::Text(_) => unreachable!(),
            })
            .collect()
    }

    fn problem(text: &str) -> (String, String) {
        let p = parse(text).unwrap_err();
        (p.message, text[p.span.unwrap()].to_owned())
    }

    #[test]
    fn keeps_order_and_values() {
        let got = fields(
            r#"{"z":1,"a":"x","m":[1,{"b":null}],"f":-1.5,"t":true,"e":"a\"b","big":18446744073709551616}"#,
        );
        let keys: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["z", "a", "m", "f", "t", "e", "big"]);
        assert_eq!(got[0].1, json!(1));
        assert_eq!(got[1].1, json!("x"));
        assert_eq!(got[2].1, json!([1, {"b": null}]));
        assert_eq!(got[3].1, json!(-1.5));
        assert_eq!(got[4].1, json!(true));
        assert_eq!(got[5].1, json!("a\"b"));
        assert_eq!(got[6].1, json!(18446744073709551616.0));
    }

    #[test]
    fn spans_point_at_values() {
        let text = r#"  { "username" : "jdoe", "id":12 ,"tags":[1, 2] }  "#;
        let object = parse(text).unwrap();
        let shown: Vec<&str> = object.spans.iter().map(|s| &text[s.clone().unwrap()]).collect();
        assert_eq!(shown, ["\"jdoe\"", "12", "[1, 2]"]);
    }

    #[test]
    fn scalars_match_serde_json() {
        for raw in [
            "0",
            "7",
            "-0",
            "-3",
            "1e3",
            "1.0",
            "\"\"",
            "\"\\u00e9\"",
            "\"é\"",
            "true",
            "false",
            "null",
        ] {
            assert_eq!(
                value(raw).unwrap(),
                serde_json::from_str::<Value>(raw).unwrap(),
                "{raw}"
            );
        }
    }

    #[test]
    fn duplicate_key_points_at_the_second_entry() {
        let (message, shown) = problem(r#"{"a":1, "b":2,  "a" : 3}"#);
        assert!(message.contains("duplicate key `a`"), "{message}");
        assert_eq!(shown, r#""a" : 3"#);
    }

    #[test]
    fn many_keys_still_catch_duplicates() {
        let mut text: String = (0..100).map(|i| format!("\"k{i}\":{i},")).collect();
        text = format!("{{{text}\"k5\":0}}");
        assert!(problem(&text).0.contains("duplicate key `k5`"));
        assert_eq!(fields(&text.replace("\"k5\":0", "\"k100\":0")).len(), 101);
    }

    #[test]
    fn not_an_object() {
        assert_eq!(problem("[1,2]").1, "[1,2]");
        assert!(problem(" 5 ").0.contains("this is a number"));
        assert!(problem("\"x\"").0.contains("this is a string"));
    }

    #[test]
    fn syntax_errors_point_at_the_spot() {
        let (message, shown) = problem(r#"{"a":1,"b" 2}"#);
        assert!(message.starts_with("malformed JSON: expected `:`"), "{message}");
        assert_eq!(shown, "2");
        let (message, shown) = problem(r#"{"a":1"#);
        assert!(message.starts_with("incomplete JSON"), "{message}");
        assert_eq!(shown, "1");
        let (_, shown) = problem(r#"{"a":1} x"#);
        assert_eq!(shown, "x");
        let (message, shown) = problem("{\"a\":1,\n\"b\":tru}");
        assert!(message.contains("expected ident"), "{message}");
        assert_eq!(shown, "}");
    }

    #[test]
    fn plain_objects_read_as_serde_reads_them() {
        let plain = [
            r#"{"userid":123,"courseid":45,"roleid":5}"#,
            " \t{ \"a\" : \"x y\" ,\"b\":true,\"c\":false,\"d\":null , \"e\":0}\r ",
            r#"{}"#,
            r#"{ }"#,
            r#"{"":""}"#,
            r#"{"n":-3,"f":1.5,"g":-0,"h":1e3,"i":2E-2,"big":18446744073709551616}"#,
            r#"{"é":"ü€","k":"<b>&amp;</b>"}"#,
        ];
        for text in plain {
            let fast = plain_object(text).unwrap_or_else(|| panic!("plain: {text}"));
            assert_eq!(fast, parse_any(text).unwrap(), "{text}");
        }
        // Parsed over the buffers of the records before, in both orders.
        let mut reused = Object::default();
        for text in plain.iter().chain(plain.iter().rev()) {
            parse_into(text, &mut reused.fields, &mut reused.spans).unwrap();
            assert_eq!(reused, parse_any(text).unwrap(), "{text}");
        }
        let not_plain = [
            r#"{"a":"x\"y"}"#,
            r#"{"a\u0062":1}"#,
            r#"{"a":[1]}"#,
            r#"{"a":{"b":1}}"#,
            r#"{"a":1,"a":2}"#,
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":-}"#,
            r#"{"a":1e999}"#,
            r#"{"a":tru}"#,
            r#"{"a":truex}"#,
            r#"{"a":1,}"#,
            r#"{"a" 1}"#,
            r#"{"a":1} x"#,
            r#"{"a":1"#,
            "{\"a\":\"tab\there\"}",
            r#"[1]"#,
            "",
        ];
        for text in not_plain {
            assert_eq!(plain_object(text), None, "{text}");
        }
        // The general path after a plain record, and a plain one after that.
        let mut reused = Object::default();
        for text in [
            plain[0],
            r#"{"a":[1],"b":"x\"y"}"#,
            plain[1],
            r#"{"a":{"b":1}}"#,
            plain[0],
        ] {
            parse_into(text, &mut reused.fields, &mut reused.spans).unwrap();
            assert_eq!(reused, parse_any(text).unwrap(), "{text}");
        }
    }

    fn plain_object(text: &str) -> Option<Object> {
        let mut object = Object::default();
        let count = parse_plain(text, &mut object.fields, &mut object.spans)?;
        assert_eq!(count, object.fields.len());
        Some(object)
    }

    #[test]
    fn number_out_of_range_is_the_value_problem() {
        let (message, shown) = problem(r#"{"n":1e999}"#);
        assert!(message.starts_with("`n`: number out of range"), "{message}");
        assert_eq!(shown, "1e999");
    }
}
