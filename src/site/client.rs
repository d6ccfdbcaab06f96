//! HTTP to the site: the one place moodlec holds a reqwest client.
//!
//! [`Http`] posts a body and tells apart a complete answer, an HTTP error, a
//! request that never left and one that got no answer ([`CallError`]).
//! [`Client`] adds the REST endpoint and the token: it builds each call's
//! control parameters and scrubs the token from every answer before anything
//! above this module sees it.

use std::time::Duration;

use reqwest::header::{HeaderValue, ACCEPT, CONTENT_TYPE, RETRY_AFTER};
use reqwest::Url;

use super::reply::{decode, CallError, Reply};
use super::token::Token;
use super::url::SiteUrl;
use crate::form::{push_pair, start_body};

/// How long to wait for a connection before calling the site unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// A reqwest client with moodlec's settings.
#[derive(Clone)]
pub(super) struct Http {
    client: reqwest::Client,
}

/// What a body is, for the `Content-Type` header.
#[derive(Debug, Clone, Copy)]
pub(super) enum Body {
    /// `application/x-www-form-urlencoded`, as Moodle's endpoints read.
    Form,
    /// `application/json`, for webhooks.
    Json,
}

impl Http {
    /// A client giving up on a request after `timeout`.
    pub(super) fn new(timeout: Duration) -> Result<Http, String> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("moodlec/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(CONNECT_TIMEOUT.min(timeout))
            .timeout(timeout)
            .build()
            .map_err(|e| format!("cannot set up the HTTP client: {e}"))?;
        Ok(Http { client })
    }

    /// POST `body`; the answer's bytes on a 2xx status.
    pub(super) async fn post(&self, url: &Url, kind: Body, body: String) -> Result<Vec<u8>, CallError> {
        let content_type = match kind {
            Body::Form => "application/x-www-form-urlencoded",
            Body::Json => "application/json",
        };
        let response = self
            .client
            .post(url.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static(content_type))
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .body(body)
            .send()
            .await
            .map_err(|e| transport_error(&e))?;
        let status = response.status();
        if !status.is_success() {
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            return Err(CallError::Status {
                status: status.as_u16(),
                retry_after,
            });
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| CallError::Ambiguous(error_chain(&e)))?;
        Ok(bytes.to_vec())
    }
}

/// A reqwest error as a [`CallError`]: only a failed connection is known not to have been sent.
fn transport_error(error: &reqwest::Error) -> CallError {
    if error.is_connect() {
        CallError::NotSent(error_chain(error))
    } else if error.is_builder() {
        CallError::NotSent(error.to_string())
    } else {
        CallError::Ambiguous(error_chain(error))
    }
}

/// An error and its sources, on one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The REST endpoint of one site, with its token.
pub(super) struct Client {
    http: Http,
    endpoint: Url,
    token: Token,
}

impl Client {
    /// A client for `site`, giving up on a call after `timeout`.
    pub(super) fn new(site: &SiteUrl, token: Token, timeout: Duration) -> Result<Client, String> {
        Ok(Client {
            http: Http::new(timeout)?,
            endpoint: site.rest_endpoint(),
            token,
        })
    }

    /// Call `function` with `params` (form pairs without the control parameters).
    pub(super) async fn call(&self, function: &str, params: &[(String, String)]) -> Result<Reply, CallError> {
        let size = params.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
        let mut body = start_body(self.token.expose(), function, size);
        for (key, value) in params {
            push_pair(key, value, &mut body);
        }
        self.post(body).await
    }

    /// Call `function` with `fields`, already form-encoded (a rendered batch).
    pub(super) async fn send(&self, function: &str, fields: &str) -> Result<Reply, CallError> {
        let mut body = start_body(self.token.expose(), function, fields.len() + 1);
        if !fields.is_empty() {
            body.push('&');
            body.push_str(fields);
        }
        self.post(body).await
    }

    /// POST a complete body to server.php; the answer with the token scrubbed from it.
    async fn post(&self, body: String) -> Result<Reply, CallError> {
        let bytes = self
            .http
            .post(&self.endpoint, Body::Form, body)
            .await
            .map_err(|e| e.scrubbed(&self.token))?;
        // Scrubbed as bytes, before decoding: whatever part of the answer
        // echoes the token (an error's debuginfo, a value) never carries it.
        let bytes = self.token.scrub_bytes(bytes);
        decode(&bytes)
    }
}
