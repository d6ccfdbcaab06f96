//! Comparing what the roster says with what Moodle stores, field by field.
//!
//! Moodle answers reads with what it stored, not what was sent, and leaves
//! many fields out when they are empty (`user_get_user_details` in
//! user/lib.php returns `idnumber`, `institution`, `phone1`... only when
//! set). So only the fields Moodle returns are compared, an absent field is
//! an empty one, and both sides are brought to one canonical text: trimmed
//! strings, booleans as 0/1, integral numbers without a fraction. Custom
//! profile fields are compared one by one, by short name
//! (`customfields.dept`); Moodle returns them as `shortname`/`value`, and
//! takes them as `type`/`value`.

use std::collections::BTreeMap;

use serde_json::{json, Value as Json};

use super::model::{FieldChange, Fields};
use crate::form::FieldValue;
use crate::template::{Field, SyncObject, Value};

/// What Moodle returns of a user (user/lib.php `user_get_user_details`): the
/// fields a user sync can compare. Everything else a template sends
/// (password, middlename, preferences...) is set on create only.
const USER_FIELDS: &[&str] = &[
    "username",
    "firstname",
    "lastname",
    "email",
    "auth",
    "suspended",
    "idnumber",
    "institution",
    "department",
    "phone1",
    "phone2",
    "address",
    "city",
    "country",
    "lang",
    "calendartype",
    "theme",
    "timezone",
    "mailformat",
    "description",
    "interests",
    "customfields",
];

/// What core_course_get_courses returns of a course that create_courses also takes.
const COURSE_FIELDS: &[&str] = &[
    "shortname",
    "fullname",
    "categoryid",
    "idnumber",
    "summary",
    "summaryformat",
    "format",
    "showgrades",
    "newsitems",
    "startdate",
    "enddate",
    "maxbytes",
    "showreports",
    "visible",
    "groupmode",
    "groupmodeforce",
    "defaultgroupingid",
    "enablecompletion",
    "completionnotify",
    "lang",
    "forcetheme",
];

/// The list of custom profile fields, as create_users/update_users take it.
pub const CUSTOM_FIELDS: &str = "customfields";

/// Whether Moodle returns `field` of an `object`, so that a sync can compare it.
pub fn comparable(object: SyncObject, field: &str) -> bool {
    match object {
        SyncObject::Users => USER_FIELDS.contains(&field),
        SyncObject::Courses => COURSE_FIELDS.contains(&field),
        SyncObject::Enrolments => false,
    }
}

/// One value in its canonical text.
pub fn canonical(value: Option<&Json>) -> String {
    match value {
        None | Some(Json::Null) => String::new(),
        Some(Json::String(s)) => s.trim().to_owned(),
        Some(Json::Bool(b)) => if *b { "1" } else { "0" }.to_owned(),
        Some(Json::Number(n)) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => format!("{}", f as i64),
            _ => n.to_string(),
        },
        Some(other) => other.to_string(),
    }
}

/// A record's custom profile fields, by short name. Moodle's answer names
/// them `shortname`; what create/update take names them `type`.
pub fn custom_fields(record: &Fields) -> BTreeMap<String, Json> {
    let mut out = BTreeMap::new();
    if let Some(Json::Array(items)) = record.get(CUSTOM_FIELDS) {
        for item in items {
            let name = item
                .get("shortname")
                .or_else(|| item.get("type"))
                .and_then(Json::as_str);
            if let Some(name) = name {
                out.insert(name.to_owned(), item.get("value").cloned().unwrap_or(Json::Null));
            }
        }
    }
    out
}

/// The managed fields of `desired` that differ from `actual`, in field
/// order; custom profile fields as `customfields.NAME`.
pub fn diff(managed: &[String], desired: &Fields, actual: &Fields) -> Vec<FieldChange> {
    let mut changes = Vec::new();
    for field in managed {
        let Some(new) = desired.get(field) else {
            continue;
        };
        if field == CUSTOM_FIELDS {
            let have = custom_fields(actual);
            for (name, value) in custom_fields(desired) {
                let old = have.get(&name).cloned().unwrap_or(Json::Null);
                if canonical(Some(&value)) != canonical(Some(&old)) {
                    changes.push(FieldChange {
                        field: format!("{CUSTOM_FIELDS}.{name}"),
                        old,
                        new: value,
                    });
                }
            }
            continue;
        }
        let old = actual.get(field);
        if canonical(Some(new)) != canonical(old) {
            changes.push(FieldChange {
                field: field.clone(),
                old: old.cloned().unwrap_or(Json::Null),
                new: new.clone(),
            });
        }
    }
    changes
}

/// What an update sends for `changes`: the plain fields, and the changed
/// custom profile fields as one `customfields` list.
pub fn update_fields(changes: &[FieldChange]) -> Fields {
    let mut send = Fields::new();
    let mut custom = Vec::new();
    for change in changes {
        match change.field.strip_prefix("customfields.") {
            Some(name) => custom.push(json!({ "type": name, "value": change.new })),
            None => {
                send.insert(change.field.clone(), change.new.clone());
            }
        }
    }
    if !custom.is_empty() {
        send.insert(CUSTOM_FIELDS.to_owned(), Json::Array(custom));
    }
    send
}

/// A record's values as JSON by field name (`values` by position in `fields`),
/// booleans as Moodle answers them in records compared here: 0/1.
pub fn to_json(fields: &[Field], values: &[(usize, FieldValue)]) -> Fields {
    crate::form::values_json(fields, values, &scalar_json)
        .into_iter()
        .collect()
}

fn scalar_json(value: &Value) -> Json {
    match value {
        Value::Int(i) => json!(i),
        Value::Float(f) => json!(f),
        Value::Bool(b) => json!(if *b { 1 } else { 0 }),
        Value::Str(s) => json!(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(value: Json) -> Fields {
        value
            .as_object()
            .map(|o| o.clone().into_iter().collect())
            .unwrap_or_default()
    }

    #[test]
    fn equal_values_in_other_forms_are_no_change() {
        let managed: Vec<String> = ["suspended", "mailformat", "city", "idnumber"]
            .map(str::to_owned)
            .to_vec();
        let desired = fields(json!({"suspended": 0, "mailformat": "1", "city": " Brno ", "idnumber": ""}));
        // Moodle leaves an empty idnumber out, and answers booleans as booleans.
        let actual = fields(json!({"suspended": false, "mailformat": 1, "city": "Brno"}));
        assert_eq!(diff(&managed, &desired, &actual), Vec::new());
    }

    #[test]
    fn a_changed_field_shows_old_and_new() {
        let managed = vec!["lastname".to_owned(), "city".to_owned()];
        let desired = fields(json!({"lastname": "Novak", "city": "Brno"}));
        let actual = fields(json!({"lastname": "Novakova", "city": "Brno"}));
        let changes = diff(&managed, &desired, &actual);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].field, "lastname");
        assert_eq!(changes[0].old, json!("Novakova"));
        assert_eq!(changes[0].new, json!("Novak"));
    }

    #[test]
    fn custom_fields_compare_by_short_name_and_update_as_type_value() {
        let managed = vec![CUSTOM_FIELDS.to_owned()];
        let desired = fields(
            json!({"customfields": [{"type": "dept", "value": "HR"}, {"type": "site", "value": "B"}]}),
        );
        let actual = fields(json!({"customfields": [
            {"type": "text", "shortname": "dept", "name": "Department", "value": "HR"},
            {"type": "text", "shortname": "site", "name": "Site", "value": "A"},
            {"type": "text", "shortname": "other", "name": "Other", "value": "x"}
        ]}));
        let changes = diff(&managed, &desired, &actual);
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(changes[0].field, "customfields.site");
        let send = update_fields(&changes);
        assert_eq!(send["customfields"], json!([{"type": "site", "value": "B"}]));
    }

    #[test]
    fn only_returned_fields_are_comparable() {
        assert!(comparable(SyncObject::Users, "lastname"));
        assert!(!comparable(SyncObject::Users, "password"));
        assert!(!comparable(SyncObject::Users, "middlename"));
        assert!(comparable(SyncObject::Courses, "fullname"));
    }
}
