//! What every output format implements, and where outputs are written.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::Path;

use moodlec::diagnostic::Diagnostic;
use serde::Serialize;

use super::fold::Fold;
use super::Format;
use crate::cli::error::{Error, ErrorKind};

/// One problem as shown: once, or folded with the ones like it.
pub struct Shown<'a> {
    pub diagnostic: &'a Diagnostic,
    /// How many times it was reported (1 when not folded).
    pub count: u64,
    /// The first record numbers it was reported for, when folded.
    pub records: &'a [u64],
}

impl<'a> Shown<'a> {
    pub fn once(diagnostic: &'a Diagnostic) -> Shown<'a> {
        Shown {
            diagnostic,
            count: 1,
            records: &[],
        }
    }

    pub fn folded(fold: &'a Fold) -> Shown<'a> {
        Shown {
            diagnostic: &fold.first,
            count: fold.count,
            records: &fold.records,
        }
    }

    /// `the same in 1999 more records: 2, 3, 4, 5, 6, …`, when folded.
    pub fn repeats(&self) -> Option<String> {
        if self.count <= 1 {
            return None;
        }
        let more = self.count - 1;
        let mut numbers: Vec<String> = self.records.iter().skip(1).map(u64::to_string).collect();
        if more > numbers.len() as u64 {
            numbers.push("…".to_owned());
        }
        let what = if self.diagnostic.record.is_some() {
            "records"
        } else {
            "places"
        };
        Some(if numbers.is_empty() {
            format!("the same {more} more time(s)")
        } else {
            format!("the same in {more} more {what}: {}", numbers.join(", "))
        })
    }
}

/// What a command checked in one file: the passing testcases of JUnit.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Checked {
    /// Records read from a data file, and how many were valid.
    Records { read: u64, valid: u64 },
    /// Templates of a template file that compiled.
    Templates { compiled: Vec<String> },
}

/// One file a command read.
#[derive(Debug, Clone)]
pub struct FileTally {
    pub name: String,
    pub checked: Checked,
}

/// How a command ended, for the end of every output.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    #[serde(skip)]
    pub command: &'static str,
    /// The human line: `records read: 3, valid: 1, invalid: 2`.
    #[serde(skip)]
    pub headline: String,
    #[serde(skip)]
    pub files: Vec<FileTally>,
    #[serde(skip)]
    pub ended: Option<ErrorKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub templates: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invalid: Option<u64>,
    pub errors: u64,
    pub warnings: u64,
    pub not_shown: u64,
    /// What could not be checked, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unchecked: Vec<String>,
}

impl Summary {
    /// The files read, as JSON counts: `"files": 2`.
    pub fn file_count(&self) -> usize {
        self.files.len()
    }

    /// `moodlec validate: 2 errors, 1 warning` and how it ended.
    pub fn title(&self) -> String {
        let mut title = format!(
            "moodlec {}: {} error(s), {} warning(s)",
            self.command, self.errors, self.warnings
        );
        if let Some(kind) = self.ended {
            title.push_str(&format!(", stopped ({})", kind.code()));
        }
        title
    }
}

/// An output format.
pub trait Sink {
    /// One problem, as it is reported (formats that need the whole picture keep it).
    fn diagnostic(&mut self, shown: &Shown<'_>) -> io::Result<()>;
    /// The end: the summary, and whatever was kept.
    fn finish(&mut self, summary: &Summary) -> io::Result<()>;
}

/// Where an output is written.
pub enum Destination {
    Stdout,
    Stderr,
    /// A file, and its name for errors.
    File(BufWriter<File>, String),
}

impl Destination {
    /// Where `format` goes without `-o`: human text to standard error,
    /// machine formats to standard output.
    pub fn standard(format: Format) -> Destination {
        if format == Format::Human {
            Destination::Stderr
        } else {
            Destination::Stdout
        }
    }

    /// A file created (or truncated) for a report.
    pub fn file(path: &Path) -> Result<Destination, Error> {
        let file = File::create(path)
            .map_err(|error| Error::usage(format!("cannot create {}: {error}", path.display())))?;
        Ok(Destination::File(
            BufWriter::new(file),
            path.display().to_string(),
        ))
    }

    /// A file appended to: `$GITHUB_STEP_SUMMARY`.
    pub fn append(path: &Path) -> Result<Destination, Error> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|error| Error::usage(format!("cannot open {}: {error}", path.display())))?;
        Ok(Destination::File(
            BufWriter::new(file),
            path.display().to_string(),
        ))
    }

    /// Whether colour may be used: standard error on a terminal, NO_COLOR unset.
    pub fn colour(&self) -> bool {
        use std::io::IsTerminal;
        matches!(self, Destination::Stderr)
            && io::stderr().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
    }

    /// What it is called in an error: `standard output`, `report.xml`.
    pub fn name(&self) -> String {
        match self {
            Destination::Stdout => "standard output".to_owned(),
            Destination::Stderr => "standard error".to_owned(),
            Destination::File(_, name) => name.clone(),
        }
    }

    pub fn write_str(&mut self, text: &str) -> io::Result<()> {
        match self {
            Destination::Stdout => {
                let mut out = io::stdout().lock();
                out.write_all(text.as_bytes())?;
                out.flush()
            }
            // Standard error going away is no reason to stop.
            Destination::Stderr => {
                let mut err = io::stderr().lock();
                let _ = err.write_all(text.as_bytes());
                let _ = err.flush();
                Ok(())
            }
            Destination::File(file, _) => file.write_all(text.as_bytes()),
        }
    }

    pub fn flush(&mut self) -> io::Result<()> {
        match self {
            Destination::File(file, _) => file.flush(),
            Destination::Stdout | Destination::Stderr => Ok(()),
        }
    }
}
