//! `moodlec render`: the exact requests that would be sent (a dry run).

use std::io::Write;
use std::path::PathBuf;

use moodlec::plan::{Batch, Batcher, PendingBatch, TooLarge};
use moodlec::record::SourceRecord;
use moodlec::render::form::RecordWriter;
use moodlec::render::preview::{
    has_password, password_values, preview_with, Passwords, PreviewFormat, MASKED_PASSWORD,
};
use moodlec::render::{pending_request_body, TokenSlot};
use moodlec::template::Template;
use moodlec::validate::{ValidateOptions, Validator};

use crate::cli::error::Error;
use crate::cli::exit::Outcome;
use crate::cli::input::{DataArgs, Tally};
use moodlec::diagnostic::{Code, Diagnostic, Severity};

use crate::cli::output::{self, Format};
use crate::cli::problems::{self, RecordProblems};
use crate::cli::report;

/// How a rendered request is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum FormatArg {
    /// The form-encoded body of each request, one per line.
    Form,
    /// Per request: function, record numbers and the parameter tree (one JSON object per line).
    Json,
    /// A curl command per request; the token is read from $MOODLE_TOKEN when you paste it.
    Curl,
    /// The raw HTTP request.
    Http,
}

/// Render the exact requests Moodle would receive, without sending anything.
///
/// Records are validated first; invalid ones are reported on stderr and left
/// out of the batches (exit 1 if there are any). The token is never shown:
/// bodies carry wstoken=REDACTED, curl commands read $MOODLE_TOKEN. Values
/// of `password` fields show as ******** unless --show-passwords.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  moodlec render -t enrol_users enrolments.ndjson\n  moodlec render -t create_users staff.csv --limit 1\n  moodlec render -t create_users staff.csv --format curl\n\nWith --format json, an error that ends the command (an unreadable file, a template error) is one JSON object on standard output:\n  {\"severity\":\"error\",\"code\":\"moodlec::usage\",\"message\":\"...\",\"help\":...}"
)]
pub struct Args {
    #[command(flatten)]
    data: DataArgs,
    /// Data file (NDJSON, JSON array or CSV); `-` reads stdin.
    #[arg(value_name = "DATA")]
    file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "form")]
    format: FormatArg,
    /// The Moodle site, for curl and http output.
    #[arg(long, env = "MOODLE_URL", default_value = "https://moodle.example.org")]
    url: String,
    /// Show the values of `password` fields (masked as ******** otherwise,
    /// as dry-run output ends up in logs).
    #[arg(long)]
    show_passwords: bool,
    /// Show only the first N requests (a sample payload of a large file); the rest is not read.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    limit: Option<u64>,
}

impl Args {
    /// JSON errors when the requests are printed as JSON.
    pub fn error_format(&self) -> Format {
        if self.format == FormatArg::Json {
            Format::Json
        } else {
            Format::Human
        }
    }
}

pub fn run(args: &Args) -> Result<Outcome, Error> {
    let (template, params) = args.data.template_and_params()?;
    refuse_lookups(&template)?;
    let template = crate::cli::load::write_template(template, "render")?;
    let mut records = args.data.open(&args.file)?;
    let file = args.file.display().to_string();
    let mut validator = Validator::new(
        &template,
        params,
        ValidateOptions {
            allow_unknown: args.data.allow_unknown,
            strict: args.data.strict,
        },
    );
    let mut batcher = Batcher::new(&template);
    let mut tally = Tally::default();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut masked = false;
    let mut shown = Shown {
        requests: 0,
        limit: args.limit,
    };
    // Form bodies of batches without passwords to mask are written straight
    // from the batcher's storage, through one reused body buffer.
    let mut direct = (args.format == FormatArg::Form
        && (args.show_passwords || !has_password(&template.fields)))
    .then(|| Direct::new(&template));
    // One record's buffers, read into again for each record.
    let mut slot = SourceRecord::empty(0);
    while !shown.full() {
        let Some(item) = records.next_into(&mut slot) else {
            break;
        };
        tally.read += 1;
        let record = match item {
            Ok(record) => record,
            Err(error) => {
                tally.invalid += 1;
                output::eprint(&problems::read_error(&file, &error));
                continue;
            }
        };
        let verdict = validator.validate(record);
        match verdict.outcome {
            Ok(valid) => match push(&mut batcher, valid, direct.as_mut(), &mut out, &mut shown) {
                Ok(Some(batches)) => {
                    tally.valid += 1;
                    masked |= write_batches(&mut out, &template, &batches, args, &mut shown)?;
                }
                Ok(None) => tally.valid += 1,
                Err(PushError::Write(error)) => return Err(error),
                Err(PushError::TooLarge(too_large)) => {
                    tally.invalid += 1;
                    print_too_large(&file, &template, record, &too_large);
                }
            },
            Err(violations) => {
                tally.invalid += 1;
                let record_problems = RecordProblems::new(&file, &template, record);
                for v in &violations {
                    output::eprint(&record_problems.diagnostic(v, Severity::Error));
                }
            }
        }
    }
    let limited = shown.full();
    if !limited {
        if let Some(direct) = direct.as_mut() {
            let mut failed = None;
            batcher.finish_each(&mut |batch| direct.write(batch, &mut out, &mut shown, &mut failed));
            if let Some(error) = failed {
                return Err(error);
            }
        } else {
            masked |= write_batches(&mut out, &template, &batcher.finish(), args, &mut shown)?;
        }
    }
    out.flush().map_err(|error| report::stdout_error(&error))?;
    if limited {
        report::note(&format!(
            "--limit {}: the first {} requests are shown; the records after record {} were not read",
            shown.requests, shown.requests, tally.read
        ));
    }
    if masked {
        report::note(&format!(
            "password values are shown as {MASKED_PASSWORD}; pass --show-passwords to see them"
        ));
    }
    report::note(&tally.summary());
    Ok(Outcome::rejected_if(tally.invalid > 0))
}

/// Why a record was not batched, or its batches not written.
enum PushError {
    TooLarge(TooLarge),
    Write(Error),
}

/// Add `record` to the batcher: the batches it completes are returned, or
/// with `direct`, written (`None`).
fn push(
    batcher: &mut Batcher,
    record: moodlec::validate::ValidRecord,
    direct: Option<&mut Direct<'_>>,
    out: &mut impl Write,
    shown: &mut Shown,
) -> Result<Option<Vec<Batch>>, PushError> {
    let Some(direct) = direct else {
        return batcher.push(record).map(Some).map_err(PushError::TooLarge);
    };
    let mut failed = None;
    (batcher.push_each(record, &mut |batch| direct.write(batch, out, shown, &mut failed)))
        .map_err(PushError::TooLarge)?;
    match failed {
        Some(error) => Err(PushError::Write(error)),
        None => Ok(None),
    }
}

/// Writes `--format form` bodies straight from the batcher (see
/// [`Batcher::push_each`]): the same bytes as [`preview_with`], for batches
/// with no password to mask.
struct Direct<'t> {
    template: &'t Template,
    writer: RecordWriter<'t>,
    /// The body being written, reused for every batch.
    body: String,
}

impl<'t> Direct<'t> {
    fn new(template: &'t Template) -> Self {
        Direct {
            template,
            writer: RecordWriter::keyed(template),
            body: String::new(),
        }
    }

    /// Write `batch`'s body and a newline, unless `--limit` is reached; the
    /// first write error goes to `failed` (later batches are then skipped).
    fn write(
        &mut self,
        batch: &PendingBatch<'_>,
        out: &mut impl Write,
        shown: &mut Shown,
        failed: &mut Option<Error>,
    ) {
        if shown.full() || failed.is_some() {
            return;
        }
        shown.requests += 1;
        pending_request_body(
            self.template,
            &self.writer,
            batch,
            TokenSlot::Redacted,
            &mut self.body,
        );
        self.body.push('\n');
        if let Err(error) = out.write_all(self.body.as_bytes()) {
            *failed = Some(report::stdout_error(&error));
        }
    }
}

/// A record with more form fields than one request may carry.
fn print_too_large(file: &str, template: &Template, record: &SourceRecord, too_large: &TooLarge) {
    let message = format!(
        "the record needs {} form fields, more than max_input_vars {} allows in one request",
        too_large.form_fields, too_large.limit
    );
    let problem = Diagnostic::new(Code::TooLarge, Severity::Error, message).with_help(Some(
        "raise max_input_vars in the template's batch rule to match the site's php.ini",
    ));
    output::eprint(&RecordProblems::new(file, template, record).at(problem, None, None));
}

/// Whether a password value was masked.
/// Requests written so far, and `--limit`.
struct Shown {
    requests: u64,
    limit: Option<u64>,
}

impl Shown {
    fn full(&self) -> bool {
        self.limit.is_some_and(|limit| self.requests >= limit)
    }
}

fn write_batches(
    out: &mut impl Write,
    template: &Template,
    batches: &[Batch],
    args: &Args,
    shown: &mut Shown,
) -> Result<bool, Error> {
    let format = match args.format {
        FormatArg::Form => PreviewFormat::Form,
        FormatArg::Json => PreviewFormat::Json,
        FormatArg::Curl => PreviewFormat::Curl,
        FormatArg::Http => PreviewFormat::Http,
    };
    let passwords = if args.show_passwords {
        Passwords::Shown
    } else {
        Passwords::Masked
    };
    let mut masked = false;
    for batch in batches {
        if shown.full() {
            break;
        }
        shown.requests += 1;
        out.write_all(preview_with(template, batch, format, &args.url, passwords).as_bytes())
            .map_err(|error| report::stdout_error(&error))?;
        // Asked until one batch has a password value to mask.
        if !masked && passwords == Passwords::Masked && has_password(&template.fields) {
            masked = !password_values(template, &batch.records).is_empty();
        }
    }
    Ok(masked)
}

/// A dry run asks no site, so it cannot give lookup fields their ids:
/// rather than render requests without them, say where the ids come from.
fn refuse_lookups(template: &Template) -> Result<(), Error> {
    if template.lookups.is_empty() {
        return Ok(());
    }
    let fields: Vec<String> = template
        .lookups
        .iter()
        .map(|l| format!("`{}` ({} by {})", l.field, l.kind.name(), l.key))
        .collect();
    Err(Error::usage(format!(
        "template `{}` looks up {} in Moodle: render makes no calls, so it cannot fill them",
        template.name,
        fields.join(" and ")
    ))
    .with_help("check the data and the lookups with `moodlec validate --url URL`; `moodlec run --test` sends one record and shows its request"))
}
