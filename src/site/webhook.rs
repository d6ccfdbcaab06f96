//! `--webhook URL`: each Moodle answer, with its records and function, POSTed as JSON.
//!
//! Notifications never hold up sending: they go through a bounded [`Queue`]
//! that a background task drains, each post with a short timeout of its
//! own. When the queue is full, a notification is dropped and counted as a
//! failure; at the end of a run the queue gets a bounded time to drain.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use reqwest::Url;
use serde_json::{json, Value as Json};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::client::{Body, Http};
use super::reply::{CallError, MoodleError};
use super::retry::{with_retries, Attempts, Retry, RetryPolicy};

/// Tries per notification: a webhook that is down must not hold up the run.
const POLICY: RetryPolicy = RetryPolicy {
    retries: 2,
    base: Duration::from_millis(400),
    max: Duration::from_secs(2),
};

/// The longest a webhook post waits for an answer, whatever `--timeout` says.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Notifications waiting to be posted, at most.
pub const CAPACITY: usize = 256;

/// How long the end of a run waits for the queue to drain.
pub const DRAIN: Duration = Duration::from_secs(15);

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
    /// A webhook posting to `url` (http or https), giving up on a post after
    /// `timeout` or [`TIMEOUT`], whichever is shorter.
    ///
    /// # Errors
    /// The URL is not an http(s) URL, or the client cannot be set up.
    pub fn new(url: &str, timeout: Duration) -> Result<Webhook, String> {
        let parsed = Url::parse(url).map_err(|e| format!("--webhook `{url}` is not a URL: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!("--webhook `{url}` is not an http(s) URL"));
        }
        Ok(Webhook {
            http: Http::new(timeout.min(TIMEOUT))?,
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

/// Told about a notification that could not be delivered.
type Warn = Box<dyn Fn(&str) + Send + Sync>;

/// A notification: what it is about (for messages) and its JSON.
struct Note {
    about: String,
    payload: String,
}

/// The notifications of a run, posted in order by a background task.
pub struct Queue {
    sender: Mutex<Option<mpsc::Sender<Note>>>,
    task: Mutex<Option<JoinHandle<()>>>,
    /// Queued and not yet posted or given up on.
    pending: Arc<AtomicU64>,
    failures: Arc<AtomicU64>,
    warn: Arc<Warn>,
}

impl Queue {
    /// Start posting to `webhook` in the background (on the current tokio
    /// runtime); `warn` is told about each notification that fails.
    pub fn start(webhook: Webhook, warn: impl Fn(&str) + Send + Sync + 'static) -> Queue {
        Queue::with_capacity(webhook, CAPACITY, warn)
    }

    fn with_capacity(
        webhook: Webhook,
        capacity: usize,
        warn: impl Fn(&str) + Send + Sync + 'static,
    ) -> Queue {
        let (sender, mut receiver) = mpsc::channel::<Note>(capacity.max(1));
        let pending = Arc::new(AtomicU64::new(0));
        let failures = Arc::new(AtomicU64::new(0));
        let warn: Arc<Warn> = Arc::new(Box::new(warn));
        let task = {
            let (pending, failures, warn) = (pending.clone(), failures.clone(), warn.clone());
            tokio::spawn(async move {
                while let Some(note) = receiver.recv().await {
                    if let Err(error) = webhook.post(note.payload).await {
                        failures.fetch_add(1, Ordering::Relaxed);
                        warn(&format!(
                            "webhook: could not post the answer for {}: {error}",
                            note.about
                        ));
                    }
                    pending.fetch_sub(1, Ordering::Relaxed);
                }
            })
        };
        Queue {
            sender: Mutex::new(Some(sender)),
            task: Mutex::new(Some(task)),
            pending,
            failures,
            warn,
        }
    }

    /// Queue `payload` (about `about`, e.g. "records 1-3") without waiting:
    /// when the queue is full or closed, it is dropped, counted as a failure
    /// and warned about.
    pub fn push(&self, about: &str, payload: String) {
        let sender = self.sender.lock().unwrap_or_else(PoisonError::into_inner).clone();
        self.pending.fetch_add(1, Ordering::Relaxed);
        let note = Note {
            about: about.to_owned(),
            payload,
        };
        let sent = sender.map(|s| s.try_send(note));
        if !matches!(sent, Some(Ok(()))) {
            self.pending.fetch_sub(1, Ordering::Relaxed);
            self.failures.fetch_add(1, Ordering::Relaxed);
            (self.warn)(&format!(
                "webhook: dropped the answer for {about}: the webhook is not keeping up ({CAPACITY} notifications waiting)"
            ));
        }
    }

    /// Notifications that could not be delivered so far.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// Take no more notifications and wait up to `wait` for those queued to
    /// be posted; those still waiting then are given up on and counted as
    /// failures.
    pub async fn finish(&self, wait: Duration) {
        drop(self.sender.lock().unwrap_or_else(PoisonError::into_inner).take());
        let task = self.task.lock().unwrap_or_else(PoisonError::into_inner).take();
        let Some(mut task) = task else {
            return;
        };
        if tokio::time::timeout(wait, &mut task).await.is_err() {
            task.abort();
            let left = self.pending.swap(0, Ordering::Relaxed);
            self.failures.fetch_add(left, Ordering::Relaxed);
            (self.warn)(&format!(
                "webhook: gave up on {left} notification(s) not delivered {} s after the run's end",
                wait.as_secs()
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A webhook at an address that accepts connections and never answers.
    fn silent_hook() -> (std::net::TcpListener, Webhook) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        (listener, Webhook::new(&url, Duration::from_secs(30)).unwrap())
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_full_queue_drops_without_waiting_and_the_end_is_bounded() {
        let (_listener, hook) = silent_hook();
        let warnings = Arc::new(Mutex::new(Vec::<String>::new()));
        let kept = warnings.clone();
        let queue = Queue::with_capacity(hook, 2, move |w| kept.lock().unwrap().push(w.to_owned()));
        let started = tokio::time::Instant::now();
        for n in 0..10 {
            queue.push(&format!("records {n}"), "{}".to_owned());
        }
        // Pushing never waits for the webhook.
        assert!(started.elapsed() < Duration::from_secs(1));
        assert!(queue.failures() >= 7, "{}", queue.failures());
        queue.finish(Duration::from_millis(200)).await;
        assert_eq!(queue.failures(), 10);
        let warnings = warnings.lock().unwrap();
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("dropped the answer for records 9")),
            "{warnings:?}"
        );
        assert!(warnings.iter().any(|w| w.contains("gave up on")), "{warnings:?}");
    }
}
