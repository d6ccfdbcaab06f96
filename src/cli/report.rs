//! Plain lines for people, and standard output for programs.

use std::io::Write;

use super::error::Error;

/// Print an error for people, with an optional help line: the form of
/// errors a command reports and goes on after (a call fetch's site
/// refused; run's "nothing was sent").
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
