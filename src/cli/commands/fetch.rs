//! `moodlec fetch`: call a read template and write its output records.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use futures_util::stream::{self, StreamExt};
use moodlec::check::Catalog;
use moodlec::fetch::output::{Format, Writer};
use moodlec::fetch::request::{Call, Calls};
use moodlec::fetch::shape::columns;
use moodlec::fetch::{FetchError, Fetcher};
use moodlec::params::{self, ParamValues};
use moodlec::record::{Cell, SourceRecord};
use moodlec::site::preflight::site_info;
use moodlec::site::Session;
use moodlec::template::{ReadTemplate, Template};
use moodlec::validate::{ValidateOptions, Validator, Violation};

use crate::cli::args::{ConcurrencyArgs, SiteArgs, TokenArgs};
use crate::cli::error::Error;
use crate::cli::exit::Outcome;
use crate::cli::input::DataArgs;
use crate::cli::load;
use moodlec::diagnostic::Severity;

use crate::cli::output::{self, Format as ErrorFormat};
use crate::cli::problems::{self, RecordProblems};
use crate::cli::progress::{Counting, Display, Progress};
use crate::cli::report;

/// Fetch data out of Moodle with a read template, as NDJSON, JSON or CSV.
///
/// The template's inputs come from --param (one call), or from INPUT (one
/// call per record; a template that collects values, such as
/// users_by_field, puts many records' values in one call). --param values
/// apply to every input record that lacks them. Output records stream to
/// standard output or -o FILE as calls finish, in input order.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  moodlec fetch -t site_info --url https://lms.example.edu\n  moodlec fetch -t enrolled_users --param courseid=2 --format csv -o s.csv\n  moodlec fetch -t users_by_field --param field=email emails.csv\n  moodlec fetch -t grade_items --param courseid=2 --format json\n\nExit codes: 0 all calls answered, 1 some inputs invalid or calls refused, 2 usage or template error, 3 server unreachable or refused.\n\nWith --format json, an error that ends the command (an unreachable site, a refused token) is one JSON object on its own line on standard output, after the records written so far:\n  {\"severity\":\"error\",\"code\":\"moodlec::server\",\"message\":\"...\",\"help\":...}\nIts code is moodlec::usage (exit 2) or moodlec::server (exit 3)."
)]
pub struct Args {
    /// Read template: a built-in name, a template in ./templates/, or a path to a .moodle file.
    #[arg(short = 't', long = "template", value_name = "TEMPLATE")]
    template: String,
    /// An input of the template, e.g. --param courseid=2 (repeatable).
    #[arg(long = "param", value_name = "NAME=VALUE", value_parser = params::parse_assignment)]
    param: Vec<(String, String)>,
    /// Input records (NDJSON, JSON array or CSV), one call each; `-` reads stdin.
    #[arg(value_name = "INPUT")]
    input: Option<PathBuf>,
    /// Input format, when the file extension does not say.
    #[arg(long, value_enum)]
    input_format: Option<crate::cli::input::FormatArg>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Ndjson)]
    format: OutputFormat,
    /// Write the records to FILE instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Replace FILE of -o when it exists (else an existing file is refused).
    #[arg(long, requires = "output")]
    force: bool,
    #[command(flatten)]
    concurrency: ConcurrencyArgs,
    #[command(flatten)]
    site: SiteArgs,
    #[command(flatten)]
    token: TokenArgs,
    /// No progress output. Without it, for more than one call: a bar on a terminal (no colour
    /// with NO_COLOR); a plain line a second when stderr is not a terminal or TERM is dumb.
    #[arg(long, short)]
    quiet: bool,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum OutputFormat {
    Ndjson,
    Json,
    Csv,
}

impl Args {
    /// JSON errors when the records are a JSON array; NDJSON and CSV
    /// readers would take an error line for a record: those go to stderr.
    pub fn error_format(&self) -> ErrorFormat {
        if self.format == OutputFormat::Json {
            ErrorFormat::Json
        } else {
            ErrorFormat::Human
        }
    }
}

pub fn run(args: &Args) -> Result<Outcome, Error> {
    let (template, catalog) = load::template_with_catalog(&args.template)?;
    let template = load::read_template(template)?;
    let joined = Fetcher::joined(&template, &catalog).map_err(|message| {
        Error::usage(message).with_help("a join names a read template, built in or in ./templates/")
    })?;
    let site = args.site.required_site("fetch")?;
    refuse_existing_output(args)?;
    let (calls, invalid) = plan_calls(args, &template)?;
    let session = args
        .site
        .session(&args.token, &site)?
        .limited(args.concurrency.concurrency());
    let runtime = crate::cli::connect::runtime()?;
    runtime.block_on(check_site(args, &session, &template, &joined))?;
    // The preflight is not one of the fetch's own requests.
    let before = session.counts();
    let out = open_output(args)?;
    let columns = columns(&template, &|name| joined_columns(&catalog, name));
    let format = match args.format {
        OutputFormat::Ndjson => Format::Ndjson,
        OutputFormat::Json => Format::Json,
        OutputFormat::Csv => Format::Csv,
    };
    let writer = Writer::new(out, format, columns);
    let started = Instant::now();
    let sent = runtime.block_on(send(args, &template, &catalog, &session, calls, writer))?;
    let counts = session.counts() - before;
    if !args.quiet {
        report::note(&format!(
            "fetched {} records with {} requests ({} retries) in {:.1} s{}",
            sent.records,
            counts.requests,
            counts.retries,
            started.elapsed().as_secs_f64(),
            if sent.failed > 0 {
                format!("; {} calls failed", sent.failed)
            } else {
                String::new()
            }
        ));
    }
    if let Some(stop) = sent.stopped {
        return Err(stop);
    }
    Ok(Outcome::rejected_if(invalid > 0 || sent.failed > 0))
}

/// The preflight: the token works and its service has every function used.
async fn check_site(
    args: &Args,
    session: &Session,
    template: &Template,
    joined: &[ReadTemplate],
) -> Result<(), Error> {
    let info = site_info(session, &template.function).await?;
    info.require(
        &[template.function.as_str()],
        &format!("the function of template `{}`", template.name),
    )?;
    for other in joined {
        info.require(
            &[other.function.as_str()],
            &format!("which the join with `{}` calls", other.name),
        )?;
    }
    if !args.quiet {
        let release = info.release.as_deref().unwrap_or("unknown release");
        report::note(&format!(
            "{} ({release}) as {}: {} is available",
            info.sitename, info.username, template.function
        ));
    }
    Ok(())
}

/// The columns a join adds when it takes every field: the joined template's own.
fn joined_columns(catalog: &Catalog, name: &str) -> Vec<String> {
    catalog
        .get(name)
        .map(|t| columns(t, &|_| Vec::new()))
        .unwrap_or_default()
}

/// The calls, from --param and INPUT; invalid inputs are reported and counted.
fn plan_calls(args: &Args, template: &Template) -> Result<(Vec<Call>, u64), Error> {
    let mut validator = Validator::new(template, ParamValues::default(), ValidateOptions::default());
    let mut calls = Calls::new(template);
    let mut planned = Vec::new();
    let mut invalid = 0;
    let Some(path) = &args.input else {
        let record = with_params(args, SourceRecord::empty(1));
        match validator.validate(&record).outcome {
            Ok(valid) => planned.extend(calls.push(valid)),
            Err(violations) => return Err(param_error(&violations)),
        }
        planned.extend(calls.flush());
        return Ok((planned, 0));
    };
    let data = DataArgs::for_input(&args.template, args.input_format);
    let mut records = data.open(path)?;
    let file = path.display().to_string();
    for item in records.by_ref() {
        let record = match item {
            Ok(record) => with_params(args, record),
            Err(error) => {
                invalid += 1;
                output::eprint(&problems::read_error(&file, &error));
                continue;
            }
        };
        match validator.validate(&record).outcome {
            Ok(valid) => planned.extend(calls.push(valid)),
            Err(violations) => {
                invalid += 1;
                let record_problems = RecordProblems::new(&file, validator.template(), &record);
                for v in &violations {
                    output::eprint(&record_problems.diagnostic(v, Severity::Error));
                }
            }
        }
    }
    if let Some(error) = records.io_error() {
        return Err(Error::usage(format!("cannot read {file}: {error}")));
    }
    planned.extend(calls.flush());
    Ok((planned, invalid))
}

/// What is wrong with the --param values: one message each.
fn param_error(violations: &[Violation]) -> Error {
    violations
        .iter()
        .map(|v| Error::usage(format!("--param: {}", v.message)).with_optional_help(v.help.as_deref()))
        .reduce(Error::and)
        .unwrap_or_else(|| Error::usage("--param: the values are not valid"))
}

/// `record` plus the --param values it does not carry itself.
fn with_params(args: &Args, mut record: SourceRecord) -> SourceRecord {
    for (name, value) in &args.param {
        if record.fields.iter().all(|(key, _)| key != name) {
            record.fields.push((name.clone(), Cell::Text(value.clone())));
            record.spans.push(None);
        }
    }
    record
}

/// An existing -o FILE without --force, refused before any call is made.
fn refuse_existing_output(args: &Args) -> Result<(), Error> {
    match &args.output {
        Some(path) if !args.force && std::fs::symlink_metadata(path).is_ok() => Err(exists(path)),
        _ => Ok(()),
    }
}

fn exists(path: &std::path::Path) -> Error {
    Error::usage(format!("{} already exists", path.display()))
        .with_help("pass --force to replace it, or choose another -o FILE")
}

fn open_output(args: &Args) -> Result<Box<dyn Write>, Error> {
    match &args.output {
        None => Ok(Box::new(std::io::BufWriter::new(std::io::stdout().lock()))),
        Some(path) => {
            let mut options = std::fs::OpenOptions::new();
            options.write(true);
            if args.force {
                options.create(true).truncate(true);
            } else {
                // Exclusive: an existing file (or a symlink) is never overwritten by accident.
                options.create_new(true);
            }
            options
                .open(path)
                .map(|f| Box::new(std::io::BufWriter::new(f)) as Box<dyn Write>)
                .map_err(|error| {
                    if error.kind() == std::io::ErrorKind::AlreadyExists {
                        exists(path)
                    } else {
                        Error::usage(format!("cannot write {}: {error}", path.display()))
                    }
                })
        }
    }
}

/// What the calls gave.
struct Sent {
    records: u64,
    failed: u64,
    /// The site stopped answering: the calls after it were not made.
    stopped: Option<Error>,
}

/// Run the calls, `--concurrency` at a time (with auto: up to the cap, the
/// session's limiter deciding how many go), writing records in call order.
async fn send(
    args: &Args,
    template: &ReadTemplate,
    catalog: &Catalog,
    session: &Session,
    calls: Vec<Call>,
    mut writer: Writer<Box<dyn Write>>,
) -> Result<Sent, Error> {
    let fetcher = Fetcher::new(template, catalog, session);
    // One call (--param alone) has no progress worth showing; nor has a
    // terminal that shows the records themselves, which a bar would tear.
    let display = match Display::for_stderr(args.quiet) {
        _ if calls.len() <= 1 => Display::Nothing,
        Display::Bar if args.output.is_none() && std::io::stdout().is_terminal() => Display::Nothing,
        display => display,
    };
    let progress = Progress::new(display, Counting::CALLS, Some(calls.len() as u64));
    let mut answers = stream::iter(calls.iter())
        .map(|call| fetcher.call(call))
        .buffered(args.concurrency.concurrency().most());
    let mut sent = Sent {
        records: 0,
        failed: 0,
        stopped: None,
    };
    let mut index = 0;
    while let Some(answer) = answers.next().await {
        let call = &calls[index];
        index += 1;
        match answer {
            Ok(records) => {
                for record in &records {
                    writer.write(record).map_err(|error| write_error(args, &error))?;
                }
                sent.records += records.len() as u64;
                progress.items(records.len() as u64);
                progress.advance(1);
            }
            Err(error) if error.is_transport() => {
                sent.stopped = Some(
                    Error::server(format!("{}: {error}", describe_call(call))).with_help(
                        "the site did not answer after the retries; check --url and try again later",
                    ),
                );
                break;
            }
            Err(error) => {
                // A refused call is this input's failure: reported, and the others go on.
                progress
                    .suspend(|| report::error(&format!("{}: {error}", describe_call(call)), help(&error)));
                sent.failed += 1;
                progress.fail(1);
                progress.advance(1);
            }
        }
    }
    // The summary line follows: a final progress line only after periodic ones.
    progress.finish_unless_brief();
    writer.finish().map_err(|error| write_error(args, &error))?;
    Ok(sent)
}

fn describe_call(call: &Call) -> String {
    match (call.inputs.first(), call.inputs.last()) {
        (Some(first), Some(last)) if first.number != last.number => {
            format!("input records {}-{}", first.number, last.number)
        }
        (Some(first), _) => format!("input record {}", first.number),
        _ => "the call".to_owned(),
    }
}

fn help(error: &FetchError) -> Option<&'static str> {
    match error {
        FetchError::Shape(_) => {
            Some("the site runs a Moodle version whose answer differs; check the template's `returns`")
        }
        _ => None,
    }
}

fn write_error(args: &Args, error: &std::io::Error) -> Error {
    let target = args
        .output
        .as_ref()
        .map_or_else(|| "standard output".to_owned(), |p| p.display().to_string());
    Error::usage(format!("cannot write {target}: {error}"))
}
