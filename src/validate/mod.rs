//! Stage 3: source records to Moodle records, checked with Moodle's own rules.
//!
//! A [`Validator`] holds what must persist across records (`unique` keys, a
//! rule-result cache) and gives each record one [`Verdict`]: a [`ValidRecord`]
//! ready to render, or every [`Violation`] found in it.

mod coerce;
pub(crate) mod hash;
mod rules;
mod source;
mod unique;

use std::ops::Range;

use crate::params::ParamValues;
use crate::record::SourceRecord;
use crate::template::{Field, FieldType, ScalarType, Template, Value};
use crate::value::check_scalar_text;

pub use coerce::{coerce, coerce_text, CoerceError};

/// A field's typed value.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// A scalar.
    Scalar(Value),
    /// A list of elements, each a set of (field position in the list's fields, value).
    List(Vec<Vec<(usize, FieldValue)>>),
}

/// A record that Moodle will accept: values by position in `Template::fields`, in that order.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidRecord {
    /// 1-based record number in the input.
    pub number: u64,
    /// Line where the record starts.
    pub line: u64,
    /// (field position, value), sorted by position; absent optional fields are left out.
    pub values: Vec<(usize, FieldValue)>,
}

/// One problem with one record.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// Stable identifier, e.g. `missing_required`.
    pub code: &'static str,
    /// The Moodle field (or source key) concerned.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
    /// Byte span of the offending value within the record's raw text.
    pub span: Option<Range<usize>>,
    /// Another record involved (the first holder of a duplicate key).
    pub other_record: Option<u64>,
}

impl Violation {
    fn new(code: &'static str, field: Option<&str>, message: impl Into<String>) -> Self {
        Violation {
            code,
            field: field.map(str::to_owned),
            message: message.into(),
            help: None,
            span: None,
            other_record: None,
        }
    }

    fn help(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }

    fn at(mut self, span: Option<Range<usize>>) -> Self {
        self.span = span;
        self
    }
}

/// The outcome for one record.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// 1-based record number.
    pub number: u64,
    /// Line where the record starts.
    pub line: u64,
    /// The valid record, or everything wrong with it.
    pub outcome: Result<ValidRecord, Vec<Violation>>,
    /// Problems that do not reject the record (unknown keys with `allow_unknown`).
    pub warnings: Vec<Violation>,
}

/// Validation settings.
#[derive(Debug, Clone, Default)]
pub struct ValidateOptions {
    /// Unknown source keys are warnings instead of errors.
    pub allow_unknown: bool,
}

/// Validates records against one template, remembering what `unique` needs.
pub struct Validator<'t> {
    template: &'t Template,
    params: ParamValues,
    options: ValidateOptions,
    rules: rules::RuleSet,
    unique: unique::UniqueIndex,
    assembler: source::Assembler,
    /// Positions of the required fields, in field order.
    required: Vec<usize>,
}

impl<'t> Validator<'t> {
    /// A validator for `template` with its params resolved.
    pub fn new(template: &'t Template, params: ParamValues, options: ValidateOptions) -> Self {
        Validator {
            template,
            rules: rules::RuleSet::new(template),
            unique: unique::UniqueIndex::new(template),
            assembler: source::Assembler::new(template, &params),
            required: (0..template.fields.len())
                .filter(|&p| template.fields[p].required)
                .collect(),
            params,
            options,
        }
    }

    /// The template records are checked against.
    pub fn template(&self) -> &'t Template {
        self.template
    }

    /// Check one source record.
    pub fn validate(&mut self, record: &SourceRecord) -> Verdict {
        let mut violations = Vec::new();
        let mut warnings = Vec::new();
        let unknown_keys = self.assembler.assemble(self.template, record, &mut violations);
        for unknown in unknown_keys {
            if self.options.allow_unknown {
                warnings.push(unknown);
            } else {
                violations.push(unknown);
            }
        }
        let mut values = Vec::with_capacity(self.assembler.values.len());
        for (position, value, span) in self.assembler.values.drain(..) {
            let field = &self.template.fields[position];
            match check_value(field, &value, self.template) {
                Ok(()) => values.push((position, value)),
                Err(found) => violations.extend(found.into_iter().map(|v| v.at(span.clone()))),
            }
        }
        self.check_required(&values, &mut violations);
        if violations.is_empty() {
            violations.extend(self.rules.check(self.template, &self.params, &values));
        }
        if violations.is_empty() {
            violations.extend(self.unique.check(self.template, record.number, &values));
        }
        let outcome = if violations.is_empty() {
            Ok(ValidRecord {
                number: record.number,
                line: record.line,
                values,
            })
        } else {
            Err(violations)
        };
        Verdict {
            number: record.number,
            line: record.line,
            outcome,
            warnings,
        }
    }

    /// A `missing_required` for every required field without a value, unless
    /// that field already has a violation. `values` are sorted by position.
    fn check_required(&self, values: &[(usize, FieldValue)], violations: &mut Vec<Violation>) {
        for &position in &self.required {
            if values.binary_search_by_key(&position, |(p, _)| *p).is_ok() {
                continue;
            }
            let field = &self.template.fields[position];
            let failed = violations
                .iter()
                .any(|v| v.field.as_deref() == Some(field.name.as_str()));
            if !failed {
                violations.push(
                    Violation::new(
                        "missing_required",
                        Some(&field.name),
                        format!("missing required field `{}`", field.name),
                    )
                    .help(Some(format!("{} ({})", field.doc_or_type(), field.ty))),
                );
            }
        }
    }
}

impl Field {
    fn doc_or_type(&self) -> String {
        if self.doc.is_empty() {
            format!("a value of type {}", self.ty)
        } else {
            self.doc.clone()
        }
    }
}

/// Moodle's checks and the template's constraints on one typed value.
fn check_value(field: &Field, value: &FieldValue, template: &Template) -> Result<(), Vec<Violation>> {
    match (&field.ty, value) {
        (FieldType::List(fields), FieldValue::List(elements)) => {
            let mut found = Vec::new();
            for (index, element) in elements.iter().enumerate() {
                for (inner, v) in element {
                    if let Err(errors) = check_value(&fields[*inner], v, template) {
                        found.extend(errors.into_iter().map(|mut e| {
                            e.message = format!("{}[{index}]: {}", field.name, e.message);
                            e.field = Some(field.name.clone());
                            e
                        }));
                    }
                }
                for required in fields.iter().enumerate().filter(|(_, f)| f.required) {
                    if !element.iter().any(|(p, _)| *p == required.0) {
                        found.push(Violation::new(
                            "missing_required",
                            Some(&field.name),
                            format!("{}[{index}] is missing `{}`", field.name, required.1.name),
                        ));
                    }
                }
            }
            if found.is_empty() {
                Ok(())
            } else {
                Err(found)
            }
        }
        (_, FieldValue::Scalar(scalar)) => check_scalar(field, scalar, template).map_err(|v| vec![v]),
        (_, FieldValue::List(_)) => Err(vec![Violation::new(
            "wrong_type",
            Some(&field.name),
            format!("`{}` takes a single value, not a list", field.name),
        )]),
    }
}

fn check_scalar(field: &Field, value: &Value, template: &Template) -> Result<(), Violation> {
    let name = Some(field.name.as_str());
    if let (FieldType::Enum(allowed), Value::Str(s)) = (&field.ty, value) {
        if !allowed.contains(s) {
            return Err(Violation::new(
                "not_allowed",
                name,
                format!("{s:?} is not an allowed value of `{}`", field.name),
            )
            .help(Some(format!("allowed: {}", allowed.join(", ")))));
        }
    }
    if let (FieldType::Scalar(scalar), Value::Str(text)) = (&field.ty, value) {
        if let Err(rejection) = check_scalar_text(*scalar, text) {
            return Err(Violation::new(
                "moodle_rejects",
                name,
                format!("`{}`: {}", field.name, rejection.message),
            )
            .help(rejection.cleaned.map(|c| format!("Moodle would accept {c:?}"))));
        }
        if *scalar == ScalarType::Password {
            check_password(field, text, template)?;
        }
    }
    if let Some(why) = field.constraints.violation(value) {
        return Err(Violation::new(
            "constraint",
            name,
            format!("`{}`: {why}", field.name),
        ));
    }
    Ok(())
}

fn check_password(field: &Field, password: &str, template: &Template) -> Result<(), Violation> {
    let Some(policy) = &template.password_policy else {
        return Ok(());
    };
    crate::moodle::password::check(&policy.to_moodle(), password).map_err(|failures| {
        Violation::new(
            "password_policy",
            Some(&field.name),
            format!(
                "`{}` breaks the password policy: {}",
                field.name,
                failures.join(" ")
            ),
        )
        .help(Some(
            "Moodle rejects the whole batch for one weak password; fix it or use createpassword".to_owned(),
        ))
    })
}
