//! `moodlec fmt`: canonical formatting of template files.

use std::io::Read;
use std::path::Path;
use std::path::PathBuf;

use moodlec::diagnostic::Source;
use moodlec::fmt::format_source;

use crate::cli::error::{Error, ErrorKind};
use crate::cli::exit::Outcome;
use crate::cli::output::{self, Format};
use crate::cli::report;

/// Rewrite template files in canonical form.
///
/// With --check, change nothing: list the files that are not formatted and
/// exit 1 if there are any (for CI). `-` formats stdin to stdout.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Template files (*.moodle), or `-` for stdin.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Only report files that would change.
    #[arg(long)]
    check: bool,
}

/// Every file is formatted (or checked) even when one fails: each failure
/// is printed as it happens, and the command then ends with exit 2.
pub fn run(args: &Args) -> Result<Outcome, Error> {
    if let [only] = args.files.as_slice() {
        return format_one(only, args.check);
    }
    let mut outcome = Outcome::Ok;
    let mut failed = false;
    for path in &args.files {
        match format_one(path, args.check) {
            Ok(this) => outcome = outcome.max(this),
            Err(error) => {
                output::print_error("fmt", error, Format::Human);
                failed = true;
            }
        }
    }
    if failed {
        return Err(Error::already_shown(ErrorKind::Usage));
    }
    Ok(outcome)
}

fn format_one(path: &Path, check: bool) -> Result<Outcome, Error> {
    if path.as_os_str() == "-" {
        format_stdin()
    } else {
        format_file(path, check)
    }
}

fn format_stdin() -> Result<Outcome, Error> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| Error::usage(format!("cannot read stdin: {e}")))?;
    let formatted = format_source(&Source::new("<stdin>", text)).map_err(|d| Error::template(vec![d]))?;
    report::stdout(&formatted)?;
    Ok(Outcome::Ok)
}

fn format_file(path: &Path, check: bool) -> Result<Outcome, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::usage(format!("cannot read {}: {e}", path.display())))?;
    let formatted = format_source(&Source::new(path.display().to_string(), text.as_str()))
        .map_err(|d| Error::template(vec![d]))?;
    if formatted == text {
        return Ok(Outcome::Ok);
    }
    if check {
        report::stdout(&format!("would reformat {}\n", path.display()))?;
        return Ok(Outcome::Rejected);
    }
    std::fs::write(path, formatted)
        .map_err(|e| Error::usage(format!("cannot write {}: {e}", path.display())))?;
    report::stdout(&format!("formatted {}\n", path.display()))?;
    Ok(Outcome::Ok)
}
