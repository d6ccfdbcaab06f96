//! What the tasks of a run share: the template, the session with the site,
//! the ledger, the counters and the reason the run stopped, if it did.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::ledger::{Ledger, SharedLedger};
use super::outcome::RecordResult;
use super::{Reporter, Settings, Stats, Stop, StopKind, Summary};
use crate::site::webhook::{self, Answer, Queue, Webhook};
use crate::site::{Counts, Session};
use crate::template::{AppliedCheck, WriteTemplate};

/// What the tasks share.
pub(super) struct Ctx {
    pub template: WriteTemplate,
    pub session: Arc<Session>,
    pub applied: AppliedCheck,
    pub settings: Settings,
    pub reporter: Arc<dyn Reporter>,
    ledger: SharedLedger,
    stats: Stats,
    stop: Mutex<Option<Stop>>,
    /// Notifications for the webhook, posted off the critical path.
    webhook: Option<Queue>,
    /// The session's counts when the run started (the preflight and lookups came before).
    counts_before: Counts,
}

/// What a [`Ctx`] is made of.
pub(super) struct Parts {
    pub template: WriteTemplate,
    pub session: Arc<Session>,
    pub applied: AppliedCheck,
    pub settings: Settings,
    pub reporter: Arc<dyn Reporter>,
    pub ledger: SharedLedger,
    pub webhook: Option<Webhook>,
}

impl Ctx {
    /// The tasks' shared state; a webhook starts posting in the background
    /// (so this is called on the run's runtime).
    pub fn new(parts: Parts) -> Ctx {
        let webhook = parts.webhook.map(|hook| {
            let reporter = parts.reporter.clone();
            Queue::start(hook, move |warning| reporter.warning(warning))
        });
        Ctx {
            counts_before: parts.session.counts(),
            template: parts.template,
            session: parts.session,
            applied: parts.applied,
            settings: parts.settings,
            reporter: parts.reporter,
            ledger: parts.ledger,
            stats: Stats::default(),
            stop: Mutex::new(None),
            webhook,
        }
    }

    /// Record results: results file, counters, progress.
    pub fn settle(&self, results: Vec<RecordResult>) {
        if results.is_empty() {
            return;
        }
        let written = self.ledger().record(&results);
        if let Err(error) = written {
            self.stop_unwritable(&error);
        }
        self.stats.count(&results);
        self.reporter.settled(&results);
    }

    /// Journal a request before sending it; `None` (and the run stops) if the journal cannot be written.
    pub fn journal_start(&self, records: &[u64]) -> Option<u64> {
        let started = self.ledger().start(records);
        match started {
            Ok(id) => Some(id),
            Err(error) => {
                self.stop_unwritable(&error);
                None
            }
        }
    }

    /// Journal that a request is settled.
    pub fn journal_finish(&self, request: u64) {
        let finished = self.ledger().finish(request);
        if let Err(error) = finished {
            self.stop_unwritable(&error);
        }
    }

    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn stop_unwritable(&self, error: &std::io::Error) {
        self.stop(Stop {
            kind: StopKind::Local,
            message: format!("cannot write the results file or its journal: {error}"),
            help: "free some disk space or fix the file's permissions, then continue with --resume"
                .to_owned(),
        });
    }

    /// Stop the run: the first reason wins. Calls in flight are no longer retried.
    pub fn stop(&self, stop: Stop) {
        let mut current = self.stop.lock().unwrap_or_else(PoisonError::into_inner);
        if current.is_none() {
            *current = Some(stop);
        }
        self.session.halt();
    }

    /// Why the run stopped, if it did.
    pub fn stopped(&self) -> Option<Stop> {
        self.stop.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Wait before re-sending after an unclear outcome.
    pub async fn pause(&self, resends: u32) {
        tokio::time::sleep(self.session.retry_policy().delay(resends, None)).await;
    }

    /// The retries a call gets (and so the re-sends after unclear outcomes).
    pub fn retries(&self) -> u32 {
        self.session.retry_policy().retries
    }

    /// Queue an answer for the webhook, if there is one, without waiting
    /// for it to be posted: a slow or failing webhook never slows sending.
    pub async fn notify(&self, records: &[u64], answer: Answer<'_>) {
        let Some(queue) = &self.webhook else {
            return;
        };
        let payload = Webhook::payload(&self.template.function, records, answer);
        queue.push(&format!("records {}", span(records)), payload);
    }

    /// At the end of the run: give the webhook's queue a bounded time to drain.
    pub async fn finish_webhooks(&self) {
        if let Some(queue) = &self.webhook {
            queue.finish(webhook::DRAIN).await;
        }
    }

    pub fn summary(&self, elapsed: Duration, already_done: u64) -> Summary {
        let get = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Relaxed);
        let counts = self.session.counts() - self.counts_before;
        Summary {
            applied: get(&self.stats.applied),
            failed: get(&self.stats.failed),
            invalid: get(&self.stats.invalid),
            skipped: get(&self.stats.skipped),
            already_done,
            requests: counts.requests,
            retries: counts.retries,
            webhook_failures: self.webhook.as_ref().map_or(0, Queue::failures),
            elapsed,
            stopped: self.stopped(),
        }
    }
}

/// `3-7` or `3,9` style, for messages about a call's records.
pub(super) fn span(records: &[u64]) -> String {
    match records {
        [] => String::new(),
        [one] => one.to_string(),
        [first, .., last] if (last - first) as usize + 1 == records.len() => format!("{first}-{last}"),
        many => many.iter().map(u64::to_string).collect::<Vec<_>>().join(","),
    }
}
