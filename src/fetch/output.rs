//! Writers for output records: NDJSON (one object per line), a JSON array,
//! or CSV with a header row of the template's output columns. Each record is
//! written as it comes, so output streams.

use std::io::{self, Write};

use super::extract::Output;
use super::shape::cell_text;

/// The output formats of `fetch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line.
    Ndjson,
    /// One JSON array.
    Json,
    /// Comma-separated values with a header row (RFC 4180 quoting).
    Csv,
}

/// Writes records in one format.
pub struct Writer<W: Write> {
    out: W,
    format: Format,
    columns: Vec<String>,
    written: u64,
}

impl<W: Write> Writer<W> {
    /// A writer; `columns` are the CSV columns (ignored by the JSON formats).
    pub fn new(out: W, format: Format, columns: Vec<String>) -> Self {
        Writer {
            out,
            format,
            columns,
            written: 0,
        }
    }

    /// Write one record.
    ///
    /// # Errors
    /// The output cannot be written.
    pub fn write(&mut self, record: &Output) -> io::Result<()> {
        match self.format {
            Format::Ndjson => {
                serde_json::to_writer(&mut self.out, record)?;
                self.out.write_all(b"\n")?;
            }
            Format::Json => {
                self.out
                    .write_all(if self.written == 0 { b"[\n" } else { b",\n" })?;
                serde_json::to_writer(&mut self.out, record)?;
            }
            Format::Csv => {
                if self.written == 0 {
                    self.header()?;
                }
                let cells: Vec<String> = self
                    .columns
                    .iter()
                    .map(|c| record.get(c).map(cell_text).unwrap_or_default())
                    .collect();
                self.row(&cells)?;
            }
        }
        self.written += 1;
        Ok(())
    }

    /// Close the output (the JSON array's bracket, a CSV header when no
    /// record came) and flush it; returns the records written.
    ///
    /// # Errors
    /// The output cannot be written.
    pub fn finish(mut self) -> io::Result<u64> {
        match self.format {
            Format::Json if self.written == 0 => self.out.write_all(b"[]\n")?,
            Format::Json => self.out.write_all(b"\n]\n")?,
            Format::Csv if self.written == 0 => self.header()?,
            _ => {}
        }
        self.out.flush()?;
        Ok(self.written)
    }

    fn header(&mut self) -> io::Result<()> {
        let columns = self.columns.clone();
        self.row(&columns)
    }

    fn row(&mut self, cells: &[String]) -> io::Result<()> {
        let line: Vec<String> = cells.iter().map(|c| csv_field(c)).collect();
        self.out.write_all(line.join(",").as_bytes())?;
        self.out.write_all(b"\r\n")
    }
}

/// A CSV field, quoted when it holds a comma, a quote or a line break
/// (RFC 4180); quotes inside are doubled.
pub fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn output(value: serde_json::Value) -> Output {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn csv_quotes_only_what_needs_it() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
    }

    #[test]
    fn csv_rows_follow_the_columns() {
        let mut buffer = Vec::new();
        let mut writer = Writer::new(
            &mut buffer,
            Format::Csv,
            vec!["id".into(), "name".into(), "tags".into()],
        );
        writer
            .write(&output(json!({"name": "Ann, B", "id": 3, "tags": [1, 2]})))
            .unwrap();
        writer.write(&output(json!({"id": 4}))).unwrap();
        assert_eq!(writer.finish().unwrap(), 2);
        assert_eq!(
            String::from_utf8(buffer).unwrap(),
            "id,name,tags\r\n3,\"Ann, B\",\"[1,2]\"\r\n4,,\r\n"
        );
    }

    #[test]
    fn json_array_is_valid_when_empty_or_not() {
        for n in [0, 1, 3] {
            let mut buffer = Vec::new();
            let mut writer = Writer::new(&mut buffer, Format::Json, Vec::new());
            for i in 0..n {
                writer.write(&output(json!({"i": i}))).unwrap();
            }
            writer.finish().unwrap();
            let parsed: serde_json::Value = serde_json::from_slice(&buffer).unwrap();
            assert_eq!(parsed.as_array().map(Vec::len), Some(n));
        }
    }
}
