//! `--webhook URL`: each Moodle answer, with its records and function, POSTed as JSON.

use std::time::Duration;

use reqwest::header::{HeaderValue, CONTENT_TYPE};
use reqwest::{StatusCode, Url};
use serde_json::{json, Value as Json};

use super::client::{http_client, MoodleError};
use super::token::Token;

/// Attempts per notification.
const ATTEMPTS: u32 = 3;

/// Where answers are posted.
#[derive(Clone)]
pub struct Webhook {
    http: reqwest::Client,
    url: Url,
}

/// What a notification reports.
#[derive(Debug, Clone, Copy)]
pub enum Answer<'a> {
    /// Moodle's return value.
    Value(&'a Json),
    /// Moodle's error object.
    Error(&'a MoodleError),
}

impl Webhook {
    /// A webhook posting to `url` (http or https).
    ///
    /// # Errors
    /// The URL is not an http(s) URL, or the client cannot be set up.
    pub fn new(url: &str, timeout: Duration) -> Result<Webhook, String> {
        let parsed = Url::parse(url).map_err(|e| format!("--webhook `{url}` is not a URL: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!("--webhook `{url}` is not an http(s) URL"));
        }
        Ok(Webhook {
            http: http_client(timeout)?,
            url: parsed,
        })
    }

    /// The JSON posted for one answer; the token is scrubbed from it.
    pub fn payload(function: &str, records: &[u64], answer: Answer<'_>, token: &Token) -> String {
        let body = match answer {
            Answer::Value(value) => {
                json!({ "function": function, "records": records, "ok": true, "response": value })
            }
            Answer::Error(error) => {
                json!({ "function": function, "records": records, "ok": false, "response": error })
            }
        };
        token.scrub(&body.to_string())
    }

    /// POST `payload`, trying a few times.
    ///
    /// # Errors
    /// Why the last attempt failed.
    pub async fn post(&self, payload: String) -> Result<(), String> {
        let mut last = String::new();
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(200) * 2u32.pow(attempt)).await;
            }
            let sent = self
                .http
                .post(self.url.clone())
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(payload.clone())
                .send()
                .await;
            match sent {
                Ok(response) if response.status().is_success() => return Ok(()),
                Ok(response)
                    if response.status() == StatusCode::TOO_MANY_REQUESTS
                        || response.status().is_server_error() =>
                {
                    last = format!("HTTP {}", response.status().as_u16());
                }
                Ok(response) => return Err(format!("HTTP {}", response.status().as_u16())),
                Err(error) => last = error.to_string(),
            }
        }
        Err(last)
    }
}
