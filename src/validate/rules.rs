//! `rule` expressions evaluated per record.
//!
//! A rule reads a few fields, and most datasets repeat the same few
//! combinations of them (an enrolment feed without dates: every record has
//! timestart = timeend = none). Rules are pure, so results are cached by the
//! values of the fields a rule reads; minijinja runs only for new combinations.
//!
//! The cache is keyed by a hash of those values and each entry keeps the
//! values themselves, compared on a hit: a lookup allocates nothing, and a
//! hash collision is a miss, never a wrong answer.

use crate::diagnostic::Code;
use std::collections::{BTreeMap, HashMap};
use std::hash::Hasher as _;

use minijinja::Value as Jinja;

use super::hash::{FxHasher, PrehashedBuildHasher};
use super::Violation;
use crate::form::FieldValue;
use crate::params::ParamValues;
use crate::template::{Template, Value};

/// Cached results per rule are dropped past this many distinct inputs, so memory stays flat.
const CACHE_LIMIT: usize = 4096;

pub(super) struct RuleSet {
    rules: Vec<RuleState>,
}

struct RuleState {
    /// Positions of the fields the rule reads.
    reads: Vec<usize>,
    /// Results by the hash of the values read.
    cache: HashMap<u64, Cached, PrehashedBuildHasher>,
}

/// A cached result and the values it was computed for (`None`: field absent).
struct Cached {
    values: Vec<Option<Value>>,
    passed: bool,
}

impl RuleSet {
    pub(super) fn new(template: &Template) -> Self {
        let rules = template
            .rules
            .iter()
            .map(|rule| {
                let names = rule.compiled.undeclared_variables(false);
                let reads = template
                    .fields
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| names.contains(&f.name))
                    .map(|(p, _)| p)
                    .collect();
                RuleState {
                    reads,
                    cache: HashMap::default(),
                }
            })
            .collect();
        RuleSet { rules }
    }

    /// The rules this record breaks: (errors, warnings of `warn rule`s).
    /// Rules reading a field named in `failed` (one that already has a
    /// problem) are skipped: they would only repeat that problem.
    pub(super) fn check(
        &mut self,
        template: &Template,
        params: &ParamValues,
        values: &[(usize, FieldValue)],
        failed: &[&str],
    ) -> (Vec<Violation>, Vec<Violation>) {
        let mut context = None;
        let mut violations = Vec::new();
        let mut warnings = Vec::new();
        for (rule, state) in template.rules.iter().zip(&mut self.rules) {
            if state
                .reads
                .iter()
                .any(|&p| failed.contains(&template.fields[p].name.as_str()))
            {
                continue;
            }
            let found = if rule.advisory {
                &mut warnings
            } else {
                &mut violations
            };
            let key = read_hash(&state.reads, values);
            let cached = key.and_then(|k| state.cached(k, values));
            let passed = match cached {
                Some(passed) => Ok(passed),
                None => {
                    let context = context.get_or_insert_with(|| record_context(template, params, values));
                    let passed = rule.compiled.eval(context.clone()).map(|v| v.is_true());
                    if let (Some(key), Ok(passed)) = (key, &passed) {
                        state.remember(key, values, *passed);
                    }
                    passed
                }
            };
            match passed {
                Ok(true) => {}
                Ok(false) => {
                    let mut v = Violation::new(Code::Rule, None, rule.message.clone());
                    v.help = Some(format!("rule: {}", rule.expr));
                    found.push(v);
                }
                Err(error) => {
                    let detail = error.detail().map_or_else(|| error.to_string(), str::to_owned);
                    found.push(Violation::new(
                        Code::Rule,
                        None,
                        format!("{} (the rule could not be evaluated: {detail})", rule.message),
                    ));
                }
            }
        }
        (violations, warnings)
    }
}

impl RuleState {
    /// The cached result for the values with hash `key`, if they are the same values.
    fn cached(&self, key: u64, values: &[(usize, FieldValue)]) -> Option<bool> {
        let entry = self.cache.get(&key)?;
        let same = self
            .reads
            .iter()
            .zip(&entry.values)
            .all(
                |(&position, remembered)| match (read(values, position), remembered) {
                    (None, None) => true,
                    (Some(FieldValue::Scalar(value)), Some(remembered)) => same_value(value, remembered),
                    _ => false,
                },
            );
        same.then_some(entry.passed)
    }

    /// Cache `passed` for the values read from `values` (whose hash is `key`).
    fn remember(&mut self, key: u64, values: &[(usize, FieldValue)], passed: bool) {
        if self.cache.len() >= CACHE_LIMIT {
            self.cache.clear();
        }
        let read_values = self
            .reads
            .iter()
            .map(|&position| match read(values, position) {
                Some(FieldValue::Scalar(value)) => Some(value.clone()),
                _ => None,
            })
            .collect();
        self.cache.insert(
            key,
            Cached {
                values: read_values,
                passed,
            },
        );
    }
}

/// The value at `position`; `values` are sorted by position.
fn read(values: &[(usize, FieldValue)], position: usize) -> Option<&FieldValue> {
    values
        .binary_search_by_key(&position, |(p, _)| *p)
        .ok()
        .map(|index| &values[index].1)
}

/// A hash of the values a rule reads; `None` when one is a list (not worth caching).
fn read_hash(reads: &[usize], values: &[(usize, FieldValue)]) -> Option<u64> {
    let mut hasher = FxHasher::default();
    for &position in reads {
        match read(values, position) {
            None => hasher.write_u8(0),
            Some(FieldValue::Scalar(value)) => hash_value(value, &mut hasher),
            Some(FieldValue::List(_) | FieldValue::Object(_) | FieldValue::Values(_)) => return None,
        }
    }
    Some(hasher.finish())
}

fn hash_value(value: &Value, hasher: &mut FxHasher) {
    match value {
        Value::Int(i) => {
            hasher.write_u8(1);
            hasher.write_u64(*i as u64);
        }
        Value::Float(f) => {
            hasher.write_u8(2);
            hasher.write_u64(f.to_bits());
        }
        Value::Bool(b) => {
            hasher.write_u8(3);
            hasher.write_u8(u8::from(*b));
        }
        Value::Str(s) => {
            hasher.write_u8(4);
            hasher.write(s.as_bytes());
        }
    }
}

/// Whether two values are the same input to a rule: floats by their bits, so
/// that 0.0 and -0.0 (which a rule can tell apart) stay distinct.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
        _ => a == b,
    }
}

/// Every field of the template (absent ones as none) plus `param`.
pub(super) fn record_context(
    template: &Template,
    params: &ParamValues,
    values: &[(usize, FieldValue)],
) -> Jinja {
    let mut context: BTreeMap<String, Jinja> = template
        .fields
        .iter()
        .map(|f| (f.name.clone(), Jinja::from(())))
        .collect();
    for (position, value) in values {
        context.insert(
            template.fields[*position].name.clone(),
            jinja_value(value, template, *position),
        );
    }
    let params: BTreeMap<String, Jinja> = params.iter().map(|(n, v)| (n.to_owned(), scalar(v))).collect();
    context.insert("param".to_owned(), Jinja::from(params));
    Jinja::from(context)
}

fn jinja_value(value: &FieldValue, template: &Template, position: usize) -> Jinja {
    match value {
        FieldValue::Scalar(v) => scalar(v),
        FieldValue::List(elements) => {
            let crate::template::FieldType::List(fields) = &template.fields[position].ty else {
                return Jinja::from(());
            };
            let items: Vec<Jinja> = elements
                .iter()
                .map(|element| {
                    let object: BTreeMap<String, Jinja> = element
                        .iter()
                        .map(|(p, v)| {
                            (
                                fields[*p].name.clone(),
                                match v {
                                    FieldValue::Scalar(s) => scalar(s),
                                    other => structure(&fields[*p].ty, other),
                                },
                            )
                        })
                        .collect();
                    Jinja::from(object)
                })
                .collect();
            Jinja::from(items)
        }
        other => structure(&template.fields[position].ty, other),
    }
}

/// A structure (`object`, `list int`) as the rules see it: objects and lists.
fn structure(ty: &crate::template::FieldType, value: &FieldValue) -> Jinja {
    Jinja::from(minijinja::value::Serde(crate::form::value_json(
        ty,
        value,
        &|v| match v {
            Value::Int(i) => serde_json::json!(i),
            Value::Float(f) => serde_json::json!(f),
            Value::Bool(b) => serde_json::json!(b),
            Value::Str(s) => serde_json::json!(s),
        },
    )))
}

pub(super) fn scalar(value: &Value) -> Jinja {
    match value {
        Value::Int(i) => Jinja::from(*i),
        Value::Float(f) => Jinja::from(*f),
        Value::Bool(b) => Jinja::from(*b),
        Value::Str(s) => Jinja::from(s.as_str()),
    }
}
