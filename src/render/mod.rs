//! Stage 5: batches of valid records to the exact requests Moodle receives.

pub mod form;
pub mod preview;

use crate::plan::Batch;
use crate::template::Template;

use crate::form::{start_body, Pair};
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
