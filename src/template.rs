//! The checked template: what `check` produces and every later stage reads.
//!
//! Unlike the syntax tree, everything here is resolved: types are known,
//! defaults are typed values, expressions are compiled, `extends` is
//! flattened. A `Template` is immutable and cheap to share (`Arc`).

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use crate::diagnostic::Source;
use crate::span::Span;

/// A compiled template.
#[derive(Debug, Clone, Serialize)]
pub struct Template {
    /// Its name, used with `-t`.
    pub name: String,
    /// One-line description.
    pub doc: String,
    /// The Moodle web-service function (`wsfunction`).
    pub function: String,
    /// The list parameter carrying the records (`users` → `users[0][...]`);
    /// `None` when record fields are top-level parameters.
    pub wrap: Option<String>,
    /// Endpoint-level params.
    pub params: Vec<Param>,
    /// The Moodle fields of one record, in declaration order.
    pub fields: Vec<Field>,
    /// Cross-field checks.
    pub rules: Vec<Rule>,
    /// Uniqueness across the dataset.
    pub unique: Vec<Unique>,
    /// Password policy applied to `password` fields, if any.
    pub password_policy: Option<PasswordPolicy>,
    /// The records the password policy applies to (all when `None`).
    pub password_policy_when: Option<Rule>,
    /// How records are grouped into calls.
    pub batch: BatchRule,
    /// The response shape.
    pub returns: Returns,
    /// For templates that extend another: how source records become Moodle records.
    pub mapping: Option<Mapping>,
    /// The template this one extends.
    pub base: Option<String>,
    /// How the runner tells that a record was applied after an unclear outcome.
    pub applied: AppliedCheck,
    /// Write or read, and for a read template (`emits`) how a response
    /// becomes output records. (Shown as `read` in `explain --json`.)
    #[serde(rename = "read")]
    pub kind: Kind,
    /// Fields whose value is a Moodle id found from a key in the source record.
    pub lookups: Vec<Lookup>,
    /// For a write template that keeps Moodle equal to a roster (`sync users
    /// by username`): what it syncs and what happens to what the roster lacks.
    pub sync: Option<SyncSpec>,
    /// Where the template was declared.
    #[serde(skip)]
    pub origin: Origin,
}

/// Where a template came from, for diagnostics that point back at it.
#[derive(Debug, Clone)]
pub struct Origin {
    /// The source text.
    pub source: Source,
    /// The template declaration.
    pub span: Span,
}

impl Default for Origin {
    fn default() -> Self {
        Origin {
            source: Source::new("<none>", ""),
            span: Span::default(),
        }
    }
}

/// What a template does with Moodle.
#[derive(Debug, Clone, Default)]
pub enum Kind {
    /// Records in, one write call per batch (`run`, `render`).
    #[default]
    Write,
    /// Inputs in, output records out (`fetch`, joins).
    Read(Box<ReadSpec>),
    /// `steps staff_users, staff_enrolments`: no function of its own; `plan`
    /// and `sync` run these sync templates, in this order, on one source.
    Steps(Vec<String>),
}

// As `explain --json` has always shown it: `null` for a write template.
impl Serialize for Kind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Kind::Write | Kind::Steps(_) => serializer.serialize_none(),
            Kind::Read(spec) => serializer.serialize_some(spec),
        }
    }
}

/// A template known to be a write template: what `run` and `render` take.
#[derive(Debug, Clone)]
pub struct WriteTemplate(Arc<Template>);

/// A template known to be a read template: what `fetch` and joins take.
#[derive(Debug, Clone)]
pub struct ReadTemplate(Arc<Template>);

impl WriteTemplate {
    /// `template`, if it is a write template; else `template` back.
    ///
    /// # Errors
    /// The template is a read template.
    pub fn new(template: Arc<Template>) -> Result<WriteTemplate, Arc<Template>> {
        match template.kind {
            Kind::Write => Ok(WriteTemplate(template)),
            Kind::Read(_) | Kind::Steps(_) => Err(template),
        }
    }
}

impl ReadTemplate {
    /// `template`, if it is a read template; else `template` back.
    ///
    /// # Errors
    /// The template is a write template.
    pub fn new(template: Arc<Template>) -> Result<ReadTemplate, Arc<Template>> {
        match template.kind {
            Kind::Read(_) => Ok(ReadTemplate(template)),
            Kind::Write | Kind::Steps(_) => Err(template),
        }
    }

    /// How a response becomes output records.
    pub fn spec(&self) -> &ReadSpec {
        match &self.0.kind {
            Kind::Read(spec) => spec,
            // `new` admits read templates only, and templates are immutable.
            Kind::Write | Kind::Steps(_) => unreachable!("a ReadTemplate holds a read template"),
        }
    }
}

impl std::ops::Deref for WriteTemplate {
    type Target = Template;
    fn deref(&self) -> &Template {
        &self.0
    }
}

impl std::ops::Deref for ReadTemplate {
    type Target = Template;
    fn deref(&self) -> &Template {
        &self.0
    }
}

impl Template {
    /// For a read template: how a response becomes output records.
    pub fn read_spec(&self) -> Option<&ReadSpec> {
        match &self.kind {
            Kind::Read(spec) => Some(spec),
            Kind::Write | Kind::Steps(_) => None,
        }
    }

    /// Whether this is a read template.
    pub fn is_read(&self) -> bool {
        matches!(self.kind, Kind::Read(_))
    }

    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The param called `name`.
    pub fn param(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|p| p.name == name)
    }
}

/// One Moodle field of a record.
#[derive(Debug, Clone, Serialize)]
pub struct Field {
    /// The Moodle parameter name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub ty: FieldType,
    /// Whether every record must carry it (after defaults).
    pub required: bool,
    /// The value used when a record does not carry it.
    pub default: Option<DefaultValue>,
    /// Extra checks beyond the type.
    pub constraints: Constraints,
    /// `per_call`: a top-level parameter of the call beside the record list
    /// (`wrap` or `collect`), sent once per call rather than once per record.
    /// Records with different values of such fields go to different calls.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub per_call: bool,
    /// Description.
    pub doc: String,
    /// The declaration.
    #[serde(skip)]
    pub span: Span,
}

/// A field's default.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DefaultValue {
    /// A constant.
    Value(Value),
    /// The value of an endpoint-level param.
    Param(String),
}

/// A typed scalar value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    /// Integers (also timestamps).
    Int(i64),
    /// Floats.
    Float(f64),
    /// Booleans (sent as 1/0).
    Bool(bool),
    /// Strings of every text type.
    Str(String),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Str(s) => write!(f, "{s:?}"),
        }
    }
}

/// A field's type.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// One of Moodle's PARAM types (or a moodlec refinement of one).
    Scalar(ScalarType),
    /// A string from a fixed set.
    Enum(Vec<String>),
    /// Moodle's multiple structure of single structures: a list of records
    /// with these fields (`list { ... }`, also written `list object { ... }`),
    /// sent as `name[i][field]`.
    List(Vec<Field>),
    /// Moodle's single structure: one object with these fields
    /// (`object { ... }`), sent as `name[field]`.
    Object(Vec<Field>),
    /// Moodle's multiple structure of anything but a single structure: a
    /// list of values of the inner type (`list int`, `list enum(...)`,
    /// `list list { ... }`), sent as `name[i]` (then the inner type's keys).
    Values(Box<FieldType>),
}

impl FieldType {
    /// A list of `inner`: `list object { ... }` is the same as `list { ... }`.
    pub fn list_of(inner: FieldType) -> FieldType {
        match inner {
            FieldType::Object(fields) => FieldType::List(fields),
            other => FieldType::Values(Box::new(other)),
        }
    }

    /// Whether values of this type are structures (lists or objects), not scalars.
    pub fn is_structure(&self) -> bool {
        matches!(
            self,
            FieldType::List(_) | FieldType::Object(_) | FieldType::Values(_)
        )
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldType::Scalar(s) => f.write_str(s.name()),
            FieldType::Enum(values) => write!(f, "enum({})", values.join(", ")),
            FieldType::List(_) => f.write_str("list"),
            FieldType::Object(_) => f.write_str("object"),
            FieldType::Values(inner) => write!(f, "list {inner}"),
        }
    }
}

macro_rules! scalar_types {
    ($($variant:ident => $name:literal, $param:literal, $doc:literal;)*) => {
        /// Scalar types, named as in templates. Each maps to the Moodle PARAM
        /// type that Moodle validates it with.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum ScalarType {
            $(#[doc = $doc] $variant,)*
        }

        impl ScalarType {
            /// Every scalar type, for listings and suggestions.
            pub const ALL: &'static [ScalarType] = &[$(ScalarType::$variant,)*];

            /// The name used in templates.
            pub fn name(self) -> &'static str {
                match self { $(ScalarType::$variant => $name,)* }
            }

            /// The Moodle PARAM type's string value (as in Moodle's error messages).
            pub fn moodle_param(self) -> &'static str {
                match self { $(ScalarType::$variant => $param,)* }
            }

            /// What the type accepts, in a sentence.
            pub fn description(self) -> &'static str {
                match self { $(ScalarType::$variant => $doc,)* }
            }

            /// The type written `name` in a template.
            pub fn from_name(name: &str) -> Option<ScalarType> {
                match name { $($name => Some(ScalarType::$variant),)* _ => None }
            }
        }
    };
}

scalar_types! {
    Int => "int", "int", "A whole number (PARAM_INT).";
    Bool => "bool", "bool", "A boolean, sent as 1 or 0 (PARAM_BOOL).";
    Float => "float", "float", "A decimal number (PARAM_FLOAT).";
    Text => "text", "text", "Text without HTML tags except multilang spans (PARAM_TEXT).";
    NoTags => "notags", "notags", "Text without any HTML tags (PARAM_NOTAGS).";
    Raw => "raw", "raw", "Any UTF-8 text (PARAM_RAW).";
    RawTrimmed => "raw_trimmed", "raw_trimmed", "Any UTF-8 text without surrounding whitespace (PARAM_RAW_TRIMMED).";
    Alpha => "alpha", "alpha", "ASCII letters only (PARAM_ALPHA).";
    AlphaNum => "alphanum", "alphanum", "ASCII letters and digits (PARAM_ALPHANUM).";
    AlphaNumExt => "alphanumext", "alphanumext", "ASCII letters, digits, '_' and '-' (PARAM_ALPHANUMEXT).";
    SafeDir => "safedir", "safedir", "A safe directory name: letters, digits, '_' and '-' (PARAM_SAFEDIR).";
    Plugin => "plugin", "plugin", "A plugin name such as `topics` (PARAM_PLUGIN).";
    Auth => "auth", "auth", "An authentication plugin name such as `manual` (PARAM_AUTH).";
    Theme => "theme", "theme", "A theme name such as `boost` (PARAM_THEME).";
    Username => "username", "username", "A Moodle username: lowercase letters, digits and . @ _ - (PARAM_USERNAME).";
    Email => "email", "raw_trimmed", "An email address Moodle's validate_email() accepts.";
    Password => "password", "raw", "A password, checked against the password policy (PARAM_RAW).";
    Lang => "lang", "lang", "A language code such as `en` or `pt_br` (PARAM_LANG).";
    Country => "country", "alpha", "An ISO 3166-1 alpha-2 country code in capitals, such as `GB`.";
    Timezone => "timezone", "timezone", "A timezone such as `Europe/London`, or `99` for the server's (PARAM_TIMEZONE).";
    Timestamp => "timestamp", "int", "Unix seconds; data may give ISO-8601 dates or datetimes (PARAM_INT).";
}

impl ScalarType {
    /// Whether `min`/`max` apply.
    pub fn is_numeric(self) -> bool {
        matches!(self, ScalarType::Int | ScalarType::Float | ScalarType::Timestamp)
    }

    /// Whether values are strings (so `length` and `pattern` apply).
    pub fn is_textual(self) -> bool {
        !self.is_numeric() && self != ScalarType::Bool
    }
}

/// Checks beyond the type.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Constraints {
    /// Smallest number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Largest number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Fewest characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_length: Option<usize>,
    /// Most characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_length: Option<usize>,
    /// Regex the whole value must match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern: Option<Pattern>,
    /// Allowed values.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub one_of: Vec<Value>,
    /// `warn ...` constraints: Moodle accepts a value breaking them, so it is a warning.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advisory: Option<Box<Constraints>>,
}

impl Constraints {
    /// Why `value` breaks these constraints, if it does.
    pub fn violation(&self, value: &Value) -> Option<String> {
        #[allow(clippy::cast_precision_loss)] // bounds are f64; ids past 2^53 are not a concern
        let number = match value {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        };
        if let (Some(n), Some(min)) = (number, self.min) {
            if n < min {
                return Some(format!("{value} is below the minimum {min}"));
            }
        }
        if let (Some(n), Some(max)) = (number, self.max) {
            if n > max {
                return Some(format!("{value} is above the maximum {max}"));
            }
        }
        if let Value::Str(s) = value {
            let chars = s.chars().count();
            if self.min_length.is_some_and(|min| chars < min) {
                return Some(format!(
                    "{chars} characters is shorter than the minimum length {}",
                    self.min_length.unwrap_or(0)
                ));
            }
            if let Some(max) = self.max_length.filter(|max| chars > *max) {
                return Some(format!(
                    "{chars} characters is longer than the maximum length {max}"
                ));
            }
            if let Some(pattern) = &self.pattern {
                if !pattern.regex.is_match(s) {
                    return Some(format!("{value} does not match the pattern {:?}", pattern.source));
                }
            }
        }
        if !self.one_of.is_empty() && !self.one_of.contains(value) {
            let allowed: Vec<String> = self.one_of.iter().map(ToString::to_string).collect();
            return Some(format!("{value} is not one of [{}]", allowed.join(", ")));
        }
        None
    }
}

/// A compiled `pattern`, anchored to the whole value.
#[derive(Debug, Clone, Serialize)]
pub struct Pattern {
    /// As written in the template.
    pub source: String,
    /// `^(?:source)$`, compiled.
    #[serde(skip)]
    pub regex: regex::Regex,
}

/// An endpoint-level param.
#[derive(Debug, Clone, Serialize)]
pub struct Param {
    /// Its name (`--set NAME=value`).
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub ty: ParamType,
    /// Value when not set on the command line.
    pub default: Option<Value>,
    /// Description.
    pub doc: String,
}

/// Types a param can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamType {
    /// A Moodle role id, given by id or by the standard role's shortname.
    Role,
    /// A scalar.
    Scalar(ScalarType),
}

impl ParamType {
    /// The type written `name` in a template.
    pub fn from_name(name: &str) -> Option<ParamType> {
        if name == "role" {
            return Some(ParamType::Role);
        }
        ScalarType::from_name(name).map(ParamType::Scalar)
    }

    /// The name used in templates.
    pub fn name(self) -> &'static str {
        match self {
            ParamType::Role => "role",
            ParamType::Scalar(s) => s.name(),
        }
    }
}

/// A cross-field rule.
#[derive(Clone, Serialize)]
pub struct Rule {
    /// The minijinja expression, as written.
    pub expr: String,
    /// Shown when the expression is false.
    pub message: String,
    /// `warn rule`: Moodle accepts a record breaking it; the record gets a warning.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub advisory: bool,
    /// The compiled expression.
    #[serde(skip)]
    pub compiled: Arc<minijinja::Expression<'static, 'static>>,
    /// The declaration.
    #[serde(skip)]
    pub span: Span,
}

impl fmt::Debug for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rule")
            .field("expr", &self.expr)
            .field("message", &self.message)
            .finish_non_exhaustive()
    }
}

/// Fields whose combined value must not repeat across the dataset.
#[derive(Debug, Clone, Serialize)]
pub struct Unique {
    /// The fields.
    pub fields: Vec<String>,
    /// Compare case-insensitively (Moodle does for emails).
    pub ignore_case: bool,
}

/// Moodle's password policy (admin/settings/security.php), Moodle's defaults
/// unless the template overrides them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PasswordPolicy {
    /// `minpasswordlength`: characters.
    pub min_length: usize,
    /// `minpassworddigits`
    pub min_digits: usize,
    /// `minpasswordlower`
    pub min_lower: usize,
    /// `minpasswordupper`
    pub min_upper: usize,
    /// `minpasswordnonalphanum`
    pub min_nonalphanum: usize,
    /// `maxconsecutiveidentchars` (0 = off)
    pub max_consecutive_identical: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            min_length: 8,
            min_digits: 1,
            min_lower: 1,
            min_upper: 1,
            min_nonalphanum: 1,
            max_consecutive_identical: 0,
        }
    }
}

impl PasswordPolicy {
    /// The policy in the form the Moodle rules module checks.
    pub fn to_moodle(&self) -> crate::moodle::password::Policy {
        crate::moodle::password::Policy {
            min_length: self.min_length,
            min_digits: self.min_digits,
            min_lower: self.min_lower,
            min_upper: self.min_upper,
            min_nonalphanum: self.min_nonalphanum,
            max_consecutive_identical: self.max_consecutive_identical,
        }
    }

    /// Setting names as written in templates.
    pub const SETTINGS: &'static [&'static str] = &[
        "min_length",
        "min_digits",
        "min_lower",
        "min_upper",
        "min_nonalphanum",
        "max_consecutive_identical",
    ];

    /// Set the setting called `name`; false if there is none.
    pub fn set(&mut self, name: &str, value: usize) -> bool {
        let slot = match name {
            "min_length" => &mut self.min_length,
            "min_digits" => &mut self.min_digits,
            "min_lower" => &mut self.min_lower,
            "min_upper" => &mut self.min_upper,
            "min_nonalphanum" => &mut self.min_nonalphanum,
            "max_consecutive_identical" => &mut self.max_consecutive_identical,
            _ => return false,
        };
        *slot = value;
        true
    }
}

/// How to tell, after a timeout or dropped connection, whether a record was applied.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AppliedCheck {
    /// No way to tell: such records are reported as unknown, never re-sent blindly.
    #[default]
    Unknown,
    /// Re-sending is harmless (`idempotent`).
    Idempotent,
    /// Look the record up by `field` with a Moodle read function (`exists`).
    Lookup {
        /// `core_user_get_users_by_field` or `core_course_get_courses_by_field`.
        function: String,
        /// The record field to look up by.
        field: String,
    },
}

/// Read functions `exists` can use, with the fields each can search by.
pub const LOOKUP_FUNCTIONS: &[(&str, &[&str])] = &[
    (
        "core_user_get_users_by_field",
        &["id", "idnumber", "username", "email"],
    ),
    (
        "core_course_get_courses_by_field",
        &["id", "shortname", "idnumber"],
    ),
];

/// How records are grouped into calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchRule {
    /// Most records per call.
    pub size: usize,
    /// Records with equal values of this field go to the same batches.
    pub group_by: Option<String>,
    /// PHP's `max_input_vars` on the site: form fields per request.
    pub max_input_vars: usize,
    /// `collect FIELD into LIST`: many records' FIELD values in one call's `LIST[i]`.
    pub collect: Option<Collect>,
}

/// `collect FIELD into LIST`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Collect {
    /// The record field whose values are collected.
    pub field: String,
    /// The list parameter that carries them.
    pub into: String,
}

impl BatchRule {
    /// Records per call when a template says nothing: small enough that a
    /// whole-batch rollback stays cheap (moodle-ws.md 4.3).
    pub const DEFAULT_SIZE: usize = 100;
    /// PHP's default `max_input_vars`.
    pub const DEFAULT_MAX_INPUT_VARS: usize = 1000;
}

impl Default for BatchRule {
    fn default() -> Self {
        BatchRule {
            size: Self::DEFAULT_SIZE,
            group_by: None,
            max_input_vars: Self::DEFAULT_MAX_INPUT_VARS,
            collect: None,
        }
    }
}

/// What a Moodle function answers on success.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Returns {
    /// `null`
    #[default]
    Nothing,
    /// A list with one item per record, in input order.
    List(Vec<Field>),
    /// A single structure.
    Object(Vec<Field>),
    /// A single value (`returns value int ok 0`); with `ok`, the one answer
    /// that means the call was applied (any other: it did nothing).
    Value {
        /// Its type.
        #[serde(rename = "type")]
        ty: ScalarType,
        /// The answer that means applied.
        ok: Option<Value>,
    },
}

/// How source records become Moodle records in a template that extends another.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Mapping {
    /// Fields computed from the source record.
    pub maps: Vec<Map>,
    /// Fields set to a constant.
    pub sets: Vec<(String, Value)>,
    /// Source keys dropped.
    pub excludes: Vec<String>,
}

/// `map FIELD = "template"`
#[derive(Clone, Serialize)]
pub struct Map {
    /// The Moodle field computed.
    pub field: String,
    /// The minijinja template, as written.
    pub template: String,
    /// Source keys the template reads.
    pub reads: Vec<String>,
    /// The compiled template, in an environment of its own.
    #[serde(skip)]
    pub compiled: Arc<minijinja::Environment<'static>>,
}

impl Map {
    /// The name the template is registered under in `compiled`.
    pub const TEMPLATE_NAME: &'static str = "map";
}

impl fmt::Debug for Map {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Map")
            .field("field", &self.field)
            .field("template", &self.template)
            .finish_non_exhaustive()
    }
}

/// What a read template does with Moodle's answer.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReadSpec {
    /// Where the output records are in the response.
    pub emits: Emits,
    /// Inputs sent as a name/value list (`options[i][name]`, `options[i][value]`).
    pub options: Option<OptionList>,
    /// Inputs copied into every output record.
    pub annotate: Vec<String>,
    /// Only output records for which all of these are true.
    pub keep: Vec<Rule>,
    /// Fields added from other read templates' records.
    pub joins: Vec<Join>,
    /// Output fields computed from the output record (after joins).
    pub maps: Vec<Map>,
    /// Output fields set to a constant.
    pub sets: Vec<(String, Value)>,
    /// Output fields dropped.
    pub excludes: Vec<String>,
    /// The output fields, in order, when given.
    pub select: Option<Vec<String>>,
}

/// Where a read template's output records are in the response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Emits {
    /// Each element of the response list.
    #[default]
    List,
    /// The response object itself.
    Object,
    /// The elements of nested list fields, outermost first; each carries the
    /// scalar fields of the objects that enclose it.
    Path(Vec<String>),
}

/// Inputs sent as Moodle's name/value list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OptionList {
    /// The list parameter (`options`, `criteria`).
    pub list: String,
    /// The member naming the option (`name`, `key`).
    pub key: String,
    /// The member carrying its value (`value`).
    pub value: String,
    /// The input fields that are options, in declaration order.
    pub fields: Vec<String>,
}

/// `join TEMPLATE on LOCAL = REMOTE with ... take ...`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Join {
    /// The read template joined.
    pub template: String,
    /// This record's key field.
    pub local: String,
    /// The joined records' key field.
    pub remote: String,
    /// The joined template's inputs.
    pub with: Vec<(String, JoinValue)>,
    /// The fields added (all the joined record's fields this one lacks, when empty).
    pub take: Vec<String>,
}

/// The value of a joined template's input.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JoinValue {
    /// A constant.
    Constant(Value),
    /// A field of this output record.
    Field(String),
}

/// `lookup FIELD = KIND by KEY from "EXPR"`
#[derive(Debug, Clone, Serialize)]
pub struct Lookup {
    /// The field that receives the Moodle id.
    pub field: String,
    /// What is looked up.
    pub kind: LookupKind,
    /// The Moodle field matched.
    pub key: String,
    /// Computes the key value from the source record.
    pub from: Map,
}

/// What a lookup finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LookupKind {
    /// A user, via core_user_get_users_by_field.
    User,
    /// A course, via core_course_get_courses_by_field.
    Course,
}

impl LookupKind {
    /// The kind written `name`, e.g. `user`.
    pub fn from_name(name: &str) -> Option<LookupKind> {
        match name {
            "user" => Some(LookupKind::User),
            "course" => Some(LookupKind::Course),
            _ => None,
        }
    }

    /// The name written in templates.
    pub fn name(self) -> &'static str {
        match self {
            LookupKind::User => "user",
            LookupKind::Course => "course",
        }
    }

    /// The Moodle function that finds records of this kind.
    pub fn function(self) -> &'static str {
        match self {
            LookupKind::User => "core_user_get_users_by_field",
            LookupKind::Course => "core_course_get_courses_by_field",
        }
    }

    /// The kind whose finding function is `function`.
    pub fn of_function(function: &str) -> Option<LookupKind> {
        [LookupKind::User, LookupKind::Course]
            .into_iter()
            .find(|kind| kind.function() == function)
    }

    /// The Moodle fields a lookup of this kind can match.
    pub fn keys(self) -> &'static [&'static str] {
        LOOKUP_FUNCTIONS
            .iter()
            .find(|(function, _)| *function == self.function())
            .map_or(&[], |(_, keys)| keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin;

    #[test]
    fn each_kind_admits_only_its_own_templates() {
        let catalog = builtin::catalog();
        let write = catalog.get("create_users").unwrap().clone();
        let read = catalog.get("enrolled_users").unwrap().clone();
        assert!(!write.is_read() && read.is_read());
        assert!(WriteTemplate::new(write.clone()).is_ok());
        assert!(ReadTemplate::new(write).is_err());
        let as_read = ReadTemplate::new(read.clone()).unwrap();
        assert_eq!(as_read.spec().emits, read.read_spec().unwrap().emits);
        assert!(WriteTemplate::new(read).is_err());
    }
}

/// What a sync template keeps equal to the roster, and how (`sync users by
/// username`, `update ...`, `create none`, `scope ...`, `missing ...`).
///
/// The template itself (its fields, maps, sets, lookups) says what one
/// roster row is in Moodle's terms; this says how rows are matched with what
/// Moodle holds and what a difference leads to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncSpec {
    /// What is synced; follows from the template's function.
    pub object: SyncObject,
    /// The field rows and Moodle records are matched by (`by username`).
    /// `None` for enrolments: they are matched by their user and course
    /// lookups' keys.
    pub key: Option<String>,
    /// The fields compared with Moodle and updated where they differ
    /// (`update a, b`); `None`: every field the template sends that Moodle
    /// returns; `Some(empty)`: `update none`, add new only.
    pub update: Option<Vec<String>>,
    /// `create none`: update only, never create what Moodle lacks.
    pub create: bool,
    /// What of Moodle the sync owns: only records in scope are ever removed.
    pub scope: Vec<ScopeRule>,
    /// What happens to records in scope that the roster lacks.
    pub missing: Missing,
}

/// The kinds of Moodle records a sync template can keep equal to a roster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncObject {
    /// Accounts (core_user_create_users, update_users, delete_users).
    Users,
    /// Courses (core_course_create_courses, update_courses, delete_courses).
    Courses,
    /// Manual enrolments with their role (enrol_manual_enrol_users, unenrol_users,
    /// core_role_assign_roles / unassign_roles).
    Enrolments,
}

impl SyncObject {
    /// The name written after `sync`.
    pub fn name(self) -> &'static str {
        match self {
            SyncObject::Users => "users",
            SyncObject::Courses => "courses",
            SyncObject::Enrolments => "enrolments",
        }
    }

    /// The object written `name`.
    pub fn from_name(name: &str) -> Option<SyncObject> {
        match name {
            "users" => Some(SyncObject::Users),
            "courses" => Some(SyncObject::Courses),
            "enrolments" => Some(SyncObject::Enrolments),
            _ => None,
        }
    }
}

/// One criterion of a sync's scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeRule {
    /// `scope auth = "manual"`: the Moodle field equals the value.
    Equals { field: String, value: String },
    /// `scope email like "%@staff.example.edu"`: SQL LIKE, `%` any text, case-insensitive.
    Like { field: String, pattern: String },
    /// `scope courses "MATH101", "PHYS201"`: enrolments in these courses
    /// (by the course lookup's key), instead of the courses the roster names.
    Courses(Vec<String>),
}

/// What a sync does with records in scope that the roster lacks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Missing {
    /// Leave them (the default).
    #[default]
    Keep,
    /// Users: `suspended = 1`; enrolments: re-enrol with `suspend = 1`.
    Suspend,
    /// Users and courses: delete them (also needs `--allow-delete`).
    Delete,
    /// Enrolments: enrol_manual_unenrol_users.
    Unenrol,
}

impl Missing {
    /// The word written after `missing`.
    pub fn name(self) -> &'static str {
        match self {
            Missing::Keep => "keep",
            Missing::Suspend => "suspend",
            Missing::Delete => "delete",
            Missing::Unenrol => "unenrol",
        }
    }

    /// The policy written `name`.
    pub fn from_name(name: &str) -> Option<Missing> {
        match name {
            "keep" => Some(Missing::Keep),
            "suspend" => Some(Missing::Suspend),
            "delete" => Some(Missing::Delete),
            "unenrol" => Some(Missing::Unenrol),
            _ => None,
        }
    }
}
