//! `batch`: records per call, grouping, and PHP's `max_input_vars` budget.

use super::names::scalar_field;
use super::Diagnostics;
use crate::diagnostic::Code;
use crate::moodle::ws::CONTROL_FIELDS;
use crate::span::Span;
use crate::syntax::ast::{self, BatchSetting, Item};
use crate::template::{FieldType, Template};

pub(super) fn check_batch(decl: &ast::TemplateDecl, template: &mut Template, diags: &mut Diagnostics) {
    let mut size_span = None;
    for item in &decl.items {
        let Item::Batch(batch) = item else { continue };
        for setting in &batch.settings {
            match setting {
                BatchSetting::Size(number) => {
                    if let Some(size) = positive(number, "batch size", diags) {
                        template.batch.size = size;
                        size_span = Some(number.span);
                    }
                }
                BatchSetting::GroupBy(ident) => {
                    if scalar_field(template, ident, "group_by", diags).is_some() {
                        template.batch.group_by = Some(ident.name.clone());
                    }
                }
                BatchSetting::MaxInputVars(number) => {
                    if let Some(limit) = positive(number, "max_input_vars", diags) {
                        template.batch.max_input_vars = limit;
                    }
                }
                BatchSetting::Collect { field, into } => {
                    if scalar_field(template, field, "collect", diags).is_some() {
                        template.batch.collect = Some(crate::template::Collect {
                            field: field.name.clone(),
                            into: into.name.clone(),
                        });
                    }
                }
            }
        }
    }
    // A read template without `collect` makes one call per input record.
    if template.is_read() && template.batch.collect.is_none() && size_span.is_none() {
        template.batch.size = 1;
    }
    check_budget(template, size_span.unwrap_or(decl.name.span), diags);
}

fn positive(number: &ast::Number, what: &str, diags: &mut Diagnostics) -> Option<usize> {
    match number.digits.parse::<usize>() {
        Ok(0) => {
            diags.push(
                diags
                    .error(
                        Code::BadBatchSize,
                        number.span,
                        format!("{what} must be at least 1"),
                    )
                    .label("zero")
                    .help("give the number of records per call, e.g. `batch size 100`"),
            );
            None
        }
        Ok(n) => Some(n),
        Err(_) => {
            diags.push(
                diags
                    .error(
                        Code::NumberOutOfRange,
                        number.span,
                        format!("{what} is too large"),
                    )
                    .label("too large")
                    .help(match what {
                        "batch size" => "give the number of records per call, e.g. `batch size 100`",
                        _ => "use the site's php.ini value, e.g. `max_input_vars 1000`",
                    }),
            );
            None
        }
    }
}

/// Form fields the smallest valid record carries: every scalar field that is
/// required, defaulted or set by the mapping (lists may be empty).
pub fn min_form_fields(template: &Template) -> usize {
    let set = |name: &str| {
        template
            .mapping
            .as_ref()
            .is_some_and(|m| m.sets.iter().any(|(f, _)| f == name))
    };
    template
        .fields
        .iter()
        .filter(|f| !matches!(f.ty, FieldType::List(_)))
        .filter(|f| f.required || f.default.is_some() || set(&f.name))
        .count()
}

/// A batch of `size` smallest records must fit under `max_input_vars`, or
/// PHP would silently drop fields of every full batch.
fn check_budget(template: &Template, span: Span, diags: &mut Diagnostics) {
    let batch = &template.batch;
    if template.wrap.is_none() && batch.collect.is_none() && batch.size > 1 {
        diags.push(
            diags
                .error(
                    Code::BadBatchSize,
                    span,
                    format!("`{}` has no `wrap`, so each record is one call", template.name),
                )
                .label(format!("batch size {} needs a list parameter", batch.size))
                .help("add `wrap NAME` naming the function's list parameter, or use `batch size 1`"),
        );
        return;
    }
    let per_record = min_form_fields(template).max(1);
    let budget = batch.max_input_vars.saturating_sub(CONTROL_FIELDS);
    if batch.size.saturating_mul(per_record) > budget {
        let fits = budget / per_record;
        diags.push(
            diags
                .error(
                    Code::BatchOverBudget,
                    span,
                    format!(
                        "{} records of at least {per_record} form fields each cannot fit in max_input_vars {}",
                        batch.size, batch.max_input_vars
                    ),
                )
                .label("batch too large for PHP's input limit")
                .help(format!(
                    "PHP silently drops form fields past max_input_vars; use `batch size {fits}` or less, or raise max_input_vars to match the site's php.ini"
                )),
        );
    }
}
