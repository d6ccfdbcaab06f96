//! Per-record results, and how a Moodle answer becomes one result per record.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::form::FieldValue;
use crate::record::{Cell, SourceRecord};
use crate::render::preview::{password_values, MASKED_PASSWORD};
use crate::site::{CallError, MoodleError, Reply};
use crate::template::{AppliedCheck, Field, FieldType, Returns, ScalarType, Template, Value};
use crate::validate::ValidRecord;

/// What became of one input record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Moodle applied it.
    Applied,
    /// It failed validation (or could not be read) and was not sent.
    Invalid,
    /// Moodle refused it, or its outcome is unknown (see the error).
    Failed,
    /// It was not sent (the run stopped, or `--test`); a resumed run sends it.
    Skipped,
}

/// One line of the results file.
///
/// `record` and `line` say which input record it is (lines come in the
/// order records settle, not input order); `key` shows the record's
/// identifying fields ([`KeyFields`]), never a password.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordResult {
    /// The 1-based input record number.
    pub record: u64,
    /// The 1-based line of the data file where the record starts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// The record's identifying fields and their values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<serde_json::Map<String, Json>>,
    /// What became of it.
    pub status: Status,
    /// Its Moodle id, when the answer (or a lookup) gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// Why it failed, was invalid or was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<MoodleError>,
}

impl RecordResult {
    /// Applied, with the id Moodle gave it.
    pub fn applied(record: u64, id: Option<i64>) -> Self {
        RecordResult {
            record,
            line: None,
            key: None,
            status: Status::Applied,
            id,
            error: None,
        }
    }

    /// A result with an error.
    pub fn with_error(record: u64, status: Status, error: MoodleError) -> Self {
        RecordResult {
            record,
            line: None,
            key: None,
            status,
            id: None,
            error: Some(error),
        }
    }

    /// With the line and key of `record` (this result's record).
    #[must_use]
    pub fn about(mut self, keys: &KeyFields, record: &ValidRecord) -> Self {
        self.line = Some(record.line);
        self.key = keys.of_valid(record);
        self
    }

    /// With the line and key of `record` as read (one that did not validate).
    #[must_use]
    pub fn about_source(mut self, keys: &KeyFields, record: &SourceRecord) -> Self {
        self.line = Some(record.line);
        self.key = keys.of_source(record);
        self
    }

    /// With the line where the record starts (one that could not be read: no key).
    #[must_use]
    pub fn at_line(mut self, line: u64) -> Self {
        self.line = Some(line);
        self
    }
}

/// The fields that identify a template's records in results (`key`): the
/// first of these that every record has (all its fields `required`), else
/// the first there is:
///
/// 1. the sync key (`sync users by username`);
/// 2. the fields of each `unique`, in order (create_users: username;
///    create_courses: shortname; create_groups: courseid and name);
/// 3. the field of the `exists` lookup;
/// 4. the required fields named `id` or `...id` (enrol_users: userid and
///    courseid; update_users: id).
///
/// Only top-level fields of a scalar type count, and never a field of type
/// `password` or named like one: a key is printed, a password never is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyFields {
    /// (position in the template's fields, name).
    fields: Vec<(usize, String)>,
}

/// Longest key value kept, in characters: a key names a record, it does not copy it.
const KEY_VALUE_CHARS: usize = 200;

impl KeyFields {
    /// The key fields of `template`.
    pub fn of(template: &Template) -> KeyFields {
        let usable = |name: &str| -> Option<(usize, String)> {
            let position = template.fields.iter().position(|f| f.name == name)?;
            let field = &template.fields[position];
            let FieldType::Scalar(ty) = &field.ty else {
                return None;
            };
            if *ty == ScalarType::Password || field.name.contains("password") {
                return None;
            }
            Some((position, field.name.clone()))
        };
        let named = |names: &[&str]| -> Vec<(usize, String)> {
            names.iter().filter_map(|name| usable(name)).collect()
        };
        let sync = template
            .sync
            .as_ref()
            .and_then(|sync| sync.key.as_deref())
            .map(|key| named(&[key]));
        let uniques = template.unique.iter().map(|unique| {
            let names: Vec<&str> = unique.fields.iter().map(String::as_str).collect();
            named(&names)
        });
        let lookup = match &template.applied {
            AppliedCheck::Lookup { field, .. } => Some(named(&[field.as_str()])),
            _ => None,
        };
        let ids = template
            .fields
            .iter()
            .filter(|f| f.required && (f.name == "id" || f.name.ends_with("id")))
            .filter_map(|f| usable(&f.name))
            .collect();
        let candidates: Vec<Vec<(usize, String)>> = sync
            .into_iter()
            .chain(uniques)
            .chain(lookup)
            .chain([ids])
            .filter(|fields| !fields.is_empty())
            .collect();
        let every_record_has =
            |fields: &&Vec<(usize, String)>| fields.iter().all(|(p, _)| template.fields[*p].required);
        let fields = candidates
            .iter()
            .find(every_record_has)
            .or(candidates.first())
            .cloned()
            .unwrap_or_default();
        KeyFields { fields }
    }

    /// The key of a valid record: its values of the key fields it has.
    pub fn of_valid(&self, record: &ValidRecord) -> Option<serde_json::Map<String, Json>> {
        let key: serde_json::Map<String, Json> = self
            .fields
            .iter()
            .filter_map(|(position, name)| {
                let value = record.values.iter().find(|(p, _)| p == position)?;
                let FieldValue::Scalar(value) = &value.1 else {
                    return None;
                };
                let json = match value {
                    Value::Str(text) => Json::String(cut(text)),
                    other => serde_json::to_value(other).ok()?,
                };
                Some((name.clone(), json))
            })
            .collect();
        (!key.is_empty()).then_some(key)
    }

    /// The key of a record that did not validate: the scalar values its
    /// source has under the key fields' names, as read.
    pub fn of_source(&self, record: &SourceRecord) -> Option<serde_json::Map<String, Json>> {
        let key: serde_json::Map<String, Json> = self
            .fields
            .iter()
            .filter_map(|(_, name)| {
                let (_, cell) = record.fields.iter().find(|(k, _)| k == name)?;
                let json = match cell {
                    Cell::Text(text) | Cell::Json(Json::String(text)) => Json::String(cut(text)),
                    Cell::Json(value @ (Json::Number(_) | Json::Bool(_))) => value.clone(),
                    Cell::Json(_) => return None,
                };
                Some((name.clone(), json))
            })
            .collect();
        (!key.is_empty()).then_some(key)
    }
}

/// `text`, cut to [`KEY_VALUE_CHARS`] characters.
fn cut(text: &str) -> String {
    match text.char_indices().nth(KEY_VALUE_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// Give each of `results` the line and key of its record in `records`.
pub fn identify(template: &Template, records: &[ValidRecord], results: &mut [RecordResult]) {
    let keys = KeyFields::of(template);
    for (index, result) in results.iter_mut().enumerate() {
        // Results mostly come in the records' order.
        let record = records
            .get(index)
            .filter(|r| r.number == result.record)
            .or_else(|| records.iter().find(|r| r.number == result.record));
        if let Some(record) = record {
            result.line = Some(record.line);
            result.key = keys.of_valid(record);
        }
    }
}

/// A warning of an answer that names no record of the call.
#[derive(Debug, Clone, PartialEq)]
pub struct StrayWarning {
    /// The warning object as Moodle sent it.
    pub warning: Json,
}

/// Why `answer` is not what Moodle answers `template`'s function for
/// `records` records, if it is not (moodle-ws.md 1.3: Moodle cleans its
/// answer against the declared return structure, so it has that shape).
///
/// - `returns nothing`: `null`;
/// - `returns list`: one object per record, each with the required fields;
/// - `returns object`: an object with the required fields and no others
///   (Moodle drops undeclared keys), or `null` (older releases of functions
///   that now return warnings).
///
/// A reply that does not fit is no proof that anything was applied: a
/// proxy's `{}`, a WAF's `"ok"` or `{"error": ...}` came with HTTP 200.
pub fn misfit(template: &Template, records: usize, answer: &Json) -> Option<String> {
    match (&template.returns, answer) {
        (Returns::Nothing, Json::Null) => None,
        (Returns::Nothing, other) => Some(format!("expected null, got {}", excerpt(other))),
        (Returns::List(fields), Json::Array(items)) => {
            if items.len() != records {
                return Some(format!(
                    "expected a list of {records} results, got {}",
                    items.len()
                ));
            }
            items.iter().enumerate().find_map(|(i, item)| {
                object_misfit(fields, item, false).map(|why| format!("result {}: {why}", i + 1))
            })
        }
        (Returns::List(_), other) => Some(format!("expected a list, got {}", excerpt(other))),
        (Returns::Object(_), Json::Null) => None,
        (Returns::Object(fields), object @ Json::Object(_)) => object_misfit(fields, object, true),
        (Returns::Object(_), other) => Some(format!("expected an object, got {}", excerpt(other))),
        (Returns::Value { .. }, Json::Number(_) | Json::String(_) | Json::Bool(_)) => None,
        (Returns::Value { ty, .. }, other) => {
            Some(format!("expected a single {}, got {}", ty.name(), excerpt(other)))
        }
    }
}

/// Why `value` is not an object with `fields` (only those, when `closed`).
fn object_misfit(fields: &[Field], value: &Json, closed: bool) -> Option<String> {
    let Json::Object(object) = value else {
        return Some(format!("expected an object, got {}", excerpt(value)));
    };
    for field in fields {
        match object.get(&field.name) {
            None if field.required => return Some(format!("`{}` is missing", field.name)),
            None => {}
            Some(value) if !fits(&field.ty, value) => {
                return Some(format!(
                    "`{}` is {}, not {}",
                    field.name,
                    excerpt(value),
                    field.ty
                ))
            }
            Some(_) => {}
        }
    }
    if closed {
        if let Some(key) = object.keys().find(|k| !fields.iter().any(|f| &f.name == *k)) {
            return Some(format!("`{key}` is not a key Moodle returns"));
        }
    }
    None
}

/// Whether `value` is what Moodle sends for a field of type `ty`.
fn fits(ty: &FieldType, value: &Json) -> bool {
    match (ty, value) {
        (FieldType::List(fields), Json::Array(items)) => items
            .iter()
            .all(|item| object_misfit(fields, item, false).is_none()),
        (FieldType::List(_), _) => false,
        (FieldType::Object(fields), Json::Object(_)) => object_misfit(fields, value, false).is_none(),
        (FieldType::Values(inner), Json::Array(items)) => items.iter().all(|item| fits(inner, item)),
        (FieldType::Object(_) | FieldType::Values(_), v) => v.is_null(),
        (FieldType::Scalar(ScalarType::Int), v) => v.is_i64() || v.is_u64() || v.is_null(),
        (_, v) => !v.is_array() && !v.is_object(),
    }
}

/// A short form of a JSON value, for messages.
fn excerpt(value: &Json) -> String {
    let text = value.to_string();
    match text.char_indices().nth(80) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// The results of a successful call, one per record in `records`' order,
/// plus warnings that could not be matched to a record.
///
/// Call it only for answers that fit ([`misfit`] is `None`).
///
/// - `returns list`: item i belongs to record i; its `id` is the record's id
///   (moodle-ws.md 1.3: lists come back in input order). (A short list does
///   not fit; should one get here, its missing records fail.)
/// - `returns object` with `warnings` (core_user_update_users, 6): a warning
///   whose `itemid` is a record's `id` is that record's failure.
/// - Anything else (`null`): every record applied.
pub fn results_of_success(
    template: &Template,
    records: &[ValidRecord],
    answer: &Json,
) -> (Vec<RecordResult>, Vec<StrayWarning>) {
    match (&template.returns, answer) {
        (Returns::List(_), Json::Array(items)) => (list_results(records, items), Vec::new()),
        (Returns::Value { ok: Some(ok), .. }, answer) if !same_value(ok, answer) => {
            (not_applied(records, answer), Vec::new())
        }
        (_, Json::Object(object)) => match object.get("warnings") {
            Some(Json::Array(warnings)) if !warnings.is_empty() => {
                warning_results(template, records, warnings)
            }
            _ => (all_applied(records), Vec::new()),
        },
        _ => (all_applied(records), Vec::new()),
    }
}

fn all_applied(records: &[ValidRecord]) -> Vec<RecordResult> {
    records
        .iter()
        .map(|r| RecordResult::applied(r.number, None))
        .collect()
}

/// Id fields of a per-record result: `id`, or the function's own name for
/// it (core_message_send_instant_messages `msgid`, core_notes_create_notes `noteid`).
const ID_FIELDS: [&str; 3] = ["id", "msgid", "noteid"];

/// One record's item of a list answer. Some functions refuse a record
/// without failing the call: its item carries id -1 and an `errormessage`
/// (message/externallib.php send_instant_messages, notes/externallib.php
/// create_notes). That record was not applied.
fn item_result(number: u64, item: &Json) -> RecordResult {
    let id = ID_FIELDS
        .iter()
        .find_map(|name| item.get(*name).and_then(Json::as_i64));
    let error = item
        .get("errormessage")
        .and_then(Json::as_str)
        .filter(|message| !message.is_empty());
    if id == Some(-1) || error.is_some() {
        let why = error.unwrap_or("its result has id -1");
        return RecordResult::with_error(
            number,
            Status::Failed,
            MoodleError::local("not_applied", format!("Moodle did not apply this record: {why}")),
        );
    }
    RecordResult::applied(number, id)
}

/// Whether Moodle's single answer is the template's `ok` value (`0` and `"0"` alike).
fn same_value(ok: &Value, answer: &Json) -> bool {
    let text = match answer {
        Json::String(s) => s.clone(),
        Json::Bool(b) => if *b { "1" } else { "0" }.to_owned(),
        other => other.to_string(),
    };
    crate::form::scalar_text(ok) == text
}

/// Every record of a call whose single answer says it did nothing
/// (core_grades_update_grades: 1 failed, 2 several items, 4 item locked).
fn not_applied(records: &[ValidRecord], answer: &Json) -> Vec<RecordResult> {
    records
        .iter()
        .map(|r| {
            RecordResult::with_error(
                r.number,
                Status::Failed,
                MoodleError::local(
                    "not_applied",
                    format!("Moodle answered {answer}, which this function gives when it did nothing"),
                ),
            )
        })
        .collect()
}

fn list_results(records: &[ValidRecord], items: &[Json]) -> Vec<RecordResult> {
    records
        .iter()
        .enumerate()
        .map(|(index, record)| match items.get(index) {
            Some(item) => item_result(record.number, item),
            None => RecordResult::with_error(
                record.number,
                Status::Failed,
                MoodleError::local(
                    "missing_result",
                    format!(
                        "Moodle answered with {} results for {} records, none for this one: it was not processed (was the request cut short by max_input_vars?)",
                        items.len(),
                        records.len()
                    ),
                ),
            ),
        })
        .collect()
}

/// Moodle's answer to a batch with the batch's password values masked
/// wherever it echoes them (an error's message or debuginfo, a value, an
/// HTML page's excerpt): what reaches results, webhooks and the terminal.
pub fn scrub_answer(template: &Template, records: &[ValidRecord], answer: &mut Result<Reply, CallError>) {
    let secrets = password_values(template, records);
    if secrets.is_empty() {
        return;
    }
    match answer {
        Ok(Reply::Error(error)) => scrub_error(error, &secrets),
        Ok(Reply::Value(value)) => scrub_json(value, &secrets),
        Err(CallError::NotSent(text) | CallError::Ambiguous(text) | CallError::NotJson(text)) => {
            mask(text, &secrets);
        }
        Err(_) => {}
    }
}

fn scrub_json(value: &mut Json, secrets: &[String]) {
    match value {
        Json::String(text) => mask(text, secrets),
        Json::Array(items) => items.iter_mut().for_each(|item| scrub_json(item, secrets)),
        Json::Object(map) => map.values_mut().for_each(|item| scrub_json(item, secrets)),
        _ => {}
    }
}

/// `text` with each of `secrets`, as sent and form-encoded, masked.
fn mask(text: &mut String, secrets: &[String]) {
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        let encoded: String = form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        for form in [secret.as_str(), encoded.as_str()] {
            if text.contains(form) {
                *text = text.replace(form, MASKED_PASSWORD);
            }
        }
    }
}

/// `error` with each of `secrets` (as sent and form-encoded) masked.
fn scrub_error(error: &mut MoodleError, secrets: &[String]) {
    mask(&mut error.message, secrets);
    if let Some(debuginfo) = error.debuginfo.as_mut() {
        mask(debuginfo, secrets);
    }
}

/// The records' ids, from their `id` field (update_users) or, failing that,
/// `userid`/`courseid` (the fields Moodle's warnings name).
fn record_item_id(template: &Template, record: &ValidRecord) -> Option<i64> {
    ["id", "userid", "courseid"].iter().find_map(|name| {
        let position = template.fields.iter().position(|f| f.name == *name)?;
        if !matches!(template.fields[position].ty, FieldType::Scalar(_)) {
            return None;
        }
        record.values.iter().find_map(|(p, v)| match v {
            FieldValue::Scalar(Value::Int(id)) if *p == position => Some(*id),
            _ => None,
        })
    })
}

fn warning_results(
    template: &Template,
    records: &[ValidRecord],
    warnings: &[Json],
) -> (Vec<RecordResult>, Vec<StrayWarning>) {
    let mut results = all_applied(records);
    let mut stray = Vec::new();
    for warning in warnings {
        let itemid = warning.get("itemid").and_then(Json::as_i64);
        let matched = itemid.and_then(|id| {
            records
                .iter()
                .position(|r| record_item_id(template, r) == Some(id))
        });
        let matched = matched.or((records.len() == 1).then_some(0));
        match matched {
            Some(index) if results[index].status == Status::Applied => {
                results[index] =
                    RecordResult::with_error(records[index].number, Status::Failed, warning_error(warning));
            }
            Some(_) => {}
            None => stray.push(StrayWarning {
                warning: warning.clone(),
            }),
        }
    }
    (results, stray)
}

/// A warning in the shape of an error: `exception` is `warning`, `errorcode` its `warningcode`.
fn warning_error(warning: &Json) -> MoodleError {
    let text = |key: &str| warning.get(key).and_then(Json::as_str).map(str::to_owned);
    MoodleError {
        exception: "warning".to_owned(),
        errorcode: text("warningcode"),
        message: text("message").unwrap_or_default(),
        debuginfo: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_answer_other_than_ok_means_nothing_was_applied() {
        let t = crate::builtin::catalog().get("update_grades").unwrap();
        assert_eq!(misfit(t, 1, &json!(0)), None);
        assert!(misfit(t, 1, &json!({"x": 1})).is_some());
        let records = [
            record(t, 1, &[("studentid", Value::Int(3))]),
            record(t, 2, &[("studentid", Value::Int(4))]),
        ];
        let (ok, _) = results_of_success(t, &records, &json!(0));
        assert!(ok.iter().all(|r| r.status == Status::Applied), "{ok:?}");
        let (locked, _) = results_of_success(t, &records, &json!(4));
        assert!(locked.iter().all(|r| r.status == Status::Failed), "{locked:?}");
        assert!(locked[0].error.as_ref().unwrap().message.contains("answered 4"));
    }

    #[test]
    fn an_item_with_id_minus_one_and_an_errormessage_is_not_applied() {
        let refused = item_result(
            1,
            &json!({"msgid": -1, "clientmsgid": "c", "errormessage": "no such user"}),
        );
        assert_eq!(refused.status, Status::Failed);
        assert!(refused.error.unwrap().message.contains("no such user"));
        let sent = item_result(2, &json!({"msgid": 41, "clientmsgid": "c"}));
        assert_eq!(sent, RecordResult::applied(2, Some(41)));
        let note = item_result(3, &json!({"noteid": 7, "clientnoteid": "", "errormessage": ""}));
        assert_eq!(note, RecordResult::applied(3, Some(7)));
    }
    use crate::builtin;
    use serde_json::json;

    fn template(name: &str) -> std::sync::Arc<Template> {
        builtin::catalog().get(name).cloned().expect("built-in template")
    }

    fn record(template: &Template, number: u64, values: &[(&str, Value)]) -> ValidRecord {
        let mut values: Vec<(usize, FieldValue)> = values
            .iter()
            .map(|(name, v)| {
                let p = template.fields.iter().position(|f| f.name == *name).unwrap();
                (p, FieldValue::Scalar(v.clone()))
            })
            .collect();
        values.sort_by_key(|(p, _)| *p);
        ValidRecord {
            number,
            line: number,
            values,
        }
    }

    #[test]
    fn list_answers_give_ids_in_input_order() {
        let t = template("create_users");
        let records = [record(&t, 4, &[]), record(&t, 9, &[])];
        let (results, stray) = results_of_success(
            &t,
            &records,
            &json!([{"id":10,"username":"a"},{"id":11,"username":"b"}]),
        );
        assert!(stray.is_empty());
        assert_eq!(
            results,
            vec![
                RecordResult::applied(4, Some(10)),
                RecordResult::applied(9, Some(11))
            ]
        );
    }

    #[test]
    fn answers_that_do_not_fit_the_returns_are_no_proof() {
        let users = template("create_users");
        let enrol = template("enrol_users");
        let update = template("update_users");
        for wrong in [
            json!({}),
            json!(null),
            json!("ok"),
            json!({"error": "upstream busy"}),
            json!([{"id": 10}]),
            json!([{"id": 10, "username": "a"}, {"username": "b"}]),
            json!([{"id": "x", "username": "a"}, {"id": 11, "username": "b"}]),
        ] {
            assert!(misfit(&users, 2, &wrong).is_some(), "{wrong}");
        }
        assert_eq!(
            misfit(
                &users,
                2,
                &json!([{"id":10,"username":"a"},{"id":11,"username":"b"}])
            ),
            None
        );
        assert_eq!(misfit(&enrol, 3, &Json::Null), None);
        for wrong in [json!({}), json!("ok"), json!([])] {
            assert!(misfit(&enrol, 3, &wrong).is_some(), "{wrong}");
        }
        assert_eq!(misfit(&update, 1, &json!({"warnings": []})), None);
        assert!(misfit(&update, 1, &json!({"error": "upstream busy"})).is_some());
    }

    #[test]
    fn update_warnings_fail_their_record() {
        let t = template("update_users");
        let records = [
            record(&t, 1, &[("id", Value::Int(3))]),
            record(&t, 2, &[("id", Value::Int(4))]),
        ];
        let answer = json!({"warnings":[{"item":"user","itemid":4,"warningcode":"useremailinvalid","message":"Invalid email"},{"item":"user","itemid":99,"warningcode":"x","message":"?"}]});
        let (results, stray) = results_of_success(&t, &records, &answer);
        assert_eq!(results[0], RecordResult::applied(1, None));
        assert_eq!(results[1].status, Status::Failed);
        assert_eq!(results[1].error.as_ref().unwrap().code(), "useremailinvalid");
        assert_eq!(stray.len(), 1);
        let (clean, _) = results_of_success(&t, &records, &json!({"warnings":[]}));
        assert!(clean.iter().all(|r| r.status == Status::Applied));
    }

    #[test]
    fn password_values_never_reach_a_result_error() {
        let t = template("update_users");
        let records = [record(
            &t,
            1,
            &[
                ("id", Value::Int(4)),
                ("password", Value::Str("Winter 2026&!".into())),
            ],
        )];
        let mut answer = Ok(Reply::Value(
            json!({"warnings":[{"item":"user","itemid":4,"warningcode":"x","message":"bad password Winter 2026&!"}]}),
        ));
        scrub_answer(&t, &records, &mut answer);
        let Ok(Reply::Value(value)) = answer else {
            panic!("a value")
        };
        let (results, _) = results_of_success(&t, &records, &value);
        assert_eq!(
            results[0].error.as_ref().unwrap().message,
            "bad password ********"
        );
        let mut answer = Ok(Reply::Error(MoodleError {
            exception: "invalid_parameter_exception".into(),
            errorcode: Some("invalidparameter".into()),
            message: "Invalid parameter value detected".into(),
            debuginfo: Some("users[0][password] => Winter+2026%26%21: Winter 2026&!".into()),
        }));
        scrub_answer(&t, &records, &mut answer);
        let Ok(Reply::Error(error)) = answer else {
            panic!("an error")
        };
        assert_eq!(
            error.debuginfo.as_deref(),
            Some("users[0][password] => ********: ********")
        );
        let mut page = Err(CallError::NotJson("<p>Winter 2026&!</p>".into()));
        scrub_answer(&t, &records, &mut page);
        assert_eq!(page, Err(CallError::NotJson("<p>********</p>".into())));
    }

    fn key_names(name: &str) -> Vec<String> {
        KeyFields::of(&template(name))
            .fields
            .into_iter()
            .map(|(_, name)| name)
            .collect()
    }

    #[test]
    fn keys_are_the_fields_that_name_a_record_never_a_password() {
        assert_eq!(key_names("create_users"), ["username"]);
        assert_eq!(key_names("create_courses"), ["shortname"]);
        assert_eq!(key_names("create_groups"), ["courseid", "name"]);
        assert_eq!(key_names("enrol_users"), ["userid", "courseid"]);
        assert_eq!(key_names("update_users"), ["id"]);
        for t in builtin::catalog().iter() {
            let keys = KeyFields::of(t);
            for (position, name) in &keys.fields {
                let field = &t.fields[*position];
                assert_eq!(&field.name, name);
                assert!(
                    !matches!(field.ty, FieldType::Scalar(ScalarType::Password))
                        && !name.contains("password"),
                    "{}: {name}",
                    t.name
                );
            }
        }
        let t = template("create_users");
        let jdoe = record(
            &t,
            7,
            &[
                ("username", Value::Str("jdoe".into())),
                ("password", Value::Str("Secret1!".into())),
            ],
        );
        let result = RecordResult::applied(7, Some(3)).about(&KeyFields::of(&t), &jdoe);
        assert_eq!(
            serde_json::to_string(&result).unwrap(),
            r#"{"record":7,"line":7,"key":{"username":"jdoe"},"status":"applied","id":3}"#
        );
    }

    #[test]
    fn null_answers_apply_everything() {
        let t = template("enrol_users");
        let records = [record(&t, 1, &[]), record(&t, 2, &[])];
        let (results, _) = results_of_success(&t, &records, &Json::Null);
        assert!(results
            .iter()
            .all(|r| r.status == Status::Applied && r.id.is_none()));
    }
}
