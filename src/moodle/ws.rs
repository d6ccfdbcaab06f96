//! Moodle's web-service wire: the endpoints, the control parameters every
//! REST call carries, and the facts about functions and errors that decide
//! how a caller treats an answer (moodle-ws.md 1, 2.14, 4.1).
//!
//! A leaf: render, plan, site and run all read these, and none of them owns them.

/// The REST endpoint path under a site URL.
pub const REST_PATH: &str = "/webservice/rest/server.php";

/// The token endpoint path under a site URL (`login/token.php`).
pub const LOGIN_PATH: &str = "/login/token.php";

/// The control parameter carrying the token (always in the body, never in the URL).
pub const WSTOKEN: &str = "wstoken";

/// The control parameter naming the function.
pub const WSFUNCTION: &str = "wsfunction";

/// The control parameter choosing the answer's format.
pub const REST_FORMAT: &str = "moodlewsrestformat";

/// Form fields every request carries besides the records' own: `wstoken`,
/// `wsfunction`, `moodlewsrestformat`. They count against `max_input_vars`.
pub const CONTROL_FIELDS: usize = 3;

/// The text that stands for the token wherever it would otherwise be shown.
pub const REDACTED_TOKEN: &str = "REDACTED";

/// The function that answers for any valid token and lists the token's service.
pub const SITE_INFO: &str = "core_webservice_get_site_info";

/// Functions that apply a whole call in one transaction, so that an error
/// means nothing of the call was applied (moodle-ws.md 4.1).
pub const ROLLBACK_FUNCTIONS: &[&str] = &[
    "core_user_create_users",
    "core_user_delete_users",
    "enrol_manual_enrol_users",
    "enrol_manual_unenrol_users",
    "core_course_create_courses",
];

/// Error codes that refuse the token or the service, not a record: a run stops on them.
pub const REFUSAL_CODES: &[&str] = &[
    "invalidtoken",
    "accessexception",
    "sitemaintenance",
    "wsaccessuserunconfirmed",
];

/// Moodle's standard roles, as created at install (lib/db/install.php), by
/// the shortnames that may be assigned in a course context.
pub const STANDARD_ROLES: &[(&str, i64)] = &[
    ("manager", 1),
    ("editingteacher", 3),
    ("teacher", 4),
    ("student", 5),
];

/// What people call the standard roles, by the shortname Moodle gives them.
/// Moodle's `teacher` is the *non-editing* teacher (lib/db/install.php
/// creates `editingteacher` 3, then `teacher` 4, whose English name is
/// "Non-editing teacher", lang/en/role.php), so "noneditingteacher" must
/// find `teacher`, never `editingteacher`.
pub const ROLE_ALIASES: &[(&str, &str)] = &[
    ("noneditingteacher", "teacher"),
    ("nonediting", "teacher"),
    ("teacheredit", "editingteacher"),
    ("learner", "student"),
];

/// The role id of a standard role's shortname, or of a common name for it
/// ([`ROLE_ALIASES`]); case, spaces, `-` and `_` do not matter
/// (`Non-editing teacher` is `teacher`, 4).
pub fn role_id(name: &str) -> Option<i64> {
    let key: String = name
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    let shortname = ROLE_ALIASES
        .iter()
        .find(|(alias, _)| *alias == key)
        .map_or(key.as_str(), |(_, shortname)| *shortname);
    STANDARD_ROLES
        .iter()
        .find(|(n, _)| *n == shortname)
        .map(|(_, id)| *id)
}

#[cfg(test)]
mod tests {
    use super::role_id;

    #[test]
    fn role_names_and_aliases_find_moodles_ids() {
        let cases = [
            ("student", Some(5)),
            ("teacher", Some(4)),
            ("editingteacher", Some(3)),
            ("manager", Some(1)),
            ("noneditingteacher", Some(4)),
            ("Non-editing teacher", Some(4)),
            ("non_editing_teacher", Some(4)),
            ("Editing Teacher", Some(3)),
            ("Student", Some(5)),
            ("headmaster", None),
            ("", None),
        ];
        for (name, id) in cases {
            assert_eq!(role_id(name), id, "{name}");
        }
    }
}
