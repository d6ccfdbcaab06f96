//! `moodlec validate`: check data against a template, record by record.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use moodlec::site::find;
use moodlec::template::Template;
use moodlec::validate::keys::{self, Resolutions, Wanted};
use moodlec::validate::{ValidateOptions, Validator};
use serde_json::json;

use crate::cli::args::{SiteArgs, TokenArgs};
use crate::cli::error::Error;
use crate::cli::exit::Outcome;
use crate::cli::input::{DataArgs, Tally};
use crate::cli::problems::{self, Problem};
use crate::cli::report::{self, DiagnosticFormat};

/// Validate data records against a template with Moodle's own rules.
///
/// Every record gets a verdict; problems point at the record's line and
/// value. Errors are what Moodle rejects; warnings are values Moodle accepts
/// but that are probably wrong (an unknown country code, a `warn` constraint
/// of the template). Exit 0 when every record is valid (warnings or not), 1
/// when any is not (with --strict: or has a warning), 2 for usage or
/// template errors.
///
/// Templates with lookups (`lookup userid = user by email from ...`) need
/// --url to resolve them: then the data is read once to collect the keys,
/// they are looked up with read functions only, and every record is checked
/// with its ids. Without --url, lookup fields are reported as unchecked.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  moodlec validate -t create_users staff.csv\n  moodlec validate -t hr_enrol.moodle enrolments.csv --url https://staging.moodle.example.edu\n  moodlec validate -t enrol_users --set roleid=teacher enrolments.ndjson --format github\n  cat feed.ndjson | moodlec validate -t enrol_users - --input-format ndjson --format json\n\nWith --format json, an error that ends the command (an unreadable file, an unreachable site) is\none more JSON object on standard output, after the problems printed so far:\n  {\"severity\":\"error\",\"code\":\"moodlec::server\",\"message\":\"...\",\"help\":...}\nIts code is moodlec::usage (exit 2) or moodlec::server (exit 3)."
)]
pub struct Args {
    #[command(flatten)]
    data: DataArgs,
    /// Data files (NDJSON, JSON array or CSV); `-` reads stdin.
    #[arg(required = true, value_name = "DATA")]
    files: Vec<PathBuf>,
    /// How to report problems: human (stderr), json (one object per line on stdout), github (annotations).
    #[arg(long, value_enum, default_value = "human")]
    format: DiagnosticFormat,
    /// Print at most N problems (all records are still checked and counted).
    #[arg(long, value_name = "N")]
    max_errors: Option<u64>,
    /// With --url: resolve the template's lookups on that site (read calls only).
    #[command(flatten)]
    site: SiteArgs,
    #[command(flatten)]
    token: TokenArgs,
}

impl Args {
    /// Errors as problems are printed.
    pub fn error_format(&self) -> DiagnosticFormat {
        self.format
    }
}

pub fn run(args: &Args) -> Result<Outcome, Error> {
    let (template, params) = args.data.template_and_params()?;
    let options = ValidateOptions {
        allow_unknown: args.data.allow_unknown,
        strict: args.data.strict,
    };
    let resolutions = resolve_lookups(args, &template)?;
    let unchecked = if resolutions.is_none() {
        keys::unchecked_notes(&template)
    } else {
        Vec::new()
    };
    if args.format != DiagnosticFormat::Json {
        for note in &unchecked {
            report::note(&format!("note: {note}"));
        }
    }
    let mut validator = Validator::new(&template, params, options).with_lookups(resolutions);
    let mut tally = Tally::default();
    for path in &args.files {
        validate_file(args, &mut validator, path, &mut tally)?;
    }
    finish(args, &tally, &unchecked)
}

/// Every record of one data file, its problems printed, counted in `tally`.
fn validate_file(
    args: &Args,
    validator: &mut Validator<'_>,
    path: &Path,
    tally: &mut Tally,
) -> Result<(), Error> {
    let records = args.data.open(path)?;
    let file = path.display().to_string();
    for item in records {
        tally.read += 1;
        match item {
            Ok(record) => {
                let verdict = validator.validate(&record);
                let template = validator.template();
                let problem = |v| {
                    Problem::from_violation(&file, record.number, record.line, Some(&record.raw), v)
                        .masking(template, &record)
                };
                for warning in &verdict.warnings {
                    tally.warnings += 1;
                    report(args, tally, &problem(warning).into_warning())?;
                }
                match &verdict.outcome {
                    Ok(_) => tally.valid += 1,
                    Err(violations) => {
                        tally.invalid += 1;
                        for v in violations {
                            report(args, tally, &problem(v))?;
                        }
                    }
                }
            }
            Err(error) => {
                tally.invalid += 1;
                report(args, tally, &Problem::from_read_error(&file, &error))?;
            }
        }
    }
    Ok(())
}

fn report(args: &Args, tally: &mut Tally, problem: &Problem<'_>) -> Result<(), Error> {
    if args.max_errors.is_some_and(|max| tally.printed >= max) {
        return Ok(());
    }
    tally.printed += 1;
    if args.format == DiagnosticFormat::Json {
        report::stdout(&format!("{}\n", problems::to_json(problem)))
    } else {
        problems::print(problem, args.format);
        Ok(())
    }
}

/// With --url and a template with lookups: collect the keys (a first pass
/// over the data), check the token's service, resolve them. `None` when
/// there is nothing to resolve or no site to ask.
fn resolve_lookups(args: &Args, template: &Template) -> Result<Option<Arc<Resolutions>>, Error> {
    if template.lookups.is_empty() {
        return Ok(None);
    }
    let Some(site) = args.site.site()? else {
        return Ok(None);
    };
    if args.files.iter().any(|f| f.as_os_str() == "-") {
        return Err(Error::usage(
            "validate --url reads the data twice (keys first, then records) and cannot read standard input twice",
        )
        .with_help("save the data to a file and give its path"));
    }
    let session = args.site.session(&args.token, &site)?;
    let mut wanted = Wanted::default();
    for path in &args.files {
        // Unreadable records are reported by the validation pass.
        for record in args.data.open(path)?.flatten() {
            wanted.add(template, &record);
        }
    }
    let runtime = crate::cli::connect::runtime()?;
    let resolutions = runtime.block_on(async {
        find::check_service(&session, template).await?;
        find::resolve(&session, &wanted)
            .await
            .map_err(|error| Error::server(format!("the lookups on {site} failed: {error}")))
    })?;
    if args.format != DiagnosticFormat::Json {
        report::note(&resolutions.summary());
    }
    Ok(Some(Arc::new(resolutions)))
}

fn finish(args: &Args, tally: &Tally, unchecked: &[String]) -> Result<Outcome, Error> {
    match args.format {
        DiagnosticFormat::Json => {
            let mut summary =
                json!({ "records": tally.read, "valid": tally.valid, "invalid": tally.invalid });
            if tally.warnings > 0 {
                summary["warnings"] = json!(tally.warnings);
            }
            if !unchecked.is_empty() {
                summary["unchecked"] = json!(unchecked);
            }
            report::stdout(&format!("{}\n", json!({ "summary": summary })))?;
        }
        _ => report::note(&tally.summary()),
    }
    Ok(Outcome::rejected_if(tally.invalid > 0))
}
