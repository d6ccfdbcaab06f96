//! Fields: types, `required`, defaults and constraints.

use std::collections::HashMap;

use super::literal::{literal_value, number, LiteralError};
use super::suggest::{did_you_mean, suggestion};
use super::Diagnostics;
use crate::diagnostic::Code;
use crate::span::Span;
use crate::syntax::ast::{self, DefaultValue as AstDefault, FieldOption, TypeExpr};
use crate::template::{Constraints, DefaultValue, Field, FieldType, Param, Pattern, ScalarType};

/// Type names people reach for that mean one of ours.
const TYPE_ALIASES: &[(&str, ScalarType)] = &[
    ("integer", ScalarType::Int),
    ("number", ScalarType::Int),
    ("boolean", ScalarType::Bool),
    ("string", ScalarType::Text),
    ("str", ScalarType::Text),
    ("date", ScalarType::Timestamp),
    ("datetime", ScalarType::Timestamp),
    ("time", ScalarType::Timestamp),
    ("double", ScalarType::Float),
];

/// Check a list of field declarations (a template body or a `list { }`).
pub(super) fn check_fields(
    decls: &[&ast::FieldDecl],
    params: &[Param],
    diags: &mut Diagnostics,
) -> Vec<Field> {
    let mut seen: HashMap<&str, Span> = HashMap::new();
    let mut fields = Vec::with_capacity(decls.len());
    for decl in decls {
        if let Some(first) = seen.insert(&decl.name.name, decl.name.span) {
            diags.push(
                diags
                    .error(
                        Code::DuplicateField,
                        decl.name.span,
                        format!("field `{}` is declared twice", decl.name.name),
                    )
                    .label("declared again here")
                    .related(first, "first declared here")
                    .help("remove one of the declarations"),
            );
            continue;
        }
        if let Some(field) = check_field(decl, params, diags) {
            fields.push(field);
        }
    }
    fields
}

fn check_field(decl: &ast::FieldDecl, params: &[Param], diags: &mut Diagnostics) -> Option<Field> {
    let ty = check_type(&decl.ty, params, diags)?;
    let constraints = check_constraints(decl, &ty, diags);
    let mut field = Field {
        name: decl.name.name.clone(),
        ty,
        required: false,
        default: None,
        constraints,
        per_call: false,
        doc: decl.doc.as_ref().map(|d| d.value.clone()).unwrap_or_default(),
        span: decl.span,
    };
    let mut required_span = None;
    for option in &decl.options {
        match option {
            FieldOption::Required(span) => {
                field.required = true;
                required_span = Some(*span);
            }
            FieldOption::Default(default) => {
                field.default = check_default(default, &field, params, diags);
            }
            FieldOption::PerCall(_) => field.per_call = true,
            _ => {}
        }
    }
    if let (Some(required), true) = (required_span, field.default.is_some()) {
        let default_span = decl
            .options
            .iter()
            .find(|o| matches!(o, FieldOption::Default(_)))
            .map_or(required, FieldOption::span);
        diags.push(
            diags
                .error(
                    Code::RequiredWithDefault,
                    required,
                    format!("field `{}` is both required and defaulted", field.name),
                )
                .label("required here")
                .related(default_span, "but a default fills it in")
                .help("a field with a default is never missing: drop `required` or the default"),
        );
    }
    Some(field)
}

/// Resolve a type expression.
pub(super) fn check_type(ty: &TypeExpr, params: &[Param], diags: &mut Diagnostics) -> Option<FieldType> {
    match ty {
        TypeExpr::Named(ident) => match ScalarType::from_name(&ident.name) {
            Some(scalar) => Some(FieldType::Scalar(scalar)),
            None if matches!(ident.name.as_str(), "object" | "list" | "enum") => {
                let help = match ident.name.as_str() {
                    "object" => "an object declares its fields: `object { field type: alphanumext required field value: raw }`",
                    "list" => "a list says what it holds: `list int` (plain values) or `list { field ... }` (records)",
                    _ => "an enum lists its values: `enum(\"topics\", \"weeks\")`",
                };
                diags.push(
                    diags
                        .error(
                            Code::UnknownType,
                            ident.span,
                            format!("`{}` needs more than its name", ident.name),
                        )
                        .label(format!("an incomplete `{}` type", ident.name))
                        .help(help),
                );
                None
            }
            None => {
                diags.push(unknown_type(ident, diags));
                None
            }
        },
        TypeExpr::Enum { values, span } => check_enum(values, *span, diags),
        TypeExpr::List { fields, .. } => Some(FieldType::List(check_inner_fields(fields, params, diags))),
        TypeExpr::Object { fields, .. } => Some(FieldType::Object(check_inner_fields(fields, params, diags))),
        TypeExpr::Values { inner, .. } => check_type(inner, params, diags).map(FieldType::list_of),
    }
}

/// The fields of a structure (`object { }`, `list { }`): as a template's,
/// but none is `per_call` (only the call's own parameters are).
fn check_inner_fields(fields: &[ast::FieldDecl], params: &[Param], diags: &mut Diagnostics) -> Vec<Field> {
    for decl in fields {
        for option in &decl.options {
            if let FieldOption::PerCall(span) = option {
                diags.push(
                    diags
                        .error(
                            Code::ConstraintNotApplicable,
                            *span,
                            format!("`per_call` does not apply to `{}`, a field inside a structure", decl.name.name),
                        )
                        .label("inside an object or list")
                        .help("`per_call` marks a top-level parameter of the call; the fields of a structure are sent with it"),
                );
            }
        }
    }
    let decls: Vec<&ast::FieldDecl> = fields.iter().collect();
    check_fields(&decls, params, diags)
}

fn unknown_type(ident: &ast::Ident, diags: &Diagnostics) -> crate::diagnostic::TemplateDiagnostic {
    let mut names: Vec<&str> = ScalarType::ALL.iter().map(|t| t.name()).collect();
    names.extend(["list", "object", "enum"]);
    let help = TYPE_ALIASES
        .iter()
        .find(|(alias, _)| *alias == ident.name)
        .map(|(_, ty)| format!("did you mean `{}`? {}", ty.name(), ty.description()))
        .or_else(|| suggestion(&ident.name, &names))
        .unwrap_or_else(|| format!("known types: {}", names.join(", ")));
    diags
        .error(
            Code::UnknownType,
            ident.span,
            format!("unknown type `{}`", ident.name),
        )
        .label("not a moodlec type")
        .help(help)
}

fn check_enum(values: &[ast::Str], span: Span, diags: &mut Diagnostics) -> Option<FieldType> {
    if values.is_empty() {
        diags.push(
            diags
                .error(Code::BadEnum, span, "an enum needs at least one value")
                .label("no values")
                .help("list the allowed values: enum(\"topics\", \"weeks\")"),
        );
        return None;
    }
    let mut seen: HashMap<&str, Span> = HashMap::new();
    for value in values {
        if let Some(first) = seen.insert(&value.value, value.span) {
            diags.push(
                diags
                    .error(
                        Code::BadEnum,
                        value.span,
                        format!("enum value {:?} is listed twice", value.value),
                    )
                    .label("repeated here")
                    .related(first, "first listed here")
                    .help("list each allowed value once"),
            );
            return None;
        }
    }
    Some(FieldType::Enum(values.iter().map(|v| v.value.clone()).collect()))
}

fn check_default(
    default: &AstDefault,
    field: &Field,
    params: &[Param],
    diags: &mut Diagnostics,
) -> Option<DefaultValue> {
    match default {
        AstDefault::Param(ident) if field.ty.is_structure() => {
            diags.push(
                diags
                    .error(
                        Code::BadDefault,
                        ident.span,
                        format!("the default of `{}` does not fit its type", field.name),
                    )
                    .label(format!("a param cannot fill a field of type `{}`", field.ty))
                    .help("defaults go on the fields inside an object; a `required` object the record lacks is built from them"),
            );
            None
        }
        AstDefault::Param(ident) => {
            if params.iter().any(|p| p.name == ident.name) {
                return Some(DefaultValue::Param(ident.name.clone()));
            }
            let help = match did_you_mean(&ident.name, params.iter().map(|p| p.name.as_str())) {
                Some(best) => format!("did you mean `param.{best}`?"),
                None => format!(
                    "declare it in the template first, e.g. `param {}: int = 0`",
                    ident.name
                ),
            };
            diags.push(
                diags
                    .error(
                        Code::UnknownParam,
                        ident.span,
                        format!("there is no param `{}`", ident.name),
                    )
                    .label("unknown param")
                    .help(help),
            );
            None
        }
        AstDefault::Literal(lit) => match literal_value(lit, &field.ty) {
            Ok(value) => match field.constraints.violation(&value) {
                None => Some(DefaultValue::Value(value)),
                Some(why) => {
                    diags.push(
                        diags
                            .error(
                                Code::BadDefault,
                                lit.span,
                                format!("the default of `{}` breaks its own constraints", field.name),
                            )
                            .label(why)
                            .help("change the default or the constraint"),
                    );
                    None
                }
            },
            Err(error) => {
                diags.push(bad_literal(
                    Code::BadDefault,
                    &field.name,
                    "default",
                    lit.span,
                    &error,
                    diags,
                ));
                None
            }
        },
    }
}

/// A diagnostic for a literal that does not fit a field's type.
pub(super) fn bad_literal(
    code: Code,
    field: &str,
    what: &str,
    span: Span,
    error: &LiteralError,
    diags: &Diagnostics,
) -> crate::diagnostic::TemplateDiagnostic {
    let mut diag = diags
        .error(
            code,
            span,
            format!("the {what} of `{field}` does not fit its type"),
        )
        .label(error.message.clone());
    if let Some(help) = &error.help {
        diag = diag.help(help.clone());
    }
    diag
}

fn check_constraints(decl: &ast::FieldDecl, ty: &FieldType, diags: &mut Diagnostics) -> Constraints {
    let mut constraints = Constraints::default();
    // A `list TYPE` field's constraints apply to each of its values.
    let mut element = ty;
    while let FieldType::Values(inner) = element {
        element = inner;
    }
    let scalar = match element {
        FieldType::Scalar(s) => Some(*s),
        _ => None,
    };
    let numeric = scalar.is_some_and(ScalarType::is_numeric);
    let textual = scalar.is_some_and(ScalarType::is_textual) || matches!(element, FieldType::Enum(_));
    let ty = element;
    for option in &decl.options {
        let applicable = match option {
            FieldOption::Required(_) | FieldOption::Default(_) | FieldOption::PerCall(_) => continue,
            FieldOption::Min(_) | FieldOption::Max(_) => numeric,
            FieldOption::Length(_) | FieldOption::Pattern(_) => textual,
            FieldOption::OneOf { .. } => scalar.is_some(),
        };
        if !applicable {
            diags.push(not_applicable(option, ty, diags));
            continue;
        }
        match option {
            FieldOption::Min(lit) => constraints.min = bound(lit, "min", scalar, diags),
            FieldOption::Max(lit) => constraints.max = bound(lit, "max", scalar, diags),
            FieldOption::Length(range) => check_length(range, &mut constraints, diags),
            FieldOption::Pattern(pattern) => constraints.pattern = check_pattern(pattern, diags),
            FieldOption::OneOf { values, .. } => {
                constraints.one_of = values
                    .iter()
                    .filter_map(|lit| match literal_value(lit, ty) {
                        Ok(value) => Some(value),
                        Err(error) => {
                            diags.push(bad_literal(
                                Code::BadOneOf,
                                &decl.name.name,
                                "one_of value",
                                lit.span,
                                &error,
                                diags,
                            ));
                            None
                        }
                    })
                    .collect();
            }
            FieldOption::Required(_) | FieldOption::Default(_) | FieldOption::PerCall(_) => {}
        }
    }
    if let (Some(min), Some(max)) = (constraints.min, constraints.max) {
        if min > max {
            let text = &diags.source().text;
            let max_span = option_span(decl, text, |o| matches!(o, FieldOption::Max(_)));
            let min_span = option_span(decl, text, |o| matches!(o, FieldOption::Min(_)));
            diags.push(
                diags
                    .error(
                        Code::EmptyRange,
                        max_span,
                        format!("`{}` has min {min} above max {max}", decl.name.name),
                    )
                    .label("no value can satisfy this max")
                    .related(min_span, "and this min")
                    .help(format!("did you mean `min {max} max {min}`?")),
            );
        }
    }
    constraints
}

/// The span of the first option `pick` accepts, keyword included.
fn option_span(decl: &ast::FieldDecl, text: &str, pick: impl Fn(&FieldOption) -> bool) -> Span {
    decl.options
        .iter()
        .find(|o| pick(o))
        .map_or(decl.span, |o| with_keyword(o, text))
}

/// An option's span widened to take in its keyword (`min 1`, not just `1`):
/// the syntax tree keeps only the value's span for most options.
pub(super) fn with_keyword(option: &FieldOption, text: &str) -> Span {
    let span = option.span();
    let keyword = match option {
        FieldOption::Min(_) => "min",
        FieldOption::Max(_) => "max",
        FieldOption::Length(_) => "length",
        FieldOption::Pattern(_) => "pattern",
        FieldOption::Default(_) => "default",
        FieldOption::Required(_) | FieldOption::PerCall(_) | FieldOption::OneOf { .. } => return span,
    };
    let before = text.get(..span.start).unwrap_or_default().trim_end();
    match before.strip_suffix(keyword) {
        Some(rest) if !rest.ends_with(|c: char| c.is_alphanumeric() || c == '_') => {
            Span::new(rest.len(), span.end)
        }
        _ => span,
    }
}

fn not_applicable(
    option: &FieldOption,
    ty: &FieldType,
    diags: &Diagnostics,
) -> crate::diagnostic::TemplateDiagnostic {
    let (name, applies_to) = match option {
        FieldOption::Min(_) => ("min", "numbers (int, float, timestamp)"),
        FieldOption::Max(_) => ("max", "numbers (int, float, timestamp)"),
        FieldOption::Length(_) => ("length", "text types"),
        FieldOption::Pattern(_) => ("pattern", "text types"),
        _ => ("one_of", "scalar types"),
    };
    diags
        .error(
            Code::ConstraintNotApplicable,
            with_keyword(option, &diags.source().text),
            format!("`{name}` does not apply to type `{ty}`"),
        )
        .label(format!("not a constraint for `{ty}`"))
        .help(format!("`{name}` applies to {applies_to}"))
}

/// A `min` or `max` bound; for whole-number types it must fit 64 bits.
fn bound(lit: &ast::Literal, what: &str, ty: Option<ScalarType>, diags: &mut Diagnostics) -> Option<f64> {
    let whole = matches!(ty, Some(ScalarType::Int | ScalarType::Timestamp));
    // 2^63: the first magnitude an i64 cannot hold, exactly representable as f64.
    const I64_LIMIT: f64 = 9_223_372_036_854_775_808.0;
    match number(lit) {
        Ok(n) if whole && !(-I64_LIMIT..I64_LIMIT).contains(&n) => {
            diags.push(
                diags
                    .error(
                        Code::NumberOutOfRange,
                        lit.span,
                        format!("{what} is outside the range of a whole number"),
                    )
                    .label("does not fit in 64 bits")
                    .help(format!(
                        "Moodle ids and times are 64-bit whole numbers: between {} and {}",
                        i64::MIN,
                        i64::MAX
                    )),
            );
            None
        }
        Ok(n) => Some(n),
        Err(error) => {
            diags.push(
                diags
                    .error(
                        Code::NumberOutOfRange,
                        lit.span,
                        format!("{what} is not a usable number"),
                    )
                    .label(error.message)
                    .help(format!("write a plain number, e.g. `{what} 1`")),
            );
            None
        }
    }
}

fn check_length(range: &ast::LengthRange, constraints: &mut Constraints, diags: &mut Diagnostics) {
    let parse = |digits: &Option<String>| digits.as_deref().map(str::parse::<usize>).transpose();
    match (parse(&range.min), parse(&range.max)) {
        (Ok(min), Ok(max)) => {
            if let (Some(lo), Some(hi)) = (min, max) {
                if lo > hi {
                    diags.push(
                        diags
                            .error(
                                Code::EmptyRange,
                                range.span,
                                format!("length {lo}..{hi} is empty"),
                            )
                            .label("the lower bound is above the upper bound")
                            .help(format!("did you mean {hi}..{lo}?")),
                    );
                    return;
                }
            }
            constraints.min_length = min;
            constraints.max_length = max;
        }
        _ => diags.push(
            diags
                .error(Code::NumberOutOfRange, range.span, "length bound is too large")
                .label("too large")
                .help("lengths count characters; Moodle's longest text columns hold a few thousand"),
        ),
    }
}

fn check_pattern(pattern: &ast::Str, diags: &mut Diagnostics) -> Option<Pattern> {
    let anchored = format!("^(?:{})$", pattern.value);
    match regex::RegexBuilder::new(&anchored).size_limit(1 << 20).build() {
        Ok(regex) => Some(Pattern {
            source: pattern.value.clone(),
            regex,
        }),
        Err(error) => {
            let detail = match &error {
                regex::Error::Syntax(text) => {
                    text.lines().last().unwrap_or("invalid syntax").trim().to_owned()
                }
                regex::Error::CompiledTooBig(_) => "the pattern is too large".to_owned(),
                _ => error.to_string(),
            };
            diags.push(
                diags
                    .error(Code::BadPattern, pattern.span, "pattern is not a valid regular expression")
                    .label(detail)
                    .help("patterns use Rust regex syntax (like PCRE without look-around); the whole value must match"),
            );
            None
        }
    }
}
