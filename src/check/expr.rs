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
    unknown.sort_by_key(|name| variable_offset(&decl.expr.value, name));
    for name in &unknown {
        let help = suggestion(name, fields).unwrap_or_else(|| {
            "a rule can use the record's fields, `param.NAME` and minijinja's tests and filters".to_owned()
        });
        diags.push(
            diags
                .error(
                    Code::UnknownRuleVariable,
                    variable_span(&decl.expr, name),
                    format!("rule uses `{name}`, which is not a field of this template"),
                )
                .label(format!("`{name}` is undefined here"))
                .help(help),
        );
    }
    if !unknown.is_empty() {
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

/// Byte offset in `expr` of the first use of the variable `name`: a whole
/// word outside quotes, not an attribute (`x.name`).
fn variable_offset(expr: &str, name: &str) -> Option<usize> {
    let bytes = expr.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut quote = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(_) if b == b'\\' => i += 1,
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'\'' || b == b'"' => quote = Some(b),
            None if word(b) && (i == 0 || !word(bytes[i - 1])) => {
                let end = (i..bytes.len()).find(|&j| !word(bytes[j])).unwrap_or(bytes.len());
                let attribute = expr[..i].trim_end().ends_with('.');
                if &expr[i..end] == name && !attribute {
                    return Some(i);
                }
                i = end;
                continue;
            }
            None => {}
        }
        i += 1;
    }
    None
}

/// The span of variable `name` inside a rule's string literal: exact when
/// the literal has no escapes (offsets then match), else the whole literal.
fn variable_span(literal: &ast::Str, name: &str) -> Span {
    let no_escapes = literal.span.len().saturating_sub(2) == literal.value.len();
    match variable_offset(&literal.value, name) {
        Some(offset) if no_escapes => {
            let start = literal.span.start + 1 + offset;
            Span::new(start, start + name.len())
        }
        _ => literal.span,
    }
}

/// The span of a minijinja error inside a string literal: exact when the
/// literal has no escapes (offsets then match), else the whole literal.
fn error_span(literal: &ast::Str, error: &minijinja::Error) -> Span {
    let value = &literal.value;
    let quoted_len = literal.span.len().saturating_sub(2);
    match error.range() {
        Some(range) if quoted_len == value.len() && range.end <= value.len() && !value.is_empty() => {
            // At least one character, on character boundaries (the range is
            // in bytes and may stop inside a multi-byte character).
            let mut start = range.start.min(value.len() - 1);
            while !value.is_char_boundary(start) {
                start -= 1;
            }
            let mut end = range.end.max(start + 1);
            while !value.is_char_boundary(end) {
                end += 1;
            }
            let offset = literal.span.start + 1;
            Span::new(offset + start, offset + end)
        }
        _ => literal.span,
    }
}
