//! The desired state: the roster's records in Moodle's terms, one row per key.
//!
//! Each record goes through the sync template exactly as `run` would send
//! it (maps, sets, defaults, Moodle's own checks), so what is compared is
//! what Moodle would be sent. Rows are matched to Moodle records by key:
//! users and courses by the template's `by` field, enrolments by the keys of
//! their user and course lookups. A roster may repeat a row (an HR export
//! with one line per person and course): repeats that agree are one row,
//! repeats that disagree are a problem, never a silent pick.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::fields::to_json;
use super::model::{json_text, Fields};
use crate::params::ParamValues;
use crate::record::{ReadError, SourceRecord};
use crate::template::{LookupKind, SyncObject, SyncSpec, Template};
use crate::validate::keys::key_value;
use crate::validate::{ValidateOptions, Validator, Violation};

/// One desired Moodle record.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The first roster record that gave it.
    pub record: u64,
    /// Its line.
    pub line: u64,
    /// Its key values by key name (`username`; `user`, `course`).
    pub key: BTreeMap<String, String>,
    /// The Moodle fields it sends, by name (secrets included: this stays in memory).
    pub fields: Fields,
}

/// A roster record that cannot take part in the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// Its number.
    pub record: u64,
    /// Its line.
    pub line: u64,
    /// A stable code.
    pub code: String,
    /// What is wrong.
    pub message: String,
}

/// The desired state of one step.
#[derive(Debug, Clone, Default)]
pub struct Desired {
    /// Rows by their joined key (see [`joined`]).
    pub rows: BTreeMap<String, Row>,
    /// Records that could not be read or are invalid.
    pub problems: Vec<Problem>,
    /// Records read.
    pub records: u64,
}

/// What a step's records are matched by: the names of its key parts and,
/// for each, what in Moodle it matches (`user.username`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySpec {
    /// (part name, Moodle field matched, lookup kind for enrolment parts).
    pub parts: Vec<(String, String, Option<LookupKind>)>,
}

impl KeySpec {
    /// The key of `template`'s sync.
    pub fn of(template: &Template, spec: &SyncSpec) -> KeySpec {
        match spec.object {
            SyncObject::Enrolments => {
                let part = |kind: LookupKind, name: &str| {
                    let lookup = template.lookups.iter().find(|l| l.kind == kind);
                    let field = lookup.map_or_else(|| "id".to_owned(), |l| l.key.clone());
                    (name.to_owned(), field, Some(kind))
                };
                KeySpec {
                    parts: vec![part(LookupKind::User, "user"), part(LookupKind::Course, "course")],
                }
            }
            _ => {
                let field = spec.key.clone().unwrap_or_else(|| "id".to_owned());
                KeySpec {
                    parts: vec![(field.clone(), field, None)],
                }
            }
        }
    }

    /// The names shown for the key, e.g. `username` or `user.username`, `course.shortname`.
    pub fn names(&self) -> Vec<String> {
        self.parts
            .iter()
            .map(|(name, field, kind)| match kind {
                Some(_) => format!("{name}.{field}"),
                None => name.clone(),
            })
            .collect()
    }
}

/// A key value as Moodle matches it: usernames and emails without case
/// (Moodle stores usernames lowercased; email matching follows a
/// case-insensitive collation on most sites), everything trimmed.
pub fn normalise_key(field: &str, value: &str) -> String {
    let value = value.trim();
    match field {
        "username" | "email" => value.to_lowercase(),
        _ => value.to_owned(),
    }
}

/// One string for a key, for maps and sorting.
pub fn joined(key: &BTreeMap<String, String>) -> String {
    key.values().cloned().collect::<Vec<_>>().join("\u{1f}")
}

/// Collects the desired rows of a step from the roster's records.
pub struct Collector {
    template: Arc<Template>,
    spec: SyncSpec,
    key: KeySpec,
    validator_template: Arc<Template>,
    params: ParamValues,
    options: ValidateOptions,
    desired: Desired,
}

impl Collector {
    /// A collector for `template` (a sync template) with its params.
    pub fn new(
        template: Arc<Template>,
        spec: SyncSpec,
        params: ParamValues,
        options: ValidateOptions,
    ) -> Collector {
        // Repeats of one key are merged here, so the template's `unique`
        // rules are applied to the merged rows ([`Collector::finish`]), not
        // to every repeated line.
        let mut relaxed = (*template).clone();
        relaxed.unique.clear();
        Collector {
            key: KeySpec::of(&template, &spec),
            template,
            spec,
            validator_template: Arc::new(relaxed),
            params,
            options,
            desired: Desired::default(),
        }
    }

    /// Collect every record of `records`.
    pub fn collect(mut self, records: impl Iterator<Item = Result<SourceRecord, ReadError>>) -> Desired {
        let template = self.validator_template.clone();
        let mut validator = Validator::new(&template, self.params.clone(), self.options.clone());
        for item in records {
            match item {
                Ok(record) => {
                    self.desired.records += 1;
                    let verdict = validator.validate(&record);
                    match verdict.outcome {
                        Ok(valid) => {
                            let fields = to_json(&template.fields, &valid.values);
                            self.add(&record, fields);
                        }
                        Err(violations) => self.invalid(&record, &violations),
                    }
                }
                Err(error) if error.number == 0 => {}
                Err(error) => {
                    self.desired.records += 1;
                    self.desired.problems.push(Problem {
                        record: error.number,
                        line: error.line,
                        code: "unreadable".to_owned(),
                        message: error.message.clone(),
                    });
                }
            }
        }
        self.finish()
    }

    fn invalid(&mut self, record: &SourceRecord, violations: &[Violation]) {
        let message: Vec<String> = violations
            .iter()
            .map(|v| match &v.field {
                Some(field) => format!("{field}: {}", v.message),
                None => v.message.clone(),
            })
            .collect();
        self.desired.problems.push(Problem {
            record: record.number,
            line: record.line,
            code: violations
                .first()
                .map_or("invalid", |v| v.code.as_str())
                .to_owned(),
            message: message.join("; "),
        });
    }

    fn add(&mut self, record: &SourceRecord, fields: Fields) {
        let key = match self.key_of(record, &fields) {
            Ok(key) => key,
            Err(message) => {
                self.desired.problems.push(Problem {
                    record: record.number,
                    line: record.line,
                    code: "no_key".to_owned(),
                    message,
                });
                return;
            }
        };
        let joined = joined(&key);
        match self.desired.rows.get(&joined) {
            None => {
                self.desired.rows.insert(
                    joined,
                    Row {
                        record: record.number,
                        line: record.line,
                        key,
                        fields,
                    },
                );
            }
            Some(first) if first.fields == fields => {}
            Some(first) => {
                let differing: Vec<&str> = fields
                    .keys()
                    .chain(first.fields.keys())
                    .filter(|f| fields.get(*f) != first.fields.get(*f))
                    .map(String::as_str)
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect();
                self.desired.problems.push(Problem {
                    record: record.number,
                    line: record.line,
                    code: "conflicting_rows".to_owned(),
                    message: format!(
                        "record {} has the same key ({}) with other values ({}): which one Moodle should hold is not clear",
                        first.record,
                        describe(&key),
                        differing.join(", ")
                    ),
                });
            }
        }
    }

    fn key_of(&self, record: &SourceRecord, fields: &Fields) -> Result<BTreeMap<String, String>, String> {
        let mut key = BTreeMap::new();
        for (name, field, kind) in &self.key.parts {
            let value = match kind {
                Some(kind) => {
                    let lookup = self
                        .template
                        .lookups
                        .iter()
                        .find(|l| l.kind == *kind)
                        .ok_or_else(|| format!("the template has no {} lookup", kind.name()))?;
                    key_value(lookup, record).map_err(|problem| problem.message)?
                }
                None => fields.get(field).map(json_text).unwrap_or_default(),
            };
            if value.trim().is_empty() {
                return Err(format!(
                    "the key {name} is empty: the record cannot be matched with Moodle"
                ));
            }
            key.insert(name.clone(), normalise_key(field, &value));
        }
        Ok(key)
    }

    /// The template's `unique` rules over the merged rows (two people with one email).
    fn finish(mut self) -> Desired {
        for unique in &self.template.unique {
            if self
                .spec
                .key
                .as_ref()
                .is_some_and(|k| unique.fields == [k.clone()])
            {
                continue;
            }
            let mut seen: BTreeMap<Vec<String>, u64> = BTreeMap::new();
            for row in self.desired.rows.values() {
                let Some(values) = unique
                    .fields
                    .iter()
                    .map(|f| {
                        row.fields.get(f).map(|v| {
                            let text = super::fields::canonical(Some(v));
                            if unique.ignore_case {
                                text.to_lowercase()
                            } else {
                                text
                            }
                        })
                    })
                    .collect::<Option<Vec<String>>>()
                else {
                    continue;
                };
                if values.iter().all(String::is_empty) {
                    continue;
                }
                if let Some(first) = seen.get(&values) {
                    self.desired.problems.push(Problem {
                        record: row.record,
                        line: row.line,
                        code: "duplicate".to_owned(),
                        message: format!(
                            "{} {} is already used by record {first}",
                            unique.fields.join(", "),
                            values.join(", ")
                        ),
                    });
                } else {
                    seen.insert(values, row.record);
                }
            }
        }
        self.desired.problems.sort_by_key(|p| p.record);
        self.desired
    }
}

/// `username jdoe` or `user jdoe, course MATH101`.
pub fn describe(key: &BTreeMap<String, String>) -> String {
    key.iter()
        .map(|(name, value)| format!("{name} {value}"))
        .collect::<Vec<_>>()
        .join(", ")
}
