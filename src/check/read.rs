//! Read templates (`emits`, `options`, `annotate`, `keep`, `join`, `select`,
//! and `map`/`set`/`exclude` on output records) and the `lookup` statement of
//! write templates.
//!
//! A read template calls a Moodle read function with inputs (its fields, from
//! `--param` or one call per input record) and turns each item of the answer
//! into an output record. A template is a read template when it, or its base,
//! has `emits`.

use super::expr::{check_map, check_rule};
use super::fields::check_fields;
use super::names::unknown_field;
use super::suggest::suggestion;
use super::Diagnostics;
use crate::diagnostic::Code;
use crate::span::Span;
use crate::syntax::ast::{self, Item, LiteralValue};
use crate::template::{
    Emits, Field, FieldType, Join, JoinValue, Kind, Lookup, LookupKind, OptionList, ReadSpec, Returns,
    ScalarType, Template, Value,
};

/// Check the read-template statements; makes a template with `emits` a read template.
pub(super) fn check_read(decl: &ast::TemplateDecl, template: &mut Template, diags: &mut Diagnostics) {
    let emits = decl.items.iter().find_map(|item| match item {
        Item::Emits(emits) => Some(emits),
        _ => None,
    });
    if !template.is_read() && emits.is_none() {
        refuse_read_statements(decl, diags);
        return;
    }
    refuse_write_statements(decl, diags);
    let mut spec = template.read_spec().cloned().unwrap_or_default();
    if let Some(emits) = emits {
        if let Some(target) = check_emits(emits, template, diags) {
            spec.emits = target;
        }
    }
    for item in &decl.items {
        if let Item::Options(options) = item {
            add_options(options, template, &mut spec, diags);
        }
    }
    let emitted = emitted_fields(&spec.emits, &template.returns);
    for item in &decl.items {
        match item {
            Item::Annotate(list) => {
                for name in &list.names {
                    if template.field(&name.name).is_none() {
                        diags.push(unknown_field(template, name, "annotate", diags));
                    } else if !spec.annotate.contains(&name.name) {
                        spec.annotate.push(name.name.clone());
                    }
                }
            }
            Item::Keep(keep) => {
                let mut names: Vec<&str> = emitted.iter().map(String::as_str).collect();
                names.extend(spec.annotate.iter().map(String::as_str));
                let rule = ast::RuleDecl {
                    warn: false,
                    expr: keep.expr.clone(),
                    message: ast::Str {
                        value: String::new(),
                        span: keep.span,
                    },
                    span: keep.span,
                };
                spec.keep.extend(check_rule(&rule, &names, None, diags));
            }
            Item::Join(join) => spec.joins.push(check_join(join)),
            Item::Map(map) => {
                if let Some(map) = check_map(map, None, diags) {
                    spec.maps.retain(|m| m.field != map.field);
                    spec.maps.push(map);
                }
            }
            Item::Set(set) => {
                let value = literal_constant(&set.value.value);
                spec.sets.retain(|(name, _)| *name != set.field.name);
                spec.sets.push((set.field.name.clone(), value));
            }
            Item::Exclude(exclude) => {
                spec.excludes.extend(exclude.keys.iter().map(|k| k.name.clone()));
            }
            Item::Select(list) => spec.select = Some(list.names.iter().map(|n| n.name.clone()).collect()),
            _ => {}
        }
    }
    template.kind = Kind::Read(Box::new(spec));
}

/// The output fields a response item carries before joins and maps: the
/// emitted level's fields, then the scalars of the objects around it.
pub fn emitted_fields(emits: &Emits, returns: &Returns) -> Vec<String> {
    let (mut fields, path): (&[Field], &[String]) = match (emits, returns) {
        (_, Returns::Nothing | Returns::Value { .. }) => return Vec::new(),
        (Emits::Path(path), Returns::Object(fields)) => (fields, path),
        (_, Returns::List(fields) | Returns::Object(fields)) => (fields, &[]),
    };
    let mut outer: Vec<String> = Vec::new();
    for step in path {
        outer.extend(
            fields
                .iter()
                .filter(|f| !matches!(f.ty, FieldType::List(_)))
                .map(|f| f.name.clone()),
        );
        match fields.iter().find(|f| f.name == *step).map(|f| &f.ty) {
            Some(FieldType::List(inner)) => fields = inner,
            _ => return Vec::new(),
        }
    }
    let mut names: Vec<String> = fields.iter().map(|f| f.name.clone()).collect();
    names.extend(
        outer
            .into_iter()
            .filter(|name| !fields.iter().any(|f| f.name == *name)),
    );
    names
}

fn check_emits(emits: &ast::EmitsDecl, template: &Template, diags: &mut Diagnostics) -> Option<Emits> {
    let fail = |diags: &mut Diagnostics, span: Span, message: String, help: &str| {
        diags.push(
            diags
                .error(Code::BadOutput, span, message)
                .label("here")
                .help(help.to_owned()),
        );
        None
    };
    match (&emits.target, &template.returns) {
        (_, Returns::Nothing | Returns::Value { .. }) => fail(
            diags,
            emits.span,
            "`emits` needs the response shape: add `returns list { ... }` or `returns object { ... }`"
                .to_owned(),
            "declare the fields of Moodle's answer so the output records have known fields",
        ),
        (ast::EmitTarget::List, Returns::Object(_)) => fail(
            diags,
            emits.span,
            "`emits list`, but the template `returns object`".to_owned(),
            "use `emits object`, or `emits FIELD` for a list field of the object",
        ),
        (ast::EmitTarget::Object, Returns::List(_)) => fail(
            diags,
            emits.span,
            "`emits object`, but the template `returns list`".to_owned(),
            "use `emits list`",
        ),
        (ast::EmitTarget::Path(_), Returns::List(_)) => fail(
            diags,
            emits.span,
            "`emits PATH` descends from an object, but the template `returns list`".to_owned(),
            "use `emits list`",
        ),
        (ast::EmitTarget::List, Returns::List(_)) => Some(Emits::List),
        (ast::EmitTarget::Object, Returns::Object(_)) => Some(Emits::Object),
        (ast::EmitTarget::Path(path), Returns::Object(fields)) => {
            let mut fields: &[Field] = fields;
            for step in path {
                let names: Vec<&str> = fields
                    .iter()
                    .filter(|f| matches!(f.ty, FieldType::List(_)))
                    .map(|f| f.name.as_str())
                    .collect();
                match fields.iter().find(|f| f.name == step.name).map(|f| &f.ty) {
                    Some(FieldType::List(inner)) => fields = inner,
                    _ => {
                        let help = suggestion(&step.name, &names)
                            .unwrap_or_else(|| format!("list fields here: {}", names.join(", ")));
                        return fail(
                            diags,
                            step.span,
                            format!("`{}` is not a list field of the response", step.name),
                            &help,
                        );
                    }
                }
            }
            Some(Emits::Path(path.iter().map(|p| p.name.clone()).collect()))
        }
    }
}

/// `options LIST(KEY, VALUE) { fields }`: the fields become inputs.
fn add_options(
    options: &ast::OptionsDecl,
    template: &mut Template,
    spec: &mut ReadSpec,
    diags: &mut Diagnostics,
) {
    let decls: Vec<&ast::FieldDecl> = options.fields.iter().collect();
    let fields = check_fields(&decls, &template.params, diags);
    let mut list = spec.options.clone().unwrap_or(OptionList {
        list: options.list.name.clone(),
        key: options.key.name.clone(),
        value: options.value.name.clone(),
        fields: Vec::new(),
    });
    for field in fields {
        if template.field(&field.name).is_some() && !list.fields.contains(&field.name) {
            diags.push(
                diags
                    .error(
                        Code::DuplicateField,
                        field.span,
                        format!("`{}` is both an input field and an option", field.name),
                    )
                    .label("declared again here")
                    .help("an input is either a top-level parameter or an option; keep one"),
            );
            continue;
        }
        if !list.fields.contains(&field.name) {
            list.fields.push(field.name.clone());
        }
        template.fields.retain(|f| f.name != field.name);
        template.fields.push(field);
    }
    spec.options = Some(list);
}

fn check_join(join: &ast::JoinDecl) -> Join {
    let with = join
        .with
        .iter()
        .map(|input| {
            let value = match &input.value.value {
                LiteralValue::Word(name) => JoinValue::Field(name.clone()),
                other => JoinValue::Constant(literal_constant(other)),
            };
            (input.name.name.clone(), value)
        })
        .collect();
    Join {
        template: join.template.name.clone(),
        local: join.local.name.clone(),
        remote: join.remote.name.clone(),
        with,
        take: join.take.iter().map(|t| t.name.clone()).collect(),
    }
}

/// A literal as an output value: numbers as written become ints or floats.
fn literal_constant(value: &LiteralValue) -> Value {
    match value {
        LiteralValue::Str(s) | LiteralValue::Word(s) => Value::Str(s.clone()),
        LiteralValue::Bool(b) => Value::Bool(*b),
        LiteralValue::Number(n) => n
            .parse::<i64>()
            .map(Value::Int)
            .or_else(|_| n.parse::<f64>().map(Value::Float))
            .unwrap_or_else(|_| Value::Str(n.clone())),
    }
}

/// Statements that only make sense in a read template.
fn refuse_read_statements(decl: &ast::TemplateDecl, diags: &mut Diagnostics) {
    for item in &decl.items {
        let (keyword, span) = match item {
            Item::Options(o) => ("options", o.span),
            Item::Annotate(l) => ("annotate", l.span),
            Item::Keep(k) => ("keep", k.span),
            Item::Join(j) => ("join", j.span),
            Item::Select(l) => ("select", l.span),
            _ => continue,
        };
        let span = keyword_span(span, keyword);
        diags.push(
            diags
                .error(
                    Code::WrongTemplateKind,
                    span,
                    format!("`{keyword}` belongs in a read template"),
                )
                .label("in a template without `emits`")
                .help("a read template says where its output records are with `emits list`, `emits object` or `emits FIELD`"),
        );
    }
}

/// Statements that only make sense in a write template.
fn refuse_write_statements(decl: &ast::TemplateDecl, diags: &mut Diagnostics) {
    for item in &decl.items {
        let (keyword, span) = match item {
            Item::Lookup(l) => ("lookup", l.span),
            Item::Unique(u) => ("unique", u.span),
            Item::Policy(p) => ("policy", p.span),
            Item::Exists(e) => ("exists", e.span),
            Item::Idempotent(span) => ("idempotent", *span),
            Item::Wrap(ident) => ("wrap", ident.span),
            Item::Sync(s) => ("sync", s.span),
            Item::Update(u) => ("update", u.span),
            Item::CreateNone(span) => ("create", *span),
            Item::Scope(s) => ("scope", s.span),
            Item::Missing(m) => ("missing", m.span),
            _ => continue,
        };
        // `wrap`'s span is its name already.
        let span = if keyword == "wrap" {
            span
        } else {
            keyword_span(span, keyword)
        };
        diags.push(
            diags
                .error(
                    Code::WrongTemplateKind,
                    span,
                    format!("`{keyword}` belongs in a write template, and this one `emits` output records"),
                )
                .label("in a read template")
                .help("read templates send their fields as the call's parameters and write nothing"),
        );
    }
}

/// The statement's first word: a whole statement can span many lines.
fn keyword_span(statement: Span, keyword: &str) -> Span {
    let word = keyword.split(' ').next().unwrap_or(keyword);
    Span::new(statement.start, (statement.start + word.len()).min(statement.end))
}

/// `lookup FIELD = KIND by KEY from "EXPR"` in a write template.
pub(super) fn check_lookups(decl: &ast::TemplateDecl, template: &mut Template, diags: &mut Diagnostics) {
    for item in &decl.items {
        let Item::Lookup(lookup) = item else { continue };
        if let Some(checked) = check_lookup(lookup, template, diags) {
            template.lookups.retain(|l| l.field != checked.field);
            template.lookups.push(checked);
        }
    }
}

fn check_lookup(lookup: &ast::LookupDecl, template: &Template, diags: &mut Diagnostics) -> Option<Lookup> {
    let Some(kind) = LookupKind::from_name(&lookup.kind.name) else {
        let help = suggestion(&lookup.kind.name, &["user", "course"])
            .unwrap_or_else(|| "moodlec can look up a `user` or a `course`".to_owned());
        diags.push(
            diags
                .error(
                    Code::BadLookup,
                    lookup.kind.span,
                    format!("cannot look up `{}`", lookup.kind.name),
                )
                .label("not user or course")
                .help(help),
        );
        return None;
    };
    if !kind.keys().contains(&lookup.key.name.as_str()) {
        diags.push(
            diags
                .error(
                    Code::BadLookup,
                    lookup.key.span,
                    format!(
                        "{} cannot find a {} by `{}`",
                        kind.function(),
                        kind.name(),
                        lookup.key.name
                    ),
                )
                .label("not a lookup key")
                .help(format!(
                    "a {} is found by one of: {}",
                    kind.name(),
                    kind.keys().join(", ")
                )),
        );
        return None;
    }
    match template.field(&lookup.field.name) {
        None => {
            diags.push(unknown_field(template, &lookup.field, "lookup", diags));
            return None;
        }
        Some(field) if !matches!(field.ty, FieldType::Scalar(ScalarType::Int)) => {
            diags.push(
                diags
                    .error(
                        Code::BadLookup,
                        lookup.field.span,
                        format!(
                            "`{}` is a {} field; a lookup gives a Moodle id",
                            field.name, field.ty
                        ),
                    )
                    .label("not an int field")
                    .help("look up id fields such as `userid` or `courseid`"),
            );
            return None;
        }
        Some(_) => {}
    }
    let map = ast::MapDecl {
        field: lookup.field.clone(),
        template: lookup.from.clone(),
        span: lookup.span,
    };
    let from = check_map(&map, None, diags)?;
    Some(Lookup {
        field: lookup.field.name.clone(),
        kind,
        key: lookup.key.name.clone(),
        from,
    })
}
