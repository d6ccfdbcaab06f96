//! A template compared with Moodle's own description of its function (the
//! [`crate::catalogue`]): names the function does not take, parameters it
//! requires that the template may leave out, types looser than Moodle's
//! PARAM type, and structures nested differently from Moodle's.
//!
//! Runs on a template that checked clean otherwise. A function that is not
//! in the catalogue (a plugin's own) is a warning: nothing to compare with.

use super::suggest::did_you_mean;
use super::Diagnostics;
use crate::catalogue::{self, generate::scalar_for_param, Function, ObjectShape, Shape};
use crate::diagnostic::Code;
use crate::span::Span;
use crate::syntax::ast::{self, BatchSetting, Item, TypeExpr};
use crate::template::{Constraints, Field, FieldType, Kind, ScalarType, Template, Value};
use crate::value::check_scalar_text;

/// Whether a field of template type `ty` can be sent where Moodle expects
/// PARAM type `param`: every value moodlec accepts for `ty` must be one
/// Moodle's `clean_param($value, PARAM_...)` leaves unchanged (strict
/// validation refuses a value that cleaning changes; lib/classes/param.php).
///
/// | PARAM | template types accepted |
/// |---|---|
/// | `raw` | every scalar type |
/// | `raw_trimmed` | all but `raw`, `text`, `notags`, `password` (they allow surrounding spaces) |
/// | `text` | all but `raw`, `raw_trimmed`, `password` (they allow tags) |
/// | `notags` | as `text`, and not `text` (it allows multilang `<span>` tags) |
/// | `int` | `int`, `timestamp`, `bool` (sent as 1/0) |
/// | `float` | `float`, `int`, `timestamp`, `bool` |
/// | `bool` | `bool`; `int` limited to 0 and 1 |
/// | `alpha` | `alpha`, `country` |
/// | `alphanum` | `alpha`, `alphanum`, `country`, `bool` |
/// | `alphanumext`, `safedir` | `alpha`, `alphanum`, `alphanumext`, `safedir`, `country`, `bool`, `plugin`, `auth`, `theme`, `lang` |
/// | `plugin` | `plugin`, `auth`, `theme` |
/// | `auth`, `theme`, `username`, `email`, `lang`, `timezone` | the type of the same name |
/// | others (`url`, `path`, `component`, `area`, `file`, `tag`, `alphaext`, ...) | every scalar type: moodlec has no rules for them (the generator declares `raw`); Moodle checks them |
pub fn compatible(ty: ScalarType, param: &str, constraints: &Constraints) -> bool {
    use ScalarType::{
        Alpha, AlphaNum, AlphaNumExt, Auth, Bool, Country, Email, Float, Int, Lang, NoTags, Password, Plugin,
        Raw, RawTrimmed, SafeDir, Text, Theme, Timestamp, Timezone, Username,
    };
    match param {
        "raw" => true,
        "raw_trimmed" => !matches!(ty, Raw | Text | NoTags | Password),
        "text" => !matches!(ty, Raw | RawTrimmed | Password),
        "notags" => !matches!(ty, Raw | RawTrimmed | Password | Text),
        "int" => matches!(ty, Int | Timestamp | Bool),
        "float" => matches!(ty, Float | Int | Timestamp | Bool),
        "bool" => ty == Bool || (ty == Int && zero_or_one(constraints)),
        "alpha" => matches!(ty, Alpha | Country),
        "alphanum" => matches!(ty, Alpha | AlphaNum | Country | Bool),
        "alphanumext" | "safedir" => matches!(
            ty,
            Alpha | AlphaNum | AlphaNumExt | SafeDir | Country | Bool | Plugin | Auth | Theme | Lang
        ),
        "plugin" => matches!(ty, Plugin | Auth | Theme),
        "auth" => ty == Auth,
        "theme" => ty == Theme,
        "username" => ty == Username,
        "email" => ty == Email,
        "lang" => ty == Lang,
        "timezone" => ty == Timezone,
        // PARAM types moodlec has no rules for (`url`, `component`, `alphaext`, ...):
        // no moodlec type is known to stay within them, so none is refused;
        // Moodle checks the values when the call arrives.
        _ => true,
    }
}

/// An `int` whose `one_of` or `min`/`max` keep it to 0 and 1.
fn zero_or_one(constraints: &Constraints) -> bool {
    if !constraints.one_of.is_empty() {
        return constraints.one_of.iter().all(|v| matches!(v, Value::Int(0 | 1)));
    }
    constraints.min.is_some_and(|min| min >= 0.0) && constraints.max.is_some_and(|max| max <= 1.0)
}

/// Whether Moodle's PARAM type `param` takes the text `value` unchanged
/// (`true` for the PARAM types moodlec has no rules for).
fn param_accepts(param: &str, value: &str) -> bool {
    let (ty, exact) = scalar_for_param(param);
    !exact || check_scalar_text(ty, value).is_ok()
}

/// Compare a template that checked clean with its function's description.
pub(super) fn check(decl: &ast::TemplateDecl, template: &Template, diags: &mut Diagnostics) {
    if matches!(template.kind, Kind::Steps(_)) {
        return;
    }
    let spans = Spans::new(decl);
    let Some(function) = catalogue::function(&template.function) else {
        if decl.base.is_none() {
            report_uncatalogued(template, &spans, diags);
        }
        return;
    };
    let mut check = Checker {
        function,
        template,
        inherits: decl.base.is_some(),
        diags,
    };
    check.template(decl, &spans);
}

/// Where the statements the check points at are.
struct Spans<'d> {
    name: Span,
    function: Option<Span>,
    wrap: Option<Span>,
    collect_into: Option<Span>,
    fields: Vec<&'d ast::FieldDecl>,
}

impl<'d> Spans<'d> {
    fn new(decl: &'d ast::TemplateDecl) -> Self {
        let mut spans = Spans {
            name: decl.name.span,
            function: None,
            wrap: None,
            collect_into: None,
            fields: Vec::new(),
        };
        for item in &decl.items {
            match item {
                Item::Function(ident) => spans.function = Some(ident.span),
                Item::Wrap(ident) => spans.wrap = Some(ident.span),
                Item::Field(field) => spans.fields.push(field),
                Item::Batch(batch) => {
                    for setting in &batch.settings {
                        if let BatchSetting::Collect { into, .. } = setting {
                            spans.collect_into = Some(into.span);
                        }
                    }
                }
                _ => {}
            }
        }
        spans
    }
}

fn report_uncatalogued(template: &Template, spans: &Spans, diags: &mut Diagnostics) {
    let names = catalogue::names();
    let help = match did_you_mean(&template.function, names.iter().copied()) {
        Some(best) => format!("did you mean `{best}`? If it is a plugin's own function, its fields, types and nesting are sent as declared, unchecked"),
        None => "a plugin's own function is sent as the template declares it: its fields, types and nesting are unchecked".to_owned(),
    };
    diags.push(
        crate::diagnostic::TemplateDiagnostic::warning(
            Code::UncataloguedFunction,
            spans.function.unwrap_or(spans.name),
            format!(
                "`{}` is not a web-service function of Moodle {}; moodlec cannot check the template against it",
                template.function,
                catalogue::MOODLE_RELEASE
            ),
        )
        .label("not in moodlec's catalogue")
        .help(help)
        .in_source(diags.source()),
    );
}

struct Checker<'a, 'd, 's> {
    function: &'a Function,
    template: &'a Template,
    inherits: bool,
    diags: &'d mut Diagnostics<'s>,
}

impl Checker<'_, '_, '_> {
    fn template(&mut self, decl: &ast::TemplateDecl, spans: &Spans) {
        let function = self.function;
        let top = match &function.params {
            Shape::Object(object) => object,
            _ => return,
        };
        // The parameters the template sends other than its records' fields.
        let mut carried: Vec<&str> = Vec::new();
        let record_object: Option<(&ObjectShape, String)> = match &self.template.wrap {
            Some(wrap) => {
                carried.push(wrap);
                self.wrapped(top, wrap, spans)
            }
            None => None,
        };
        if let Some(collect) = &self.template.batch.collect {
            carried.push(&collect.into);
            self.collected(top, &collect.field, &collect.into, spans);
        }
        if let Some(options) = self.template.read_spec().and_then(|r| r.options.as_ref()) {
            carried.push(&options.list);
            self.options(top, &options.list, &options.key, &options.value, decl);
        }
        let skip: Vec<&str> = self.not_record_fields();
        let sent: Vec<&Field> = self
            .template
            .fields
            .iter()
            .filter(|f| !skip.contains(&f.name.as_str()))
            .collect();
        let decls: Vec<&ast::FieldDecl> = spans.fields.clone();
        if self.template.wrap.is_some() {
            // The records' fields are the list's keys; `per_call` fields are
            // the call's other parameters.
            let (call, record): (Vec<&Field>, Vec<&Field>) = sent.into_iter().partition(|f| f.per_call);
            if let Some((object, prefix)) = record_object {
                self.fields(
                    &record,
                    &decls,
                    object,
                    &prefix,
                    spans.wrap.unwrap_or(spans.name),
                    &[],
                );
            }
            if !self.inherits || call.iter().any(|f| decls.iter().any(|d| d.name.name == f.name)) {
                self.fields(
                    &call,
                    &decls,
                    top,
                    "",
                    spans.function.unwrap_or(spans.name),
                    &carried,
                );
            }
        } else {
            // Every field is a parameter of the call, beside the collected list and the options.
            self.fields(
                &sent,
                &decls,
                top,
                "",
                spans.collect_into.unwrap_or(spans.name),
                &carried,
            );
        }
    }

    /// Fields that are not keys of the record object: the collected one and options.
    fn not_record_fields(&self) -> Vec<&str> {
        let mut skip = Vec::new();
        if let Some(collect) = &self.template.batch.collect {
            skip.push(collect.field.as_str());
        }
        if let Some(options) = self.template.read_spec().and_then(|r| r.options.as_ref()) {
            skip.extend(options.fields.iter().map(String::as_str));
        }
        skip
    }

    /// `wrap NAME`: the list of records; its element object and the key prefix.
    fn wrapped<'f>(
        &mut self,
        top: &'f ObjectShape,
        wrap: &str,
        spans: &Spans,
    ) -> Option<(&'f ObjectShape, String)> {
        if self.inherits {
            // Checked with the base template.
            return match top.key(wrap) {
                Some(Shape::List(list)) => match &*list.content {
                    Shape::Object(object) => Some((object, format!("{wrap}[i]"))),
                    _ => None,
                },
                _ => None,
            };
        }
        let span = spans.wrap.unwrap_or(spans.name);
        let name = &self.function.name;
        match top.key(wrap) {
            Some(Shape::List(list)) => match &*list.content {
                Shape::Object(object) => return Some((object, format!("{wrap}[i]"))),
                Shape::Value(_) => self.diags.push(
                    self.diags
                        .error(
                            Code::WrongNesting,
                            span,
                            format!("`{wrap}` of {name} is a list of plain values, not of records"),
                        )
                        .label(format!("`wrap` sends whole records: `{wrap}[0][field]`"))
                        .help(format!(
                            "send one field of each record as `{wrap}[i]` with `batch collect FIELD into {wrap}` instead of `wrap`"
                        )),
                ),
                Shape::List(_) => self.diags.push(
                    self.diags
                        .error(Code::WrongNesting, span, format!("`{wrap}` of {name} is a list of lists"))
                        .label("not a list of records")
                        .help("moodlec cannot send a list of lists"),
                ),
            },
            Some(other) => self.diags.push(
                self.diags
                    .error(
                        Code::WrongNesting,
                        span,
                        format!("`{wrap}` of {name} is {}, not a list of records", other.describe()),
                    )
                    .label("`wrap` names a list of records")
                    .help(format!(
                        "remove `wrap {wrap}`: without it, the record's fields are the call's parameters"
                    )),
            ),
            None => {
                let names: Vec<&str> = top.keys.iter().map(|(n, _)| n.as_str()).collect();
                let lists: Vec<&str> = top
                    .keys
                    .iter()
                    .filter(|(_, s)| matches!(s, Shape::List(l) if matches!(*l.content, Shape::Object(_))))
                    .map(|(n, _)| n.as_str())
                    .collect();
                let help = match did_you_mean(wrap, names.iter().copied()) {
                    Some(best) => format!("did you mean `{best}`?"),
                    None if lists.is_empty() => format!(
                        "{name} takes no list of records; remove `wrap` and declare its parameters as fields"
                    ),
                    None => format!("its list of records is `{}`", lists.join("`, `")),
                };
                self.diags.push(
                    self.diags
                        .error(
                            Code::UnknownMoodleField,
                            span,
                            format!("{name} has no parameter `{wrap}`"),
                        )
                        .label(format!("not a parameter of {name}"))
                        .help(help),
                );
            }
        }
        None
    }

    /// `collect FIELD into LIST`: LIST is a list of plain values of the field's type.
    fn collected(&mut self, top: &ObjectShape, field: &str, into: &str, spans: &Spans) {
        if self.inherits {
            return;
        }
        let span = spans.collect_into.unwrap_or(spans.name);
        let name = &self.function.name;
        let Some(shape) = top.key(into) else {
            let names: Vec<&str> = top.keys.iter().map(|(n, _)| n.as_str()).collect();
            let help = did_you_mean(into, names.iter().copied()).map_or_else(
                || format!("{name} takes: {}", list_names(&names)),
                |best| format!("did you mean `{best}`?"),
            );
            self.diags.push(
                self.diags
                    .error(
                        Code::UnknownMoodleField,
                        span,
                        format!("{name} has no parameter `{into}`"),
                    )
                    .label(format!("not a parameter of {name}"))
                    .help(help),
            );
            return;
        };
        let content = match shape {
            Shape::List(list) => &*list.content,
            other => {
                self.diags.push(
                    self.diags
                        .error(
                            Code::WrongNesting,
                            span,
                            format!(
                                "`{into}` of {name} is {}, not a list of plain values",
                                other.describe()
                            ),
                        )
                        .label(format!(
                            "`collect` fills a list of plain values: `{into}[0]`, `{into}[1]`"
                        ))
                        .help("collect into a list parameter, or send the field as a parameter of its own"),
                );
                return;
            }
        };
        match content {
            Shape::Value(value) => {
                if let Some(f) = self.template.field(field) {
                    let decl = spans.fields.iter().find(|d| d.name.name == field).copied();
                    self.scalar(f, decl, &value.ty, &format!("{into}[i]"));
                }
            }
            other => self.diags.push(
                self.diags
                    .error(
                        Code::WrongNesting,
                        span,
                        format!(
                            "`{into}` of {name} is a list of {}, not of plain values",
                            other.kind_name()
                        ),
                    )
                    .label("`collect` sends one plain value per record")
                    .help(format!("use `wrap {into}` to send whole records")),
            ),
        }
    }

    /// `options LIST(KEY, VALUE)`: LIST is a list of records with KEY and VALUE.
    fn options(&mut self, top: &ObjectShape, list: &str, key: &str, value: &str, decl: &ast::TemplateDecl) {
        let span = decl
            .items
            .iter()
            .find_map(|item| match item {
                Item::Options(options) => Some(options.list.span),
                _ => None,
            })
            .unwrap_or(decl.name.span);
        let name = &self.function.name;
        let fits = match top.key(list) {
            Some(Shape::List(shape)) => match &*shape.content {
                Shape::Object(object) => object.key(key).is_some() && object.key(value).is_some(),
                _ => false,
            },
            _ => false,
        };
        if !fits && !self.inherits {
            self.diags.push(
                self.diags
                    .error(
                        Code::WrongNesting,
                        span,
                        format!("{name} takes no list `{list}` of records with `{key}` and `{value}`"),
                    )
                    .label("not a name/value list of this function")
                    .help(format!(
                        "{name} takes: {}",
                        list_names(&top.keys.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>())
                    )),
            );
        }
    }

    /// The template's `fields` against Moodle's `object`; `prefix` names the
    /// object in messages (`users[i]`), `anchor` is where missing keys are reported.
    fn fields(
        &mut self,
        fields: &[&Field],
        decls: &[&ast::FieldDecl],
        object: &ObjectShape,
        prefix: &str,
        anchor: Span,
        sent_otherwise: &[&str],
    ) {
        let top = prefix.is_empty()
            || self
                .template
                .wrap
                .as_deref()
                .is_some_and(|w| prefix == format!("{w}[i]"));
        let name = self.function.name.clone();
        let at = |key: &str| {
            if prefix.is_empty() {
                format!("`{key}`")
            } else {
                format!("`{prefix}[{key}]`")
            }
        };
        for field in fields {
            let decl = decls.iter().find(|d| d.name.name == field.name).copied();
            if self.inherits && decl.is_none() {
                continue; // inherited, checked with the base
            }
            let Some(shape) = object.key(&field.name) else {
                let span = decl.map_or(anchor, |d| d.name.span);
                let names: Vec<&str> = object.keys.iter().map(|(n, _)| n.as_str()).collect();
                let help = match did_you_mean(&field.name, names.iter().copied()) {
                    Some(best) => format!("did you mean `{best}`?"),
                    None => format!("{name} takes here: {}", list_names(&names)),
                };
                self.diags.push(
                    self.diags
                        .error(
                            Code::UnknownMoodleField,
                            span,
                            format!("{name} takes no {}", at(&field.name)),
                        )
                        .label("Moodle refuses a call with a key it does not take")
                        .help(help),
                );
                continue;
            };
            let path = if prefix.is_empty() {
                field.name.clone()
            } else {
                format!("{prefix}[{}]", field.name)
            };
            self.shape(field, decl, shape, &path);
            if shape.presence().is_required() && !self.always_present(field, top) {
                let span = decl.map_or(anchor, |d| d.name.span);
                self.diags.push(
                    self.diags
                        .error(
                            Code::MissingMoodleField,
                            span,
                            format!("{name} requires {}, and a record may leave it out", at(&field.name)),
                        )
                        .label("optional here, required by Moodle")
                        .help("add `required` (or a `default`, or `set` it in a template that extends this one)"),
                );
            }
        }
        if self.inherits {
            return;
        }
        for (key, shape) in &object.keys {
            if !shape.presence().is_required()
                || fields.iter().any(|f| &f.name == key)
                || sent_otherwise.contains(&key.as_str())
            {
                continue;
            }
            let suggestion = match shape {
                Shape::Value(v) => format!("field {key}: {} required", scalar_for_param(&v.ty).0.name()),
                Shape::List(l) if matches!(*l.content, Shape::Object(_)) => {
                    format!("field {key}: list {{ ... }} required")
                }
                Shape::List(l) => match &*l.content {
                    Shape::Value(v) => {
                        format!("field {key}: list {} required", scalar_for_param(&v.ty).0.name())
                    }
                    _ => format!("field {key}: list {{ ... }} required"),
                },
                Shape::Object(_) => format!("field {key}: object {{ ... }} required"),
            };
            let suggestion = if prefix.is_empty() && self.template.wrap.is_some() {
                suggestion.replacen(" required", " required per_call", 1)
            } else {
                suggestion
            };
            self.diags.push(
                self.diags
                    .error(
                        Code::MissingMoodleField,
                        anchor,
                        format!("{name} requires {}, which the template does not declare", at(key)),
                    )
                    .label(format!("`{key}` is never sent"))
                    .help(format!("every call would be refused; add `{suggestion}`")),
            );
        }
    }

    /// Whether every record sends `field`: required, defaulted, set, mapped or looked up.
    fn always_present(&self, field: &Field, top: bool) -> bool {
        if field.required || field.default.is_some() {
            return true;
        }
        if !top {
            return false;
        }
        let name = field.name.as_str();
        self.template.lookups.iter().any(|l| l.field == name)
            || self.template.mapping.as_ref().is_some_and(|m| {
                m.sets.iter().any(|(f, _)| f == name) || m.maps.iter().any(|m| m.field == name)
            })
    }

    /// A field's type against Moodle's shape for it.
    fn shape(&mut self, field: &Field, decl: Option<&ast::FieldDecl>, shape: &Shape, path: &str) {
        let ty = field.ty.clone();
        self.compare(
            field,
            &ty,
            decl.map(|d| &d.ty),
            decl.map_or(field.span, |d| d.name.span),
            shape,
            path,
        );
    }

    /// Type `ty` (written `written`, when this template writes it) of
    /// `field` against `shape`; `anchor` is where missing keys inside are reported.
    fn compare(
        &mut self,
        field: &Field,
        ty: &FieldType,
        written: Option<&TypeExpr>,
        anchor: Span,
        shape: &Shape,
        path: &str,
    ) {
        let name = self.function.name.clone();
        let span = written.map_or(field.span, TypeExpr::span);
        match (ty, shape) {
            (FieldType::Scalar(_) | FieldType::Enum(_), Shape::Value(value)) => {
                self.scalar_type(field, ty, span, &value.ty, path);
            }
            (FieldType::List(fields), Shape::List(list)) if matches!(*list.content, Shape::Object(_)) => {
                let Shape::Object(object) = &*list.content else {
                    return;
                };
                let decls = match written {
                    Some(TypeExpr::List { fields, .. }) => fields.iter().collect(),
                    _ => Vec::new(),
                };
                self.nested(fields, &decls, object, &format!("{path}[i]"), anchor);
            }
            (FieldType::Object(fields), Shape::Object(object)) => {
                let decls = match written {
                    Some(TypeExpr::Object { fields, .. }) => fields.iter().collect(),
                    _ => Vec::new(),
                };
                self.nested(fields, &decls, object, path, anchor);
            }
            (FieldType::Values(inner), Shape::List(list)) if !matches!(*list.content, Shape::Object(_)) => {
                let inner_written = match written {
                    Some(TypeExpr::Values { inner, .. }) => Some(&**inner),
                    _ => None,
                };
                self.compare(
                    field,
                    inner,
                    inner_written,
                    anchor,
                    &list.content,
                    &format!("{path}[i]"),
                );
            }
            _ => self.nesting(span, path, ty, &name, shape),
        }
    }

    /// The fields of a nested structure against Moodle's object.
    fn nested(
        &mut self,
        fields: &[Field],
        decls: &[&ast::FieldDecl],
        object: &ObjectShape,
        prefix: &str,
        anchor: Span,
    ) {
        let inner: Vec<&Field> = fields.iter().collect();
        let was = self.inherits;
        // A redeclared structure is checked whole.
        self.inherits = false;
        self.fields(&inner, decls, object, prefix, anchor, &[]);
        self.inherits = was;
    }

    fn nesting(&mut self, span: Span, path: &str, ty: &FieldType, function: &str, shape: &Shape) {
        let here = match ty {
            FieldType::List(_) => "a list of records",
            FieldType::Object(_) => "a single structure",
            FieldType::Values(_) => "a list of plain values",
            FieldType::Scalar(_) | FieldType::Enum(_) => "a single value",
        };
        let help = match shape {
            Shape::Value(v) => format!(
                "declare it as a value, e.g. `{}`",
                scalar_for_param(&v.ty).0.name()
            ),
            Shape::List(l) => match &*l.content {
                Shape::Object(_) => "declare it `list { field ... }` with the record's fields".to_owned(),
                Shape::Value(v) => format!(
                    "declare it `list {}`: a list of plain values",
                    scalar_for_param(&v.ty).0.name()
                ),
                Shape::List(_) => "moodlec cannot send a list of lists".to_owned(),
            },
            Shape::Object(_) => "declare it `object { field ... }` with the structure's fields".to_owned(),
        };
        self.diags.push(
            self.diags
                .error(
                    Code::WrongNesting,
                    span,
                    format!("`{path}` is {} in {function}, and {here} here", shape.describe()),
                )
                .label(format!("{here}, not {}", shape.describe()))
                .help(help),
        );
    }

    /// A scalar or enum field against Moodle's PARAM type.
    fn scalar(&mut self, field: &Field, decl: Option<&ast::FieldDecl>, param: &str, path: &str) {
        let span = decl.map_or(field.span, |d| d.ty.span());
        let ty = field.ty.clone();
        self.scalar_type(field, &ty, span, param, path);
    }

    /// A scalar or enum type (of `field`, or of its list's elements) against Moodle's PARAM type.
    fn scalar_type(&mut self, field: &Field, ty: &FieldType, span: Span, param: &str, path: &str) {
        let name = self.function.name.clone();
        let upper = param.to_uppercase();
        let better = scalar_for_param(param).0.name();
        match ty {
            FieldType::Scalar(ty) if !compatible(*ty, param, &field.constraints) => {
                self.diags.push(
                    self.diags
                        .error(
                            Code::MoodleTypeMismatch,
                            span,
                            format!(
                                "`{path}` is `{}` here, and {name} checks it as PARAM_{upper}",
                                ty.name()
                            ),
                        )
                        .label(format!(
                            "`{}` lets through values PARAM_{upper} refuses",
                            ty.name()
                        ))
                        .help(format!(
                            "declare it `{better}` (or a type narrower than PARAM_{upper})"
                        )),
                );
            }
            FieldType::Enum(values) => {
                if let Some(bad) = values.iter().find(|v| !param_accepts(param, v)) {
                    self.diags.push(
                        self.diags
                            .error(
                                Code::MoodleTypeMismatch,
                                span,
                                format!("`{path}` allows {bad:?}, which {name} refuses as PARAM_{upper}"),
                            )
                            .label(format!("not a PARAM_{upper} value"))
                            .help(format!(
                                "keep only values PARAM_{upper} takes unchanged, or declare it `{better}`"
                            )),
                    );
                }
            }
            _ => {}
        }
    }
}

/// Names for a help line: all of them, or the first 12 and a count.
fn list_names(names: &[&str]) -> String {
    if names.is_empty() {
        return "no parameters".to_owned();
    }
    if names.len() <= 12 {
        return names.join(", ");
    }
    format!("{}, ... ({} in all)", names[..12].join(", "), names.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin;

    #[test]
    fn every_builtin_matches_the_catalogue() {
        // Under other names: sources named `builtin:` are not compared at run time.
        let sources: Vec<crate::diagnostic::Source> = builtin::sources()
            .into_iter()
            .map(|s| crate::diagnostic::Source::new(s.name.replacen("builtin:", "checked:", 1), s.text))
            .collect();
        let compiled = crate::check::compile(&sources, &crate::check::Catalog::default());
        for template in builtin::catalog().iter() {
            assert!(
                compiled.catalog.get(&template.name).is_some(),
                "{} refused",
                template.name
            );
        }
        let problems: Vec<String> = compiled
            .diagnostics
            .iter()
            .map(|d| format!("{:?} {}: {}", d.source_name(), d.code.as_str(), d.message))
            .collect();
        assert!(problems.is_empty(), "{problems:#?}");
        for template in builtin::catalog().iter() {
            if matches!(template.kind, Kind::Steps(_)) {
                continue;
            }
            assert!(
                catalogue::function(&template.function).is_some(),
                "{} calls {}, which is not catalogued",
                template.name,
                template.function
            );
        }
    }

    #[test]
    fn compatibility_follows_clean_param() {
        let none = Constraints::default();
        assert!(compatible(ScalarType::Username, "raw", &none));
        assert!(compatible(ScalarType::Email, "raw_trimmed", &none));
        assert!(!compatible(ScalarType::Text, "username", &none));
        assert!(!compatible(ScalarType::Raw, "int", &none));
        assert!(compatible(ScalarType::Timestamp, "int", &none));
        assert!(!compatible(ScalarType::Int, "bool", &none));
        let zero_one = Constraints {
            one_of: vec![Value::Int(0), Value::Int(1)],
            ..Constraints::default()
        };
        assert!(compatible(ScalarType::Int, "bool", &zero_one));
        assert!(compatible(ScalarType::Raw, "url", &none));
        assert!(compatible(ScalarType::AlphaNumExt, "component", &none));
    }
}
