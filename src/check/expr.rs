//! `rule` expressions and `map` templates: compiled with minijinja at check time.

use std::collections::BTreeSet;
use std::sync::{Arc, LazyLock};

use minijinja::Environment;

use super::suggest::suggestion;
use super::Diagnostics;
use crate::diagnostic::Code;
use crate::span::Span;
use crate::syntax::ast;
use crate::template::{Map, Rule};

/// One environment for every rule expression. Expressions borrow their
/// environment, so a process-wide one lets a compiled `Rule` be `'static`
/// and shared freely across threads.
static EXPRESSIONS: LazyLock<Environment<'static>> = LazyLock::new(expression_environment);

fn expression_environment() -> Environment<'static> {
    let mut env = Environment::new();
    // Bounded work per record: no template or rule can loop for long.
    env.set_fuel(Some(100_000));
    env
}

/// Names every expression may use besides the record's fields.
fn builtin_names() -> BTreeSet<String> {
    let mut names: BTreeSet<String> = EXPRESSIONS.globals().map(|(name, _)| name.to_owned()).collect();
    names.insert("param".to_owned());
    names
}

/// Compile a `rule`; its variables must be fields of the template or `param`.
pub(super) fn check_rule(decl: &ast::RuleDecl, fields: &[&str], diags: &mut Diagnostics) -> Option<Rule> {
    let compiled =
        match EXPRESSIONS.compile_expression_owned(decl.expr.value.clone()) {
            Ok(compiled) => compiled,
            Err(error) => {
                diags.push(
                diags
                    .error(Code::BadRule, error_span(&decl.expr, &error), "rule expression does not compile")
                    .label(error.detail().unwrap_or("invalid expression").to_owned())
                    .help("rules are minijinja expressions, e.g. \"timeend is none or timeend > timestart\""),
            );
                return None;
            }
        };
    let builtins = builtin_names();
    let mut unknown: Vec<String> = compiled
        .undeclared_variables(false)
        .into_iter()
        .filter(|name| !fields.contains(&name.as_str()) && !builtins.contains(name))
        .collect();
    unknown.sort();
    if let Some(name) = unknown.first() {
        let mut diag = diags
            .error(
                Code::UnknownRuleVariable,
                decl.expr.span,
                format!("rule uses `{name}`, which is not a field of this template"),
            )
            .label(format!("`{name}` is undefined here"));
        if let Some(help) = suggestion(name, fields) {
            diag = diag.help(help);
        }
        diags.push(diag);
        return None;
    }
    Some(Rule {
        expr: decl.expr.value.clone(),
        message: decl.message.value.clone(),
        compiled: Arc::new(compiled),
        span: decl.span,
    })
}

/// Compile a `map` template over the source record.
pub(super) fn check_map(decl: &ast::MapDecl, diags: &mut Diagnostics) -> Option<Map> {
    let mut env = Environment::new();
    env.set_fuel(Some(100_000));
    if let Err(error) = env.add_template_owned(Map::TEMPLATE_NAME, decl.template.value.clone()) {
        diags.push(
            diags
                .error(
                    Code::BadMap,
                    error_span(&decl.template, &error),
                    format!("map for `{}` does not compile", decl.field.name),
                )
                .label(error.detail().unwrap_or("invalid template").to_owned())
                .help("maps are minijinja templates over the source record, e.g. \"{{ email | lower }}\""),
        );
        return None;
    }
    let builtins = builtin_names();
    let mut reads: Vec<String> = env
        .get_template(Map::TEMPLATE_NAME)
        .map(|t| t.undeclared_variables(false))
        .unwrap_or_default()
        .into_iter()
        .filter(|name| !builtins.contains(name))
        .collect();
    reads.sort();
    Some(Map {
        field: decl.field.name.clone(),
        template: decl.template.value.clone(),
        reads,
        compiled: Arc::new(env),
    })
}

/// The span of a minijinja error inside a string literal: exact when the
/// literal has no escapes (offsets then match), else the whole literal.
fn error_span(literal: &ast::Str, error: &minijinja::Error) -> Span {
    let quoted_len = literal.span.len().saturating_sub(2);
    match error.range() {
        Some(range) if quoted_len == literal.value.len() && range.end <= literal.value.len() => {
            let start = literal.span.start + 1 + range.start;
            Span::new(
                start,
                (start + range.len()).max(start + 1).min(literal.span.end - 1),
            )
        }
        _ => literal.span,
    }
}
