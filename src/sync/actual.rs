//! The actual state: what Moodle holds for a step, read in bulk.
//!
//! - users: the scope with one core_user_get_users call, then the roster's
//!   keys not in it with core_user_get_users_by_field, 100 values a call;
//! - courses: every course with one core_course_get_courses call;
//! - enrolments: each course in scope with core_enrol_get_enrolled_users,
//!   once with every participant and once with `onlyactive`, so that
//!   suspended enrolments (and ones outside their dates) tell apart.
//!
//! Reads of several courses run concurrently, as many at once as allowed.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::stream::{self, StreamExt};
use serde_json::{json, Value as Json};

use super::desired::{describe, joined, normalise_key, Desired, KeySpec};
use super::model::{json_text, Fields};
use crate::site::find::{self, Found};
use crate::site::{ReadError, Session};
use crate::template::{LookupKind, ScopeRule, SyncObject, SyncSpec};

/// What Moodle holds for one step.
#[derive(Debug, Clone, Default)]
pub struct Actual {
    /// Moodle records by joined key: those the roster names and those in scope.
    pub records: BTreeMap<String, Record>,
    /// The keys of the records in scope: the only ones a removal may touch.
    pub in_scope: BTreeSet<String>,
    /// Roster rows that cannot be planned, by joined key, and why.
    pub problems: BTreeMap<String, String>,
    /// Notes for the plan (e.g. users in scope without a key).
    pub notes: Vec<String>,
    /// Enrolments: the ids of the courses in scope, by course key.
    pub course_ids: BTreeMap<String, i64>,
    /// Enrolments: the ids of roster users not enrolled yet, by user key.
    pub user_ids: BTreeMap<String, i64>,
}

/// One Moodle record, with its key.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Its key values by key name.
    pub key: BTreeMap<String, String>,
    /// Its fields as Moodle answered them (for enrolments: userid, courseid,
    /// roles, status).
    pub fields: Fields,
}

/// Read what Moodle holds for a step whose roster is `desired`.
///
/// # Errors
/// A read Moodle refused, or no answer after the retries.
pub async fn read(
    session: &Session,
    spec: &SyncSpec,
    key: &KeySpec,
    desired: &Desired,
    concurrency: usize,
) -> Result<Actual, ReadError> {
    match spec.object {
        SyncObject::Users => users(session, spec, key, desired).await,
        SyncObject::Courses => courses(session, spec, key).await,
        SyncObject::Enrolments => enrolments(session, spec, key, desired, concurrency).await,
    }
}

fn object_fields(value: &Json) -> Fields {
    value
        .as_object()
        .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

/// A field of a Moodle record as text; absent is empty.
fn text(value: Option<&Json>) -> String {
    value.map(json_text).unwrap_or_default()
}

/// The one-part key of a user or course record, if it has one.
fn single_key(key: &KeySpec, fields: &Fields) -> Option<BTreeMap<String, String>> {
    let (name, field, _) = key.parts.first()?;
    let value = text(fields.get(field));
    if value.trim().is_empty() {
        return None;
    }
    Some(BTreeMap::from([(name.clone(), normalise_key(field, &value))]))
}

/// core_user_get_users' criteria for a scope.
pub fn user_criteria(scope: &[ScopeRule]) -> Vec<(String, String)> {
    let mut params = Vec::new();
    let mut i = 0;
    for rule in scope {
        let (field, value) = match rule {
            ScopeRule::Equals { field, value } => (field, value),
            ScopeRule::Like { field, pattern } => (field, pattern),
            ScopeRule::Courses(_) => continue,
        };
        params.push((format!("criteria[{i}][key]"), field.clone()));
        params.push((format!("criteria[{i}][value]"), value.clone()));
        i += 1;
    }
    params
}

async fn users(
    session: &Session,
    spec: &SyncSpec,
    key: &KeySpec,
    desired: &Desired,
) -> Result<Actual, ReadError> {
    let mut actual = Actual::default();
    if !spec.scope.is_empty() {
        let answer = session
            .read("core_user_get_users", &user_criteria(&spec.scope))
            .await?;
        let mut keyless = 0;
        for user in answer.get("users").and_then(Json::as_array).into_iter().flatten() {
            let fields = object_fields(user);
            match single_key(key, &fields) {
                Some(k) => {
                    let j = joined(&k);
                    actual.in_scope.insert(j.clone());
                    if actual.records.contains_key(&j) {
                        // Two accounts whose keys differ only in case: a row matches neither for sure.
                        actual.problems.insert(
                            j.clone(),
                            format!("several Moodle users in scope have {}", describe(&k)),
                        );
                    }
                    actual.records.insert(j, Record { key: k, fields });
                }
                None => keyless += 1,
            }
        }
        if keyless > 0 {
            actual.notes.push(format!(
                "{keyless} user(s) in scope have no {}: they cannot match a roster row and are left alone",
                key.names().join(", ")
            ));
        }
    }
    let (_, field, _) = &key.parts[0];
    let wanted: Vec<String> = desired
        .rows
        .iter()
        .filter(|(j, _)| !actual.records.contains_key(*j))
        .filter_map(|(_, row)| row.key.values().next().cloned())
        .collect();
    let found = find::find(session, LookupKind::User, field, &wanted).await?;
    for (value, found) in found {
        let k = BTreeMap::from([(key.parts[0].0.clone(), normalise_key(field, &value))]);
        let j = joined(&k);
        match found {
            Found::Refused(why) => {
                actual
                    .problems
                    .insert(j, format!("Moodle refuses to look up {field} {value:?}: {why}"));
            }
            Found::Records(records) => match records.as_slice() {
                [] => {}
                [one] => {
                    actual.records.insert(
                        j,
                        Record {
                            key: k,
                            fields: object_fields(one),
                        },
                    );
                }
                many => {
                    actual.problems.insert(
                        j,
                        format!(
                            "{} Moodle users have {field} {value}: the row matches none of them for sure",
                            many.len()
                        ),
                    );
                }
            },
        }
    }
    Ok(actual)
}

async fn courses(session: &Session, spec: &SyncSpec, key: &KeySpec) -> Result<Actual, ReadError> {
    let mut actual = Actual::default();
    let answer = session.read("core_course_get_courses", &[]).await?;
    let category = spec.scope.iter().find_map(|rule| match rule {
        ScopeRule::Equals { field, value } if field == "categoryid" => Some(value.clone()),
        _ => None,
    });
    for course in answer.as_array().into_iter().flatten() {
        let fields = object_fields(course);
        // The front page is a course to Moodle, never to a roster.
        if text(fields.get("format")) == "site" {
            continue;
        }
        let Some(k) = single_key(key, &fields) else {
            continue;
        };
        let j = joined(&k);
        if category
            .as_ref()
            .is_some_and(|c| *c == text(fields.get("categoryid")))
        {
            actual.in_scope.insert(j.clone());
        }
        actual.records.insert(j, Record { key: k, fields });
    }
    Ok(actual)
}

/// The courses whose enrolments a step owns: the scope's list, or those the roster names.
fn scoped_courses(spec: &SyncSpec, desired: &Desired) -> Vec<String> {
    let listed = spec.scope.iter().find_map(|rule| match rule {
        ScopeRule::Courses(names) => Some(names.clone()),
        _ => None,
    });
    let mut names: Vec<String> = match listed {
        Some(names) => names,
        None => desired
            .rows
            .values()
            .filter_map(|row| row.key.get("course").cloned())
            .collect(),
    };
    names.sort();
    names.dedup();
    names
}

async fn enrolments(
    session: &Session,
    spec: &SyncSpec,
    key: &KeySpec,
    desired: &Desired,
    concurrency: usize,
) -> Result<Actual, ReadError> {
    let mut actual = Actual::default();
    let user_field = key.parts[0].1.clone();
    let course_field = key.parts[1].1.clone();
    let names = scoped_courses(spec, desired);
    let found = find::find(session, LookupKind::Course, &course_field, &names).await?;
    let mut courses: Vec<(String, i64)> = Vec::new();
    let mut missing = BTreeSet::new();
    for name in &names {
        let norm = normalise_key(&course_field, name);
        match found.get(name).map(Found::ids).as_deref() {
            Some([id]) => courses.push((norm, *id)),
            _ => {
                missing.insert(norm);
            }
        }
    }
    for (j, row) in &desired.rows {
        if let Some(course) = row.key.get("course") {
            if missing.contains(course) || !courses.iter().any(|(c, _)| c == course) {
                actual.problems.insert(
                    j.clone(),
                    format!("no Moodle course with {course_field} {course}"),
                );
            }
        }
    }
    let reads = stream::iter(courses.clone())
        .map(|(name, id)| async move { course_enrolments(session, id).await.map(|e| (name, id, e)) })
        .buffered(concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
    for read in reads {
        let (course, courseid, participants) = read?;
        for (user, active) in participants {
            let value = text(user.get(&user_field));
            if value.trim().is_empty() {
                continue;
            }
            let k = BTreeMap::from([
                ("course".to_owned(), course.clone()),
                ("user".to_owned(), normalise_key(&user_field, &value)),
            ]);
            let mut roles: Vec<i64> = user
                .get("roles")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
                .filter_map(|r| r.get("roleid").and_then(Json::as_i64))
                .collect();
            roles.sort_unstable();
            roles.dedup();
            let fields = Fields::from([
                ("userid".to_owned(), user.get("id").cloned().unwrap_or(Json::Null)),
                ("courseid".to_owned(), json!(courseid)),
                ("roles".to_owned(), json!(roles)),
                (
                    "status".to_owned(),
                    json!(if active { "active" } else { "suspended" }),
                ),
            ]);
            let j = joined(&k);
            actual.in_scope.insert(j.clone());
            actual.records.insert(j, Record { key: k, fields });
        }
    }
    // Roster users not enrolled yet: their ids, when they exist (a user an
    // earlier step creates is looked up again when the plan is applied).
    let wanted: Vec<String> = desired
        .rows
        .iter()
        .filter(|(j, _)| !actual.records.contains_key(*j))
        .filter_map(|(_, row)| row.key.get("user").cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    actual.user_ids = user_ids(session, &user_field, &wanted).await?;
    actual.course_ids = courses.into_iter().collect();
    Ok(actual)
}

/// The ids of the users whose `field` is each of `wanted` and who are one
/// Moodle user, by key (as [`normalise_key`] writes it).
///
/// # Errors
/// A read Moodle refused, or no answer after the retries.
pub async fn user_ids(
    session: &Session,
    field: &str,
    wanted: &[String],
) -> Result<BTreeMap<String, i64>, ReadError> {
    let mut ids = BTreeMap::new();
    for (value, found) in find::find(session, LookupKind::User, field, wanted).await? {
        if let [id] = found.ids().as_slice() {
            ids.insert(normalise_key(field, &value), *id);
        }
    }
    Ok(ids)
}

/// The ids of a course's participants; with `only_active`, those whose
/// enrolment is active (not suspended, within its dates).
///
/// # Errors
/// A read Moodle refused, or no answer after the retries.
pub async fn participant_ids(
    session: &Session,
    courseid: i64,
    only_active: bool,
) -> Result<BTreeSet<i64>, ReadError> {
    Ok(ids_of(&participants(session, courseid, only_active).await?))
}

async fn participants(session: &Session, courseid: i64, only_active: bool) -> Result<Json, ReadError> {
    let mut params = vec![("courseid".to_owned(), courseid.to_string())];
    if only_active {
        params.push(("options[0][name]".to_owned(), "onlyactive".to_owned()));
        params.push(("options[0][value]".to_owned(), "1".to_owned()));
    }
    session.read("core_enrol_get_enrolled_users", &params).await
}

fn ids_of(users: &Json) -> BTreeSet<i64> {
    users
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|u| u.get("id").and_then(Json::as_i64))
        .collect()
}

/// Each participant of a course (its user record) and whether the enrolment is active.
async fn course_enrolments(session: &Session, courseid: i64) -> Result<Vec<(Fields, bool)>, ReadError> {
    let all = participants(session, courseid, false).await?;
    let active_ids = participant_ids(session, courseid, true).await?;
    Ok(all
        .as_array()
        .into_iter()
        .flatten()
        .map(|u| {
            let id = u.get("id").and_then(Json::as_i64);
            (object_fields(u), id.is_some_and(|id| active_ids.contains(&id)))
        })
        .collect())
}
