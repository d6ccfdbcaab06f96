//! `unique`: keys that must not repeat across the dataset.
//!
//! Only keys are kept (not records), so memory grows with the number of
//! distinct keys, which is what Moodle itself must hold to detect duplicates.

use crate::diagnostic::Code;
use std::collections::HashMap;

use super::Violation;
use crate::form::FieldValue;
use crate::template::{Template, Value};

/// For each `unique` of the template, the first record holding each key.
pub(super) struct UniqueIndex {
    /// Per `unique`: each key, and the source and number of its first record.
    seen: Vec<HashMap<String, (u32, u64)>>,
    /// The names of the data files begun, and the index of the current one.
    sources: Vec<String>,
    source: u32,
    /// Per `unique`, the position of each of its fields (`None`: no such field).
    positions: Vec<Vec<Option<usize>>>,
}

impl UniqueIndex {
    pub(super) fn new(template: &Template) -> Self {
        UniqueIndex {
            seen: vec![HashMap::new(); template.unique.len()],
            sources: Vec::new(),
            source: 0,
            positions: template
                .unique
                .iter()
                .map(|unique| {
                    unique
                        .fields
                        .iter()
                        .map(|name| template.fields.iter().position(|f| f.name == *name))
                        .collect()
                })
                .collect(),
        }
    }

    /// The records that follow come from the data file `name`.
    pub(super) fn begin_source(&mut self, name: &str) {
        self.source = u32::try_from(self.sources.len()).unwrap_or(u32::MAX);
        self.sources.push(name.to_owned());
    }

    /// Violations for keys already held by an earlier record; when `claim`
    /// and there are none, this record's keys become taken.
    pub(super) fn check(
        &mut self,
        template: &Template,
        number: u64,
        values: &[(usize, FieldValue)],
        claim: bool,
    ) -> Vec<Violation> {
        if template.unique.is_empty() {
            return Vec::new();
        }
        let keys: Vec<Option<String>> = template
            .unique
            .iter()
            .zip(&self.positions)
            .map(|(unique, positions)| {
                let parts: Option<Vec<String>> = positions
                    .iter()
                    .map(|position| scalar_text(values, (*position)?))
                    .collect();
                parts.map(|p| {
                    let key = p.join("\u{1f}");
                    if unique.ignore_case {
                        key.to_lowercase()
                    } else {
                        key
                    }
                })
            })
            .collect();
        let mut violations = Vec::new();
        for (index, key) in keys.iter().enumerate() {
            let Some(key) = key else { continue };
            if let Some(&(source, first)) = self.seen[index].get(key) {
                let elsewhere = (source != self.source)
                    .then(|| self.sources.get(source as usize).cloned())
                    .flatten();
                let unique = &template.unique[index];
                let fields = unique.fields.join(" + ");
                let shown = key.replace('\u{1f}', ", ");
                let mut violation = Violation::new(
                    Code::Duplicate,
                    Some(&unique.fields[0]),
                    match &elsewhere {
                        Some(file) => {
                            format!("{fields} {shown:?} is already used by record {first} of {file}")
                        }
                        None => format!("{fields} {shown:?} is already used by record {first}"),
                    },
                );
                violation.help = Some(format!(
                    "Moodle refuses a duplicate {fields}{}",
                    if unique.ignore_case {
                        " (compared ignoring case)"
                    } else {
                        ""
                    }
                ));
                violation.other_record = Some(first);
                violation.other_source = elsewhere;
                violations.push(violation);
            }
        }
        if claim && violations.is_empty() {
            for (index, key) in keys.into_iter().enumerate() {
                if let Some(key) = key {
                    self.seen[index].insert(key, (self.source, number));
                }
            }
        }
        violations
    }
}

/// The text of a scalar field's value, or `None` if absent or empty: neither
/// is ever a duplicate (Moodle checks course idnumbers only when not empty).
fn scalar_text(values: &[(usize, FieldValue)], position: usize) -> Option<String> {
    values
        .iter()
        .find(|(p, _)| *p == position)
        .and_then(|(_, v)| match v {
            FieldValue::Scalar(Value::Str(s)) if s.is_empty() => None,
            FieldValue::Scalar(Value::Str(s)) => Some(s.clone()),
            FieldValue::Scalar(other) => Some(other.to_string()),
            FieldValue::List(_) | FieldValue::Object(_) | FieldValue::Values(_) => None,
        })
}
