//! Printing diagnostics and errors for people and for programs.

use std::io::{IsTerminal, Write};

use miette::{GraphicalReportHandler, GraphicalTheme};
use moodlec::diagnostic::TemplateDiagnostic;
use serde_json::json;

use super::error::{Error, ErrorKind, Message, Report};

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
        write_ignoring_errors(&mut stderr, &text);
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

/// Print the error that ended a command in the command's `format`: for
/// people on stderr; as one JSON object per line on stdout, where programs
/// read the rest of a machine format; as GitHub annotations on stderr.
pub fn print_error(error: &Error, format: DiagnosticFormat) {
    match error.report() {
        Report::Messages(messages) => {
            for Message { message, help } in messages {
                print_message(error.kind(), message, help.as_deref(), format);
            }
        }
        Report::Template(diagnostics) if format == DiagnosticFormat::Json => {
            let mut stdout = std::io::stdout().lock();
            for diagnostic in diagnostics {
                write_ignoring_errors(&mut stdout, &format!("{}\n", diagnostic_json(diagnostic)));
            }
        }
        Report::Template(diagnostics) => print_diagnostics(diagnostics, format),
        Report::AlreadyShown => {}
    }
}

fn print_message(kind: ErrorKind, message: &str, help: Option<&str>, format: DiagnosticFormat) {
    match format {
        DiagnosticFormat::Human => self::error(message, help),
        DiagnosticFormat::Json => {
            let line = error_json(kind, message, help);
            let mut stdout = std::io::stdout().lock();
            let written = stdout.write_all(format!("{line}\n").as_bytes());
            // Standard output may be why the command ended (a full disk): then say it where it can be seen.
            if written.and_then(|()| stdout.flush()).is_err() {
                self::error(message, help);
            }
        }
        DiagnosticFormat::Github => {
            let text = error_annotation(kind, message, help);
            write_ignoring_errors(&mut std::io::stderr().lock(), &text);
        }
    }
}

/// The JSON object of an error, in the shape of the JSON diagnostics.
fn error_json(kind: ErrorKind, message: &str, help: Option<&str>) -> serde_json::Value {
    json!({
        "severity": "error",
        "code": kind.code(),
        "message": message,
        "help": help,
    })
}

/// A GitHub `::error` annotation for an error that belongs to no file.
fn error_annotation(kind: ErrorKind, message: &str, help: Option<&str>) -> String {
    let mut text = message.to_owned();
    if let Some(help) = help {
        text.push_str(" — ");
        text.push_str(help);
    }
    let title = kind.code().trim_start_matches("moodlec::");
    format!(
        "::error title={}::{}\n",
        escape_property(title),
        escape_data(&text)
    )
}

/// Print an error for people, with an optional help line: the terminal form
/// of [`print_error`], and the form of errors a command reports and goes on
/// after (a call fetch's site refused; run's "nothing was sent").
pub fn error(message: &str, help: Option<&str>) {
    let mut text = format!("error: {message}\n");
    if let Some(help) = help {
        text.push_str(&format!("  help: {help}\n"));
    }
    write_ignoring_errors(&mut std::io::stderr().lock(), &text);
}

/// A line of progress or summary on stderr. A stderr that cannot be written
/// to has nowhere to report that: the line is dropped, never a panic.
pub fn note(line: &str) {
    write_ignoring_errors(&mut std::io::stderr().lock(), &format!("{line}\n"));
}

/// Write `text` to standard output.
///
/// # Errors
/// Standard output cannot be written (a full disk; a closed pipe where
/// SIGPIPE is ignored): the command's output is lost, so it ends (exit 2).
pub fn stdout(text: &str) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|error| stdout_error(&error))
}

/// The error of a failed write to standard output.
pub fn stdout_error(error: &std::io::Error) -> Error {
    Error::usage(format!("cannot write standard output: {error}"))
}

fn write_ignoring_errors(out: &mut impl Write, text: &str) {
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}
