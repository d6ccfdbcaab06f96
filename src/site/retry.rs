//! Trying again: the one retry loop of moodlec, the policies that decide which
//! failures it may retry, exponential backoff with jitter between attempts,
//! and a request rate limit.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::reply::CallError;

/// Which failures a call may be tried again after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// A read applies nothing, so any transient failure may be retried
    /// (an HTML page in place of Moodle's answer included).
    Read,
    /// A write may be retried only when the failure proves the request never
    /// reached Moodle: sending it again cannot apply anything twice.
    Write,
}

impl Retry {
    fn allows(self, error: &CallError) -> bool {
        match self {
            Retry::Read => error.is_transient(),
            // Not applied, and worth trying again (a redirect not followed is not).
            Retry::Write => error.not_applied() && error.is_transient(),
        }
    }
}

/// What the loop tells and asks its caller around each attempt.
pub(super) trait Attempts {
    /// The rate limit every attempt waits for, if any.
    fn limiter(&self) -> Option<&RateLimiter> {
        None
    }
    /// Told about each attempt as it starts (e.g. to count requests).
    fn starting(&self) {}
    /// Whether to give up retrying (e.g. the run was stopped).
    fn halted(&self) -> bool {
        false
    }
    /// Told about a retry: the error, the attempt number (from 1), the wait.
    fn retrying(&self, _error: &CallError, _attempt: u32, _wait: Duration) {}
}

/// Call `call` until it succeeds, fails in a way `retry` does not allow
/// retrying, `policy` runs out of attempts, or `attempts` says halt. A
/// `Retry-After` of the site is honoured (up to a bound).
pub(super) async fn with_retries<T, F, Fut>(
    policy: &RetryPolicy,
    retry: Retry,
    attempts: &impl Attempts,
    mut call: F,
) -> Result<T, CallError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, CallError>>,
{
    let mut attempt = 0;
    loop {
        if let Some(limiter) = attempts.limiter() {
            limiter.wait().await;
        }
        attempts.starting();
        let error = match call().await {
            Err(error) if retry.allows(&error) && attempt < policy.retries && !attempts.halted() => error,
            answer => return answer,
        };
        let wait = policy.delay(attempt, error.retry_after());
        attempts.retrying(&error, attempt + 1, wait);
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

/// How often and how patiently a call is tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts after the first one.
    pub retries: u32,
    /// The wait before the first retry; it doubles with each attempt.
    pub base: Duration,
    /// The longest wait between two attempts.
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retries: 5,
            base: Duration::from_millis(250),
            max: Duration::from_secs(20),
        }
    }
}

/// The longest `Retry-After` honoured: a site asking for more is treated as down.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

impl RetryPolicy {
    /// The wait before retry number `attempt` (0-based): half the
    /// exponential step plus a random part of the other half, so that
    /// concurrent callers do not retry in lockstep; at least `retry_after`.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let step = self
            .base
            .saturating_mul(1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX))
            .min(self.max);
        let jittered = step / 2 + step.mul_f64(jitter() / 2.0);
        jittered.max(retry_after.unwrap_or_default().min(MAX_RETRY_AFTER))
    }
}

/// A number in [0, 1) from a SplitMix64 sequence seeded by the clock: enough
/// to spread retries, and no dependency for it.
fn jitter() -> f64 {
    static STATE: AtomicU64 = AtomicU64::new(0);
    if STATE.load(Ordering::Relaxed) == 0 {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64 | 1);
        let _ = STATE.compare_exchange(0, seed, Ordering::Relaxed, Ordering::Relaxed);
    }
    let mut z = STATE
        .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    #[allow(clippy::cast_precision_loss)] // 53 bits fit an f64 exactly
    let unit = (z >> 11) as f64 / (1u64 << 53) as f64;
    unit
}

/// At most `rate` requests per second, across every task: each request
/// takes the next free slot, `1/rate` seconds after the previous one.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

impl RateLimiter {
    /// A limiter for `rate` requests per second (`rate` > 0).
    pub fn new(rate: f64) -> Self {
        RateLimiter {
            interval: Duration::from_secs_f64(1.0 / rate.max(1e-6)),
            next: Mutex::new(None),
        }
    }

    /// Wait for this request's slot.
    pub async fn wait(&self) {
        let slot = {
            let mut next = self
                .next
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let now = Instant::now();
            let slot = next.map_or(now, |n| n.max(now));
            *next = Some(slot + self.interval);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_are_jittered_and_capped() {
        let policy = RetryPolicy {
            retries: 5,
            base: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        for _ in 0..100 {
            let first = policy.delay(0, None);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let third = policy.delay(2, None);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            assert!(policy.delay(30, None) <= Duration::from_secs(1));
        }
        assert_eq!(
            policy.delay(0, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
        assert_eq!(policy.delay(0, Some(Duration::from_secs(9999))), MAX_RETRY_AFTER);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn rate_limiter_spaces_requests() {
        let limiter = RateLimiter::new(50.0);
        let start = Instant::now();
        for _ in 0..5 {
            limiter.wait().await;
        }
        // The first request goes at once, the next four 20 ms apart.
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(80), "{elapsed:?}");
    }
}
