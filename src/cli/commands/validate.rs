//! `moodlec validate`: check data against a template, record by record.

use std::path::PathBuf;

use moodlec::validate::{ValidateOptions, Validator};
use serde_json::json;

use crate::cli::exit;
use crate::cli::input::{DataArgs, Tally};
use crate::cli::problems::{self, Problem};
use crate::cli::report::DiagnosticFormat;

/// Validate data records against a template with Moodle's own rules.
///
/// Every record gets a verdict; problems point at the record's line and
/// value. Exit 0 when every record is valid, 1 when any is not, 2 for usage
/// or template errors.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  moodlec validate -t create_users staff.csv\n  moodlec validate -t enrol_users --set roleid=teacher enrolments.ndjson --format github\n  cat feed.ndjson | moodlec validate -t enrol_users - --input-format ndjson --format json"
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
}

pub fn run(args: &Args) -> u8 {
    let (template, params) = match args.data.template_and_params() {
        Ok(found) => found,
        Err(class) => return class,
    };
    let options = ValidateOptions {
        allow_unknown: args.data.allow_unknown,
    };
    let mut validator = Validator::new(&template, params, options);
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
    finish(args, &tally)
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

fn finish(args: &Args, tally: &Tally) -> u8 {
    match args.format {
        DiagnosticFormat::Json => {
            println!(
                "{}",
                json!({ "summary": { "records": tally.read, "valid": tally.valid, "invalid": tally.invalid } })
            );
        }
        _ => eprintln!("{}", tally.summary()),
    }
    if tally.invalid > 0 {
        exit::RECORDS_REJECTED
    } else {
        exit::OK
    }
}
