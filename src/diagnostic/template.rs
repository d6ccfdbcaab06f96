//! Template diagnostics: one error or warning at a span of a named source.
//!
//! Every stage that reads a template file reports problems as a
//! [`TemplateDiagnostic`]: a stable [`Code`], a message, a labelled span, an
//! optional help line and optional secondary labels, which miette draws.

use std::fmt;
use std::sync::Arc;

use miette::{LabeledSpan, NamedSource, Severity, SourceCode};

use super::code::Code;
use super::location::Location;
use crate::span::Span;

/// A template source: its display name and text.
#[derive(Debug, Clone)]
pub struct Source {
    /// File name (or `builtin:NAME` for embedded templates).
    pub name: String,
    /// The text.
    pub text: Arc<str>,
}

impl Source {
    /// A source from a name and its text.
    pub fn new(name: impl Into<String>, text: impl Into<Arc<str>>) -> Self {
        Source {
            name: name.into(),
            text: text.into(),
        }
    }

    fn named(&self) -> NamedSource<Arc<str>> {
        NamedSource::new(&self.name, Arc::clone(&self.text)).with_language("moodlec")
    }
}

/// One problem in a template file.
#[derive(Debug, Clone)]
pub struct TemplateDiagnostic {
    /// What kind of problem.
    pub code: Code,
    /// Error or warning.
    pub severity: Severity,
    /// One sentence saying what is wrong.
    pub message: String,
    /// Where it is.
    pub span: Span,
    /// Text under the primary span.
    pub label: String,
    /// How to fix it, if known.
    pub help: Option<String>,
    /// Other places involved (e.g. the first declaration of a duplicate).
    pub related: Vec<(Span, String)>,
    source: Option<NamedSource<Arc<str>>>,
}

impl TemplateDiagnostic {
    /// An error at `span`.
    pub fn error(code: Code, span: Span, message: impl Into<String>) -> Self {
        TemplateDiagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            span,
            label: "here".to_owned(),
            help: None,
            related: Vec::new(),
            source: None,
        }
    }

    /// A warning at `span`: reported, but the template still compiles.
    pub fn warning(code: Code, span: Span, message: impl Into<String>) -> Self {
        TemplateDiagnostic {
            severity: Severity::Warning,
            ..TemplateDiagnostic::error(code, span, message)
        }
    }

    /// Set the label under the span.
    #[must_use]
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    /// Set the help line.
    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Add a secondary labelled span.
    #[must_use]
    pub fn related(mut self, span: Span, label: impl Into<String>) -> Self {
        self.related.push((span, label.into()));
        self
    }

    /// Attach the source the spans point into.
    #[must_use]
    pub fn in_source(mut self, source: &Source) -> Self {
        self.source = Some(source.named());
        self
    }

    /// The name of the source file, if attached.
    pub fn source_name(&self) -> Option<&str> {
        self.source.as_ref().map(NamedSource::name)
    }

    /// 1-based line and column of the primary span, if the source is attached.
    pub fn line_col(&self) -> Option<(usize, usize)> {
        let at = self.location()?;
        Some((at.line as usize, at.column as usize))
    }

    /// Where the primary span is, if the source is attached.
    pub fn location(&self) -> Option<Location> {
        let text = self.source.as_ref()?.inner();
        let range = self.span.start..self.span.end;
        text.get(range.clone())?;
        Some(Location {
            bytes: Some(range.clone()),
            ..Location::within(text, (1, 1), Some(range))
        })
    }

    /// Whether this is an error (not a warning).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for TemplateDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TemplateDiagnostic {}

impl miette::Diagnostic for TemplateDiagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(format!("moodlec::{}", self.code)))
    }

    fn severity(&self) -> Option<Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let primary = LabeledSpan::new_primary_with_span(Some(self.label.clone()), self.span);
        let others = self
            .related
            .iter()
            .map(|(span, label)| LabeledSpan::new_with_span(Some(label.clone()), *span));
        Some(Box::new(std::iter::once(primary).chain(others)))
    }
}
