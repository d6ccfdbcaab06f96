//! Desired against actual: the changes of one step.
//!
//! Users and courses: a roster row Moodle lacks is created (unless `create
//! none`), one whose managed fields differ is updated, a record in scope the
//! roster lacks follows `missing`. Enrolments: a missing one is enrolled, a
//! suspended one the roster has is reactivated, a role that differs is
//! assigned and the other roles unassigned (manual enrolments assign roles
//! without a component, so core_role_assign_roles/unassign_roles manage
//! them), one in scope the roster lacks follows `missing`.

use serde_json::{json, Value as Json};

use super::actual::Actual;
use super::desired::{Desired, Row};
use super::fields::{comparable, diff, update_fields};
use super::model::{Action, Change, FieldChange, Fields};
use crate::template::{FieldType, Missing, ScalarType, SyncObject, SyncSpec, Template};

/// The changes of a step, and what it found equal.
#[derive(Debug, Clone, Default)]
pub struct StepDiff {
    /// Changes, numbered from 0 (the plan numbers them).
    pub changes: Vec<Change>,
    /// Rows equal on both sides.
    pub unchanged: u64,
    /// Fields sent on create only (Moodle never returns them).
    pub create_only: Vec<String>,
    /// Notes for the plan.
    pub notes: Vec<String>,
}

/// Role of an enrolment when the roster gives none: student (moodle-ws.md, standard roles).
const STUDENT: i64 = 5;

/// Fields a plan never writes down: they are read from the roster again when applied.
pub fn secret_fields(template: &Template) -> Vec<String> {
    template
        .fields
        .iter()
        .filter(|f| matches!(f.ty, FieldType::Scalar(ScalarType::Password)))
        .map(|f| f.name.clone())
        .collect()
}

/// The managed fields of a users or courses step: compared, and updated when they differ.
pub fn managed(template: &Template, spec: &SyncSpec) -> Vec<String> {
    match &spec.update {
        Some(fields) => fields.clone(),
        None => template
            .fields
            .iter()
            .map(|f| f.name.clone())
            .filter(|f| comparable(spec.object, f) && Some(f) != spec.key.as_ref())
            .collect(),
    }
}

/// What a change was computed from: the Moodle fields it compares, for drift.
pub fn before_of(object: SyncObject, managed: &[String], fields: &Fields) -> Fields {
    let keep = |name: &str| match object {
        SyncObject::Enrolments => true,
        SyncObject::Users => name == "id" || name == "suspended" || managed.iter().any(|m| m == name),
        SyncObject::Courses => name == "id" || managed.iter().any(|m| m == name),
    };
    fields
        .iter()
        .filter(|(name, _)| keep(name))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The changes that make Moodle equal to `desired` for a step.
pub fn step(
    template: &Template,
    spec: &SyncSpec,
    desired: &Desired,
    actual: &Actual,
    removals: bool,
) -> StepDiff {
    match spec.object {
        SyncObject::Users | SyncObject::Courses => records(template, spec, desired, actual, removals),
        SyncObject::Enrolments => enrolments(spec, desired, actual, removals),
    }
}

fn change(
    action: Action,
    row_key: &std::collections::BTreeMap<String, String>,
    record: Option<u64>,
) -> Change {
    Change {
        id: 0,
        action,
        key: row_key.clone(),
        record,
        before: None,
        diff: Vec::new(),
        send: Fields::new(),
    }
}

fn id_of(fields: &Fields) -> Json {
    fields.get("id").cloned().unwrap_or(Json::Null)
}

fn is_set(value: Option<&Json>) -> bool {
    super::fields::canonical(value) == "1"
}

fn records(
    template: &Template,
    spec: &SyncSpec,
    desired: &Desired,
    actual: &Actual,
    removals: bool,
) -> StepDiff {
    let managed = managed(template, spec);
    let secrets = secret_fields(template);
    let mut out = StepDiff {
        // What the roster sends that Moodle never returns.
        create_only: template
            .fields
            .iter()
            .map(|f| f.name.clone())
            .filter(|f| !comparable(spec.object, f) && Some(f) != spec.key.as_ref())
            .filter(|f| desired.rows.values().any(|row| row.fields.contains_key(f)))
            .collect(),
        ..StepDiff::default()
    };
    let users = spec.object == SyncObject::Users;
    // A leaver who comes back is reactivated when the sync suspends leavers.
    let owns_suspension =
        users && spec.missing == Missing::Suspend && !managed.iter().any(|m| m == "suspended");
    let mut not_created = 0;
    for (joined, row) in &desired.rows {
        if actual.problems.contains_key(joined) {
            continue;
        }
        match actual.records.get(joined) {
            None if spec.create => out.changes.push(create(row, &secrets)),
            None => not_created += 1,
            Some(moodle) => {
                let mut changes = diff(&managed, &row.fields, &moodle.fields);
                if owns_suspension && is_set(moodle.fields.get("suspended")) {
                    changes.push(FieldChange {
                        field: "suspended".to_owned(),
                        old: moodle.fields.get("suspended").cloned().unwrap_or(Json::Null),
                        new: json!(0),
                    });
                }
                if changes.is_empty() {
                    out.unchanged += 1;
                    continue;
                }
                let action = if changes.len() == 1 && owns_suspension && changes[0].field == "suspended" {
                    Action::Reactivate
                } else {
                    Action::Update
                };
                let mut c = change(action, &row.key, Some(row.record));
                c.send = update_fields(&changes);
                c.send.insert("id".to_owned(), id_of(&moodle.fields));
                c.before = Some(before_of(spec.object, &managed, &moodle.fields));
                c.diff = changes;
                out.changes.push(c);
            }
        }
    }
    if not_created > 0 {
        out.notes.push(format!(
            "{not_created} roster row(s) have no Moodle record and are not created (`create none`)"
        ));
    }
    if removals {
        for joined in &actual.in_scope {
            // A key Moodle holds more than once is never removed on a guess.
            if desired.rows.contains_key(joined) || actual.problems.contains_key(joined) {
                continue;
            }
            let Some(moodle) = actual.records.get(joined) else {
                continue;
            };
            let action = match spec.missing {
                Missing::Suspend if users && !is_set(moodle.fields.get("suspended")) => Action::Suspend,
                Missing::Delete => Action::Delete,
                _ => continue,
            };
            let mut c = change(action, &moodle.key, None);
            c.send.insert("id".to_owned(), id_of(&moodle.fields));
            if action == Action::Suspend {
                c.send.insert("suspended".to_owned(), json!(1));
            }
            c.before = Some(before_of(spec.object, &managed, &moodle.fields));
            out.changes.push(c);
        }
    }
    out
}

fn create(row: &Row, secrets: &[String]) -> Change {
    let mut c = change(Action::Create, &row.key, Some(row.record));
    c.send = row
        .fields
        .iter()
        .filter(|(name, _)| !secrets.contains(name))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    c
}

fn roles(fields: &Fields) -> Vec<i64> {
    fields
        .get("roles")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(Json::as_i64)
        .collect()
}

fn enrolments(spec: &SyncSpec, desired: &Desired, actual: &Actual, removals: bool) -> StepDiff {
    let mut out = StepDiff::default();
    for (joined, row) in &desired.rows {
        if actual.problems.contains_key(joined) {
            continue;
        }
        let role = row.fields.get("roleid").and_then(Json::as_i64).unwrap_or(STUDENT);
        let course = row.key.get("course").cloned().unwrap_or_default();
        let courseid = actual.course_ids.get(&course).copied();
        match actual.records.get(joined) {
            None => {
                let mut c = change(Action::Enrol, &row.key, Some(row.record));
                c.send = row.fields.clone();
                c.send.remove("userid");
                if let Some(id) = courseid {
                    c.send.insert("courseid".to_owned(), json!(id));
                }
                c.send.insert("roleid".to_owned(), json!(role));
                out.changes.push(c);
            }
            Some(moodle) => {
                let before = before_of(SyncObject::Enrolments, &[], &moodle.fields);
                let suspended = moodle.fields.get("status").and_then(Json::as_str) == Some("suspended");
                let have = roles(&moodle.fields);
                let mut changed = false;
                if suspended {
                    // Re-enrolling sets the dates the roster gives (0 when it
                    // gives none) and makes the enrolment active (`suspend = 0`).
                    let mut c = change(Action::Reactivate, &row.key, Some(row.record));
                    c.send = row.fields.clone();
                    c.send
                        .insert("userid".to_owned(), moodle.fields["userid"].clone());
                    c.send
                        .insert("courseid".to_owned(), moodle.fields["courseid"].clone());
                    c.send.insert("roleid".to_owned(), json!(role));
                    c.send.insert("suspend".to_owned(), json!(0));
                    c.before = Some(before.clone());
                    out.changes.push(c);
                    changed = true;
                }
                if !have.contains(&role) {
                    let mut c = change(Action::Assign, &row.key, Some(row.record));
                    c.send = role_fields(role, &moodle.fields);
                    c.before = Some(before.clone());
                    c.diff = vec![role_change(&have, role)];
                    out.changes.push(c);
                    changed = true;
                }
                for other in have.iter().filter(|r| **r != role) {
                    let mut c = change(Action::Unassign, &row.key, Some(row.record));
                    c.send = role_fields(*other, &moodle.fields);
                    c.before = Some(before.clone());
                    c.diff = vec![role_change(&have, role)];
                    out.changes.push(c);
                    changed = true;
                }
                if !changed {
                    out.unchanged += 1;
                }
            }
        }
    }
    if removals {
        for joined in &actual.in_scope {
            // A key Moodle holds more than once is never removed on a guess.
            if desired.rows.contains_key(joined) || actual.problems.contains_key(joined) {
                continue;
            }
            let Some(moodle) = actual.records.get(joined) else {
                continue;
            };
            let active = moodle.fields.get("status").and_then(Json::as_str) == Some("active");
            let action = match spec.missing {
                Missing::Suspend if active => Action::Suspend,
                Missing::Unenrol => Action::Unenrol,
                _ => continue,
            };
            let mut c = change(action, &moodle.key, None);
            c.send
                .insert("userid".to_owned(), moodle.fields["userid"].clone());
            c.send
                .insert("courseid".to_owned(), moodle.fields["courseid"].clone());
            if action == Action::Suspend {
                let role = roles(&moodle.fields).first().copied().unwrap_or(STUDENT);
                c.send.insert("roleid".to_owned(), json!(role));
                c.send.insert("suspend".to_owned(), json!(1));
            }
            c.before = Some(before_of(SyncObject::Enrolments, &[], &moodle.fields));
            out.changes.push(c);
        }
    }
    out
}

/// core_role_assign_roles / unassign_roles fields for `role` in an enrolment's course.
fn role_fields(role: i64, enrolment: &Fields) -> Fields {
    Fields::from([
        ("roleid".to_owned(), json!(role)),
        ("userid".to_owned(), enrolment["userid"].clone()),
        ("contextlevel".to_owned(), json!("course")),
        ("instanceid".to_owned(), enrolment["courseid"].clone()),
    ])
}

fn role_change(have: &[i64], want: i64) -> FieldChange {
    FieldChange {
        field: "roles".to_owned(),
        old: json!(have),
        new: json!([want]),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::builtin;
    use crate::sync::actual::Record;
    use crate::sync::desired::{joined, Row};

    fn fields(value: Json) -> Fields {
        value
            .as_object()
            .map(|o| o.clone().into_iter().collect())
            .unwrap_or_default()
    }

    fn key(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn users_spec(missing: Missing) -> SyncSpec {
        SyncSpec {
            object: SyncObject::Users,
            key: Some("username".to_owned()),
            update: None,
            create: true,
            scope: vec![crate::template::ScopeRule::Equals {
                field: "auth".to_owned(),
                value: "manual".to_owned(),
            }],
            missing,
        }
    }

    fn desired(rows: &[(&str, Json)]) -> Desired {
        let mut d = Desired::default();
        for (i, (username, f)) in rows.iter().enumerate() {
            let k = key(&[("username", username)]);
            d.rows.insert(
                joined(&k),
                Row {
                    record: i as u64 + 1,
                    line: i as u64 + 2,
                    key: k,
                    fields: fields(f.clone()),
                },
            );
        }
        d.records = rows.len() as u64;
        d
    }

    fn actual(users: &[(&str, Json)]) -> Actual {
        let mut a = Actual::default();
        for (username, f) in users {
            let k = key(&[("username", username)]);
            a.in_scope.insert(joined(&k));
            a.records.insert(
                joined(&k),
                Record {
                    key: k,
                    fields: fields(f.clone()),
                },
            );
        }
        a
    }

    fn actions(diff: &StepDiff) -> Vec<(Action, String)> {
        diff.changes
            .iter()
            .map(|c| (c.action, c.key.values().cloned().collect::<Vec<_>>().join("/")))
            .collect()
    }

    #[test]
    fn create_update_suspend_and_unchanged() {
        let template = builtin::catalog().get("create_users").unwrap();
        let want = desired(&[
            (
                "new",
                json!({"username": "new", "firstname": "N", "lastname": "W", "email": "n@x.org", "password": "Secret-123"}),
            ),
            (
                "same",
                json!({"username": "same", "firstname": "S", "lastname": "A", "email": "s@x.org"}),
            ),
            (
                "moved",
                json!({"username": "moved", "firstname": "M", "lastname": "Novak", "email": "m@x.org"}),
            ),
        ]);
        let have = actual(&[
            (
                "same",
                json!({"id": 3, "username": "same", "firstname": "S", "lastname": "A", "email": "s@x.org", "suspended": false}),
            ),
            (
                "moved",
                json!({"id": 4, "username": "moved", "firstname": "M", "lastname": "Novakova", "email": "m@x.org", "suspended": false}),
            ),
            (
                "leaver",
                json!({"id": 5, "username": "leaver", "firstname": "L", "lastname": "V", "email": "l@x.org", "suspended": false}),
            ),
        ]);
        let mut diff = step(template, &users_spec(Missing::Suspend), &want, &have, true);
        diff.changes.sort_by_key(|c| c.action);
        assert_eq!(
            actions(&diff),
            vec![
                (Action::Create, "new".to_owned()),
                (Action::Update, "moved".to_owned()),
                (Action::Suspend, "leaver".to_owned())
            ]
        );
        assert_eq!(diff.unchanged, 1);
        let create = &diff.changes[0];
        assert!(
            !create.send.contains_key("password"),
            "a plan never holds a password: {:?}",
            create.send
        );
        let update = &diff.changes[1];
        assert_eq!(update.send, fields(json!({"id": 4, "lastname": "Novak"})));
        assert_eq!(update.diff[0].old, json!("Novakova"));
        assert_eq!(diff.changes[2].send, fields(json!({"id": 5, "suspended": 1})));
        assert!(diff.create_only.contains(&"password".to_owned()));
    }

    #[test]
    fn no_removals_when_told_and_keep_removes_nothing() {
        let template = builtin::catalog().get("create_users").unwrap();
        let have = actual(&[(
            "leaver",
            json!({"id": 5, "username": "leaver", "suspended": false}),
        )]);
        let diff = step(
            template,
            &users_spec(Missing::Suspend),
            &Desired::default(),
            &have,
            false,
        );
        assert!(diff.changes.is_empty());
        let diff = step(
            template,
            &users_spec(Missing::Keep),
            &Desired::default(),
            &have,
            true,
        );
        assert!(diff.changes.is_empty());
        let diff = step(
            template,
            &users_spec(Missing::Delete),
            &Desired::default(),
            &have,
            true,
        );
        assert_eq!(actions(&diff), vec![(Action::Delete, "leaver".to_owned())]);
    }

    #[test]
    fn a_key_moodle_holds_twice_is_never_removed() {
        let template = builtin::catalog().get("create_users").unwrap();
        let mut have = actual(&[("twice", json!({"id": 8, "username": "twice", "suspended": false}))]);
        have.problems
            .insert(joined(&key(&[("username", "twice")])), "several".to_owned());
        let diff = step(
            template,
            &users_spec(Missing::Delete),
            &Desired::default(),
            &have,
            true,
        );
        assert!(diff.changes.is_empty(), "{:?}", diff.changes);
    }

    #[test]
    fn a_suspended_user_back_in_the_roster_is_reactivated() {
        let template = builtin::catalog().get("create_users").unwrap();
        let want = desired(&[("back", json!({"username": "back", "firstname": "B"}))]);
        let have = actual(&[(
            "back",
            json!({"id": 7, "username": "back", "firstname": "B", "suspended": true}),
        )]);
        let diff = step(template, &users_spec(Missing::Suspend), &want, &have, true);
        assert_eq!(actions(&diff), vec![(Action::Reactivate, "back".to_owned())]);
        assert_eq!(diff.changes[0].send, fields(json!({"id": 7, "suspended": 0})));
        // With `missing keep` the sync does not own suspension.
        let diff = step(template, &users_spec(Missing::Keep), &want, &have, true);
        assert!(diff.changes.is_empty());
    }

    fn enrolment_spec(missing: Missing) -> SyncSpec {
        SyncSpec {
            object: SyncObject::Enrolments,
            key: None,
            update: None,
            create: true,
            scope: Vec::new(),
            missing,
        }
    }

    fn enrolments(rows: &[(&str, &str, i64)], have: &[(&str, &str, i64, &str)]) -> (Desired, Actual) {
        let mut d = Desired::default();
        for (i, (user, course, role)) in rows.iter().enumerate() {
            let k = key(&[("user", user), ("course", course)]);
            d.rows.insert(
                joined(&k),
                Row {
                    record: i as u64 + 1,
                    line: i as u64 + 2,
                    key: k,
                    fields: fields(json!({"roleid": role})),
                },
            );
        }
        d.records = rows.len() as u64;
        let mut a = Actual::default();
        for (n, (user, course, role, status)) in have.iter().enumerate() {
            let k = key(&[("user", user), ("course", course)]);
            a.in_scope.insert(joined(&k));
            a.course_ids.insert((*course).to_owned(), 10);
            a.records.insert(
                joined(&k),
                Record {
                    key: k,
                    fields: fields(
                        json!({"userid": n + 100, "courseid": 10, "roles": [role], "status": status}),
                    ),
                },
            );
        }
        (d, a)
    }

    #[test]
    fn enrolments_enrol_reactivate_change_role_and_suspend() {
        let template = builtin::catalog().get("enrol_users").unwrap();
        let (want, have) = enrolments(
            &[
                ("ann", "M1", 5),
                ("bob", "M1", 3),
                ("cid", "M1", 5),
                ("dee", "M1", 5),
            ],
            &[
                ("bob", "M1", 5, "active"),
                ("cid", "M1", 5, "suspended"),
                ("dee", "M1", 5, "active"),
                ("eve", "M1", 5, "active"),
            ],
        );
        let diff = step(template, &enrolment_spec(Missing::Suspend), &want, &have, true);
        let mut got = actions(&diff);
        got.sort();
        assert_eq!(
            got,
            vec![
                (Action::Reactivate, "M1/cid".to_owned()),
                (Action::Enrol, "M1/ann".to_owned()),
                (Action::Assign, "M1/bob".to_owned()),
                (Action::Unassign, "M1/bob".to_owned()),
                (Action::Suspend, "M1/eve".to_owned()),
            ]
        );
        assert_eq!(diff.unchanged, 1);
        let suspend = diff.changes.iter().find(|c| c.action == Action::Suspend).unwrap();
        assert_eq!(suspend.send["suspend"], json!(1));
        assert_eq!(suspend.send["roleid"], json!(5));
        let reactivate = diff
            .changes
            .iter()
            .find(|c| c.action == Action::Reactivate)
            .unwrap();
        assert_eq!(reactivate.send["suspend"], json!(0));
        let assign = diff.changes.iter().find(|c| c.action == Action::Assign).unwrap();
        assert_eq!(assign.send["roleid"], json!(3));
        assert_eq!(assign.send["contextlevel"], json!("course"));
        let unassign = diff
            .changes
            .iter()
            .find(|c| c.action == Action::Unassign)
            .unwrap();
        assert_eq!(unassign.send["roleid"], json!(5));
        let diff = step(template, &enrolment_spec(Missing::Unenrol), &want, &have, true);
        assert!(diff
            .changes
            .iter()
            .any(|c| c.action == Action::Unenrol && c.key["user"] == "eve"));
    }
}
