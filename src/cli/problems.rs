//! Record problems as [`Diagnostic`]s: located in the data file, with the
//! record's text as the excerpt people see, passwords masked before any
//! format can show them.

use std::cell::OnceCell;
use std::ops::Range;

use moodlec::diagnostic::{Diagnostic, Excerpt, Location, Related, Severity};
use moodlec::record::{is_secret_key, json_secrets, mask, ReadError, SourceRecord};
use moodlec::template::{FieldType, ScalarType, Template};
use moodlec::validate::Violation;

/// One record of one data file, ready to turn its violations into diagnostics.
pub struct RecordProblems<'a> {
    file: &'a str,
    template: &'a Template,
    record: &'a SourceRecord,
    /// Byte ranges of the record's text never shown: the values of
    /// passwords, found when the first problem is (most records have none).
    secrets: OnceCell<Vec<Range<usize>>>,
}

impl<'a> RecordProblems<'a> {
    /// The record, its excerpt masking the values of the template's
    /// `password` fields, of the source keys their maps read, and of any
    /// key that says it is a password (`password`, `passwd`, in any case,
    /// nested too).
    pub fn new(file: &'a str, template: &'a Template, record: &'a SourceRecord) -> Self {
        RecordProblems {
            file,
            template,
            record,
            secrets: OnceCell::new(),
        }
    }

    /// A violation of this record as a diagnostic.
    pub fn diagnostic(&self, violation: &Violation, severity: Severity) -> Diagnostic {
        Diagnostic {
            help: violation.help.clone(),
            related: violation.other_record.map(|other| Related {
                file: violation.other_source.clone(),
                record: other,
            }),
            ..self.at(
                Diagnostic::new(violation.code, severity, violation.message.clone()),
                violation.field.as_deref(),
                violation.span.clone(),
            )
        }
    }

    /// `diagnostic` located in this record, at `span` of its text (the
    /// whole record when `None`), about `field`.
    pub fn at(&self, diagnostic: Diagnostic, field: Option<&str>, span: Option<Range<usize>>) -> Diagnostic {
        let record = self.record;
        let location = Location::within(&record.raw, (record.line, record.column), span.clone());
        let secrets = self.secrets.get_or_init(|| secrets(self.template, record));
        let (text, span) = mask(&record.raw, secrets, span);
        let label = field.map_or_else(|| "this record".to_owned(), |f| format!("`{f}`"));
        Diagnostic {
            file: Some(self.file.to_owned()),
            location: Some(location),
            record: Some(record.number),
            field: field.map(str::to_owned),
            excerpt: Some(Excerpt::Text {
                text,
                first_line: record.line,
                span,
                label,
            }),
            ..diagnostic
        }
    }
}

/// The ranges of `record`'s text that hold a password, outermost first,
/// never overlapping.
fn secrets(template: &Template, record: &SourceRecord) -> Vec<Range<usize>> {
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
    let mut secrets: Vec<Range<usize>> = record
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
    let mut kept: Vec<Range<usize>> = Vec::new();
    for range in secrets {
        if kept.last().is_none_or(|last| range.start >= last.end) {
            kept.push(range);
        }
    }
    kept
}

/// A record that could not be read, as a diagnostic. Its excerpt is what
/// the reader kept (about 200 bytes, passwords already masked).
pub fn read_error(file: &str, error: &ReadError) -> Diagnostic {
    let raw = error.raw.as_deref().unwrap_or("");
    Diagnostic {
        file: Some(file.to_owned()),
        location: Some(
            error
                .location
                .clone()
                .unwrap_or_else(|| Location::within(raw, (error.line, 1), error.span.clone())),
        ),
        record: Some(error.number),
        excerpt: error.raw.as_ref().map(|raw| Excerpt::Text {
            text: raw.clone(),
            first_line: error.line,
            span: error.span.clone(),
            label: "this record".to_owned(),
        }),
        ..Diagnostic::new(
            moodlec::diagnostic::Code::Unreadable,
            Severity::Error,
            error.message.clone(),
        )
    }
}
