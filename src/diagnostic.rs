//! Template diagnostics: one error or warning at a span of a named source.
//!
//! Every stage that reads a template file reports problems as a
//! [`TemplateDiagnostic`]: a stable [`Code`], a message, a labelled span, an
//! optional help line and optional secondary labels. The library never
//! prints; `cli` renders these with miette or as JSON.

use std::fmt;
use std::sync::Arc;

use miette::{LabeledSpan, NamedSource, Severity, SourceCode};

use crate::span::Span;

/// A template source: its display name and text.
#[derive(Debug, Clone)]
pub struct Source {
    /// File name (or `builtin:NAME` for embedded templates).
    pub name: String,
    /// The text.
    pub text: Arc<str>,
}

impl Source {
    /// A source from a name and its text.
    pub fn new(name: impl Into<String>, text: impl Into<Arc<str>>) -> Self {
        Source {
            name: name.into(),
            text: text.into(),
        }
    }

    fn named(&self) -> NamedSource<Arc<str>> {
        NamedSource::new(&self.name, Arc::clone(&self.text)).with_language("moodlec")
    }
}

/// Stable identifiers of template problems, shown as `moodlec::<code>`.
///
/// Scripts and the golden tests match on these, so never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Code {
    /// The text does not follow the grammar: `field x int` (missing `:`).
    Syntax,
    /// Two templates with one name in the files compiled together.
    DuplicateTemplate,
    /// A warning: a template named like a built-in one replaces it, e.g.
    /// `template create_users "..." { function core_user_delete_users ... }`
    /// in ./templates/.
    ShadowsBuiltin,
    /// `function` missing in a template that extends nothing.
    MissingFunction,
    /// `function` written twice, or in a template that extends another.
    DuplicateStatement,
    /// `field x: integr`
    UnknownType,
    /// `param r: rol`
    UnknownParamType,
    /// `field x: int` twice in one template or list.
    DuplicateField,
    /// `param p: int` twice.
    DuplicateParam,
    /// `default "abc"` on an `int` field.
    BadDefault,
    /// `default param.nope`, or `param.nope` in a `rule` or `map`.
    UnknownParam,
    /// `required default 5`: a default makes `required` meaningless.
    RequiredWithDefault,
    /// `min` on a text field, `length` on an int, `pattern` on a list.
    ConstraintNotApplicable,
    /// `min 10 max 1`, `length 5..2`
    EmptyRange,
    /// `pattern "("`
    BadPattern,
    /// `one_of` whose values do not fit the type.
    BadOneOf,
    /// `enum()` with no values or a repeated value.
    BadEnum,
    /// A `rule` expression minijinja cannot compile.
    BadRule,
    /// A `rule` that refers to a field or param the template does not have.
    UnknownRuleVariable,
    /// A `rule` or `map` using a filter or test minijinja does not have:
    /// `rule "username | lowercase == username" "..."`.
    UnknownFilter,
    /// A `map` template minijinja cannot compile.
    BadMap,
    /// `unique`, `group_by`, `set`, `map` or `exists` naming an unknown field.
    UnknownField,
    /// `unique` or `group_by` on a list field.
    NotScalar,
    /// `extends` of a template that does not exist.
    UnknownBase,
    /// `a extends b`, `b extends a`.
    ExtendsCycle,
    /// A template more than 64 levels of `extends` deep: `t65 extends t64`,
    /// ..., `t1 extends t0`.
    ExtendsTooDeep,
    /// The same field set twice, or both mapped and set.
    ConflictingMapping,
    /// `batch size 0`
    BadBatchSize,
    /// A batch whose records cannot fit PHP's `max_input_vars`.
    BatchOverBudget,
    /// `policy password { nonsense 3 }`
    UnknownPolicySetting,
    /// A number that does not fit its place (`min 99999999999999999999`).
    NumberOutOfRange,
    /// `policy password` in a template without a `password` field.
    PolicyWithoutPassword,
    /// `returns` with a field type not usable in a response.
    BadReturns,
    /// A `role` param default that is not a Moodle role.
    UnknownRole,
    /// `exists` with a function or field moodlec cannot look records up with.
    BadExists,
    /// A read-template statement in a write template, or the reverse.
    WrongTemplateKind,
    /// `lookup` of an unknown kind or key, or for a field that is not an id.
    BadLookup,
    /// `join` of a template that is not a read template, or with bad inputs.
    BadJoin,
    /// `emits` or `select` naming what the response does not have.
    BadOutput,
    /// A sync statement that does not fit: `sync user`, `sync users` in a
    /// template calling core_course_create_courses, `update password`,
    /// `missing delete` without a `scope`.
    BadSync,
    /// `steps` naming an unknown template, one without `sync`, or another
    /// `steps` template, or a `steps` template with other statements.
    BadSteps,
    /// A warning: the template's function is not in moodlec's catalogue of
    /// Moodle 4.5's functions (a plugin's own, or a typo), so nothing is
    /// checked against Moodle's description: `function local_hr_sync_users`.
    UncataloguedFunction,
    /// A field, `wrap` or `collect` naming what the function does not take:
    /// `field usrname: username` in a template calling core_user_create_users.
    UnknownMoodleField,
    /// A parameter Moodle requires that a record may leave out: no
    /// `field firstname` (or one without `required`) for core_user_create_users.
    MissingMoodleField,
    /// A field type looser than Moodle's PARAM type: `field username: text`
    /// where Moodle checks PARAM_USERNAME.
    MoodleTypeMismatch,
    /// A structure nested unlike Moodle's: `field customfields: text` where
    /// Moodle takes a list of records, or `wrap userids` where `userids` is a
    /// list of plain values.
    WrongNesting,
}

impl Code {
    /// The stable text form, e.g. `check::unknown_type`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Syntax => "syntax",
            Code::DuplicateTemplate => "check::duplicate_template",
            Code::ShadowsBuiltin => "check::shadows_builtin",
            Code::MissingFunction => "check::missing_function",
            Code::DuplicateStatement => "check::duplicate_statement",
            Code::UnknownType => "check::unknown_type",
            Code::UnknownParamType => "check::unknown_param_type",
            Code::DuplicateField => "check::duplicate_field",
            Code::DuplicateParam => "check::duplicate_param",
            Code::BadDefault => "check::bad_default",
            Code::UnknownParam => "check::unknown_param",
            Code::RequiredWithDefault => "check::required_with_default",
            Code::ConstraintNotApplicable => "check::constraint_not_applicable",
            Code::EmptyRange => "check::empty_range",
            Code::BadPattern => "check::bad_pattern",
            Code::BadOneOf => "check::bad_one_of",
            Code::BadEnum => "check::bad_enum",
            Code::BadRule => "check::bad_rule",
            Code::UnknownRuleVariable => "check::unknown_rule_variable",
            Code::UnknownFilter => "check::unknown_filter",
            Code::BadMap => "check::bad_map",
            Code::UnknownField => "check::unknown_field",
            Code::NotScalar => "check::not_scalar",
            Code::UnknownBase => "check::unknown_base",
            Code::ExtendsCycle => "check::extends_cycle",
            Code::ExtendsTooDeep => "check::extends_too_deep",
            Code::ConflictingMapping => "check::conflicting_mapping",
            Code::BadBatchSize => "check::bad_batch_size",
            Code::BatchOverBudget => "check::batch_over_budget",
            Code::UnknownPolicySetting => "check::unknown_policy_setting",
            Code::NumberOutOfRange => "check::number_out_of_range",
            Code::PolicyWithoutPassword => "check::policy_without_password",
            Code::BadReturns => "check::bad_returns",
            Code::UnknownRole => "check::unknown_role",
            Code::BadExists => "check::bad_exists",
            Code::WrongTemplateKind => "check::wrong_template_kind",
            Code::BadLookup => "check::bad_lookup",
            Code::BadJoin => "check::bad_join",
            Code::BadOutput => "check::bad_output",
            Code::BadSync => "check::bad_sync",
            Code::BadSteps => "check::bad_steps",
            Code::UncataloguedFunction => "check::uncatalogued_function",
            Code::UnknownMoodleField => "check::unknown_moodle_field",
            Code::MissingMoodleField => "check::missing_moodle_field",
            Code::MoodleTypeMismatch => "check::moodle_type_mismatch",
            Code::WrongNesting => "check::wrong_nesting",
        }
    }
}

/// One problem in a template file.
#[derive(Debug, Clone)]
pub struct TemplateDiagnostic {
    /// What kind of problem.
    pub code: Code,
    /// Error or warning.
    pub severity: Severity,
    /// One sentence saying what is wrong.
    pub message: String,
    /// Where it is.
    pub span: Span,
    /// Text under the primary span.
    pub label: String,
    /// How to fix it, if known.
    pub help: Option<String>,
    /// Other places involved (e.g. the first declaration of a duplicate).
    pub related: Vec<(Span, String)>,
    source: Option<NamedSource<Arc<str>>>,
}

impl TemplateDiagnostic {
    /// An error at `span`.
    pub fn error(code: Code, span: Span, message: impl Into<String>) -> Self {
        TemplateDiagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            span,
            label: "here".to_owned(),
            help: None,
            related: Vec::new(),
            source: None,
        }
    }

    /// A warning at `span`: reported, but the template still compiles.
    pub fn warning(code: Code, span: Span, message: impl Into<String>) -> Self {
        TemplateDiagnostic {
            severity: Severity::Warning,
            ..TemplateDiagnostic::error(code, span, message)
        }
    }

    /// Set the label under the span.
    #[must_use]
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    /// Set the help line.
    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Add a secondary labelled span.
    #[must_use]
    pub fn related(mut self, span: Span, label: impl Into<String>) -> Self {
        self.related.push((span, label.into()));
        self
    }

    /// Attach the source the spans point into.
    #[must_use]
    pub fn in_source(mut self, source: &Source) -> Self {
        self.source = Some(source.named());
        self
    }

    /// The name of the source file, if attached.
    pub fn source_name(&self) -> Option<&str> {
        self.source.as_ref().map(NamedSource::name)
    }

    /// 1-based line and column of the primary span, if the source is attached.
    pub fn line_col(&self) -> Option<(usize, usize)> {
        let text = self.source.as_ref()?.inner();
        let before = text.get(..self.span.start)?;
        let line = before.matches('\n').count() + 1;
        // A byte order mark starting the file is not a column.
        let last = before.rsplit('\n').next().unwrap_or("");
        let last = if line == 1 {
            last.trim_start_matches('\u{feff}')
        } else {
            last
        };
        let col = last.chars().count() + 1;
        Some((line, col))
    }

    /// Whether this is an error (not a warning).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for TemplateDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TemplateDiagnostic {}

impl miette::Diagnostic for TemplateDiagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(format!("moodlec::{}", self.code.as_str())))
    }

    fn severity(&self) -> Option<Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let primary = LabeledSpan::new_primary_with_span(Some(self.label.clone()), self.span);
        let others = self
            .related
            .iter()
            .map(|(span, label)| LabeledSpan::new_with_span(Some(label.clone()), *span));
        Some(Box::new(std::iter::once(primary).chain(others)))
    }
}
