//! After an unclear outcome: which records are in Moodle already? (`exists FUNCTION FIELD`)
//!
//! The records are looked up through the site's find-by-field service. Only
//! a clear answer counts: a record whose value finds exactly one Moodle
//! record is found; a value Moodle refuses to search for makes the whole
//! lookup refused, because "not found" would then be a guess.
//!
//! Found is not yet proof that this run created it: the record may have
//! been in Moodle before (a username taken long ago). So the records found
//! are read once more by id, and every identifying field the record sets
//! (username, names, email, idnumber; a course's names, idnumber and
//! category) must have the record's value in Moodle. A record found with
//! other values [`Found::differs`]: it was there before, and this run did not
//! create it.

use std::collections::{HashMap, HashSet};

use serde_json::Value as Json;

use super::ctx::Ctx;
use crate::form::{scalar_text, FieldValue};
use crate::site::find::{self, Found as Matches};
use crate::site::{CallError, MoodleError, ReadError};
use crate::template::LookupKind;
use crate::validate::ValidRecord;

/// What a lookup found.
#[derive(Debug, Default)]
pub(super) struct Found {
    /// Record → Moodle id, for the records found.
    pub ids: HashMap<u64, i64>,
    /// Records without a value of the lookup field.
    pub unlookable: HashSet<u64>,
    /// Records found, but with other values than the record's: what differs.
    pub differs: HashMap<u64, String>,
}

/// How a field's value in Moodle's answer compares with the record's.
#[derive(Clone, Copy)]
enum Compare {
    /// As stored (core_user_get_users_by_field returns names raw).
    Exact,
    /// Ignoring case (emails: the database collation may fold case).
    Case,
    /// Through Moodle's `format_string` (core_course_get_courses_by_field
    /// formats course names: `&` comes back as `&amp;`); values a filter
    /// could rewrite (`<`, `{`) are not compared.
    Formatted,
}

/// The fields compared with what Moodle holds.
const USER_FIELDS: &[(&str, Compare)] = &[
    ("username", Compare::Exact),
    ("firstname", Compare::Exact),
    ("lastname", Compare::Exact),
    ("email", Compare::Case),
    ("idnumber", Compare::Exact),
];
const COURSE_FIELDS: &[(&str, Compare)] = &[
    ("shortname", Compare::Formatted),
    ("fullname", Compare::Formatted),
    ("idnumber", Compare::Exact),
    ("categoryid", Compare::Exact),
];

/// Why a lookup gave no answer.
#[derive(Debug)]
pub(super) enum LookupError {
    /// The site could not be reached (after retries).
    Unreachable(CallError),
    /// Moodle answered with an error.
    Refused(MoodleError),
}

/// Look `records` up by their `field` with `function`.
pub(super) async fn find(
    ctx: &Ctx,
    function: &str,
    field: &str,
    records: &[ValidRecord],
) -> Result<Found, LookupError> {
    let Some(kind) = LookupKind::of_function(function) else {
        return Err(LookupError::Refused(MoodleError::local(
            "unsupported_lookup",
            format!("moodlec cannot look records up with {function}"),
        )));
    };
    let mut found = Found::default();
    let position = ctx.template.fields.iter().position(|f| f.name == field);
    let mut wanted: Vec<(u64, String)> = Vec::new();
    for record in records {
        match position.and_then(|p| scalar_value(record, p)) {
            Some(value) => wanted.push((record.number, value)),
            None => {
                found.unlookable.insert(record.number);
            }
        }
    }
    let values: Vec<String> = wanted.iter().map(|(_, value)| value.clone()).collect();
    let matches = find::find(&ctx.session, kind, field, &values)
        .await
        .map_err(lookup_error)?;
    for (number, value) in wanted {
        match matches.get(&value) {
            Some(Matches::Ids(ids)) if ids.len() == 1 => {
                found.ids.insert(number, ids[0]);
            }
            Some(Matches::Refused(why)) => {
                return Err(LookupError::Refused(MoodleError::local(
                    "lookup_refused",
                    why.clone(),
                )))
            }
            _ => {}
        }
    }
    prove(ctx, kind, records, &mut found).await?;
    Ok(found)
}

/// Keep in `found.ids` only the records whose identifying fields have the
/// record's values in Moodle; the others go to `found.differs`.
async fn prove(
    ctx: &Ctx,
    kind: LookupKind,
    records: &[ValidRecord],
    found: &mut Found,
) -> Result<(), LookupError> {
    if found.ids.is_empty() {
        return Ok(());
    }
    let mut ids: Vec<i64> = found.ids.values().copied().collect();
    ids.sort_unstable();
    ids.dedup();
    let held = details(ctx, kind, &ids).await?;
    let compared: &[(&str, Compare)] = match kind {
        LookupKind::User => USER_FIELDS,
        LookupKind::Course => COURSE_FIELDS,
    };
    for record in records {
        let Some(&id) = found.ids.get(&record.number) else {
            continue;
        };
        let why = match held.get(&id) {
            None => Some(format!("Moodle did not show record {id} when asked by id")),
            Some(moodle) => difference(ctx, record, moodle, compared),
        };
        if let Some(why) = why {
            found.ids.remove(&record.number);
            found.differs.insert(record.number, format!("id {id}: {why}"));
        }
    }
    Ok(())
}

/// What differs between the record and what Moodle holds, if anything.
fn difference(
    ctx: &Ctx,
    record: &ValidRecord,
    moodle: &Json,
    compared: &[(&str, Compare)],
) -> Option<String> {
    let mut different = Vec::new();
    for &(name, compare) in compared {
        let Some(position) = ctx.template.fields.iter().position(|f| f.name == name) else {
            continue;
        };
        let (Some(mine), Some(theirs)) = (scalar_value(record, position), moodle.get(name).and_then(text))
        else {
            continue;
        };
        let same = match compare {
            Compare::Exact => mine.trim() == theirs.trim(),
            Compare::Case => mine.trim().to_lowercase() == theirs.trim().to_lowercase(),
            Compare::Formatted if mine.contains(['<', '{']) => true,
            Compare::Formatted => mine.trim() == unescape(theirs.trim()),
        };
        if !same {
            different.push(format!("{name} is {theirs:?} in Moodle, {mine:?} in the record"));
        }
    }
    (!different.is_empty()).then(|| different.join(", "))
}

/// `s` with the entities `format_string` writes (`s()`, htmlspecialchars) decoded.
fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#039;", "'")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// A JSON string or number as text.
fn text(value: &Json) -> Option<String> {
    match value {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// What Moodle holds for `ids`, by id.
async fn details(ctx: &Ctx, kind: LookupKind, ids: &[i64]) -> Result<HashMap<i64, Json>, LookupError> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(find::USER_VALUES_PER_CALL) {
        let (params, list_key) = match kind {
            LookupKind::User => {
                let mut params = vec![("field".to_owned(), "id".to_owned())];
                params.extend(
                    chunk
                        .iter()
                        .enumerate()
                        .map(|(i, id)| (format!("values[{i}]"), id.to_string())),
                );
                (params, None)
            }
            LookupKind::Course => {
                let ids: Vec<String> = chunk.iter().map(i64::to_string).collect();
                let params = vec![
                    ("field".to_owned(), "ids".to_owned()),
                    ("value".to_owned(), ids.join(",")),
                ];
                (params, Some("courses"))
            }
        };
        let answer = ctx
            .session
            .read(kind.function(), &params)
            .await
            .map_err(lookup_error)?;
        let list = match list_key {
            Some(key) => answer.get(key).cloned().unwrap_or(Json::Null),
            None => answer,
        };
        for item in list.as_array().map(Vec::as_slice).unwrap_or_default() {
            if let Some(id) = item.get("id").and_then(Json::as_i64) {
                out.insert(id, item.clone());
            }
        }
    }
    Ok(out)
}

fn lookup_error(error: ReadError) -> LookupError {
    match error {
        ReadError::Transport(error) if error.is_transient() => LookupError::Unreachable(error),
        ReadError::Transport(error) => {
            LookupError::Refused(MoodleError::local("lookup_failed", error.to_string()))
        }
        ReadError::Moodle(error) => LookupError::Refused(error),
    }
}

/// The wire text of the record's scalar at field `position`, if it has one.
fn scalar_value(record: &ValidRecord, position: usize) -> Option<String> {
    record.values.iter().find_map(|(p, v)| match v {
        FieldValue::Scalar(s) if *p == position => Some(scalar_text(s)),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn course_names_come_back_through_format_string() {
        assert_eq!(
            unescape("R&amp;D &lt;1&gt; &quot;x&quot; it&#039;s"),
            "R&D <1> \"x\" it's"
        );
        assert_eq!(unescape("&amp;lt;"), "&lt;");
    }
}
