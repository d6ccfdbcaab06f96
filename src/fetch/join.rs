//! `join`: enrich output records with fields of another read template's
//! records, matched by key.
//!
//! The joined template's inputs come from `with` (constants, or fields of
//! the record) and, when it collects values (users_by_field), from the
//! record's key: the keys of many records then share a call. Answers are
//! cached for the whole fetch, so a user enrolled in two courses costs one
//! lookup.

use std::collections::HashMap;

use serde_json::{Map, Value as Json};
use tokio::sync::Mutex;

use super::extract::{self, Output};
use super::request::Calls;
use super::shape::{self, cell_text, scalar_json};
use super::FetchError;
use crate::params::ParamValues;
use crate::record::{Cell, SourceRecord};
use crate::site::Session;
use crate::template::{Join, JoinValue, ReadTemplate};
use crate::validate::{ValidateOptions, Validator};

/// Answers of joined templates, by template and canonical input.
#[derive(Default)]
pub struct JoinCache {
    answers: Mutex<HashMap<(String, String), Vec<Output>>>,
}

/// Add `join`'s fields to every record of `records`.
///
/// # Errors
/// A call of the joined template failed, or its inputs are invalid.
pub async fn enrich(
    join: &Join,
    joined: &ReadTemplate,
    records: &mut [Output],
    session: &Session,
    cache: &JoinCache,
) -> Result<(), FetchError> {
    let inputs: Vec<Option<Map<String, Json>>> =
        records.iter().map(|r| joined_input(join, joined, r)).collect();
    let keys: Vec<Option<String>> = inputs
        .iter()
        .map(|i| i.as_ref().map(|i| Json::Object(i.clone()).to_string()))
        .collect();
    let missing: Vec<(String, Map<String, Json>)> = {
        let answers = cache.answers.lock().await;
        let mut seen = std::collections::HashSet::new();
        keys.iter()
            .zip(&inputs)
            .filter_map(|(key, input)| Some((key.clone()?, input.clone()?)))
            .filter(|(key, _)| {
                !answers.contains_key(&(joined.name.clone(), key.clone())) && seen.insert(key.clone())
            })
            .collect()
    };
    fetch_missing(joined, &missing, session, cache).await?;
    let answers = cache.answers.lock().await;
    for (record, key) in records.iter_mut().zip(&keys) {
        let Some(key) = key else { continue };
        let Some(found) = answers.get(&(joined.name.clone(), key.clone())) else {
            continue;
        };
        let Some(local) = record.get(&join.local).map(cell_text) else {
            continue;
        };
        let Some(other) = found
            .iter()
            .find(|o| o.get(&join.remote).map(cell_text).as_deref() == Some(local.as_str()))
        else {
            continue;
        };
        merge(join, other, record);
    }
    Ok(())
}

/// The joined template's inputs for `record`; `None` when a field it needs is absent.
fn joined_input(join: &Join, joined: &ReadTemplate, record: &Output) -> Option<Map<String, Json>> {
    let mut input = Map::new();
    for (name, value) in &join.with {
        let value = match value {
            JoinValue::Constant(constant) => scalar_json(constant),
            JoinValue::Field(field) => record.get(field)?.clone(),
        };
        input.insert(name.clone(), value);
    }
    if let Some(collect) = &joined.batch.collect {
        input.insert(collect.field.clone(), record.get(&join.local)?.clone());
    }
    Some(input)
}

/// Call the joined template for the inputs not in the cache yet.
async fn fetch_missing(
    joined: &ReadTemplate,
    missing: &[(String, Map<String, Json>)],
    session: &Session,
    cache: &JoinCache,
) -> Result<(), FetchError> {
    if missing.is_empty() {
        return Ok(());
    }
    let mut validator = Validator::new(joined, ParamValues::default(), ValidateOptions::default());
    let mut calls = Calls::new(joined);
    let mut pending = Vec::new();
    for (index, (_, input)) in missing.iter().enumerate() {
        let record = source_record(index as u64 + 1, input);
        let valid = validator.validate(&record).outcome.map_err(|violations| {
            let why: Vec<String> = violations.iter().map(|v| v.message.clone()).collect();
            FetchError::Record(format!(
                "join {}: the input {} is invalid: {}",
                joined.name,
                Json::Object(input.clone()),
                why.join("; ")
            ))
        })?;
        pending.extend(calls.push(valid));
    }
    pending.extend(calls.flush());
    for call in pending {
        let answer = session.read(&joined.function, &call.params).await?;
        let mut found = extract::records(joined, &answer)?;
        if let Some(first) = call.inputs.first() {
            let read = joined.spec();
            for record in &mut found {
                shape::annotate(joined, first, record);
            }
            let mut kept = Vec::new();
            for record in found {
                if shape::keep(read, &record).map_err(FetchError::Record)? {
                    kept.push(record);
                }
            }
            found = kept;
        }
        let mut answers = cache.answers.lock().await;
        for input in &call.inputs {
            let key = Json::Object(missing[input.number as usize - 1].1.clone()).to_string();
            answers.insert((joined.name.clone(), key), found.clone());
        }
    }
    Ok(())
}

/// A source record with these JSON values (numbered for the validator).
pub(crate) fn source_record(number: u64, values: &Map<String, Json>) -> SourceRecord {
    let raw = Json::Object(values.clone()).to_string();
    SourceRecord {
        number,
        line: number,
        column: 1,
        fields: values
            .iter()
            .map(|(k, v)| (k.clone(), Cell::Json(v.clone())))
            .collect(),
        spans: vec![None; values.len()],
        raw,
    }
}

/// Copy the taken fields (all when `take` is empty) that `record` lacks.
fn merge(join: &Join, other: &Output, record: &mut Output) {
    let names: Vec<&String> = if join.take.is_empty() {
        other.keys().collect()
    } else {
        join.take.iter().collect()
    };
    for name in names {
        if record.contains_key(name) {
            continue;
        }
        if let Some(value) = other.get(name) {
            record.insert(name.clone(), value.clone());
        }
    }
}
