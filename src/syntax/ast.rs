//! The spanned, unchecked syntax tree of a template file.
//!
//! Nodes mirror the grammar one to one and carry byte spans for diagnostics.
//! Nothing here is validated beyond syntax: names may be unknown, numbers out
//! of range, expressions malformed. `check` turns this into a `Template`.

use serde::Serialize;

use crate::span::Span;

/// A parsed template file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct File {
    /// Templates in source order.
    pub templates: Vec<TemplateDecl>,
}

/// A name with its position.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ident {
    /// The name as written.
    pub name: String,
    /// Where it was written.
    pub span: Span,
}

/// A string literal, unescaped, with the span of the quoted text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Str {
    /// The value after unescaping.
    pub value: String,
    /// Span of the literal including its quotes.
    pub span: Span,
}

/// A constant value as written in the template.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Literal {
    /// What kind of constant.
    pub value: LiteralValue,
    /// Where it was written.
    pub span: Span,
}

/// The kinds of constants.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum LiteralValue {
    /// `"text"`
    Str(String),
    /// `42`, `-1`, `2.5`, kept as written so no precision is lost before checking.
    Number(String),
    /// `true` / `false`
    Bool(bool),
    /// A bare word such as `student`.
    Word(String),
}

/// `template NAME [extends BASE] ["doc"] { ... }`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TemplateDecl {
    /// The template's name.
    pub name: Ident,
    /// The template it builds on.
    pub base: Option<Ident>,
    /// One-line description.
    pub doc: Option<Str>,
    /// Statements in source order.
    pub items: Vec<Item>,
    /// The whole template.
    pub span: Span,
}

/// One statement inside a template body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Item {
    /// `function NAME`
    Function(Ident),
    /// `wrap NAME`
    Wrap(Ident),
    /// `param ...`
    Param(ParamDecl),
    /// `field ...`
    Field(FieldDecl),
    /// `rule "expr" "message"`
    Rule(RuleDecl),
    /// `unique a, b [ignore_case]`
    Unique(UniqueDecl),
    /// `policy password ...`
    Policy(PolicyDecl),
    /// `batch ...`
    Batch(BatchDecl),
    /// `returns ...`
    Returns(ReturnsDecl),
    /// `map FIELD = "template"`
    Map(MapDecl),
    /// `set FIELD = literal`
    Set(SetDecl),
    /// `exclude a, b`
    Exclude(ExcludeDecl),
    /// `exists FUNCTION FIELD`
    Exists(ExistsDecl),
    /// `idempotent`
    Idempotent(Span),
    /// `options LIST(KEY, VALUE) { field ... }`
    Options(OptionsDecl),
    /// `emits list | object | PATH`
    Emits(EmitsDecl),
    /// `annotate a, b`
    Annotate(NameList),
    /// `keep "EXPR"`
    Keep(KeepDecl),
    /// `join TEMPLATE on LOCAL = REMOTE ...`
    Join(JoinDecl),
    /// `select a, b`
    Select(NameList),
    /// `lookup FIELD = KIND by KEY from "EXPR"`
    Lookup(LookupDecl),
    /// `sync OBJECT [by KEY]`
    Sync(SyncDecl),
    /// `update a, b` or `update none`
    Update(UpdateDecl),
    /// `create none`
    CreateNone(Span),
    /// `scope ...`
    Scope(ScopeDecl),
    /// `missing POLICY`
    Missing(MissingDecl),
    /// `steps a, b`
    Steps(NameList),
}

impl Item {
    /// The span of the whole statement.
    pub fn span(&self) -> Span {
        match self {
            Item::Function(ident) | Item::Wrap(ident) => ident.span,
            Item::Param(decl) => decl.span,
            Item::Field(decl) => decl.span,
            Item::Rule(decl) => decl.span,
            Item::Unique(decl) => decl.span,
            Item::Policy(decl) => decl.span,
            Item::Batch(decl) => decl.span,
            Item::Returns(decl) => decl.span,
            Item::Map(decl) => decl.span,
            Item::Set(decl) => decl.span,
            Item::Exclude(decl) => decl.span,
            Item::Exists(decl) => decl.span,
            Item::Idempotent(span) => *span,
            Item::Options(decl) => decl.span,
            Item::Emits(decl) => decl.span,
            Item::Annotate(list) | Item::Select(list) | Item::Steps(list) => list.span,
            Item::Keep(decl) => decl.span,
            Item::Join(decl) => decl.span,
            Item::Lookup(decl) => decl.span,
            Item::Sync(decl) => decl.span,
            Item::Update(decl) => decl.span,
            Item::CreateNone(span) => *span,
            Item::Scope(decl) => decl.span,
            Item::Missing(decl) => decl.span,
        }
    }
}

/// `param NAME: TYPE [= VALUE] ["doc"]`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParamDecl {
    /// The param's name.
    pub name: Ident,
    /// Its type name.
    pub ty: Ident,
    /// Its default value.
    pub default: Option<Literal>,
    /// Description.
    pub doc: Option<Str>,
    /// The whole statement.
    pub span: Span,
}

/// `field NAME: TYPE options... ["doc"]`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldDecl {
    /// The Moodle parameter name.
    pub name: Ident,
    /// Its type.
    pub ty: TypeExpr,
    /// `required`, `default`, constraints, in source order.
    pub options: Vec<FieldOption>,
    /// Description.
    pub doc: Option<Str>,
    /// The whole statement.
    pub span: Span,
}

/// A field's type as written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum TypeExpr {
    /// A scalar type name such as `int`.
    Named(Ident),
    /// `enum("a", "b")`
    Enum {
        /// The allowed values.
        values: Vec<Str>,
        /// The whole type expression.
        span: Span,
    },
    /// `list { field ... }`
    List {
        /// Fields of each element.
        fields: Vec<FieldDecl>,
        /// The whole type expression.
        span: Span,
    },
    /// `object { field ... }`
    Object {
        /// Fields of the structure.
        fields: Vec<FieldDecl>,
        /// The whole type expression.
        span: Span,
    },
    /// `list TYPE`: a list of values of the inner type.
    Values {
        /// The elements' type.
        inner: Box<TypeExpr>,
        /// The whole type expression.
        span: Span,
    },
}

impl TypeExpr {
    /// The span of the type expression.
    pub fn span(&self) -> Span {
        match self {
            TypeExpr::Named(ident) => ident.span,
            TypeExpr::Enum { span, .. }
            | TypeExpr::List { span, .. }
            | TypeExpr::Object { span, .. }
            | TypeExpr::Values { span, .. } => *span,
        }
    }
}

/// One option after a field's type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum FieldOption {
    /// `required`
    Required(Span),
    /// `default VALUE`
    Default(DefaultValue),
    /// `min N`
    Min(Literal),
    /// `max N`
    Max(Literal),
    /// `length A..B`
    Length(LengthRange),
    /// `pattern "regex"`
    Pattern(Str),
    /// `per_call`
    PerCall(Span),
    /// `one_of [a, b]`
    OneOf {
        /// The allowed values.
        values: Vec<Literal>,
        /// The whole option.
        span: Span,
    },
    /// `warn OPTION`: a constraint Moodle does not enforce; breaking it is a warning.
    Warn(Box<FieldOption>),
}

impl FieldOption {
    /// The span of the option.
    pub fn span(&self) -> Span {
        match self {
            FieldOption::Required(span) | FieldOption::PerCall(span) | FieldOption::OneOf { span, .. } => {
                *span
            }
            FieldOption::Default(DefaultValue::Literal(lit))
            | FieldOption::Min(lit)
            | FieldOption::Max(lit) => lit.span,
            FieldOption::Default(DefaultValue::Param(ident)) => ident.span,
            FieldOption::Length(range) => range.span,
            FieldOption::Pattern(s) => s.span,
            FieldOption::Warn(inner) => inner.span(),
        }
    }
}

/// The value after `default`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum DefaultValue {
    /// A constant.
    Literal(Literal),
    /// `param.NAME`; the ident spans the whole reference.
    Param(Ident),
}

/// `A..B` with either bound optional. Bounds are kept as written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LengthRange {
    /// Lower bound.
    pub min: Option<String>,
    /// Upper bound.
    pub max: Option<String>,
    /// The range as written.
    pub span: Span,
}

/// `rule "EXPR" "MESSAGE"`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleDecl {
    /// `warn rule`: a record breaking it gets a warning, not an error.
    pub warn: bool,
    /// The minijinja expression.
    pub expr: Str,
    /// The message when the expression is false.
    pub message: Str,
    /// The whole statement.
    pub span: Span,
}

/// `unique a, b [ignore_case]`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UniqueDecl {
    /// The fields whose combined value must be unique.
    pub fields: Vec<Ident>,
    /// Compare case-insensitively.
    pub ignore_case: bool,
    /// The whole statement.
    pub span: Span,
}

/// `policy password [off | { setting N ... }]`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyDecl {
    /// `off` was written.
    pub off: bool,
    /// `when "EXPR"`: records the policy applies to.
    pub when: Option<Str>,
    /// Overrides of Moodle's defaults.
    pub settings: Vec<PolicySetting>,
    /// The whole statement.
    pub span: Span,
}

/// `min_length 8` inside a policy block.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicySetting {
    /// Setting name.
    pub name: Ident,
    /// Its value, as written.
    pub value: String,
    /// The whole setting.
    pub span: Span,
}

/// `batch size N group_by F max_input_vars N`, any subset, any order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchDecl {
    /// The settings in source order.
    pub settings: Vec<BatchSetting>,
    /// The whole statement.
    pub span: Span,
}

/// One batch setting.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum BatchSetting {
    /// `size N`: records per call.
    Size(Number),
    /// `group_by FIELD`
    GroupBy(Ident),
    /// `max_input_vars N`: the PHP limit on form fields per request.
    MaxInputVars(Number),
    /// `collect FIELD into LIST`: records' FIELD values go into `LIST[i]`.
    Collect {
        /// The record field collected.
        field: Ident,
        /// The list parameter that carries the values.
        into: Ident,
    },
}

/// An unsigned integer as written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Number {
    /// The digits.
    pub digits: String,
    /// Where they were written.
    pub span: Span,
}

/// `returns nothing | list { ... } | object { ... }`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReturnsDecl {
    /// The response shape.
    pub shape: ReturnShape,
    /// The whole statement.
    pub span: Span,
}

/// What a Moodle function answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ReturnShape {
    /// `null`
    Nothing,
    /// A list with one item per record, in input order.
    List(Vec<FieldDecl>),
    /// A single structure.
    Object(Vec<FieldDecl>),
    /// `value TYPE [ok VALUE]`: a single value; with `ok`, the one that means applied.
    Value {
        /// Its type.
        ty: Ident,
        /// The answer that means the call was applied.
        ok: Option<Literal>,
    },
}

/// `map FIELD = "template"`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MapDecl {
    /// The Moodle field computed.
    pub field: Ident,
    /// The minijinja template over the source record.
    pub template: Str,
    /// The whole statement.
    pub span: Span,
}

/// `set FIELD = VALUE`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SetDecl {
    /// The Moodle field set.
    pub field: Ident,
    /// Its value for every record.
    pub value: Literal,
    /// The whole statement.
    pub span: Span,
}

/// `exclude a, b`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExcludeDecl {
    /// Source keys dropped before validation.
    pub keys: Vec<Ident>,
    /// The whole statement.
    pub span: Span,
}

/// `exists FUNCTION FIELD`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExistsDecl {
    /// The Moodle read function that finds an applied record.
    pub function: Ident,
    /// The record field it looks up by.
    pub field: Ident,
    /// The whole statement.
    pub span: Span,
}

/// `options LIST(KEY, VALUE) { field ... }`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OptionsDecl {
    /// The list parameter, e.g. `options` or `criteria`.
    pub list: Ident,
    /// The name of the key member, e.g. `name`.
    pub key: Ident,
    /// The name of the value member, e.g. `value`.
    pub value: Ident,
    /// The options, each an input field.
    pub fields: Vec<FieldDecl>,
    /// The whole statement.
    pub span: Span,
}

/// `emits list | object | PATH`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmitsDecl {
    /// Where the output records are in the response.
    pub target: EmitTarget,
    /// The whole statement.
    pub span: Span,
}

/// Where a read template's output records are in the response.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum EmitTarget {
    /// The response is a list; each element is a record.
    List,
    /// The response is an object; it is the one record.
    Object,
    /// List fields to descend, outermost first.
    Path(Vec<Ident>),
}

/// A comma-separated list of names (`annotate`, `select`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NameList {
    /// The names in order.
    pub names: Vec<Ident>,
    /// The whole statement.
    pub span: Span,
}

/// `keep "EXPR"`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeepDecl {
    /// The minijinja expression over an output record.
    pub expr: Str,
    /// The whole statement.
    pub span: Span,
}

/// `join TEMPLATE on LOCAL = REMOTE [with NAME = VALUE]... [take a, b]`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JoinDecl {
    /// The read template joined.
    pub template: Ident,
    /// This record's key field.
    pub local: Ident,
    /// The joined records' key field.
    pub remote: Ident,
    /// Inputs of the joined template.
    pub with: Vec<JoinInput>,
    /// The joined fields to add (all when empty).
    pub take: Vec<Ident>,
    /// The whole statement.
    pub span: Span,
}

/// `with NAME = VALUE` in a join.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JoinInput {
    /// The joined template's input.
    pub name: Ident,
    /// A constant, or (a bare word) a field of this record.
    pub value: Literal,
}

/// `lookup FIELD = KIND by KEY from "EXPR"`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LookupDecl {
    /// The field that receives the Moodle id.
    pub field: Ident,
    /// What is looked up: `user` or `course`.
    pub kind: Ident,
    /// The Moodle field matched, e.g. `email`.
    pub key: Ident,
    /// The minijinja template over the source record giving the key value.
    pub from: Str,
    /// The whole statement.
    pub span: Span,
}

/// `sync OBJECT [by KEY]`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncDecl {
    /// `users`, `courses` or `enrolments`.
    pub object: Ident,
    /// The field rows and Moodle records are matched by.
    pub key: Option<Ident>,
    /// The whole statement.
    pub span: Span,
}

/// `update a, b` or `update none`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UpdateDecl {
    /// The managed fields; empty for `update none`.
    pub fields: Vec<Ident>,
    /// The whole statement.
    pub span: Span,
}

/// `scope ...`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScopeDecl {
    /// The criterion.
    pub rule: ScopeExpr,
    /// The whole statement.
    pub span: Span,
}

/// The criterion of a `scope` statement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ScopeExpr {
    /// `FIELD = VALUE`
    Equals {
        /// The Moodle field.
        field: Ident,
        /// The value it equals.
        value: Literal,
    },
    /// `FIELD like "pattern"`
    Like {
        /// The Moodle field.
        field: Ident,
        /// The SQL LIKE pattern.
        pattern: Str,
    },
    /// `courses "A", "B"`
    Courses(Vec<Str>),
}

/// `missing POLICY`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MissingDecl {
    /// `keep`, `suspend`, `delete` or `unenrol`.
    pub policy: Ident,
    /// The whole statement.
    pub span: Span,
}
