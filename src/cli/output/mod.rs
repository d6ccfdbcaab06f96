//! The one presentation path of problems: every command that reports
//! diagnostics (template, record or what ended it) hands them to a
//! [`Reporter`], which shows them in one format on the main output and in
//! others on report files, in the same pass.
//!
//! Machine formats go to standard output (or `-o FILE`), human text to
//! standard error. Identical warnings are folded into one with a count;
//! past `--max-errors` problems are counted, not shown. When
//! `$GITHUB_STEP_SUMMARY` names a file, a Markdown summary is appended to it.

mod fold;
mod github;
mod human;
mod json;
mod junit;
mod markdown;
mod sarif;
mod sink;

use std::path::PathBuf;

use moodlec::diagnostic::{Diagnostic, Severity};

use super::error::{Error, Message, Report};
use super::exit::Outcome;
use fold::Folds;
pub use sink::{Checked, FileTally, Summary};
use sink::{Destination, Shown, Sink};

/// How problems are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Annotated source excerpts for people, on standard error.
    Human,
    /// One JSON document, `"version": 1` (docs/diagnostics.schema.json).
    Json,
    /// GitHub Actions workflow commands (`::error file=...,line=...,col=...::`).
    Github,
    /// JUnit XML: one testsuite per file, one testcase per record or template.
    Junit,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
    Sarif,
    /// A Markdown summary (what is appended to $GITHUB_STEP_SUMMARY).
    Markdown,
}

/// Where and how a command's problems are reported.
#[derive(Debug, Clone, clap::Args)]
pub struct OutputArgs {
    /// How to report problems: human (standard error); json, github, junit, sarif or markdown
    /// (standard output, or the file of -o).
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
    /// Write the --format output to FILE instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write the problems in another format to a file, in the same pass (repeatable):
    /// --report junit=moodlec.xml --report sarif=moodlec.sarif
    #[arg(long = "report", value_name = "FORMAT=FILE", value_parser = parse_report)]
    pub reports: Vec<(Format, PathBuf)>,
    /// Show at most N problems (all are still checked and counted; the others are counted
    /// as "N more not shown").
    #[arg(long, value_name = "N")]
    pub max_errors: Option<u64>,
}

fn parse_report(text: &str) -> Result<(Format, PathBuf), String> {
    use clap::ValueEnum;
    let (format, file) = text
        .split_once('=')
        .ok_or_else(|| format!("expected FORMAT=FILE, e.g. junit=report.xml, not {text:?}"))?;
    let format = Format::from_str(format, true).map_err(|_| {
        format!("unknown report format {format:?}: expected human, json, github, junit, sarif or markdown")
    })?;
    if file.is_empty() {
        return Err("the report file is empty: --report junit=FILE".to_owned());
    }
    Ok((format, PathBuf::from(file)))
}

/// The most distinct warnings held to be folded; past it a warning is shown
/// as it comes, so memory stays bounded whatever the data.
const MAX_FOLDS: usize = 10_000;

/// Receives every problem of a command and shows it in each output.
pub struct Reporter {
    command: &'static str,
    sinks: Vec<Output>,
    /// Whether the human summary line goes to standard error besides the
    /// outputs (the main format is a machine one).
    summary_line: bool,
    max_shown: Option<u64>,
    shown: u64,
    not_shown: u64,
    errors: u64,
    warnings: u64,
    folds: Folds,
}

impl Reporter {
    /// The outputs `args` asks for, opened now so that a report file that
    /// cannot be created stops the command before any work.
    ///
    /// # Errors
    /// A file of `-o` or `--report` cannot be created (exit 2).
    pub fn open(command: &'static str, args: &OutputArgs) -> Result<Reporter, Error> {
        refuse_shared_files(args)?;
        let main = match &args.output {
            Some(path) => Destination::file(path)?,
            None => Destination::standard(args.format),
        };
        let mut sinks = vec![open(args.format, main, command)];
        for (format, path) in &args.reports {
            sinks.push(open(*format, Destination::file(path)?, command));
        }
        if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
            let already = args.format == Format::Markdown
                || args
                    .reports
                    .iter()
                    .any(|(f, p)| *f == Format::Markdown && p.as_os_str() == path);
            if !already {
                sinks.push(open(
                    Format::Markdown,
                    Destination::append(&PathBuf::from(path))?,
                    command,
                ));
            }
        }
        let mut reporter = Reporter::with(command, sinks, args.max_errors);
        reporter.summary_line = args.format != Format::Human;
        Ok(reporter)
    }

    /// A reporter with one output in `format` and nothing else: how an
    /// error that ends a command before it reports anything is shown.
    pub fn only(command: &'static str, format: Format) -> Reporter {
        let sinks = vec![open(format, Destination::standard(format), command)];
        Reporter::with(command, sinks, None)
    }

    /// A reporter writing to `sinks`, nothing reported yet.
    fn with(command: &'static str, sinks: Vec<Output>, max_shown: Option<u64>) -> Reporter {
        Reporter {
            command,
            sinks,
            summary_line: false,
            max_shown,
            shown: 0,
            not_shown: 0,
            errors: 0,
            warnings: 0,
            folds: Folds::default(),
        }
    }

    /// Report one problem: an error is shown now (within `--max-errors`), a
    /// warning when the command ends, folded with the ones like it.
    ///
    /// # Errors
    /// An output cannot be written (a full disk): the report would be
    /// incomplete, so the command ends (exit 2).
    pub fn report(&mut self, diagnostic: Diagnostic) -> Result<(), Error> {
        match diagnostic.severity {
            Severity::Error => self.errors += 1,
            Severity::Warning => {
                self.warnings += 1;
                if self.folds.len() < MAX_FOLDS || self.folds.holds(&diagnostic) {
                    self.folds.add(diagnostic);
                    return Ok(());
                }
            }
        }
        self.show(&Shown::once(&diagnostic))
    }

    fn show(&mut self, shown: &Shown<'_>) -> Result<(), Error> {
        if self.max_shown.is_some_and(|max| self.shown >= max) {
            self.not_shown += 1;
            return Ok(());
        }
        self.shown += 1;
        self.write(shown)
    }

    /// `shown` in every output.
    fn write(&mut self, shown: &Shown<'_>) -> Result<(), Error> {
        for out in &mut self.sinks {
            out.sink
                .diagnostic(shown)
                .map_err(|error| write_error(&out.name, &error))?;
        }
        Ok(())
    }

    /// How many errors and warnings were reported so far.
    pub fn counts(&self) -> (u64, u64) {
        (self.errors, self.warnings)
    }

    /// End the report: the folded warnings, the error that ended the command
    /// (if one did), and the summary. Returns what the command returns.
    ///
    /// # Errors
    /// The command's own error, now shown (`already_shown`), or an output
    /// that cannot be written.
    pub fn finish(mut self, mut summary: Summary, ended: Result<Outcome, Error>) -> Result<Outcome, Error> {
        for fold in self.folds.take() {
            self.show(&Shown::folded(&fold))?;
        }
        // A command stopped by an error of its own (not one whose reasons
        // are the diagnostics above, as check's).
        let stopped = ended
            .as_ref()
            .err()
            .filter(|error| !matches!(error.report(), Report::AlreadyShown))
            .map(Error::kind);
        let ended = match ended {
            Ok(outcome) => Ok(outcome),
            Err(error) => {
                for diagnostic in error_diagnostics(&error) {
                    self.errors += u64::from(diagnostic.is_error());
                    // What ended the command is always shown.
                    self.write(&Shown::once(&diagnostic))?;
                }
                Err(Error::already_shown(error.kind()))
            }
        };
        summary.command = self.command;
        summary.errors = self.errors;
        summary.warnings = self.warnings;
        summary.not_shown = self.not_shown;
        summary.ended = stopped;
        for out in &mut self.sinks {
            out.sink
                .finish(&summary)
                .map_err(|error| write_error(&out.name, &error))?;
        }
        if self.summary_line && !summary.headline.is_empty() {
            super::report::note(&summary.headline);
        }
        ended
    }
}

/// An output: a format writing to a destination, and the destination's name.
struct Output {
    sink: Box<dyn Sink>,
    name: String,
}

/// The output of `format` written to `destination`.
fn open(format: Format, destination: Destination, command: &'static str) -> Output {
    let name = destination.name();
    let sink: Box<dyn Sink> = match format {
        Format::Human => Box::new(human::Human::new(destination)),
        Format::Json => Box::new(json::Json::new(destination, command)),
        Format::Github => Box::new(github::Github::new(destination)),
        Format::Junit => Box::new(junit::Junit::new(destination)),
        Format::Sarif => Box::new(sarif::Sarif::new(destination)),
        Format::Markdown => Box::new(markdown::Markdown::new(destination)),
    };
    Output { sink, name }
}

/// Two outputs in one file would write over each other: refused before any is created.
fn refuse_shared_files(args: &OutputArgs) -> Result<(), Error> {
    let mut files: Vec<&PathBuf> = args.output.iter().collect();
    for (_, path) in &args.reports {
        if files.contains(&path) {
            return Err(
                Error::usage(format!("{} is named for two outputs", path.display()))
                    .with_help("give each --report (and -o) a file of its own"),
            );
        }
        files.push(path);
    }
    Ok(())
}

fn write_error(name: &str, error: &std::io::Error) -> Error {
    Error::usage(format!("cannot write {name}: {error}"))
}

/// The diagnostics of an error that ended a command.
fn error_diagnostics(error: &Error) -> Vec<Diagnostic> {
    match error.report() {
        Report::Messages(messages) => messages
            .iter()
            .map(|Message { message, help }| {
                Diagnostic::error(error.kind().code(), message.clone()).with_help(help.clone())
            })
            .collect(),
        Report::Template(diagnostics) => diagnostics.iter().map(Diagnostic::from_template).collect(),
        Report::AlreadyShown => Vec::new(),
    }
}

/// Show the error that ended `command` in `format`, as its only output.
/// Standard output may be why the command ended (a full disk): then the
/// error is said on standard error, for people.
pub fn print_error(command: &'static str, error: Error, format: Format) {
    if matches!(error.report(), Report::AlreadyShown) {
        return;
    }
    let diagnostics = error_diagnostics(&error);
    let shown = Reporter::only(command, format).finish(Summary::default(), Err(error));
    let unwritten = matches!(&shown, Err(e) if matches!(e.report(), Report::Messages(_)));
    if unwritten && format != Format::Human {
        let mut human = Reporter::only(command, Format::Human);
        for diagnostic in diagnostics {
            let _ = human.report(diagnostic);
        }
        let _ = human.finish(Summary::default(), Ok(Outcome::Ok));
    }
}

/// Show one problem for people on standard error, as it is found: what
/// commands that report little (render, fetch) print as they go.
pub fn eprint(diagnostic: &Diagnostic) {
    let mut human = human::Human::new(Destination::Stderr);
    let _ = human.diagnostic(&Shown::once(diagnostic));
}

/// Show template diagnostics (warnings of a template a command uses) for people.
pub fn eprint_templates(diagnostics: &[moodlec::diagnostic::TemplateDiagnostic]) {
    for diagnostic in diagnostics {
        eprint(&Diagnostic::from_template(diagnostic));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_names_a_format_and_a_file() {
        assert_eq!(
            parse_report("junit=out.xml").unwrap(),
            (Format::Junit, PathBuf::from("out.xml"))
        );
        assert_eq!(
            parse_report("SARIF=a=b.sarif").unwrap(),
            (Format::Sarif, PathBuf::from("a=b.sarif"))
        );
        assert!(parse_report("junit").unwrap_err().contains("FORMAT=FILE"));
        assert!(parse_report("xml=a")
            .unwrap_err()
            .contains("unknown report format"));
        assert!(parse_report("junit=").is_err());
    }
}
