//! Plan: read the roster and Moodle, and compute the changes of every step.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::json;

use super::actual::{self, Actual};
use super::desired::{joined, Collector, Desired, KeySpec};
use super::diff::{self, StepDiff};
use super::model::{Action, Counts, Plan, PlanProblem, SourceInfo, Step, VERSION};
use super::rails::{self, Allowance};
use crate::params::ParamValues;
use crate::record::Records;
use crate::site::{ReadError, Session};
use crate::template::{SyncObject, SyncSpec, Template};
use crate::validate::ValidateOptions;

/// One step to plan: a sync template and its params.
#[derive(Debug, Clone)]
pub struct PlanStep {
    /// The sync template.
    pub template: Arc<Template>,
    /// Its sync statements.
    pub spec: SyncSpec,
    /// Its params (`--set`).
    pub params: ParamValues,
}

impl PlanStep {
    /// The step of `template`, if it is a sync template.
    pub fn new(template: Arc<Template>, params: ParamValues) -> Option<PlanStep> {
        let spec = template.sync.clone()?;
        Some(PlanStep {
            template,
            spec,
            params,
        })
    }
}

/// What a plan is computed with.
pub struct Planner<'a> {
    /// The site.
    pub session: &'a Session,
    /// Reads in flight at once.
    pub concurrency: usize,
    /// What the command line allows the rails.
    pub allowance: Allowance,
    /// How the roster is validated.
    pub options: ValidateOptions,
}

/// The plan, and the desired state of each step (with the secrets the plan leaves out).
#[derive(Debug)]
pub struct Planned {
    /// The plan.
    pub plan: Plan,
    /// Per step, the roster's rows.
    pub desired: Vec<Desired>,
}

/// Why a plan could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The roster could not be read.
    #[error("cannot read the roster: {0}")]
    Io(#[from] std::io::Error),
    /// A Moodle read failed.
    #[error("cannot read Moodle: {0}")]
    Read(#[from] ReadError),
}

/// Who the plan is for.
#[derive(Debug, Clone)]
pub struct Header {
    /// The sync template's name.
    pub sync: String,
    /// The site's address.
    pub site: String,
    /// Hash of the templates.
    pub template_hash: String,
    /// The roster.
    pub source: SourceInfo,
}

impl Planner<'_> {
    /// Plan `steps` over the roster `open` reads (once per step).
    ///
    /// # Errors
    /// The roster cannot be read, or Moodle cannot.
    pub async fn plan(
        &self,
        header: Header,
        steps: &[PlanStep],
        open: &dyn Fn() -> std::io::Result<Records>,
    ) -> Result<Planned, PlanError> {
        let mut desired = Vec::new();
        for step in steps {
            let collector = Collector::new(
                step.template.clone(),
                step.spec.clone(),
                step.params.clone(),
                self.options.clone(),
            );
            desired.push(collector.collect(open()?));
        }
        let records = desired.first().map_or(0, |d| d.records);
        let mut problems: Vec<PlanProblem> = Vec::new();
        for (step, d) in steps.iter().zip(&desired) {
            problems.extend(d.problems.iter().map(|p| PlanProblem {
                step: step.template.name.clone(),
                record: p.record,
                line: p.line,
                code: p.code.clone(),
                message: p.message.clone(),
            }));
        }
        let mut actuals = Vec::new();
        for (step, d) in steps.iter().zip(&desired) {
            let key = KeySpec::of(&step.template, &step.spec);
            actuals.push(actual::read(self.session, &step.spec, &key, d, self.concurrency).await?);
        }
        let mut created_users: BTreeSet<(String, String)> = BTreeSet::new();
        for ((step, d), a) in steps.iter().zip(&desired).zip(actuals.iter_mut()) {
            if step.spec.object == SyncObject::Enrolments {
                unknown_users(step, d, a, &created_users);
            }
            for (j, why) in &a.problems {
                if let Some(row) = d.rows.get(j) {
                    problems.push(PlanProblem {
                        step: step.template.name.clone(),
                        record: row.record,
                        line: row.line,
                        code: "not_in_moodle".to_owned(),
                        message: why.clone(),
                    });
                }
            }
            if step.spec.object == SyncObject::Users && step.spec.create {
                let field = step.spec.key.clone().unwrap_or_default();
                for (j, row) in &d.rows {
                    if !a.records.contains_key(j) {
                        created_users.extend(row.key.values().map(|v| (field.clone(), v.clone())));
                    }
                }
            }
        }
        let removals = records > 0 && problems.is_empty();
        let mut notes = Vec::new();
        if records == 0 {
            notes.push("the roster has no records: nothing is removed".to_owned());
        } else if !problems.is_empty() {
            notes.push(format!(
                "{} roster record(s) have problems: nothing is removed until they are fixed (a bad line may be a person who stays)",
                problems.len()
            ));
        }
        let mut planned_steps = Vec::new();
        let mut next_id = 1;
        for ((step, d), a) in steps.iter().zip(&desired).zip(&actuals) {
            let diff = diff::step(&step.template, &step.spec, d, a, removals);
            notes.extend(step_notes(step, d, &diff, a));
            planned_steps.push(assemble(step, diff, a, &mut next_id));
        }
        problems.sort_by_key(|p| (p.record, p.step.clone()));
        let rails = rails::check(&planned_steps, self.allowance);
        let plan = Plan {
            version: VERSION,
            sync: header.sync,
            site: header.site,
            template_hash: header.template_hash,
            source: header.source,
            counts: Counts::of(&planned_steps),
            steps: planned_steps,
            rails,
            problems,
            notes,
        };
        Ok(Planned { plan, desired })
    }
}

/// Enrolment rows whose user neither exists nor is created by an earlier step.
fn unknown_users(
    step: &PlanStep,
    desired: &Desired,
    actual: &mut Actual,
    created: &BTreeSet<(String, String)>,
) {
    let field = KeySpec::of(&step.template, &step.spec).parts[0].1.clone();
    for (j, row) in &desired.rows {
        if actual.records.contains_key(j) || actual.problems.contains_key(j) {
            continue;
        }
        let Some(user) = row.key.get("user") else {
            continue;
        };
        if !actual.user_ids.contains_key(user) && !created.contains(&(field.clone(), user.clone())) {
            actual.problems.insert(
                j.clone(),
                format!("no Moodle user with {field} {user}, and no step of this sync creates one"),
            );
        }
    }
}

fn step_notes(step: &PlanStep, desired: &Desired, diff: &StepDiff, actual: &Actual) -> Vec<String> {
    let mut notes: Vec<String> = actual.notes.clone();
    notes.extend(diff.notes.iter().cloned());
    let creates = diff.changes.iter().any(|c| c.action == Action::Create);
    // Only the secrets the roster gives: a template that sets createpassword sends none.
    let secrets: Vec<String> = diff::secret_fields(&step.template)
        .into_iter()
        .filter(|f| desired.rows.values().any(|row| row.fields.contains_key(f)))
        .collect();
    if creates && !secrets.is_empty() {
        notes.push(format!(
            "{}: {} set on create only (Moodle never returns it, so it is never compared, and this plan does not hold it: apply reads it from the roster)",
            step.template.name,
            secrets.join(", ")
        ));
    }
    notes
}

fn assemble(step: &PlanStep, diff: StepDiff, actual: &Actual, next_id: &mut u64) -> Step {
    let mut changes = diff.changes;
    changes.sort_by_key(|c| (c.action, joined(&c.key)));
    for change in &mut changes {
        change.id = *next_id;
        *next_id += 1;
        if change.action == Action::Enrol && !change.send.contains_key("userid") {
            if let Some(id) = change.key.get("user").and_then(|u| actual.user_ids.get(u)) {
                change.send.insert("userid".to_owned(), json!(id));
            }
        }
    }
    let key = KeySpec::of(&step.template, &step.spec);
    Step {
        template: step.template.name.clone(),
        object: step.spec.object,
        key: key.names(),
        missing: step.spec.missing,
        scope: step.spec.scope.clone(),
        in_scope: actual.in_scope.len() as u64,
        unchanged: diff.unchanged,
        create_only: diff.create_only,
        changes,
    }
}
