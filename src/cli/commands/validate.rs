//! `moodlec validate`: check data against a template, record by record.

use std::path::PathBuf;
use std::sync::Arc;

use moodlec::site::find;
use moodlec::template::Template;
use moodlec::validate::keys::{self, Resolutions, Wanted};
use moodlec::validate::{ValidateOptions, Validator};
use serde_json::json;

use crate::cli::connect::SiteArgs;
use crate::cli::exit;
use crate::cli::input::{DataArgs, Tally};
use crate::cli::problems::{self, Problem};
use crate::cli::report::DiagnosticFormat;

/// Validate data records against a template with Moodle's own rules.
///
/// Every record gets a verdict; problems point at the record's line and
/// value. Exit 0 when every record is valid, 1 when any is not, 2 for usage
/// or template errors.
///
/// Templates with lookups (`lookup userid = user by email from ...`) need
/// --url to resolve them: then the data is read once to collect the keys,
/// they are looked up with read functions only, and every record is checked
/// with its ids. Without --url, lookup fields are reported as unchecked.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  moodlec validate -t create_users staff.csv\n  moodlec validate -t hr_enrol.moodle enrolments.csv --url https://staging.moodle.example.edu\n  moodlec validate -t enrol_users --set roleid=teacher enrolments.ndjson --format github\n  cat feed.ndjson | moodlec validate -t enrol_users - --input-format ndjson --format json"
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
}

pub fn run(args: &Args) -> u8 {
    let (template, params) = match args.data.template_and_params() {
        Ok(found) => found,
        Err(class) => return class,
    };
    let options = ValidateOptions {
        allow_unknown: args.data.allow_unknown,
    };
    let resolutions = match resolve_lookups(args, &template) {
        Ok(resolutions) => resolutions,
        Err(class) => return class,
    };
    let unchecked = if resolutions.is_none() {
        keys::unchecked_notes(&template)
    } else {
        Vec::new()
    };
    if args.format != DiagnosticFormat::Json {
        for note in &unchecked {
            eprintln!("note: {note}");
        }
    }
    let mut validator = Validator::new(&template, params, options).with_lookups(resolutions);
    let mut tally = Tally::default();
    for path in &args.files {
        let records = match args.data.open(path) {
            Ok(records) => records,
            Err(class) => return class,
        };
        let file = path.display().to_string();
        for item in records {
            tally.read += 1;
            match item {
                Ok(record) => {
                    let verdict = validator.validate(&record);
                    let problem =
                        |v| Problem::from_violation(&file, record.number, record.line, Some(&record.raw), v);
                    for warning in &verdict.warnings {
                        report(args, &mut tally, &problem(warning).into_warning());
                    }
                    match &verdict.outcome {
                        Ok(_) => tally.valid += 1,
                        Err(violations) => {
                            tally.invalid += 1;
                            for v in violations {
                                report(args, &mut tally, &problem(v));
                            }
                        }
                    }
                }
                Err(error) => {
                    tally.invalid += 1;
                    report(args, &mut tally, &Problem::from_read_error(&file, &error));
                }
            }
        }
    }
    finish(args, &tally, &unchecked)
}

fn report(args: &Args, tally: &mut Tally, problem: &Problem<'_>) {
    if args.max_errors.is_some_and(|max| tally.printed >= max) {
        return;
    }
    tally.printed += 1;
    if args.format == DiagnosticFormat::Json {
        println!("{}", problems::to_json(problem));
    } else {
        problems::print(problem, args.format);
    }
}

/// With --url and a template with lookups: collect the keys (a first pass
/// over the data), check the token's service, resolve them. `None` when
/// there is nothing to resolve or no site to ask.
fn resolve_lookups(args: &Args, template: &Template) -> Result<Option<Arc<Resolutions>>, u8> {
    if template.lookups.is_empty() {
        return Ok(None);
    }
    let Some(site) = args.site.site()? else {
        return Ok(None);
    };
    if args.files.iter().any(|f| f.as_os_str() == "-") {
        crate::cli::report::error(
            "validate --url reads the data twice (keys first, then records) and cannot read standard input twice",
            Some("save the data to a file and give its path"),
        );
        return Err(exit::USAGE_OR_TEMPLATE);
    }
    let session = args.site.session(&site)?;
    let mut wanted = Wanted::default();
    for path in &args.files {
        // Unreadable records are reported by the validation pass.
        for record in args.data.open(path)?.flatten() {
            wanted.add(template, &record);
        }
    }
    let runtime = crate::cli::connect::runtime()?;
    let resolved = runtime.block_on(async {
        find::check_service(&session, template)
            .await
            .map_err(|refusal| (refusal.message, Some(refusal.help)))?;
        find::resolve(&session, &wanted)
            .await
            .map_err(|error| (format!("the lookups on {site} failed: {error}"), None))
    });
    match resolved {
        Ok(resolutions) => {
            if args.format != DiagnosticFormat::Json {
                eprintln!("{}", resolutions.summary());
            }
            Ok(Some(Arc::new(resolutions)))
        }
        Err((message, help)) => {
            crate::cli::report::error(&message, help.as_deref());
            Err(exit::SERVER)
        }
    }
}

fn finish(args: &Args, tally: &Tally, unchecked: &[String]) -> u8 {
    match args.format {
        DiagnosticFormat::Json => {
            let mut summary =
                json!({ "records": tally.read, "valid": tally.valid, "invalid": tally.invalid });
            if !unchecked.is_empty() {
                summary["unchecked"] = json!(unchecked);
            }
            println!("{}", json!({ "summary": summary }));
        }
        _ => eprintln!("{}", tally.summary()),
    }
    if tally.invalid > 0 {
        exit::RECORDS_REJECTED
    } else {
        exit::OK
    }
}
