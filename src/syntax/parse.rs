//! Pest pairs to the syntax tree: one `parse_<rule>` function per grammar rule.
//!
//! The grammar guarantees the shape of every pair, so these functions walk
//! children in the order the rule lists them. `expect` on a child is an
//! internal invariant (the grammar and this file disagree), never user input:
//! the only fallible step, `MoodlecParser::parse`, runs before.

use pest::iterators::Pair;

use super::ast::{
    BatchDecl, BatchSetting, DefaultValue, EmitTarget, EmitsDecl, ExcludeDecl, ExistsDecl, FieldDecl,
    FieldOption, File, Ident, Item, JoinDecl, JoinInput, KeepDecl, LengthRange, Literal, LiteralValue,
    LookupDecl, MapDecl, MissingDecl, NameList, Number, OptionsDecl, ParamDecl, PolicyDecl, PolicySetting,
    ReturnShape, ReturnsDecl, RuleDecl, ScopeDecl, ScopeExpr, SetDecl, Str, SyncDecl, TemplateDecl, TypeExpr,
    UniqueDecl, UpdateDecl,
};
use super::Rule;
use crate::span::Span;

/// `file = { SOI ~ template* ~ EOI }`
pub(super) fn parse_file(pair: Pair<'_, Rule>) -> File {
    debug_assert_eq!(pair.as_rule(), Rule::file);
    let templates = children(pair)
        .filter(|p| p.as_rule() == Rule::template)
        .map(parse_template)
        .collect();
    File { templates }
}

/// `template = { kw_template ~ ident ~ extends? ~ string? ~ "{" ~ statement* ~ "}" }`
fn parse_template(pair: Pair<'_, Rule>) -> TemplateDecl {
    let span = span_of(&pair);
    let mut inner = children(pair).peekable();
    let name = parse_ident(inner.next().expect("template name"));
    let base = inner
        .next_if(|p| p.as_rule() == Rule::extends)
        .map(|p| parse_ident(first_child(p)));
    let doc = inner.next_if(|p| p.as_rule() == Rule::string).map(parse_string);
    let items = inner.map(parse_statement).collect();
    TemplateDecl {
        name,
        base,
        doc,
        items,
        span,
    }
}

/// `statement = _{ function | wrap | param | ... }`
fn parse_statement(pair: Pair<'_, Rule>) -> Item {
    match pair.as_rule() {
        Rule::function => Item::Function(parse_ident(first_child(pair))),
        Rule::wrap => Item::Wrap(parse_ident(first_child(pair))),
        Rule::param => Item::Param(parse_param(pair)),
        Rule::field => Item::Field(parse_field(pair)),
        Rule::record_rule => Item::Rule(parse_rule(pair)),
        Rule::warn_rule => Item::Rule(RuleDecl {
            warn: true,
            span: span_of(&pair),
            ..parse_rule(
                pair.into_inner()
                    .find(|child| child.as_rule() == Rule::record_rule)
                    .expect("grammar gives `warn` a rule"),
            )
        }),
        Rule::unique => Item::Unique(parse_unique(pair)),
        Rule::policy => Item::Policy(parse_policy(pair)),
        Rule::batch => Item::Batch(parse_batch(pair)),
        Rule::returns => Item::Returns(parse_returns(pair)),
        Rule::map => Item::Map(parse_map(pair)),
        Rule::set => Item::Set(parse_set(pair)),
        Rule::exclude => Item::Exclude(parse_exclude(pair)),
        Rule::exists => Item::Exists(parse_exists(pair)),
        Rule::idempotent => Item::Idempotent(span_of(&pair)),
        Rule::options => Item::Options(parse_options(pair)),
        Rule::emits => Item::Emits(parse_emits(pair)),
        Rule::annotate => Item::Annotate(parse_name_list(pair)),
        Rule::keep => Item::Keep(KeepDecl {
            span: span_of(&pair),
            expr: parse_string(first_child(pair)),
        }),
        Rule::join => Item::Join(parse_join(pair)),
        Rule::select => Item::Select(parse_name_list(pair)),
        Rule::lookup => Item::Lookup(parse_lookup(pair)),
        Rule::sync => Item::Sync(parse_sync(pair)),
        Rule::update => Item::Update(UpdateDecl {
            span: span_of(&pair),
            fields: children(pair)
                .filter(|p| p.as_rule() == Rule::ident)
                .map(parse_ident)
                .collect(),
        }),
        Rule::create => Item::CreateNone(span_of(&pair)),
        Rule::scope => Item::Scope(parse_scope(pair)),
        Rule::missing => Item::Missing(MissingDecl {
            span: span_of(&pair),
            policy: parse_ident(first_child(pair)),
        }),
        Rule::steps => Item::Steps(parse_name_list(pair)),
        other => unreachable!("grammar yields no statement {other:?}"),
    }
}

/// `param = { kw_param ~ ident ~ ":" ~ type_name ~ ("=" ~ literal)? ~ string? }`
fn parse_param(pair: Pair<'_, Rule>) -> ParamDecl {
    let span = span_of(&pair);
    let mut inner = children(pair).peekable();
    let name = parse_ident(inner.next().expect("param name"));
    let ty = parse_ident(first_child(inner.next().expect("param type")));
    let default = inner.next_if(|p| p.as_rule() == Rule::literal).map(parse_literal);
    let doc = inner.next().map(parse_string);
    ParamDecl {
        name,
        ty,
        default,
        doc,
        span,
    }
}

/// `field = { kw_field ~ ident ~ ":" ~ field_type ~ field_option* ~ string? }`
fn parse_field(pair: Pair<'_, Rule>) -> FieldDecl {
    debug_assert_eq!(pair.as_rule(), Rule::field);
    let span = span_of(&pair);
    let mut inner = children(pair);
    let name = parse_ident(inner.next().expect("field name"));
    let ty = parse_field_type(inner.next().expect("field type"));
    let mut options = Vec::new();
    let mut doc = None;
    for option in inner {
        match option.as_rule() {
            Rule::string => doc = Some(parse_string(option)),
            _ => options.push(parse_field_option(option)),
        }
    }
    FieldDecl {
        name,
        ty,
        options,
        doc,
        span,
    }
}

/// `field_type = { list_type | object_type | enum_type | type_name }`
fn parse_field_type(pair: Pair<'_, Rule>) -> TypeExpr {
    let inner = first_child(pair);
    let span = span_of(&inner);
    match inner.as_rule() {
        Rule::list_type => {
            let mut parts = children(inner).peekable();
            match parts.peek().map(Pair::as_rule) {
                // `list object { ... }` is `list { ... }`: one tree for one meaning.
                Some(Rule::field_type) => match parse_field_type(parts.next().expect("peeked")) {
                    TypeExpr::Object { fields, .. } => TypeExpr::List { fields, span },
                    inner => TypeExpr::Values {
                        inner: Box::new(inner),
                        span,
                    },
                },
                _ => TypeExpr::List {
                    fields: parse_fields(parts),
                    span,
                },
            }
        }
        Rule::object_type => TypeExpr::Object {
            fields: parse_fields(children(inner)),
            span,
        },
        Rule::enum_type => TypeExpr::Enum {
            values: children(inner).map(parse_string).collect(),
            span,
        },
        Rule::type_name => TypeExpr::Named(parse_ident(first_child(inner))),
        other => unreachable!("grammar yields no field type {other:?}"),
    }
}

fn parse_fields<'i>(pairs: impl Iterator<Item = Pair<'i, Rule>>) -> Vec<FieldDecl> {
    pairs.map(parse_field).collect()
}

/// `field_option = _{ required | default | min | max | length | pattern | one_of }`
fn parse_field_option(pair: Pair<'_, Rule>) -> FieldOption {
    let span = span_of(&pair);
    match pair.as_rule() {
        Rule::required => FieldOption::Required(span),
        Rule::per_call => FieldOption::PerCall(span),
        Rule::default => FieldOption::Default(parse_default(first_child(pair))),
        Rule::min => FieldOption::Min(parse_number_literal(first_child(pair))),
        Rule::max => FieldOption::Max(parse_number_literal(first_child(pair))),
        Rule::length => FieldOption::Length(parse_length_range(first_child(pair))),
        Rule::pattern => FieldOption::Pattern(parse_string(first_child(pair))),
        Rule::one_of => FieldOption::OneOf {
            values: children(pair).map(parse_literal).collect(),
            span,
        },
        Rule::warn_option => {
            let inner = pair
                .into_inner()
                .find(|child| child.as_rule() != Rule::kw_warn)
                .expect("grammar gives `warn` an option");
            FieldOption::Warn(Box::new(parse_field_option(inner)))
        }
        other => unreachable!("grammar yields no field option {other:?}"),
    }
}

/// `default = { kw_default ~ (param_ref | literal) }`
fn parse_default(pair: Pair<'_, Rule>) -> DefaultValue {
    match pair.as_rule() {
        Rule::param_ref => {
            let span = span_of(&pair);
            let name = first_child(pair).as_str().to_owned();
            DefaultValue::Param(Ident { name, span })
        }
        _ => DefaultValue::Literal(parse_literal(pair)),
    }
}

/// `length_range = ${ integer? ~ ".." ~ integer? }`
fn parse_length_range(pair: Pair<'_, Rule>) -> LengthRange {
    let span = span_of(&pair);
    let text = pair.as_str();
    let (min, max) = text.split_once("..").expect("grammar puts '..' in a range");
    let bound = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    LengthRange {
        min: bound(min),
        max: bound(max),
        span,
    }
}

/// `record_rule = { kw_warn? ~ kw_rule ~ string ~ string }`
fn parse_rule(pair: Pair<'_, Rule>) -> RuleDecl {
    let span = span_of(&pair);
    let warn = pair
        .clone()
        .into_inner()
        .any(|child| child.as_rule() == Rule::kw_warn);
    let mut inner = children(pair).filter(|child| child.as_rule() != Rule::kw_warn);
    let expr = parse_string(inner.next().expect("rule expression"));
    let message = parse_string(inner.next().expect("rule message"));
    RuleDecl {
        warn,
        expr,
        message,
        span,
    }
}

/// `unique = { kw_unique ~ ident ~ ("," ~ ident)* ~ ignore_case? }`
fn parse_unique(pair: Pair<'_, Rule>) -> UniqueDecl {
    let span = span_of(&pair);
    let mut fields = Vec::new();
    let mut ignore_case = false;
    for part in children(pair) {
        match part.as_rule() {
            Rule::ignore_case => ignore_case = true,
            _ => fields.push(parse_ident(part)),
        }
    }
    UniqueDecl {
        fields,
        ignore_case,
        span,
    }
}

/// `policy = { kw_policy ~ kw_password ~ (policy_off | policy_block)? }`
fn parse_policy(pair: Pair<'_, Rule>) -> PolicyDecl {
    let span = span_of(&pair);
    let mut off = false;
    let mut when = None;
    let mut settings = Vec::new();
    for part in children(pair) {
        match part.as_rule() {
            Rule::policy_off => off = true,
            Rule::policy_when => when = Some(parse_string(first_child(part))),
            _ => settings = children(part).map(parse_policy_setting).collect(),
        }
    }
    PolicyDecl {
        off,
        when,
        settings,
        span,
    }
}

/// `policy_setting = { ident ~ integer }`
fn parse_policy_setting(pair: Pair<'_, Rule>) -> PolicySetting {
    let span = span_of(&pair);
    let mut inner = children(pair);
    let name = parse_ident(inner.next().expect("policy setting name"));
    let value = inner.next().expect("policy setting value").as_str().to_owned();
    PolicySetting { name, value, span }
}

/// `batch = { kw_batch ~ batch_setting+ }`
fn parse_batch(pair: Pair<'_, Rule>) -> BatchDecl {
    let span = span_of(&pair);
    let settings = children(pair)
        .map(|setting| match setting.as_rule() {
            Rule::batch_size => BatchSetting::Size(parse_number(first_child(setting))),
            Rule::group_by => BatchSetting::GroupBy(parse_ident(first_child(setting))),
            Rule::max_input_vars => BatchSetting::MaxInputVars(parse_number(first_child(setting))),
            Rule::collect => {
                let mut inner = children(setting);
                let field = parse_ident(inner.next().expect("collected field"));
                let into = parse_ident(inner.next().expect("collect list"));
                BatchSetting::Collect { field, into }
            }
            other => unreachable!("grammar yields no batch setting {other:?}"),
        })
        .collect();
    BatchDecl { settings, span }
}

/// `returns = { kw_returns ~ (returns_nothing | returns_list | returns_object) }`
fn parse_returns(pair: Pair<'_, Rule>) -> ReturnsDecl {
    let span = span_of(&pair);
    let shape = first_child(pair);
    let shape = match shape.as_rule() {
        Rule::returns_nothing => ReturnShape::Nothing,
        Rule::returns_list => ReturnShape::List(parse_fields(children(shape))),
        Rule::returns_object => ReturnShape::Object(parse_fields(children(shape))),
        Rule::returns_value => {
            let mut inner = children(shape);
            let ty = parse_ident(first_child(inner.next().expect("returns value type")));
            let ok = inner.next().map(|ok| parse_literal(first_child(ok)));
            ReturnShape::Value { ty, ok }
        }
        other => unreachable!("grammar yields no return shape {other:?}"),
    };
    ReturnsDecl { shape, span }
}

/// `map = { kw_map ~ ident ~ "=" ~ string }`
fn parse_map(pair: Pair<'_, Rule>) -> MapDecl {
    let span = span_of(&pair);
    let mut inner = children(pair);
    let field = parse_ident(inner.next().expect("map field"));
    let template = parse_string(inner.next().expect("map template"));
    MapDecl {
        field,
        template,
        span,
    }
}

/// `set = { kw_set ~ ident ~ "=" ~ literal }`
fn parse_set(pair: Pair<'_, Rule>) -> SetDecl {
    let span = span_of(&pair);
    let mut inner = children(pair);
    let field = parse_ident(inner.next().expect("set field"));
    let value = parse_literal(inner.next().expect("set value"));
    SetDecl { field, value, span }
}

/// `exclude = { kw_exclude ~ ident ~ ("," ~ ident)* }`
fn parse_exclude(pair: Pair<'_, Rule>) -> ExcludeDecl {
    let span = span_of(&pair);
    // A string names a column that is no identifier (`"Cost centre"`).
    let keys = children(pair)
        .map(|key| match key.as_rule() {
            Rule::string => {
                let key = parse_string(key);
                Ident {
                    name: key.value,
                    span: key.span,
                }
            }
            _ => parse_ident(key),
        })
        .collect();
    ExcludeDecl { keys, span }
}

/// `exists = { kw_exists ~ ident ~ ident }`
fn parse_exists(pair: Pair<'_, Rule>) -> ExistsDecl {
    let span = span_of(&pair);
    let mut inner = children(pair);
    let function = parse_ident(inner.next().expect("exists function"));
    let field = parse_ident(inner.next().expect("exists field"));
    ExistsDecl {
        function,
        field,
        span,
    }
}

/// `options = { kw_options ~ ident ~ "(" ~ ident ~ "," ~ ident ~ ")" ~ "{" ~ field* ~ "}" }`
fn parse_options(pair: Pair<'_, Rule>) -> OptionsDecl {
    let span = span_of(&pair);
    let mut inner = children(pair);
    let list = parse_ident(inner.next().expect("options list"));
    let key = parse_ident(inner.next().expect("options key"));
    let value = parse_ident(inner.next().expect("options value"));
    let fields = parse_fields(inner);
    OptionsDecl {
        list,
        key,
        value,
        fields,
        span,
    }
}

/// `emits = { kw_emits ~ (emits_list | emits_object | path) }`
fn parse_emits(pair: Pair<'_, Rule>) -> EmitsDecl {
    let span = span_of(&pair);
    let target = first_child(pair);
    let target = match target.as_rule() {
        Rule::emits_list => EmitTarget::List,
        Rule::emits_object => EmitTarget::Object,
        Rule::path => EmitTarget::Path(target.into_inner().map(parse_ident).collect()),
        other => unreachable!("grammar yields no emits target {other:?}"),
    };
    EmitsDecl { target, span }
}

/// `annotate` and `select`: a keyword and `ident ~ ("," ~ ident)*`.
fn parse_name_list(pair: Pair<'_, Rule>) -> NameList {
    let span = span_of(&pair);
    let names = children(pair).map(parse_ident).collect();
    NameList { names, span }
}

/// `join = { kw_join ~ ident ~ kw_on ~ ident ~ "=" ~ ident ~ join_with* ~ join_take? }`
fn parse_join(pair: Pair<'_, Rule>) -> JoinDecl {
    let span = span_of(&pair);
    let mut inner = children(pair);
    let template = parse_ident(inner.next().expect("joined template"));
    let local = parse_ident(inner.next().expect("join local key"));
    let remote = parse_ident(inner.next().expect("join remote key"));
    let mut with = Vec::new();
    let mut take = Vec::new();
    for part in inner {
        match part.as_rule() {
            Rule::join_with => {
                let mut kv = children(part);
                let name = parse_ident(kv.next().expect("join input name"));
                let value = parse_literal(kv.next().expect("join input value"));
                with.push(JoinInput { name, value });
            }
            Rule::join_take => take = children(part).map(parse_ident).collect(),
            other => unreachable!("grammar yields no join part {other:?}"),
        }
    }
    JoinDecl {
        template,
        local,
        remote,
        with,
        take,
        span,
    }
}

/// `lookup = { kw_lookup ~ ident ~ "=" ~ ident ~ kw_by ~ ident ~ kw_from ~ string }`
fn parse_lookup(pair: Pair<'_, Rule>) -> LookupDecl {
    let span = span_of(&pair);
    let mut inner = children(pair);
    let field = parse_ident(inner.next().expect("lookup field"));
    let kind = parse_ident(inner.next().expect("lookup kind"));
    let key = parse_ident(inner.next().expect("lookup key"));
    let from = parse_string(inner.next().expect("lookup expression"));
    LookupDecl {
        field,
        kind,
        key,
        from,
        span,
    }
}

/// `sync = { kw_sync ~ ident ~ (kw_by ~ ident)? }`
fn parse_sync(pair: Pair<'_, Rule>) -> SyncDecl {
    let span = span_of(&pair);
    let mut inner = children(pair);
    let object = parse_ident(inner.next().expect("sync object"));
    let key = inner.next().map(parse_ident);
    SyncDecl { object, key, span }
}

/// `scope = { kw_scope ~ (scope_courses | scope_like | scope_equals) }`
fn parse_scope(pair: Pair<'_, Rule>) -> ScopeDecl {
    let span = span_of(&pair);
    let rule = first_child(pair);
    let rule = match rule.as_rule() {
        Rule::scope_courses => ScopeExpr::Courses(children(rule).map(parse_string).collect()),
        Rule::scope_like => {
            let mut inner = children(rule);
            let field = parse_ident(inner.next().expect("scope field"));
            let pattern = parse_string(inner.next().expect("scope pattern"));
            ScopeExpr::Like { field, pattern }
        }
        Rule::scope_equals => {
            let mut inner = children(rule);
            let field = parse_ident(inner.next().expect("scope field"));
            let value = parse_literal(inner.next().expect("scope value"));
            ScopeExpr::Equals { field, value }
        }
        other => unreachable!("grammar yields no scope {other:?}"),
    };
    ScopeDecl { rule, span }
}

/// `literal = { string | number | boolean | word }`
fn parse_literal(pair: Pair<'_, Rule>) -> Literal {
    let inner = first_child(pair);
    let span = span_of(&inner);
    let value = match inner.as_rule() {
        Rule::string => LiteralValue::Str(parse_string(inner).value),
        Rule::number => LiteralValue::Number(inner.as_str().to_owned()),
        Rule::boolean => LiteralValue::Bool(inner.as_str() == "true"),
        Rule::word => LiteralValue::Word(inner.as_str().to_owned()),
        other => unreachable!("grammar yields no literal {other:?}"),
    };
    Literal { value, span }
}

/// A `number` pair as a literal (for `min` / `max`).
fn parse_number_literal(pair: Pair<'_, Rule>) -> Literal {
    Literal {
        value: LiteralValue::Number(pair.as_str().to_owned()),
        span: span_of(&pair),
    }
}

/// `integer = @{ ASCII_DIGIT+ }`
fn parse_number(pair: Pair<'_, Rule>) -> Number {
    Number {
        digits: pair.as_str().to_owned(),
        span: span_of(&pair),
    }
}

/// `string = ${ "\"" ~ string_inner ~ "\"" }`
fn parse_string(pair: Pair<'_, Rule>) -> Str {
    debug_assert_eq!(pair.as_rule(), Rule::string);
    let span = span_of(&pair);
    let raw = first_child(pair).as_str();
    Str {
        value: unescape(raw),
        span,
    }
}

/// `ident = @{ ident_start ~ ident_char* }`
fn parse_ident(pair: Pair<'_, Rule>) -> Ident {
    Ident {
        name: pair.as_str().to_owned(),
        span: span_of(&pair),
    }
}

/// The span of a pair without the whitespace and comments pest may have
/// consumed after its last token.
fn span_of(pair: &Pair<'_, Rule>) -> Span {
    let start = pair.as_span().start();
    Span::new(start, start + super::comments::content_end(pair.as_str()))
}

fn first_child(pair: Pair<'_, Rule>) -> Pair<'_, Rule> {
    children(pair).next().expect("grammar gives this rule a child")
}

/// The children of `pair` that carry meaning. Keywords are atomic rules (so
/// no whitespace can split `required` from its word boundary) and so appear
/// as pairs, but the rule containing them already says what they were.
fn children(pair: Pair<'_, Rule>) -> impl Iterator<Item = Pair<'_, Rule>> {
    pair.into_inner().filter(|child| !is_keyword(child.as_rule()))
}

fn is_keyword(kind: Rule) -> bool {
    matches!(
        kind,
        Rule::kw_template
            | Rule::kw_value
            | Rule::kw_ok
            | Rule::kw_extends
            | Rule::kw_function
            | Rule::kw_wrap
            | Rule::kw_param
            | Rule::kw_field
            | Rule::kw_list
            | Rule::kw_enum
            | Rule::kw_object
            | Rule::kw_required
            | Rule::kw_default
            | Rule::kw_min
            | Rule::kw_max
            | Rule::kw_length
            | Rule::kw_pattern
            | Rule::kw_one_of
            | Rule::kw_per_call
            | Rule::kw_rule
            | Rule::kw_unique
            | Rule::kw_ignore_case
            | Rule::kw_policy
            | Rule::kw_password
            | Rule::kw_off
            | Rule::kw_when
            | Rule::kw_batch
            | Rule::kw_size
            | Rule::kw_group_by
            | Rule::kw_max_input_vars
            | Rule::kw_returns
            | Rule::kw_nothing
            | Rule::kw_map
            | Rule::kw_set
            | Rule::kw_exclude
            | Rule::kw_exists
            | Rule::kw_idempotent
            | Rule::kw_collect
            | Rule::kw_into
            | Rule::kw_options
            | Rule::kw_emits
            | Rule::kw_annotate
            | Rule::kw_keep
            | Rule::kw_join
            | Rule::kw_on
            | Rule::kw_with
            | Rule::kw_take
            | Rule::kw_select
            | Rule::kw_lookup
            | Rule::kw_by
            | Rule::kw_from
            | Rule::kw_sync
            | Rule::kw_update
            | Rule::kw_none
            | Rule::kw_create
            | Rule::kw_scope
            | Rule::kw_courses
            | Rule::kw_like
            | Rule::kw_missing
            | Rule::kw_steps
    )
}

/// Undo the string escapes `\"`, `\\`, `\n`, `\t`, `\r`; any other backslash
/// is kept as written so regex patterns read naturally (`"\d+"`).
pub(crate) fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// The inverse of [`unescape`]: the shortest source text for `value`.
pub(crate) fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            // A backslash needs doubling only where it would otherwise start an
            // escape: before an escape letter, and before a character that is
            // itself written as an escape (`"`, `\`, newline, tab, CR).
            '\\' => match chars.peek() {
                None | Some('"' | '\\' | 'n' | 't' | 'r' | '\n' | '\t' | '\r') => out.push_str("\\\\"),
                Some(_) => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{escape, unescape};

    #[test]
    fn escapes_round_trip() {
        for value in [
            r"\d+",
            "a\"b",
            "tab\there",
            r"end\",
            r"\\n",
            "line\nbreak",
            r"\n",
            "\\\n",
            "\\\t",
            "\\\r",
        ] {
            assert_eq!(unescape(&escape(value)), value, "value {value:?}");
        }
    }

    #[test]
    fn unknown_escapes_keep_the_backslash() {
        assert_eq!(unescape(r"^\w+\.\d$"), r"^\w+\.\d$");
    }
}
