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

/// The role id of a standard role's shortname.
pub fn role_id(name: &str) -> Option<i64> {
    STANDARD_ROLES.iter().find(|(n, _)| *n == name).map(|(_, id)| *id)
}
