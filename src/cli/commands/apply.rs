//! `moodlec apply`: send exactly the changes of a saved plan, after checking them against Moodle.

use std::path::PathBuf;

use crate::cli::args::{SiteArgs, TokenArgs};
use crate::cli::error::Error;
use crate::cli::exit::Outcome;
use crate::cli::input::DataArgs;
use crate::cli::report;
use crate::cli::syncing::{self, ApplyArgs, RailArgs};

/// Apply a plan saved by `moodlec plan --out`: exactly its changes, through the
/// runner (batches, retries, one result per change, journal and --resume).
///
/// Before sending, the Moodle records the plan was computed from are read again;
/// a plan whose records changed since is refused (or, with --on-drift skip, only
/// the unchanged part is applied). The removal rails are checked again with this
/// command's --allow-removals and --allow-delete. Passwords are never in a plan:
/// creates read them from the roster, which must be unchanged.
#[derive(Debug, clap::Args)]
#[command(mut_arg("url", |url| url.required_unless_present("site_name")))]
#[command(
    after_help = "Examples:\n  moodlec apply plan.json --url https://lms.example.edu\n  moodlec apply plan.json --site prod --results apply.results.ndjson\n  moodlec apply plan.json --site prod --results apply.results.ndjson --resume\n\nThe site comes from --url, MOODLE_URL or --site NAME (a site of the config file); the token from MOODLE_TOKEN, --token-file or `moodlec login`.\n\nExit codes: 0 all applied, 1 some changes failed or were skipped (drift), or a rail or drift refused the plan, 2 usage or template error, 3 server unreachable or refused."
)]
pub struct Args {
    /// The plan file (`moodlec plan --out FILE`).
    #[arg(value_name = "PLAN")]
    plan: PathBuf,
    #[command(flatten)]
    site: SiteArgs,
    #[command(flatten)]
    token: TokenArgs,
    #[command(flatten)]
    rails: RailArgs,
    #[command(flatten)]
    apply: ApplyArgs,
    /// A `--set` the plan was computed with (for the templates' params).
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = moodlec::params::parse_assignment)]
    set: Vec<(String, String)>,
}

pub fn run(args: &Args) -> Result<Outcome, Error> {
    let plan = syncing::read_plan(&args.plan)?;
    let site = args.site.required_site("apply")?;
    syncing::same_site(&plan, &site)?;
    let steps = syncing::load_steps(&plan.sync, &args.set)?;
    check_templates(&plan, &steps)?;
    if let Some(error) = syncing::rail_error(&plan, args.rails.allowance()) {
        return Err(error);
    }
    if !plan.has_changes() {
        report::note("the plan has no changes: nothing to apply");
        return Ok(Outcome::Ok);
    }
    let data = DataArgs::for_input(&plan.sync, None);
    let secrets = if syncing::needs_secrets(&plan, &steps) {
        syncing::secrets_from_roster(&plan, &steps, &data)?
    } else {
        Vec::new()
    };
    let _lock = crate::cli::lock::acquire(&site, &plan.sync)?;
    let session = args
        .site
        .session(&args.token, &site)?
        .limited(args.rails.concurrency());
    let runtime = crate::cli::connect::runtime()?;
    syncing::apply(
        &runtime,
        session,
        &plan,
        Some(&args.plan),
        &steps,
        &secrets,
        &args.apply,
        &args.rails,
        args.site.timeout,
    )
}

/// The templates must be those the plan was computed with.
fn check_templates(plan: &moodlec::sync::model::Plan, steps: &syncing::Steps) -> Result<(), Error> {
    if syncing::templates_hash(steps) != plan.template_hash {
        return Err(Error::usage(format!(
            "the template `{}` changed since the plan was computed",
            plan.sync
        ))
        .with_help("plan again with the template as it is now"));
    }
    let names: Vec<&str> = steps.steps.iter().map(|s| s.template.name.as_str()).collect();
    let planned: Vec<&str> = plan.steps.iter().map(|s| s.template.as_str()).collect();
    if names != planned {
        return Err(Error::usage(format!(
            "the plan's steps ({}) are not those of `{}` now ({})",
            planned.join(", "),
            plan.sync,
            names.join(", ")
        ))
        .with_help("plan again"));
    }
    Ok(())
}
