//! Apply a plan through the runner: the same batches, retries, bisection,
//! journal and resume as `run`, one results line per change.
//!
//! Changes are grouped by the write function they need and sent one group
//! after the other: additions step by step (users before their
//! enrolments), then removals in reverse step order (enrolments before
//! their users). Every change is one runner record whose number is the
//! change's id, so one results file and one journal hold the whole apply,
//! and `--resume` skips what an earlier apply finished.
//!
//! Before anything is sent, the Moodle records the plan was computed from
//! are read again: a change whose record moved since (drift) is refused, or
//! skipped with `--on-drift skip`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{json, Value as Json};

use super::actual::{self, Actual};
use super::desired::{joined, Desired, KeySpec, Row};
use super::diff::{before_of, managed, secret_fields};
use super::fields::canonical;
use super::model::{Action, Change, Fields, Plan, Step};
use super::planner::PlanStep;
use crate::builtin;
use crate::params::{self, ParamValues};
use crate::record::{Cell, ReadError, SourceRecord};
use crate::run::ledger::{Ledger, RecordSet, Resume, SharedLedger};
use crate::run::outcome::{RecordResult, Status};
use crate::run::prepare::clear;
use crate::run::{Reporter, Runner, Settings, Stop, StopKind};
use crate::site::preflight::{site_info, Refusal};
use crate::site::webhook::Webhook;
use crate::site::{MoodleError, ReadError as SiteReadError, Session};
use crate::template::{SyncObject, Template, WriteTemplate};
use crate::validate::ValidateOptions;

/// What to do with changes whose Moodle record moved since the plan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OnDrift {
    /// Apply nothing; re-plan.
    #[default]
    Refuse,
    /// Apply the rest; the drifted changes are reported `skipped` (`drifted`).
    Skip,
}

/// A change whose Moodle record moved since the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Drift {
    /// The change.
    pub change: u64,
    /// Its key, for messages.
    pub key: String,
    /// What moved.
    pub why: String,
}

/// Everything an apply needs besides the plan.
pub struct Applier {
    /// The site.
    pub session: Arc<Session>,
    /// Batches in flight, interrupts.
    pub settings: Settings,
    /// Results file and journal.
    pub ledger: SharedLedger,
    /// Where answers are posted.
    pub webhook: Option<Webhook>,
    /// Progress.
    pub reporter: Arc<dyn Reporter>,
    /// What an earlier apply finished (`--resume`).
    pub resume: Resume,
    /// Drift policy.
    pub on_drift: OnDrift,
}

/// The end of an apply.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Applied {
    /// Changes applied.
    pub applied: u64,
    /// Changes Moodle refused, or whose outcome is unknown.
    pub failed: u64,
    /// Changes not sent (drifted, kept, stopped).
    pub skipped: u64,
    /// Changes done by an earlier apply.
    pub already_done: u64,
    /// Unenrolments Moodle left alone: the enrolment is by another method.
    pub kept: u64,
    /// Changes skipped for drift.
    pub drifted: Vec<Drift>,
    /// HTTP requests (reads included).
    pub requests: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// Why it stopped early, if it did.
    pub stopped: Option<Stop>,
}

/// Why an apply did not start.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The token or service cannot do it.
    #[error("{}", .0.message)]
    Refused(Refusal),
    /// Reading Moodle again failed.
    #[error("cannot read Moodle to check the plan: {0}")]
    Read(#[from] SiteReadError),
    /// Records moved since the plan, and the policy is to refuse.
    #[error("{} change(s) of the plan were computed from Moodle records that changed since", .0.len())]
    Drifted(Vec<Drift>),
    /// The plan needs a template moodlec does not have.
    #[error("{0}")]
    Template(String),
}

/// A group of changes sent with one write template.
struct Group<'p> {
    step: usize,
    action: Action,
    template: WriteTemplate,
    params: ParamValues,
    changes: Vec<&'p Change>,
}

/// The built-in write template a change of `object` with `action` is sent
/// with; `None`: the step's own template, without its mapping.
fn builtin_for(object: SyncObject, action: Action) -> Option<&'static str> {
    match (object, action) {
        (SyncObject::Users, Action::Update | Action::Reactivate | Action::Suspend) => Some("update_users"),
        (SyncObject::Users, Action::Delete) => Some("delete_users"),
        (SyncObject::Courses, Action::Update) => Some("update_courses"),
        (SyncObject::Courses, Action::Delete) => Some("delete_courses"),
        (SyncObject::Enrolments, Action::Assign) => Some("assign_roles"),
        (SyncObject::Enrolments, Action::Unassign) => Some("unassign_roles"),
        (SyncObject::Enrolments, Action::Unenrol) => Some("unenrol_users"),
        _ => None,
    }
}

/// A sync template as a plain write template of Moodle-shaped records: the
/// plan's records are already mapped and their ids already looked up.
fn moodle_shaped(template: &Template) -> Template {
    let mut shaped = template.clone();
    shaped.mapping = None;
    shaped.lookups.clear();
    shaped.sync = None;
    shaped
}

fn groups<'p>(plan: &'p Plan, steps: &[PlanStep]) -> Result<Vec<Group<'p>>, ApplyError> {
    let additive = [
        Action::Create,
        Action::Update,
        Action::Reactivate,
        Action::Enrol,
        Action::Assign,
    ];
    let removing = [Action::Unassign, Action::Suspend, Action::Unenrol, Action::Delete];
    let mut order: Vec<(usize, Action)> = Vec::new();
    for step in 0..plan.steps.len() {
        order.extend(additive.iter().map(|a| (step, *a)));
    }
    for step in (0..plan.steps.len()).rev() {
        order.extend(removing.iter().map(|a| (step, *a)));
    }
    let mut out = Vec::new();
    for (index, action) in order {
        let step = &plan.steps[index];
        let changes: Vec<&Change> = step.changes.iter().filter(|c| c.action == action).collect();
        if changes.is_empty() {
            continue;
        }
        let (template, params) = group_template(step, &steps[index], action)?;
        out.push(Group {
            step: index,
            action,
            template,
            params,
            changes,
        });
    }
    Ok(out)
}

fn group_template(
    step: &Step,
    plan_step: &PlanStep,
    action: Action,
) -> Result<(WriteTemplate, ParamValues), ApplyError> {
    let (template, params) = match builtin_for(step.object, action) {
        Some(name) => {
            let template = builtin::catalog()
                .get(name)
                .cloned()
                .ok_or_else(|| ApplyError::Template(format!("the built-in template {name} is missing")))?;
            let params = params::resolve(&template, &[])
                .map_err(|e| ApplyError::Template(format!("{name}: {}", e.message)))?;
            (template, params)
        }
        None => (
            Arc::new(moodle_shaped(&plan_step.template)),
            plan_step.params.clone(),
        ),
    };
    let name = template.name.clone();
    let template = WriteTemplate::new(template)
        .map_err(|_| ApplyError::Template(format!("template {name} is not a write template")))?;
    Ok((template, params))
}

/// One change as a runner record: its number is the change's id.
fn record_of(change: &Change, fields: Fields) -> SourceRecord {
    let mut record = SourceRecord::empty(change.id);
    record.fields = fields.into_iter().map(|(k, v)| (k, Cell::Json(v))).collect();
    record.spans = vec![None; record.fields.len()];
    record
}

/// Results that stand in for a whole group's changes.
fn results_all(
    changes: &[&Change],
    done: &RecordSet,
    status: Status,
    error: &MoodleError,
) -> Vec<RecordResult> {
    changes
        .iter()
        .filter(|c| !done.contains(c.id))
        .map(|c| RecordResult::with_error(c.id, status, error.clone()))
        .collect()
}

/// Collects what a run settles, and passes it on.
struct Collecting {
    inner: Arc<dyn Reporter>,
    results: Mutex<Vec<RecordResult>>,
    forward: bool,
}

impl Reporter for Collecting {
    fn settled(&self, results: &[RecordResult]) {
        self.results
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(results);
        if self.forward {
            self.inner.settled(results);
        }
    }
    fn warning(&self, message: &str) {
        self.inner.warning(message);
    }
}

impl Applier {
    /// Apply `plan`, whose steps are `steps`; `secrets`: per step, the
    /// roster rows the create-only secrets (passwords) come from.
    ///
    /// # Errors
    /// The service cannot run the plan, Moodle cannot be read, or the plan drifted (with [`OnDrift::Refuse`]).
    pub async fn apply(
        &self,
        plan: &Plan,
        steps: &[PlanStep],
        secrets: &[Desired],
    ) -> Result<Applied, ApplyError> {
        let started = Instant::now();
        let before = self.session.counts();
        let groups = groups(plan, steps)?;
        let mut summary = Applied {
            already_done: plan
                .steps
                .iter()
                .flat_map(|s| &s.changes)
                .filter(|c| self.resume.done.contains(c.id))
                .count() as u64,
            ..Applied::default()
        };
        if groups.is_empty() {
            summary.elapsed = started.elapsed();
            return Ok(summary);
        }
        let cleared = self.preflight(&groups).await?;
        let drifts = self.drift(plan, steps).await?;
        if !drifts.is_empty() && self.on_drift == OnDrift::Refuse {
            return Err(ApplyError::Drifted(drifts));
        }
        let mut done = self.resume.done.clone();
        let drift_results: Vec<RecordResult> = drifts
            .iter()
            .filter(|d| !done.contains(d.change))
            .map(|d| {
                RecordResult::with_error(
                    d.change,
                    Status::Skipped,
                    MoodleError::local(
                        "drifted",
                        format!("not sent: {} changed since the plan ({})", d.key, d.why),
                    ),
                )
            })
            .collect();
        self.settle(&drift_results, &mut summary);
        for d in &drifts {
            done.insert(d.change);
        }
        summary.drifted = drifts;
        for group in &groups {
            if let Some(stop) = summary.stopped.clone() {
                let results = results_all(&group.changes, &done, Status::Skipped, &stop_error(&stop));
                self.settle(&results, &mut summary);
                continue;
            }
            let applied = cleared.get(&group.template.name).cloned().unwrap_or_default();
            self.group(plan, steps, secrets, group, &done, applied, &mut summary)
                .await;
        }
        summary.requests = (self.session.counts() - before).requests;
        summary.elapsed = started.elapsed();
        Ok(summary)
    }

    fn settle(&self, results: &[RecordResult], summary: &mut Applied) {
        if results.is_empty() {
            return;
        }
        let written = self
            .ledger
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .record(results);
        if let Err(error) = written {
            summary.stopped.get_or_insert(Stop {
                kind: StopKind::Local,
                message: format!("cannot write the results file: {error}"),
                help: "free some disk space or fix the file's permissions, then continue with --resume"
                    .to_owned(),
            });
        }
        count(results, summary);
        self.reporter.settled(results);
    }

    /// One site_info call: every group's function must be in the service.
    async fn preflight(
        &self,
        groups: &[Group<'_>],
    ) -> Result<BTreeMap<String, crate::template::AppliedCheck>, ApplyError> {
        let functions: Vec<&str> = groups.iter().map(|g| g.template.function.as_str()).collect();
        let info = site_info(&self.session, &functions.join(", "))
            .await
            .map_err(ApplyError::Refused)?;
        let mut out = BTreeMap::new();
        for group in groups {
            let cleared = clear(info.clone(), &group.template).map_err(ApplyError::Refused)?;
            for warning in &cleared.warnings {
                self.reporter.warning(warning);
            }
            out.insert(group.template.name.clone(), cleared.applied);
        }
        info.require(
            &["core_user_get_users_by_field"],
            "which apply uses to check the plan against Moodle before sending",
        )
        .map_err(ApplyError::Refused)?;
        Ok(out)
    }

    /// The changes whose Moodle record moved since the plan.
    async fn drift(&self, plan: &Plan, steps: &[PlanStep]) -> Result<Vec<Drift>, ApplyError> {
        let mut drifts = Vec::new();
        for (step, plan_step) in plan.steps.iter().zip(steps) {
            // Changes an earlier apply finished, or sent without learning
            // the outcome (the runner's applied check settles those), are
            // not compared: Moodle moved because of them.
            let in_flight: BTreeSet<u64> = self
                .resume
                .unfinished
                .iter()
                .flat_map(|u| u.records.iter().copied())
                .collect();
            let pending: Vec<&Change> = step
                .changes
                .iter()
                .filter(|c| !self.resume.done.contains(c.id) && !in_flight.contains(&c.id))
                .collect();
            if pending.is_empty() {
                continue;
            }
            let now = self.read_again(plan_step, &pending).await?;
            let managed = managed(&plan_step.template, &plan_step.spec);
            for change in pending {
                if let Some(why) = moved(
                    step.object,
                    &managed,
                    change,
                    now.records.get(&joined(&change.key)).map(|r| &r.fields),
                ) {
                    drifts.push(Drift {
                        change: change.id,
                        key: super::desired::describe(&change.key),
                        why,
                    });
                }
            }
        }
        Ok(drifts)
    }

    /// What Moodle holds now for the keys of `changes`, read as the plan read it.
    async fn read_again(&self, step: &PlanStep, changes: &[&Change]) -> Result<Actual, SiteReadError> {
        let key = KeySpec::of(&step.template, &step.spec);
        let mut desired = Desired::default();
        for change in changes {
            desired.rows.insert(
                joined(&change.key),
                Row {
                    record: change.id,
                    line: 0,
                    key: change.key.clone(),
                    fields: Fields::new(),
                },
            );
        }
        let mut spec = step.spec.clone();
        match spec.object {
            // Only the changes' users, by key (100 a call), not the whole scope again.
            SyncObject::Users => spec.scope.clear(),
            // The courses of the changes, whatever the scope said.
            SyncObject::Enrolments => spec
                .scope
                .retain(|r| !matches!(r, crate::template::ScopeRule::Courses(_))),
            SyncObject::Courses => {}
        }
        actual::read(&self.session, &spec, &key, &desired, self.settings.concurrency).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn group(
        &self,
        plan: &Plan,
        steps: &[PlanStep],
        secrets: &[Desired],
        group: &Group<'_>,
        done: &RecordSet,
        applied: crate::template::AppliedCheck,
        summary: &mut Applied,
    ) {
        let step = &plan.steps[group.step];
        let plan_step = &steps[group.step];
        let pending: Vec<&Change> = group
            .changes
            .iter()
            .copied()
            .filter(|c| !done.contains(c.id))
            .collect();
        if pending.is_empty() {
            return;
        }
        let user_ids = match self.user_ids(step, plan_step, &pending).await {
            Ok(ids) => ids,
            Err(error) => {
                let stop = Stop {
                    kind: StopKind::Server,
                    message: format!("cannot look up the users to enrol: {error}"),
                    help: "check the site, then continue with --resume".to_owned(),
                };
                let results = results_all(&pending, done, Status::Skipped, &stop_error(&stop));
                self.settle(&results, summary);
                summary.stopped = Some(stop);
                return;
            }
        };
        let secret_names = secret_fields(&plan_step.template);
        let mut records = Vec::new();
        let mut unresolved = Vec::new();
        for change in &pending {
            let mut fields = change.send.clone();
            if group.action == Action::Create && !secret_names.is_empty() {
                if let Some(row) = secrets
                    .get(group.step)
                    .and_then(|d| d.rows.get(&joined(&change.key)))
                {
                    for name in &secret_names {
                        if let Some(value) = row.fields.get(name) {
                            fields.insert(name.clone(), value.clone());
                        }
                    }
                }
            }
            if step.object == SyncObject::Enrolments && !fields.contains_key("userid") {
                match change.key.get("user").and_then(|u| user_ids.get(u)) {
                    Some(id) => {
                        fields.insert("userid".to_owned(), json!(id));
                    }
                    None => {
                        unresolved.push(*change);
                        continue;
                    }
                }
            }
            records.push(Ok::<_, ReadError>(record_of(change, fields)));
        }
        let lookup_failed: Vec<RecordResult> = unresolved
            .iter()
            .map(|c| {
                RecordResult::with_error(
                    c.id,
                    Status::Failed,
                    MoodleError::local(
                        crate::diagnostic::Code::LookupFailed.as_str(),
                        format!("no Moodle user for {}", super::desired::describe(&c.key)),
                    ),
                )
            })
            .collect();
        self.settle(&lookup_failed, summary);
        // Unenrolments and enrolment suspensions are checked before their
        // results are written: Moodle answers null even when an enrolment
        // by another method keeps the user in the course (active).
        let verify = step.object == SyncObject::Enrolments
            && matches!(group.action, Action::Unenrol | Action::Suspend);
        let collecting = Arc::new(Collecting {
            inner: self.reporter.clone(),
            results: Mutex::new(Vec::new()),
            forward: !verify,
        });
        let runner = Runner {
            template: group.template.clone(),
            session: self.session.clone(),
            applied,
            settings: self.settings.clone(),
            ledger: if verify {
                Ledger::none().shared()
            } else {
                self.ledger.clone()
            },
            webhook: self.webhook.clone(),
            reporter: collecting.clone(),
            lookups: None,
        };
        let resume = Resume {
            done: done.clone(),
            unfinished: self
                .resume
                .unfinished
                .iter()
                .filter(|u| u.records.iter().all(|r| pending.iter().any(|c| c.id == *r)))
                .cloned()
                .collect(),
        };
        let run = runner
            .run(records, group.params.clone(), ValidateOptions::default(), resume)
            .await;
        let mut results =
            std::mem::take(&mut *collecting.results.lock().unwrap_or_else(PoisonError::into_inner));
        if verify {
            let only_active = group.action == Action::Suspend;
            self.keep_other_methods(&pending, only_active, &mut results, summary)
                .await;
            self.settle(&results, summary);
        } else {
            count(&results, summary);
        }
        if let Some(stop) = run.stopped {
            summary.stopped.get_or_insert(stop);
        }
    }

    /// Users of enrol changes planned before they existed: their ids now.
    async fn user_ids(
        &self,
        step: &Step,
        plan_step: &PlanStep,
        changes: &[&Change],
    ) -> Result<BTreeMap<String, i64>, SiteReadError> {
        if step.object != SyncObject::Enrolments {
            return Ok(BTreeMap::new());
        }
        let wanted: Vec<String> = changes
            .iter()
            .filter(|c| !c.send.contains_key("userid"))
            .filter_map(|c| c.key.get("user").cloned())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if wanted.is_empty() {
            return Ok(BTreeMap::new());
        }
        let field = KeySpec::of(&plan_step.template, &plan_step.spec).parts[0]
            .1
            .clone();
        actual::user_ids(&self.session, &field, &wanted).await
    }

    /// Unenrolments (suspensions, with `only_active`) Moodle answered but
    /// that left the user enrolled (active) through another method (cohort,
    /// self, database, meta link): `skipped`, "kept", never removed.
    async fn keep_other_methods(
        &self,
        changes: &[&Change],
        only_active: bool,
        results: &mut [RecordResult],
        summary: &mut Applied,
    ) {
        let courses: BTreeSet<i64> = changes
            .iter()
            .filter_map(|c| c.send.get("courseid").and_then(Json::as_i64))
            .collect();
        let mut enrolled: BTreeSet<(i64, i64)> = BTreeSet::new();
        for course in courses {
            match actual::participant_ids(&self.session, course, only_active).await {
                Ok(users) => enrolled.extend(users.into_iter().map(|u| (course, u))),
                Err(error) => {
                    self.reporter.warning(&format!(
                        "cannot check the unenrolments of course {course}: {error}"
                    ));
                }
            }
        }
        for result in results.iter_mut().filter(|r| r.status == Status::Applied) {
            let Some(change) = changes.iter().find(|c| c.id == result.record) else {
                continue;
            };
            let user = change.send.get("userid").and_then(Json::as_i64);
            let course = change.send.get("courseid").and_then(Json::as_i64);
            if let (Some(user), Some(course)) = (user, course) {
                if enrolled.contains(&(course, user)) {
                    *result = RecordResult::with_error(
                        result.record,
                        Status::Skipped,
                        MoodleError::local(
                            "enrolled_by_other_method",
                            "kept: enrolled by another method (cohort, self, database or meta link); enrol_manual_unenrol_users leaves such enrolments alone",
                        ),
                    );
                    summary.kept += 1;
                }
            }
        }
    }
}

fn stop_error(stop: &Stop) -> MoodleError {
    MoodleError::local("apply_stopped", format!("not sent: {}", stop.message))
}

fn count(results: &[RecordResult], summary: &mut Applied) {
    for result in results {
        match result.status {
            Status::Applied => summary.applied += 1,
            Status::Failed | Status::Invalid => summary.failed += 1,
            Status::Skipped => summary.skipped += 1,
        }
    }
}

/// Why `change` no longer fits what Moodle holds (`now`), if it does not.
pub fn moved(
    object: SyncObject,
    managed: &[String],
    change: &Change,
    now: Option<&Fields>,
) -> Option<String> {
    match (change.action, now) {
        (Action::Create | Action::Enrol, Some(_)) => Some("it exists in Moodle now".to_owned()),
        (Action::Create | Action::Enrol, None) => None,
        (_, None) => Some("it is no longer in Moodle (or no longer in scope)".to_owned()),
        (_, Some(now)) => {
            let now = before_of(object, managed, now);
            let then = change.before.clone().unwrap_or_default();
            let fields: BTreeSet<&String> = now.keys().chain(then.keys()).collect();
            let changed: Vec<&str> = fields
                .into_iter()
                .filter(|f| canonical(now.get(*f)) != canonical(then.get(*f)))
                .map(String::as_str)
                .collect();
            (!changed.is_empty()).then(|| format!("{} changed", changed.join(", ")))
        }
    }
}
