//! One template declaration to a `Template`: its statements, checked in an
//! order where each may rely on the ones before (params, then fields, then
//! everything that names fields).

use std::collections::HashMap;

use super::batch::check_batch;
use super::expr::check_rule;
use super::fields::{check_fields, with_keyword};
use super::literal::scalar_value;
use super::mapping::check_mapping;
use super::names::scalar_field;
use super::suggest::{did_you_mean, suggestion};
use super::Diagnostics;
use crate::diagnostic::Code;
use crate::moodle::ws::{role_id, ROLE_ALIASES, STANDARD_ROLES};
use crate::span::Span;
use crate::syntax::ast::{self, Item, LiteralValue};
use crate::template::{
    AppliedCheck, FieldType, Kind, Origin, Param, ParamType, PasswordPolicy, Returns, ScalarType, Template,
    Unique, Value, LOOKUP_FUNCTIONS,
};

/// Check one template; `None` if it has errors (all reported to `diags`).
pub(super) fn check_template(
    decl: &ast::TemplateDecl,
    base: Option<&Template>,
    diags: &mut Diagnostics,
) -> Option<Template> {
    let errors_before = diags.error_count();
    if let (Some(base), Some(base_ident)) = (base, &decl.base) {
        if matches!(base.kind, Kind::Steps(_)) {
            diags.push(
                diags
                    .error(
                        Code::BadSteps,
                        base_ident.span,
                        format!("`{}` is a `steps` template, which cannot be extended", base.name),
                    )
                    .label("a steps template")
                    .help("extend one of the sync templates it runs instead"),
            );
            return None;
        }
    }
    let mut template = match base {
        Some(base) => inherit(base, decl),
        None => Template {
            name: decl.name.name.clone(),
            doc: String::new(),
            function: String::new(),
            wrap: None,
            params: Vec::new(),
            fields: Vec::new(),
            rules: Vec::new(),
            unique: Vec::new(),
            password_policy: None,
            password_policy_when: None,
            batch: crate::template::BatchRule::default(),
            returns: Returns::Nothing,
            mapping: None,
            base: None,
            applied: crate::template::AppliedCheck::Unknown,
            kind: Kind::Write,
            lookups: Vec::new(),
            sync: None,
            origin: Origin::default(),
        },
    };
    template.doc = decl.doc.as_ref().map_or(template.doc, |d| d.value.clone());
    template.origin = Origin {
        source: diags.source().clone(),
        span: decl.span,
    };
    check_singletons(decl, &mut template, base.is_some(), diags);
    check_params(decl, &mut template, diags);
    check_body_fields(decl, &mut template, base.is_some(), diags);
    check_rules(decl, &mut template, diags);
    check_unique(decl, &mut template, diags);
    check_policy(decl, &mut template, diags);
    check_returns(decl, &mut template, diags);
    check_applied(decl, &mut template, diags);
    super::read::check_read(decl, &mut template, diags);
    if !template.is_read() {
        template.mapping = check_mapping(decl, &template, diags);
        super::read::check_lookups(decl, &mut template, diags);
        super::sync::check_sync(decl, &mut template, diags);
    }
    check_batch(decl, &mut template, diags);
    (diags.error_count() == errors_before).then_some(template)
}

/// A template that extends `base` starts as a copy of it under its own name.
fn inherit(base: &Template, decl: &ast::TemplateDecl) -> Template {
    let mut template = base.clone();
    template.name = decl.name.name.clone();
    template.base = Some(base.name.clone());
    template
}

/// `function` and `wrap`: exactly once in a template that extends nothing,
/// never in one that extends another (it inherits them).
fn check_singletons(
    decl: &ast::TemplateDecl,
    template: &mut Template,
    inherits: bool,
    diags: &mut Diagnostics,
) {
    let mut seen: HashMap<&str, Span> = HashMap::new();
    for item in &decl.items {
        let (keyword, ident) = match item {
            Item::Function(ident) => ("function", ident),
            Item::Wrap(ident) => ("wrap", ident),
            _ => continue,
        };
        if inherits {
            let help = match keyword {
                "function" => "a template that extends another calls the same Moodle function; remove this line",
                _ => "a template that extends another sends its records in the same list parameter; remove this line",
            };
            diags.push(
                diags
                    .error(
                        Code::DuplicateStatement,
                        ident.span,
                        format!("`{keyword}` is inherited from the base template"),
                    )
                    .label(format!("the base already sets `{keyword}`"))
                    .help(help),
            );
            continue;
        }
        if let Some(first) = seen.insert(keyword, ident.span) {
            let help = match keyword {
                "function" => "a template calls exactly one Moodle function; keep one `function` line",
                _ => "records travel in exactly one list parameter; keep one `wrap` line",
            };
            diags.push(
                diags
                    .error(
                        Code::DuplicateStatement,
                        ident.span,
                        format!("`{keyword}` is given twice"),
                    )
                    .label("given again here")
                    .related(first, "first given here")
                    .help(help),
            );
            continue;
        }
        match keyword {
            "function" => template.function.clone_from(&ident.name),
            _ => template.wrap = Some(ident.name.clone()),
        }
    }
    if !inherits && template.function.is_empty() {
        diags.push(
            diags
                .error(Code::MissingFunction, decl.name.span, format!("template `{}` names no Moodle function", decl.name.name))
                .label("no `function` in this template")
                .help("add the web-service function it calls, e.g. `function core_user_create_users`, or `extends` a template"),
        );
    }
}

fn check_params(decl: &ast::TemplateDecl, template: &mut Template, diags: &mut Diagnostics) {
    let mut seen: HashMap<&str, Span> = HashMap::new();
    for item in &decl.items {
        let Item::Param(param) = item else { continue };
        if let Some(first) = seen.insert(&param.name.name, param.name.span) {
            diags.push(
                diags
                    .error(
                        Code::DuplicateParam,
                        param.name.span,
                        format!("param `{}` is declared twice", param.name.name),
                    )
                    .label("declared again here")
                    .related(first, "first declared here")
                    .help("remove one of the declarations; `--set` overrides the default at run time"),
            );
            continue;
        }
        // A param with an error still counts as declared, so `default
        // param.NAME` does not report it missing too. The template is
        // dropped for the error anyway, so the stand-in never runs.
        let checked = check_param(param, diags).unwrap_or_else(|| Param {
            name: param.name.name.clone(),
            ty: ParamType::Role,
            default: None,
            doc: String::new(),
        });
        template.params.retain(|p| p.name != checked.name);
        template.params.push(checked);
    }
}

fn check_param(decl: &ast::ParamDecl, diags: &mut Diagnostics) -> Option<Param> {
    let Some(ty) = ParamType::from_name(&decl.ty.name) else {
        let mut names = vec!["role"];
        names.extend(ScalarType::ALL.iter().map(|t| t.name()));
        let help =
            suggestion(&decl.ty.name, &names).unwrap_or_else(|| format!("param types: {}", names.join(", ")));
        diags.push(
            diags
                .error(
                    Code::UnknownParamType,
                    decl.ty.span,
                    format!("unknown param type `{}`", decl.ty.name),
                )
                .label("not a param type")
                .help(help),
        );
        return None;
    };
    let default = match &decl.default {
        None => None,
        Some(lit) => Some(param_value(decl, ty, lit, diags)?),
    };
    Some(Param {
        name: decl.name.name.clone(),
        ty,
        default,
        doc: decl.doc.as_ref().map(|d| d.value.clone()).unwrap_or_default(),
    })
}

fn param_value(
    decl: &ast::ParamDecl,
    ty: ParamType,
    lit: &ast::Literal,
    diags: &mut Diagnostics,
) -> Option<Value> {
    match resolve_param_value(ty, &lit.value) {
        Ok(value) => Some(value),
        Err((code, label, help)) => {
            diags.push(
                diags
                    .error(
                        code,
                        lit.span,
                        format!(
                            "the default of param `{}` does not fit its type `{}`",
                            decl.name.name,
                            ty.name()
                        ),
                    )
                    .label(label)
                    .help(help),
            );
            None
        }
    }
}

/// The typed value of a param, from a template literal or a `--set` value.
///
/// # Errors
/// The diagnostic code, a label and a help line.
pub(crate) fn resolve_param_value(
    ty: ParamType,
    lit: &LiteralValue,
) -> Result<Value, (Code, String, String)> {
    let roles = || {
        STANDARD_ROLES
            .iter()
            .map(|(name, id)| format!("{name} ({id})"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (ty, lit) {
        (ParamType::Role, LiteralValue::Word(name) | LiteralValue::Str(name)) => match role_id(name) {
            Some(id) => Ok(Value::Int(id)),
            None => Err((
                Code::UnknownRole,
                format!("`{name}` is not a standard Moodle role"),
                // Aliases count as candidates, so that a misspelt
                // "noneditingteacher" suggests `teacher`, not `editingteacher`.
                match did_you_mean(
                    &name.to_lowercase(),
                    STANDARD_ROLES
                        .iter()
                        .map(|(role, _)| *role)
                        .chain(ROLE_ALIASES.iter().map(|(alias, _)| *alias)),
                )
                .map(|best| {
                    ROLE_ALIASES
                        .iter()
                        .find(|(alias, _)| *alias == best)
                        .map_or(best, |(_, shortname)| *shortname)
                }) {
                    Some(best) => format!("did you mean `{best}`? Roles: {}", roles()),
                    None => format!("use a role id or one of: {}", roles()),
                },
            )),
        },
        (ParamType::Role, LiteralValue::Number(n)) => match n.parse::<i64>() {
            Ok(id) if id > 0 => Ok(Value::Int(id)),
            _ => Err((
                Code::UnknownRole,
                format!("{n} is not a role id"),
                format!("role ids are positive whole numbers; standard roles: {}", roles()),
            )),
        },
        (ParamType::Role, LiteralValue::Bool(_)) => {
            Err((Code::UnknownRole, "a boolean is not a role".to_owned(), roles()))
        }
        (ParamType::Scalar(scalar), lit) => scalar_value(lit, scalar).map_err(|e| {
            (
                Code::BadDefault,
                e.message,
                e.help.unwrap_or_else(|| scalar.description().to_owned()),
            )
        }),
    }
}

/// `field` statements. In a template that extends another they redeclare
/// (tighten) a base field; new fields would be sent to a function that does not know them.
fn check_body_fields(
    decl: &ast::TemplateDecl,
    template: &mut Template,
    inherits: bool,
    diags: &mut Diagnostics,
) {
    let decls: Vec<&ast::FieldDecl> = decl
        .items
        .iter()
        .filter_map(|item| match item {
            Item::Field(field) => Some(field),
            _ => None,
        })
        .collect();
    let fields = check_fields(&decls, &template.params, diags);
    if !inherits {
        template.fields = fields;
        return;
    }
    let base = template.base.clone().unwrap_or_default();
    for field in fields {
        match template.fields.iter_mut().find(|f| f.name == field.name) {
            Some(slot) => *slot = field,
            None => {
                let names: Vec<&str> = template.fields.iter().map(|f| f.name.as_str()).collect();
                let span = decls
                    .iter()
                    .find(|d| d.span == field.span)
                    .map_or(field.span, |d| d.name.span);
                let help = match did_you_mean(&field.name, names.iter().copied()) {
                    Some(best) => format!("did you mean `{best}`?"),
                    None => format!(
                        "`{base}` calls a Moodle function that takes only: {}; a new field needs a template with its own `function`",
                        names.join(", ")
                    ),
                };
                diags.push(
                    diags
                        .error(
                            Code::UnknownField,
                            span,
                            format!("`{}` is not a field of the base template `{base}`", field.name),
                        )
                        .label("a template that extends another can only redeclare its fields")
                        .help(help),
                );
            }
        }
    }
}

fn check_rules(decl: &ast::TemplateDecl, template: &mut Template, diags: &mut Diagnostics) {
    let names: Vec<&str> = template.fields.iter().map(|f| f.name.as_str()).collect();
    let params: Vec<&str> = template.params.iter().map(|p| p.name.as_str()).collect();
    let rules: Vec<_> = decl
        .items
        .iter()
        .filter_map(|item| match item {
            Item::Rule(rule) => check_rule(rule, &names, Some(&params), diags),
            _ => None,
        })
        .collect();
    template.rules.extend(rules);
}

fn check_unique(decl: &ast::TemplateDecl, template: &mut Template, diags: &mut Diagnostics) {
    for item in &decl.items {
        let Item::Unique(unique) = item else { continue };
        let valid = unique
            .fields
            .iter()
            .all(|ident| scalar_field(template, ident, "unique", diags).is_some());
        if valid {
            template.unique.push(Unique {
                fields: unique.fields.iter().map(|f| f.name.clone()).collect(),
                ignore_case: unique.ignore_case,
            });
        }
    }
}

fn check_policy(decl: &ast::TemplateDecl, template: &mut Template, diags: &mut Diagnostics) {
    for item in &decl.items {
        let Item::Policy(policy) = item else { continue };
        let has_password = template
            .fields
            .iter()
            .any(|f| matches!(f.ty, FieldType::Scalar(ScalarType::Password)));
        if !has_password && !policy.off {
            let help = match template.field("password") {
                Some(field) => format!(
                    "the field `password` has type `{}`; declare it `field password: password` so the policy applies, or remove the policy",
                    field.ty
                ),
                None => "declare the password field with type `password`, or remove the policy".to_owned(),
            };
            diags.push(
                diags
                    .error(
                        Code::PolicyWithoutPassword,
                        policy.span,
                        "a password policy needs a field of type `password`",
                    )
                    .label("nothing here is a password")
                    .help(help),
            );
            continue;
        }
        if policy.off {
            template.password_policy = None;
            template.password_policy_when = None;
            continue;
        }
        if let Some(when) = &policy.when {
            let names: Vec<&str> = template.fields.iter().map(|f| f.name.as_str()).collect();
            let decl = ast::RuleDecl {
                warn: false,
                expr: when.clone(),
                message: ast::Str {
                    value: "the password policy applies".to_owned(),
                    span: when.span,
                },
                span: policy.span,
            };
            let params: Vec<&str> = template.params.iter().map(|p| p.name.as_str()).collect();
            template.password_policy_when = check_rule(&decl, &names, Some(&params), diags);
        }
        let mut checked = template.password_policy.clone().unwrap_or_default();
        for setting in &policy.settings {
            let known = PasswordPolicy::SETTINGS.contains(&setting.name.name.as_str());
            match setting.value.parse::<usize>() {
                Ok(value) if known => {
                    checked.set(&setting.name.name, value);
                }
                Err(_) if known => {
                    // The number ends the setting (`min_length 99999999999999999999`).
                    let end = setting.span.end;
                    let span = Span::new(end.saturating_sub(setting.value.len()), end);
                    diags.push(
                        diags
                            .error(
                                Code::NumberOutOfRange,
                                span,
                                format!("`{}` is too large for `{}`", setting.value, setting.name.name),
                            )
                            .label("too large")
                            .help(format!(
                                "give a whole number from 0 to {}, e.g. `{} 8`",
                                usize::MAX,
                                setting.name.name
                            )),
                    );
                }
                _ => {}
            }
            if !known {
                let mut diag = diags
                    .error(
                        Code::UnknownPolicySetting,
                        setting.name.span,
                        format!("`{}` is not a password policy setting", setting.name.name),
                    )
                    .label("unknown setting");
                if let Some(help) = suggestion(&setting.name.name, PasswordPolicy::SETTINGS) {
                    diag = diag.help(help);
                }
                diags.push(diag);
            }
        }
        template.password_policy = Some(checked);
    }
}

fn check_returns(decl: &ast::TemplateDecl, template: &mut Template, diags: &mut Diagnostics) {
    for item in &decl.items {
        let Item::Returns(returns) = item else {
            continue;
        };
        template.returns = match &returns.shape {
            ast::ReturnShape::Nothing => Returns::Nothing,
            ast::ReturnShape::List(fields) => Returns::List(return_fields(fields, template, diags)),
            ast::ReturnShape::Object(fields) => Returns::Object(return_fields(fields, template, diags)),
            ast::ReturnShape::Value { ty, ok } => match return_value(ty, ok.as_ref(), diags) {
                Some(returns) => returns,
                None => continue,
            },
        };
    }
}

/// `returns value TYPE [ok VALUE]`: a scalar type, and an `ok` value of that type.
fn return_value(ty: &ast::Ident, ok: Option<&ast::Literal>, diags: &mut Diagnostics) -> Option<Returns> {
    let Some(scalar) = ScalarType::from_name(&ty.name) else {
        diags.push(
            diags
                .error(Code::BadReturns, ty.span, format!("unknown type `{}`", ty.name))
                .label("not a scalar type")
                .help("a single answer has one of moodlec's scalar types, e.g. `returns value int ok 0`"),
        );
        return None;
    };
    let ok = match ok.map(|lit| (lit, scalar_value(&lit.value, scalar))) {
        None => None,
        Some((_, Ok(value))) => Some(value),
        Some((lit, Err(error))) => {
            diags.push(
                diags
                    .error(Code::BadReturns, lit.span, error.message)
                    .label(format!("not a `{}`", scalar.name()))
                    .help("`ok` names the answer that means the call was applied, e.g. `ok 0`"),
            );
            return None;
        }
    };
    Some(Returns::Value { ty: scalar, ok })
}

fn return_fields(
    decls: &[ast::FieldDecl],
    template: &Template,
    diags: &mut Diagnostics,
) -> Vec<crate::template::Field> {
    for decl in decls {
        // `required` says Moodle always sends the field; nothing else describes an answer.
        let not_required = decl
            .options
            .iter()
            .find(|o| !matches!(o, ast::FieldOption::Required(_)));
        if let Some(option) = not_required {
            diags.push(
                diags
                    .error(
                        Code::BadReturns,
                        with_keyword(option, &diags.source().text),
                        format!("response field `{}` cannot have options", decl.name.name),
                    )
                    .label("options describe input, not Moodle's answer")
                    .help("declare only the name and type of each returned field"),
            );
        }
    }
    let refs: Vec<&ast::FieldDecl> = decls.iter().collect();
    check_fields(&refs, &template.params, diags)
}

/// `idempotent` and `exists FUNCTION FIELD`.
fn check_applied(decl: &ast::TemplateDecl, template: &mut Template, diags: &mut Diagnostics) {
    for item in &decl.items {
        match item {
            Item::Idempotent(_) => template.applied = AppliedCheck::Idempotent,
            Item::Exists(exists) => {
                if let Some(check) = check_exists(exists, template, diags) {
                    template.applied = check;
                }
            }
            _ => {}
        }
    }
}

fn check_exists(
    exists: &ast::ExistsDecl,
    template: &Template,
    diags: &mut Diagnostics,
) -> Option<AppliedCheck> {
    let Some((function, searchable)) = LOOKUP_FUNCTIONS.iter().find(|(f, _)| *f == exists.function.name)
    else {
        let names: Vec<&str> = LOOKUP_FUNCTIONS.iter().map(|(f, _)| *f).collect();
        diags.push(
            diags
                .error(
                    Code::BadExists,
                    exists.function.span,
                    format!("moodlec cannot look records up with `{}`", exists.function.name),
                )
                .label("not a lookup function moodlec knows")
                .help(
                    suggestion(&exists.function.name, &names)
                        .unwrap_or_else(|| format!("use one of: {}", names.join(", "))),
                ),
        );
        return None;
    };
    scalar_field(template, &exists.field, "exists", diags)?;
    if !searchable.contains(&exists.field.name.as_str()) {
        diags.push(
            diags
                .error(
                    Code::BadExists,
                    exists.field.span,
                    format!("`{function}` cannot search by `{}`", exists.field.name),
                )
                .label("not a searchable field")
                .help(format!("it searches by: {}", searchable.join(", "))),
        );
        return None;
    }
    Some(AppliedCheck::Lookup {
        function: (*function).to_owned(),
        field: exists.field.name.clone(),
    })
}
