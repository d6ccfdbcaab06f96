//! The values Moodle would refuse to search for, found before sending.
//!
//! core_user_get_users_by_field cleans each value with the user field's
//! PARAM type and throws `invalid_parameter_exception` for the WHOLE call
//! when cleaning changes one: a single uppercase username would sink a
//! hundred lookups. core_course_get_courses_by_field cleans silently, so an
//! unclean value would search for something else than the record says.
//! Either way the value is that record's error, decided here.

use crate::moodle::params;
use crate::moodle::Rejection;
use crate::template::LookupKind;

use super::Key;

/// Why Moodle would not search for `key` as given, if it would not.
pub(super) fn rejection(key: &Key) -> Option<String> {
    let value = key.value.as_str();
    let checked: Result<(), Rejection> = match (key.kind, key.field.as_str()) {
        (_, "id") => params::int(value).map(|_| ()),
        (LookupKind::User, "username") => params::username(value),
        (LookupKind::User, "email") => params::raw_trimmed(value),
        (LookupKind::Course, "shortname") => params::text(value),
        // idnumber: PARAM_RAW for users and courses.
        _ => params::raw(value),
    };
    checked.err().map(|rejection| rejection.to_string())
}
