//! After an unclear outcome: which records are in Moodle already? (`exists FUNCTION FIELD`)
//!
//! The records are looked up through the site's find-by-field service. Only
//! a clear answer counts: a record whose value finds exactly one Moodle
//! record is found; a value Moodle refuses to search for makes the whole
//! lookup refused, because "not found" would then be a guess.
//!
//! Found is not yet proof that this run created it: the record may have
//! been in Moodle before (a username taken long ago). So for the records
//! found, every identifying field the record sets
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
    // What Moodle holds for each record found: the one record its value matched.
    let mut held: HashMap<u64, &Json> = HashMap::new();
    for (number, value) in wanted {
        match matches.get(&value) {
            Some(Matches::Records(one)) if one.len() == 1 => {
                held.insert(number, &one[0]);
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
    prove(ctx, kind, records, &held, &mut found);
    Ok(found)
}

/// Put in `found.ids` the records whose identifying fields have the
/// record's values in what Moodle holds for them (`held`, by record); the
/// others go to `found.differs`.
fn prove(
    ctx: &Ctx,
    kind: LookupKind,
    records: &[ValidRecord],
    held: &HashMap<u64, &Json>,
    found: &mut Found,
) {
    let compared: &[(&str, Compare)] = match kind {
        LookupKind::User => USER_FIELDS,
        LookupKind::Course => COURSE_FIELDS,
    };
    for record in records {
        let Some(moodle) = held.get(&record.number) else {
            continue;
        };
        let Some(id) = moodle.get("id").and_then(Json::as_i64) else {
            continue;
        };
        match difference(ctx, record, moodle, compared) {
            Some(why) => {
                found.differs.insert(record.number, format!("id {id}: {why}"));
            }
            None => {
                found.ids.insert(record.number, id);
            }
        }
    }
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
        let (Some(mine), Some(theirs)) = (
            scalar_value(record, position),
            moodle.get(name).and_then(find::text),
        ) else {
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
