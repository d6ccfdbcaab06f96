//! `moodlec check`: compile template files and report every problem.

use std::path::PathBuf;

use moodlec::builtin;
use moodlec::check::{compile, Catalog};

use crate::cli::error::{Error, ErrorKind};
use crate::cli::exit::Outcome;
use crate::cli::load::{local_template_files, read_sources};
use crate::cli::report::{self, DiagnosticFormat};

/// Compile template files and report every problem found.
///
/// With no FILES, checks the built-in templates and ./templates/*.moodle.
/// Exits 2 if any template has an error.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  moodlec check                      # built-ins and ./templates/*.moodle\n  moodlec check templates/*.moodle\n  moodlec check my.moodle --format github   # annotations in GitHub Actions\n\nWith --format json, diagnostics are JSON lines on standard error; an error that ends the command (an unreadable file) is one JSON object on standard output:\n  {\"severity\":\"error\",\"code\":\"moodlec::usage\",\"message\":\"...\",\"help\":...}"
)]
pub struct Args {
    /// Template files (*.moodle).
    files: Vec<PathBuf>,
    /// How to print diagnostics.
    #[arg(long, value_enum, default_value = "human")]
    format: DiagnosticFormat,
}

impl Args {
    /// Errors as diagnostics are printed.
    pub fn error_format(&self) -> DiagnosticFormat {
        self.format
    }
}

pub fn run(args: &Args) -> Result<Outcome, Error> {
    let files = if args.files.is_empty() {
        local_template_files()
    } else {
        args.files.clone()
    };
    let sources = read_sources(&files).map_err(Error::usage)?;
    let mut runs = vec![compile(&sources, builtin::catalog())];
    let mut file_count = sources.len();
    if args.files.is_empty() {
        // The built-ins are checked on their own: local templates may shadow them by name.
        let builtins = builtin::sources();
        file_count += builtins.len();
        runs.push(compile(&builtins, &Catalog::default()));
    }
    let mut checked = 0;
    let mut errors = 0;
    for (run, compiled) in runs.iter().enumerate() {
        report::print_diagnostics(&compiled.diagnostics, args.format);
        let names: Vec<&str> = if run == 0 {
            sources.iter().map(|s| s.name.as_str()).collect()
        } else {
            Vec::new()
        };
        checked += compiled
            .catalog
            .iter()
            .filter(|t| run > 0 || names.contains(&t.origin.source.name.as_str()))
            .count();
        errors += compiled.diagnostics.iter().filter(|d| d.is_error()).count();
    }
    if args.format == DiagnosticFormat::Human {
        let verdict = match errors {
            0 => "no errors".to_owned(),
            1 => "1 error".to_owned(),
            n => format!("{n} errors"),
        };
        report::note(&format!(
            "checked {file_count} file(s), {checked} template(s) compiled: {verdict}"
        ));
    }
    if errors > 0 {
        // The diagnostics above are the errors.
        return Err(Error::already_shown(ErrorKind::Usage));
    }
    Ok(Outcome::Ok)
}
