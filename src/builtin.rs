//! The built-in templates, embedded from `templates/` at build time.

use std::sync::LazyLock;

use crate::check::{compile, Catalog, Compiled};
use crate::diagnostic::Source;

/// File name and text of each built-in template file.
pub const BUILTIN_FILES: &[(&str, &str)] = &[
    (
        "create_users.moodle",
        include_str!("../templates/create_users.moodle"),
    ),
    (
        "update_users.moodle",
        include_str!("../templates/update_users.moodle"),
    ),
    (
        "enrol_users.moodle",
        include_str!("../templates/enrol_users.moodle"),
    ),
    (
        "unenrol_users.moodle",
        include_str!("../templates/unenrol_users.moodle"),
    ),
    (
        "create_courses.moodle",
        include_str!("../templates/create_courses.moodle"),
    ),
    (
        "users_by_field.moodle",
        include_str!("../templates/users_by_field.moodle"),
    ),
    (
        "enrolled_users.moodle",
        include_str!("../templates/enrolled_users.moodle"),
    ),
    ("courses.moodle", include_str!("../templates/courses.moodle")),
    (
        "courses_by_field.moodle",
        include_str!("../templates/courses_by_field.moodle"),
    ),
    (
        "categories.moodle",
        include_str!("../templates/categories.moodle"),
    ),
    (
        "grade_items.moodle",
        include_str!("../templates/grade_items.moodle"),
    ),
    ("site_info.moodle", include_str!("../templates/site_info.moodle")),
    (
        "delete_users.moodle",
        include_str!("../templates/delete_users.moodle"),
    ),
    (
        "update_courses.moodle",
        include_str!("../templates/update_courses.moodle"),
    ),
    (
        "delete_courses.moodle",
        include_str!("../templates/delete_courses.moodle"),
    ),
    (
        "assign_roles.moodle",
        include_str!("../templates/assign_roles.moodle"),
    ),
    (
        "unassign_roles.moodle",
        include_str!("../templates/unassign_roles.moodle"),
    ),
    (
        "create_categories.moodle",
        include_str!("../templates/create_categories.moodle"),
    ),
    (
        "update_categories.moodle",
        include_str!("../templates/update_categories.moodle"),
    ),
    (
        "create_groups.moodle",
        include_str!("../templates/create_groups.moodle"),
    ),
    (
        "add_group_members.moodle",
        include_str!("../templates/add_group_members.moodle"),
    ),
    (
        "delete_group_members.moodle",
        include_str!("../templates/delete_group_members.moodle"),
    ),
    (
        "delete_cohort_members.moodle",
        include_str!("../templates/delete_cohort_members.moodle"),
    ),
    (
        "send_messages.moodle",
        include_str!("../templates/send_messages.moodle"),
    ),
    (
        "create_notes.moodle",
        include_str!("../templates/create_notes.moodle"),
    ),
    ("users.moodle", include_str!("../templates/users.moodle")),
    (
        "user_courses.moodle",
        include_str!("../templates/user_courses.moodle"),
    ),
    (
        "course_contents.moodle",
        include_str!("../templates/course_contents.moodle"),
    ),
    (
        "course_groups.moodle",
        include_str!("../templates/course_groups.moodle"),
    ),
    ("cohorts.moodle", include_str!("../templates/cohorts.moodle")),
    (
        "enrolment_methods.moodle",
        include_str!("../templates/enrolment_methods.moodle"),
    ),
    (
        "completion_status.moodle",
        include_str!("../templates/completion_status.moodle"),
    ),
    (
        "create_cohorts.moodle",
        include_str!("../templates/create_cohorts.moodle"),
    ),
    (
        "add_cohort_members.moodle",
        include_str!("../templates/add_cohort_members.moodle"),
    ),
    (
        "update_grades.moodle",
        include_str!("../templates/update_grades.moodle"),
    ),
];

static BUILTINS: LazyLock<Compiled> = LazyLock::new(|| compile(&sources(), &Catalog::default()));

/// The built-in template files as sources named `builtin:FILE`.
pub fn sources() -> Vec<Source> {
    BUILTIN_FILES
        .iter()
        .map(|(name, text)| Source::new(format!("builtin:{name}"), *text))
        .collect()
}

/// The compiled built-in templates. Compiled once per process; a test proves
/// they compile without diagnostics, so the catalog holds all of them.
pub fn catalog() -> &'static Catalog {
    &BUILTINS.catalog
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_compile_cleanly() {
        let compiled = compile(&sources(), &Catalog::default());
        let messages: Vec<String> = compiled
            .diagnostics
            .iter()
            .map(|d| format!("{:?} {}: {}", d.source_name(), d.code.as_str(), d.message))
            .collect();
        assert!(messages.is_empty(), "{messages:#?}");
        for name in [
            "create_users",
            "update_users",
            "enrol_users",
            "unenrol_users",
            "create_courses",
            "delete_users",
            "update_courses",
            "delete_courses",
            "assign_roles",
            "unassign_roles",
            "create_categories",
            "update_categories",
            "create_groups",
            "add_group_members",
            "delete_group_members",
            "delete_cohort_members",
            "create_cohorts",
            "add_cohort_members",
            "update_grades",
            "send_messages",
            "create_notes",
            "users",
            "user_courses",
            "course_contents",
            "course_groups",
            "cohorts",
            "enrolment_methods",
            "completion_status",
        ] {
            assert!(catalog().get(name).is_some(), "missing built-in {name}");
        }
    }
}
