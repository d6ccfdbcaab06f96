//! `--webhook URL`: each Moodle answer, with its records and function, POSTed as JSON.

use std::time::Duration;

use reqwest::Url;
use serde_json::{json, Value as Json};

use super::client::{Body, Http};
use super::reply::{CallError, MoodleError};
use super::retry::{with_retries, Attempts, Retry, RetryPolicy};

/// Tries per notification: a webhook that is down must not hold up the run.
const POLICY: RetryPolicy = RetryPolicy {
    retries: 2,
    base: Duration::from_millis(400),
    max: Duration::from_secs(2),
};

/// Where answers are posted.
#[derive(Clone)]
pub struct Webhook {
    http: Http,
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

/// A webhook's attempts need no pacing or counting.
struct Unpaced;

impl Attempts for Unpaced {}

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
            http: Http::new(timeout)?,
            url: parsed,
        })
    }

    /// The JSON posted for one answer. Answers come from a session, which
    /// scrubbed the token from them.
    pub fn payload(function: &str, records: &[u64], answer: Answer<'_>) -> String {
        let body = match answer {
            Answer::Value(value) => {
                json!({ "function": function, "records": records, "ok": true, "response": value })
            }
            Answer::Error(error) => {
                json!({ "function": function, "records": records, "ok": false, "response": error })
            }
        };
        body.to_string()
    }

    /// POST `payload`, trying again after a 429, a 5xx or no answer.
    ///
    /// # Errors
    /// Why the last attempt failed.
    pub async fn post(&self, payload: String) -> Result<(), String> {
        let post = || self.http.post(&self.url, Body::Json, payload.clone());
        match with_retries(&POLICY, Retry::Read, &Unpaced, post).await {
            Ok(_) => Ok(()),
            Err(CallError::Status { status, .. }) => Err(format!("HTTP {status}")),
            Err(error) => Err(error.to_string()),
        }
    }
}
