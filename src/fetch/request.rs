//! A read call's form parameters, from validated input records.
//!
//! Input fields are top-level parameters (`courseid=2`), except options,
//! sent as Moodle's name/value list (`options[0][name]=onlyactive`,
//! `options[0][value]=1`), and the collected field, whose values from
//! several records share one call (`values[0]=a&values[1]=b`).

use crate::form::{scalar_text, FieldValue, Pair};
use crate::render::form::record_pairs;
use crate::template::Template;
use crate::validate::ValidRecord;

/// One call: its form parameters and the input records it answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// Form pairs, without the control parameters.
    pub params: Vec<Pair>,
    /// The input records (for `annotate`), in input order.
    pub inputs: Vec<ValidRecord>,
}

/// Groups valid input records into calls: one per record, or with
/// `collect`, consecutive records with the same other inputs share a call
/// (at most `batch size` values, each value once).
pub struct Calls<'t> {
    template: &'t Template,
    pending: Option<Pending>,
}

struct Pending {
    /// The pairs of every input but the collected one.
    shared: Vec<Pair>,
    values: Vec<String>,
    inputs: Vec<ValidRecord>,
}

impl<'t> Calls<'t> {
    /// Calls for `template`.
    pub fn new(template: &'t Template) -> Self {
        Calls {
            template,
            pending: None,
        }
    }

    /// Add a record; returns the calls it completes (at most two).
    pub fn push(&mut self, record: ValidRecord) -> Vec<Call> {
        let (shared, collected) = split_pairs(self.template, &record);
        if self.template.batch.collect.is_none() {
            return vec![Call {
                params: shared,
                inputs: vec![record],
            }];
        }
        let mut done = Vec::new();
        if self.pending.as_ref().is_some_and(|p| p.shared != shared) {
            done.extend(self.flush());
        }
        let pending = self.pending.get_or_insert_with(|| Pending {
            shared,
            values: Vec::new(),
            inputs: Vec::new(),
        });
        if let Some(value) = collected {
            if !pending.values.contains(&value) {
                pending.values.push(value);
            }
        }
        pending.inputs.push(record);
        if pending.values.len() >= self.template.batch.size {
            done.extend(self.flush());
        }
        done
    }

    /// The last, partly filled call.
    pub fn flush(&mut self) -> Option<Call> {
        let pending = self.pending.take()?;
        let into = self
            .template
            .batch
            .collect
            .as_ref()
            .map(|c| c.into.clone())
            .unwrap_or_default();
        let mut params = pending.shared;
        for (index, value) in pending.values.into_iter().enumerate() {
            params.push((format!("{into}[{index}]"), value));
        }
        Some(Call {
            params,
            inputs: pending.inputs,
        })
    }
}

/// The record's pairs, except the collected field, whose value is returned
/// apart. Options become `LIST[k][KEY]=name`, `LIST[k][VALUE]=value`.
fn split_pairs(template: &Template, record: &ValidRecord) -> (Vec<Pair>, Option<String>) {
    let read = template.read_spec();
    let options = read.and_then(|r| r.options.as_ref());
    let collect = template.batch.collect.as_ref().map(|c| c.field.as_str());
    let mut plain = ValidRecord {
        values: Vec::new(),
        ..record.clone()
    };
    let mut option_pairs = Vec::new();
    let mut collected = None;
    for (position, value) in &record.values {
        let name = template.fields[*position].name.as_str();
        if Some(name) == collect {
            if let FieldValue::Scalar(scalar) = value {
                collected = Some(scalar_text(scalar));
            }
        } else if let Some(list) = options.filter(|o| o.fields.iter().any(|f| f == name)) {
            if let FieldValue::Scalar(scalar) = value {
                let k = option_pairs.len() / 2;
                option_pairs.push((format!("{}[{k}][{}]", list.list, list.key), name.to_owned()));
                option_pairs.push((format!("{}[{k}][{}]", list.list, list.value), scalar_text(scalar)));
            }
        } else {
            plain.values.push((*position, value.clone()));
        }
    }
    let mut pairs = Vec::new();
    record_pairs(template, &plain, 0, &mut pairs);
    pairs.extend(option_pairs);
    (pairs, collected)
}
