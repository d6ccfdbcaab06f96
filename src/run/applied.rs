//! After an unclear outcome: which records are in Moodle already? (`exists FUNCTION FIELD`)
//!
//! The records are looked up through the site's find-by-field service. Only
//! a clear answer counts: a record whose value finds exactly one Moodle
//! record is found; a value Moodle refuses to search for makes the whole
//! lookup refused, because "not found" would then be a guess.

use std::collections::{HashMap, HashSet};

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
}

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
        .map_err(|error| match error {
            ReadError::Transport(error) if error.is_transient() => LookupError::Unreachable(error),
            ReadError::Transport(error) => {
                LookupError::Refused(MoodleError::local("lookup_failed", error.to_string()))
            }
            ReadError::Moodle(error) => LookupError::Refused(error),
        })?;
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
    Ok(found)
}

/// The wire text of the record's scalar at field `position`, if it has one.
fn scalar_value(record: &ValidRecord, position: usize) -> Option<String> {
    record.values.iter().find_map(|(p, v)| match v {
        FieldValue::Scalar(s) if *p == position => Some(scalar_text(s)),
        _ => None,
    })
}
