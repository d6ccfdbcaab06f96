//! Stage 6: sending batches to Moodle, safely, and accounting for every record.
//!
//! The runner reads the input once more after the CLI's validation pass:
//! it validates each record again (so `unique` sees the same dataset),
//! batches the valid ones and sends each batch on a current-thread tokio
//! runtime, a few at a time. Every record ends in exactly one result.
//!
//! What happens to a batch depends on Moodle's answer (moodle-ws.md 4.1):
//! - a return value: one result per record ([`outcome`]);
//! - an error, from a function that rolls the whole call back: the batch is
//!   split in halves and each half sent again, recursively, so that every
//!   good record is applied and every bad one carries Moodle's own error;
//! - no answer after the request left (timeout, dropped connection), an
//!   answer that does not fit the template's `returns` (a proxy's `{}`, an
//!   HTML page, a short list: no proof of anything), or a 5xx other than
//!   Moodle's own maintenance 503 (a gateway may answer 502 after Moodle
//!   committed): the records may or may not be in Moodle. They are never
//!   re-sent blindly: the template's applied check says whether to look them
//!   up (a record found counts only when its identifying fields are the
//!   record's), re-send them (idempotent), or report an unknown outcome;
//! - no answer and certainly not applied (connection refused, 429, Moodle's
//!   own maintenance 503): retried with backoff, then the run stops;
//! - a redirect to another origin, or one that would not re-send the same
//!   request: not followed, nothing sent there, the run stops.
//!
//! The [`ledger`] (results file plus journal) makes a run resumable after a
//! crash with the same guarantees. Everything goes to Moodle through a
//! [`crate::site::Session`]: the runner never sees the token.

mod applied;
mod apply;
mod ctx;
mod engine;
pub mod ledger;
pub mod outcome;
pub mod prepare;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use engine::Runner;

use crate::site::MoodleError;
use outcome::{RecordResult, Status};

/// How a run behaves.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Batches in flight at once. With a session limited by
    /// `Concurrency::Auto`, the cap: the session's limiter decides how many
    /// of their requests go at once.
    pub concurrency: usize,
    /// Send valid records (false: the input had invalid records, so valid
    /// ones are reported `skipped`).
    pub send: bool,
    /// Send only the first valid record and show the exchange.
    pub test: bool,
    /// Stop cleanly on Ctrl-C: requests in flight finish, the rest is skipped.
    pub handle_interrupt: bool,
}

/// What the runner tells the user about as it goes. Every method has a
/// do-nothing default; the CLI shows a progress bar or plain lines.
pub trait Reporter: Send + Sync {
    /// Records got their results.
    fn settled(&self, _results: &[RecordResult]) {}
    /// Something worth knowing that does not stop the run.
    fn warning(&self, _message: &str) {}
    /// `--test`: the request (token redacted) and Moodle's full answer.
    fn exchange(&self, _request: &str, _response: &str) {}
}

/// A reporter that says nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Reporter for Silent {}

/// Why a run stopped before its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stop {
    /// Its class.
    pub kind: StopKind,
    /// What happened.
    pub message: String,
    /// What to do about it.
    pub help: String,
}

/// Classes of stops, for exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopKind {
    /// The site is unreachable or refused the token, service or function.
    Server,
    /// The results file or journal could not be written.
    Local,
    /// Ctrl-C.
    Interrupted,
}

impl Stop {
    /// The error recorded on the records the stop left unsent.
    fn as_error(&self) -> MoodleError {
        let code = match self.kind {
            StopKind::Server => "run_stopped",
            StopKind::Local => "results_unwritable",
            StopKind::Interrupted => "interrupted",
        };
        MoodleError::local(code, format!("not sent: {}", self.message))
    }
}

/// Counters of a run.
#[derive(Debug, Default)]
struct Stats {
    applied: AtomicU64,
    failed: AtomicU64,
    invalid: AtomicU64,
    skipped: AtomicU64,
}

impl Stats {
    fn count(&self, results: &[RecordResult]) {
        for result in results {
            let counter = match result.status {
                Status::Applied => &self.applied,
                Status::Failed => &self.failed,
                Status::Invalid => &self.invalid,
                Status::Skipped => &self.skipped,
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The end of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Records applied.
    pub applied: u64,
    /// Records Moodle refused, or whose outcome is unknown.
    pub failed: u64,
    /// Records invalid or unreadable.
    pub invalid: u64,
    /// Records not sent.
    pub skipped: u64,
    /// Records done by an earlier run (`--resume`).
    pub already_done: u64,
    /// HTTP requests to Moodle (retries included).
    pub requests: u64,
    /// Of which retries.
    pub retries: u64,
    /// Webhook notifications that could not be delivered.
    pub webhook_failures: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// Why the run stopped early, if it did.
    pub stopped: Option<Stop>,
}
