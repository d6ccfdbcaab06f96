//! Stage 4: valid records to batches: size, grouping and the `max_input_vars` budget.
//!
//! Batches are deterministic: the same records in the same order always give
//! the same batches. With `group_by`, every batch holds records of one key
//! only (a failing course cannot roll back another course's enrolments), in
//! input order; a group's batch is emitted when full, the rest at the end in
//! order of each key's first record.

use std::collections::HashMap;

use crate::check::FIXED_FORM_FIELDS;
use crate::render::form::record_field_count;
use crate::template::{BatchRule, Template};
use crate::validate::{FieldValue, ValidRecord};

/// Records sent in one call.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// 1-based, in the order batches are emitted.
    pub number: usize,
    /// The records, in input order.
    pub records: Vec<ValidRecord>,
    /// Form fields of the request, control parameters included.
    pub form_fields: usize,
}

/// A record that cannot be sent at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooLarge {
    /// Its form fields.
    pub form_fields: usize,
    /// The most a request may carry.
    pub limit: usize,
}

/// Groups valid records into batches as they stream in.
pub struct Batcher {
    rule: BatchRule,
    group_by: Option<usize>,
    open: Vec<Open>,
    by_key: HashMap<String, usize>,
    emitted: usize,
}

struct Open {
    records: Vec<ValidRecord>,
    form_fields: usize,
}

impl Batcher {
    /// A batcher for `template`'s batch rule.
    pub fn new(template: &Template) -> Self {
        let group_by = template
            .batch
            .group_by
            .as_ref()
            .and_then(|name| template.fields.iter().position(|f| &f.name == name));
        Batcher {
            rule: template.batch.clone(),
            group_by,
            open: Vec::new(),
            by_key: HashMap::new(),
            emitted: 0,
        }
    }

    /// Form fields a request may carry besides the control parameters.
    fn budget(&self) -> usize {
        self.rule.max_input_vars.saturating_sub(FIXED_FORM_FIELDS)
    }

    /// Add a record; returns the batches it completed.
    ///
    /// # Errors
    /// The record alone carries more form fields than PHP would read.
    pub fn push(&mut self, record: ValidRecord) -> Result<Vec<Batch>, TooLarge> {
        let fields = record_field_count(&record);
        if fields > self.budget() {
            return Err(TooLarge {
                form_fields: fields + FIXED_FORM_FIELDS,
                limit: self.rule.max_input_vars,
            });
        }
        let key = self.key(&record);
        let mut done = Vec::new();
        let slot = match self.by_key.get(&key) {
            Some(&slot) => slot,
            None => {
                self.open.push(Open {
                    records: Vec::new(),
                    form_fields: 0,
                });
                self.by_key.insert(key, self.open.len() - 1);
                self.open.len() - 1
            }
        };
        let budget = self.budget();
        let open = &mut self.open[slot];
        if open.form_fields + fields > budget {
            // Split before PHP would silently drop this record's fields.
            let records = std::mem::take(&mut open.records);
            let form_fields = std::mem::take(&mut open.form_fields);
            done.push(self.emit(records, form_fields));
        }
        let open = &mut self.open[slot];
        open.records.push(record);
        open.form_fields += fields;
        if open.records.len() >= self.rule.size {
            let records = std::mem::take(&mut open.records);
            let form_fields = std::mem::take(&mut open.form_fields);
            done.push(self.emit(records, form_fields));
        }
        Ok(done)
    }

    /// The batches still open, in order of their key's first record.
    pub fn finish(mut self) -> Vec<Batch> {
        let open = std::mem::take(&mut self.open);
        open.into_iter()
            .filter(|o| !o.records.is_empty())
            .map(|o| self.emit(o.records, o.form_fields))
            .collect()
    }

    fn emit(&mut self, records: Vec<ValidRecord>, form_fields: usize) -> Batch {
        self.emitted += 1;
        Batch {
            number: self.emitted,
            records,
            form_fields: form_fields + FIXED_FORM_FIELDS,
        }
    }

    fn key(&self, record: &ValidRecord) -> String {
        let Some(position) = self.group_by else {
            return String::new();
        };
        match record.values.iter().find(|(p, _)| *p == position) {
            Some((_, FieldValue::Scalar(value))) => value.to_string(),
            _ => String::new(),
        }
    }
}
