//! `moodlec check`: compile template files and report every problem.

use std::path::PathBuf;

use moodlec::builtin;
use moodlec::check::{compile, Catalog, Compiled};
use moodlec::diagnostic::{Diagnostic, Source, TemplateDiagnostic};
use moodlec::syntax;

use crate::cli::error::{Error, ErrorKind};
use crate::cli::exit::Outcome;
use crate::cli::load::{local_template_files, read_sources};
use crate::cli::output::{Checked, FileTally, Format, OutputArgs, Reporter, Summary};

/// Compile template files and report every problem found.
///
/// With no FILES, checks the built-in templates and ./templates/*.moodle.
/// Exits 2 if any template has an error.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  moodlec check                         # built-ins and ./templates/*.moodle
  moodlec check templates/*.moodle
  moodlec check my.moodle --format github      # annotations in GitHub Actions
  moodlec check --format json -o check.json
  moodlec check --format github --report junit=check.xml

Machine formats (json, github, junit, sarif, markdown) go to standard output or -o FILE, the human summary to standard error. JSON is one document, \"version\": 1, its shape in docs/diagnostics.schema.json. An error that ends the command (an unreadable file) is one more diagnostic of the same output, code usage. With $GITHUB_STEP_SUMMARY set, a Markdown summary is appended to it.")]
pub struct Args {
    /// Template files (*.moodle).
    files: Vec<PathBuf>,
    #[command(flatten)]
    output: OutputArgs,
}

impl Args {
    /// Errors as diagnostics are printed.
    pub fn error_format(&self) -> Format {
        self.output.format
    }
}

pub fn run(args: &Args) -> Result<Outcome, Error> {
    let mut reporter = Reporter::open("check", &args.output)?;
    let mut summary = Summary::default();
    let ended = check(args, &mut reporter, &mut summary);
    reporter.finish(summary, ended)
}

fn check(args: &Args, reporter: &mut Reporter, summary: &mut Summary) -> Result<Outcome, Error> {
    let files = if args.files.is_empty() {
        local_template_files()
    } else {
        args.files.clone()
    };
    let sources = read_sources(&files).map_err(Error::usage)?;
    let mut runs = vec![(compile(&sources, builtin::catalog()), sources)];
    if args.files.is_empty() {
        // The built-ins are checked on their own: local templates may shadow them by name.
        let builtins = builtin::sources();
        runs.push((compile(&builtins, &Catalog::default()), builtins));
    }
    let mut checked = 0;
    for (compiled, sources) in &runs {
        let names = TemplateNames::of(sources);
        for diagnostic in &compiled.diagnostics {
            let mut shown = Diagnostic::from_template(diagnostic);
            shown.template = names.around(diagnostic);
            reporter.report(shown)?;
        }
        for source in sources {
            let compiled = compiled_in(compiled, source);
            checked += compiled.len();
            summary.files.push(FileTally {
                name: source.name.clone(),
                checked: Checked::Templates { compiled },
            });
        }
    }
    let (errors, _) = reporter.counts();
    let verdict = match errors {
        0 => "no errors".to_owned(),
        1 => "1 error".to_owned(),
        n => format!("{n} errors"),
    };
    summary.headline = format!(
        "checked {} file(s), {checked} template(s) compiled: {verdict}",
        summary.files.len()
    );
    summary.templates = Some(checked as u64);
    if errors > 0 {
        // The diagnostics are the errors.
        return Err(Error::already_shown(ErrorKind::Usage));
    }
    Ok(Outcome::Ok)
}

/// The names of the templates of `source` that compiled.
fn compiled_in(compiled: &Compiled, source: &Source) -> Vec<String> {
    compiled
        .catalog
        .iter()
        .filter(|t| t.origin.source.name == source.name)
        .map(|t| t.name.clone())
        .collect()
}

/// Where each template of some sources is declared, to name the template a
/// diagnostic is in (JUnit's testcases).
struct TemplateNames(Vec<(String, std::ops::Range<usize>, String)>);

impl TemplateNames {
    fn of(sources: &[Source]) -> TemplateNames {
        let mut declared = Vec::new();
        for source in sources {
            // A file that does not parse has a syntax error, which names no template.
            if let Ok(file) = syntax::parse(source) {
                declared.extend(
                    file.templates
                        .into_iter()
                        .map(|t| (source.name.clone(), t.span.start..t.span.end, t.name.name)),
                );
            }
        }
        TemplateNames(declared)
    }

    fn around(&self, diagnostic: &TemplateDiagnostic) -> Option<String> {
        let file = diagnostic.source_name()?;
        self.0
            .iter()
            .find(|(name, range, _)| name == file && range.contains(&diagnostic.span.start))
            .map(|(_, _, template)| template.clone())
    }
}
