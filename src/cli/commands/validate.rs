//! `moodlec validate`: check data against a template, record by record.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use moodlec::diagnostic::Severity;
use moodlec::site::{facts as site_facts, find, Session, SiteUrl};
use moodlec::template::Template;
use moodlec::validate::facts::{self, Facts, Profile};
use moodlec::validate::keys::{self, Resolutions, Wanted};
use moodlec::validate::{ValidateOptions, Validator};

use crate::cli::args::{SiteArgs, TokenArgs};
use crate::cli::error::Error;
use crate::cli::exit::Outcome;
use crate::cli::input::{DataArgs, Tally};
use crate::cli::output::{Checked, FileTally, Format, OutputArgs, Reporter, Summary};
use crate::cli::problems::{self, RecordProblems};
use crate::cli::progress::{Display, Progress};
use crate::cli::report;
use crate::cli::sites;

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
///
/// With --url, valid records are also checked against site facts, read once
/// for the distinct ids of all records: a course's categoryid exists; the
/// users and courses of enrolments exist; the role is one a course takes
/// (the standard ones; others from the site profile). Language packs, themes
/// and auth plugins come from the site profile (`langs`, `themes`, `auths`,
/// `roles` in the config file's [site.NAME], or site.toml beside the
/// template); without one they are a warning "unchecked: needs the site profile".
/// Site facts need --url or --site on the command line (MOODLE_URL or
/// MOODLEC_SITE alone resolve lookups but read no facts).
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  moodlec validate -t create_users staff.csv
  moodlec validate -t hr_enrol.moodle enrol.csv --url https://lms.example.edu
  moodlec validate -t enrol_users --set roleid=teacher e.ndjson --format github
  moodlec validate -t create_users staff.csv --format json -o report.json
  moodlec validate -t create_users a.csv b.csv --report junit=report.xml
  cat feed.ndjson | moodlec validate -t enrol_users - --input-format ndjson

Machine formats (json, github, junit, sarif, markdown) go to standard output or -o FILE; notes and the human summary go to standard error. An error that ends the command (an unreadable file, an unreachable site) is one more diagnostic of the same output, code usage (exit 2) or server (exit 3). Identical warnings are shown once, with a count. With $GITHUB_STEP_SUMMARY set, a Markdown summary is appended to it.")]
pub struct Args {
    #[command(flatten)]
    data: DataArgs,
    /// Data files (NDJSON, JSON array or CSV); `-` reads stdin.
    #[arg(required = true, value_name = "DATA")]
    files: Vec<PathBuf>,
    #[command(flatten)]
    output: OutputArgs,
    /// With --url: resolve the template's lookups on that site (read calls only).
    #[command(flatten)]
    site: SiteArgs,
    #[command(flatten)]
    token: TokenArgs,
}

impl Args {
    /// Errors as problems are printed.
    pub fn error_format(&self) -> Format {
        self.output.format
    }
}

pub fn run(args: &Args) -> Result<Outcome, Error> {
    let mut reporter = Reporter::open("validate", &args.output)?;
    let mut summary = Summary::default();
    let ended = validate(args, &mut reporter, &mut summary);
    reporter.finish(summary, ended)
}

fn validate(args: &Args, reporter: &mut Reporter, summary: &mut Summary) -> Result<Outcome, Error> {
    let (template, params) = args.data.template_and_params()?;
    let options = ValidateOptions {
        allow_unknown: args.data.allow_unknown,
        strict: args.data.strict,
    };
    let resolutions = resolve_lookups(args, &template)?;
    let mut unchecked = if resolutions.is_none() {
        keys::unchecked_notes(&template)
    } else {
        Vec::new()
    };
    let mut facts = read_facts(args, &template, &params, &options, resolutions.clone())?;
    for note in &unchecked {
        report::note(&format!("note: {note}"));
    }
    let mut validator = Validator::new(&template, params, options).with_lookups(resolutions);
    let mut tally = Tally::default();
    for path in &args.files {
        let before = (tally.read, tally.valid);
        let file = path.display().to_string();
        validator.begin_source(&file);
        let read = validate_file(args, &mut validator, facts.as_mut(), path, &mut tally, reporter);
        summary.files.push(FileTally {
            name: file,
            checked: Checked::Records {
                read: tally.read - before.0,
                valid: tally.valid - before.1,
            },
        });
        read?;
    }
    if let Some(facts) = &facts {
        unchecked.extend(facts.unchecked());
    }
    summary.headline = tally.summary();
    summary.records = Some(tally.read);
    summary.valid = Some(tally.valid);
    summary.invalid = Some(tally.invalid);
    summary.unchecked = unchecked;
    Ok(Outcome::rejected_if(tally.invalid > 0))
}

/// Every record of one data file, its problems reported, counted in `tally`.
fn validate_file(
    args: &Args,
    validator: &mut Validator<'_>,
    mut facts: Option<&mut Facts>,
    path: &Path,
    tally: &mut Tally,
    reporter: &mut Reporter,
) -> Result<(), Error> {
    let mut records = args.data.open(path)?;
    let file = path.display().to_string();
    // A bar by bytes read: the size is known at once, the record count only at the end.
    let progress = Progress::reading(path, Display::for_stderr(false));
    let mut slot = moodlec::record::SourceRecord::empty(0);
    while let Some(item) = records.next_into(&mut slot) {
        tally.read += 1;
        let raw = item
            .as_ref()
            .map_or_else(|e| e.raw.as_ref().map_or(0, String::len), |r| r.raw.len());
        progress.read_record(raw, false);
        match item {
            Ok(record) => {
                let mut verdict = validator.validate(record);
                let template = validator.template();
                if let (Some(facts), Ok(valid)) = (facts.as_deref_mut(), &verdict.outcome) {
                    let (errors, mut warnings) = facts.check(template, &valid.values);
                    let mut errors = errors;
                    if args.data.strict {
                        errors.extend(warnings.drain(..).map(|mut w| {
                            w.message.push_str(" (a warning, an error with --strict)");
                            w
                        }));
                    }
                    verdict.warnings.extend(warnings);
                    if !errors.is_empty() {
                        verdict.outcome = Err(errors);
                    }
                }
                match &verdict.outcome {
                    Ok(_) => tally.valid += 1,
                    Err(_) => {
                        tally.invalid += 1;
                        progress.fail(1);
                    }
                }
                tally.warnings += verdict.warnings.len() as u64;
                let violations = verdict.outcome.as_ref().err().map_or(&[][..], Vec::as_slice);
                if verdict.warnings.is_empty() && violations.is_empty() {
                    continue;
                }
                // Only a record with problems pays for finding its passwords.
                let problems = RecordProblems::new(&file, template, record);
                for warning in &verdict.warnings {
                    progress.suspend(|| reporter.report(problems.diagnostic(warning, Severity::Warning)))?;
                }
                for violation in violations {
                    progress.suspend(|| reporter.report(problems.diagnostic(violation, Severity::Error)))?;
                }
            }
            Err(error) => {
                tally.invalid += 1;
                progress.fail(1);
                progress.suspend(|| reporter.report(problems::read_error(&file, &error)))?;
            }
        }
    }
    progress.read_all();
    progress.finish_unless_brief();
    Ok(())
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
    no_stdin(args)?;
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
    report::note(&resolutions.summary());
    Ok(Some(Arc::new(resolutions)))
}

fn no_stdin(args: &Args) -> Result<(), Error> {
    if args.files.iter().any(|f| f.as_os_str() == "-") {
        return Err(Error::usage(
            "validate --url reads the data twice (keys first, then records) and cannot read standard input twice",
        )
        .with_help("save the data to a file and give its path"));
    }
    Ok(())
}

/// With --url: the site facts the records name, read once (distinct ids,
/// batched, read functions only), and the site profile. `None` offline.
fn read_facts(
    args: &Args,
    template: &Template,
    params: &moodlec::params::ParamValues,
    options: &ValidateOptions,
    resolutions: Option<Arc<Resolutions>>,
) -> Result<Option<Facts>, Error> {
    // Named by a flag only: MOODLE_URL / MOODLEC_SITE set for `run` do not
    // turn validating a template without lookups into reading the site.
    let from_env = |value: Option<&String>, var: &str| match value {
        None => true,
        Some(v) => std::env::var(var).is_ok_and(|e| &e == v),
    };
    if from_env(args.site.url.as_ref(), "MOODLE_URL")
        && from_env(args.site.site_name.as_ref(), "MOODLEC_SITE")
    {
        return Ok(None);
    }
    let Some((site, profile)) = args.site.target(false)? else {
        return Ok(None);
    };
    let profile = site_profile(args, profile.as_ref())?;
    let functions = facts::functions(template);
    if functions.is_empty() {
        return Ok(Some(Facts::new(facts::Known::default(), profile)));
    }
    no_stdin(args)?;
    // A first pass: the ids of the records that are valid so far.
    let mut wanted = facts::Wanted::default();
    let mut validator = Validator::new(template, params.clone(), options.clone()).with_lookups(resolutions);
    for path in &args.files {
        for record in args.data.open(path)?.flatten() {
            if let Ok(valid) = validator.validate(&record).outcome {
                wanted.add(template, &valid.values);
            }
        }
    }
    // A lookup's ids were found on the site: they exist.
    for lookup in &template.lookups {
        match lookup.field.as_str() {
            "userid" => wanted.users.clear(),
            "courseid" => wanted.courses.clear(),
            "categoryid" => wanted.categories.clear(),
            _ => {}
        }
    }
    let session = args.site.session(&args.token, &site)?;
    let known = read_known(&session, &site, template, &wanted)?;
    if !wanted.is_empty() {
        report::note(&format!(
            "note: site facts read from {site} in {} request(s) ({} categories, {} users, {} courses asked)",
            known.requests,
            if wanted.categories.is_empty() { 0 } else { 1 },
            wanted.users.len(),
            wanted.courses.len()
        ));
    }
    Ok(Some(Facts::new(known, profile)))
}

fn read_known(
    session: &Session,
    site: &SiteUrl,
    template: &Template,
    wanted: &facts::Wanted,
) -> Result<facts::Known, Error> {
    if wanted.is_empty() {
        return Ok(facts::Known::default());
    }
    let runtime = crate::cli::connect::runtime()?;
    runtime.block_on(async {
        site_facts::check_service(session, template).await?;
        site_facts::read(session, wanted)
            .await
            .map_err(|error| Error::server(format!("reading the site facts on {site} failed: {error}")))
    })
}

/// The site profile: the config file's `[site.NAME]` keys, else those of
/// `site.toml` beside the template (a template file's folder, else
/// ./templates/). `None` when neither says anything.
fn site_profile(args: &Args, profile: Option<&sites::Profile>) -> Result<Option<Profile>, Error> {
    let mut found = sites::SiteFacts::default();
    let mut sources = Vec::new();
    if let Some(profile) = profile.filter(|p| !p.facts.is_empty()) {
        found = profile.facts.clone();
        sources.push(format!("[site.{}] of the config file", profile.name));
    }
    let template = Path::new(&args.data.template);
    let folder = if template.is_file() {
        template.parent().map(Path::to_path_buf).unwrap_or_default()
    } else {
        PathBuf::from("templates")
    };
    let beside = folder.join("site.toml");
    if beside.is_file() {
        let text = std::fs::read_to_string(&beside)
            .map_err(|error| Error::usage(format!("cannot read {}: {error}", beside.display())))?;
        let place = beside.display().to_string();
        let file = sites::parse_site_facts(&text, &place)
            .map_err(|message| Error::usage(format!("{place}: {message}")))?;
        if !file.is_empty() {
            found = found.or(file);
            sources.push(place);
        }
    }
    if found.is_empty() {
        return Ok(None);
    }
    Ok(Some(Profile {
        source: sources.join(" and "),
        langs: found.langs,
        themes: found.themes,
        auths: found.auths,
        roles: found.roles,
    }))
}
