//! Calls to Moodle's read functions, retried on any transient error: a read
//! applies nothing, so sending it again is always safe.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::Value as Json;

use crate::run::client::{CallError, Client, MoodleError, Reply};
use crate::run::retry::{RateLimiter, RetryPolicy};

/// A client for read calls, with retries, an optional rate limit and counts.
pub struct Reader {
    client: Client,
    retry: RetryPolicy,
    limiter: Option<RateLimiter>,
    calls: AtomicU64,
    retries: AtomicU64,
    /// Told about each retry, e.g. to show it on the terminal.
    on_retry: RetryReport,
}

/// Told about a retry: the error, the attempt number and the wait.
type RetryReport = Box<dyn Fn(&CallError, u32, Duration) + Send + Sync>;

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

impl Reader {
    /// A reader over `client`; `rate` limits requests per second.
    pub fn new(client: Client, retry: RetryPolicy, rate: Option<f64>) -> Self {
        Reader {
            client,
            retry,
            limiter: rate.map(RateLimiter::new),
            calls: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            on_retry: Box::new(|_, _, _| {}),
        }
    }

    /// Report each retry to `report` (the error, the attempt number, the wait).
    #[must_use]
    pub fn on_retry(mut self, report: impl Fn(&CallError, u32, Duration) + Send + Sync + 'static) -> Self {
        self.on_retry = Box::new(report);
        self
    }

    /// Call `function` with `params` and return Moodle's value.
    ///
    /// # Errors
    /// Moodle's error, or the transport error left after the retries.
    pub async fn call(&self, function: &str, params: &[(String, String)]) -> Result<Json, ReadError> {
        let mut attempt = 0;
        loop {
            if let Some(limiter) = &self.limiter {
                limiter.wait().await;
            }
            self.calls.fetch_add(1, Ordering::Relaxed);
            let error = match self.client.call(function, params).await {
                Ok(Reply::Value(value)) => return Ok(value),
                Ok(Reply::Error(error)) => return Err(ReadError::Moodle(error)),
                Err(error) if error.is_transient() && attempt < self.retry.retries => error,
                Err(error) => return Err(ReadError::Transport(error)),
            };
            let retry_after = match &error {
                CallError::Status { retry_after, .. } => *retry_after,
                _ => None,
            };
            let wait = self.retry.delay(attempt, retry_after);
            self.retries.fetch_add(1, Ordering::Relaxed);
            (self.on_retry)(&error, attempt + 1, wait);
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// Requests sent so far, retries included.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Retries so far.
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    /// The client, e.g. for its token when scrubbing text.
    pub fn client(&self) -> &Client {
        &self.client
    }
}
