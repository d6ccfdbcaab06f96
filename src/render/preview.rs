//! Dry-run views of a request: form body, JSON parameter tree, curl, raw HTTP.
//! None of them ever holds the token, and values of `password` fields show
//! as [`MASKED_PASSWORD`] unless revealed on request.

use serde_json::{json, Map, Value as Json};

use super::{request_body, TokenSlot};
use crate::form::{scalar_text, FieldValue};
use crate::moodle::ws::REST_PATH;
use crate::plan::Batch;
use crate::template::{Field, FieldType, Template};
use crate::template::{ScalarType, Value};

/// Dry-run output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreviewFormat {
    /// One form-encoded body per batch, one per line.
    Form,
    /// Per batch: function, record numbers and the parameter tree, one JSON object per line.
    Json,
    /// A curl command per batch, reading the token from $MOODLE_TOKEN when pasted.
    Curl,
    /// The raw HTTP request per batch.
    Http,
}

/// What a value of a `password` field shows as.
pub const MASKED_PASSWORD: &str = "********";

/// Whether a preview shows the values of `password` fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Passwords {
    /// As [`MASKED_PASSWORD`] (the default: dry-run output ends up in CI logs).
    Masked,
    /// In clear, on request.
    Shown,
}

/// The dry-run text for one batch (ends with a newline), passwords masked.
pub fn preview(template: &Template, batch: &Batch, format: PreviewFormat, site: &str) -> String {
    preview_with(template, batch, format, site, Passwords::Masked)
}

/// The dry-run text for one batch (ends with a newline).
pub fn preview_with(
    template: &Template,
    batch: &Batch,
    format: PreviewFormat,
    site: &str,
    passwords: Passwords,
) -> String {
    let masked;
    let batch = match passwords {
        Passwords::Shown => batch,
        Passwords::Masked if !has_password(&template.fields) => batch,
        Passwords::Masked => {
            masked = mask_passwords(template, batch);
            &masked
        }
    };
    match format {
        PreviewFormat::Form => {
            let mut body = request_body(template, batch, TokenSlot::Redacted);
            body.push('\n');
            body
        }
        PreviewFormat::Json => format!("{}\n", batch_json(template, batch)),
        PreviewFormat::Curl => curl(template, batch, site),
        PreviewFormat::Http => http(template, batch, site),
    }
}

/// Whether `fields` (or the fields of their lists) have a `password` field.
pub fn has_password(fields: &[Field]) -> bool {
    fields.iter().any(|field| match &field.ty {
        FieldType::Scalar(ScalarType::Password) => true,
        FieldType::List(inner) | FieldType::Object(inner) => has_password(inner),
        FieldType::Values(inner) => has_password(std::slice::from_ref(&Field {
            ty: (**inner).clone(),
            ..field.clone()
        })),
        FieldType::Enum(_) | FieldType::Scalar(_) => false,
    })
}

/// `batch` with the value of every `password` field replaced by [`MASKED_PASSWORD`].
pub fn mask_passwords(template: &Template, batch: &Batch) -> Batch {
    let mut batch = batch.clone();
    for record in &mut batch.records {
        mask_values(&template.fields, &mut record.values);
    }
    batch
}

fn mask_values(fields: &[Field], values: &mut [(usize, FieldValue)]) {
    crate::form::visit_fields_mut(fields, values, &mut |ty, scalar| {
        if matches!(ty, FieldType::Scalar(ScalarType::Password)) {
            *scalar = Value::Str(MASKED_PASSWORD.to_owned());
        }
    });
}

/// The values of `password` fields in `records`, for scrubbing text that may
/// echo them (a server's error message).
pub fn password_values(template: &Template, records: &[crate::validate::ValidRecord]) -> Vec<String> {
    fn collect(fields: &[Field], values: &[(usize, FieldValue)], out: &mut Vec<String>) {
        let mut values = values.to_vec();
        crate::form::visit_fields_mut(fields, &mut values, &mut |ty, scalar| {
            if matches!(ty, FieldType::Scalar(ScalarType::Password)) {
                let text = scalar_text(scalar);
                if !text.is_empty() {
                    out.push(text);
                }
            }
        });
    }
    let mut out = Vec::new();
    if !has_password(&template.fields) {
        return out;
    }
    for record in records {
        collect(&template.fields, &record.values, &mut out);
    }
    out
}

fn endpoint(site: &str) -> String {
    format!("{}{REST_PATH}", site.trim_end_matches('/'))
}

/// The body without the token pair, for formats that add the token themselves.
fn body_without_token(template: &Template, batch: &Batch) -> String {
    let body = request_body(template, batch, TokenSlot::Redacted);
    body.split_once('&')
        .map_or_else(String::new, |(_, rest)| rest.to_owned())
}

fn curl(template: &Template, batch: &Batch, site: &str) -> String {
    let body = body_without_token(template, batch).replace('\'', "'\\''");
    format!(
        "# batch {}: records {}\ncurl -sS -X POST '{}' \\\n  --data-urlencode \"wstoken=${{MOODLE_TOKEN:?set MOODLE_TOKEN}}\" \\\n  --data '{body}'\n",
        batch.number,
        record_list(batch),
        endpoint(site).replace('\'', "'\\''"),
    )
}

fn http(template: &Template, batch: &Batch, site: &str) -> String {
    let body = request_body(template, batch, TokenSlot::Redacted);
    let host = site
        .split("://")
        .nth(1)
        .unwrap_or(site)
        .split('/')
        .next()
        .unwrap_or("");
    let path = site
        .split("://")
        .nth(1)
        .and_then(|rest| rest.find('/').map(|i| &rest[i..]))
        .unwrap_or("");
    format!(
        "POST {}{REST_PATH} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nAccept: application/json\r\nContent-Length: {}\r\n\r\n{body}\n",
        path.trim_end_matches('/'),
        body.len()
    )
}

fn record_list(batch: &Batch) -> String {
    let numbers: Vec<String> = batch.records.iter().map(|r| r.number.to_string()).collect();
    numbers.join(",")
}

/// `{"batch":1,"function":"...","records":[1,2],"params":{"users":[{...}]}}`
pub fn batch_json(template: &Template, batch: &Batch) -> Json {
    let per_call = |call: bool| move |(p, _): &&(usize, FieldValue)| template.fields[*p].per_call == call;
    let values_of = |record: &crate::validate::ValidRecord, call: bool| {
        let values: Vec<(usize, FieldValue)> = record.values.iter().filter(per_call(call)).cloned().collect();
        values_json(&template.fields, &values)
    };
    // The call's top-level parameters: its `per_call` fields, then the records.
    let mut params = match batch.records.first() {
        Some(first) => values_of(first, true),
        None => json!({}),
    };
    let records = batch.records.iter().map(|r| values_of(r, false));
    let collect = template
        .batch
        .collect
        .as_ref()
        .filter(|_| template.wrap.is_none());
    match (&template.wrap, collect) {
        (Some(wrap), _) => params[wrap] = Json::Array(records.collect()),
        (None, Some(collect)) => {
            params[&collect.into] = Json::Array(records.map(|mut r| r[&collect.field].take()).collect());
        }
        (None, None) => {
            if let (Some(Json::Object(record)), Json::Object(params)) =
                (records.into_iter().next(), &mut params)
            {
                params.extend(record);
            }
        }
    }
    json!({
        "batch": batch.number,
        "function": template.function,
        "records": batch.records.iter().map(|r| r.number).collect::<Vec<_>>(),
        "form_fields": batch.form_fields,
        "params": params,
    })
}

fn values_json(fields: &[Field], values: &[(usize, FieldValue)]) -> Json {
    let mut object = Map::new();
    for (position, value) in values {
        let field = &fields[*position];
        let json = crate::form::value_json(&field.ty, value, &|scalar| Json::String(scalar_text(scalar)));
        object.insert(field.name.clone(), json);
    }
    Json::Object(object)
}
