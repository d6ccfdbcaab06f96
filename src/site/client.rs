//! HTTP to the site: the one place moodlec holds a reqwest client.
//!
//! [`Http`] posts a body and tells apart a complete answer, an HTTP error, a
//! request that never left and one that got no answer ([`CallError`]).
//! [`Client`] adds the REST endpoint and the token: it builds each call's
//! control parameters and scrubs the token from every answer before anything
//! above this module sees it.

use std::time::Duration;

use reqwest::header::{HeaderValue, ACCEPT, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use reqwest::Url;

use super::reply::{decode, CallError, Reply};
use super::token::Token;
use super::url::SiteUrl;
use crate::form::{push_pair, start_body};

/// How long to wait for a connection before calling the site unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Redirects followed for one request: only to the same scheme, host and
/// port, and only those that re-send the same method and body (307, 308).
const MAX_REDIRECTS: usize = 3;

/// The reason phrase of Moodle's maintenance answer (`503 Moodle under
/// maintenance`, lib/setup.php for climaintenance.html and
/// print_maintenance_message in lib/weblib.php): sent before any
/// web-service code runs, so nothing was applied.
const MAINTENANCE_REASON: &[u8] = b"Moodle under maintenance";

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
            // Redirects are looked at one by one (see `post`): never re-post
            // the token and the records to another origin.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .build()
            .map_err(|e| format!("cannot set up the HTTP client: {e}"))?;
        Ok(Http { client })
    }

    /// POST `body`; the answer's bytes on a 2xx status. A redirect is
    /// followed only to the same origin and only when it keeps the method
    /// and body (307, 308), a few times at most; any other is a
    /// [`CallError::Redirected`], and nothing is sent where it points.
    pub(super) async fn post(&self, url: &Url, kind: Body, body: String) -> Result<Vec<u8>, CallError> {
        let content_type = match kind {
            Body::Form => "application/x-www-form-urlencoded",
            Body::Json => "application/json",
        };
        let mut target = url.clone();
        let mut hops = 0;
        let response = loop {
            let response = self
                .client
                .post(target.clone())
                .header(CONTENT_TYPE, HeaderValue::from_static(content_type))
                .header(ACCEPT, HeaderValue::from_static("application/json"))
                .body(body.clone())
                .send()
                .await
                .map_err(|e| transport_error(&e))?;
            let status = response.status();
            if !status.is_redirection() {
                break response;
            }
            let Some(next) = redirect_target(&target, &response) else {
                break response;
            };
            let keeps_request = matches!(status.as_u16(), 307 | 308);
            if keeps_request && next.origin() == url.origin() && hops < MAX_REDIRECTS {
                target = next;
                hops += 1;
                continue;
            }
            return Err(CallError::Redirected {
                status: status.as_u16(),
                to: shown(&next),
            });
        };
        let status = response.status();
        if !status.is_success() {
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let reason = response.extensions().get::<hyper::ext::ReasonPhrase>();
            if status.as_u16() == 503 && reason.is_some_and(|r| r.as_bytes() == MAINTENANCE_REASON) {
                return Err(CallError::Maintenance { retry_after });
            }
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

/// Where a redirect points, resolved against the URL that answered it.
fn redirect_target(from: &Url, response: &reqwest::Response) -> Option<Url> {
    let location = response.headers().get(LOCATION)?.to_str().ok()?;
    from.join(location.trim()).ok()
}

/// A URL for messages: scheme, host, port and path; no credentials, query or fragment.
fn shown(url: &Url) -> String {
    let mut url = url.clone();
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_query(None);
    url.set_fragment(None);
    url.to_string()
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

    /// POST a complete body to server.php; the answer with the token, in
    /// any encoding, scrubbed from it before it is decoded or cut.
    async fn post(&self, body: String) -> Result<Reply, CallError> {
        let bytes = self
            .http
            .post(&self.endpoint, Body::Form, body)
            .await
            .map_err(|e| e.scrubbed(&self.token))?;
        // Scrubbed as bytes, before decoding: whatever part of the answer
        // echoes the token (an error's debuginfo, a value) never carries it.
        let bytes = self.token.scrub_bytes(bytes);
        decode(&bytes).map(|reply| reply.scrubbed(&self.token))
    }
}
