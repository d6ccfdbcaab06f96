//! Finding users and courses by a field: the one find-by-field service, used
//! by lookups (ids from keys in the source records), by the runner's applied
//! checks (is this record in Moodle now?) and by sync.
//!
//! How Moodle matches (moodle/moodle `user/externallib.php`
//! `get_users_by_field`, `course/externallib.php` `get_courses_by_field`):
//! - users: many values per call, each cleaned with the user field's PARAM
//!   type (`core_user::get_property_type`: id INT, idnumber RAW, username
//!   USERNAME, email RAW_TRIMMED); the whole call fails if cleaning changes
//!   any value. Then `get_records_list('user', FIELD, values)`, an SQL
//!   `IN (...)`: exact, except that the database collation decides case (and
//!   on MySQL's default `_ci` collations, accents). Users whose searched
//!   field the token's user may not see are left out, so they look missing.
//! - courses: one `value` per call, cleaned silently (shortname TEXT,
//!   idnumber RAW), then `get_records('course', [FIELD => value])`: an SQL
//!   `=`, with the same collation caveat.
//!
//! So: values Moodle would refuse are refused here, before sending; users
//! are asked for [`USER_VALUES_PER_CALL`] at a time, and a call Moodle
//! rejects whole is halved until the value it rejects is alone; each asked
//! value gets the records that match it exactly, or else those the database
//! matched (a case-insensitive collation returns "A@b.org" for "a@b.org").

use std::collections::{BTreeMap, HashMap};

use serde_json::Value as Json;

use super::preflight::{site_info, Refusal};
use super::session::{ReadError, Session};
use crate::moodle::params;
use crate::moodle::Rejection;
use crate::template::{LookupKind, Template};
use crate::validate::keys::{self, Key, Resolution, Resolutions, Wanted};

/// Values per core_user_get_users_by_field call: 100 `values[i]` stay far
/// below PHP's `max_input_vars` (1000 on an untuned site) and keep a call
/// that Moodle rejects cheap to split.
pub const USER_VALUES_PER_CALL: usize = 100;

/// What Moodle holds for one value.
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    /// The matching records as Moodle returned them (each with its `id`),
    /// sorted by id, without repeats (none: no match).
    Records(Vec<Json>),
    /// Moodle refuses to search for this value, and why.
    Refused(String),
}

impl Found {
    /// The ids of the matching records.
    pub fn ids(&self) -> Vec<i64> {
        match self {
            Found::Records(records) => records.iter().filter_map(record_id).collect(),
            Found::Refused(_) => Vec::new(),
        }
    }
}

fn record_id(record: &Json) -> Option<i64> {
    record.get("id").and_then(Json::as_i64)
}

/// Find the `kind` records whose `field` is each of `values`.
///
/// # Errors
/// The transport error that stopped the search (after the session's retries).
pub async fn find(
    session: &Session,
    kind: LookupKind,
    field: &str,
    values: &[String],
) -> Result<HashMap<String, Found>, ReadError> {
    let mut out = HashMap::new();
    let mut asked = Vec::new();
    for value in values {
        match rejection(kind, field, value) {
            Some(why) => {
                out.insert(value.clone(), Found::Refused(why));
            }
            None => asked.push(value.clone()),
        }
    }
    asked.sort_unstable();
    asked.dedup();
    match kind {
        LookupKind::User => users(session, field, asked, &mut out).await?,
        LookupKind::Course => courses(session, field, asked, &mut out).await?,
    }
    Ok(out)
}

/// Look up every key of `wanted`: the lookups of a run or of `validate --url`.
///
/// # Errors
/// The transport error that stopped the lookups.
pub async fn resolve(session: &Session, wanted: &Wanted) -> Result<Resolutions, ReadError> {
    let before = session.counts();
    let mut groups: BTreeMap<(&str, &str), (LookupKind, Vec<String>)> = BTreeMap::new();
    for key in wanted.keys() {
        groups
            .entry((key.kind.name(), key.field.as_str()))
            .or_insert_with(|| (key.kind, Vec::new()))
            .1
            .push(key.value.clone());
    }
    let mut out = Resolutions::default();
    for ((_, field), (kind, values)) in groups {
        for (value, found) in find(session, kind, field, &values).await? {
            let resolution = match found {
                Found::Refused(why) => Resolution::Rejected(why),
                records => match records.ids().as_slice() {
                    [] => Resolution::Missing,
                    [id] => Resolution::Found(*id),
                    ids => Resolution::Ambiguous(ids.to_vec()),
                },
            };
            out.insert(
                Key {
                    kind,
                    field: field.to_owned(),
                    value,
                },
                resolution,
            );
        }
    }
    out.requests = (session.counts() - before).requests;
    Ok(out)
}

/// Before looking anything up: does the token work, and may it call the
/// functions of `template`'s lookups? One read call (site info).
///
/// # Errors
/// Why the lookups cannot be done, with what to fix.
pub async fn check_service(session: &Session, template: &Template) -> Result<(), Refusal> {
    let functions = keys::functions(template);
    let info = site_info(session, &functions.join(", ")).await?;
    info.require(
        &functions,
        &format!("which the lookups of template `{}` need", template.name),
    )
}

/// Why Moodle would not search for `value` as given, if it would not.
///
/// core_user_get_users_by_field throws `invalid_parameter_exception` for the
/// WHOLE call when cleaning changes one value: a single uppercase username
/// would sink a hundred lookups. core_course_get_courses_by_field cleans
/// silently, so an unclean value would search for something else than asked.
fn rejection(kind: LookupKind, field: &str, value: &str) -> Option<String> {
    let checked: Result<(), Rejection> = match (kind, field) {
        (_, "id") => params::int(value).map(|_| ()),
        (LookupKind::User, "username") => params::username(value),
        (LookupKind::User, "email") => params::raw_trimmed(value),
        (LookupKind::Course, "shortname") => params::text(value),
        // idnumber: PARAM_RAW for users and courses.
        _ => params::raw(value),
    };
    checked.err().map(|rejection| rejection.to_string())
}

/// Users by `field`, `USER_VALUES_PER_CALL` values a call. A chunk that
/// Moodle rejects whole is halved until the value it rejects is alone.
async fn users(
    session: &Session,
    field: &str,
    values: Vec<String>,
    out: &mut HashMap<String, Found>,
) -> Result<(), ReadError> {
    let mut pending: Vec<Vec<String>> = values
        .chunks(USER_VALUES_PER_CALL)
        .rev()
        .map(<[String]>::to_vec)
        .collect();
    while let Some(chunk) = pending.pop() {
        let mut params = vec![("field".to_owned(), field.to_owned())];
        params.extend(
            chunk
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("values[{i}]"), v.clone())),
        );
        match session.read(LookupKind::User.function(), &params).await {
            Ok(answer) => match_users(field, &chunk, &answer, out),
            Err(ReadError::Moodle(error)) if chunk.len() == 1 => {
                let refused = Found::Refused(format!("Moodle refused: {}", error.describe()));
                out.insert(chunk[0].clone(), refused);
            }
            Err(ReadError::Moodle(_)) => {
                let (first, second) = chunk.split_at(chunk.len() / 2);
                pending.push(second.to_vec());
                pending.push(first.to_vec());
            }
            Err(transport) => return Err(transport),
        }
    }
    Ok(())
}

/// Give each asked value the users of `answer` that match it: exactly, or
/// else as the database matched them (an exact match wins over such a one).
fn match_users(field: &str, asked: &[String], answer: &Json, out: &mut HashMap<String, Found>) {
    let mut exact: HashMap<String, Vec<Json>> = HashMap::new();
    let mut folded: HashMap<String, Vec<Json>> = HashMap::new();
    for user in answer.as_array().map(Vec::as_slice).unwrap_or_default() {
        let (Some(_), Some(value)) = (record_id(user), user.get(field).and_then(text)) else {
            continue;
        };
        folded.entry(value.to_lowercase()).or_default().push(user.clone());
        exact.entry(value).or_default().push(user.clone());
    }
    for value in asked {
        let users = exact
            .get(value)
            .or_else(|| folded.get(&value.to_lowercase()))
            .cloned()
            .unwrap_or_default();
        out.insert(value.clone(), found(users));
    }
}

/// A JSON string or number as text (ids come as numbers).
pub(crate) fn text(value: &Json) -> Option<String> {
    match value {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Courses by `field`, one call per value: every course Moodle returns for
/// a value matched it in the database.
async fn courses(
    session: &Session,
    field: &str,
    values: Vec<String>,
    out: &mut HashMap<String, Found>,
) -> Result<(), ReadError> {
    for value in values {
        let params = [
            ("field".to_owned(), field.to_owned()),
            ("value".to_owned(), value.clone()),
        ];
        let result = match session.read(LookupKind::Course.function(), &params).await {
            Ok(answer) => found(
                answer
                    .get("courses")
                    .and_then(Json::as_array)
                    .map(|courses| {
                        courses
                            .iter()
                            .filter(|c| record_id(c).is_some())
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
            Err(ReadError::Moodle(error)) => Found::Refused(format!("Moodle refused: {}", error.describe())),
            Err(transport) => return Err(transport),
        };
        out.insert(value, result);
    }
    Ok(())
}

fn found(mut records: Vec<Json>) -> Found {
    records.sort_by_key(record_id);
    records.dedup_by_key(|record| record_id(record));
    Found::Records(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn users_match_exactly_first_then_as_the_database_did() {
        let mut out = HashMap::new();
        let asked = ["a@b.org", "C@d.org", "e@f.org", "x@y.org"].map(str::to_owned);
        let answer = json!([
            {"id": 5, "email": "a@b.org"},
            {"id": 6, "email": "A@b.org"},
            {"id": 7, "email": "c@d.org"},
            {"id": 8, "email": "e@f.org"},
            {"id": 9, "email": "e@f.org"},
        ]);
        match_users("email", &asked, &answer, &mut out);
        assert_eq!(out["a@b.org"].ids(), vec![5]);
        assert_eq!(out["C@d.org"].ids(), vec![7]);
        assert_eq!(
            out["C@d.org"],
            Found::Records(vec![json!({"id": 7, "email": "c@d.org"})])
        );
        assert_eq!(out["e@f.org"].ids(), vec![8, 9]);
        assert_eq!(out["x@y.org"], Found::Records(vec![]));
    }

    #[test]
    fn ids_in_answers_are_numbers() {
        let mut out = HashMap::new();
        match_users("id", &["3".to_owned()], &json!([{"id": 3}]), &mut out);
        assert_eq!(out["3"].ids(), vec![3]);
    }

    #[test]
    fn values_moodle_would_refuse_are_found_before_sending() {
        assert!(rejection(LookupKind::User, "username", "JDoe").is_some_and(|why| why.contains("lowercase")));
        assert_eq!(rejection(LookupKind::User, "username", "jdoe"), None);
        assert!(rejection(LookupKind::User, "email", " a@b.org").is_some());
        assert_eq!(rejection(LookupKind::User, "email", "a@b.org"), None);
        assert!(rejection(LookupKind::Course, "shortname", "<b>X</b>").is_some());
        assert!(rejection(LookupKind::Course, "id", "007").is_some());
        assert_eq!(rejection(LookupKind::Course, "idnumber", " X "), None);
    }
}
