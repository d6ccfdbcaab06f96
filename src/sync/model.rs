//! The plan: what a sync would change, and the Moodle state each change was
//! computed from. Stable JSON (`"version": 1`, documented in
//! docs/plan-format.md): `plan --out` writes it, `apply` reads it back.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::template::{Missing, ScopeRule, SyncObject};

/// The plan format's version.
pub const VERSION: u32 = 1;

/// Field values by Moodle field name, in name order.
pub type Fields = BTreeMap<String, Json>;

/// A whole plan: one step per sync template, applied in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Always [`VERSION`].
    pub version: u32,
    /// The sync template planned (`-t`).
    pub sync: String,
    /// The site the plan was computed against; `apply` refuses another.
    pub site: String,
    /// The hash of the template text(s), so `apply` knows the rules did not change.
    pub template_hash: String,
    /// The roster the plan was computed from.
    pub source: SourceInfo,
    /// The steps, in the order they are applied.
    pub steps: Vec<Step>,
    /// Totals over all steps.
    pub counts: Counts,
    /// The removal rail's verdict.
    pub rails: Rails,
    /// Roster records that cannot take part (while there are any, nothing is removed).
    #[serde(default)]
    pub problems: Vec<PlanProblem>,
    /// What the reader should know (create-only fields, skipped removals...).
    #[serde(default)]
    pub notes: Vec<String>,
}

/// A roster record the plan leaves out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanProblem {
    /// The step's template.
    pub step: String,
    /// The record's number in the roster.
    pub record: u64,
    /// Its line.
    pub line: u64,
    /// A stable code (`invalid` codes of validate, `no_key`, `conflicting_rows`, `not_in_moodle`...).
    pub code: String,
    /// What is wrong.
    pub message: String,
}

impl Plan {
    /// Whether applying the plan would change anything.
    pub fn has_changes(&self) -> bool {
        self.steps.iter().any(|s| !s.changes.is_empty())
    }
}

/// The roster: where it was and what it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// As given on the command line.
    pub path: String,
    /// Size and hash of its bytes (create-only secrets are read from it again at apply).
    pub hash: String,
    /// Records read.
    pub records: u64,
}

/// One sync template's changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// The sync template.
    pub template: String,
    /// What it syncs.
    pub object: SyncObject,
    /// The match key (`username`); for enrolments `user.FIELD` and `course.FIELD`.
    pub key: Vec<String>,
    /// What happens to records in scope the roster lacks.
    pub missing: Missing,
    /// The scope criteria.
    pub scope: Vec<ScopeRule>,
    /// Moodle records in scope (the base of the removal rail).
    pub in_scope: u64,
    /// Records equal on both sides.
    pub unchanged: u64,
    /// Fields the template sends that Moodle never returns: set on create, never compared.
    pub create_only: Vec<String>,
    /// The changes, in key order within each action.
    pub changes: Vec<Change>,
}

/// One change to one Moodle record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// Number within the plan, from 1: the `record` of its results line.
    pub id: u64,
    /// What is done.
    pub action: Action,
    /// The record's key values, e.g. `{"username": "jdoe"}` or
    /// `{"user": "jdoe", "course": "MATH101"}`.
    pub key: BTreeMap<String, String>,
    /// The roster record it comes from (none for removals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<u64>,
    /// The Moodle state the change was computed from (none for a create);
    /// `apply` reads it again and refuses or skips the change if it moved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Fields>,
    /// For updates: each differing field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diff: Vec<FieldChange>,
    /// The fields sent (create-only secrets left out: they are read from the roster at apply).
    pub send: Fields,
}

/// One field that differs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// The Moodle field.
    pub field: String,
    /// What Moodle holds.
    pub old: Json,
    /// What the roster says.
    pub new: Json,
}

/// What a change does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// A user or course the roster has and Moodle lacks.
    Create,
    /// Managed fields that differ.
    Update,
    /// A suspended user or enrolment the roster has again.
    Reactivate,
    /// An enrolment the roster has and Moodle lacks.
    Enrol,
    /// A role the roster gives an enrolment and Moodle lacks (core_role_assign_roles).
    Assign,
    /// A role Moodle has on an enrolment and the roster does not give (core_role_unassign_roles).
    Unassign,
    /// A user (suspended = 1) or enrolment (suspend = 1) the roster lacks.
    Suspend,
    /// An enrolment the roster lacks.
    Unenrol,
    /// A user or course the roster lacks.
    Delete,
}

impl Action {
    /// Whether the change takes something away (what the removal rail counts).
    pub fn removes(self) -> bool {
        matches!(self, Action::Suspend | Action::Unenrol | Action::Delete)
    }

    /// The word used in views.
    pub fn name(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Reactivate => "reactivate",
            Action::Enrol => "enrol",
            Action::Assign => "assign role",
            Action::Unassign => "unassign role",
            Action::Suspend => "suspend",
            Action::Unenrol => "unenrol",
            Action::Delete => "delete",
        }
    }

    /// All actions, in the order they are shown and applied within a step.
    pub const ALL: [Action; 9] = [
        Action::Create,
        Action::Update,
        Action::Reactivate,
        Action::Enrol,
        Action::Assign,
        Action::Unassign,
        Action::Suspend,
        Action::Unenrol,
        Action::Delete,
    ];
}

/// How many changes of each action, and how many records are unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Changes by action name.
    pub changes: BTreeMap<Action, u64>,
    /// Records equal on both sides.
    pub unchanged: u64,
}

impl Counts {
    /// The counts of `steps`.
    pub fn of(steps: &[Step]) -> Counts {
        let mut counts = Counts::default();
        for step in steps {
            counts.unchanged += step.unchanged;
            for change in &step.changes {
                *counts.changes.entry(change.action).or_default() += 1;
            }
        }
        counts
    }

    /// Changes in all.
    pub fn total(&self) -> u64 {
        self.changes.values().sum()
    }

    /// Removals in all.
    pub fn removals(&self) -> u64 {
        self.changes
            .iter()
            .filter(|(action, _)| action.removes())
            .map(|(_, n)| n)
            .sum()
    }
}

/// The removal rail: how many removals the plan has, what is allowed, and
/// whether the plan may be applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rails {
    /// Removals planned (suspend, unenrol, delete).
    pub removals: u64,
    /// Records in the scopes of the steps that remove.
    pub in_scope: u64,
    /// The most removals allowed without `--allow-removals`.
    pub threshold: u64,
    /// `--allow-removals N` as given.
    pub allowed: Option<u64>,
    /// Why the plan may not be applied as it is, with what to do; `None`: it may.
    pub stopped: Option<RailStop>,
}

/// A rail that stopped the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RailStop {
    /// Stable name: `mass_removal`, `delete_not_allowed`.
    pub rail: String,
    /// What the rail saw.
    pub message: String,
    /// How to proceed.
    pub help: String,
}

/// A JSON value as text: a string as itself, `null` as empty, others as JSON
/// (key values, views).
pub fn json_text(value: &Json) -> String {
    match value {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}
