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
/// With --check, change nothing: print a unified diff of each file that is
/// not formatted against its formatted text (stdout), name it on stderr, and
/// exit 1 if there are any (for CI). `-` formats stdin to stdout (with
/// --check, diffs it).
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  moodlec fmt templates/*.moodle\n  moodlec fmt --check templates/*.moodle\n  moodlec fmt --check templates/*.moodle > fmt.patch"
)]
pub struct Args {
    /// Template files (*.moodle), or `-` for stdin.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Change nothing: print a unified diff of each file that would change (exit 1 if any).
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
        format_stdin(check)
    } else {
        format_file(path, check)
    }
}

fn format_stdin(check: bool) -> Result<Outcome, Error> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| Error::usage(format!("cannot read stdin: {e}")))?;
    let formatted =
        format_source(&Source::new("<stdin>", text.as_str())).map_err(|d| Error::template(vec![d]))?;
    if check {
        return report_unformatted("<stdin>", &text, &formatted);
    }
    report::stdout(&formatted)?;
    Ok(Outcome::Ok)
}

/// `--check` found `name` unformatted: its diff on stdout, its name on stderr.
fn report_unformatted(name: &str, text: &str, formatted: &str) -> Result<Outcome, Error> {
    if text == formatted {
        return Ok(Outcome::Ok);
    }
    report::stdout(&unified_diff(name, text, formatted))?;
    report::note(&format!("would reformat {name}"));
    Ok(Outcome::Rejected)
}

/// The unified diff (3 lines of context, `a/NAME` and `b/NAME` headers, as
/// `git diff` writes them) that turns `text` into `formatted`: what `patch
/// -p1` or `git apply` takes.
fn unified_diff(name: &str, text: &str, formatted: &str) -> String {
    let old = format!("a/{name}");
    let new = format!("b/{name}");
    similar::TextDiff::from_lines(text, formatted)
        .unified_diff()
        .context_radius(3)
        .header(&old, &new)
        .to_string()
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
        return report_unformatted(&path.display().to_string(), &text, &formatted);
    }
    std::fs::write(path, formatted)
        .map_err(|e| Error::usage(format!("cannot write {}: {e}", path.display())))?;
    report::stdout(&format!("formatted {}\n", path.display()))?;
    Ok(Outcome::Ok)
}
