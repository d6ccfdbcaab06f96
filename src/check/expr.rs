//! `rule` expressions and `map` templates: compiled with minijinja at check time.

use std::collections::BTreeSet;
use std::sync::{Arc, LazyLock};

use minijinja::machinery::{self, Instruction, Instructions};
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
    env.add_filter("tojson", tojson);
    env
}

/// `{{ [{"type": "dept", "value": row["Department"]}] | tojson }}`: a value
/// as JSON, so that a `map` can fill a list field (`customfields`) from columns.
fn tojson(value: minijinja::Value) -> Result<String, minijinja::Error> {
    serde_json::to_string(&value).map_err(|e| {
        minijinja::Error::new(
            minijinja::ErrorKind::InvalidOperation,
            format!("cannot write JSON: {e}"),
        )
    })
}

/// Names every expression may use besides the record's fields.
fn builtin_names() -> BTreeSet<String> {
    let mut names: BTreeSet<String> = EXPRESSIONS.globals().map(|(name, _)| name.to_owned()).collect();
    names.insert("param".to_owned());
    names
}

/// Compile a `rule`; its variables must be fields of the template or `param`,
/// its filters and tests minijinja's, and each `param.NAME` one of `params`
/// (when given: `None` where the rule sees no params).
pub(super) fn check_rule(
    decl: &ast::RuleDecl,
    fields: &[&str],
    params: Option<&[&str]>,
    diags: &mut Diagnostics,
) -> Option<Rule> {
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
    let instructions = expression_instructions(&decl.expr.value);
    let misused = instructions
        .as_ref()
        .is_some_and(|i| !check_names(&[i], &decl.expr, params, "rule", diags));
    if !unknown.is_empty() || misused {
        return None;
    }
    Some(Rule {
        expr: decl.expr.value.clone(),
        message: decl.message.value.clone(),
        advisory: decl.warn,
        compiled: Arc::new(compiled),
        span: decl.span,
    })
}

/// Compile a `map` template over the source record; its filters and tests
/// must be minijinja's, and each `param.NAME` one of `params` (when given).
pub(super) fn check_map(
    decl: &ast::MapDecl,
    params: Option<&[&str]>,
    diags: &mut Diagnostics,
) -> Option<Map> {
    let mut env = Environment::new();
    env.set_fuel(Some(100_000));
    env.add_filter("tojson", tojson);
    if let Err(error) = env.add_template_owned(Map::TEMPLATE_NAME, decl.template.value.clone()) {
        diags.push(
            diags
                .error(
                    Code::BadMap,
                    error_span(&decl.template, &error),
                    format!("map for `{}` does not compile", decl.field.name),
                )
                .label(error.detail().unwrap_or("invalid template").to_owned())
                .help(if decl.template.value.contains('`') {
                    "a column whose name is no identifier is read as row[\"Email Address\"], e.g. \"{{ row['Email Address'] | lower }}\""
                } else {
                    "maps are minijinja templates over the source record, e.g. \"{{ email | lower }}\""
                }),
        );
        return None;
    }
    let mut row_keys = Vec::new();
    if let Ok(template) = env.get_template(Map::TEMPLATE_NAME) {
        let compiled = machinery::get_compiled_template(&template);
        let mut all: Vec<&Instructions> = vec![&compiled.instructions];
        all.extend(compiled.blocks.values());
        if !check_names(&all, &decl.template, params, "map", diags) {
            return None;
        }
        row_keys = all.iter().flat_map(|i| row_reads(i)).collect();
    }
    let builtins = builtin_names();
    let mut reads: Vec<String> = env
        .get_template(Map::TEMPLATE_NAME)
        .map(|t| t.undeclared_variables(false))
        .unwrap_or_default()
        .into_iter()
        .filter(|name| !builtins.contains(name) && name != ROW)
        .chain(row_keys)
        .collect();
    reads.sort();
    reads.dedup();
    Some(Map {
        field: decl.field.name.clone(),
        template: decl.template.value.clone(),
        reads,
        compiled: Arc::new(env),
    })
}

/// The name under which a map sees the whole source record, for columns
/// that are no identifiers: `{{ row["Email Address"] }}`.
pub const ROW: &str = "row";

/// The source keys a map reads as `row["KEY"]` (or `row.KEY`): constant keys only.
fn row_reads(instructions: &Instructions) -> Vec<String> {
    let mut keys = Vec::new();
    let mut idx = 0;
    while let Some(instruction) = instructions.get(idx) {
        idx += 1;
        if !matches!(instruction, Instruction::Lookup(name) if *name == ROW) {
            continue;
        }
        match (instructions.get(idx), instructions.get(idx + 1)) {
            (Some(Instruction::GetAttr(key)), _) => keys.push((*key).to_owned()),
            (Some(Instruction::LoadConst(key)), Some(Instruction::GetItem)) => {
                if let Some(key) = key.as_str() {
                    keys.push(key.to_owned());
                }
            }
            _ => {}
        }
    }
    keys
}

/// The instructions of a rule expression (`None` if it does not compile,
/// which the caller has reported).
fn expression_instructions(expr: &str) -> Option<Instructions<'_>> {
    let ast = machinery::parse_expr(expr).ok()?;
    let mut generator = machinery::CodeGenerator::new("<expression>", expr);
    generator.compile_expr(&ast);
    Some(generator.finish().0)
}

/// Whether `filter` (or, with `test`, the test) is one the expression
/// environment has: minijinja resolves them only when they run, so ask it.
fn environment_has(name: &str, test: bool) -> bool {
    let probe = if test {
        format!("none is {name}")
    } else {
        format!("none | {name}")
    };
    let unknown = if test {
        minijinja::ErrorKind::UnknownTest
    } else {
        minijinja::ErrorKind::UnknownFilter
    };
    match EXPRESSIONS.compile_expression(&probe) {
        Ok(expression) => !matches!(expression.eval(()), Err(e) if e.kind() == unknown),
        Err(_) => false,
    }
}

/// Report the filters and tests `instructions` use that the environment
/// lacks, and `param.NAME`s not among `params`; true when there are none.
fn check_names(
    instructions: &[&Instructions],
    literal: &ast::Str,
    params: Option<&[&str]>,
    what: &str,
    diags: &mut Diagnostics,
) -> bool {
    let mut clean = true;
    let mut seen = BTreeSet::new();
    for instructions in instructions {
        let at = |idx: u32| instructions.get(idx);
        let mut idx = 0;
        while let Some(instruction) = at(idx) {
            let problem = match instruction {
                Instruction::ApplyFilter(name, ..) if !environment_has(name, false) => {
                    Some(("filter", *name))
                }
                Instruction::PerformTest(name, ..) if !environment_has(name, true) => Some(("test", *name)),
                Instruction::Lookup("param") => match (at(idx + 1), params) {
                    (Some(Instruction::GetAttr(name)), Some(params)) if !params.contains(name) => {
                        Some(("param", *name))
                    }
                    _ => None,
                },
                _ => None,
            };
            idx += 1;
            let Some((kind, name)) = problem else {
                continue;
            };
            clean = false;
            if !seen.insert((kind, name)) {
                continue;
            }
            diags.push(unknown_name(kind, name, literal, params, what, diags));
        }
    }
    clean
}

/// The diagnostic for an unknown filter, test or param `name` in a rule or map.
fn unknown_name(
    kind: &str,
    name: &str,
    literal: &ast::Str,
    params: Option<&[&str]>,
    what: &str,
    diags: &Diagnostics,
) -> crate::diagnostic::TemplateDiagnostic {
    let (code, message, help) = match kind {
        "param" => {
            let params = params.unwrap_or_default();
            let help = suggestion(name, params).unwrap_or_else(|| {
                if params.is_empty() {
                    "this template declares no params; declare one with `param NAME: TYPE = DEFAULT`"
                        .to_owned()
                } else {
                    format!("the template's params: {}", params.join(", "))
                }
            });
            (
                Code::UnknownParam,
                format!("{what} uses `param.{name}`, but the template has no param `{name}`"),
                help,
            )
        }
        _ => {
            let test = kind == "test";
            let known: Vec<&str> = if test { KNOWN_TESTS } else { KNOWN_FILTERS }
                .iter()
                .copied()
                .filter(|n| environment_has(n, test))
                .collect();
            let help = suggestion(name, &known).unwrap_or_else(|| {
                format!(
                    "{what}s can use minijinja's built-in {kind}s, e.g. {}",
                    known[..4].join(", ")
                )
            });
            (
                Code::UnknownFilter,
                format!("{what} uses the {kind} `{name}`, which does not exist"),
                help,
            )
        }
    };
    diags
        .error(code, name_span(literal, kind, name), message)
        .label(format!("unknown {kind}"))
        .help(help)
}

/// Some of minijinja's filters and tests, for suggestions.
const KNOWN_FILTERS: &[&str] = &[
    "lower",
    "upper",
    "trim",
    "default",
    "replace",
    "title",
    "capitalize",
    "length",
    "first",
    "last",
    "join",
    "int",
    "float",
    "string",
    "round",
    "abs",
    "split",
    "list",
    "reverse",
    "sort",
    "unique",
    "min",
    "max",
    "sum",
    "truncate",
    "urlencode",
    "escape",
    "safe",
    "tojson",
    "indent",
    "items",
    "map",
    "select",
    "reject",
    "selectattr",
    "rejectattr",
    "attr",
    "batch",
    "slice",
    "dictsort",
    "format",
    "bool",
    "lines",
    "wordcount",
];
const KNOWN_TESTS: &[&str] = &[
    "none",
    "defined",
    "undefined",
    "number",
    "string",
    "true",
    "false",
    "odd",
    "even",
    "divisibleby",
    "startingwith",
    "endingwith",
    "containing",
    "sequence",
    "mapping",
    "iterable",
    "integer",
    "float",
    "boolean",
    "lower",
    "upper",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "in",
    "sameas",
    "safe",
    "filter",
    "test",
];

/// Where `name` is written in the literal: after `|` for a filter, after
/// `is` (and `not`) for a test, after `param.` for a param; the whole
/// literal when not found or when escapes shift the offsets.
fn name_span(literal: &ast::Str, kind: &str, name: &str) -> Span {
    let text = &literal.value;
    let no_escapes = literal.span.len().saturating_sub(2) == text.len();
    let found = word_offsets(text, name).into_iter().find(|&offset| {
        let before = text[..offset].trim_end();
        match kind {
            "filter" => before.ends_with('|'),
            "test" => {
                let before = before.strip_suffix("not").map_or(before, str::trim_end);
                before.ends_with("is")
            }
            _ => before.ends_with('.') && before[..before.len() - 1].trim_end().ends_with("param"),
        }
    });
    match found {
        Some(offset) if no_escapes => {
            let start = literal.span.start + 1 + offset;
            Span::new(start, start + name.len())
        }
        _ => literal.span,
    }
}

/// Byte offsets in `text` of `name` as a whole word outside quotes.
fn word_offsets(text: &str, name: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut quote = None;
    let mut found = Vec::new();
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
                if &text[i..end] == name {
                    found.push(i);
                }
                i = end;
                continue;
            }
            None => {}
        }
        i += 1;
    }
    found
}

/// Byte offset in `expr` of the first use of the variable `name`: a whole
/// word outside quotes, not an attribute (`x.name`).
fn variable_offset(expr: &str, name: &str) -> Option<usize> {
    word_offsets(expr, name)
        .into_iter()
        .find(|&i| !expr[..i].trim_end().ends_with('.'))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_knows_its_filters_and_tests_and_nothing_else() {
        assert!(environment_has("lower", false));
        assert!(environment_has("default", false));
        assert!(!environment_has("lowercase", false));
        assert!(environment_has("defined", true));
        assert!(environment_has("none", true));
        assert!(!environment_has("defned", true));
    }

    #[test]
    fn filters_tests_and_params_are_found_in_compiled_rules() {
        let instructions =
            expression_instructions("a | lowr > 1 and b is not odd and param.x").expect("compiles");
        let mut names = Vec::new();
        let mut idx = 0;
        while let Some(instruction) = instructions.get(idx) {
            match instruction {
                Instruction::ApplyFilter(name, ..)
                | Instruction::PerformTest(name, ..)
                | Instruction::GetAttr(name) => {
                    names.push(*name);
                }
                _ => {}
            }
            idx += 1;
        }
        assert_eq!(names, ["lowr", "odd", "x"]);
    }

    #[test]
    fn name_spans_point_at_the_filter_test_or_param() {
        let literal = ast::Str {
            value: "lower | lower is not lower and param.lower".to_owned(),
            span: Span::new(10, 10 + 44),
        };
        let text = |span: Span| (span.start - 11, span.end - 11);
        assert_eq!(text(name_span(&literal, "filter", "lower")), (8, 13));
        assert_eq!(text(name_span(&literal, "test", "lower")), (21, 26));
        assert_eq!(text(name_span(&literal, "param", "lower")), (37, 42));
    }
}
