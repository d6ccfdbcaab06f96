//! [`Diagnostic`]: one problem, whatever found it, in the shape every output
//! format is made from.

use std::ops::Range;

use super::code::Code;
use super::location::Location;
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

    /// `see record 1 of staff.csv` (`see record 1` in the same file), when
    /// another record is involved.
    pub fn see_also(&self) -> Option<String> {
        let other = self.related.as_ref()?;
        Some(match &other.file {
            Some(file) => format!("see record {} of {file}", other.record),
            None => format!("see record {}", other.record),
        })
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
    fn a_record_problem_says_where_the_record_starts_and_where_the_problem_is() {
        let problem = Diagnostic {
            file: Some("catalogue.json".to_owned()),
            record: Some(7),
            location: Some(Location::within("{\n  \"fullname\": 1}", (45, 3), Some(4..14))),
            excerpt: Some(Excerpt::Text {
                text: String::new(),
                first_line: 45,
                span: None,
                label: String::new(),
            }),
            ..Diagnostic::new(Code::WrongType, Severity::Error, "wrong")
        };
        assert_eq!(problem.record_line(), Some(45));
        assert_eq!(problem.place().as_deref(), Some("catalogue.json:46:3"));
        let template = Diagnostic::new(Code::Server, Severity::Error, "down");
        assert_eq!((template.record_line(), template.place()), (None, None));
    }
}
