//! Printing diagnostics and errors for people and for programs.

use std::io::{IsTerminal, Write};

use miette::{GraphicalReportHandler, GraphicalTheme};
use moodlec::diagnostic::TemplateDiagnostic;
use serde_json::json;

/// How diagnostics are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiagnosticFormat {
    /// Annotated source excerpts for people.
    Human,
    /// One JSON object per line for programs.
    Json,
    /// GitHub Actions `::error` annotations.
    Github,
}

/// Width diagnostics wrap at: stable so output is the same on every terminal and in tests.
const WIDTH: usize = 100;

pub fn handler() -> GraphicalReportHandler {
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    GraphicalReportHandler::new_themed(theme).with_width(WIDTH)
}

/// A diagnostic rendered for a person, as a string.
pub fn render_human(diagnostic: &TemplateDiagnostic) -> String {
    let mut out = String::new();
    if handler().render_report(&mut out, diagnostic).is_err() {
        out = format!("error: {diagnostic}\n");
    }
    out
}

/// Print template diagnostics to stderr in `format`.
pub fn print_diagnostics(diagnostics: &[TemplateDiagnostic], format: DiagnosticFormat) {
    let mut stderr = std::io::stderr().lock();
    for diagnostic in diagnostics {
        let text = match format {
            DiagnosticFormat::Human => render_human(diagnostic),
            DiagnosticFormat::Json => format!("{}\n", diagnostic_json(diagnostic)),
            DiagnosticFormat::Github => github_annotation(diagnostic),
        };
        let _ = stderr.write_all(text.as_bytes());
    }
}

fn diagnostic_json(diagnostic: &TemplateDiagnostic) -> serde_json::Value {
    let (line, column) = diagnostic.line_col().unzip();
    json!({
        "file": diagnostic.source_name(),
        "line": line,
        "column": column,
        "start": diagnostic.span.start,
        "end": diagnostic.span.end,
        "severity": if diagnostic.is_error() { "error" } else { "warning" },
        "code": format!("moodlec::{}", diagnostic.code.as_str()),
        "message": diagnostic.message,
        "label": diagnostic.label,
        "help": diagnostic.help,
    })
}

fn github_annotation(diagnostic: &TemplateDiagnostic) -> String {
    let level = if diagnostic.is_error() { "error" } else { "warning" };
    let file = diagnostic.source_name().unwrap_or("-");
    let (line, column) = diagnostic.line_col().unwrap_or((1, 1));
    let mut message = diagnostic.message.clone();
    if let Some(help) = &diagnostic.help {
        message.push_str(" — ");
        message.push_str(help);
    }
    format!(
        "::{level} file={},line={line},col={column},title={}::{}\n",
        escape_property(file),
        escape_property(diagnostic.code.as_str()),
        escape_data(&message)
    )
}

/// GitHub workflow command escaping for the message part.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// GitHub workflow command escaping for properties (file, title).
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// Print a one-off error (usage, I/O) with an optional help line.
pub fn error(message: &str, help: Option<&str>) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "error: {message}");
    if let Some(help) = help {
        let _ = writeln!(stderr, "  help: {help}");
    }
}
