//! Stage 3: source records to Moodle records, checked with Moodle's own rules.
//!
//! A [`Validator`] holds what must persist across records (`unique` keys, a
//! rule-result cache) and gives each record one [`Verdict`]: a [`ValidRecord`]
//! ready to render, or every [`Violation`] found in it.

mod advisory;
mod coerce;
pub mod facts;
pub(crate) mod hash;
pub mod keys;
mod lookups;
mod rules;
pub(crate) mod source;
mod unique;

use crate::diagnostic::Code;
use std::fmt::Write as _;
use std::ops::Range;

use crate::form::field_count;
use crate::form::FieldValue;
use crate::moodle::ws::CONTROL_FIELDS;
use crate::params::ParamValues;
use crate::record::SourceRecord;
use crate::template::{Field, FieldType, ScalarType, Template, Value};
use crate::value::check_scalar_text;

pub use coerce::{coerce, coerce_text, CoerceError};

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

impl ValidRecord {
    /// How many form fields the record adds to a request (for `max_input_vars`).
    pub fn form_fields(&self) -> usize {
        field_count(&self.values)
    }
}

/// One problem with one record.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// What kind of problem.
    pub code: Code,
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
    /// The data file of `other_record`, when it is not this record's.
    pub other_source: Option<String>,
}

impl Violation {
    fn new(code: Code, field: Option<&str>, message: impl Into<String>) -> Self {
        Violation {
            code,
            field: field.map(str::to_owned),
            message: message.into(),
            help: None,
            span: None,
            other_record: None,
            other_source: None,
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
    /// Warnings reject the record, as errors do (`--strict`, for CI).
    pub strict: bool,
}

/// Validates records against one template, remembering what `unique` needs.
pub struct Validator<'t> {
    template: &'t Template,
    params: ParamValues,
    options: ValidateOptions,
    rules: rules::RuleSet,
    unique: unique::UniqueIndex,
    assembler: source::Assembler,
    lookups: lookups::LookupStep,
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
            lookups: lookups::LookupStep::new(template),
            required: (0..template.fields.len())
                .filter(|&p| template.fields[p].required)
                .collect(),
            params,
            options,
        }
    }

    /// Give lookup fields the ids in `resolutions` (without them, lookup
    /// fields are left unchecked: absent, but not missing).
    #[must_use]
    pub fn with_lookups(mut self, resolutions: Option<std::sync::Arc<keys::Resolutions>>) -> Self {
        if let Some(resolutions) = resolutions {
            self.lookups.resolve_with(resolutions);
        }
        self
    }

    /// The records that follow come from the data file `name`: a duplicate
    /// of a record in an earlier file names that file.
    pub fn begin_source(&mut self, name: &str) {
        self.unique.begin_source(name);
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
        self.lookups
            .apply(self.template, record, &mut self.assembler.values, &mut violations);
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
            if let FieldValue::Scalar(scalar) = &value {
                let before = warnings.len();
                advisory::warnings(field, scalar, &mut warnings);
                for warning in &mut warnings[before..] {
                    warning.span.clone_from(&span);
                }
            }
            match check_value(field, &value) {
                Ok(()) => values.push((position, value)),
                Err(found) => violations.extend(found.into_iter().map(|v| v.at(span.clone()))),
            }
        }
        self.check_required(&values, &mut violations);
        // Every problem of the record, not only the first kind found: rules
        // that read a field already in trouble are skipped (they would
        // only repeat it), all others run.
        let failed: Vec<&str> = violations.iter().filter_map(|v| v.field.as_deref()).collect();
        let (broken, advised) = self.rules.check(self.template, &self.params, &values, &failed);
        violations.extend(broken);
        warnings.extend(advised);
        violations.extend(self.check_passwords(&values));
        violations.extend(self.check_form_budget(&values));
        if self.options.strict {
            violations.extend(warnings.drain(..).map(|mut w| {
                w.message.push_str(" (a warning, an error with --strict)");
                w
            }));
        }
        // Duplicates are reported even for records with other problems (one
        // fix round, not two); only valid records claim their keys.
        let claim = violations.is_empty();
        violations.extend(self.unique.check(self.template, record.number, &values, claim));
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

    /// The password policy, for records Moodle stores a password for
    /// (`policy password when "..."`).
    fn check_passwords(&mut self, values: &[(usize, FieldValue)]) -> Vec<Violation> {
        let Some(policy) = &self.template.password_policy else {
            return Vec::new();
        };
        let applies = match &self.template.password_policy_when {
            None => true,
            Some(when) => when
                .compiled
                .eval(rules::record_context(self.template, &self.params, values))
                .is_ok_and(|v| v.is_true()),
        };
        if !applies {
            return Vec::new();
        }
        values
            .iter()
            .filter_map(|(position, value)| {
                let field = &self.template.fields[*position];
                match (&field.ty, value) {
                    (FieldType::Scalar(ScalarType::Password), FieldValue::Scalar(Value::Str(text))) => {
                        check_password(field, text, policy)
                    }
                    _ => None,
                }
            })
            .collect()
    }

    /// A record that alone needs more form fields than PHP's `max_input_vars`
    /// allows would arrive truncated, whatever the batching (moodle-ws.md 4.3).
    fn check_form_budget(&self, values: &[(usize, FieldValue)]) -> Option<Violation> {
        let limit = self.template.batch.max_input_vars;
        let needed = field_count(values) + CONTROL_FIELDS;
        (needed > limit).then(|| {
            Violation::new(
                Code::TooLarge,
                None,
                format!("the record needs {needed} form fields, more than max_input_vars {limit} allows in one request"),
            )
            .help(Some(
                "PHP would silently drop the fields past the limit; raise max_input_vars in the template's batch rule to match the site's php.ini".to_owned(),
            ))
        })
    }

    /// A `missing_required` for every required field without a value, unless
    /// that field already has a violation. `values` are sorted by position.
    fn check_required(&self, values: &[(usize, FieldValue)], violations: &mut Vec<Violation>) {
        for &position in &self.required {
            let found = values.binary_search_by_key(&position, |(p, _)| *p).is_ok();
            if found || self.lookups.unchecked(position) {
                continue;
            }
            let field = &self.template.fields[position];
            let failed = violations
                .iter()
                .any(|v| v.field.as_deref() == Some(field.name.as_str()));
            if !failed {
                violations.push(
                    Violation::new(
                        Code::MissingRequired,
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

/// Moodle's checks and the template's constraints on one typed value, and
/// on every value inside it (a structure's fields, a list's elements):
/// every problem, each naming its path (`members[0].cohorttype.type`).
fn check_value(field: &Field, value: &FieldValue) -> Result<(), Vec<Violation>> {
    // A top-level scalar (nearly every value): its path is its name, no buffer to build.
    if let (FieldType::Scalar(_) | FieldType::Enum(_), FieldValue::Scalar(scalar)) = (&field.ty, value) {
        return check_scalar(field, scalar, &field.name).map_err(|mut violation| {
            violation.field = Some(field.name.clone());
            vec![violation]
        });
    }
    let mut found = Vec::new();
    let mut path = field.name.clone();
    check_nested(&field.name, field, value, &mut path, &mut found);
    if found.is_empty() {
        Ok(())
    } else {
        Err(found)
    }
}

/// [`check_value`] of `value` at `path`, inside top-level field `top`.
fn check_nested(top: &str, field: &Field, value: &FieldValue, path: &mut String, found: &mut Vec<Violation>) {
    let base = path.len();
    if field.required && field.ty.is_structure() && value.form_fields() == 0 {
        // No pair names it, so Moodle would find the required key missing.
        found.push(
            Violation::new(
                Code::MissingRequired,
                Some(top),
                format!("`{path}` is empty, and Moodle requires it"),
            )
            .help(Some(format!(
                "an empty {} sends nothing at all; give at least one value",
                field.ty
            ))),
        );
        return;
    }
    match (&field.ty, value) {
        (FieldType::List(fields), FieldValue::List(elements)) => {
            for (index, element) in elements.iter().enumerate() {
                let _ = write!(path, "[{index}]");
                check_structure(top, fields, element, path, found);
                path.truncate(base);
            }
        }
        (FieldType::Object(fields), FieldValue::Object(values)) => {
            check_structure(top, fields, values, path, found)
        }
        (FieldType::Values(inner), FieldValue::Values(items)) => {
            let element = Field {
                ty: (**inner).clone(),
                ..field.clone()
            };
            for (index, item) in items.iter().enumerate() {
                let _ = write!(path, "[{index}]");
                check_nested(top, &element, item, path, found);
                path.truncate(base);
            }
        }
        (FieldType::Scalar(_) | FieldType::Enum(_), FieldValue::Scalar(scalar)) => {
            if let Err(mut violation) = check_scalar(field, scalar, path) {
                violation.field = Some(top.to_owned());
                found.push(violation);
            }
        }
        (FieldType::Scalar(_) | FieldType::Enum(_), _) => found.push(Violation::new(
            Code::WrongType,
            Some(top),
            format!("`{path}` takes a single value, not a structure"),
        )),
        (_, _) => found.push(Violation::new(
            Code::WrongType,
            Some(top),
            format!("`{path}` takes a {}, not {}", field.ty, value_kind(value)),
        )),
    }
}

fn value_kind(value: &FieldValue) -> &'static str {
    match value {
        FieldValue::Scalar(_) => "a single value",
        FieldValue::List(_) | FieldValue::Values(_) => "a list",
        FieldValue::Object(_) => "an object",
    }
}

/// The values of one structure (an object, a list element): each checked,
/// and every required field present.
fn check_structure(
    top: &str,
    fields: &[Field],
    values: &[(usize, FieldValue)],
    path: &mut String,
    found: &mut Vec<Violation>,
) {
    let base = path.len();
    for (inner, v) in values {
        let _ = write!(path, ".{}", fields[*inner].name);
        check_nested(top, &fields[*inner], v, path, found);
        path.truncate(base);
    }
    for (position, required) in fields.iter().enumerate().filter(|(_, f)| f.required) {
        if !values.iter().any(|(p, _)| *p == position) {
            found.push(
                Violation::new(
                    Code::MissingRequired,
                    Some(top),
                    format!("missing required field `{path}.{}`", required.name),
                )
                .help(Some(format!("{} ({})", required.doc_or_type(), required.ty))),
            );
        }
    }
}

fn check_scalar(field: &Field, value: &Value, path: &str) -> Result<(), Violation> {
    let name = Some(field.name.as_str());
    if let (FieldType::Enum(allowed), Value::Str(s)) = (&field.ty, value) {
        if !allowed.contains(s) {
            return Err(Violation::new(
                Code::NotAllowed,
                name,
                format!("{s:?} is not an allowed value of `{path}`"),
            )
            .help(Some(format!("allowed: {}", allowed.join(", ")))));
        }
    }
    if let (FieldType::Scalar(scalar), Value::Str(text)) = (&field.ty, value) {
        if let Err(rejection) = check_scalar_text(*scalar, text) {
            return Err(Violation::new(
                Code::MoodleRejects,
                name,
                format!("`{path}`: {}", rejection.message),
            )
            .help(rejection.cleaned.map(|c| format!("Moodle would accept {c:?}"))));
        }
    }
    if let Some(why) = field.constraints.violation(value) {
        return Err(Violation::new(Code::Constraint, name, format!("`{path}`: {why}")));
    }
    Ok(())
}

/// Moodle's password policy and length cap on a password it will store.
fn check_password(
    field: &Field,
    password: &str,
    policy: &crate::template::PasswordPolicy,
) -> Option<Violation> {
    let mut failures = crate::moodle::password::check(&policy.to_moodle(), password)
        .err()
        .unwrap_or_default();
    if let Err(too_long) = crate::moodle::password::length_limit(password) {
        failures.push(too_long);
    }
    (!failures.is_empty()).then(|| {
        Violation::new(
            Code::PasswordPolicy,
            Some(&field.name),
            format!(
                "`{}` breaks the password policy: {}",
                field.name,
                failures.join(" ")
            ),
        )
        .help(Some(
            "Moodle refuses to store a password that breaks the site's policy".to_owned(),
        ))
    })
}
