//! Site facts (`validate --url`): what a record names must exist on the site.
//!
//! Pure checks: the site layer (`site::facts`) reads what is there, once,
//! for the DISTINCT values of all records ([`Wanted`]); this module says
//! which fields of which functions name such facts and checks each record
//! against what was read ([`Known`]) and the user's site profile
//! ([`Profile`]).
//!
//! - `categoryid` of core_course_create_courses / core_course_update_courses:
//!   the category exists (core_course_get_categories, read once).
//! - `userid` / `courseid` of enrol_manual_enrol_users / enrol_manual_unenrol_users:
//!   the user and the course exist (core_user_get_users_by_field by id and
//!   core_course_get_courses_by_field by ids, many per call). Moodle answers an
//!   enrolment of a missing user with a PHP TypeError and no errorcode.
//! - `roleid` of those enrolments: no read function lists the roles a token
//!   may assign in a course (enrol_manual checks get_assignable_roles and
//!   answers wsusercannotassign). The standard course roles of a fresh
//!   install (manager 1, editingteacher 3, teacher 4, student 5) pass; the
//!   standard roles not assignable in a course (coursecreator 2, guest 6,
//!   user 7, frontpage 8) are errors; any other id is checked against the
//!   profile's `roles`, else a warning "unchecked: needs the site profile".
//! - `lang`, `theme` / `forcetheme`, `auth` (any template): no web-service
//!   function lists installed language packs, themes or auth plugins. With
//!   the profile's `langs` / `themes` / `auths`, a value outside it is an
//!   error; without, one warning per field (on the first record that has
//!   it). `en` and `manual` (always installed) and empty values pass.

use crate::diagnostic::Code;
use std::collections::BTreeSet;

use super::Violation;
use crate::form::FieldValue;
use crate::template::{Template, Value};

/// Functions whose `categoryid` names a course category.
const CATEGORY_FUNCTIONS: [&str; 2] = ["core_course_create_courses", "core_course_update_courses"];
/// Functions whose `userid` / `courseid` / `roleid` name an enrolment's user, course and role.
const ENROL_FUNCTIONS: [&str; 2] = ["enrol_manual_enrol_users", "enrol_manual_unenrol_users"];
/// Standard roles of a fresh install that can be assigned in a course.
const COURSE_ROLES: [i64; 4] = [1, 3, 4, 5];
/// Standard roles of a fresh install that cannot (no course context level).
const NON_COURSE_ROLES: [(i64, &str); 4] =
    [(2, "coursecreator"), (6, "guest"), (7, "user"), (8, "frontpage")];

/// Values every Moodle has: the `en` language pack and the `manual` auth
/// plugin ship with it and cannot be uninstalled.
const ALWAYS_INSTALLED: [(&str, &str); 2] = [("langs", "en"), ("auths", "manual")];

/// What the user wrote once about the site: facts no web-service function reveals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    /// Where it was read from, for messages (`[site.prod] of /path/config.toml`).
    pub source: String,
    /// Installed language packs (`langs = ["en", "cs"]`).
    pub langs: Option<Vec<String>>,
    /// Installed themes.
    pub themes: Option<Vec<String>>,
    /// Enabled authentication plugins.
    pub auths: Option<Vec<String>>,
    /// Ids of the roles beyond the standard ones the token may assign in courses.
    pub roles: Option<Vec<i64>>,
}

/// The distinct ids the records name, to be read from the site.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wanted {
    /// Course category ids.
    pub categories: BTreeSet<i64>,
    /// User ids.
    pub users: BTreeSet<i64>,
    /// Course ids.
    pub courses: BTreeSet<i64>,
}

impl Wanted {
    /// Note the ids one valid record names.
    pub fn add(&mut self, template: &Template, values: &[(usize, FieldValue)]) {
        for (name, id) in ids(template, values) {
            match name {
                "categoryid" => self.categories.insert(id),
                "userid" => self.users.insert(id),
                "courseid" => self.courses.insert(id),
                _ => false,
            };
        }
    }

    /// Nothing to read.
    pub fn is_empty(&self) -> bool {
        self.categories.is_empty() && self.users.is_empty() && self.courses.is_empty()
    }
}

/// What the site holds of the wanted ids (`None`: not read).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Known {
    /// Every category the token's user can see.
    pub categories: Option<BTreeSet<i64>>,
    /// The wanted users that exist.
    pub users: Option<BTreeSet<i64>>,
    /// The wanted courses that exist.
    pub courses: Option<BTreeSet<i64>>,
    /// Requests the reads took.
    pub requests: u64,
}

/// The read functions the facts of `template` need (none: no fact to read).
pub fn functions(template: &Template) -> Vec<&'static str> {
    let mut out = Vec::new();
    let has = |name: &str| template.fields.iter().any(|f| f.name == name);
    if CATEGORY_FUNCTIONS.contains(&template.function.as_str()) && has("categoryid") {
        out.push("core_course_get_categories");
    }
    if ENROL_FUNCTIONS.contains(&template.function.as_str()) {
        if has("userid") {
            out.push("core_user_get_users_by_field");
        }
        if has("courseid") {
            out.push("core_course_get_courses_by_field");
        }
    }
    out
}

/// The (fact field, id) pairs of one record.
fn ids<'a>(template: &'a Template, values: &[(usize, FieldValue)]) -> Vec<(&'a str, i64)> {
    let function = template.function.as_str();
    let category = CATEGORY_FUNCTIONS.contains(&function);
    let enrol = ENROL_FUNCTIONS.contains(&function);
    values
        .iter()
        .filter_map(|(position, value)| {
            let name = template.fields[*position].name.as_str();
            let relevant = match name {
                "categoryid" => category,
                "userid" | "courseid" | "roleid" => enrol,
                _ => false,
            };
            match (relevant, value) {
                (true, FieldValue::Scalar(Value::Int(id))) => Some((name, *id)),
                (true, FieldValue::Scalar(Value::Str(text))) => text.trim().parse().ok().map(|id| (name, id)),
                _ => None,
            }
        })
        .collect()
}

/// Checks records against what the site holds and the profile.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    known: Known,
    profile: Option<Profile>,
    /// Fields already warned about as unchecked.
    warned: BTreeSet<String>,
}

impl Facts {
    /// Facts from what was read and the profile, if the user wrote one.
    pub fn new(known: Known, profile: Option<Profile>) -> Self {
        Facts {
            known,
            profile,
            warned: BTreeSet::new(),
        }
    }

    /// The fields warned about as unchecked so far, with why.
    pub fn unchecked(&self) -> Vec<String> {
        self.warned
            .iter()
            .map(|field| format!("{field}: unchecked: needs the site profile"))
            .collect()
    }

    /// The errors and warnings of one valid record.
    pub fn check(
        &mut self,
        template: &Template,
        values: &[(usize, FieldValue)],
    ) -> (Vec<Violation>, Vec<Violation>) {
        let mut errors = Vec::new();
        let mut warnings = Vec::new();
        for (name, id) in ids(template, values) {
            let (known, what, help) = match name {
                "roleid" => {
                    self.check_role(id, &mut errors, &mut warnings);
                    continue;
                }
                "categoryid" => (
                    &self.known.categories,
                    "course category",
                    "core_course_get_categories does not list it; Moodle would refuse the course",
                ),
                "userid" => (
                    &self.known.users,
                    "Moodle user",
                    "Moodle answers an enrolment of a missing user with a PHP TypeError (no errorcode) and rolls back the whole call",
                ),
                _ => (
                    &self.known.courses,
                    "Moodle course",
                    "core_course_get_courses_by_field does not find it; Moodle would refuse the enrolment",
                ),
            };
            if missing(known.as_ref(), id) {
                errors.push(
                    Violation::new(
                        Code::SiteFact,
                        Some(name),
                        format!("no {what} with id {id} on the site"),
                    )
                    .help(Some(help.to_owned())),
                );
            }
        }
        for (position, value) in values {
            let name = template.fields[*position].name.as_str();
            let (Some(key), FieldValue::Scalar(Value::Str(text))) = (profile_key(name), value) else {
                continue;
            };
            let listed = self.profile.as_ref().and_then(|p| match key {
                "langs" => p.langs.as_ref(),
                "themes" => p.themes.as_ref(),
                _ => p.auths.as_ref(),
            });
            match listed {
                _ if text.is_empty() || ALWAYS_INSTALLED.contains(&(key, text.as_str())) => {}
                Some(list) if list.iter().any(|v| v == text) => {}
                Some(list) => errors.push(
                    Violation::new(
                        Code::SiteFact,
                        Some(name),
                        format!("`{name}` {text:?} is not in the site profile's {key}"),
                    )
                    .help(Some(format!(
                        "{} lists {key} = [{}]",
                        self.source(),
                        list.iter()
                            .map(|v| format!("{v:?}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))),
                ),
                None => {
                    if self.warned.insert(name.to_owned()) {
                        warnings.push(self.unchecked_warning(name, &format!("{name} = {text:?}"), key));
                    }
                }
            }
        }
        (errors, warnings)
    }

    fn check_role(&mut self, id: i64, errors: &mut Vec<Violation>, warnings: &mut Vec<Violation>) {
        let name = "roleid";
        if let Some(roles) = self.profile.as_ref().and_then(|p| p.roles.as_ref()) {
            if !roles.contains(&id) && !COURSE_ROLES.contains(&id) {
                errors.push(
                    Violation::new(Code::SiteFact, Some(name), format!("role {id} is not assignable in courses according to the site profile"))
                        .help(Some(format!("{} lists roles = {roles:?}; the standard course roles 1, 3, 4, 5 are taken as assignable", self.source()))),
                );
            }
            return;
        }
        if COURSE_ROLES.contains(&id) {
            return;
        }
        if let Some((_, role)) = NON_COURSE_ROLES.iter().find(|(r, _)| *r == id) {
            errors.push(
                Violation::new(Code::SiteFact, Some(name), format!("role {id} ({role} on a standard site) cannot be assigned in a course"))
                    .help(Some("Moodle answers wsusercannotassign; the course roles of a standard site are manager (1), editingteacher (3), teacher (4), student (5)".to_owned())),
            );
            return;
        }
        if self.warned.insert(name.to_owned()) {
            warnings.push(self.unchecked_warning(name, &format!("role {id}"), "roles"));
        }
    }

    fn unchecked_warning(&self, field: &str, what: &str, key: &str) -> Violation {
        let example = match key {
            "langs" => "langs = [\"en\", \"cs\"]",
            "themes" => "themes = [\"boost\", \"classic\"]",
            "auths" => "auths = [\"manual\", \"ldap\"]",
            _ => "roles = [9, 10]",
        };
        Violation::new(
            Code::Unchecked,
            Some(field),
            format!("{what} unchecked: needs the site profile (no web-service function tells; warned once for all records)"),
        )
        .help(Some(format!(
            "list what the site has in its [site.NAME] section of config.toml or in site.toml beside the template: {example}"
        )))
    }

    fn source(&self) -> &str {
        self.profile
            .as_ref()
            .map_or("the site profile", |p| p.source.as_str())
    }
}

/// The profile key listing the allowed values of field `name`.
fn profile_key(name: &str) -> Option<&'static str> {
    match name {
        "lang" => Some("langs"),
        "theme" | "forcetheme" => Some("themes"),
        "auth" => Some("auths"),
        _ => None,
    }
}

fn missing(known: Option<&BTreeSet<i64>>, id: i64) -> bool {
    known.is_some_and(|ids| !ids.contains(&id))
}
