//! The simulated web-service functions: each one's parameter description
//! and behaviour, per moodle-ws.md section 2 and the Moodle source each
//! module names.

mod categories;
mod cohorts;
mod contents;
mod courses;
mod enrol;
mod grades;
mod groups;
mod messages;
mod site;
mod users;

use serde_json::Value;

use super::config::SiteConfig;
use super::params::{Desc, Rec};
use super::response::WsError;
use super::state::SiteState;

/// What a function may see and change.
pub struct Ctx<'a> {
    pub site: &'a SiteConfig,
    pub state: &'a mut SiteState,
    /// The token's user.
    pub caller: i64,
    /// The functions of the token's service (get_site_info lists them).
    pub service_functions: &'a [String],
    pub site_url: &'a str,
    /// Set when the call changed the state (a transaction was committed).
    pub committed: bool,
}

/// A function of the catalogue.
pub struct Function {
    pub name: &'static str,
    /// Writes are what faults target by default.
    pub writes: bool,
    pub params: fn(&SiteConfig) -> Desc,
    pub run: fn(&mut Ctx, Rec) -> Result<Value, WsError>,
}

/// Every function the simulator knows; any other name is an unknown
/// function (`invalidrecord`, 1.5).
pub const FUNCTIONS: &[Function] = &[
    Function {
        name: "core_user_create_users",
        writes: true,
        params: users::create_params,
        run: users::create_users,
    },
    Function {
        name: "core_user_update_users",
        writes: true,
        params: users::update_params,
        run: users::update_users,
    },
    Function {
        name: "core_user_get_users_by_field",
        writes: false,
        params: users::by_field_params,
        run: users::get_users_by_field,
    },
    Function {
        name: "enrol_manual_enrol_users",
        writes: true,
        params: enrol::enrol_params,
        run: enrol::enrol_users,
    },
    Function {
        name: "enrol_manual_unenrol_users",
        writes: true,
        params: enrol::unenrol_params,
        run: enrol::unenrol_users,
    },
    Function {
        name: "core_course_create_courses",
        writes: true,
        params: courses::create_params,
        run: courses::create_courses,
    },
    Function {
        name: "core_course_get_courses_by_field",
        writes: false,
        params: courses::by_field_params,
        run: courses::get_courses_by_field,
    },
    Function {
        name: "core_course_get_courses",
        writes: false,
        params: courses::get_courses_params,
        run: courses::get_courses,
    },
    Function {
        name: "core_course_get_categories",
        writes: false,
        params: courses::get_categories_params,
        run: courses::get_categories,
    },
    Function {
        name: "core_enrol_get_enrolled_users",
        writes: false,
        params: enrol::enrolled_params,
        run: enrol::get_enrolled_users,
    },
    Function {
        name: "gradereport_user_get_grade_items",
        writes: false,
        params: grades::grade_items_params,
        run: grades::get_grade_items,
    },
    Function {
        name: "core_user_get_users",
        writes: false,
        params: users::get_users_params,
        run: users::get_users,
    },
    Function {
        name: "core_user_delete_users",
        writes: true,
        params: users::delete_users_params,
        run: users::delete_users,
    },
    Function {
        name: "core_enrol_get_course_enrolment_methods",
        writes: false,
        params: enrol::methods_params,
        run: enrol::get_course_enrolment_methods,
    },
    Function {
        name: "core_role_assign_roles",
        writes: true,
        params: enrol::assign_params,
        run: enrol::assign_roles,
    },
    Function {
        name: "core_role_unassign_roles",
        writes: true,
        params: enrol::unassign_params,
        run: enrol::unassign_roles,
    },
    Function {
        name: "core_course_update_courses",
        writes: true,
        params: courses::update_params,
        run: courses::update_courses,
    },
    Function {
        name: "core_course_delete_courses",
        writes: true,
        params: courses::delete_params,
        run: courses::delete_courses,
    },
    Function {
        name: "core_webservice_get_site_info",
        writes: false,
        params: site::site_info_params,
        run: site::get_site_info,
    },
    Function {
        name: "core_course_create_categories",
        writes: true,
        params: categories::create_params,
        run: categories::create_categories,
    },
    Function {
        name: "core_course_update_categories",
        writes: true,
        params: categories::update_params,
        run: categories::update_categories,
    },
    Function {
        name: "core_group_create_groups",
        writes: true,
        params: groups::create_params,
        run: groups::create_groups,
    },
    Function {
        name: "core_group_add_group_members",
        writes: true,
        params: groups::add_members_params,
        run: groups::add_group_members,
    },
    Function {
        name: "core_group_delete_group_members",
        writes: true,
        params: groups::delete_members_params,
        run: groups::delete_group_members,
    },
    Function {
        name: "core_group_get_course_groups",
        writes: false,
        params: groups::course_groups_params,
        run: groups::get_course_groups,
    },
    Function {
        name: "core_cohort_create_cohorts",
        writes: true,
        params: cohorts::create_params,
        run: cohorts::create_cohorts,
    },
    Function {
        name: "core_cohort_add_cohort_members",
        writes: true,
        params: cohorts::add_members_params,
        run: cohorts::add_cohort_members,
    },
    Function {
        name: "core_cohort_delete_cohort_members",
        writes: true,
        params: cohorts::delete_members_params,
        run: cohorts::delete_cohort_members,
    },
    Function {
        name: "core_cohort_get_cohorts",
        writes: false,
        params: cohorts::get_params,
        run: cohorts::get_cohorts,
    },
    Function {
        name: "core_grades_update_grades",
        writes: true,
        params: grades::update_grades_params,
        run: grades::update_grades,
    },
    Function {
        name: "core_message_send_instant_messages",
        writes: true,
        params: messages::send_params,
        run: messages::send_instant_messages,
    },
    Function {
        name: "core_notes_create_notes",
        writes: true,
        params: messages::notes_params,
        run: messages::create_notes,
    },
    Function {
        name: "core_enrol_get_users_courses",
        writes: false,
        params: enrol::users_courses_params,
        run: enrol::get_users_courses,
    },
    Function {
        name: "core_course_get_contents",
        writes: false,
        params: contents::contents_params,
        run: contents::get_contents,
    },
    Function {
        name: "core_completion_get_course_completion_status",
        writes: false,
        params: contents::completion_params,
        run: contents::get_course_completion_status,
    },
];

pub fn find(name: &str) -> Option<&'static Function> {
    FUNCTIONS.iter().find(|f| f.name == name)
}

/// PHP's `empty()` on a string: '' and '0' are empty.
pub fn php_empty(s: &str) -> bool {
    s.is_empty() || s == "0"
}

/// PHP's `trim()` character set.
pub fn php_trim(s: &str) -> &str {
    s.trim_matches([' ', '\t', '\n', '\r', '\0', '\u{0B}'])
}

/// The SQL part of a DML debuginfo, as Moodle prints it.
pub fn sql_debug(sql: &str, value: &str) -> String {
    format!("{sql}\n[array (\n  0 => '{value}',\n)]")
}

/// A column too short for the value: the insert fails and the transaction
/// rolls back (moodle-ws.md 3.2).
pub fn check_column(table: &str, column: &str, value: &str, max_chars: usize) -> Result<(), WsError> {
    if value.chars().count() <= max_chars {
        return Ok(());
    }
    Err(WsError::write(format!(
        "ERROR:  value too long for type character varying({max_chars})\nINSERT INTO mdl_{table} ({column}) …"
    )))
}
