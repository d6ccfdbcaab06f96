//! Printing record problems: miette excerpts, JSON lines, GitHub annotations.

use std::fmt;
use std::io::Write;

use miette::{Diagnostic, LabeledSpan, MietteSpanContents, SourceCode, SourceSpan, SpanContents};
use serde_json::json;

use super::report::{escape_data, escape_property, DiagnosticFormat};
use moodlec::record::{is_secret_key, json_secrets, mask, ReadError, SourceRecord};
use moodlec::template::{FieldType, ScalarType, Template};
use moodlec::validate::Violation;

/// One problem of one record, whatever stage found it.
pub struct Problem<'a> {
    /// The data file.
    pub file: &'a str,
    /// 1-based record number.
    pub record: u64,
    /// Line where the record starts.
    pub line: u64,
    /// The record's text, if known.
    pub raw: Option<&'a str>,
    /// Field or key concerned.
    pub field: Option<&'a str>,
    /// Stable code.
    pub code: &'a str,
    /// What is wrong.
    pub message: &'a str,
    /// How to fix it.
    pub help: Option<&'a str>,
    /// Offending bytes within `raw`.
    pub span: Option<std::ops::Range<usize>>,
    /// Another record involved.
    pub other_record: Option<u64>,
    /// A warning: reported, but the record is still valid.
    pub warning: bool,
    /// Byte ranges of `raw` never shown: the values of passwords.
    pub secrets: Vec<std::ops::Range<usize>>,
}

impl<'a> Problem<'a> {
    /// A problem from a validation violation.
    pub fn from_violation(
        file: &'a str,
        record: u64,
        line: u64,
        raw: Option<&'a str>,
        v: &'a Violation,
    ) -> Self {
        Problem {
            file,
            record,
            line,
            raw,
            field: v.field.as_deref(),
            code: v.code,
            message: &v.message,
            help: v.help.as_deref(),
            span: v.span.clone(),
            other_record: v.other_record,
            warning: false,
            secrets: Vec::new(),
        }
    }

    /// The same problem, its excerpt of `record` (its `raw`) masking the
    /// values of the template's `password` fields, of the source keys their
    /// maps read, and of any key that says it is a password (`password`,
    /// `passwd`, in any case, nested too).
    #[must_use]
    pub fn masking(mut self, template: &Template, record: &SourceRecord) -> Self {
        let is_password = |name: &str| {
            template
                .fields
                .iter()
                .any(|f| f.name == name && matches!(f.ty, FieldType::Scalar(ScalarType::Password)))
        };
        // A source key is a password's when it is one, or a `map` of a
        // password field reads it (`map password = "{{ pw }}"`).
        let password_field = |key: &str| {
            is_password(key)
                || template.mapping.as_ref().is_some_and(|mapping| {
                    mapping
                        .maps
                        .iter()
                        .any(|map| is_password(&map.field) && map.reads.iter().any(|read| read == key))
                })
        };
        let mut secrets: Vec<std::ops::Range<usize>> = record
            .fields
            .iter()
            .zip(&record.spans)
            .filter(|((key, _), _)| password_field(key) || is_secret_key(key))
            .filter_map(|(_, span)| span.clone())
            .collect();
        if record.raw.trim_start().starts_with('{') {
            secrets.extend(json_secrets(&record.raw));
        }
        secrets.sort_by_key(|r| (r.start, std::cmp::Reverse(r.end)));
        let mut kept: Vec<std::ops::Range<usize>> = Vec::new();
        for range in secrets {
            if kept.last().map_or(true, |last| range.start >= last.end) {
                kept.push(range);
            }
        }
        self.secrets = kept;
        self
    }

    /// The same problem, as a warning.
    #[must_use]
    pub fn into_warning(mut self) -> Self {
        self.warning = true;
        self
    }

    /// A problem from a record that could not be read.
    pub fn from_read_error(file: &'a str, e: &'a ReadError) -> Self {
        Problem {
            file,
            record: e.number,
            line: e.line,
            raw: e.raw.as_deref(),
            field: None,
            code: "unreadable",
            message: &e.message,
            help: None,
            span: e.span.clone(),
            other_record: None,
            warning: false,
            secrets: Vec::new(),
        }
    }
}

/// Print one problem to stderr in `format`.
pub fn print(problem: &Problem<'_>, format: DiagnosticFormat) {
    let text = match format {
        DiagnosticFormat::Human => human(problem),
        DiagnosticFormat::Json => format!("{}\n", to_json(problem)),
        DiagnosticFormat::Github => github(problem),
    };
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// The JSON object of a problem.
pub fn to_json(p: &Problem<'_>) -> serde_json::Value {
    json!({
        "file": p.file,
        "severity": if p.warning { "warning" } else { "error" },
        "record": p.record,
        "line": p.line,
        "field": p.field,
        "code": p.code,
        "message": p.message,
        "help": p.help,
        "other_record": p.other_record,
    })
}

fn github(p: &Problem<'_>) -> String {
    format!(
        "::{} file={},line={},title={}::record {}: {}{}\n",
        if p.warning { "warning" } else { "error" },
        escape_property(p.file),
        p.line,
        escape_property(p.code),
        p.record,
        escape_data(p.message),
        p.help
            .map(|h| escape_data(&format!(" — {h}")))
            .unwrap_or_default()
    )
}

fn human(p: &Problem<'_>) -> String {
    let mut out = String::new();
    let diagnostic = RecordDiagnostic::new(p);
    if super::report::handler()
        .render_report(&mut out, &diagnostic)
        .is_err()
    {
        out = format!("error: record {}: {}\n", p.record, p.message);
    }
    out
}

/// A record problem as a miette diagnostic over the record's own text,
/// numbered with the data file's line numbers.
struct RecordDiagnostic {
    message: String,
    code: String,
    help: Option<String>,
    label: String,
    span: Option<SourceSpan>,
    source: Option<RecordSource>,
    warning: bool,
}

impl RecordDiagnostic {
    fn new(p: &Problem<'_>) -> Self {
        let masked = p.raw.map(|raw| mask(raw, &p.secrets, p.span.clone()));
        let source = masked.as_ref().map(|(text, _)| RecordSource {
            name: p.file.to_owned(),
            text: text.trim_end_matches(['\n', '\r']).to_owned(),
            first_line: usize::try_from(p.line.saturating_sub(1)).unwrap_or(0),
        });
        let span = source.as_ref().map(|s| {
            let range = masked
                .as_ref()
                .and_then(|(_, span)| span.clone())
                .filter(|r| r.end <= s.text.len())
                .unwrap_or(0..s.text.len().min(s.text.find('\n').unwrap_or(s.text.len())));
            SourceSpan::from(range)
        });
        let mut help = p.help.map(str::to_owned);
        if let Some(other) = p.other_record {
            let also = format!("see record {other}");
            help = Some(help.map_or(also.clone(), |h| format!("{h}; {also}")));
        }
        RecordDiagnostic {
            message: format!("record {} (line {}): {}", p.record, p.line, p.message),
            code: format!("moodlec::record::{}", p.code),
            help,
            label: p
                .field
                .map_or_else(|| "this record".to_owned(), |f| format!("`{f}`")),
            span,
            source,
            warning: p.warning,
        }
    }
}

impl fmt::Debug for RecordDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for RecordDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RecordDiagnostic {}

impl Diagnostic for RecordDiagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(&self.code))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(if self.warning {
            miette::Severity::Warning
        } else {
            miette::Severity::Error
        })
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.span?;
        Some(Box::new(std::iter::once(LabeledSpan::new_primary_with_span(
            Some(self.label.clone()),
            span,
        ))))
    }
}

/// A record's text that reports line numbers of the whole data file.
#[derive(Debug)]
struct RecordSource {
    name: String,
    text: String,
    first_line: usize,
}

impl SourceCode for RecordSource {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, miette::MietteError> {
        let inner = self
            .text
            .read_span(span, context_lines_before, context_lines_after)?;
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            *inner.span(),
            inner.line() + self.first_line,
            inner.column(),
            inner.line_count(),
        )))
    }
}
