//! `moodlec plan`: read the roster and Moodle, show what a sync would change. Changes nothing.

use std::path::PathBuf;

use crate::cli::args::{SiteArgs, TokenArgs};
use crate::cli::error::Error;
use crate::cli::exit::Outcome;
use crate::cli::input::DataArgs;
use crate::cli::report;
use crate::cli::syncing::{self, PlanFormat, RailArgs};

/// Show what a sync would change: read the roster (the desired state) and Moodle
/// (the actual state), compare what Moodle stores with what the roster says, and
/// print the difference. Nothing is sent.
///
/// The plan counts first (`+ 12 to create, ~ 3 to update, - 1 to suspend, = 4,980
/// unchanged`), then each change with its key and, for updates, `field: old -> new`.
/// --out saves it (JSON, with the Moodle state of every change) for `moodlec apply`.
#[derive(Debug, clap::Args)]
#[command(mut_arg("url", |url| url.required_unless_present("site_name")))]
#[command(
    after_help = "Examples:\n  moodlec plan -t staff_sync staff.csv --url https://lms.example.edu\n  moodlec plan -t staff_sync staff.csv --site prod --out plan.json\n  moodlec plan -t staff_sync staff.csv --site prod --format markdown > cr.md\n\nThe site comes from --url, MOODLE_URL or --site NAME (a site of the config file); the token from MOODLE_TOKEN, --token-file or `moodlec login`.\n\nExit codes: 0 planned, 1 roster records with problems or a rail stops the plan, 2 usage or template error, 3 server unreachable or refused; with --detailed-exitcode 0 means no changes and 4 changes pending."
)]
pub struct Args {
    #[command(flatten)]
    data: DataArgs,
    /// The roster: the desired state (NDJSON, JSON array or CSV).
    #[arg(value_name = "ROSTER")]
    roster: PathBuf,
    #[command(flatten)]
    site: SiteArgs,
    #[command(flatten)]
    token: TokenArgs,
    #[command(flatten)]
    rails: RailArgs,
    /// Save the plan (JSON) for `moodlec apply`.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// How the plan is shown on stdout.
    #[arg(long, value_enum, default_value_t = PlanFormat::Human)]
    format: PlanFormat,
    /// Exit 0 when there is nothing to change and 4 when there are changes (as terraform's -detailed-exitcode).
    #[arg(long)]
    detailed_exitcode: bool,
}

pub fn run(args: &Args) -> Result<Outcome, Error> {
    let steps = syncing::load_steps(&args.data.template, &args.data.set)?;
    let site = args.site.required_site("plan")?;
    let session = args
        .site
        .session(&args.token, &site)?
        .limited(args.rails.concurrency());
    let runtime = crate::cli::connect::runtime()?;
    let planned = syncing::compute(&runtime, &session, &steps, &args.data, &args.roster, &args.rails)?;
    let plan = &planned.plan;
    report::stdout(&syncing::view(plan, args.format))?;
    if let Some(out) = &args.out {
        syncing::save(plan, out)?;
        report::note(&format!(
            "plan saved to {}; apply it with `moodlec apply {}`",
            out.display(),
            out.display()
        ));
    }
    if !plan.problems.is_empty() || plan.rails.stopped.is_some() {
        return Ok(Outcome::Rejected);
    }
    if args.detailed_exitcode && plan.has_changes() {
        return Ok(Outcome::ChangesPending);
    }
    Ok(Outcome::Ok)
}
