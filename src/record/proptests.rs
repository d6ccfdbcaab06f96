//! Property tests across the readers: what is written reads back the same,
//! in order, with spans on the values; and no input makes a reader panic.

use proptest::prelude::*;
use serde_json::Value;

use super::{from_reader, Cell, InputFormat, ReadError, SourceRecord};

fn read(bytes: Vec<u8>, format: InputFormat, max: usize) -> Vec<Result<SourceRecord, ReadError>> {
    from_reader(std::io::Cursor::new(bytes), "prop", format, max).collect()
}

/// Any JSON value, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        any::<String>().prop_map(Value::from),
        "[a-z ]{0,6}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((any::<String>(), inner), 0..4)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

/// An object's entries with distinct keys, in a chosen order.
fn object() -> impl Strategy<Value = Vec<(String, Value)>> {
    prop::collection::vec((prop_oneof![any::<String>(), "[a-z]{1,8}"], json_value()), 0..6).prop_map(
        |mut entries| {
            let mut seen = std::collections::HashSet::new();
            entries.retain(|(k, _)| seen.insert(k.clone()));
            entries
        },
    )
}

/// The object's text, with `gap` between its tokens.
fn object_text(entries: &[(String, Value)], gap: &str) -> String {
    let parts: Vec<String> = entries
        .iter()
        .map(|(k, v)| format!("{}{gap}:{gap}{}", Value::from(k.as_str()), v))
        .collect();
    format!("{{{gap}{}{gap}}}", parts.join(&format!("{gap},{gap}")))
}

/// The value serde_json reads back from the value's own text (floats may
/// not round-trip exactly, and the reader must agree with serde_json).
fn reparsed(value: &Value) -> Value {
    serde_json::from_str(&value.to_string()).unwrap()
}

/// Check a record read from `entries`: keys, values, order, spans.
fn check_record(record: &SourceRecord, entries: &[(String, Value)]) -> Result<(), TestCaseError> {
    prop_assert_eq!(record.fields.len(), entries.len());
    prop_assert_eq!(record.spans.len(), entries.len());
    for ((key, cell), ((want_key, want), span)) in record.fields.iter().zip(entries.iter().zip(&record.spans))
    {
        prop_assert_eq!(key, want_key);
        let want = reparsed(want);
        prop_assert_eq!(cell, &Cell::Json(want.clone()));
        let span = span.clone().expect("a span for every JSON value");
        prop_assert_eq!(serde_json::from_str::<Value>(&record.raw[span]).unwrap(), want);
    }
    Ok(())
}

/// Invariants of any stream: numbers count up from 1, spans fall inside
/// the text on character boundaries.
fn check_stream(items: &[Result<SourceRecord, ReadError>]) -> Result<(), TestCaseError> {
    let mut expected = 1;
    for item in items {
        let (number, line) = match item {
            Ok(r) => {
                for span in r.spans.iter().flatten() {
                    prop_assert!(
                        r.raw.get(span.clone()).is_some(),
                        "span {:?} of {:?}",
                        span,
                        r.raw
                    );
                }
                (r.number, r.line)
            }
            Err(e) => {
                if let (Some(raw), Some(span)) = (&e.raw, &e.span) {
                    prop_assert!(raw.get(span.clone()).is_some(), "span {:?} of {:?}", span, raw);
                }
                if e.number == 0 {
                    continue; // a CSV header problem
                }
                (e.number, e.line)
            }
        };
        prop_assert_eq!(number, expected);
        prop_assert!(line >= 1);
        expected += 1;
    }
    Ok(())
}

proptest! {
    #[test]
    fn ndjson_reads_back(objects in prop::collection::vec(object(), 0..8), crlf: bool, blank: bool) {
        let end = if crlf { "\r\n" } else { "\n" };
        let mut text = String::new();
        let mut lines = Vec::new();
        let mut line = 1;
        for entries in &objects {
            if blank {
                text.push_str(end);
                line += 1;
            }
            lines.push(line);
            text.push_str(&object_text(entries, ""));
            text.push_str(end);
            line += 1;
        }
        let items = read(text.into_bytes(), InputFormat::Ndjson, 1 << 20);
        check_stream(&items)?;
        prop_assert_eq!(items.len(), objects.len());
        for ((item, entries), line) in items.iter().zip(&objects).zip(lines) {
            let record = item.as_ref().map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(record.line, line);
            check_record(record, entries)?;
        }
    }

    #[test]
    fn json_array_reads_back(objects in prop::collection::vec(object(), 0..8), gap in "[ \n]{0,2}") {
        let texts: Vec<String> = objects.iter().map(|e| object_text(e, &gap)).collect();
        let text = format!("[{gap}{}{gap}]", texts.join(&format!("{gap},{gap}")));
        // Each element starts on the line after all the newlines before it.
        let mut starts = Vec::new();
        let mut offset = 1 + gap.len();
        for element in &texts {
            starts.push(1 + text[..offset].matches('\n').count() as u64);
            offset += element.len() + 2 * gap.len() + 1;
        }
        let items = read(text.clone().into_bytes(), InputFormat::JsonArray, 1 << 20);
        check_stream(&items)?;
        prop_assert_eq!(items.len(), objects.len());
        for (((item, entries), line), element) in items.iter().zip(&objects).zip(starts).zip(&texts) {
            let record = item.as_ref().map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(record.line, line);
            prop_assert_eq!(&record.raw, element);
            check_record(record, entries)?;
        }
    }

    #[test]
    fn csv_reads_back(
        columns in 1usize..5,
        rows in prop::collection::vec(prop::collection::vec(any::<String>(), 1..6), 0..6),
        crlf: bool,
    ) {
        let end = if crlf { "\r\n" } else { "\n" };
        let header: Vec<String> = (0..columns).map(|i| format!("c{i}")).collect();
        let mut text = format!("{}{end}", header.join(","));
        let mut lines = Vec::new();
        let rows: Vec<Vec<String>> = rows.into_iter().map(|mut r| { r.truncate(columns); r }).collect();
        for row in &rows {
            lines.push(1 + text.matches('\n').count() as u64);
            let cells: Vec<String> = row.iter().map(|c| csv_cell(c)).collect();
            text.push_str(&cells.join(","));
            text.push_str(end);
        }
        let items = read(text.into_bytes(), InputFormat::Csv, 1 << 20);
        check_stream(&items)?;
        prop_assert_eq!(items.len(), rows.len());
        for ((item, row), line) in items.iter().zip(&rows).zip(lines) {
            let record = item.as_ref().map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(record.line, line);
            let want: Vec<(String, Cell)> = row
                .iter()
                .enumerate()
                .filter(|(_, c)| !c.is_empty())
                .map(|(i, c)| (header[i].clone(), Cell::Text(c.clone())))
                .collect();
            prop_assert_eq!(&record.fields, &want);
            for ((_, cell), span) in record.fields.iter().zip(&record.spans) {
                let shown = &record.raw[span.clone().expect("a span for every cell")];
                prop_assert_eq!(shown, csv_cell(match cell { Cell::Text(t) => t, Cell::Json(_) => unreachable!() }));
            }
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400), max in 1usize..64) {
        for format in [InputFormat::Ndjson, InputFormat::JsonArray, InputFormat::Csv] {
            check_stream(&read(bytes.clone(), format, max))?;
            check_stream(&read(bytes.clone(), format, 1 << 20))?;
        }
    }

    #[test]
    fn json_like_bytes_never_panic(
        bytes in prop::collection::vec(prop::sample::select(b"{}[]\",:\\ \n\r a1\xC3\xA9\xFF".to_vec()), 0..400),
        max in 1usize..64,
    ) {
        for format in [InputFormat::Ndjson, InputFormat::JsonArray, InputFormat::Csv] {
            check_stream(&read(bytes.clone(), format, max))?;
            check_stream(&read(bytes.clone(), format, 1 << 20))?;
        }
    }
}

/// A cell as a CSV writer writes it: quoted when it must be (or is empty,
/// so a one-column row is never a blank line).
fn csv_cell(cell: &str) -> String {
    if cell.is_empty() || cell.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_owned()
    }
}
