//! The stable codes of every problem moodlec reports: in a template, in a
//! record, or one that ends a command.
//!
//! Scripts, CI reports (SARIF rule ids, JUnit failure types) and the golden
//! tests match on [`Code::as_str`], so a code is never renamed or reused.

use std::fmt;

/// Where a problem was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// In a template file (`moodlec check`, or any command loading one).
    Template,
    /// In a data record (validate, render, run, plan).
    Record,
    /// What ended a command: usage, the site, an interruption, a refusal.
    Runtime,
}

impl Family {
    /// `template`, `record` or `runtime`.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Template => "template",
            Family::Record => "record",
            Family::Runtime => "runtime",
        }
    }
}

/// Declares [`Code`] with, for each variant, its stable text, its family and
/// a one-line summary (the README's table of codes and SARIF's rule
/// descriptions), so the four can never disagree.
macro_rules! codes {
    ($( $(#[$doc:meta])* $variant:ident = ($text:literal, $family:ident, $summary:literal), )*) => {
        /// The stable identifier of a problem, shown as `moodlec::<code>`.
        ///
        /// Each variant's documentation gives an input that triggers it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code {
            $( $(#[$doc])* $variant, )*
        }

        impl Code {
            /// Every code, in declaration order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The stable text: `unknown_type`, `wrong_type`, `server`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $text,)* }
            }

            /// Where problems with this code are found.
            pub fn family(self) -> Family {
                match self { $(Code::$variant => Family::$family,)* }
            }

            /// What the code means, in one line.
            pub fn summary(self) -> &'static str {
                match self { $(Code::$variant => $summary,)* }
            }

            /// The code of a stable text, if there is one.
            pub fn from_text(text: &str) -> Option<Code> {
                match text { $($text => Some(Code::$variant),)* _ => None }
            }
        }
    };
}

codes! {
    // ---- template problems (moodlec check) ----
    /// The text does not follow the grammar: `field x int` (missing `:`).
    Syntax = ("syntax", Template, "the text does not follow the template grammar"),
    /// Two templates with one name in the files compiled together.
    DuplicateTemplate = ("duplicate_template", Template, "two templates with one name"),
    /// A warning: a template named like a built-in one replaces it, e.g.
    /// `template create_users "..." { function core_user_delete_users ... }`
    /// in ./templates/.
    ShadowsBuiltin = ("shadows_builtin", Template, "a local template replaces a built-in one of the same name"),
    /// `function` missing in a template that extends nothing.
    MissingFunction = ("missing_function", Template, "a template without a Moodle function"),
    /// `function` written twice, or in a template that extends another.
    DuplicateStatement = ("duplicate_statement", Template, "a statement written twice, or where it cannot be"),
    /// `field x: integr`
    UnknownType = ("unknown_type", Template, "a field type moodlec does not know"),
    /// `param r: rol`
    UnknownParamType = ("unknown_param_type", Template, "a param type moodlec does not know"),
    /// `field x: int` twice in one template or list.
    DuplicateField = ("duplicate_field", Template, "a field declared twice"),
    /// `param p: int` twice.
    DuplicateParam = ("duplicate_param", Template, "a param declared twice"),
    /// `default "abc"` on an `int` field.
    BadDefault = ("bad_default", Template, "a default that does not fit its field"),
    /// `default param.nope`, or `param.nope` in a `rule` or `map`.
    UnknownParam = ("unknown_param", Template, "a reference to a param the template does not declare"),
    /// `required default 5`: a default makes `required` meaningless.
    RequiredWithDefault = ("required_with_default", Template, "a required field that also has a default"),
    /// `min` on a text field, `length` on an int, `pattern` on a list.
    ConstraintNotApplicable = ("constraint_not_applicable", Template, "a constraint that does not apply to the field type"),
    /// `min 10 max 1`, `length 5..2`
    EmptyRange = ("empty_range", Template, "a range no value can satisfy"),
    /// `pattern "("`
    BadPattern = ("bad_pattern", Template, "a pattern that is not a valid regular expression"),
    /// `one_of` whose values do not fit the type.
    BadOneOf = ("bad_one_of", Template, "one_of values that do not fit the field type"),
    /// `enum()` with no values or a repeated value.
    BadEnum = ("bad_enum", Template, "an empty enum or one with a repeated value"),
    /// A `rule` expression minijinja cannot compile.
    BadRule = ("bad_rule", Template, "a rule expression that does not compile"),
    /// A `rule` that refers to a field or param the template does not have.
    UnknownRuleVariable = ("unknown_rule_variable", Template, "a rule naming a field or param the template does not have"),
    /// A `rule` or `map` using a filter or test minijinja does not have:
    /// `rule "username | lowercase == username" "..."`.
    UnknownFilter = ("unknown_filter", Template, "a filter or test minijinja does not have"),
    /// A `map` template minijinja cannot compile.
    BadMap = ("bad_map", Template, "a map expression that does not compile"),
    /// `unique`, `group_by`, `set`, `map` or `exists` naming an unknown field.
    UnknownField = ("unknown_field", Template, "a statement naming a field the template does not have"),
    /// `unique` or `group_by` on a list field.
    NotScalar = ("not_scalar", Template, "unique or group_by on a list field"),
    /// `extends` of a template that does not exist.
    UnknownBase = ("unknown_base", Template, "extends of a template that does not exist"),
    /// `a extends b`, `b extends a`.
    ExtendsCycle = ("extends_cycle", Template, "templates that extend each other"),
    /// A template more than 64 levels of `extends` deep: `t65 extends t64`,
    /// ..., `t1 extends t0`.
    ExtendsTooDeep = ("extends_too_deep", Template, "more than 64 levels of extends"),
    /// The same field set twice, or both mapped and set.
    ConflictingMapping = ("conflicting_mapping", Template, "a field set twice, or both mapped and set"),
    /// `batch size 0`
    BadBatchSize = ("bad_batch_size", Template, "a batch size that is not positive"),
    /// A batch whose records cannot fit PHP's `max_input_vars`.
    BatchOverBudget = ("batch_over_budget", Template, "a batch that cannot fit PHP's max_input_vars"),
    /// `policy password { nonsense 3 }`
    UnknownPolicySetting = ("unknown_policy_setting", Template, "a password policy setting moodlec does not know"),
    /// A number that does not fit its place (`min 99999999999999999999`).
    NumberOutOfRange = ("number_out_of_range", Template, "a number too large for its place"),
    /// `policy password` in a template without a `password` field.
    PolicyWithoutPassword = ("policy_without_password", Template, "a password policy in a template without a password field"),
    /// `returns` with a field type not usable in a response.
    BadReturns = ("bad_returns", Template, "a returns declaration that cannot describe a response"),
    /// A `role` param default that is not a Moodle role.
    UnknownRole = ("unknown_role", Template, "a role param default that is not a Moodle role"),
    /// `exists` with a function or field moodlec cannot look records up with.
    BadExists = ("bad_exists", Template, "an exists check moodlec cannot look up"),
    /// A read-template statement in a write template, or the reverse.
    WrongTemplateKind = ("wrong_template_kind", Template, "a read statement in a write template, or the reverse"),
    /// `lookup` of an unknown kind or key, or for a field that is not an id.
    BadLookup = ("bad_lookup", Template, "a lookup of an unknown kind or key"),
    /// `join` of a template that is not a read template, or with bad inputs.
    BadJoin = ("bad_join", Template, "a join of a template that is not a read template, or with bad inputs"),
    /// `emits` or `select` naming what the response does not have.
    BadOutput = ("bad_output", Template, "emits or select naming what the response does not have"),
    /// A sync statement that does not fit: `sync user`, `sync users` in a
    /// template calling core_course_create_courses, `update password`,
    /// `missing delete` without a `scope`.
    BadSync = ("bad_sync", Template, "a sync statement that does not fit the template"),
    /// `steps` naming an unknown template, one without `sync`, or another
    /// `steps` template, or a `steps` template with other statements.
    BadSteps = ("bad_steps", Template, "a steps template naming templates it cannot run"),
    /// A warning: the template's function is not in moodlec's catalogue of
    /// Moodle 4.5's functions (a plugin's own, or a typo), so nothing is
    /// checked against Moodle's description: `function local_hr_sync_users`.
    UncataloguedFunction = ("uncatalogued_function", Template, "a function not in the catalogue of Moodle 4.5's functions"),
    /// A field, `wrap` or `collect` naming what the function does not take:
    /// `field usrname: username` in a template calling core_user_create_users.
    UnknownMoodleField = ("unknown_moodle_field", Template, "a field the Moodle function does not take"),
    /// A parameter Moodle requires that a record may leave out: no
    /// `field firstname` (or one without `required`) for core_user_create_users.
    MissingMoodleField = ("missing_moodle_field", Template, "a parameter Moodle requires that a record may leave out"),
    /// A field type looser than Moodle's PARAM type: `field username: text`
    /// where Moodle checks PARAM_USERNAME.
    MoodleTypeMismatch = ("moodle_type_mismatch", Template, "a field type looser than Moodle's PARAM type"),
    /// A structure nested unlike Moodle's: `field customfields: text` where
    /// Moodle takes a list of records, or `wrap userids` where `userids` is a
    /// list of plain values.
    WrongNesting = ("wrong_nesting", Template, "a structure nested unlike Moodle's"),

    // ---- record problems (validate, render, run, plan) ----
    /// A record the reader cannot parse: an NDJSON line cut short
    /// (`{"username": "ada",`), a CSV row with more cells than the header.
    Unreadable = ("unreadable", Record, "a record that cannot be read: malformed JSON or CSV"),
    /// A required field left out: `{"firstname": "Ada"}` for `create_users`
    /// (no `username`).
    MissingRequired = ("missing_required", Record, "a required field is missing or empty"),
    /// A value of the wrong type: `{"userid": "abc"}` where an int is needed.
    WrongType = ("wrong_type", Record, "a value of the wrong type for its field"),
    /// A key that is not a field of the template: `{"usrname": "ada"}` for
    /// `create_users`.
    UnknownKey = ("unknown_key", Record, "a key the template has no field for"),
    /// A value outside an `enum(...)`: `{"format": "grid"}` where the field
    /// is `enum(topics, weeks)`.
    NotAllowed = ("not_allowed", Record, "a value outside the field's allowed values"),
    /// A value Moodle's own PARAM cleaning would change or refuse:
    /// `{"username": "Ada Lovelace"}` (PARAM_USERNAME takes no capitals or
    /// spaces).
    MoodleRejects = ("moodle_rejects", Record, "a value Moodle's parameter cleaning refuses"),
    /// A value breaking one of the template's constraints: `{"userid": 0}`
    /// where the field says `min 1`.
    Constraint = ("constraint", Record, "a value breaking a min, max, length, pattern or one_of"),
    /// A record breaking a template `rule`: `timeend` before `timestart` in
    /// `enrol_users`.
    Rule = ("rule", Record, "a record breaking one of the template's rules"),
    /// A password Moodle's password policy refuses: `{"password": "abc"}`
    /// for `create_users` (too short, no digit, no symbol...).
    PasswordPolicy = ("password_policy", Record, "a password Moodle's password policy refuses"),
    /// A `unique` key used by an earlier record, in this file or another:
    /// two records with `"username": "ada"`.
    Duplicate = ("duplicate", Record, "a unique key already used by an earlier record"),
    /// A key given twice in one record: `{"userid": 1, "userid": 2}`.
    DuplicateKey = ("duplicate_key", Record, "a key given twice in one record"),
    /// A `map` expression that fails on this record: `{{ row.hired | int }}`
    /// where `hired` is `"soon"`.
    MapFailed = ("map_failed", Record, "a map expression that fails on the record"),
    /// A record needing more form fields than one request may carry (PHP's
    /// `max_input_vars`): a user with 2,000 custom profile fields.
    TooLarge = ("too_large", Record, "a record needing more form fields than one request may carry"),
    /// A warning: a value moodlec cannot check offline, such as a `lookup`
    /// field without `--url`.
    Unchecked = ("unchecked", Record, "a value that could not be checked (needs --url or a site profile)"),
    /// A warning: a country code Moodle does not list, `{"country": "UK"}`
    /// (Moodle's code is `GB`).
    UnknownCountry = ("unknown_country", Record, "a country code Moodle does not list"),
    /// A warning: a value breaking a `warn` constraint of the template.
    Advisory = ("advisory", Record, "a value breaking a warn constraint of the template"),
    /// A value the site says does not exist (`--url`): a `categoryid` with no
    /// category, an enrolment of a user the site does not have.
    SiteFact = ("site_fact", Record, "a value the site says does not exist or is not allowed"),
    /// A `lookup` key the site does not have: `lookup userid = user by email`
    /// with an email no user has.
    LookupFailed = ("lookup_failed", Record, "a lookup key the site does not have"),
    /// A roster row without the sync key: `sync users by idnumber` and a row
    /// with an empty `idnumber`.
    NoKey = ("no_key", Record, "a roster row without the sync key"),
    /// Two roster rows with one sync key and different values.
    ConflictingRows = ("conflicting_rows", Record, "two roster rows with one key and different values"),
    /// A roster enrolment naming a user or course Moodle does not have.
    NotInMoodle = ("not_in_moodle", Record, "a roster row naming a user or course Moodle does not have"),

    // ---- what ends a command ----
    /// Bad usage or a local file that cannot be read or written:
    /// `moodlec validate -t nosuch data.csv`, a template that does not compile.
    Usage = ("usage", Runtime, "bad usage, an unreadable local file, or a template that does not compile"),
    /// The site could not be reached or refused the token, the service or a
    /// function: `--url http://127.0.0.1:9` (nothing listening).
    Server = ("server", Runtime, "the site could not be reached, or refused the token, service or function"),
    /// The command was stopped by Ctrl-C.
    Interrupted = ("interrupted", Runtime, "the command was interrupted"),
    /// The work was refused as it stands: a plan a rail stops, a plan that
    /// drifted from Moodle.
    Rejected = ("rejected", Runtime, "the work was refused: a removal rail, a plan that drifted"),
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_text_is_unique_and_round_trips() {
        let mut seen = std::collections::HashSet::new();
        for code in Code::ALL {
            assert!(seen.insert(code.as_str()), "{} is used twice", code.as_str());
            assert_eq!(Code::from_text(code.as_str()), Some(*code));
            assert!(code.as_str().bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
            assert!(!code.summary().is_empty());
        }
        assert_eq!(Code::from_text("no_such_code"), None);
    }
}
