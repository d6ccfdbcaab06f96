//! `rule` expressions evaluated per record.
//!
//! A rule reads a few fields, and most datasets repeat the same few
//! combinations of them (an enrolment feed without dates: every record has
//! timestart = timeend = none). Rules are pure, so results are cached by the
//! values of the fields a rule reads; minijinja runs only for new combinations.

use std::collections::{BTreeMap, HashMap};

use minijinja::Value as Jinja;

use super::{FieldValue, Violation};
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
    cache: HashMap<String, bool>,
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
                    cache: HashMap::new(),
                }
            })
            .collect();
        RuleSet { rules }
    }

    /// The rules this record breaks.
    pub(super) fn check(
        &mut self,
        template: &Template,
        params: &ParamValues,
        values: &[(usize, FieldValue)],
    ) -> Vec<Violation> {
        let mut context = None;
        let mut violations = Vec::new();
        for (rule, state) in template.rules.iter().zip(&mut self.rules) {
            let key = cache_key(&state.reads, values);
            let cached = key.as_ref().and_then(|k| state.cache.get(k).copied());
            let passed = match cached {
                Some(passed) => Ok(passed),
                None => {
                    let context = context.get_or_insert_with(|| record_context(template, params, values));
                    rule.compiled.eval(context.clone()).map(|v| v.is_true())
                }
            };
            if let (Some(key), Ok(passed)) = (key, &passed) {
                if state.cache.len() >= CACHE_LIMIT {
                    state.cache.clear();
                }
                state.cache.insert(key, *passed);
            }
            match passed {
                Ok(true) => {}
                Ok(false) => {
                    let mut v = Violation::new("rule", None, rule.message.clone());
                    v.help = Some(format!("rule: {}", rule.expr));
                    violations.push(v);
                }
                Err(error) => {
                    let detail = error.detail().map_or_else(|| error.to_string(), str::to_owned);
                    violations.push(Violation::new(
                        "rule",
                        None,
                        format!("{} (the rule could not be evaluated: {detail})", rule.message),
                    ));
                }
            }
        }
        violations
    }
}

/// The values a rule reads, as a cache key; `None` when one is a list (not worth caching).
fn cache_key(reads: &[usize], values: &[(usize, FieldValue)]) -> Option<String> {
    let mut key = String::new();
    for position in reads {
        match values.iter().find(|(p, _)| p == position).map(|(_, v)| v) {
            None => key.push('\u{0}'),
            Some(FieldValue::Scalar(value)) => {
                key.push_str(&format!("{value:?}"));
            }
            Some(FieldValue::List(_)) => return None,
        }
        key.push('\u{1f}');
    }
    Some(key)
}

/// Every field of the template (absent ones as none) plus `param`.
fn record_context(template: &Template, params: &ParamValues, values: &[(usize, FieldValue)]) -> Jinja {
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
                                    FieldValue::List(_) => Jinja::from(()),
                                },
                            )
                        })
                        .collect();
                    Jinja::from(object)
                })
                .collect();
            Jinja::from(items)
        }
    }
}

fn scalar(value: &Value) -> Jinja {
    match value {
        Value::Int(i) => Jinja::from(*i),
        Value::Float(f) => Jinja::from(*f),
        Value::Bool(b) => Jinja::from(*b),
        Value::Str(s) => Jinja::from(s.as_str()),
    }
}
