//! Resolving keys with Moodle's read functions: users many values per call,
//! courses one value per call (that is all core_course_get_courses_by_field
//! takes), each distinct key once.

use std::collections::HashMap;

use serde_json::Value as Json;

use super::{clean, Key, Resolution, Resolutions, Wanted};
use crate::read::{ReadError, Reader};
use crate::template::LookupKind;

/// Values per core_user_get_users_by_field call: 100 `values[i]` stay far
/// below PHP's `max_input_vars` (1000 on an untuned site) and keep a call
/// that Moodle rejects cheap to split.
pub const USER_VALUES_PER_CALL: usize = 100;

/// Look up every key of `wanted`.
///
/// A value Moodle would refuse is that key's `Rejected` answer; a Moodle
/// error for one course value is that value's answer too. Only a site that
/// gives no answer (after the reader's retries) fails the whole resolution.
///
/// # Errors
/// The transport error that stopped the lookups.
pub async fn resolve(reader: &Reader, wanted: &Wanted) -> Result<Resolutions, ReadError> {
    let before = reader.calls();
    let mut out = Resolutions::default();
    // (kind, field) → the clean values to search.
    let mut groups: Vec<((LookupKind, String), Vec<String>)> = Vec::new();
    for key in wanted.keys() {
        if let Some(why) = clean::rejection(key) {
            out.insert(key.clone(), Resolution::Rejected(why));
            continue;
        }
        let group = (key.kind, key.field.clone());
        match groups.last_mut() {
            Some((last, values)) if *last == group => values.push(key.value.clone()),
            _ => groups.push((group, vec![key.value.clone()])),
        }
    }
    for ((kind, field), values) in groups {
        match kind {
            LookupKind::User => users(reader, &field, values, &mut out).await?,
            LookupKind::Course => courses(reader, &field, values, &mut out).await?,
        }
    }
    out.requests = reader.calls() - before;
    Ok(out)
}

/// Users by `field`, `USER_VALUES_PER_CALL` values a call. A chunk that
/// Moodle rejects whole is halved until the value it rejects is alone.
async fn users(
    reader: &Reader,
    field: &str,
    values: Vec<String>,
    out: &mut Resolutions,
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
        match reader.call(LookupKind::User.function(), &params).await {
            Ok(answer) => match_users(field, &chunk, &answer, out),
            Err(ReadError::Moodle(error)) if chunk.len() == 1 => {
                let key = user_key(field, &chunk[0]);
                out.insert(
                    key,
                    Resolution::Rejected(format!("Moodle refused: {}", error.describe())),
                );
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

fn user_key(field: &str, value: &str) -> Key {
    Key {
        kind: LookupKind::User,
        field: field.to_owned(),
        value: value.to_owned(),
    }
}

/// Give each asked value the users of `answer` that match it: exactly, or
/// else as the database matched them (a case-insensitive collation returns
/// "A@b.org" for "a@b.org"; an exact match wins over such a one).
fn match_users(field: &str, asked: &[String], answer: &Json, out: &mut Resolutions) {
    let mut exact: HashMap<String, Vec<i64>> = HashMap::new();
    let mut folded: HashMap<String, Vec<i64>> = HashMap::new();
    for user in answer.as_array().map(Vec::as_slice).unwrap_or_default() {
        let (Some(id), Some(value)) = (
            user.get("id").and_then(Json::as_i64),
            user.get(field).and_then(text),
        ) else {
            continue;
        };
        folded.entry(value.to_lowercase()).or_default().push(id);
        exact.entry(value).or_default().push(id);
    }
    for value in asked {
        let ids = exact
            .get(value)
            .or_else(|| folded.get(&value.to_lowercase()))
            .cloned()
            .unwrap_or_default();
        out.insert(user_key(field, value), by_ids(ids));
    }
}

/// A JSON string or number as text (ids come as numbers).
fn text(value: &Json) -> Option<String> {
    match value {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Courses by `field`, one call per value: every course Moodle returns for
/// a value matched it in the database.
async fn courses(
    reader: &Reader,
    field: &str,
    values: Vec<String>,
    out: &mut Resolutions,
) -> Result<(), ReadError> {
    for value in values {
        let params = [
            ("field".to_owned(), field.to_owned()),
            ("value".to_owned(), value.clone()),
        ];
        let key = Key {
            kind: LookupKind::Course,
            field: field.to_owned(),
            value,
        };
        let resolution = match reader.call(LookupKind::Course.function(), &params).await {
            Ok(answer) => {
                let ids = answer
                    .get("courses")
                    .and_then(Json::as_array)
                    .map(|courses| {
                        courses
                            .iter()
                            .filter_map(|c| c.get("id").and_then(Json::as_i64))
                            .collect()
                    })
                    .unwrap_or_default();
                by_ids(ids)
            }
            Err(ReadError::Moodle(error)) => {
                Resolution::Rejected(format!("Moodle refused: {}", error.describe()))
            }
            Err(transport) => return Err(transport),
        };
        out.insert(key, resolution);
    }
    Ok(())
}

fn by_ids(mut ids: Vec<i64>) -> Resolution {
    ids.sort_unstable();
    ids.dedup();
    match ids.as_slice() {
        [] => Resolution::Missing,
        [id] => Resolution::Found(*id),
        _ => Resolution::Ambiguous(ids),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn users_match_exactly_first_then_as_the_database_did() {
        let mut out = Resolutions::default();
        let asked = ["a@b.org", "C@d.org", "e@f.org", "x@y.org"].map(str::to_owned);
        let answer = json!([
            {"id": 5, "email": "a@b.org"},
            {"id": 6, "email": "A@b.org"},
            {"id": 7, "email": "c@d.org"},
            {"id": 8, "email": "e@f.org"},
            {"id": 9, "email": "e@f.org"},
        ]);
        match_users("email", &asked, &answer, &mut out);
        let get = |v: &str| out.get(&user_key("email", v)).cloned();
        assert_eq!(get("a@b.org"), Some(Resolution::Found(5)));
        assert_eq!(get("C@d.org"), Some(Resolution::Found(7)));
        assert_eq!(get("e@f.org"), Some(Resolution::Ambiguous(vec![8, 9])));
        assert_eq!(get("x@y.org"), Some(Resolution::Missing));
    }

    #[test]
    fn ids_in_answers_are_numbers() {
        let mut out = Resolutions::default();
        match_users("id", &["3".to_owned()], &json!([{"id": 3}]), &mut out);
        assert_eq!(out.get(&user_key("id", "3")), Some(&Resolution::Found(3)));
    }
}
