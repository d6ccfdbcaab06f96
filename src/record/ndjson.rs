//! NDJSON: one JSON object per line.
//!
//! The hot path of the whole tool, so it is lean: one buffered `read_until`
//! per line into a reused buffer, one UTF-8 check, one parse. A bad line is
//! that record's error and the next line is read as usual, since a newline
//! always ends a record.

use super::input::{Input, Line};
use super::object;
use super::{ReadError, SourceRecord};

/// Reads NDJSON records from an [`Input`].
pub(super) struct NdjsonReader {
    pub(super) input: Input,
    max_record_bytes: usize,
    /// The line being read, reused from line to line.
    buf: Vec<u8>,
    /// Lines read so far.
    lines: u64,
    /// Records read so far.
    records: u64,
    done: bool,
}

impl NdjsonReader {
    pub(super) fn new(input: Input, max_record_bytes: usize) -> Self {
        NdjsonReader {
            input,
            max_record_bytes,
            buf: Vec::new(),
            lines: 0,
            records: 0,
            done: false,
        }
    }

    /// The next record, skipping blank lines.
    pub(super) fn next_record(&mut self) -> Option<Result<SourceRecord, ReadError>> {
        let mut record = SourceRecord::empty(0);
        self.next_record_into(&mut record)
            .map(|read| read.map(|()| record))
    }

    /// The next record, skipping blank lines, read into `record` over the
    /// buffers of the record it held (on an error its contents are unspecified).
    pub(super) fn next_record_into(&mut self, record: &mut SourceRecord) -> Option<Result<(), ReadError>> {
        while !self.done {
            let read = self.input.read_line(&mut self.buf, self.max_record_bytes);
            self.lines += 1;
            let line = match read {
                Ok(Line::End) => break,
                Ok(line) => line,
                Err(error) => {
                    self.done = true;
                    self.records += 1;
                    return Some(Err(self.input.fail(error, self.records, self.lines)));
                }
            };
            if line == Line::Whole && is_blank(&self.buf) {
                continue;
            }
            self.records += 1;
            return Some(match line {
                Line::TooLong => Err(self.too_long()),
                _ => self.record(record),
            });
        }
        self.done = true;
        None
    }

    /// The record on the current line, into `record`.
    fn record(&self, record: &mut SourceRecord) -> Result<(), ReadError> {
        let (number, line) = (self.records, self.lines);
        let text = std::str::from_utf8(&self.buf)
            .map_err(|e| ReadError::invalid_utf8(number, (line, 1), &self.buf, e))?;
        match object::parse_into(text, &mut record.fields, &mut record.spans) {
            Ok(()) => {
                record.number = number;
                record.line = line;
                record.column = 1;
                record.raw.clear();
                record.raw.push_str(text);
                Ok(())
            }
            Err(problem) => {
                let mut message = problem.message;
                if text.trim_start().starts_with('[') {
                    message.push_str(" (for a file holding one JSON array, use --input-format json)");
                } else if message.starts_with("incomplete JSON") {
                    message.push_str(" (in NDJSON each record is one whole line)");
                }
                Err(ReadError::in_text(
                    number,
                    (line, 1),
                    message,
                    &self.buf,
                    problem.span,
                ))
            }
        }
    }

    /// The error for a line over the limit (its start is in the buffer).
    fn too_long(&self) -> ReadError {
        let message = format!(
            "the record is longer than the limit of {} bytes (--max-record-bytes); it is skipped",
            self.max_record_bytes
        );
        // No excerpt: a record too long to read has no fields to tell its
        // passwords by, and its start may hold them.
        ReadError::bare(self.records, self.lines, message)
    }
}

/// Whether a line holds only whitespace (it is then no record).
fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|&b| super::input::is_json_whitespace(b))
}

#[cfg(test)]
mod tests {
    use crate::record::{from_reader, Cell, InputFormat, ReadError, SourceRecord};
    use serde_json::json;

    fn read(bytes: &'static [u8]) -> Vec<Result<SourceRecord, ReadError>> {
        from_reader(bytes, "test", InputFormat::Ndjson, 1 << 20).collect()
    }

    fn origin(item: &Result<SourceRecord, ReadError>) -> (u64, u64, bool) {
        match item {
            Ok(r) => (r.number, r.line, true),
            Err(e) => (e.number, e.line, false),
        }
    }

    #[test]
    fn records_with_blank_lines_crlf_and_bom() {
        let got = read(b"\xEF\xBB\xBF{\"a\":1}\r\n\r\n  \n{\"a\":2}\n\n{\"a\":3}");
        let origins: Vec<_> = got.iter().map(origin).collect();
        assert_eq!(origins, [(1, 1, true), (2, 4, true), (3, 6, true)]);
        let first = got[0].as_ref().unwrap();
        assert_eq!(first.raw, "{\"a\":1}");
        assert_eq!(first.fields, [("a".to_owned(), Cell::Json(json!(1)))]);
    }

    #[test]
    fn spans_point_into_the_line() {
        let got = read(b"{\"userid\": 5, \"username\":\"jdoe\"}\n");
        let r = got[0].as_ref().unwrap();
        assert_eq!(&r.raw[r.spans[1].clone().unwrap()], "\"jdoe\"");
        assert_eq!(&r.raw[r.spans[0].clone().unwrap()], "5");
    }

    #[test]
    fn a_bad_line_keeps_the_rest() {
        let got = read(b"{\"a\":1}\n{\"a\":\n\n[1]\n{\"a\":1,\"a\":2}\n{\"a\":4}\n");
        let origins: Vec<_> = got.iter().map(origin).collect();
        assert_eq!(
            origins,
            [
                (1, 1, true),
                (2, 2, false),
                (3, 4, false),
                (4, 5, false),
                (5, 6, true)
            ]
        );
        let not_object = got[2].as_ref().unwrap_err();
        assert!(
            not_object.message.contains("JSON object"),
            "{}",
            not_object.message
        );
        assert!(not_object.message.contains("--input-format json"));
        let duplicate = got[3].as_ref().unwrap_err();
        let raw = duplicate.raw.as_deref().unwrap();
        assert_eq!(&raw[duplicate.span.clone().unwrap()], "\"a\":2");
    }

    #[test]
    fn invalid_utf8_is_one_record_error() {
        let got = read(b"{\"a\":1}\n{\"a\":\"\xff\xfe\"}\n{\"a\":3}\n");
        let origins: Vec<_> = got.iter().map(origin).collect();
        assert_eq!(origins, [(1, 1, true), (2, 2, false), (3, 3, true)]);
        let error = got[1].as_ref().unwrap_err();
        assert!(error.message.contains("UTF-8"));
        assert_eq!(error.raw.as_deref(), Some("{\"a\":\""));
    }

    #[test]
    fn oversized_record_is_skipped() {
        let long = format!("{{\"a\":\"{}\"}}\n", "x".repeat(100));
        let input = format!("{{\"a\":1}}\n{long}{{\"a\":3}}\n").into_bytes();
        let got: Vec<_> = from_reader(std::io::Cursor::new(input), "t", InputFormat::Ndjson, 50).collect();
        let origins: Vec<_> = got.iter().map(origin).collect();
        assert_eq!(origins, [(1, 1, true), (2, 2, false), (3, 3, true)]);
        assert!(got[1].as_ref().unwrap_err().message.contains("limit of 50 bytes"));
    }

    #[test]
    fn last_line_without_newline() {
        let origins: Vec<_> = read(b"{}\n{\"b\":[1,2]}").iter().map(origin).collect();
        assert_eq!(origins, [(1, 1, true), (2, 2, true)]);
    }

    #[test]
    fn empty_input_has_no_records() {
        assert!(read(b"").is_empty());
        assert!(read(b"\n\r\n \n").is_empty());
    }
}
