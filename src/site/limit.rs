//! How many requests go to the site at once: a fixed number, or an adaptive
//! limit that follows how the site answers (`--concurrency auto`).
//!
//! The adaptive limit is AIMD with a delay signal, as TCP Vegas and the
//! adaptive-concurrency limiters of Netflix (concurrency-limits) and Envoy
//! do it. [`Aimd`] is the decision, pure and fed with one [`Observation`]
//! per answered request; [`Limiter`] is the thin async part that hands out
//! permits and feeds it.
//!
//! - The limit starts at 1. Each answer's latency is divided by the records
//!   in the call and compared with the best seen for calls of that size
//!   (sizes grouped by powers of two, so a lookup of one record is not
//!   compared with a batch of 100): a ratio of 1 means "as fast as ever".
//! - Decisions are taken once per window: `limit` answers to requests sent
//!   since the last change. From the window's mean ratio `r` comes the
//!   number of requests queued at the site, `q = limit × (1 − 1/r)`.
//!   `q < 1` and the limit was used in full: grow (double while no backoff
//!   has happened yet, the slow start; then one at a time). `q` above 1.5:
//!   one less. In between: hold. `r ≥ 2` (latency twice the best): halve.
//! - A timeout or dropped connection, an HTTP 5xx or 429, or no connection
//!   halves the limit at once, whenever the request was sent. Moodle's
//!   error objects are not counted: a refusal is often quick, and would set
//!   a baseline no real work reaches.
//! - The limit stays within 1 and the cap (`--max-concurrency`).

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

use super::reply::{CallError, Reply};

/// How many requests may be in flight at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Concurrency {
    /// Adaptive, from 1 up to `max` (see the module documentation).
    Auto {
        /// The cap.
        max: usize,
    },
    /// Always this many (at least 1).
    Fixed(usize),
}

impl Concurrency {
    /// The default cap of `Auto`.
    pub const DEFAULT_MAX: usize = 8;

    /// The most requests that can be in flight at once: how many tasks a
    /// caller should keep going for the limiter to have work to hand out.
    pub fn most(self) -> usize {
        match self {
            Concurrency::Auto { max } | Concurrency::Fixed(max) => max.max(1),
        }
    }
}

/// What an answer says about the site's load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// A value: its latency tells how busy the site is.
    Clean,
    /// The site is struggling: no answer, a timeout, no connection, a 5xx, a 429.
    Overload,
    /// Nothing about load: Moodle's error object (often a quick refusal
    /// before any work, whose latency would make a bad baseline), a
    /// redirect, an empty body, a 4xx. Not counted.
    Neutral,
}

impl Signal {
    /// The signal of a call's result.
    pub fn of(answer: &Result<Reply, CallError>) -> Signal {
        match answer {
            Ok(Reply::Value(_)) => Signal::Clean,
            Ok(Reply::Error(_)) => Signal::Neutral,
            Err(CallError::NotSent(_) | CallError::Ambiguous(_) | CallError::Maintenance { .. }) => {
                Signal::Overload
            }
            Err(CallError::Status { status, .. }) if *status == 429 || *status >= 500 => Signal::Overload,
            Err(_) => Signal::Neutral,
        }
    }
}

/// One answered request, as the decision sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation {
    /// From the request leaving to its answer.
    pub latency: Duration,
    /// Records in the call (1 for a call without a list).
    pub records: usize,
    /// What the answer says about the site.
    pub signal: Signal,
    /// Requests in flight when this one was sent, itself included.
    pub in_flight: usize,
    /// The [`Aimd::epoch`] when this one was sent.
    pub epoch: u64,
}

/// Tuning of [`Aimd`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tuning {
    /// The cap.
    pub max: usize,
    /// Grow while fewer requests than this are estimated queued at the site.
    pub alpha: f64,
    /// Shrink by one when more than this are.
    pub beta: f64,
    /// Halve when a window's mean latency ratio reaches this.
    pub backoff_ratio: f64,
}

impl Tuning {
    /// The defaults, with cap `max`.
    pub fn new(max: usize) -> Self {
        Tuning {
            max: max.max(1),
            alpha: 1.0,
            beta: 1.5,
            backoff_ratio: 2.0,
        }
    }
}

/// Size classes (powers of two of the records in a call) with a baseline each.
const CLASSES: usize = 24;

/// The adaptive limit's decision: fed with observations, it gives the limit.
#[derive(Debug, Clone)]
pub struct Aimd {
    tuning: Tuning,
    limit: usize,
    /// Bumped at each change of the limit: the window counts only requests
    /// sent under the current limit.
    epoch: u64,
    /// Doubling until the first backoff.
    slow_start: bool,
    /// Times the limit went down.
    backoffs: u64,
    /// Best seconds per record seen, per size class.
    baseline: [Option<f64>; CLASSES],
    window: Window,
}

#[derive(Debug, Clone, Copy, Default)]
struct Window {
    answers: usize,
    ratios: f64,
    /// Whether the limit was reached while the window filled.
    used: bool,
}

impl Aimd {
    /// A limit of 1, at most `tuning.max`.
    pub fn new(tuning: Tuning) -> Self {
        Aimd {
            tuning,
            limit: 1,
            epoch: 0,
            slow_start: true,
            backoffs: 0,
            baseline: [None; CLASSES],
            window: Window::default(),
        }
    }

    /// The current limit.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Times the limit went down so far.
    pub fn backoffs(&self) -> u64 {
        self.backoffs
    }

    /// Changes of the limit so far (requests carry it in their observation).
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Take one answer into account; the limit after it.
    pub fn observe(&mut self, seen: Observation) -> usize {
        match seen.signal {
            Signal::Neutral => {}
            Signal::Overload => {
                self.slow_start = false;
                self.set(self.limit / 2);
            }
            Signal::Clean => self.clean(seen),
        }
        self.limit
    }

    fn clean(&mut self, seen: Observation) {
        let records = seen.records.max(1);
        let per_record = seen.latency.as_secs_f64() / records as f64;
        let class = (records.ilog2() as usize).min(CLASSES - 1);
        let best = match self.baseline[class] {
            Some(best) if best <= per_record => best,
            _ => {
                self.baseline[class] = Some(per_record);
                per_record
            }
        };
        if seen.epoch != self.epoch {
            return; // sent under another limit: says nothing about this one
        }
        let ratio = if best > 0.0 { per_record / best } else { 1.0 };
        self.window.answers += 1;
        self.window.ratios += ratio;
        self.window.used |= seen.in_flight >= self.limit;
        if self.window.answers < self.limit {
            return;
        }
        let mean = self.window.ratios / self.window.answers as f64;
        let limit = self.limit as f64;
        let queued = limit * (1.0 - 1.0 / mean.max(1.0));
        if mean >= self.tuning.backoff_ratio {
            self.slow_start = false;
            self.set(self.limit / 2);
        } else if queued > self.tuning.beta {
            self.slow_start = false;
            self.set(self.limit - 1);
        } else if queued < self.tuning.alpha && self.window.used {
            let grown = if self.slow_start {
                self.limit * 2
            } else {
                self.limit + 1
            };
            self.set(grown);
        } else {
            // Hold: a new window under the same limit.
            self.window = Window::default();
        }
    }

    /// Change the limit (kept within 1 and the cap) and start a new window.
    fn set(&mut self, limit: usize) {
        let limit = limit.clamp(1, self.tuning.max);
        if limit != self.limit {
            self.epoch += 1;
        }
        if limit < self.limit {
            self.backoffs += 1;
        }
        self.limit = limit;
        self.window = Window::default();
    }
}

/// Permits for requests to one site: a fixed number, or an adaptive limit.
#[derive(Debug)]
pub struct Limiter {
    semaphore: Semaphore,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// None: fixed.
    aimd: Option<Aimd>,
    limit: usize,
    /// Permits to forget as they come back (the limit went down while they were out).
    debt: usize,
    in_flight: usize,
    /// The highest limit reached.
    peak: usize,
}

impl Limiter {
    /// A limiter for `concurrency`.
    pub fn new(concurrency: Concurrency) -> Limiter {
        let (aimd, limit) = match concurrency {
            Concurrency::Auto { max } => (Some(Aimd::new(Tuning::new(max))), 1),
            Concurrency::Fixed(n) => (None, n.max(1)),
        };
        Limiter {
            semaphore: Semaphore::new(limit),
            state: Mutex::new(State {
                aimd,
                limit,
                debt: 0,
                in_flight: 0,
                peak: limit,
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The current limit.
    pub fn limit(&self) -> usize {
        self.state().limit
    }

    /// The highest limit reached so far.
    pub fn peak(&self) -> usize {
        self.state().peak
    }

    /// Times the adaptive limit went down (0 for a fixed one).
    pub fn backoffs(&self) -> u64 {
        self.state().aimd.as_ref().map_or(0, Aimd::backoffs)
    }

    /// Wait for a permit to send one request.
    pub async fn acquire(&self) -> Permit<'_> {
        let permit = self
            .semaphore
            .acquire()
            .await
            .expect("the limiter's semaphore is never closed");
        let mut state = self.state();
        state.in_flight += 1;
        Permit {
            limiter: self,
            permit: Some(permit),
            started: Instant::now(),
            in_flight: state.in_flight,
            epoch: state.aimd.as_ref().map_or(0, Aimd::epoch),
        }
    }

    /// A request is over; `seen` is its answer, if it got one.
    fn release(&self, permit: SemaphorePermit<'_>, seen: Option<(usize, Signal, Duration, usize, u64)>) {
        let mut state = self.state();
        state.in_flight -= 1;
        if state.debt > 0 {
            state.debt -= 1;
            permit.forget();
        } else {
            drop(permit);
        }
        let (Some(aimd), Some((records, signal, latency, in_flight, epoch))) = (state.aimd.as_mut(), seen)
        else {
            return;
        };
        let limit = aimd.observe(Observation {
            latency,
            records,
            signal,
            in_flight,
            epoch,
        });
        self.resize(&mut state, limit);
    }

    fn resize(&self, state: &mut State, limit: usize) {
        let old = state.limit;
        state.limit = limit;
        state.peak = state.peak.max(limit);
        if limit > old {
            let more = limit - old;
            let paid = more.min(state.debt);
            state.debt -= paid;
            self.semaphore.add_permits(more - paid);
        } else if limit < old {
            let fewer = old - limit;
            let forgotten = self.semaphore.forget_permits(fewer);
            state.debt += fewer - forgotten;
        }
    }
}

/// Leave to send one request; hand it back with [`Permit::done`] and the
/// answer's signal (dropped without it: not counted).
#[derive(Debug)]
pub struct Permit<'a> {
    limiter: &'a Limiter,
    permit: Option<SemaphorePermit<'a>>,
    started: Instant,
    in_flight: usize,
    epoch: u64,
}

impl Permit<'_> {
    /// The request of `records` records got an answer with this signal.
    pub fn done(mut self, records: usize, signal: Signal) {
        if let Some(permit) = self.permit.take() {
            let seen = (
                records,
                signal,
                self.started.elapsed(),
                self.in_flight,
                self.epoch,
            );
            self.limiter.release(permit, Some(seen));
        }
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if let Some(permit) = self.permit.take() {
            self.limiter.release(permit, None);
        }
    }
}

/// The records in a call: how many entries the first list parameter has
/// (`users[0][...]`, `users[1][...]`: 2), or 1.
pub fn records_in<'k>(keys: impl IntoIterator<Item = &'k str>) -> usize {
    let mut list: Option<&str> = None;
    let mut count = 0;
    let mut last: Option<&str> = None;
    for key in keys {
        let Some(open) = key.find('[') else { continue };
        let (name, rest) = key.split_at(open);
        if *list.get_or_insert(name) != name {
            continue;
        }
        let index = rest[1..].split(']').next().unwrap_or_default();
        if last != Some(index) {
            count += 1;
            last = Some(index);
        }
    }
    count.max(1)
}

/// The keys of a form-encoded body (`a=1&b[0]=2`).
pub fn form_keys(fields: &str) -> impl Iterator<Item = &str> {
    fields
        .split('&')
        .map(|pair| pair.split('=').next().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::site::reply::MoodleError;
    use proptest::prelude::*;

    fn seen(aimd: &Aimd, millis: u64, records: usize, signal: Signal) -> Observation {
        Observation {
            latency: Duration::from_millis(millis),
            records,
            signal,
            in_flight: aimd.limit(),
            epoch: aimd.epoch(),
        }
    }

    /// Feed `n` answers as a site with `workers` workers would give them at the current limit.
    fn clean_at(aimd: &mut Aimd, n: usize, workers: usize) {
        for _ in 0..n {
            let queued = aimd.limit().max(workers) as f64 / workers as f64;
            let millis = (1000.0 * queued) as u64;
            aimd.observe(seen(aimd, millis, 100, Signal::Clean));
        }
    }

    #[test]
    fn starts_at_one_and_slow_starts() {
        let mut aimd = Aimd::new(Tuning::new(8));
        assert_eq!(aimd.limit(), 1);
        clean_at(&mut aimd, 1, 100);
        assert_eq!(aimd.limit(), 2);
        clean_at(&mut aimd, 2, 100);
        assert_eq!(aimd.limit(), 4);
        clean_at(&mut aimd, 4, 100);
        assert_eq!(aimd.limit(), 8);
        clean_at(&mut aimd, 50, 100);
        assert_eq!(aimd.limit(), 8, "never above the cap");
    }

    #[test]
    fn settles_just_above_the_sites_workers() {
        let mut aimd = Aimd::new(Tuning::new(8));
        clean_at(&mut aimd, 200, 4);
        // 4 workers busy, at most one or two requests waiting.
        assert!((4..=6).contains(&aimd.limit()), "{}", aimd.limit());
    }

    #[test]
    fn errors_halve() {
        let mut aimd = Aimd::new(Tuning::new(8));
        clean_at(&mut aimd, 7, 100);
        assert_eq!(aimd.limit(), 8);
        aimd.observe(seen(&aimd, 10, 1, Signal::Overload));
        assert_eq!(aimd.limit(), 4);
        assert_eq!(aimd.backoffs(), 1);
        aimd.observe(seen(&aimd, 10, 1, Signal::Overload));
        aimd.observe(seen(&aimd, 10, 1, Signal::Overload));
        aimd.observe(seen(&aimd, 10, 1, Signal::Overload));
        assert_eq!(aimd.limit(), 1);
        // After a backoff, growth is one at a time.
        clean_at(&mut aimd, 1, 100);
        assert_eq!(aimd.limit(), 2);
        clean_at(&mut aimd, 2, 100);
        assert_eq!(aimd.limit(), 3);
    }

    #[test]
    fn neutral_answers_change_nothing() {
        let mut aimd = Aimd::new(Tuning::new(8));
        for _ in 0..10 {
            aimd.observe(seen(&aimd, 10, 1, Signal::Neutral));
        }
        assert_eq!(aimd.limit(), 1);
    }

    #[test]
    fn latency_twice_the_best_halves() {
        let mut aimd = Aimd::new(Tuning::new(8));
        clean_at(&mut aimd, 7, 100);
        assert_eq!(aimd.limit(), 8);
        for _ in 0..8 {
            aimd.observe(seen(&aimd, 2500, 100, Signal::Clean));
        }
        assert_eq!(aimd.limit(), 4);
    }

    #[test]
    fn no_growth_when_the_limit_is_not_used() {
        let mut aimd = Aimd::new(Tuning::new(8));
        for _ in 0..20 {
            let mut one = seen(&aimd, 1000, 100, Signal::Clean);
            one.in_flight = 1;
            aimd.observe(one);
        }
        assert_eq!(aimd.limit(), 2);
    }

    #[test]
    fn calls_of_other_sizes_have_their_own_baseline() {
        let mut aimd = Aimd::new(Tuning::new(8));
        clean_at(&mut aimd, 3, 100);
        assert_eq!(aimd.limit(), 4);
        // A lookup of one record takes 50 ms: 50 times a batch's time per record, not a slowdown.
        for _ in 0..4 {
            aimd.observe(seen(&aimd, 50, 1, Signal::Clean));
        }
        assert_eq!(aimd.limit(), 8);
    }

    #[test]
    fn answers_sent_under_an_older_limit_do_not_fill_the_window() {
        let mut aimd = Aimd::new(Tuning::new(8));
        clean_at(&mut aimd, 1, 100);
        assert_eq!(aimd.limit(), 2);
        let mut old = seen(&aimd, 1000, 100, Signal::Clean);
        old.epoch = 0;
        aimd.observe(old);
        aimd.observe(old);
        assert_eq!(aimd.limit(), 2);
    }

    #[test]
    fn records_are_counted_from_the_first_list() {
        assert_eq!(
            records_in(form_keys("users[0][a]=1&users[0][b]=2&users[1][a]=3")),
            2
        );
        assert_eq!(records_in(["field", "values[0]", "values[1]", "values[2]"]), 3);
        assert_eq!(records_in(["courseid"]), 1);
        assert_eq!(records_in(form_keys("")), 1);
        assert_eq!(
            records_in(form_keys(
                "enrolments[0][userid]=1&options[0][name]=x&enrolments[1][userid]=2"
            )),
            2
        );
    }

    #[test]
    fn signals_of_answers() {
        let status = |status| {
            Err(CallError::Status {
                status,
                retry_after: None,
            })
        };
        let value = Ok(Reply::Value(serde_json::Value::Null));
        assert_eq!(Signal::of(&value), Signal::Clean);
        let refused = MoodleError::local("invalid_parameter_exception", "refused");
        assert_eq!(Signal::of(&Ok(Reply::Error(refused))), Signal::Neutral);
        assert_eq!(Signal::of(&status(429)), Signal::Overload);
        assert_eq!(Signal::of(&status(502)), Signal::Overload);
        assert_eq!(Signal::of(&status(413)), Signal::Neutral);
        let timeout = Err(CallError::Ambiguous("timeout".into()));
        assert_eq!(Signal::of(&timeout), Signal::Overload);
        let refused = Err(CallError::NotSent("refused".into()));
        assert_eq!(Signal::of(&refused), Signal::Overload);
        assert_eq!(Signal::of(&Err(CallError::Disabled)), Signal::Neutral);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn permits_follow_the_limit() {
        let limiter = Limiter::new(Concurrency::Auto { max: 4 });
        assert_eq!(limiter.limit(), 1);
        let first = limiter.acquire().await;
        assert!(limiter.semaphore.try_acquire().is_err(), "one at a time at first");
        first.done(1, Signal::Clean);
        assert_eq!(limiter.limit(), 2);
        let a = limiter.acquire().await;
        let b = limiter.acquire().await;
        assert!(limiter.semaphore.try_acquire().is_err());
        // Both out: an error halves the limit; its permit is forgotten.
        a.done(1, Signal::Overload);
        assert_eq!(limiter.limit(), 1);
        assert!(
            limiter.semaphore.try_acquire().is_err(),
            "b still holds the only permit"
        );
        drop(b);
        let c = limiter.acquire().await;
        assert!(limiter.semaphore.try_acquire().is_err());
        drop(c);
        assert_eq!(limiter.peak(), 2);
        assert_eq!(limiter.backoffs(), 1);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn fixed_never_changes() {
        let limiter = Limiter::new(Concurrency::Fixed(3));
        let permits = [
            limiter.acquire().await,
            limiter.acquire().await,
            limiter.acquire().await,
        ];
        assert!(limiter.semaphore.try_acquire().is_err());
        for permit in permits {
            permit.done(1, Signal::Overload);
        }
        assert_eq!(limiter.limit(), 3);
    }

    fn signal() -> impl Strategy<Value = Signal> {
        prop_oneof![
            6 => Just(Signal::Clean),
            1 => Just(Signal::Overload),
            1 => Just(Signal::Neutral),
        ]
    }

    proptest! {
        #[test]
        fn the_limit_stays_within_one_and_the_cap(
            max in 1usize..20,
            answers in prop::collection::vec((1u64..5000, 1usize..300, signal(), 0usize..25, any::<bool>()), 0..300),
        ) {
            let mut aimd = Aimd::new(Tuning::new(max));
            for (millis, records, signal, in_flight, current) in answers {
                let epoch = if current { aimd.epoch() } else { aimd.epoch().saturating_sub(1) };
                let limit = aimd.observe(Observation {
                    latency: Duration::from_millis(millis),
                    records, signal, in_flight, epoch,
                });
                prop_assert!((1..=max).contains(&limit));
                prop_assert_eq!(limit, aimd.limit());
            }
        }

        #[test]
        fn any_error_shrinks_it(
            max in 1usize..20,
            clean in 0usize..100,
            millis in 1u64..5000,
        ) {
            let mut aimd = Aimd::new(Tuning::new(max));
            clean_at(&mut aimd, clean, 1000);
            let before = aimd.limit();
            let after = aimd.observe(Observation {
                latency: Duration::from_millis(millis), records: 1, signal: Signal::Overload,
                in_flight: before, epoch: aimd.epoch(),
            });
            prop_assert!(after < before || after == 1);
            prop_assert_eq!(after, (before / 2).max(1));
        }

        #[test]
        fn clean_fast_answers_grow_it_to_the_cap(max in 1usize..20, records in 1usize..500) {
            let mut aimd = Aimd::new(Tuning::new(max));
            // Enough windows to reach any cap: each is at most `max` answers.
            for _ in 0..(max * max + 10) {
                let one = seen(&aimd, 100, records, Signal::Clean);
                aimd.observe(one);
            }
            prop_assert_eq!(aimd.limit(), max);
        }
    }
}
