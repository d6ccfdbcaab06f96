//! Lookups: fields whose value is a Moodle id found from a key in the source
//! record (`lookup userid = user by email from "{{ employee_email }}"`).
//!
//! A run (or `validate --url`) first reads the data once to collect the
//! DISTINCT keys of every lookup ([`Wanted`]), resolves them with Moodle's
//! read functions in as few calls as Moodle allows (`site::find::resolve`), and keeps
//! the answers for the whole run ([`Resolutions`]). The validator then gives
//! each record its ids, or a clear error for a key that found no Moodle
//! record, several, or one Moodle would refuse to search for.
//!
//! How Moodle matches keys, and so what "found" means: `site::find`.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::ops::Range;

use super::source::{render_map, source_context};
use crate::record::SourceRecord;
use crate::template::{Lookup, LookupKind, Template};

/// One thing to find: a user or course by one of its fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// User or course.
    pub kind: LookupKind,
    /// The Moodle field matched, e.g. `email`.
    pub field: String,
    /// The value searched for.
    pub value: String,
}

// By hand: `LookupKind` (in template.rs) is neither `Hash` nor `Ord`; its name is.
impl std::hash::Hash for Key {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (self.kind.name(), &self.field, &self.value).hash(state);
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.kind.name(), &self.field, &self.value).cmp(&(other.kind.name(), &other.field, &other.value))
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Key {
    /// The key a lookup computes for `value`.
    pub fn of(lookup: &Lookup, value: &str) -> Key {
        Key {
            kind: lookup.kind,
            field: lookup.key.clone(),
            value: value.to_owned(),
        }
    }
}

/// What Moodle said about one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// Exactly one record: its id.
    Found(i64),
    /// No record (or none the token's user may see).
    Missing,
    /// Several records, by id.
    Ambiguous(Vec<i64>),
    /// Moodle refuses to search for this value (e.g. an uppercase username).
    Rejected(String),
}

impl Resolution {
    /// What is wrong, for a record whose key resolved like this; `None` when found.
    pub fn problem(&self, key: &Key) -> Option<String> {
        let (kind, field, value) = (key.kind.name(), &key.field, &key.value);
        match self {
            Resolution::Found(_) => None,
            Resolution::Missing => Some(format!("no Moodle {kind} with {field} {value}")),
            Resolution::Ambiguous(ids) => {
                let list: Vec<String> = ids.iter().map(i64::to_string).collect();
                Some(format!(
                    "{} Moodle {kind}s have {field} {value} (ids {})",
                    ids.len(),
                    list.join(", ")
                ))
            }
            Resolution::Rejected(why) => {
                Some(format!("cannot look up the {kind} with {field} {value:?}: {why}"))
            }
        }
    }
}

/// The answers for every key of a run.
#[derive(Debug, Clone, Default)]
pub struct Resolutions {
    found: HashMap<Key, Resolution>,
    /// Requests the resolution took.
    pub requests: u64,
}

impl Resolutions {
    /// The answer for `key`, if it was looked up.
    pub fn get(&self, key: &Key) -> Option<&Resolution> {
        self.found.get(key)
    }

    /// Record `resolution` for `key`.
    pub fn insert(&mut self, key: Key, resolution: Resolution) {
        self.found.insert(key, resolution);
    }

    /// Keys resolved.
    pub fn len(&self) -> usize {
        self.found.len()
    }

    /// Whether nothing was resolved.
    pub fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    /// One line for the terminal, e.g. "lookups: 3 users by email, 2 courses by shortname (5 found) in 2 requests".
    pub fn summary(&self) -> String {
        let mut counts: std::collections::BTreeMap<(&str, &str), usize> = Default::default();
        for key in self.found.keys() {
            *counts.entry((key.kind.name(), key.field.as_str())).or_default() += 1;
        }
        let found = self
            .found
            .values()
            .filter(|r| matches!(r, Resolution::Found(_)))
            .count();
        let mut line = String::from("lookups: ");
        let parts: Vec<String> = counts
            .iter()
            .map(|((kind, field), n)| format!("{n} {kind}{} by {field}", if *n == 1 { "" } else { "s" }))
            .collect();
        line.push_str(&if parts.is_empty() {
            "none".to_owned()
        } else {
            parts.join(", ")
        });
        let _ = write!(line, " ({found} found) in {} requests", self.requests);
        line
    }
}

/// The distinct keys a dataset needs, collected before resolving.
#[derive(Debug, Clone, Default)]
pub struct Wanted {
    keys: BTreeSet<Key>,
}

impl Wanted {
    /// Add the keys of `record` (keys that cannot be computed are left to the validator to report).
    pub fn add(&mut self, template: &Template, record: &SourceRecord) {
        for lookup in &template.lookups {
            if let Ok(value) = key_value(lookup, record) {
                self.keys.insert(Key::of(lookup, &value));
            }
        }
    }

    /// The keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &Key> {
        self.keys.iter()
    }

    /// How many distinct keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there is nothing to look up.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Why a record has no key for a lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyProblem {
    /// What is wrong.
    pub message: String,
    /// The span of the source value the key comes from, when there is one.
    pub span: Option<Range<usize>>,
}

/// The key `lookup` computes from `record`: its `from` template rendered and
/// required to be non-empty (an empty key is never a silent skip).
pub fn key_value(lookup: &Lookup, record: &SourceRecord) -> Result<String, KeyProblem> {
    let span = source_span(lookup, record);
    let text =
        render_map(&lookup.from, &source_context(record, &lookup.from.template)).map_err(|message| {
            KeyProblem {
                message: format!("the lookup of `{}` failed: {message}", lookup.field),
                span: span.clone(),
            }
        })?;
    if text.is_empty() {
        let what = match lookup.from.reads.as_slice() {
            [column] => format!("`{column}` is empty"),
            _ => format!("the key {:?} is empty", lookup.from.template),
        };
        return Err(KeyProblem {
            message: format!("{what}: cannot look up the {}", lookup.kind.name()),
            span,
        });
    }
    Ok(text)
}

/// The span of the one source value a lookup reads, for pointing at it.
pub fn source_span(lookup: &Lookup, record: &SourceRecord) -> Option<Range<usize>> {
    let [column] = lookup.from.reads.as_slice() else {
        return None;
    };
    let index = record.fields.iter().position(|(key, _)| key == column)?;
    record.spans.get(index).cloned().flatten()
}

/// One line per lookup field for output without a site, e.g.
/// "userid: looked up from employee_email (user by email), unchecked without --url".
pub fn unchecked_notes(template: &Template) -> Vec<String> {
    template
        .lookups
        .iter()
        .map(|lookup| {
            let from = if lookup.from.reads.is_empty() {
                format!("{:?}", lookup.from.template)
            } else {
                lookup.from.reads.join(", ")
            };
            format!(
                "{}: looked up from {from} ({} by {}), unchecked without --url",
                lookup.field,
                lookup.kind.name(),
                lookup.key
            )
        })
        .collect()
}

/// The read functions a template's lookups call, each once.
pub fn functions(template: &Template) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = template.lookups.iter().map(|l| l.kind.function()).collect();
    names.sort_unstable();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::LookupKind;

    fn key(kind: LookupKind, field: &str, value: &str) -> Key {
        Key {
            kind,
            field: field.to_owned(),
            value: value.to_owned(),
        }
    }

    #[test]
    fn problems_name_the_key_and_the_ids() {
        let k = key(LookupKind::User, "email", "a@b.org");
        assert_eq!(Resolution::Found(3).problem(&k), None);
        assert_eq!(
            Resolution::Missing.problem(&k).as_deref(),
            Some("no Moodle user with email a@b.org")
        );
        assert_eq!(
            Resolution::Ambiguous(vec![5, 9]).problem(&k).as_deref(),
            Some("2 Moodle users have email a@b.org (ids 5, 9)")
        );
        let c = key(LookupKind::Course, "shortname", "X");
        assert_eq!(
            Resolution::Missing.problem(&c).as_deref(),
            Some("no Moodle course with shortname X")
        );
    }
}
