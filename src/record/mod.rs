//! Streaming record readers: NDJSON, a JSON array of objects, CSV with a header row.
//!
//! Every reader holds one record at a time, so memory stays flat however many
//! records a file has. Every record keeps its origin (record number, start
//! line, raw text, the byte span of each value) because the validator points
//! at the offending value, not just the record. A record that cannot be read
//! is that record's [`ReadError`] and the input goes on; only a broken file
//! structure (an unclosed JSON array, say) or an I/O error stops it.
//!
//! [`open`] picks the format from the path; [`from_reader`] takes any reader
//! (tests, standard input).

mod csv;
mod excerpt;
mod input;
mod json_array;
mod ndjson;
mod object;
#[cfg(test)]
mod proptests;
pub mod read;

use crate::diagnostic::Location;
use std::ops::Range;

pub use excerpt::{is_secret_key, json_secrets, mask, MASK};
pub use read::{from_reader, open, Records};

/// Largest record accepted by default: 1 MiB.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 1 << 20;

/// Input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// One JSON object per line (`.ndjson`, `.jsonl`).
    Ndjson,
    /// A top-level JSON array of objects (`.json` starting with `[`).
    JsonArray,
    /// CSV with a header row (`.csv`; `.tsv` is read as tab-separated).
    Csv,
}

impl InputFormat {
    /// The format a file extension names.
    ///
    /// `None` both for unknown extensions and for `.json`, whose format
    /// (array or NDJSON) is told from its first byte when it is opened.
    pub fn from_path(path: &std::path::Path) -> Option<InputFormat> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "ndjson" | "jsonl" => Some(InputFormat::Ndjson),
            "csv" | "tsv" => Some(InputFormat::Csv),
            _ => None,
        }
    }

    /// A short name for messages: `ndjson`, `json`, `csv`.
    pub fn name(self) -> &'static str {
        match self {
            InputFormat::Ndjson => "ndjson",
            InputFormat::JsonArray => "json",
            InputFormat::Csv => "csv",
        }
    }
}

/// A value of a source record.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A JSON value (NDJSON, JSON array), typed by the source.
    Json(serde_json::Value),
    /// A CSV cell: always text, exactly as written; the validator converts it
    /// per field type.
    Text(String),
}

/// One record as read, with its origin.
#[derive(Debug, Clone)]
pub struct SourceRecord {
    /// 1-based, counting every record including unreadable ones.
    pub number: u64,
    /// 1-based line where the record starts.
    pub line: u64,
    /// 1-based column (in characters) where the record starts on its line:
    /// 1 but for a JSON array element after indentation or another element.
    pub column: u64,
    /// Keys and values in source order (absent CSV cells are left out).
    pub fields: Vec<(String, Cell)>,
    /// The record's text: the NDJSON line, the array element, the CSV row
    /// (without its line end).
    pub raw: String,
    /// Parallel to `fields`: the byte span of each value within `raw`.
    pub spans: Vec<Option<Range<usize>>>,
}

impl SourceRecord {
    /// A record with no fields, e.g. to fill from command-line values.
    pub fn empty(number: u64) -> Self {
        SourceRecord {
            number,
            line: number,
            column: 1,
            fields: Vec::new(),
            raw: String::new(),
            spans: Vec::new(),
        }
    }
}

/// A record that could not be read.
#[derive(Debug, Clone)]
pub struct ReadError {
    /// The record's number (the same counter as [`SourceRecord::number`]);
    /// 0 for a CSV header row, which is not a record.
    pub number: u64,
    /// 1-based line where the record starts.
    pub line: u64,
    /// What is wrong, in words.
    pub message: String,
    /// The offending text (cut to about 200 bytes around the problem), if
    /// it is valid UTF-8.
    pub raw: Option<String>,
    /// Where in `raw` the problem is.
    pub span: Option<Range<usize>>,
    /// Where in the file the problem is, when its text was read (`raw` may
    /// be an excerpt that starts later than the record).
    pub location: Option<Location>,
}

impl ReadError {
    /// An error with no text to show.
    fn bare(number: u64, line: u64, message: impl Into<String>) -> Self {
        ReadError {
            number,
            line,
            message: message.into(),
            raw: None,
            span: None,
            location: None,
        }
    }

    /// An error showing (an excerpt of) `text`, with the problem at `span`;
    /// `text` starts at line `line`, column `column` of the file.
    fn in_text(
        number: u64,
        (line, column): (u64, u64),
        message: impl Into<String>,
        text: &[u8],
        span: Option<Range<usize>>,
    ) -> Self {
        let location = std::str::from_utf8(text)
            .ok()
            .map(|text| Location::within(text, (line, column), span.clone()));
        let excerpt = excerpt::Excerpt::around(text, span);
        ReadError {
            number,
            line,
            message: message.into(),
            raw: excerpt.as_ref().map(|e| e.text.clone()),
            span: excerpt.and_then(|e| e.span),
            location,
        }
    }
}

impl ReadError {
    /// The error for a record that is not UTF-8: its valid start, pointing
    /// just past it at the bad byte.
    fn invalid_utf8(number: u64, start: (u64, u64), bytes: &[u8], error: std::str::Utf8Error) -> Self {
        let at = error.valid_up_to();
        let message =
            format!("the record is not valid UTF-8 (bad byte at offset {at}); save the file as UTF-8");
        ReadError::in_text(number, start, message, &bytes[..at], Some(at..at))
    }
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "record {} (line {}): {}", self.number, self.line, self.message)
    }
}

impl std::error::Error for ReadError {}

/// How to read a data source.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// The format; `None` tells it from the path (and, for `.json` and
    /// standard input, from the first byte).
    pub format: Option<InputFormat>,
    /// Largest record accepted, in bytes; a larger one is that record's
    /// error and is skipped without being held in memory.
    pub max_record_bytes: usize,
    /// The CSV delimiter; `None`: tab for `.tsv` files, else told from the
    /// header line (`;` or tab when they outnumber commas there, else `,`).
    pub delimiter: Option<u8>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            format: None,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            delimiter: None,
        }
    }
}
