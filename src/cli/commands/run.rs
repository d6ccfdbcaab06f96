//! `moodlec run`: validate, then send every valid record to Moodle and account for each one.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use moodlec::params::ParamValues;
use moodlec::run::ledger::{journal_path, Ledger, Pin, RecordSet, Resume, ResumeError};
use moodlec::run::prepare::{preflight, Cleared};
use moodlec::run::{Runner, Settings, StopKind, Summary};
use moodlec::site::find;
use moodlec::site::preflight::Refusal;
use moodlec::site::webhook::Webhook;
use moodlec::site::{CallError, Session};
use moodlec::template::{AppliedCheck, Template, WriteTemplate};
use moodlec::validate::keys::{Resolutions, Wanted};
use moodlec::validate::{ValidateOptions, Validator};
use tempfile::TempPath;
use tokio::runtime::Runtime;

use crate::cli::args::{ConcurrencyArgs, SiteArgs, TokenArgs};
use crate::cli::error::{Error, ErrorKind};
use crate::cli::exit::Outcome;
use crate::cli::input::DataArgs;
use crate::cli::output;
use crate::cli::problems::{self, RecordProblems};
use crate::cli::progress::{Counting, Display, Progress};
use crate::cli::report;
use moodlec::diagnostic::{Diagnostic, Severity};

/// Problems printed by the validation pass before the rest are only counted.
const MAX_PROBLEMS_SHOWN: u64 = 50;

/// Send records to Moodle: validate everything, then send the valid records in batches.
///
/// Nothing is sent when any record is invalid, unless --skip-invalid. A
/// call that Moodle rejects whole is split until each bad record carries
/// Moodle's own error; after a timeout, records are looked up (or re-sent
/// when the template says that is harmless) instead of being sent twice.
/// With --results, each record gets one NDJSON line and the run can be
/// continued after a crash with --resume. The token (MOODLE_TOKEN,
/// --token-file, or the file `moodlec login` wrote) is never shown.
#[derive(Debug, clap::Args)]
// The site flags are shared; a run needs the site, and retries writes too.
#[command(mut_arg("url", |url| url.required_unless_present("site_name")))]
#[command(mut_arg("retries", |retries| retries
    .help("Retries of a call that failed without reaching Moodle (and re-sends after an unclear outcome)")))]
#[command(
    after_help = "Examples:\n  moodlec run -t create_users staff.csv --url https://lms.example.edu --test\n  moodlec run -t create_users staff.csv --site prod --results r.ndjson\n  moodlec run -t create_users staff.csv --site prod --results r.ndjson --resume\n\nThe site comes from --url, MOODLE_URL or --site NAME (a site of the config file); the token from MOODLE_TOKEN, --token-file or `moodlec login`.\n\nExit codes: 0 all applied, 1 some invalid, failed or not sent, 2 usage or template error, 3 server unreachable or refused."
)]
pub struct Args {
    #[command(flatten)]
    data: DataArgs,
    /// Data file (NDJSON, JSON array or CSV); `-` reads stdin.
    #[arg(value_name = "DATA")]
    file: PathBuf,
    #[command(flatten)]
    site: SiteArgs,
    #[command(flatten)]
    token: TokenArgs,
    /// Send the valid records even when some are invalid (those are reported as results).
    #[arg(long)]
    skip_invalid: bool,
    #[command(flatten)]
    concurrency: ConcurrencyArgs,
    /// Write one NDJSON result per input record to FILE (and a journal to FILE.journal).
    #[arg(long, value_name = "FILE")]
    results: Option<PathBuf>,
    /// Continue the run recorded in --results after a crash or a stop.
    #[arg(long, requires = "results")]
    resume: bool,
    /// POST each Moodle answer, with its record numbers and function, to this URL as JSON.
    #[arg(long, value_name = "URL")]
    webhook: Option<String>,
    /// Send only the first valid record; show the request (token redacted) and Moodle's full answer.
    #[arg(long)]
    test: bool,
    /// No progress output. Without it: a bar on a terminal (no colour with NO_COLOR); a plain
    /// line a second and a final one when stderr is not a terminal or TERM is dumb.
    #[arg(long, short)]
    quiet: bool,
}

pub fn run(args: &Args) -> Result<Outcome, Error> {
    let runtime = crate::cli::connect::runtime()?;
    let prepared = prepare(args, &runtime)?;
    execute(args, &runtime, prepared)
}

/// What is settled before anything is sent.
struct Prepared {
    template: WriteTemplate,
    params: ParamValues,
    session: Session,
    input: Input,
    counts: Counts,
    /// With --resume: the ledger of the run being continued, and what it left.
    resumed: Option<(Ledger, Resume)>,
    /// What the run reads: the data, the template and its params.
    pin: Option<Pin>,
    /// For a template with lookups: the preflight, done before the lookups.
    cleared: Option<Cleared>,
    /// For a template with lookups: the ids of every key in the data.
    lookups: Option<Arc<Resolutions>>,
}

fn prepare(args: &Args, runtime: &Runtime) -> Result<Prepared, Error> {
    let (template, params) = args.data.template_and_params()?;
    let template = crate::cli::load::write_template(template, "run")?;
    let site = args.site.required_site("run")?;
    let token = crate::cli::connect::read_token(args.token.token_file.as_deref(), &site)?;
    let session = crate::cli::connect::open_session(&site, token, args.site.settings(&args.token))?;
    check_results_path(args)?;
    let input = Input::new(&args.file)?;
    let pin = match &args.results {
        Some(_) => Some(
            Pin::new(&input.path, &template, &params)
                .map_err(|error| Error::usage(format!("cannot read {}: {error}", input.name())))?,
        ),
        None => None,
    };
    // Resumed first, so that the validation pass can count what is left to send.
    let resumed = match (&args.results, &pin) {
        (Some(path), Some(pin)) if args.resume => Some(Ledger::resume(path, pin).map_err(|error| match error {
            ResumeError::Changed(why) => Error::usage(format!("cannot resume the run of {}: {why}", path.display()))
                .with_help("resume with the data, template and --set values of that run, or start a new run with another --results file"),
            ResumeError::Io(error) => Error::usage(format!("cannot resume from {}: {error}", path.display())),
        })?),
        _ => None,
    };
    // Lookups are resolved before validation, so that a key that finds no
    // Moodle record counts as an invalid record like any other.
    let (cleared, lookups) = if template.lookups.is_empty() {
        (None, None)
    } else {
        let (cleared, resolutions) = resolve_lookups(args, runtime, &template, &session, &input)?;
        (Some(cleared), Some(Arc::new(resolutions)))
    };
    let done = resumed.as_ref().map(|(_, resume)| &resume.done);
    let counts = validate_all(args, &template, &params, &input, done, lookups.clone())?;
    Ok(Prepared {
        template,
        params,
        session,
        input,
        counts,
        resumed,
        pin,
        cleared,
        lookups,
    })
}

/// The preflight, which must also find the lookup functions in the token's
/// service, then every distinct key of the data looked up (read calls only).
fn resolve_lookups(
    args: &Args,
    runtime: &Runtime,
    template: &Template,
    session: &Session,
    input: &Input,
) -> Result<(Cleared, Resolutions), Error> {
    let mut wanted = Wanted::default();
    // Unreadable records are reported by the validation pass.
    for record in input.open(&args.data)?.flatten() {
        wanted.add(template, &record);
    }
    let site = session.site();
    let resolved = runtime.block_on(async {
        let cleared = preflight(session, template).await?;
        let resolutions = find::resolve(session, &wanted).await.map_err(|error| Refusal {
            message: format!("the lookups on {site} failed: {error}"),
            help: "the site is slow or unreachable: try again later, or give it more time with --timeout"
                .to_owned(),
        })?;
        Ok::<_, Refusal>((cleared, resolutions))
    });
    let (cleared, resolutions) = resolved?;
    if !args.quiet {
        report::note(&resolutions.summary());
    }
    Ok((cleared, resolutions))
}

/// A new run must not overwrite results; a resumed one needs them.
fn check_results_path(args: &Args) -> Result<(), Error> {
    let Some(results) = &args.results else {
        return Ok(());
    };
    if results.exists() && !args.resume {
        return Err(Error::usage(format!("{} exists already", results.display()))
            .with_help("continue that run with --resume, or choose another --results file"));
    }
    let journal = journal_path(results);
    if journal.exists() && !args.resume {
        return Err(Error::usage(format!(
            "{} exists already: the journal of an earlier run",
            journal.display()
        ))
        .with_help("continue that run with --resume, or choose another --results file"));
    }
    if !results.exists() && args.resume {
        return Err(Error::usage(format!(
            "{} does not exist: nothing to resume",
            results.display()
        )));
    }
    Ok(())
}

fn execute(args: &Args, runtime: &Runtime, prepared: Prepared) -> Result<Outcome, Error> {
    let Prepared {
        template,
        params,
        session,
        input,
        counts,
        resumed,
        pin,
        cleared,
        lookups,
    } = prepared;
    let send = counts.invalid == 0 || args.skip_invalid;
    if !send {
        // Not the end: the invalid records still get their results below.
        report::error(
            &format!(
                "{} of {} records are invalid: nothing was sent",
                counts.invalid, counts.read
            ),
            Some("fix them, or pass --skip-invalid to send the valid records and report the invalid ones"),
        );
    }
    let webhook = match &args.webhook {
        Some(url) => Some(Webhook::new(url, args.site.timeout).map_err(Error::usage)?),
        None => None,
    };
    let applied = match cleared {
        Some(cleared) => check_site(args, &template, Ok(cleared))?,
        None if send => {
            let preflight = preflight(&session, &template);
            check_site(args, &template, runtime.block_on(preflight))?
        }
        None => template.applied.clone(),
    };
    let (ledger, resume) = match resumed {
        Some(resumed) => resumed,
        None => create_ledger(args, pin.as_ref())?,
    };
    let to_send = if send { counts.to_send } else { counts.valid };
    let reporter = Arc::new(Progress::new(
        Display::for_stderr(args.quiet),
        Counting::RECORDS,
        Some(if args.test { 1 } else { to_send }),
    ));
    let progress = reporter.clone();
    let quiet = args.quiet;
    let concurrency = args.concurrency.concurrency();
    let session = Arc::new(
        session
            .limited(concurrency)
            .on_retry(move |error, attempt, wait| {
                retrying(&progress, quiet, error, attempt, wait);
            }),
    );
    let runner = Runner {
        template: template.clone(),
        session: session.clone(),
        applied,
        settings: Settings {
            // With auto, the session's limiter decides how many of these send at once.
            concurrency: concurrency.most(),
            send,
            test: args.test,
            handle_interrupt: true,
        },
        ledger: ledger.shared(),
        webhook,
        reporter: reporter.clone(),
        lookups,
    };
    let records = input.open(&args.data)?;
    let options = ValidateOptions {
        allow_unknown: args.data.allow_unknown,
        strict: args.data.strict,
    };
    // The runner stops cleanly on the first Ctrl-C; a second one quits at
    // once, leaving the journal to --resume. `process::exit` runs no
    // destructor: the copy of standard input is removed here.
    let spool = input.spool_path();
    runtime.spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() && tokio::signal::ctrl_c().await.is_ok() {
            if let Some(spool) = spool {
                let _ = std::fs::remove_file(spool);
            }
            std::process::exit(130);
        }
    });
    let summary = runtime.block_on(runner.run(records, params, options, resume));
    reporter.finish();
    if let Some(limiter) = session.limiter().filter(|_| !args.quiet && send) {
        report::note(&format!(
            "concurrency auto: {} requests in flight at the end, at most {} (--max-concurrency {}), backed off {} times",
            limiter.limit(),
            limiter.peak(),
            concurrency.most(),
            limiter.backoffs()
        ));
    }
    finish(args, &summary, send)
}

/// Report the preflight; the applied check the run may use.
fn check_site(
    args: &Args,
    template: &Template,
    cleared: Result<Cleared, Refusal>,
) -> Result<AppliedCheck, Error> {
    let cleared = cleared?;
    if !args.quiet {
        let release = cleared.info.release.as_deref().unwrap_or("unknown release");
        report::note(&format!(
            "{} ({release}) as {}: {} is available",
            cleared.info.sitename, cleared.info.username, template.function
        ));
    }
    for warning in &cleared.warnings {
        report::note(&format!("warning: {warning}"));
    }
    Ok(cleared.applied)
}

/// A new results file and journal (--results without --resume), or none.
fn create_ledger(args: &Args, pin: Option<&Pin>) -> Result<(Ledger, Resume), Error> {
    let (Some(path), Some(pin)) = (&args.results, pin) else {
        return Ok((Ledger::none(), Resume::default()));
    };
    let created = Ledger::create(path, pin).map(|ledger| (ledger, Resume::default()));
    created.map_err(|error| Error::usage(format!("cannot use {}: {error}", path.display())))
}

/// The data, read twice: standard input is first copied to a private file.
struct Input {
    path: PathBuf,
    /// The copy of standard input, removed when the run ends.
    spool: Option<TempPath>,
}

impl Input {
    fn new(path: &Path) -> Result<Input, Error> {
        if path.as_os_str() != "-" {
            return Ok(Input {
                path: path.to_path_buf(),
                spool: None,
            });
        }
        let spool = crate::cli::spool::spool(&mut std::io::stdin().lock(), &std::env::temp_dir()).map_err(
            |error| Error::usage(format!("cannot copy standard input to a temporary file: {error}")),
        )?;
        Ok(Input {
            path: spool.to_path_buf(),
            spool: Some(spool),
        })
    }

    fn open(&self, data: &DataArgs) -> Result<moodlec::record::Records, Error> {
        data.open(&self.path)
    }

    fn name(&self) -> String {
        if self.spool.is_some() {
            "standard input".to_owned()
        } else {
            self.path.display().to_string()
        }
    }

    /// The copy of standard input, for a way out that runs no destructor.
    fn spool_path(&self) -> Option<PathBuf> {
        self.spool.as_ref().map(|spool| spool.to_path_buf())
    }
}

/// What the validation pass found.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    read: u64,
    valid: u64,
    invalid: u64,
    /// Valid records without a result from an earlier run.
    to_send: u64,
}

/// The first pass: validate every record, print the problems, count.
fn validate_all(
    args: &Args,
    template: &Template,
    params: &ParamValues,
    input: &Input,
    done: Option<&RecordSet>,
    lookups: Option<Arc<Resolutions>>,
) -> Result<Counts, Error> {
    let records = input.open(&args.data)?;
    let file = input.name();
    let options = ValidateOptions {
        allow_unknown: args.data.allow_unknown,
        strict: args.data.strict,
    };
    let mut validator = Validator::new(template, params.clone(), options).with_lookups(lookups);
    let mut counts = Counts::default();
    let mut shown = 0;
    let mut show = |problem: Diagnostic| {
        if shown < MAX_PROBLEMS_SHOWN {
            output::eprint(&problem);
        }
        shown += 1;
    };
    let mut records = records;
    for item in records.by_ref() {
        counts.read += 1;
        let record = match item {
            Ok(record) => record,
            Err(error) => {
                counts.invalid += 1;
                show(problems::read_error(&file, &error));
                continue;
            }
        };
        let verdict = validator.validate(&record);
        let problems = RecordProblems::new(&file, validator.template(), &record);
        for warning in &verdict.warnings {
            show(problems.diagnostic(warning, Severity::Warning));
        }
        match &verdict.outcome {
            Ok(_) => {
                counts.valid += 1;
                if !done.is_some_and(|done| done.contains(record.number)) {
                    counts.to_send += 1;
                }
            }
            Err(violations) => {
                counts.invalid += 1;
                for v in violations {
                    show(problems.diagnostic(v, Severity::Error));
                }
            }
        }
    }
    if let Some(error) = records.io_error() {
        return Err(Error::usage(format!("cannot read {file}: {error}")));
    }
    if shown > MAX_PROBLEMS_SHOWN {
        report::note(&format!("… and {} more problems", shown - MAX_PROBLEMS_SHOWN));
    }
    Ok(counts)
}

/// Print the summary; how the run ended.
fn finish(args: &Args, summary: &Summary, sent: bool) -> Result<Outcome, Error> {
    let secs = summary.elapsed.as_secs_f64();
    #[allow(clippy::cast_precision_loss)] // record counts are far below 2^53
    let rate = (summary.applied + summary.failed) as f64 / secs.max(1e-9);
    let mut line = format!(
        "applied: {}, failed: {}, invalid: {}, skipped: {}",
        summary.applied, summary.failed, summary.invalid, summary.skipped
    );
    if summary.already_done > 0 {
        line.push_str(&format!(", done before: {}", summary.already_done));
    }
    line.push_str(&format!(
        ", requests: {} (retries: {}), elapsed: {secs:.1}s, {rate:.1} records/s",
        summary.requests, summary.retries
    ));
    if summary.webhook_failures > 0 {
        line.push_str(&format!(", webhook failures: {}", summary.webhook_failures));
    }
    report::note(&line);
    if let Some(stop) = &summary.stopped {
        let mut help = stop.help.clone();
        if let Some(results) = &args.results {
            help.push_str(&format!(
                "; then continue with --resume --results {}",
                results.display()
            ));
        }
        let kind = match stop.kind {
            StopKind::Server => ErrorKind::Server,
            StopKind::Local => ErrorKind::Usage,
            StopKind::Interrupted => ErrorKind::Interrupted,
        };
        return Err(Error::new(kind, format!("the run stopped: {}", stop.message)).with_help(help));
    }
    let test_passed = args.test && summary.applied == 1 && summary.failed == 0 && summary.invalid == 0;
    let rejected = summary.failed + summary.invalid + summary.skipped > 0 && !test_passed;
    Ok(Outcome::rejected_if(!sent || rejected))
}

/// A retry, said above the bar (not with --quiet).
fn retrying(progress: &Progress, quiet: bool, error: &CallError, attempt: u32, wait: Duration) {
    if !quiet {
        progress.println(&format!("retry {attempt} in {:.1}s: {error}", wait.as_secs_f64()));
    }
}
