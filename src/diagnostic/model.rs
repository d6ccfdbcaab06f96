//! [`Diagnostic`]: one problem, whatever found it, in the shape every output
//! format is made from.

use std::ops::Range;

use super::code::Code;
use super::template::TemplateDiagnostic;

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// The template does not compile, the record is refused, the command stopped.
    Error,
    /// Reported, but the template compiles and the record is valid (an error with `--strict`).
    Warning,
}

impl Severity {
    /// `error` or `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// Where in a file a problem is: 1-based lines and columns (columns count
/// characters), and the byte range within the file when it is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub line: u64,
    pub column: u64,
    pub end_line: u64,
    pub end_column: u64,
    /// Byte offsets in the file (known for templates; a record's position in
    /// its file is known by line only).
    pub bytes: Option<Range<usize>>,
}

impl Location {
    /// The location of `range` within `text`, which starts at line
    /// `first_line`, column `first_column` of its file. A range outside
    /// `text` is the start of it.
    pub fn within(
        text: &str,
        (first_line, first_column): (u64, u64),
        range: Option<Range<usize>>,
    ) -> Location {
        let range = range
            .filter(|r| r.start <= r.end && r.end <= text.len())
            .filter(|r| text.is_char_boundary(r.start) && text.is_char_boundary(r.end))
            .unwrap_or(0..0);
        // Columns of the text's first line are counted from where it starts.
        let shift = |line: u64, column: u64| {
            if line == 1 {
                column + first_column.max(1) - 1
            } else {
                column
            }
        };
        let (line, column) = line_column(text, range.start);
        let (end_line, end_column) = line_column(text, range.end);
        Location {
            line: first_line + line - 1,
            column: shift(line, column),
            end_line: first_line + end_line - 1,
            end_column: shift(end_line, end_column),
            bytes: None,
        }
    }
}

/// 1-based line and character column of byte `offset` in `text`; a byte
/// order mark starting the text is not a column.
fn line_column(text: &str, offset: usize) -> (u64, u64) {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let last = before.rsplit('\n').next().unwrap_or("");
    let last = if line == 1 {
        last.trim_start_matches('\u{feff}')
    } else {
        last
    };
    (line as u64, last.chars().count() as u64 + 1)
}

/// Another record a problem involves: the first holder of a duplicate key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Related {
    /// Its data file, when it is not the problem's own.
    pub file: Option<String>,
    /// Its record number in that file.
    pub record: u64,
}

/// What a person is shown beside the message: the template with its
/// labelled spans, or the record's text (secrets already masked).
#[derive(Debug, Clone)]
pub enum Excerpt {
    Template(Box<TemplateDiagnostic>),
    Text {
        /// The record's text, passwords masked.
        text: String,
        /// The file line `text` starts on.
        first_line: u64,
        /// The offending bytes of `text`.
        span: Option<Range<usize>>,
        /// Said under the span: `` `userid` ``, `this record`.
        label: String,
    },
}

/// One problem: in a template, in a record, or what ended a command.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    /// One sentence saying what is wrong.
    pub message: String,
    /// How to fix it, when that is known.
    pub help: Option<String>,
    /// The template or data file, if the problem is in one.
    pub file: Option<String>,
    pub location: Option<Location>,
    /// 1-based record number within `file`.
    pub record: Option<u64>,
    /// The field (or source key) concerned.
    pub field: Option<String>,
    /// The template concerned, by name, when known.
    pub template: Option<String>,
    pub related: Option<Related>,
    /// For human output only; never part of a machine format.
    pub excerpt: Option<Excerpt>,
}

impl Diagnostic {
    /// A problem with a code and a message, located nowhere yet.
    pub fn new(code: Code, severity: Severity, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity,
            message: message.into(),
            help: None,
            file: None,
            location: None,
            record: None,
            field: None,
            template: None,
            related: None,
            excerpt: None,
        }
    }

    /// An error that is not a template's nor a record's: what ended a command.
    pub fn error(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(code, Severity::Error, message)
    }

    /// Set the help line.
    #[must_use]
    pub fn with_help(mut self, help: Option<impl Into<String>>) -> Diagnostic {
        self.help = help.map(Into::into);
        self
    }

    /// A template problem, located in its source.
    pub fn from_template(diagnostic: &TemplateDiagnostic) -> Diagnostic {
        let severity = if diagnostic.is_error() {
            Severity::Error
        } else {
            Severity::Warning
        };
        Diagnostic {
            help: diagnostic.help.clone(),
            file: diagnostic.source_name().map(str::to_owned),
            location: diagnostic.location(),
            excerpt: Some(Excerpt::Template(Box::new(diagnostic.clone()))),
            ..Diagnostic::new(diagnostic.code, severity, diagnostic.message.clone())
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The line where the record starts (a record's problem may be on a
    /// later line of it: a JSON array element spread over several).
    pub fn record_line(&self) -> Option<u64> {
        self.record?;
        match &self.excerpt {
            Some(Excerpt::Text { first_line, .. }) => Some(*first_line),
            _ => self.location.as_ref().map(|at| at.line),
        }
    }

    /// Where this is, for people: `staff.csv:12:7`, `staff.csv`, or nothing.
    pub fn place(&self) -> Option<String> {
        let file = self.file.as_deref()?;
        Some(match &self.location {
            Some(at) => format!("{file}:{}:{}", at.line, at.column),
            None => file.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_location_counts_lines_from_the_first_line_and_columns_in_characters() {
        let text = "{\"a\": \"é\",\n \"userid\": \"x\"}";
        let start = text.find("\"x\"").unwrap();
        let at = Location::within(text, (10, 1), Some(start..start + 3));
        assert_eq!((at.line, at.column, at.end_line, at.end_column), (11, 12, 11, 15));
        let first = Location::within(text, (10, 1), None);
        assert_eq!((first.line, first.column), (10, 1));
        // A text starting mid-line (a JSON array element): its first line's
        // columns are shifted, the others are not.
        let indented = Location::within(text, (10, 3), Some(1..4));
        assert_eq!((indented.line, indented.column, indented.end_column), (10, 4, 7));
        let below = Location::within(text, (10, 3), Some(start..start + 3));
        assert_eq!((below.line, below.column), (11, 12));
    }

    #[test]
    fn a_range_outside_the_text_is_its_start() {
        let at = Location::within("abc", (3, 1), Some(2..9));
        assert_eq!((at.line, at.column), (3, 1));
    }
}
