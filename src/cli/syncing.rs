//! What `plan`, `apply` and `sync` share: the sync template and its steps,
//! the roster's pin, computing a plan, printing it, applying it.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use moodlec::params;
use moodlec::run::ledger::{journal_path, template_hash, Ledger, Pin, Resume, ResumeError};
use moodlec::run::{Settings, StopKind};
use moodlec::site::webhook::Webhook;
use moodlec::site::{Concurrency, Session, SiteUrl};
use moodlec::sync::apply::{Applied, Applier, ApplyError, OnDrift};
use moodlec::sync::desired::{Collector, Desired};
use moodlec::sync::model::{Action, Plan, SourceInfo};
use moodlec::sync::planner::{Header, PlanError, PlanStep, Planned, Planner};
use moodlec::sync::rails::Allowance;
use moodlec::sync::show;
use moodlec::template::{Kind, Template};
use moodlec::validate::ValidateOptions;

use super::args::ConcurrencyArgs;
use super::error::{Error, Message};
use super::exit::Outcome;
use super::input::DataArgs;
use super::load;
use super::progress::{Counting, Display, Progress, Settles};
use super::report;

/// `--allow-removals`, `--allow-delete`, `--concurrency`: what plan, apply and sync share.
#[derive(Debug, Clone, clap::Args)]
pub struct RailArgs {
    /// Allow up to N removals (suspend, unenrol, delete) when they are more than the rail
    /// lets through without asking (10% of the records in scope, never more than 50).
    #[arg(long, value_name = "N")]
    pub allow_removals: Option<u64>,
    /// Allow deleting (also needs `missing delete` in the template).
    #[arg(long)]
    pub allow_delete: bool,
    #[command(flatten)]
    pub concurrency: ConcurrencyArgs,
}

impl RailArgs {
    /// How many reads and batches go at once (`--concurrency auto|N`).
    pub fn concurrency(&self) -> Concurrency {
        self.concurrency.concurrency()
    }

    /// What the rails may let through.
    pub fn allowance(&self) -> Allowance {
        Allowance {
            removals: self.allow_removals,
            delete: self.allow_delete,
        }
    }
}

/// How a plan is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PlanFormat {
    /// Counts first, then each change; colour on a terminal (not with NO_COLOR).
    Human,
    /// The plan file's JSON (docs/plan-format.md).
    Json,
    /// Markdown, to paste into a change request.
    Markdown,
}

/// A sync template's steps, ready to plan.
pub struct Steps {
    /// The sync template's name.
    pub name: String,
    /// Its steps, in order.
    pub steps: Vec<PlanStep>,
}

/// The steps of sync template `spec` with `--set` values `set`.
///
/// # Errors
/// No such template, not a sync template, or a `--set` no step takes (exit 2).
pub fn load_steps(spec: &str, set: &[(String, String)]) -> Result<Steps, Error> {
    let (template, catalog) = load::template_with_catalog(spec)?;
    // The steps come from where the steps template was found (its own file, ./templates/, the built-ins).
    let templates: Vec<Arc<Template>> = match &template.kind {
        Kind::Steps(names) => names
            .iter()
            .map(|n| {
                catalog.get(n).cloned().ok_or_else(|| {
                    Error::usage(format!(
                        "step `{n}` of `{}` is not a known template",
                        template.name
                    ))
                })
            })
            .collect::<Result<_, _>>()?,
        _ => vec![template.clone()],
    };
    for (name, _) in set {
        if !templates.iter().any(|t| t.param(name).is_some()) {
            return Err(Error::usage(format!(
                "no step of `{}` has a param `{name}`",
                template.name
            )));
        }
    }
    let mut steps = Vec::new();
    for step in templates {
        let own: Vec<(String, String)> = set
            .iter()
            .filter(|(n, _)| step.param(n).is_some())
            .cloned()
            .collect();
        let params = params::resolve(&step, &own)?;
        let name = step.name.clone();
        steps.push(PlanStep::new(step, params).ok_or_else(|| {
            Error::usage(format!("`{name}` is not a sync template: it has no `sync` statement"))
                .with_help("add e.g. `sync users by username` to a template that extends create_users (README: Daily sync)")
        })?);
    }
    Ok(Steps {
        name: template.name.clone(),
        steps,
    })
}

/// The hash of the steps' templates.
pub fn templates_hash(steps: &Steps) -> String {
    steps
        .steps
        .iter()
        .map(|step| template_hash(&step.template).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("+")
}

/// The hash of the steps' templates, and the roster's size and hash.
///
/// # Errors
/// The roster cannot be read (exit 2).
pub fn pins(steps: &Steps, source: &Path) -> Result<(String, String), Error> {
    let step = &steps.steps[0];
    let pin = Pin::new(source, &step.template, &step.params)
        .map_err(|e| Error::usage(format!("cannot read {}: {e}", source.display())))?;
    Ok((
        templates_hash(steps),
        format!("{}:{}", pin.data_size, pin.data_hash),
    ))
}

/// Compute the plan of `steps` over the roster at `source`.
///
/// # Errors
/// The roster or Moodle cannot be read (exit 2 or 3).
pub fn compute(
    runtime: &tokio::runtime::Runtime,
    session: &Session,
    steps: &Steps,
    data: &DataArgs,
    source: &Path,
    rails: &RailArgs,
) -> Result<Planned, Error> {
    let (template_hash, source_hash) = pins(steps, source)?;
    let header = Header {
        sync: steps.name.clone(),
        site: session.site().as_str().to_owned(),
        template_hash,
        source: SourceInfo {
            path: source.display().to_string(),
            hash: source_hash,
            records: 0,
        },
    };
    let planner = Planner {
        session,
        concurrency: rails.concurrency().most(),
        allowance: rails.allowance(),
        options: ValidateOptions {
            allow_unknown: data.allow_unknown,
            strict: data.strict,
        },
    };
    // Opened once here so that an unreadable roster is the usual clear error.
    drop(data.open(source)?);
    let open = || {
        data.open(source)
            .map_err(|_| std::io::Error::other(format!("cannot read {}", source.display())))
    };
    let planned = runtime
        .block_on(planner.plan(header, &steps.steps, &open))
        .map_err(|error| match error {
            PlanError::Io(e) => Error::usage(e.to_string()),
            PlanError::Read(e) => Error::server(format!("cannot read {}: {e}", session.site()))
                .with_help("check the site and the token's service (it needs the read functions of the sync: core_user_get_users, core_user_get_users_by_field, core_course_get_courses, core_course_get_courses_by_field, core_enrol_get_enrolled_users)"),
        })?;
    let mut planned = planned;
    planned.plan.source.records = planned.desired.first().map_or(0, |d| d.records);
    Ok(planned)
}

/// The plan in `format`, colour when stdout is a terminal and NO_COLOR is unset.
pub fn view(plan: &Plan, format: PlanFormat) -> String {
    match format {
        PlanFormat::Human => {
            let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            show::human(plan, colour)
        }
        PlanFormat::Json => format!("{}\n", serde_json::to_string_pretty(plan).unwrap_or_default()),
        PlanFormat::Markdown => show::markdown(plan),
    }
}

/// Write the plan file (JSON).
///
/// # Errors
/// The file cannot be written (exit 2).
pub fn save(plan: &Plan, path: &Path) -> Result<(), Error> {
    let text = serde_json::to_string_pretty(plan).map_err(|e| Error::usage(e.to_string()))?;
    std::fs::write(path, format!("{text}\n"))
        .map_err(|e| Error::usage(format!("cannot write {}: {e}", path.display())))
}

/// Read a plan file.
///
/// # Errors
/// It cannot be read, is not a plan, or is of another version (exit 2).
pub fn read_plan(path: &Path) -> Result<Plan, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::usage(format!("cannot read {}: {e}", path.display())))?;
    let version = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("version").and_then(serde_json::Value::as_u64));
    if version != Some(u64::from(moodlec::sync::model::VERSION)) {
        return Err(Error::usage(format!(
            "{} is not a moodlec plan of version {}",
            path.display(),
            moodlec::sync::model::VERSION
        ))
        .with_help("write one with `moodlec plan -t SYNC ROSTER --out plan.json`"));
    }
    serde_json::from_str(&text)
        .map_err(|e| Error::usage(format!("{} is not a valid plan: {e}", path.display())))
}

/// The rails' verdict as an error, when they stop the plan.
pub fn rail_error(plan: &Plan, allowance: Allowance) -> Option<Error> {
    let rails = moodlec::sync::rails::check(&plan.steps, allowance);
    rails.stopped.map(|stop| {
        Error::rejected(vec![Message {
            message: format!("not applied: {} (rail {})", stop.message, stop.rail),
            help: Some(stop.help),
        }])
    })
}

/// Whether a step creates records with secrets the plan does not hold.
pub fn needs_secrets(plan: &Plan, steps: &Steps) -> bool {
    plan.steps.iter().zip(&steps.steps).any(|(step, plan_step)| {
        step.changes.iter().any(|c| c.action == Action::Create)
            && !moodlec::sync::diff::secret_fields(&plan_step.template).is_empty()
    })
}

/// The roster's rows again, for the secrets of creates: only if it is the
/// roster the plan was computed from.
///
/// # Errors
/// The roster is gone or changed (exit 2).
pub fn secrets_from_roster(plan: &Plan, steps: &Steps, data: &DataArgs) -> Result<Vec<Desired>, Error> {
    let source = PathBuf::from(&plan.source.path);
    let (_, hash) = pins(steps, &source).map_err(|_| {
        Error::usage(format!(
            "the plan creates records with passwords, which a plan never holds, and the roster {} cannot be read",
            plan.source.path
        ))
        .with_help("apply where the roster is, or run `moodlec sync` (plan and apply in one go)")
    })?;
    if hash != plan.source.hash {
        return Err(Error::usage(format!(
            "the roster {} changed since the plan, and the plan's creates take their passwords from it",
            plan.source.path
        ))
        .with_help("plan again"));
    }
    let mut out = Vec::new();
    for step in &steps.steps {
        let collector = Collector::new(
            step.template.clone(),
            step.spec.clone(),
            step.params.clone(),
            ValidateOptions {
                allow_unknown: data.allow_unknown,
                strict: data.strict,
            },
        );
        out.push(collector.collect(data.open(&source)?));
    }
    Ok(out)
}

/// `--results`, `--resume`, `--on-drift`, `--webhook`, `--quiet`: how a plan is applied.
#[derive(Debug, Clone, clap::Args)]
pub struct ApplyArgs {
    /// Write one NDJSON result per change to FILE (and a journal to FILE.journal).
    #[arg(long, value_name = "FILE")]
    pub results: Option<PathBuf>,
    /// Continue the apply recorded in --results after a crash or a stop.
    #[arg(long, requires = "results")]
    pub resume: bool,
    /// Changes whose Moodle record changed since the plan: refuse the whole plan, or skip them.
    #[arg(long, value_enum, default_value_t = DriftArg::Refuse)]
    pub on_drift: DriftArg,
    /// POST each Moodle answer, with its change numbers and function, to this URL as JSON.
    #[arg(long, value_name = "URL")]
    pub webhook: Option<String>,
    /// No progress output. Without it: a bar of the changes applied on a terminal (no colour
    /// with NO_COLOR); a plain line a second and a final one when stderr is not a terminal or
    /// TERM is dumb.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `--on-drift`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DriftArg {
    /// Apply nothing when any change drifted; plan again.
    Refuse,
    /// Apply the changes that did not drift; report the others as skipped (`drifted`).
    Skip,
}

/// Apply `plan` (whose steps are `steps`) with `secrets`, and report.
///
/// # Errors
/// The results file, the site or the plan stop it.
#[allow(clippy::too_many_arguments)]
pub fn apply(
    runtime: &tokio::runtime::Runtime,
    session: Session,
    plan: &Plan,
    plan_path: Option<&Path>,
    steps: &Steps,
    secrets: &[Desired],
    args: &ApplyArgs,
    rails: &RailArgs,
    timeout: Duration,
) -> Result<Outcome, Error> {
    let (ledger, resume) = ledger(args, plan_path, steps)?;
    let webhook = match &args.webhook {
        Some(url) => Some(Webhook::new(url, timeout).map_err(Error::usage)?),
        None => None,
    };
    // Over the whole plan: every change an earlier apply has not done (--resume).
    let total = plan
        .steps
        .iter()
        .flat_map(|s| &s.changes)
        .filter(|c| !resume.done.contains(c.id))
        .count() as u64;
    let progress = Arc::new(
        Progress::new(Display::for_stderr(args.quiet), Counting::CHANGES, Some(total)).settling(Settles::All),
    );
    let applier = Applier {
        session: Arc::new(session),
        settings: Settings {
            concurrency: rails.concurrency().most(),
            send: true,
            test: false,
            handle_interrupt: true,
        },
        ledger: ledger.shared(),
        webhook,
        reporter: progress.clone(),
        resume,
        on_drift: match args.on_drift {
            DriftArg::Refuse => OnDrift::Refuse,
            DriftArg::Skip => OnDrift::Skip,
        },
    };
    let applied = runtime.block_on(applier.apply(plan, &steps.steps, secrets));
    progress.finish();
    match applied {
        Ok(applied) => finish(&applied, args.quiet),
        Err(ApplyError::Drifted(drifts)) => {
            let mut messages: Vec<Message> = drifts
                .iter()
                .take(20)
                .map(|d| Message {
                    message: format!("change {} ({}): {}", d.change, d.key, d.why),
                    help: None,
                })
                .collect();
            messages.insert(
                0,
                Message {
                    message: format!(
                        "nothing applied: {} change(s) were planned against Moodle records that changed since",
                        drifts.len()
                    ),
                    help: Some("plan again, or apply the rest with --on-drift skip".to_owned()),
                },
            );
            Err(Error::rejected(messages))
        }
        Err(ApplyError::Refused(refusal)) => Err(Error::server(refusal.message).with_help(refusal.help)),
        Err(ApplyError::Read(e)) => Err(Error::server(format!("cannot read {}: {e}", plan.site))),
        Err(ApplyError::Template(e)) => Err(Error::usage(e)),
    }
}

fn ledger(args: &ApplyArgs, plan_path: Option<&Path>, steps: &Steps) -> Result<(Ledger, Resume), Error> {
    let Some(results) = &args.results else {
        return Ok((Ledger::none(), Resume::default()));
    };
    let journal = journal_path(results);
    if !args.resume && (results.exists() || journal.exists()) {
        return Err(
            Error::usage(format!("{} (or its journal) exists already", results.display()))
                .with_help("continue that apply with --resume, or choose another --results file"),
        );
    }
    // What the journal pins: the plan (or, for sync, the roster) and the first step's template.
    let data = plan_path.map(Path::to_path_buf);
    let step = &steps.steps[0];
    let pin = match &data {
        Some(path) => Pin::new(path, &step.template, &step.params)
            .map_err(|e| Error::usage(format!("cannot read {}: {e}", path.display())))?,
        None => Pin {
            data_size: 0,
            data_hash: String::new(),
            template: step.template.name.clone(),
            template_hash: String::new(),
            params: serde_json::Value::Null,
        },
    };
    if args.resume {
        return Ledger::resume(results, &pin).map_err(|error| match error {
            ResumeError::Changed(why) => {
                Error::usage(format!("cannot resume the apply of {}: {why}", results.display()))
                    .with_help("resume with the plan file of that apply")
            }
            ResumeError::Io(e) => Error::usage(format!("cannot resume from {}: {e}", results.display())),
        });
    }
    let ledger = Ledger::create(results, &pin)
        .map_err(|e| Error::usage(format!("cannot create {}: {e}", results.display())))?;
    Ok((ledger, Resume::default()))
}

fn finish(applied: &Applied, quiet: bool) -> Result<Outcome, Error> {
    if !quiet {
        let mut line = format!(
            "{} applied, {} failed, {} skipped",
            applied.applied, applied.failed, applied.skipped
        );
        if applied.kept > 0 {
            line.push_str(&format!(" ({} kept: enrolled by another method)", applied.kept));
        }
        if applied.already_done > 0 {
            line.push_str(&format!(", {} done by an earlier apply", applied.already_done));
        }
        line.push_str(&format!(
            " in {:.1}s, {} requests",
            applied.elapsed.as_secs_f64(),
            applied.requests
        ));
        report::note(&line);
    }
    if let Some(stop) = &applied.stopped {
        let error = Error::new(
            match stop.kind {
                StopKind::Server => super::error::ErrorKind::Server,
                StopKind::Local => super::error::ErrorKind::Usage,
                StopKind::Interrupted => super::error::ErrorKind::Interrupted,
            },
            format!("the apply stopped: {}", stop.message),
        )
        .with_help(stop.help.clone());
        return Err(error);
    }
    let not_done = applied.failed + applied.skipped - applied.kept;
    Ok(Outcome::rejected_if(not_done > 0))
}

/// The site a plan was computed for must be the one it is applied to.
///
/// # Errors
/// Another site (exit 2).
pub fn same_site(plan: &Plan, site: &SiteUrl) -> Result<(), Error> {
    if plan.site == site.as_str() {
        return Ok(());
    }
    Err(Error::usage(format!(
        "the plan was computed against {}, not {}",
        plan.site,
        site.as_str()
    ))
    .with_help("apply it to the site it was planned for, or plan again for this one"))
}
