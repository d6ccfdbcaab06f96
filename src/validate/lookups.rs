//! Lookup fields in validation: the id Moodle resolved for the record's key,
//! a `lookup_failed` violation when it resolved to nothing (or too much), or,
//! without a site to ask, the field left unchecked (never `missing_required`).

use crate::diagnostic::Code;
use std::ops::Range;
use std::sync::Arc;

use super::keys::{key_value, source_span, Key, Resolution, Resolutions};
use super::Violation;
use crate::form::FieldValue;
use crate::record::SourceRecord;
use crate::template::{Template, Value};

/// The lookups of one template, with the run's answers if there are any.
pub(super) struct LookupStep {
    /// Per lookup of the template: the position of the field it fills.
    positions: Vec<Option<usize>>,
    /// `None`: validating offline, lookup fields are unchecked.
    resolutions: Option<Arc<Resolutions>>,
}

impl LookupStep {
    pub(super) fn new(template: &Template) -> Self {
        LookupStep {
            positions: template
                .lookups
                .iter()
                .map(|l| template.fields.iter().position(|f| f.name == l.field))
                .collect(),
            resolutions: None,
        }
    }

    pub(super) fn resolve_with(&mut self, resolutions: Arc<Resolutions>) {
        self.resolutions = Some(resolutions);
    }

    /// Whether the field at `position` is filled by a lookup that cannot be
    /// checked (no site): its absence is no problem.
    pub(super) fn unchecked(&self, position: usize) -> bool {
        self.resolutions.is_none() && self.positions.contains(&Some(position))
    }

    /// Replace whatever `values` holds for lookup fields (a default, a map)
    /// with the looked-up ids; add the problems to `violations`.
    pub(super) fn apply(
        &self,
        template: &Template,
        record: &SourceRecord,
        values: &mut Vec<(usize, FieldValue, Option<Range<usize>>)>,
        violations: &mut Vec<Violation>,
    ) {
        if template.lookups.is_empty() {
            return;
        }
        values.retain(|(position, _, _)| !self.positions.contains(&Some(*position)));
        for (lookup, position) in template.lookups.iter().zip(&self.positions) {
            let Some(position) = *position else { continue };
            let value = match key_value(lookup, record) {
                Ok(value) => value,
                Err(problem) => {
                    violations.push(failed(&lookup.field, problem.message).at(problem.span));
                    continue;
                }
            };
            let Some(resolutions) = &self.resolutions else {
                continue;
            };
            let key = Key::of(lookup, &value);
            match resolutions.get(&key) {
                Some(Resolution::Found(id)) => {
                    values.push((position, FieldValue::Scalar(Value::Int(*id)), None));
                }
                Some(other) => {
                    let message = other.problem(&key).unwrap_or_default();
                    violations.push(
                        failed(&lookup.field, message)
                            .help(help(&key, other))
                            .at(source_span(lookup, record)),
                    );
                }
                None => violations.push(failed(
                    &lookup.field,
                    format!(
                        "{} {} {} was not looked up",
                        key.kind.name(),
                        key.field,
                        key.value
                    ),
                )),
            }
        }
        values.sort_by_key(|(position, _, _)| *position);
    }
}

fn failed(field: &str, message: impl Into<String>) -> Violation {
    Violation::new(Code::LookupFailed, Some(field), message)
}

/// What to check in Moodle when a key found nothing or too much.
fn help(key: &Key, resolution: &Resolution) -> Option<String> {
    let kind = key.kind.name();
    match resolution {
        Resolution::Missing => Some(format!(
            "Moodle matches {} exactly (letter case as the site's database compares it); a {kind} the token's user may not see counts as missing",
            key.field
        )),
        Resolution::Ambiguous(_) => Some(format!(
            "a lookup must find one {kind}: make the {} unique in Moodle, or look the {kind} up by another field",
            key.field
        )),
        Resolution::Found(_) | Resolution::Rejected(_) => None,
    }
}
