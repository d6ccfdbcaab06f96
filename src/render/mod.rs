//! Stage 5: batches of valid records to the exact requests Moodle receives.

pub mod form;
pub mod preview;

use crate::plan::Batch;
use crate::template::Template;

use form::Pair;

/// Where the token goes in a rendered body.
#[derive(Debug, Clone, Copy)]
pub enum TokenSlot<'a> {
    /// The real token (only the runner uses this).
    Real(&'a str),
    /// A placeholder: dry runs never carry a token.
    Redacted,
}

/// The text that stands for the token in every dry-run output.
pub const REDACTED_TOKEN: &str = "REDACTED";

/// The REST endpoint path under a site URL.
pub const REST_PATH: &str = "/webservice/rest/server.php";

/// The form pairs of one request: control parameters, then every record.
/// The token is in the body, never in the URL (URLs end up in logs).
pub fn request_pairs(template: &Template, batch: &Batch, token: TokenSlot<'_>) -> Vec<Pair> {
    let token = match token {
        TokenSlot::Real(token) => token,
        TokenSlot::Redacted => REDACTED_TOKEN,
    };
    let mut pairs = vec![
        ("wstoken".to_owned(), token.to_owned()),
        ("wsfunction".to_owned(), template.function.clone()),
        ("moodlewsrestformat".to_owned(), "json".to_owned()),
    ];
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
    let control = [
        ("wstoken", token),
        ("wsfunction", template.function.as_str()),
        ("moodlewsrestformat", "json"),
    ];
    let control_len: usize = control.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
    let mut body = String::with_capacity(control_len + batch.form_fields * 32);
    for (key, value) in control {
        form::push_pair(key, value, &mut body);
    }
    let writer = form::RecordWriter::new(template);
    for (index, record) in batch.records.iter().enumerate() {
        writer.write(record, index, &mut body);
    }
    body
}
