//! A top-level JSON array of objects, streamed element by element.
//!
//! Deserializing the array would hold the whole file in memory. Instead the
//! element boundaries are found by a byte scanner that tracks strings,
//! escapes and nesting ([`Scan`]); each element's text is then parsed alone
//! like an NDJSON line. So a malformed element is just that record's error
//! as long as its end can be found; when it cannot (an unclosed string or
//! bracket runs to the end of the input) one error says so and reading stops.

use super::input::{is_json_whitespace, Input};
use super::object;
use super::{ReadError, SourceRecord};

/// Where the reader is in the array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Before the opening `[`.
    Start,
    /// Inside the array, before an element; `after_comma` once one ended with `,`.
    Elements { after_comma: bool },
    /// After the closing `]`: only whitespace may follow.
    Closed,
    /// Nothing more to read.
    Done,
}

/// The column after `bytes`, read from `column`: 1 after a line end, one
/// more per character (UTF-8 continuation bytes are not characters).
fn next_column(column: u64, bytes: &[u8]) -> u64 {
    let (start, after) = match bytes.iter().rposition(|b| *b == b'\n') {
        Some(newline) => (1, &bytes[newline + 1..]),
        None => (column, bytes),
    };
    start + after.iter().filter(|b| (**b & 0xC0) != 0x80).count() as u64
}

/// Reads the elements of a JSON array from an [`Input`].
pub(super) struct ArrayReader {
    pub(super) input: Input,
    max_record_bytes: usize,
    /// The element being read, reused from element to element.
    buf: Vec<u8>,
    /// The line of the next byte (1-based).
    line: u64,
    /// The column of the next byte (1-based, in characters).
    column: u64,
    /// Records read so far, including unreadable ones.
    records: u64,
    phase: Phase,
}

impl ArrayReader {
    pub(super) fn new(input: Input, max_record_bytes: usize) -> Self {
        ArrayReader {
            input,
            max_record_bytes,
            buf: Vec::new(),
            line: 1,
            column: 1,
            records: 0,
            phase: Phase::Start,
        }
    }

    /// The next element as a record.
    pub(super) fn next_record(&mut self) -> Option<Result<SourceRecord, ReadError>> {
        loop {
            let next = match self.phase {
                Phase::Done => return None,
                _ => match self.skip_whitespace() {
                    Ok(next) => next,
                    Err(error) => return Some(self.io_failure(error)),
                },
            };
            match (self.phase, next) {
                (Phase::Start, None) | (Phase::Closed, None) | (Phase::Done, _) => {
                    self.phase = Phase::Done;
                    return None;
                }
                (Phase::Start, Some(b'[')) => {
                    self.input.consume(1);
                    self.column += 1;
                    self.phase = Phase::Elements { after_comma: false };
                }
                (Phase::Start, Some(_)) => return Some(self.stop(NOT_AN_ARRAY)),
                (Phase::Closed, Some(_)) => return Some(self.stop(TEXT_AFTER_ARRAY)),
                (Phase::Elements { .. }, None) => return Some(self.stop(UNCLOSED_ARRAY)),
                (Phase::Elements { after_comma }, Some(b']')) => {
                    self.input.consume(1);
                    self.column += 1;
                    self.phase = Phase::Closed;
                    if after_comma {
                        return Some(self.error("a comma before `]` ends the array: remove it"));
                    }
                }
                (Phase::Elements { .. }, Some(b',')) => {
                    self.input.consume(1);
                    self.column += 1;
                    self.phase = Phase::Elements { after_comma: true };
                    return Some(self.error("an empty element: two commas in a row"));
                }
                (Phase::Elements { .. }, Some(_)) => return Some(self.element()),
            }
        }
    }

    /// Read the element that starts at the next byte, up to its `,` or `]`.
    fn element(&mut self) -> Result<SourceRecord, ReadError> {
        self.records += 1;
        let (number, line, column) = (self.records, self.line, self.column);
        self.buf.clear();
        let mut scan = Scan::default();
        let mut too_long = false;
        let terminator = loop {
            let chunk = match self.input.fill() {
                Ok(chunk) => chunk,
                Err(error) => {
                    self.phase = Phase::Done;
                    return Err(self.input.fail(error, number, line));
                }
            };
            if chunk.is_empty() {
                break None;
            }
            let (end, newlines) = scan.find_end(chunk);
            let part = &chunk[..end.unwrap_or(chunk.len())];
            too_long = too_long || self.buf.len() + part.len() > self.max_record_bytes;
            if !too_long {
                self.buf.extend_from_slice(part);
            }
            self.line += newlines;
            let used = end.map_or(chunk.len(), |i| i + 1);
            self.column = next_column(self.column, &chunk[..used]);
            let terminator = end.map(|i| chunk[i]);
            self.input.consume(used);
            if terminator.is_some() {
                break terminator;
            }
        };
        let trimmed = self.buf.len()
            - self
                .buf
                .iter()
                .rev()
                .take_while(|b| is_json_whitespace(**b))
                .count();
        self.buf.truncate(trimmed);
        self.phase = match terminator {
            Some(b',') => Phase::Elements { after_comma: true },
            Some(_) => Phase::Closed,
            // The element is whole; the next call reports the missing `]`.
            None if scan.is_balanced() => Phase::Elements { after_comma: false },
            None => {
                self.phase = Phase::Done;
                return Err(ReadError::in_text(
                    number,
                    (line, column),
                    UNBOUNDED_ELEMENT,
                    &self.buf,
                    None,
                ));
            }
        };
        if too_long {
            let message = format!(
                "the element is longer than the limit of {} bytes (--max-record-bytes); it is skipped",
                self.max_record_bytes
            );
            // No excerpt: an element too long to read has no fields to tell
            // its passwords by, and its start may hold them.
            return Err(ReadError::bare(number, line, message));
        }
        self.parse(number, line, column)
    }

    /// The record in the buffer.
    fn parse(&self, number: u64, line: u64, column: u64) -> Result<SourceRecord, ReadError> {
        let text = std::str::from_utf8(&self.buf)
            .map_err(|e| ReadError::invalid_utf8(number, (line, column), &self.buf, e))?;
        match object::parse(text) {
            Ok(object) => Ok(SourceRecord {
                number,
                line,
                column,
                fields: object.fields,
                raw: text.to_owned(),
                spans: object.spans,
            }),
            Err(problem) => Err(ReadError::in_text(
                number,
                (line, column),
                problem.message,
                &self.buf,
                problem.span,
            )),
        }
    }

    /// Skip JSON whitespace, counting lines; the next byte, not consumed.
    fn skip_whitespace(&mut self) -> std::io::Result<Option<u8>> {
        loop {
            let chunk = self.input.fill()?;
            if chunk.is_empty() {
                return Ok(None);
            }
            let blank = chunk.iter().take_while(|b| is_json_whitespace(**b)).count();
            self.line += chunk[..blank].iter().filter(|b| **b == b'\n').count() as u64;
            self.column = next_column(self.column, &chunk[..blank]);
            let next = chunk.get(blank).copied();
            self.input.consume(blank);
            if next.is_some() {
                return Ok(next);
            }
        }
    }

    /// An error that is a record of its own, at the current line.
    fn error(&mut self, message: &str) -> Result<SourceRecord, ReadError> {
        self.records += 1;
        Err(ReadError::bare(self.records, self.line, message))
    }

    /// An error after which nothing more can be read.
    fn stop(&mut self, message: &str) -> Result<SourceRecord, ReadError> {
        self.phase = Phase::Done;
        self.error(message)
    }

    fn io_failure(&mut self, error: std::io::Error) -> Result<SourceRecord, ReadError> {
        self.phase = Phase::Done;
        self.records += 1;
        Err(self.input.fail(error, self.records, self.line))
    }
}

const NOT_AN_ARRAY: &str = "a JSON array file must start with `[`; no records are read \
    (for one JSON object per line, use --input-format ndjson)";
const TEXT_AFTER_ARRAY: &str = "unexpected text after the array's closing `]`; it is not read";
const UNCLOSED_ARRAY: &str = "the array is not closed: the input ends before its `]`";
const UNBOUNDED_ELEMENT: &str = "the input ends inside this element (an unclosed string, `{` or `[`?), \
    so the array structure is broken and no further records can be read";

/// The state of the element-boundary scanner: inside a string or not,
/// after a backslash or not, and how deep in brackets.
#[derive(Debug, Default)]
struct Scan {
    in_string: bool,
    escaped: bool,
    depth: usize,
}

impl Scan {
    /// The index of the `,` or `]` ending the element in `chunk`, if it is
    /// there, and the newlines before it. Carries state over to the next chunk.
    ///
    /// A stray `}` is left for the parser to report: it cannot hide a
    /// boundary, whereas a stray `]` at depth 0 does end the array.
    fn find_end(&mut self, chunk: &[u8]) -> (Option<usize>, u64) {
        let mut newlines = 0;
        for (i, &byte) in chunk.iter().enumerate() {
            if byte == b'\n' {
                newlines += 1;
            }
            if self.in_string {
                match byte {
                    _ if self.escaped => self.escaped = false,
                    b'\\' => self.escaped = true,
                    b'"' => self.in_string = false,
                    _ => {}
                }
                continue;
            }
            match byte {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' => self.depth = self.depth.saturating_sub(1),
                b']' | b',' if self.depth == 0 => return (Some(i), newlines),
                b']' => self.depth -= 1,
                _ => {}
            }
        }
        (None, newlines)
    }

    /// Whether the scan is outside any string or bracket.
    fn is_balanced(&self) -> bool {
        !self.in_string && self.depth == 0
    }
}

#[cfg(test)]
mod tests {
    use super::Scan;
    use crate::record::{from_reader, Cell, InputFormat, ReadError, SourceRecord};
    use serde_json::json;

    fn read(bytes: &'static [u8]) -> Vec<Result<SourceRecord, ReadError>> {
        from_reader(bytes, "test", InputFormat::JsonArray, 1 << 20).collect()
    }

    fn origin(item: &Result<SourceRecord, ReadError>) -> (u64, u64, bool) {
        match item {
            Ok(r) => (r.number, r.line, true),
            Err(e) => (e.number, e.line, false),
        }
    }

    #[test]
    fn elements_with_their_start_lines() {
        let text = b"\xEF\xBB\xBF[\r\n  {\"a\": 1},\r\n  {\r\n    \"b\": \"x,]}\\\"\",\r\n    \"c\": [1, {\"d\": 2}]\r\n  }\r\n]\r\n";
        let got = read(text);
        let origins: Vec<_> = got.iter().map(origin).collect();
        assert_eq!(origins, [(1, 2, true), (2, 3, true)]);
        let second = got[1].as_ref().unwrap();
        assert!(second.raw.starts_with('{') && second.raw.ends_with('}'));
        assert_eq!(second.fields[0], ("b".to_owned(), Cell::Json(json!("x,]}\""))));
        assert_eq!(&second.raw[second.spans[0].clone().unwrap()], "\"x,]}\\\"\"");
        assert_eq!(&second.raw[second.spans[1].clone().unwrap()], "[1, {\"d\": 2}]");
    }

    #[test]
    fn value_spans() {
        let got = read(b"[{\"username\":\"jdoe\",\"id\":3}]");
        let r = got[0].as_ref().unwrap();
        assert_eq!(&r.raw[r.spans[0].clone().unwrap()], "\"jdoe\"");
    }

    #[test]
    fn empty_arrays_and_input() {
        assert!(read(b"[]").is_empty());
        assert!(read(b" [ \n ] \n").is_empty());
        assert!(read(b"").is_empty());
    }

    #[test]
    fn a_broken_element_keeps_the_rest() {
        let got = read(b"[{\"a\":1},\n{\"a\" 2},\n7,\n{\"a\":1}}, {\"a\":3}]");
        let origins: Vec<_> = got.iter().map(origin).collect();
        assert_eq!(
            origins,
            [
                (1, 1, true),
                (2, 2, false),
                (3, 3, false),
                (4, 4, false),
                (5, 4, true)
            ]
        );
        let bad = got[1].as_ref().unwrap_err();
        assert_eq!(bad.raw.as_deref(), Some("{\"a\" 2}"));
        assert_eq!(&bad.raw.as_deref().unwrap()[bad.span.clone().unwrap()], "2");
    }

    #[test]
    fn an_unclosed_string_stops_with_one_error() {
        let got = read(b"[{\"a\":1},\n{\"a\":\"x},\n{\"a\":3}]\n");
        let origins: Vec<_> = got.iter().map(origin).collect();
        assert_eq!(origins, [(1, 1, true), (2, 2, false)]);
        let error = got[1].as_ref().unwrap_err();
        assert!(error.message.contains("no further records"), "{}", error.message);
    }

    #[test]
    fn structure_errors() {
        let message = |bytes: &'static [u8], at: usize| read(bytes)[at].as_ref().unwrap_err().message.clone();
        assert!(message(b"{\"a\":1}", 0).contains("must start with `[`"));
        assert!(message(b"[{\"a\":1}", 1).contains("not closed"));
        assert!(read(b"[{\"a\":1}")[0].is_ok());
        assert!(message(b"[{\"a\":1},", 1).contains("not closed"));
        assert!(message(b"[{\"a\":1},]", 1).contains("comma before `]`"));
        assert!(message(b"[{\"a\":1},,{\"a\":2}]", 1).contains("empty element"));
        assert!(message(b"[{\"a\":1}] x", 1).contains("after the array"));
        assert!(read(b"[{\"a\":1},,{\"a\":2}]")[2].is_ok());
    }

    #[test]
    fn oversized_element_is_skipped() {
        let text = format!("[{{\"a\":1}},{{\"a\":\"{}\"}},{{\"a\":3}}]", "x".repeat(100));
        let got: Vec<_> = from_reader(std::io::Cursor::new(text), "t", InputFormat::JsonArray, 50).collect();
        let oks: Vec<bool> = got.iter().map(|r| r.is_ok()).collect();
        assert_eq!(oks, [true, false, true]);
        assert!(got[1].as_ref().unwrap_err().message.contains("limit of 50 bytes"));
    }

    #[test]
    fn invalid_utf8_element() {
        let got = read(b"[{\"a\":\"\xC3\x28\"},{\"a\":2}]");
        let oks: Vec<bool> = got.iter().map(|r| r.is_ok()).collect();
        assert_eq!(oks, [false, true]);
    }

    #[test]
    fn scanner_carries_state_across_chunks() {
        let mut scan = Scan::default();
        assert_eq!(scan.find_end(b"{\"a\":\"x\\"), (None, 0));
        assert_eq!(scan.find_end(b"\",]\"\n}"), (None, 1));
        assert_eq!(scan.find_end(b" ,"), (Some(1), 0));
    }
}
