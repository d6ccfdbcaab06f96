//! A session with one site: what `run`, `fetch`, lookups and sync hold to
//! talk to Moodle. It keeps the client (and so the token), the retry policy,
//! the rate limit and the counts; callers name a function and its
//! parameters and get Moodle's answer, the token already scrubbed from it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value as Json;

use super::client::Client;
use super::limit::{form_keys, records_in, Concurrency, Limiter, Signal};
use super::reply::{CallError, MoodleError, Reply};
use super::retry::{with_retries, Attempts, RateLimiter, Retry, RetryPolicy};
use super::token::Token;
use super::url::SiteUrl;

/// How a session talks to its site.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// How long to wait for each answer.
    pub timeout: Duration,
    /// Retries and backoff.
    pub retry: RetryPolicy,
    /// Most requests per second, if limited.
    pub rate: Option<f64>,
}

/// Told about a retry: the error, the attempt number and the wait.
type RetryReport = Box<dyn Fn(&CallError, u32, Duration) + Send + Sync>;

/// Requests sent so far, and how many of them were retries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Requests, retries included.
    pub requests: u64,
    /// Retries.
    pub retries: u64,
}

impl std::ops::Sub for Counts {
    type Output = Counts;
    fn sub(self, earlier: Counts) -> Counts {
        Counts {
            requests: self.requests - earlier.requests,
            retries: self.retries - earlier.retries,
        }
    }
}

/// Why a read call gave no value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReadError {
    /// Moodle answered with an error object.
    #[error("{}", .0.describe())]
    Moodle(MoodleError),
    /// No usable answer, after the retries.
    #[error("{0}")]
    Transport(CallError),
}

/// One site, one token, one policy.
pub struct Session {
    client: Client,
    site: SiteUrl,
    retry: RetryPolicy,
    limiter: Option<RateLimiter>,
    requests: AtomicU64,
    retries: AtomicU64,
    halted: AtomicBool,
    on_retry: RetryReport,
    /// Requests in flight at once, when the session bounds them (`--concurrency auto`).
    concurrency: Option<Arc<Limiter>>,
}

impl Session {
    /// A session with `site`, authenticated by `token`.
    ///
    /// # Errors
    /// The HTTP client cannot be set up (the TLS backend).
    pub fn open(site: SiteUrl, token: Token, settings: Settings) -> Result<Session, String> {
        Ok(Session {
            client: Client::new(&site, token, settings.timeout)?,
            site,
            retry: settings.retry,
            limiter: settings.rate.map(RateLimiter::new),
            requests: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            halted: AtomicBool::new(false),
            on_retry: Box::new(|_, _, _| {}),
            concurrency: None,
        })
    }

    /// Bound the requests in flight at once as `concurrency` says.
    /// `Auto`: every request (each attempt, lookups and reads included) waits
    /// for a permit of an adaptive [`Limiter`] fed with its answer, so the
    /// caller may keep [`Concurrency::most`] tasks going. `Fixed`: the session
    /// adds no bound; the caller keeps that many tasks going, as before.
    #[must_use]
    pub fn limited(mut self, concurrency: Concurrency) -> Self {
        self.concurrency = match concurrency {
            Concurrency::Auto { .. } => Some(Arc::new(Limiter::new(concurrency))),
            Concurrency::Fixed(_) => None,
        };
        self
    }

    /// The adaptive limiter, with `--concurrency auto`.
    pub fn limiter(&self) -> Option<&Limiter> {
        self.concurrency.as_deref()
    }

    /// Report each retry to `report` (the error, the attempt number, the wait).
    #[must_use]
    pub fn on_retry(mut self, report: impl Fn(&CallError, u32, Duration) + Send + Sync + 'static) -> Self {
        self.on_retry = Box::new(report);
        self
    }

    /// The site.
    pub fn site(&self) -> &SiteUrl {
        &self.site
    }

    /// The retry policy (a caller re-sending after an unclear outcome paces itself by it).
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// Call the read function `function` with `params`; Moodle's value.
    ///
    /// # Errors
    /// Moodle's error, or the transport error left after the retries.
    pub async fn read(&self, function: &str, params: &[(String, String)]) -> Result<Json, ReadError> {
        match self.call(Retry::Read, function, params).await {
            Ok(Reply::Value(value)) => Ok(value),
            Ok(Reply::Error(error)) => Err(ReadError::Moodle(error)),
            Err(error) => Err(ReadError::Transport(error)),
        }
    }

    /// Call `function` with `params`, retrying as `retry` allows.
    ///
    /// # Errors
    /// No answer from Moodle after the retries (see [`CallError`]).
    pub async fn call(
        &self,
        retry: Retry,
        function: &str,
        params: &[(String, String)],
    ) -> Result<Reply, CallError> {
        let records = || records_in(params.iter().map(|(key, _)| key.as_str()));
        with_retries(&self.retry, retry, self, || {
            self.limited_attempt(records, self.client.call(function, params))
        })
        .await
    }

    /// Call the write function `function` with `fields`, already form-encoded
    /// (a rendered batch), retrying only while the request certainly did not
    /// reach Moodle.
    ///
    /// # Errors
    /// No answer from Moodle after the retries (see [`CallError`]).
    pub async fn send(&self, function: &str, fields: &str) -> Result<Reply, CallError> {
        let records = || records_in(form_keys(fields));
        with_retries(&self.retry, Retry::Write, self, || {
            self.limited_attempt(records, self.client.send(function, fields))
        })
        .await
    }

    /// [`Session::send`] for a caller that journals what it sends: `start`
    /// is called once, when the first attempt may leave (after any wait for
    /// a permit of the adaptive limit), so that a request is never recorded
    /// as sent while it only waits its turn. `None`: `start` said no, and
    /// nothing was sent.
    ///
    /// # Errors
    /// No answer from Moodle after the retries (see [`CallError`]).
    pub async fn send_started(
        &self,
        function: &str,
        fields: &str,
        start: impl FnOnce() -> bool,
    ) -> Option<Result<Reply, CallError>> {
        let first = match &self.concurrency {
            Some(limiter) => Some(limiter.acquire().await),
            None => None,
        };
        if !start() {
            return None;
        }
        let mut first = Some(first);
        let records = || records_in(form_keys(fields));
        let answer = with_retries(&self.retry, Retry::Write, self, || {
            let held = first.take();
            async move {
                let permit = match (held, &self.concurrency) {
                    (Some(permit), _) => permit,
                    (None, Some(limiter)) => Some(limiter.acquire().await),
                    (None, None) => None,
                };
                let answer = self.client.send(function, fields).await;
                if let Some(permit) = permit {
                    permit.done(records(), Signal::of(&answer));
                }
                answer
            }
        })
        .await;
        Some(answer)
    }

    /// One attempt, within the concurrency limit when there is one; its
    /// answer is fed to the limiter (`records`: how many records the call holds).
    async fn limited_attempt(
        &self,
        records: impl Fn() -> usize,
        attempt: impl std::future::Future<Output = Result<Reply, CallError>>,
    ) -> Result<Reply, CallError> {
        let Some(limiter) = &self.concurrency else {
            return attempt.await;
        };
        let permit = limiter.acquire().await;
        let answer = attempt.await;
        permit.done(records(), Signal::of(&answer));
        answer
    }

    /// Stop retrying: calls from now on are tried once (e.g. the run is stopping).
    pub fn halt(&self) {
        self.halted.store(true, Ordering::Relaxed);
    }

    /// Requests and retries so far.
    pub fn counts(&self) -> Counts {
        Counts {
            requests: self.requests.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
        }
    }
}

impl Attempts for Session {
    fn limiter(&self) -> Option<&RateLimiter> {
        self.limiter.as_ref()
    }

    fn starting(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    fn halted(&self) -> bool {
        self.halted.load(Ordering::Relaxed)
    }

    fn retrying(&self, error: &CallError, attempt: u32, wait: Duration) {
        self.retries.fetch_add(1, Ordering::Relaxed);
        (self.on_retry)(error, attempt, wait);
    }
}
