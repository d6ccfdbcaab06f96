//! The sync statements of a write template (`sync`, `update`, `create none`,
//! `scope`, `missing`) and `steps` templates.
//!
//! A sync template keeps Moodle equal to a roster. Its function says what
//! it creates (users, courses or enrolments); the statements say how rows
//! and Moodle's records match, which fields are compared, and what happens
//! to what the roster lacks. A template that extends a sync template
//! inherits its [`SyncSpec`] and may give each statement again to override
//! it (`scope` lines replace the inherited ones as a whole).

use std::collections::HashMap;

use super::names::unknown_field;
use super::suggest::{did_you_mean, suggestion};
use super::Diagnostics;
use crate::diagnostic::Code;
use crate::span::Span;
use crate::syntax::ast::{self, Item, LiteralValue, ScopeExpr};
use crate::template::{
    FieldType, Kind, LookupKind, Missing, Origin, ScalarType, ScopeRule, SyncObject, SyncSpec, Template,
};

/// The Moodle function each kind of sync creates with, and the built-in
/// template that calls it.
fn create_function(object: SyncObject) -> (&'static str, &'static str) {
    match object {
        SyncObject::Users => ("core_user_create_users", "create_users"),
        SyncObject::Courses => ("core_course_create_courses", "create_courses"),
        SyncObject::Enrolments => ("enrol_manual_enrol_users", "enrol_users"),
    }
}

/// The fields rows and Moodle's records can be matched by (`by KEY`).
fn keys(object: SyncObject) -> &'static [&'static str] {
    match object {
        SyncObject::Users => &["username", "email", "idnumber"],
        SyncObject::Courses => &["shortname", "idnumber"],
        SyncObject::Enrolments => &[],
    }
}

/// What `missing` can say for each kind of sync.
fn missing_policies(object: SyncObject) -> &'static [Missing] {
    match object {
        SyncObject::Users => &[Missing::Keep, Missing::Suspend, Missing::Delete],
        SyncObject::Courses => &[Missing::Keep, Missing::Delete],
        SyncObject::Enrolments => &[Missing::Keep, Missing::Suspend, Missing::Unenrol],
    }
}

/// core_user_get_users' criteria keys a users scope can use.
const USER_SCOPE_FIELDS: &[&str] = &["auth", "email", "firstname", "lastname", "idnumber", "username"];
/// The criteria core_user_get_users matches with SQL LIKE.
const USER_LIKE_FIELDS: &[&str] = &["email", "firstname", "lastname"];

const OBJECTS: &[&str] = &["users", "courses", "enrolments"];

/// The sync statements of one template, by kind.
#[derive(Default)]
struct Statements<'a> {
    sync: Option<&'a ast::SyncDecl>,
    update: Option<&'a ast::UpdateDecl>,
    create_none: Option<Span>,
    scope: Vec<&'a ast::ScopeDecl>,
    missing: Option<&'a ast::MissingDecl>,
}

impl Statements<'_> {
    fn is_empty(&self) -> bool {
        self.sync.is_none()
            && self.update.is_none()
            && self.create_none.is_none()
            && self.scope.is_empty()
            && self.missing.is_none()
    }
}

/// The first word of a statement (a statement's span covers all of it).
fn keyword_span(statement: Span, keyword: &str) -> Span {
    Span::new(
        statement.start,
        (statement.start + keyword.len()).min(statement.end),
    )
}

/// Collect the sync statements, reporting the ones given twice.
fn collect<'a>(decl: &'a ast::TemplateDecl, diags: &mut Diagnostics) -> Statements<'a> {
    let mut found = Statements::default();
    let mut first: HashMap<&str, Span> = HashMap::new();
    for item in &decl.items {
        let (keyword, span) = match item {
            Item::Sync(s) => ("sync", s.span),
            Item::Update(u) => ("update", u.span),
            Item::CreateNone(span) => ("create", *span),
            Item::Missing(m) => ("missing", m.span),
            Item::Scope(s) => {
                found.scope.push(s);
                continue;
            }
            _ => continue,
        };
        let span = keyword_span(span, keyword);
        if let Some(earlier) = first.insert(keyword, span) {
            first.insert(keyword, earlier);
            diags.push(
                diags
                    .error(
                        Code::DuplicateStatement,
                        span,
                        format!("`{keyword}` is given twice"),
                    )
                    .label("given again here")
                    .related(earlier, "first given here")
                    .help(format!(
                        "a sync template says this once; keep one `{keyword}` line"
                    )),
            );
            continue;
        }
        match item {
            Item::Sync(s) => found.sync = Some(s),
            Item::Update(u) => found.update = Some(u),
            Item::CreateNone(span) => found.create_none = Some(*span),
            Item::Missing(m) => found.missing = Some(m),
            _ => {}
        }
    }
    found
}

/// Check the sync statements of a write template and set `template.sync`.
pub(super) fn check_sync(decl: &ast::TemplateDecl, template: &mut Template, diags: &mut Diagnostics) {
    let statements = collect(decl, diags);
    if statements.is_empty() {
        return;
    }
    let spec = match statements.sync {
        Some(sync) => start_spec(sync, template, diags),
        None => match template.sync.clone() {
            Some(spec) => Some(spec),
            None => {
                refuse_without_sync(decl, template, diags);
                return;
            }
        },
    };
    let Some(mut spec) = spec else { return };
    // Where a problem of the spec as a whole is shown.
    let anchor = statements
        .sync
        .map_or(decl.name.span, |s| keyword_span(s.span, "sync"));
    if let Some(sync) = statements.sync {
        check_key(sync, &spec, template, diags);
    }
    if spec.object == SyncObject::Enrolments {
        check_enrolment_lookups(template, anchor, diags);
    }
    if let Some(update) = statements.update {
        if let Some(fields) = check_update(update, &spec, template, diags) {
            spec.update = Some(fields);
        }
    } else if let (Some(key), Some(update)) = (&spec.key, &spec.update) {
        if update.contains(key) {
            diags.push(
                diags
                    .error(
                        Code::BadSync,
                        anchor,
                        format!("the inherited `update` names `{key}`, the key records are matched by"),
                    )
                    .label("matched by a field it also updates")
                    .help(format!(
                        "give `update` again without `{key}`: a row whose key differs is another record"
                    )),
            );
        }
    }
    if let Some(span) = statements.create_none {
        if spec.object == SyncObject::Enrolments {
            diags.push(
                diags
                    .error(
                        Code::BadSync,
                        keyword_span(span, "create"),
                        "`create none` applies to users and courses, not enrolments",
                    )
                    .label("in a sync of enrolments")
                    .help("a sync of enrolments enrols every row Moodle lacks; remove this line"),
            );
        } else {
            spec.create = false;
        }
    }
    if !statements.scope.is_empty() {
        spec.scope = check_scope(&statements.scope, spec.object, diags);
    }
    if let Some(missing) = statements.missing {
        if let Some(policy) = check_missing(missing, spec.object, diags) {
            spec.missing = policy;
        }
    }
    if spec.missing != Missing::Keep && spec.object != SyncObject::Enrolments && spec.scope.is_empty() {
        let span = statements
            .missing
            .map_or(anchor, |m| keyword_span(m.span, "missing"));
        let example = match spec.object {
            SyncObject::Courses => "scope categoryid = 5",
            _ => "scope auth = \"manual\"",
        };
        diags.push(
            diags
                .error(
                    Code::BadSync,
                    span,
                    format!(
                        "`missing {}` needs a `scope`: which of Moodle's {} this sync owns",
                        spec.missing.name(),
                        spec.object.name()
                    ),
                )
                .label(format!(
                    "would {} every {} the roster lacks",
                    spec.missing.name(),
                    singular(spec.object)
                ))
                .help(format!(
                    "a sync removes only what it owns; add a scope line such as `{example}`"
                )),
        );
    }
    template.sync = Some(spec);
}

fn singular(object: SyncObject) -> &'static str {
    match object {
        SyncObject::Users => "user",
        SyncObject::Courses => "course",
        SyncObject::Enrolments => "enrolment",
    }
}

/// `sync OBJECT`: the object, fitting the function; the spec it starts from.
fn start_spec(sync: &ast::SyncDecl, template: &Template, diags: &mut Diagnostics) -> Option<SyncSpec> {
    let Some(object) = SyncObject::from_name(&sync.object.name) else {
        diags.push(
            diags
                .error(
                    Code::BadSync,
                    sync.object.span,
                    format!("moodlec cannot sync `{}`", sync.object.name),
                )
                .label("not users, courses or enrolments")
                .help(suggestion(&sync.object.name, OBJECTS).unwrap_or_else(|| {
                    "a sync keeps users, courses or enrolments equal to a roster".to_owned()
                })),
        );
        return None;
    };
    let (function, builtin) = create_function(object);
    if template.function != function {
        let fits = [SyncObject::Users, SyncObject::Courses, SyncObject::Enrolments]
            .into_iter()
            .find(|o| create_function(*o).0 == template.function);
        let help = match fits {
            Some(other) => format!(
                "`{}` calls {}, which creates {}: write `sync {}`, or extend `{builtin}` to sync {}",
                template.name,
                template.function,
                other.name(),
                other.name(),
                object.name()
            ),
            None => format!(
                "a sync of {} creates them with {function}; extend the built-in `{builtin}`",
                object.name()
            ),
        };
        diags.push(
            diags
                .error(
                    Code::BadSync,
                    sync.object.span,
                    format!(
                        "`sync {}` needs a template that calls {function}, and `{}` calls {}",
                        object.name(),
                        template.name,
                        template.function
                    ),
                )
                .label(format!("{} are created with {function}", object.name()))
                .help(help),
        );
        return None;
    }
    let mut spec = match &template.sync {
        Some(inherited) if inherited.object == object => inherited.clone(),
        _ => SyncSpec {
            object,
            key: None,
            update: None,
            create: true,
            scope: Vec::new(),
            missing: Missing::Keep,
        },
    };
    spec.key = sync.key.as_ref().map(|k| k.name.clone());
    Some(spec)
}

/// Sync statements in a template with no `sync`, here or inherited.
fn refuse_without_sync(decl: &ast::TemplateDecl, template: &Template, diags: &mut Diagnostics) {
    let example = [SyncObject::Users, SyncObject::Courses, SyncObject::Enrolments]
        .into_iter()
        .find(|o| create_function(*o).0 == template.function)
        .map_or("`sync users by username`", |object| match object {
            SyncObject::Users => "`sync users by username`",
            SyncObject::Courses => "`sync courses by shortname`",
            SyncObject::Enrolments => "`sync enrolments`",
        });
    for item in &decl.items {
        let (keyword, span) = match item {
            Item::Update(u) => ("update", u.span),
            Item::CreateNone(span) => ("create", *span),
            Item::Scope(s) => ("scope", s.span),
            Item::Missing(m) => ("missing", m.span),
            _ => continue,
        };
        diags.push(
            diags
                .error(
                    Code::BadSync,
                    keyword_span(span, keyword),
                    format!("`{keyword}` needs a `sync` statement"),
                )
                .label(format!("`{}` syncs nothing", template.name))
                .help(format!(
                    "say what the template keeps equal to the roster first, e.g. {example}"
                )),
        );
    }
}

/// `by KEY`: required for users and courses, one of their keys and a field
/// of the template; not for enrolments.
fn check_key(sync: &ast::SyncDecl, spec: &SyncSpec, template: &Template, diags: &mut Diagnostics) {
    let object = spec.object;
    let allowed = keys(object);
    let Some(key) = &sync.key else {
        if object != SyncObject::Enrolments {
            diags.push(
                diags
                    .error(
                        Code::BadSync,
                        sync.span,
                        format!("`sync {}` needs `by KEY`", object.name()),
                    )
                    .label("matched by what?")
                    .help(format!(
                        "rows and Moodle's {} are matched by one of: {}; e.g. `sync {} by {}`",
                        object.name(),
                        allowed.join(", "),
                        object.name(),
                        allowed[0]
                    )),
            );
        }
        return;
    };
    if object == SyncObject::Enrolments {
        diags.push(
            diags
                .error(
                    Code::BadSync,
                    key.span,
                    "enrolments are matched by their user and course, not `by KEY`",
                )
                .label("not for enrolments")
                .help(format!(
                    "remove `by {}`: the `userid` and `courseid` lookups say which user and course a row means",
                    key.name
                )),
        );
        return;
    }
    if !allowed.contains(&key.name.as_str()) {
        let help = match did_you_mean(&key.name, allowed.iter().copied()) {
            Some(best) => format!("did you mean `{best}`?"),
            None => format!(
                "Moodle's {} can be matched by one of: {}",
                object.name(),
                allowed.join(", ")
            ),
        };
        diags.push(
            diags
                .error(
                    Code::BadSync,
                    key.span,
                    format!("{} cannot be matched by `{}`", object.name(), key.name),
                )
                .label("not a key")
                .help(help),
        );
        return;
    }
    if template.field(&key.name).is_none() {
        let what = format!("sync {} by", object.name());
        diags.push(unknown_field(template, key, &what, diags));
    }
}

/// A sync of enrolments needs user and course lookups for `userid` and `courseid`.
fn check_enrolment_lookups(template: &Template, anchor: Span, diags: &mut Diagnostics) {
    for (field, kind, example) in [
        (
            "userid",
            LookupKind::User,
            "lookup userid = user by username from \"{{ username }}\"",
        ),
        (
            "courseid",
            LookupKind::Course,
            "lookup courseid = course by shortname from \"{{ course }}\"",
        ),
    ] {
        match template.lookups.iter().find(|l| l.field == field) {
            Some(lookup) if lookup.kind == kind => {}
            Some(lookup) => diags.push(
                diags
                    .error(
                        Code::BadSync,
                        anchor,
                        format!(
                            "`sync enrolments` needs `{field}` looked up as a {}, and it is looked up as a {}",
                            kind.name(),
                            lookup.kind.name()
                        ),
                    )
                    .label(format!("`{field}` is not a {}", kind.name()))
                    .help(format!("look it up as a {}, e.g. `{example}`", kind.name())),
            ),
            None => diags.push(
                diags
                    .error(
                        Code::BadSync,
                        anchor,
                        format!("`sync enrolments` needs a lookup for `{field}`"),
                    )
                    .label(format!("no `lookup {field}` in this template"))
                    .help(format!(
                        "enrolments are matched by the user's and the course's keys; add `{example}`"
                    )),
            ),
        }
    }
}

/// `update a, b` / `update none`: the managed fields.
fn check_update(
    update: &ast::UpdateDecl,
    spec: &SyncSpec,
    template: &Template,
    diags: &mut Diagnostics,
) -> Option<Vec<String>> {
    if spec.object == SyncObject::Enrolments {
        diags.push(
            diags
                .error(
                    Code::BadSync,
                    keyword_span(update.span, "update"),
                    "a sync of enrolments has no fields to update",
                )
                .label("not for enrolments")
                .help("the role is the only attribute a sync of enrolments compares; remove this line"),
        );
        return None;
    }
    let errors = diags.error_count();
    let mut fields: Vec<String> = Vec::new();
    for ident in &update.fields {
        let Some(field) = template.field(&ident.name) else {
            diags.push(unknown_field(template, ident, "update", diags));
            continue;
        };
        if ident.name == "password" || matches!(field.ty, FieldType::Scalar(ScalarType::Password)) {
            diags.push(
                diags
                    .error(
                        Code::BadSync,
                        ident.span,
                        format!("a sync cannot update `{}`", ident.name),
                    )
                    .label("a password")
                    .help("Moodle never returns passwords, so a sync cannot tell whether one differs; it sets the password only when it creates the account. Remove it from `update`"),
            );
            continue;
        }
        if spec.key.as_deref() == Some(ident.name.as_str()) {
            diags.push(
                diags
                    .error(
                        Code::BadSync,
                        ident.span,
                        format!("`{}` is the key rows and records are matched by", ident.name),
                    )
                    .label("the sync's key")
                    .help(
                        "a row whose key differs is another record, never an update; remove it from `update`",
                    ),
            );
            continue;
        }
        if !fields.contains(&ident.name) {
            fields.push(ident.name.clone());
        }
    }
    (diags.error_count() == errors).then_some(fields)
}

/// `scope` lines: what of Moodle the sync owns.
fn check_scope(scopes: &[&ast::ScopeDecl], object: SyncObject, diags: &mut Diagnostics) -> Vec<ScopeRule> {
    let mut rules = Vec::new();
    let mut seen: HashMap<String, Span> = HashMap::new();
    for scope in scopes {
        let Some((key, key_span, rule)) = scope_rule(scope, object, diags) else {
            continue;
        };
        if let Some(first) = seen.get(&key) {
            let help = if object == SyncObject::Users {
                format!(
                    "core_user_get_users refuses a criterion given twice; keep one `scope {key}` line (scope lines combine with AND)"
                )
            } else {
                format!("keep one `scope {key}` line")
            };
            diags.push(
                diags
                    .error(Code::BadSync, key_span, format!("`scope {key}` is given twice"))
                    .label("given again here")
                    .related(*first, "first given here")
                    .help(help),
            );
            continue;
        }
        seen.insert(key, key_span);
        rules.push(rule);
    }
    rules
}

/// One scope line as a rule, with the key it constrains (for duplicates).
fn scope_rule(
    scope: &ast::ScopeDecl,
    object: SyncObject,
    diags: &mut Diagnostics,
) -> Option<(String, Span, ScopeRule)> {
    let wrong_form = |diags: &mut Diagnostics, span: Span, message: String| {
        let help = match object {
            SyncObject::Users => format!(
                "users are scoped by core_user_get_users' criteria: `scope FIELD = \"value\"` for {}, or `scope FIELD like \"pattern\"` for {}",
                USER_SCOPE_FIELDS.join(", "),
                USER_LIKE_FIELDS.join(", ")
            ),
            SyncObject::Courses => "courses are scoped by their category: `scope categoryid = 5`".to_owned(),
            SyncObject::Enrolments => {
                "enrolments are scoped by course: `scope courses \"MATH101\", \"PHYS201\"`".to_owned()
            }
        };
        diags.push(
            diags
                .error(Code::BadSync, span, message)
                .label(format!("not a scope of {}", object.name()))
                .help(help),
        );
        None
    };
    match (&scope.rule, object) {
        (ScopeExpr::Courses(courses), SyncObject::Enrolments) => {
            let span = keyword_span(scope.span, "scope courses");
            Some((
                "courses".to_owned(),
                span,
                ScopeRule::Courses(courses.iter().map(|c| c.value.clone()).collect()),
            ))
        }
        (ScopeExpr::Courses(_), _) => wrong_form(
            diags,
            keyword_span(scope.span, "scope courses"),
            format!("`scope courses` applies to enrolments, not {}", object.name()),
        ),
        (ScopeExpr::Equals { field, value }, SyncObject::Courses) => {
            if field.name != "categoryid" {
                return wrong_form(
                    diags,
                    field.span,
                    format!("courses cannot be scoped by `{}`", field.name),
                );
            }
            match &value.value {
                LiteralValue::Number(n) if n.parse::<u64>().is_ok_and(|id| id > 0) => Some((
                    field.name.clone(),
                    field.span,
                    ScopeRule::Equals {
                        field: field.name.clone(),
                        value: n.clone(),
                    },
                )),
                _ => wrong_form(
                    diags,
                    value.span,
                    "`scope categoryid` needs a category id, a positive whole number".to_owned(),
                ),
            }
        }
        (ScopeExpr::Like { field, .. }, SyncObject::Courses) => wrong_form(
            diags,
            field.span,
            format!("courses cannot be scoped by `{} like`", field.name),
        ),
        (ScopeExpr::Equals { field, .. } | ScopeExpr::Like { field, .. }, SyncObject::Enrolments) => {
            wrong_form(
                diags,
                field.span,
                format!("enrolments cannot be scoped by `{}`", field.name),
            )
        }
        (ScopeExpr::Equals { field, value }, SyncObject::Users) => {
            user_scope_field(field, diags)?;
            let text = match &value.value {
                LiteralValue::Str(s) | LiteralValue::Word(s) | LiteralValue::Number(s) => s.clone(),
                LiteralValue::Bool(_) => {
                    return wrong_form(
                        diags,
                        value.span,
                        format!("`scope {}` compares text, not a boolean", field.name),
                    )
                }
            };
            Some((
                field.name.clone(),
                field.span,
                ScopeRule::Equals {
                    field: field.name.clone(),
                    value: text,
                },
            ))
        }
        (ScopeExpr::Like { field, pattern }, SyncObject::Users) => {
            user_scope_field(field, diags)?;
            if !USER_LIKE_FIELDS.contains(&field.name.as_str()) {
                diags.push(
                    diags
                        .error(
                            Code::BadSync,
                            field.span,
                            format!(
                                "core_user_get_users matches `{}` exactly, not with `like`",
                                field.name
                            ),
                        )
                        .label("no LIKE for this field")
                        .help(format!(
                            "write `scope {} = \"value\"`; `like` works for {}",
                            field.name,
                            USER_LIKE_FIELDS.join(", ")
                        )),
                );
                return None;
            }
            Some((
                field.name.clone(),
                field.span,
                ScopeRule::Like {
                    field: field.name.clone(),
                    pattern: pattern.value.clone(),
                },
            ))
        }
    }
}

/// A users scope names one of core_user_get_users' criteria.
fn user_scope_field(field: &ast::Ident, diags: &mut Diagnostics) -> Option<()> {
    if USER_SCOPE_FIELDS.contains(&field.name.as_str()) {
        return Some(());
    }
    let help = match did_you_mean(&field.name, USER_SCOPE_FIELDS.iter().copied()) {
        Some(best) => format!("did you mean `{best}`?"),
        None => format!(
            "users are scoped by core_user_get_users' criteria: {}",
            USER_SCOPE_FIELDS.join(", ")
        ),
    };
    diags.push(
        diags
            .error(
                Code::BadSync,
                field.span,
                format!("users cannot be scoped by `{}`", field.name),
            )
            .label("not a criterion of core_user_get_users")
            .help(help),
    );
    None
}

/// `missing POLICY`, one the kind of sync allows.
fn check_missing(missing: &ast::MissingDecl, object: SyncObject, diags: &mut Diagnostics) -> Option<Missing> {
    let allowed = missing_policies(object);
    let names: Vec<&str> = allowed.iter().map(|m| m.name()).collect();
    match Missing::from_name(&missing.policy.name) {
        Some(policy) if allowed.contains(&policy) => Some(policy),
        Some(policy) => {
            diags.push(
                diags
                    .error(
                        Code::BadSync,
                        missing.policy.span,
                        format!("`missing {}` does not apply to {}", policy.name(), object.name()),
                    )
                    .label(format!("not for {}", object.name()))
                    .help(format!("{} can be: {}", object.name(), names.join(", "))),
            );
            None
        }
        None => {
            let help = match did_you_mean(&missing.policy.name, names.iter().copied()) {
                Some(best) => format!("did you mean `{best}`?"),
                None => format!("for {}: {}", object.name(), names.join(", ")),
            };
            diags.push(
                diags
                    .error(
                        Code::BadSync,
                        missing.policy.span,
                        format!("`{}` is not what `missing` can do", missing.policy.name),
                    )
                    .label("unknown policy")
                    .help(help),
            );
            None
        }
    }
}

/// What a name in `steps` refers to.
pub(super) enum StepTarget {
    /// A compiled template.
    Found(std::sync::Arc<Template>),
    /// A template declared in the files being compiled that has errors
    /// (reported where it is declared).
    Broken,
    /// A `steps` template declared in the files being compiled, with its steps.
    Steps(Vec<String>),
    /// Nothing by this name.
    Unknown,
}

/// A template whose body is `steps a, b` (and nothing else).
pub(super) fn check_steps(
    decl: &ast::TemplateDecl,
    targets: &dyn Fn(&str) -> StepTarget,
    known: &[&str],
    diags: &mut Diagnostics,
) -> Option<Template> {
    let errors = diags.error_count();
    let mut broken = false;
    if let Some(base) = &decl.base {
        diags.push(
            diags
                .error(
                    Code::BadSteps,
                    base.span,
                    "a `steps` template cannot extend another",
                )
                .label("extends")
                .help(format!(
                    "a `steps` template only lists sync templates; remove `extends {}`",
                    base.name
                )),
        );
    }
    let mut lists = Vec::new();
    for item in &decl.items {
        match item {
            Item::Steps(list) => lists.push(list),
            other => diags.push(
                diags
                    .error(
                        Code::BadSteps,
                        match other {
                            // Their span is the name after the keyword.
                            Item::Function(name) | Item::Wrap(name) => name.span,
                            _ => keyword_span(other.span(), statement_keyword(other)),
                        },
                        "a `steps` template holds nothing but its `steps`",
                    )
                    .label("another statement")
                    .help("move this into one of the sync templates it runs, or into a template of its own"),
            ),
        }
    }
    if let [first, rest @ ..] = lists.as_slice() {
        for again in rest {
            diags.push(
                diags
                    .error(
                        Code::DuplicateStatement,
                        keyword_span(again.span, "steps"),
                        "`steps` is given twice",
                    )
                    .label("given again here")
                    .related(keyword_span(first.span, "steps"), "first given here")
                    .help("list every step, in order, on one `steps` line"),
            );
        }
    }
    let mut names: Vec<String> = Vec::new();
    let mut seen: HashMap<&str, Span> = HashMap::new();
    for ident in lists.first().map_or(&[][..], |l| &l.names[..]) {
        if let Some(first) = seen.insert(&ident.name, ident.span) {
            diags.push(
                diags
                    .error(
                        Code::BadSteps,
                        ident.span,
                        format!("`{}` is listed twice", ident.name),
                    )
                    .label("listed again here")
                    .related(first, "first listed here")
                    .help("each step runs once; remove one of them"),
            );
            continue;
        }
        if ident.name == decl.name.name {
            diags.push(
                diags
                    .error(
                        Code::BadSteps,
                        ident.span,
                        format!("`{}` lists itself", ident.name),
                    )
                    .label("this template")
                    .help("list the sync templates it runs"),
            );
            continue;
        }
        match targets(&ident.name) {
            StepTarget::Found(target) => match &target.kind {
                Kind::Steps(inner) => nested(ident, inner, diags),
                _ if target.sync.is_none() => diags.push(
                    diags
                        .error(
                            Code::BadSteps,
                            ident.span,
                            format!("`{}` is not a sync template", ident.name),
                        )
                        .label("has no `sync` statement")
                        .help(format!(
                            "a step keeps Moodle equal to the roster: add a `sync` statement to `{}`, or run it on its own with `moodlec run`",
                            ident.name
                        )),
                ),
                _ => {}
            },
            StepTarget::Steps(inner) => nested(ident, &inner, diags),
            StepTarget::Broken => broken = true,
            StepTarget::Unknown => {
                let mut diag = diags
                    .error(
                        Code::BadSteps,
                        ident.span,
                        format!("there is no template `{}`", ident.name),
                    )
                    .label("unknown template");
                diag = diag.help(
                    suggestion(&ident.name, known)
                        .filter(|h| h.starts_with("did you mean"))
                        .unwrap_or_else(|| {
                            "name a sync template of this file, of ./templates/, or a built-in one".to_owned()
                        }),
                );
                diags.push(diag);
            }
        }
        names.push(ident.name.clone());
    }
    if broken || diags.error_count() != errors {
        return None;
    }
    Some(Template {
        name: decl.name.name.clone(),
        doc: decl.doc.as_ref().map(|d| d.value.clone()).unwrap_or_default(),
        function: String::new(),
        wrap: None,
        params: Vec::new(),
        fields: Vec::new(),
        rules: Vec::new(),
        unique: Vec::new(),
        password_policy: None,
        password_policy_when: None,
        batch: crate::template::BatchRule::default(),
        returns: crate::template::Returns::Nothing,
        mapping: None,
        base: None,
        applied: crate::template::AppliedCheck::Unknown,
        kind: Kind::Steps(names),
        lookups: Vec::new(),
        sync: None,
        origin: Origin {
            source: diags.source().clone(),
            span: decl.span,
        },
    })
}

fn nested(ident: &ast::Ident, inner: &[String], diags: &mut Diagnostics) {
    let help = if inner.is_empty() {
        "steps do not nest: list the sync templates it runs here instead".to_owned()
    } else {
        format!(
            "steps do not nest: list its steps here instead ({})",
            inner.join(", ")
        )
    };
    diags.push(
        diags
            .error(
                Code::BadSteps,
                ident.span,
                format!("`{}` is itself a `steps` template", ident.name),
            )
            .label("a steps template")
            .help(help),
    );
}

/// The keyword a statement starts with, for underlining it.
fn statement_keyword(item: &Item) -> &'static str {
    match item {
        Item::Function(_) => "function",
        Item::Wrap(_) => "wrap",
        Item::Param(_) => "param",
        Item::Field(_) => "field",
        Item::Rule(_) => "rule",
        Item::Unique(_) => "unique",
        Item::Policy(_) => "policy",
        Item::Batch(_) => "batch",
        Item::Returns(_) => "returns",
        Item::Map(_) => "map",
        Item::Set(_) => "set",
        Item::Exclude(_) => "exclude",
        Item::Exists(_) => "exists",
        Item::Idempotent(_) => "idempotent",
        Item::Options(_) => "options",
        Item::Emits(_) => "emits",
        Item::Annotate(_) => "annotate",
        Item::Keep(_) => "keep",
        Item::Join(_) => "join",
        Item::Select(_) => "select",
        Item::Lookup(_) => "lookup",
        Item::Sync(_) => "sync",
        Item::Update(_) => "update",
        Item::CreateNone(_) => "create",
        Item::Scope(_) => "scope",
        Item::Missing(_) => "missing",
        Item::Steps(_) => "steps",
    }
}
