//! Opening a data source and telling its format.
//!
//! The format comes from an explicit choice, else the extension; `.json` and
//! standard input are told by their first byte (`[` an array, else NDJSON),
//! because both spellings are common under that name.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use super::csv::CsvReader;
use super::input::Input;
use super::json_array::ArrayReader;
use super::ndjson::NdjsonReader;
use super::{InputFormat, ReadError, ReadOptions, SourceRecord};

/// Open a data source (`-` = standard input) as a stream of records.
///
/// Errors are I/O errors: the file cannot be opened or read at all, or its
/// format cannot be told (kind `InvalidInput`). Problems with single records
/// come later, as items of [`Records`].
pub fn open(path: &Path, options: &ReadOptions) -> io::Result<Records> {
    let is_stdin = path.as_os_str() == "-";
    let (reader, name): (Box<dyn Read>, String) = if is_stdin {
        (Box::new(io::stdin().lock()), "standard input".to_owned())
    } else {
        (Box::new(open_file(path)?), path.display().to_string())
    };
    let declared = options.format.or_else(|| InputFormat::from_path(path));
    let mut input = Input::new(reader);
    input.skip_bom()?;
    let format = match declared {
        Some(format) => format,
        None if is_stdin || has_json_extension(path) => sniff(&mut input, is_stdin, &name)?,
        None => return Err(unknown_format(&name)),
    };
    let is_tsv = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("tsv"));
    let delimiter = options.delimiter.or(is_tsv.then_some(b'\t'));
    let mut records = Records::new(input, name, format, options.max_record_bytes);
    if let (Reader::Csv(csv), Some(delimiter)) = (&mut records.reader, delimiter) {
        csv.set_delimiter(delimiter);
    }
    Ok(records)
}

/// Records of `reader` in `format` (`name` names it in messages): for tests
/// and for inputs that are not files. A BOM at the start is skipped.
pub fn from_reader(
    reader: impl Read + 'static,
    name: &str,
    format: InputFormat,
    max_record_bytes: usize,
) -> Records {
    let mut input = Input::new(Box::new(reader));
    match input.skip_bom() {
        Ok(()) => Records::new(input, name.to_owned(), format, max_record_bytes),
        Err(error) => {
            let pending = input.fail(error, 1, 1);
            let mut records = Records::new(input, name.to_owned(), format, max_record_bytes);
            records.pending = Some(pending);
            records
        }
    }
}

/// A file to read, refusing directories up front (reading one fails only
/// at the first read, which would look like a broken record).
fn open_file(path: &Path) -> io::Result<File> {
    let file = File::open(path)?;
    if file.metadata()?.is_dir() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "is a directory"));
    }
    Ok(file)
}

fn has_json_extension(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

/// The format told by the first byte that is not whitespace.
fn sniff(input: &mut Input, is_stdin: bool, name: &str) -> io::Result<InputFormat> {
    match input.peek_past_whitespace()? {
        Some(b'[') => Ok(InputFormat::JsonArray),
        Some(b'{') | None => Ok(InputFormat::Ndjson),
        Some(_) if !is_stdin => Ok(InputFormat::Ndjson),
        Some(_) => Err(unknown_format(name)),
    }
}

fn unknown_format(name: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("cannot tell the data format of {name} (ndjson, json or csv)"),
    )
}

/// A stream of records from one source: `Ok` for each record read, `Err`
/// for each record that could not be.
///
/// After an I/O error the stream yields one `Err` for it and ends;
/// [`Records::io_error`] then tells it apart from a bad record.
pub struct Records {
    format: InputFormat,
    name: String,
    reader: Reader,
    /// An error to yield before anything else.
    pending: Option<ReadError>,
}

/// The reader of each format (the CSV parser's tables are large: boxed).
enum Reader {
    Ndjson(NdjsonReader),
    JsonArray(ArrayReader),
    Csv(Box<CsvReader>),
}

impl Records {
    fn new(input: Input, name: String, format: InputFormat, max_record_bytes: usize) -> Self {
        let reader = match format {
            InputFormat::Ndjson => Reader::Ndjson(NdjsonReader::new(input, max_record_bytes)),
            InputFormat::JsonArray => Reader::JsonArray(ArrayReader::new(input, max_record_bytes)),
            InputFormat::Csv => Reader::Csv(Box::new(CsvReader::new(input, max_record_bytes))),
        };
        Records {
            format,
            name,
            reader,
            pending: None,
        }
    }

    /// The format being read.
    pub fn format(&self) -> InputFormat {
        self.format
    }

    /// The source's name: its path, or "standard input".
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The I/O error that ended the stream early, if one did.
    pub fn io_error(&self) -> Option<&io::Error> {
        let input = match &self.reader {
            Reader::Ndjson(r) => &r.input,
            Reader::JsonArray(r) => &r.input,
            Reader::Csv(r) => &r.input,
        };
        input.error.as_ref()
    }
}

impl Records {
    /// The next record, as [`Iterator::next`] gives it, read into `record`
    /// over the buffers of the record it held before: the loop of a command
    /// that handles one record at a time reads without allocating per record
    /// (NDJSON; the other formats give a new record, moved in). On `Err`,
    /// `record` holds no record (its contents are unspecified).
    ///
    /// ```no_run
    /// # use moodlec::record::{open, ReadOptions, SourceRecord};
    /// let mut records = open("data.ndjson".as_ref(), &ReadOptions::default())?;
    /// let mut slot = SourceRecord::empty(0);
    /// while let Some(item) = records.next_into(&mut slot) {
    ///     if let Ok(record) = item {
    ///         println!("{}: {}", record.number, record.raw);
    ///     }
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn next_into<'r>(
        &mut self,
        record: &'r mut SourceRecord,
    ) -> Option<Result<&'r SourceRecord, ReadError>> {
        if let Some(error) = self.pending.take() {
            return Some(Err(error));
        }
        if self.io_error().is_some() {
            return None;
        }
        let read = match &mut self.reader {
            Reader::Ndjson(r) => r.next_record_into(record)?,
            Reader::JsonArray(r) => r.next_record()?.map(|fresh| *record = fresh),
            Reader::Csv(r) => r.next_record()?.map(|fresh| *record = fresh),
        };
        Some(read.map(|()| &*record))
    }
}

impl Iterator for Records {
    type Item = Result<SourceRecord, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(error) = self.pending.take() {
            return Some(Err(error));
        }
        if self.io_error().is_some() {
            return None;
        }
        match &mut self.reader {
            Reader::Ndjson(r) => r.next_record(),
            Reader::JsonArray(r) => r.next_record(),
            Reader::Csv(r) => r.next_record(),
        }
    }
}

impl std::fmt::Debug for Records {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Records")
            .field("name", &self.name)
            .field("format", &self.format)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn temp_file(name: &str, contents: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("moodlec-record-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    fn formats_of(name: &str, contents: &[u8]) -> io::Result<InputFormat> {
        open(&temp_file(name, contents), &ReadOptions::default()).map(|r| r.format())
    }

    #[test]
    fn format_from_extension() {
        assert_eq!(
            InputFormat::from_path(Path::new("a.ndjson")),
            Some(InputFormat::Ndjson)
        );
        assert_eq!(
            InputFormat::from_path(Path::new("a.JSONL")),
            Some(InputFormat::Ndjson)
        );
        assert_eq!(InputFormat::from_path(Path::new("a.csv")), Some(InputFormat::Csv));
        assert_eq!(InputFormat::from_path(Path::new("a.json")), None);
        assert_eq!(InputFormat::from_path(Path::new("a")), None);
        assert_eq!(InputFormat::JsonArray.name(), "json");
    }

    #[test]
    fn json_files_are_sniffed() {
        assert_eq!(
            formats_of("array.json", b"\xEF\xBB\xBF \n [{\"a\":1}]").unwrap(),
            InputFormat::JsonArray
        );
        assert_eq!(
            formats_of("lines.json", b"{\"a\":1}\n{\"a\":2}\n").unwrap(),
            InputFormat::Ndjson
        );
        assert_eq!(formats_of("empty.json", b"").unwrap(), InputFormat::Ndjson);
        let long_blank = [b" ".repeat(200_000), b"[]".to_vec()].concat();
        assert_eq!(
            formats_of("blank.json", &long_blank).unwrap(),
            InputFormat::JsonArray
        );
    }

    #[test]
    fn sniffing_keeps_every_byte() {
        let path = temp_file("multi.json", b"\n\n[\n{\"a\":1},\n{\"a\":2}]");
        let records: Vec<_> = open(&path, &ReadOptions::default()).unwrap().collect();
        let lines: Vec<u64> = records.iter().map(|r| r.as_ref().unwrap().line).collect();
        assert_eq!(lines, [4, 5]);
    }

    #[test]
    fn explicit_format_wins() {
        let path = temp_file("data.txt", b"a\n1\n");
        let options = ReadOptions {
            format: Some(InputFormat::Csv),
            ..ReadOptions::default()
        };
        let records: Vec<_> = open(&path, &options).unwrap().collect();
        assert_eq!(records.len(), 1);
        let error = open(&path, &ReadOptions::default()).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    }

    /// `next_into` gives what the iterator gives, record for record, over
    /// the buffers of the records before (longer, shorter, other keys).
    #[test]
    fn reading_into_one_record_reads_the_same() {
        let files: [(&str, &[u8]); 3] = [
            (
                "into.ndjson",
                b"{\"a\":1,\"b\":\"x\",\"c\":true}\n\n{\"b\":\"longer text\"}\n{\"a\":\n[1]\n{\"a\":\"q\\\"\",\"n\":{\"x\":1}}\n{}\n{\"c\":null,\"a\":2,\"b\":\"y\",\"d\":1.5}\n{\"a\":\"\xff\"}\n{\"b\":\"z\"}",
            ),
            ("into.json", b"[{\"a\":1,\"b\":\"x\"},{\"b\":2},{\"a\":1,\"a\":2},{\"c\":3}]"),
            ("into.csv", b"a,b\n1,x\n2\n3,\"y\"\n"),
        ];
        for (name, contents) in files {
            let path = temp_file(name, contents);
            let expected: Vec<_> = open(&path, &ReadOptions::default()).unwrap().collect();
            let mut records = open(&path, &ReadOptions::default()).unwrap();
            let mut slot = SourceRecord::empty(0);
            let mut got = Vec::new();
            while let Some(item) = records.next_into(&mut slot) {
                got.push(item.cloned());
            }
            assert_eq!(got.len(), expected.len(), "{name}");
            for (got, expected) in got.iter().zip(&expected) {
                match (got, expected) {
                    (Ok(got), Ok(expected)) => {
                        assert_eq!(
                            (got.number, got.line, &got.fields, &got.raw, &got.spans),
                            (
                                expected.number,
                                expected.line,
                                &expected.fields,
                                &expected.raw,
                                &expected.spans
                            ),
                            "{name}"
                        );
                    }
                    (Err(got), Err(expected)) => assert_eq!(got.to_string(), expected.to_string(), "{name}"),
                    _ => panic!("{name}: {got:?} is not {expected:?}"),
                }
            }
        }
    }

    #[test]
    fn unreadable_paths_are_io_errors() {
        assert!(open(Path::new("/nonexistent/moodlec.ndjson"), &ReadOptions::default()).is_err());
        let dir = std::env::temp_dir();
        let options = ReadOptions {
            format: Some(InputFormat::Ndjson),
            ..ReadOptions::default()
        };
        assert!(open(&dir, &options).is_err());
    }

    /// A reader that fails after some bytes.
    struct Failing(&'static [u8]);

    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Err(io::Error::other("disk on fire"));
            }
            let n = self.0.len().min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn io_errors_end_the_stream_and_are_told_apart() {
        for format in [InputFormat::Ndjson, InputFormat::JsonArray, InputFormat::Csv] {
            let mut records = from_reader(Failing(b"[{\"a\":1},"), "t", format, 1 << 20);
            let items: Vec<_> = records.by_ref().collect();
            let last = items.last().unwrap().as_ref().unwrap_err();
            assert!(
                last.message.contains("disk on fire"),
                "{format:?}: {}",
                last.message
            );
            assert!(records.io_error().is_some(), "{format:?}");
            assert!(records.next().is_none());
        }
    }

    #[test]
    fn stdin_like_readers() {
        let records: Vec<_> = from_reader(&b"{\"a\":1}\n"[..], "-", InputFormat::Ndjson, 1 << 20).collect();
        assert_eq!(records.len(), 1);
        let records = from_reader(&b"[]"[..], "-", InputFormat::JsonArray, 1 << 20);
        assert_eq!(records.name(), "-");
        assert_eq!(records.format(), InputFormat::JsonArray);
    }
}
