//! Problems for people: miette excerpts of the template or the record, the
//! folded repeats, and the summary line, on standard error.

use std::fmt;
use std::io;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteSpanContents};
use miette::{SourceCode, SourceSpan, SpanContents};
use moodlec::diagnostic::{Diagnostic, Excerpt, Severity};

use super::sink::{Destination, Shown, Sink, Summary};

/// Width diagnostics wrap at: stable so output is the same on every terminal and in tests.
const WIDTH: usize = 100;

/// The miette handler, in colour when `colour`.
fn handler(colour: bool) -> GraphicalReportHandler {
    let theme = if colour {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    GraphicalReportHandler::new_themed(theme).with_width(WIDTH)
}

pub struct Human {
    out: Destination,
    /// Made once: in colour when the destination is a terminal that wants it.
    handler: GraphicalReportHandler,
}

impl Human {
    pub fn new(out: Destination) -> Human {
        let handler = handler(out.colour());
        Human { out, handler }
    }

    fn draw(&self, shown: &Shown<'_>) -> String {
        let diagnostic = shown.diagnostic;
        let mut out = String::new();
        let drawn = match &diagnostic.excerpt {
            Some(Excerpt::Template(template)) => self.handler.render_report(&mut out, template.as_ref()),
            Some(Excerpt::Text { .. }) => self
                .handler
                .render_report(&mut out, &RecordDiagnostic::new(diagnostic)),
            None => {
                out = plain(diagnostic);
                Ok(())
            }
        };
        if drawn.is_err() {
            out = plain(diagnostic);
        }
        if let Some(repeats) = shown.repeats() {
            out.push_str(&format!("  = {repeats}\n"));
        }
        out
    }
}

/// `error: message` and a help line: a problem with nothing to excerpt.
fn plain(diagnostic: &Diagnostic) -> String {
    let mut text = format!("{}: {}\n", diagnostic.severity.as_str(), headline(diagnostic));
    if let Some(help) = &diagnostic.help {
        text.push_str(&format!("  help: {help}\n"));
    }
    text
}

/// The message, prefixed with the record when there is one.
fn headline(diagnostic: &Diagnostic) -> String {
    match (diagnostic.record, diagnostic.record_line()) {
        (Some(record), Some(line)) => format!("record {record} (line {line}): {}", diagnostic.message),
        (Some(record), None) => format!("record {record}: {}", diagnostic.message),
        (None, _) => diagnostic.message.clone(),
    }
}

impl Sink for Human {
    fn diagnostic(&mut self, shown: &Shown<'_>) -> io::Result<()> {
        let text = self.draw(shown);
        self.out.write_str(&text)
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        if summary.not_shown > 0 {
            self.out.write_str(&format!(
                "{} more problem(s) not shown (--max-errors)\n",
                summary.not_shown
            ))?;
        }
        if !summary.headline.is_empty() {
            self.out.write_str(&format!("{}\n", summary.headline))?;
        }
        self.out.flush()
    }
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
    fn new(diagnostic: &Diagnostic) -> Self {
        let (source, span, label) = match &diagnostic.excerpt {
            Some(Excerpt::Text {
                text,
                first_line,
                span,
                label,
            }) => {
                let text = text.trim_end_matches(['\n', '\r']).to_owned();
                let range = span
                    .clone()
                    .filter(|r| r.end <= text.len())
                    .unwrap_or(0..text.len().min(text.find('\n').unwrap_or(text.len())));
                let zero_based = |n: u64| usize::try_from(n.saturating_sub(1)).unwrap_or(0);
                let source = RecordSource {
                    name: diagnostic.file.clone().unwrap_or_default(),
                    text,
                    first_line: zero_based(*first_line),
                    header: diagnostic
                        .location
                        .as_ref()
                        .map(|at| (zero_based(at.line), zero_based(at.column))),
                };
                (Some(source), Some(SourceSpan::from(range)), label.clone())
            }
            _ => (None, None, String::new()),
        };
        let mut help = diagnostic.help.clone();
        if let Some(also) = diagnostic.see_also() {
            help = Some(help.map_or(also.clone(), |h| format!("{h}; {also}")));
        }
        RecordDiagnostic {
            message: headline(diagnostic),
            code: format!("moodlec::{}", diagnostic.code),
            help,
            label,
            span,
            source,
            warning: diagnostic.severity == Severity::Warning,
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

impl miette::Diagnostic for RecordDiagnostic {
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
    /// The problem's line and column in the file (0-based), for miette's
    /// `file:line:col` header: the text shown may have passwords masked
    /// (other lengths) and may start mid-line (a JSON array element).
    header: Option<(usize, usize)>,
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
        // miette reads the primary span without context only for the header.
        let (line, column) = match self.header {
            Some(at) if context_lines_before == 0 && context_lines_after == 0 => at,
            _ => (inner.line() + self.first_line, inner.column()),
        };
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            *inner.span(),
            line,
            column,
            inner.line_count(),
        )))
    }
}
