//! `moodlec sync`: plan, show, confirm, apply: the daily job.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use crate::cli::args::{SiteArgs, TokenArgs};
use crate::cli::error::{Error, Message};
use crate::cli::exit::Outcome;
use crate::cli::input::DataArgs;
use crate::cli::report;
use crate::cli::syncing::{self, ApplyArgs, PlanFormat, RailArgs};

/// Keep Moodle equal to a roster: plan (read the roster and Moodle, compute the
/// difference), show the plan, ask for confirmation (or --yes), and apply it
/// through the runner. A second sync right after the first changes nothing.
///
/// Removals (suspend, unenrol, delete) are stopped by rails: a roster with no
/// records removes nothing; more removals than 10% of the records in scope (or
/// than 50) need --allow-removals N; deleting needs --allow-delete. One sync per
/// site and template runs at a time.
#[derive(Debug, clap::Args)]
#[command(mut_arg("url", |url| url.required_unless_present("site_name")))]
#[command(
    after_help = "Examples:\n  moodlec sync -t staff_sync staff.csv --url https://lms.example.edu\n  moodlec sync -t staff_sync staff.csv --site prod --yes --results sync.ndjson\n\nThe site comes from --url, MOODLE_URL or --site NAME (a site of the config file); the token from MOODLE_TOKEN, --token-file or `moodlec login`.\n\nExit codes: 0 in sync (or all applied), 1 roster problems, a rail stopped the plan, or some changes failed, 2 usage or template error, 3 server unreachable or refused."
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
    #[command(flatten)]
    apply: ApplyArgs,
    /// Apply without asking (scheduled jobs).
    #[arg(long, short = 'y')]
    yes: bool,
    /// Also save the plan (JSON).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// How the plan is shown (on stderr: stdout stays free for scripts).
    #[arg(long, value_enum, default_value_t = PlanFormat::Human)]
    format: PlanFormat,
}

pub fn run(args: &Args) -> Result<Outcome, Error> {
    if args.apply.resume {
        // A new sync plans from what Moodle holds now, which already includes
        // whatever the stopped one applied: its change numbers would not match.
        return Err(Error::usage("sync does not resume: run it again, and it plans from what Moodle holds now")
            .with_help("to resume an apply exactly, save the plan with `moodlec plan --out plan.json` and use `moodlec apply plan.json --results FILE --resume`"));
    }
    let steps = syncing::load_steps(&args.data.template, &args.data.set)?;
    let site = args.site.required_site("sync")?;
    let _lock = crate::cli::lock::acquire(&site, &steps.name)?;
    let session = args
        .site
        .session(&args.token, &site)?
        .limited(args.rails.concurrency());
    let runtime = crate::cli::connect::runtime()?;
    let planned = syncing::compute(&runtime, &session, &steps, &args.data, &args.roster, &args.rails)?;
    let plan = &planned.plan;
    if !args.apply.quiet || args.format != PlanFormat::Human {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "{}", syncing::view(plan, args.format));
    }
    if let Some(out) = &args.out {
        syncing::save(plan, out)?;
    }
    if !plan.problems.is_empty() {
        return Err(Error::rejected(vec![Message {
            message: format!(
                "not applied: {} roster record(s) have problems",
                plan.problems.len()
            ),
            help: Some("fix them (the plan lists each one), then sync again".to_owned()),
        }]));
    }
    if let Some(error) = syncing::rail_error(plan, args.rails.allowance()) {
        return Err(error);
    }
    if !plan.has_changes() {
        report::note("Moodle is in sync with the roster: nothing to apply");
        return Ok(Outcome::Ok);
    }
    if !args.yes && !confirmed(plan.counts.total(), &plan.site)? {
        report::note("not applied");
        return Ok(Outcome::Ok);
    }
    syncing::apply(
        &runtime,
        session,
        plan,
        None,
        &steps,
        &planned.desired,
        &args.apply,
        &args.rails,
        args.site.timeout,
    )
}

/// Ask on the terminal; without one, refuse to guess.
fn confirmed(changes: u64, site: &str) -> Result<bool, Error> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::usage("sync needs confirmation, and standard input is not a terminal")
            .with_help("review the plan, then pass --yes (scheduled jobs), or save it with `moodlec plan --out` and `moodlec apply` it"));
    }
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "Apply these {changes} change(s) to {site}? [y/N] ");
    let _ = err.flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::usage(format!("cannot read the answer: {e}")))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}
