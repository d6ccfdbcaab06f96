//! CSV with a header row; cells stay text.
//!
//! Parsing is done by `csv-core`, the parser inside the `csv` crate, driven
//! directly: it reports exactly which input bytes each row used, which gives
//! the row's raw text and line for diagnostics, and it lets a row over the
//! size limit be skipped without holding it (the `csv` crate's reader
//! offers neither). Cells are kept as written (nothing is trimmed: Moodle
//! cares about whitespace, and the validator reports it); an empty cell is
//! an absent value.

use std::collections::HashSet;
use std::io;
use std::ops::Range;

use csv_core::ReadRecordResult;

use super::input::Input;
use super::{Cell, ReadError, SourceRecord};

/// Reads CSV records from an [`Input`].
pub(super) struct CsvReader {
    pub(super) input: Input,
    core: csv_core::Reader,
    max_record_bytes: usize,
    /// Column names, once the header row is read.
    header: Option<Vec<String>>,
    /// The current row's bytes as read (kept up to the limit).
    raw: Vec<u8>,
    /// The current row's cells, unquoted, one after the other.
    output: Vec<u8>,
    /// Where each cell ends in `output`.
    ends: Vec<usize>,
    /// The line of the next byte (1-based).
    line: u64,
    /// Records read so far, including unreadable ones.
    records: u64,
    done: bool,
    /// The delimiter given; `None`: told from the header line.
    delimiter: Option<u8>,
}

/// Where the current row is, once read: its line, its text within `raw`,
/// its cell count, and whether it was over the limit.
struct Row {
    line: u64,
    text: Range<usize>,
    cells: usize,
    too_long: bool,
}

impl CsvReader {
    pub(super) fn new(input: Input, max_record_bytes: usize) -> Self {
        CsvReader {
            input,
            core: csv_core::Reader::new(),
            max_record_bytes,
            header: None,
            raw: Vec::new(),
            output: vec![0; 1024],
            ends: vec![0; 64],
            line: 1,
            records: 0,
            done: false,
            delimiter: None,
        }
    }

    /// Read cells separated by `delimiter` instead of telling it from the header.
    pub(super) fn set_delimiter(&mut self, delimiter: u8) {
        self.delimiter = Some(delimiter);
    }

    /// Before the header is read: the delimiter given, or the one the header
    /// line uses (European spreadsheet exports write `;`), and a parser for it.
    fn choose_delimiter(&mut self) -> io::Result<()> {
        let delimiter = match self.delimiter {
            Some(delimiter) => delimiter,
            None => detect_delimiter(self.input.fill()?),
        };
        self.delimiter = Some(delimiter);
        self.core = csv_core::ReaderBuilder::new().delimiter(delimiter).build();
        Ok(())
    }

    /// The next row after the header, as a record.
    pub(super) fn next_record(&mut self) -> Option<Result<SourceRecord, ReadError>> {
        if self.done {
            return None;
        }
        if self.header.is_none() {
            if let Err(error) = self.read_header()? {
                self.done = true;
                return Some(Err(error));
            }
        }
        let row = match self.read_row() {
            Ok(Some(row)) => row,
            Ok(None) => {
                self.done = true;
                return None;
            }
            Err(error) => {
                self.done = true;
                self.records += 1;
                return Some(Err(self.input.fail(error, self.records, self.line)));
            }
        };
        self.records += 1;
        Some(self.record(&row))
    }

    /// Read the header row: `None` for an empty input, an error (after which
    /// nothing is read) for a header that cannot name the columns.
    fn read_header(&mut self) -> Option<Result<(), ReadError>> {
        if let Err(error) = self.choose_delimiter() {
            return Some(Err(self.input.fail(error, 0, self.line)));
        }
        let row = match self.read_row() {
            Ok(Some(row)) => row,
            Ok(None) => {
                self.done = true;
                return None;
            }
            Err(error) => return Some(Err(self.input.fail(error, 0, self.line))),
        };
        let header_error = |message: String| ReadError::bare(0, row.line, message);
        if row.too_long {
            return Some(Err(header_error(format!(
                "the header row is longer than the limit of {} bytes; no records are read",
                self.max_record_bytes
            ))));
        }
        let mut names = Vec::with_capacity(row.cells);
        let mut seen = HashSet::with_capacity(row.cells);
        for index in 0..row.cells {
            match std::str::from_utf8(self.cell(index)) {
                Ok(name) if !seen.insert(name) => {
                    let message = format!("the header row names column `{name}` twice; no records are read");
                    return Some(Err(self.error_in_row(0, &row, message, None)));
                }
                Ok(name) => names.push(name),
                Err(_) => {
                    let message = "the header row is not valid UTF-8; save the file as UTF-8".to_owned();
                    return Some(Err(header_error(message)));
                }
            }
        }
        self.header = Some(names.into_iter().map(str::to_owned).collect());
        Some(Ok(()))
    }

    /// The record of the row just read.
    fn record(&self, row: &Row) -> Result<SourceRecord, ReadError> {
        let number = self.records;
        let bytes = &self.raw[row.text.clone()];
        if row.too_long {
            let message = format!(
                "the row is longer than the limit of {} bytes (--max-record-bytes); it is skipped",
                self.max_record_bytes
            );
            // No excerpt: a row too long to read has no fields to tell its
            // passwords by, and its start may hold them.
            return Err(ReadError::bare(number, row.line, message));
        }
        let raw = std::str::from_utf8(bytes)
            .map_err(|e| ReadError::invalid_utf8(number, (row.line, 1), bytes, e))?;
        let spans = cell_spans(raw.as_bytes(), self.delimiter.unwrap_or(b','));
        let spans = (spans.len() == row.cells).then_some(spans);
        let header = self.header.as_deref().unwrap_or_default();
        if row.cells > header.len() {
            let message = format!(
                "the row has {} cells but the header names {} columns",
                row.cells,
                header.len()
            );
            let extra = spans.as_ref().map(|s| s[header.len()].start..raw.len());
            // The cells of password columns are masked before the row is shown.
            let secrets: Vec<Range<usize>> = spans
                .iter()
                .flat_map(|s| s.iter().zip(header))
                .filter(|(_, name)| super::is_secret_key(name))
                .map(|(span, _)| span.clone())
                .collect();
            let (masked, extra) = super::mask(raw, &secrets, extra);
            return Err(ReadError::in_text(
                number,
                (row.line, 1),
                message,
                masked.as_bytes(),
                extra,
            ));
        }
        let mut record = SourceRecord {
            number,
            line: row.line,
            column: 1,
            fields: Vec::new(),
            raw: raw.to_owned(),
            spans: Vec::new(),
        };
        for (index, name) in header.iter().enumerate().take(row.cells) {
            let cell = self.cell(index);
            if cell.is_empty() {
                continue;
            }
            // Cells are slices of valid UTF-8 `raw` cut at ASCII bytes, so valid too.
            let text = String::from_utf8_lossy(cell).into_owned();
            record.fields.push((name.clone(), Cell::Text(text)));
            record.spans.push(spans.as_ref().map(|s| s[index].clone()));
        }
        Ok(record)
    }

    /// The unquoted bytes of cell `index` of the row just read.
    fn cell(&self, index: usize) -> &[u8] {
        let start = if index == 0 { 0 } else { self.ends[index - 1] };
        &self.output[start..self.ends[index]]
    }

    /// An error showing the row just read.
    fn error_in_row(&self, number: u64, row: &Row, message: String, span: Option<Range<usize>>) -> ReadError {
        ReadError::in_text(number, (row.line, 1), message, &self.raw[row.text.clone()], span)
    }

    /// Read one row into `raw`, `output` and `ends`; `None` at the end.
    fn read_row(&mut self) -> io::Result<Option<Row>> {
        self.raw.clear();
        let start_line = self.line;
        let (mut out_len, mut ends_len) = (0, 0);
        let mut too_long = false;
        loop {
            let chunk = self.input.fill()?;
            let (result, read, written, ended) =
                self.core
                    .read_record(chunk, &mut self.output[out_len..], &mut self.ends[ends_len..]);
            let used = &chunk[..read];
            self.line += used.iter().filter(|b| **b == b'\n').count() as u64;
            if !too_long {
                self.raw.extend_from_slice(used);
                too_long = self.cut_if_too_long();
            }
            self.input.consume(read);
            out_len += written;
            ends_len += ended;
            match result {
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull if too_long => out_len = 0,
                ReadRecordResult::OutputFull => self.output.resize(self.output.len() * 2, 0),
                ReadRecordResult::OutputEndsFull if too_long => ends_len = 0,
                ReadRecordResult::OutputEndsFull => self.ends.resize(self.ends.len() * 2, 0),
                ReadRecordResult::Record => return Ok(Some(self.row(start_line, ends_len, too_long))),
                ReadRecordResult::End => return Ok(None),
            }
        }
    }

    /// Whether the row in `raw` is over the limit; if so `raw` keeps only
    /// its start, for the message.
    fn cut_if_too_long(&mut self) -> bool {
        let slack = 2 + leading_line_ends(&self.raw);
        if self.raw.len() <= self.max_record_bytes.saturating_add(slack) {
            return false;
        }
        self.raw.truncate(self.max_record_bytes.saturating_add(slack));
        true
    }

    /// Where the row just read is: `raw` minus the blank lines before it
    /// (which the parser skips) and its line end.
    fn row(&self, start_line: u64, cells: usize, too_long: bool) -> Row {
        let lead = leading_line_ends(&self.raw);
        let line = start_line + self.raw[..lead].iter().filter(|b| **b == b'\n').count() as u64;
        let mut end = self.raw.len();
        while end > lead && matches!(self.raw[end - 1], b'\r' | b'\n') {
            end -= 1;
        }
        let too_long = too_long || end - lead > self.max_record_bytes;
        Row {
            line,
            text: lead..end,
            cells,
            too_long,
        }
    }
}

/// The number of `\r` and `\n` bytes at the start of `bytes`.
fn leading_line_ends(bytes: &[u8]) -> usize {
    bytes.iter().take_while(|b| matches!(b, b'\r' | b'\n')).count()
}

/// The span of each cell (quotes included) in a row's text, cut the way the
/// parser cuts: a cell starting with `"` is quoted up to a lone `"`.
fn cell_spans(row: &[u8], delimiter: u8) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    let mut start = 0;
    loop {
        let mut at = start;
        if row.get(at) == Some(&b'"') {
            at += 1;
            while at < row.len() {
                match (row[at], row.get(at + 1)) {
                    (b'"', Some(b'"')) => at += 2,
                    (b'"', _) => {
                        at += 1;
                        break;
                    }
                    _ => at += 1,
                }
            }
        }
        at += row[at.min(row.len())..]
            .iter()
            .take_while(|b| **b != delimiter)
            .count();
        let end = at.min(row.len());
        spans.push(start..end);
        if end >= row.len() {
            return spans;
        }
        start = end + 1;
    }
}

/// The delimiter of a CSV whose text starts with `head`: `;` or tab when
/// the first line (outside quotes) has more of it than of `,`, else `,`.
/// A header longer than `head` is judged by its start.
pub(super) fn detect_delimiter(head: &[u8]) -> u8 {
    let (mut commas, mut semicolons, mut tabs) = (0usize, 0usize, 0usize);
    let mut quoted = false;
    for &byte in head {
        match byte {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
            b',' if !quoted => commas += 1,
            b';' if !quoted => semicolons += 1,
            b'\t' if !quoted => tabs += 1,
            _ => {}
        }
    }
    if tabs > commas && tabs >= semicolons {
        b'\t'
    } else if semicolons > commas {
        b';'
    } else {
        b','
    }
}

#[cfg(test)]
mod tests {
    use super::cell_spans;
    use crate::record::{from_reader, Cell, InputFormat, ReadError, SourceRecord};

    fn read(bytes: &'static [u8]) -> Vec<Result<SourceRecord, ReadError>> {
        from_reader(bytes, "test", InputFormat::Csv, 1 << 20).collect()
    }

    fn cells(record: &Result<SourceRecord, ReadError>) -> Vec<(String, String)> {
        let record = record.as_ref().expect("a record");
        record
            .fields
            .iter()
            .map(|(k, c)| match c {
                Cell::Text(t) => (k.clone(), t.clone()),
                Cell::Json(j) => (k.clone(), j.to_string()),
            })
            .collect()
    }

    #[test]
    fn semicolons_and_tabs_are_told_from_the_header_line() {
        let pair = |a: &str, b: &str| {
            vec![
                ("name".to_owned(), a.to_owned()),
                ("city".to_owned(), b.to_owned()),
            ]
        };
        let semi = read(b"name;city\n\"Lee, Ann\";Paris\n");
        assert_eq!(cells(&semi[0]), pair("Lee, Ann", "Paris"));
        let tabs = read(b"name\tcity\nAnn; Bo\tRome\n");
        assert_eq!(cells(&tabs[0]), pair("Ann; Bo", "Rome"));
        // Commas win a tie, and a quoted header cell's `;` does not count.
        let commas = read(b"\"name;x\",city\nAnn,Oslo\n");
        assert_eq!(
            cells(&commas[0]),
            vec![
                ("name;x".to_owned(), "Ann".to_owned()),
                ("city".to_owned(), "Oslo".to_owned())
            ]
        );
        assert_eq!(super::detect_delimiter(b"a|b"), b',');
        // The cell spans (for excerpts and password masking) follow the delimiter.
        let record = semi[0].as_ref().expect("record");
        let spans: Vec<&str> = record
            .spans
            .iter()
            .map(|s| &record.raw[s.clone().expect("span")])
            .collect();
        assert_eq!(spans, ["\"Lee, Ann\"", "Paris"]);
    }

    fn origin(item: &Result<SourceRecord, ReadError>) -> (u64, u64, bool) {
        match item {
            Ok(r) => (r.number, r.line, true),
            Err(e) => (e.number, e.line, false),
        }
    }

    fn text(pairs: &[(&str, &str)]) -> Vec<(String, Cell)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Cell::Text(v.to_string())))
            .collect()
    }

    #[test]
    fn rows_become_text_cells() {
        let got = read(b"username,firstname,email\njdoe, John ,j@x.org\n");
        let r = got[0].as_ref().unwrap();
        assert_eq!((r.number, r.line), (1, 2));
        assert_eq!(
            r.fields,
            text(&[
                ("username", "jdoe"),
                ("firstname", " John "),
                ("email", "j@x.org")
            ])
        );
        assert_eq!(r.raw, "jdoe, John ,j@x.org");
        assert_eq!(&r.raw[r.spans[1].clone().unwrap()], " John ");
    }

    #[test]
    fn quoted_cells_with_commas_newlines_and_quotes() {
        let got = read(b"a,b,c\r\n\"x, y\",\"line1\r\nline2\",\"say \"\"hi\"\"\"\r\n1,2,3\r\n");
        let origins: Vec<_> = got.iter().map(origin).collect();
        assert_eq!(origins, [(1, 2, true), (2, 4, true)]);
        let r = got[0].as_ref().unwrap();
        assert_eq!(
            r.fields,
            text(&[("a", "x, y"), ("b", "line1\r\nline2"), ("c", "say \"hi\"")])
        );
        assert_eq!(&r.raw[r.spans[2].clone().unwrap()], "\"say \"\"hi\"\"\"");
        assert_eq!(got[1].as_ref().unwrap().raw, "1,2,3");
    }

    #[test]
    fn empty_and_missing_cells_are_absent() {
        let got = read(b"a,b,c\n1,,3\n4\n");
        assert_eq!(got[0].as_ref().unwrap().fields, text(&[("a", "1"), ("c", "3")]));
        assert_eq!(got[0].as_ref().unwrap().spans, [Some(0..1), Some(3..4)]);
        assert_eq!(got[1].as_ref().unwrap().fields, text(&[("a", "4")]));
    }

    #[test]
    fn a_row_with_too_many_cells_shows_its_passwords_masked() {
        let got = read(b"user,password\nana,hunter2,extra\n");
        let error = got[0].as_ref().unwrap_err();
        let raw = error.raw.as_deref().unwrap();
        assert_eq!(raw, "ana,********,extra");
        assert_eq!(&raw[error.span.clone().unwrap()], "extra");
    }

    #[test]
    fn too_many_cells_is_that_records_error() {
        let got = read(b"a,b\n1,2\n1,2,3,4\n5,6\n");
        let origins: Vec<_> = got.iter().map(origin).collect();
        assert_eq!(origins, [(1, 2, true), (2, 3, false), (3, 4, true)]);
        let error = got[1].as_ref().unwrap_err();
        assert!(error.message.contains("4 cells"), "{}", error.message);
        assert_eq!(&error.raw.as_deref().unwrap()[error.span.clone().unwrap()], "3,4");
    }

    #[test]
    fn blank_lines_bom_and_no_final_newline() {
        let got = read(b"\xEF\xBB\xBFa,b\n\n1,2\r\n\r\n\r\n3,4");
        let origins: Vec<_> = got.iter().map(origin).collect();
        assert_eq!(origins, [(1, 3, true), (2, 6, true)]);
        assert_eq!(got[0].as_ref().unwrap().fields[0].0, "a");
        assert_eq!(got[1].as_ref().unwrap().raw, "3,4");
    }

    #[test]
    fn header_only_or_empty() {
        assert!(read(b"").is_empty());
        assert!(read(b"a,b\n").is_empty());
    }

    #[test]
    fn duplicate_header_stops() {
        let got = read(b"a,b,a\n1,2,3\n");
        assert_eq!(got.len(), 1);
        let error = got[0].as_ref().unwrap_err();
        assert_eq!((error.number, error.line), (0, 1));
        assert!(error.message.contains("`a` twice"));
    }

    #[test]
    fn invalid_utf8_row_and_oversized_row() {
        let got = read(b"a\n\xff\nok\n");
        assert_eq!(
            got.iter().map(origin).collect::<Vec<_>>(),
            [(1, 2, false), (2, 3, true)]
        );
        let input = format!("a,b\n1,2\n\"{}\",x\n3,4\n", "y\n".repeat(100));
        let got: Vec<_> = from_reader(std::io::Cursor::new(input), "t", InputFormat::Csv, 50).collect();
        assert_eq!(
            got.iter().map(origin).collect::<Vec<_>>(),
            [(1, 2, true), (2, 3, false), (3, 104, true)]
        );
        assert!(got[1].as_ref().unwrap_err().message.contains("limit of 50 bytes"));
    }

    #[test]
    fn spans_of_cells() {
        let row = b"a,\"b,\"\"c\",,\"d\"x,";
        let spans: Vec<&[u8]> = cell_spans(row, b',').into_iter().map(|s| &row[s]).collect();
        assert_eq!(spans, [&b"a"[..], b"\"b,\"\"c\"", b"", b"\"d\"x", b""]);
        assert_eq!(
            (cell_spans(b"", b',').len(), cell_spans(b"", b',')[0].clone()),
            (1, 0..0)
        );
        assert_eq!(
            (
                cell_spans(b"\"open", b',').len(),
                cell_spans(b"\"open", b',')[0].clone()
            ),
            (1, 0..5)
        );
    }
}
