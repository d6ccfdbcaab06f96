//! `moodlec check`: compile template files and report every problem.

use std::path::PathBuf;

use moodlec::builtin;
use moodlec::check::compile;

use crate::cli::exit;
use crate::cli::load::{local_template_files, read_sources};
use crate::cli::report::{self, DiagnosticFormat};

/// Compile template files and report every problem found.
///
/// With no FILES, checks the built-in templates and ./templates/*.moodle.
/// Exits 2 if any template has an error.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Template files (*.moodle).
    files: Vec<PathBuf>,
    /// How to print diagnostics.
    #[arg(long, value_enum, default_value = "human")]
    format: DiagnosticFormat,
}

pub fn run(args: &Args) -> u8 {
    let files = if args.files.is_empty() {
        local_template_files()
    } else {
        args.files.clone()
    };
    let mut sources = match read_sources(&files) {
        Ok(sources) => sources,
        Err(message) => {
            report::error(&message, None);
            return exit::USAGE_OR_TEMPLATE;
        }
    };
    if args.files.is_empty() {
        sources.extend(builtin::sources());
    }
    let compiled = compile(&sources, builtin::catalog());
    report::print_diagnostics(&compiled.diagnostics, args.format);
    let checked = compiled
        .catalog
        .iter()
        .filter(|t| sources.iter().any(|s| s.name == t.origin.source.name))
        .count();
    let errors = compiled.diagnostics.iter().filter(|d| d.is_error()).count();
    if args.format == DiagnosticFormat::Human {
        let verdict = match errors {
            0 => "no errors".to_owned(),
            1 => "1 error".to_owned(),
            n => format!("{n} errors"),
        };
        eprintln!(
            "checked {} file(s), {checked} template(s) compiled: {verdict}",
            sources.len()
        );
    }
    if errors > 0 {
        exit::USAGE_OR_TEMPLATE
    } else {
        exit::OK
    }
}
