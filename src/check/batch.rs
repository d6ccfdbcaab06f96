//! `batch`: records per call, grouping, and PHP's `max_input_vars` budget.

use super::names::scalar_field;
use super::Diagnostics;
use crate::diagnostic::Code;
use crate::moodle::ws::CONTROL_FIELDS;
use crate::span::Span;
use crate::syntax::ast::{self, BatchSetting, Item};
use crate::template::Template;

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
    // A read template without `collect`, or a write template without a list
    // parameter (no `wrap`, no `collect`), makes one call per record.
    let no_list = template.wrap.is_none() && template.batch.collect.is_none();
    if (template.is_read() || no_list) && template.batch.collect.is_none() && size_span.is_none() {
        template.batch.size = 1;
    }
    check_per_call(decl, template, diags);
    if !template.is_read() {
        check_write_collect(decl, template, diags);
    }
    check_budget(template, size_span.unwrap_or(decl.name.span), diags);
}

/// `collect` in a write template: the records' values are the call's one
/// list parameter (`userids[0]=5&userids[1]=7`), so the collected field is
/// the only field and no `wrap` carries the records.
fn check_write_collect(decl: &ast::TemplateDecl, template: &Template, diags: &mut Diagnostics) {
    let Some(collect) = &template.batch.collect else {
        return;
    };
    let span = decl
        .items
        .iter()
        .find_map(|item| match item {
            Item::Batch(batch) => batch.settings.iter().find_map(|s| match s {
                BatchSetting::Collect { field, .. } => Some(field.span),
                _ => None,
            }),
            _ => None,
        })
        .unwrap_or(decl.name.span);
    if let Some(wrap) = &template.wrap {
        diags.push(
            diags
                .error(
                    Code::BadBatchSize,
                    span,
                    format!(
                        "`collect` sends the records' `{}` values in `{}[i]`, and `wrap {wrap}` sends whole records",
                        collect.field, collect.into
                    ),
                )
                .label("collects into a list of its own")
                .help(format!("a write template either wraps its records or collects one field of each; remove `wrap {wrap}` or the `collect`")),
        );
        return;
    }
    let others: Vec<&str> = template
        .fields
        .iter()
        .filter(|f| !f.per_call)
        .map(|f| f.name.as_str())
        .filter(|name| *name != collect.field)
        .collect();
    if !others.is_empty() {
        diags.push(
            diags
                .error(
                    Code::BadBatchSize,
                    span,
                    format!(
                        "a write template that collects `{}` can send no other field, and this one has {}",
                        collect.field,
                        others.join(", ")
                    ),
                )
                .label("the call's only list")
                .help(format!(
                    "each record gives one value of the list `{}[i]`; mark the call's other parameters `per_call`, remove the other fields, or `wrap` whole records instead of collecting",
                    collect.into
                )),
        );
    }
}

/// `per_call` fields: top-level parameters beside a write template's record
/// list, so the template needs one (`wrap` or `collect`).
fn check_per_call(decl: &ast::TemplateDecl, template: &Template, diags: &mut Diagnostics) {
    let Some(field) = template.fields.iter().find(|f| f.per_call) else {
        return;
    };
    let span = per_call_span(decl, &field.name).unwrap_or(field.span);
    let (message, label, help) = if template.is_read() {
        (
            format!("`{}` is `per_call` in a read template", field.name),
            "read templates make one call per input".to_owned(),
            "remove `per_call`: every input of a read template is a parameter of its call".to_owned(),
        )
    } else if template.wrap.is_none() && template.batch.collect.is_none() {
        (
            format!("`{}` is `per_call`, but `{}` has no record list", field.name, template.name),
            "every field is a parameter of the call already".to_owned(),
            "without `wrap` or `collect` each record is one call and all its fields are sent once; remove `per_call`, or add `wrap NAME` naming the function's list parameter".to_owned(),
        )
    } else {
        return;
    };
    diags.push(
        diags
            .error(Code::ConstraintNotApplicable, span, message)
            .label(label)
            .help(help),
    );
}

/// The span of the `per_call` of field `name`, searched in this template's own declarations.
fn per_call_span(decl: &ast::TemplateDecl, name: &str) -> Option<Span> {
    decl.items.iter().find_map(|item| match item {
        Item::Field(field) if field.name.name == name => field.options.iter().find_map(|o| match o {
            ast::FieldOption::PerCall(span) => Some(*span),
            _ => None,
        }),
        _ => None,
    })
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
        .filter(|f| !f.per_call && !f.ty.is_structure())
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
    let per_call = template
        .fields
        .iter()
        .filter(|f| f.per_call && !f.ty.is_structure() && (f.required || f.default.is_some()))
        .count();
    let budget = batch.max_input_vars.saturating_sub(CONTROL_FIELDS + per_call);
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
