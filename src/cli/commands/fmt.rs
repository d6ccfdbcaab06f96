//! `moodlec fmt`: canonical formatting of template files.

use std::io::Read;
use std::path::PathBuf;

use moodlec::diagnostic::Source;
use moodlec::fmt::format_source;

use crate::cli::exit;
use crate::cli::report::{self, DiagnosticFormat};

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

pub fn run(args: &Args) -> u8 {
    let mut class = exit::OK;
    for path in &args.files {
        let outcome = if path.as_os_str() == "-" {
            format_stdin()
        } else {
            format_file(path, args.check)
        };
        class = class.max(outcome);
    }
    class
}

fn format_stdin() -> u8 {
    let mut text = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut text) {
        report::error(&format!("cannot read stdin: {e}"), None);
        return exit::USAGE_OR_TEMPLATE;
    }
    match format_source(&Source::new("<stdin>", text)) {
        Ok(formatted) => {
            print!("{formatted}");
            exit::OK
        }
        Err(diagnostic) => {
            report::print_diagnostics(&[diagnostic], DiagnosticFormat::Human);
            exit::USAGE_OR_TEMPLATE
        }
    }
}

fn format_file(path: &PathBuf, check: bool) -> u8 {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            report::error(&format!("cannot read {}: {e}", path.display()), None);
            return exit::USAGE_OR_TEMPLATE;
        }
    };
    let formatted = match format_source(&Source::new(path.display().to_string(), text.as_str())) {
        Ok(formatted) => formatted,
        Err(diagnostic) => {
            report::print_diagnostics(&[diagnostic], DiagnosticFormat::Human);
            return exit::USAGE_OR_TEMPLATE;
        }
    };
    if formatted == text {
        return exit::OK;
    }
    if check {
        println!("would reformat {}", path.display());
        return exit::RECORDS_REJECTED;
    }
    match std::fs::write(path, formatted) {
        Ok(()) => {
            println!("formatted {}", path.display());
            exit::OK
        }
        Err(e) => {
            report::error(&format!("cannot write {}: {e}", path.display()), None);
            exit::USAGE_OR_TEMPLATE
        }
    }
}
