//! Stage 5: batches of valid records to the exact requests Moodle receives.

pub mod form;
pub mod preview;

use crate::plan::{Batch, PendingBatch};
use crate::template::Template;

use crate::form::{push_control, start_body, Pair};
use crate::moodle::ws::{REDACTED_TOKEN, REST_FORMAT, WSFUNCTION, WSTOKEN};

/// Where the token goes in a rendered body.
#[derive(Debug, Clone, Copy)]
pub enum TokenSlot<'a> {
    /// The real token (only the runner uses this).
    Real(&'a str),
    /// A placeholder: dry runs never carry a token.
    Redacted,
}

/// The form pairs of one request: control parameters, then every record.
/// The token is in the body, never in the URL (URLs end up in logs).
pub fn request_pairs(template: &Template, batch: &Batch, token: TokenSlot<'_>) -> Vec<Pair> {
    let token = match token {
        TokenSlot::Real(token) => token,
        TokenSlot::Redacted => REDACTED_TOKEN,
    };
    let mut pairs = vec![
        (WSTOKEN.to_owned(), token.to_owned()),
        (WSFUNCTION.to_owned(), template.function.clone()),
        (REST_FORMAT.to_owned(), "json".to_owned()),
    ];
    if let Some(first) = batch.records.first() {
        form::call_pairs(template, first, &mut pairs);
    }
    for (index, record) in batch.records.iter().enumerate() {
        form::record_pairs(template, record, index, &mut pairs);
    }
    pairs
}

/// The form-encoded body of one request: control parameters, then every record.
pub fn request_body(template: &Template, batch: &Batch, token: TokenSlot<'_>) -> String {
    let token = match token {
        TokenSlot::Real(token) => token,
        TokenSlot::Redacted => REDACTED_TOKEN,
    };
    let mut body = start_body(token, &template.function, batch.form_fields * 32);
    write_records(template, batch, &mut body);
    body
}

/// The form-encoded fields of a batch's records, without the control
/// parameters: what the site layer sends after its own `wstoken` and `wsfunction`.
pub fn records_body(template: &Template, batch: &Batch) -> String {
    let mut body = String::with_capacity(batch.form_fields * 32);
    write_records(template, batch, &mut body);
    body
}

fn write_records(template: &Template, batch: &Batch, body: &mut String) {
    let writer = form::RecordWriter::new(template);
    if let Some(first) = batch.records.first() {
        writer.write_call(first, body);
    }
    for (index, record) in batch.records.iter().enumerate() {
        writer.write(record, index, body);
    }
}

/// [`request_body`] of a [`PendingBatch`], appended to `body` (cleared
/// first): the same bytes, without rebuilding the batch's records. `writer`
/// is the template's, built once for all batches.
pub fn pending_request_body(
    template: &Template,
    writer: &form::RecordWriter<'_>,
    batch: &PendingBatch<'_>,
    token: TokenSlot<'_>,
    body: &mut String,
) {
    let token = match token {
        TokenSlot::Real(token) => token,
        TokenSlot::Redacted => REDACTED_TOKEN,
    };
    body.clear();
    push_control(token, &template.function, body);
    let mut records = batch.records();
    if let Some(first) = records.next() {
        writer.write_pending_call(&first, body);
        writer.write_pending(&first, 0, body);
    }
    for (index, record) in records.enumerate() {
        writer.write_pending(&record, index + 1, body);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin;
    use crate::plan::Batcher;
    use crate::record::{self, InputFormat, SourceRecord};
    use crate::validate::{ValidRecord, ValidateOptions, Validator};

    /// The valid records of NDJSON `lines` for built-in `template`.
    fn valid(template: &Template, lines: &[String]) -> Vec<ValidRecord> {
        let params = crate::params::resolve(template, &[]).expect("params");
        let mut validator = Validator::new(template, params, ValidateOptions::default());
        let text = lines.join("\n").into_bytes();
        let mut records =
            record::from_reader(std::io::Cursor::new(text), "test", InputFormat::Ndjson, 1 << 20);
        let mut slot = SourceRecord::empty(0);
        let mut valid = Vec::new();
        while let Some(record) = records.next_into(&mut slot) {
            if let Ok(record) = validator.validate(record.expect("readable")).outcome {
                valid.push(record);
            }
        }
        assert_eq!(valid.len(), lines.len(), "every test record is valid");
        valid
    }

    /// Batches written straight from the batcher are the batches `push`
    /// returns, and their bodies the same bytes.
    fn same_bodies(name: &str, lines: &[String]) {
        let template = builtin::catalog().get(name).expect("built-in");
        let records = valid(template, lines);
        let mut batcher = Batcher::new(template);
        let mut batches = Vec::new();
        for record in records.clone() {
            batches.extend(batcher.push(record).expect("fits"));
        }
        batches.extend(batcher.finish());

        for writer in [
            form::RecordWriter::new(template),
            form::RecordWriter::keyed(template),
        ] {
            let mut pending = Vec::new();
            let mut bodies = Vec::new();
            let mut body = String::from("left over");
            let mut emit = |batch: &PendingBatch<'_>| {
                pending.push(batch.to_batch());
                pending_request_body(template, &writer, batch, TokenSlot::Real("t&k"), &mut body);
                bodies.push(body.clone());
            };
            let mut batcher = Batcher::new(template);
            for record in records.clone() {
                batcher.push_each(record, &mut emit).expect("fits");
            }
            batcher.finish_each(&mut emit);
            assert_eq!(pending, batches, "{name}");
            let expected: Vec<String> = (batches.iter())
                .map(|batch| request_body(template, batch, TokenSlot::Real("t&k")))
                .collect();
            assert_eq!(bodies, expected, "{name}");
        }
    }

    #[test]
    fn pending_batches_render_as_their_batches() {
        let enrol: Vec<String> = (0..437)
            .map(|i| {
                let extra = if i % 3 == 0 {
                    ",\"timestart\":1700000000,\"suspend\":1"
                } else {
                    ""
                };
                format!(
                    r#"{{"userid":{},"courseid":{},"roleid":5{extra}}}"#,
                    2 + i * 7 % 301,
                    2 + i % 4
                )
            })
            .collect();
        same_bodies("enrol_users", &enrol);
        let delete: Vec<String> = (0..250).map(|i| format!(r#"{{"id":{}}}"#, i + 2)).collect();
        same_bodies("delete_users", &delete);
        let grades: Vec<String> = (0..230)
            .map(|i| {
                format!(
                    r#"{{"courseid":{},"component":"mod_assign","activityid":{},"studentid":{},"grade":{}.5,"str_feedback":"ok & [fine] é {i}"}}"#,
                    2 + i % 2,
                    3 + i % 3,
                    i + 2,
                    i % 10
                )
            })
            .collect();
        same_bodies("update_grades", &grades);
        let users: Vec<String> = (0..120)
            .map(|i| {
                format!(
                    r#"{{"username":"u{i}","firstname":"Ann {i}","lastname":"O'Brien+","email":"u{i}@example.org","password":"Secret+{i}!","createpassword":{},"customfields":[{{"type":"team","value":"a=b&c"}}]}}"#,
                    i % 2 == 0
                )
            })
            .collect();
        same_bodies("create_users", &users);
    }
}
