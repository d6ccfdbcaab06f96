//! After an unclear outcome: which records are in Moodle already? (`exists FUNCTION FIELD`)

use std::collections::{HashMap, HashSet};

use serde_json::Value as Json;

use super::client::{CallError, MoodleError, Reply};
use super::engine::Ctx;
use crate::render::form::scalar_text;
use crate::validate::{FieldValue, ValidRecord};

/// Values per core_user_get_users_by_field call: well under max_input_vars.
const VALUES_PER_CALL: usize = 200;

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
    let mut found = Found::default();
    let position = ctx.template.fields.iter().position(|f| f.name == field);
    let mut wanted: Vec<(u64, String)> = Vec::new();
    for record in records {
        let value = position.and_then(|p| {
            record.values.iter().find_map(|(q, v)| match v {
                FieldValue::Scalar(s) if *q == p => Some(scalar_text(s)),
                _ => None,
            })
        });
        match value {
            Some(value) => wanted.push((record.number, value)),
            None => {
                found.unlookable.insert(record.number);
            }
        }
    }
    match function {
        "core_user_get_users_by_field" => {
            for chunk in wanted.chunks(VALUES_PER_CALL) {
                let mut params = vec![("field".to_owned(), field.to_owned())];
                params.extend(
                    chunk
                        .iter()
                        .enumerate()
                        .map(|(i, (_, v))| (format!("values[{i}]"), v.clone())),
                );
                let answer = call(ctx, function, &params).await?;
                let items = answer.as_array().map_or(&[][..], Vec::as_slice);
                matches(field, chunk, items, &mut found.ids);
            }
        }
        "core_course_get_courses_by_field" => {
            for one in &wanted {
                let params = [
                    ("field".to_owned(), field.to_owned()),
                    ("value".to_owned(), one.1.clone()),
                ];
                let answer = call(ctx, function, &params).await?;
                let items = answer
                    .get("courses")
                    .and_then(Json::as_array)
                    .map_or(&[][..], Vec::as_slice);
                matches(field, std::slice::from_ref(one), items, &mut found.ids);
            }
        }
        other => {
            return Err(LookupError::Refused(MoodleError::local(
                "unsupported_lookup",
                format!("moodlec cannot look records up with {other}"),
            )))
        }
    }
    Ok(found)
}

async fn call(ctx: &Ctx, function: &str, params: &[(String, String)]) -> Result<Json, LookupError> {
    match ctx.read(function, params).await {
        Ok(Reply::Value(value)) => Ok(value),
        Ok(Reply::Error(error)) => Err(LookupError::Refused(error)),
        Err(error) if error.is_transient() => Err(LookupError::Unreachable(error)),
        Err(error) => Err(LookupError::Refused(MoodleError::local(
            "lookup_failed",
            error.to_string(),
        ))),
    }
}

/// Match the items Moodle returned to the wanted records by the field's value
/// (emails case-insensitively, as Moodle compares them).
fn matches(field: &str, wanted: &[(u64, String)], items: &[Json], ids: &mut HashMap<u64, i64>) {
    for item in items {
        let Some(id) = item.get("id").and_then(Json::as_i64) else {
            continue;
        };
        let value = match item.get(field) {
            Some(Json::String(s)) => s.clone(),
            Some(Json::Number(n)) => n.to_string(),
            _ => continue,
        };
        for (record, text) in wanted {
            let same = if field == "email" {
                text.eq_ignore_ascii_case(&value)
            } else {
                *text == value
            };
            if same {
                ids.insert(*record, id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn matches_by_field_value() {
        let wanted = vec![
            (1, "ann".to_owned()),
            (2, "bob".to_owned()),
            (3, "Cy@X.org".to_owned()),
        ];
        let mut ids = HashMap::new();
        matches(
            "username",
            &wanted,
            &[json!({"id": 7, "username": "bob"}), json!({"id": 8})],
            &mut ids,
        );
        assert_eq!(ids, HashMap::from([(2, 7)]));
        let mut ids = HashMap::new();
        matches(
            "email",
            &wanted,
            &[json!({"id": 9, "email": "cy@x.org"})],
            &mut ids,
        );
        assert_eq!(ids, HashMap::from([(3, 9)]));
    }
}
