//! Injected failures of the network and the web server in front of Moodle
//! (moodle-ws.md 1.4: transport codes come only from proxies; 4.1: after a
//! lost answer the write may or may not have been committed).
//!
//! Deterministic: a seeded generator draws one number per targeted call,
//! in arrival order, and `fail_calls` names exact calls.

use std::time::Duration;

/// What happens to one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 502 from the proxy; Moodle never saw the call.
    Http502,
    /// HTTP 503 from the proxy; Moodle never saw the call.
    Http503,
    /// The call is applied (committed), then the gateway answers HTTP 502
    /// (it gave up on PHP, or PHP's answer was lost on its way back).
    Http502AfterApply,
    /// Moodle's own maintenance answer (lib/setup.php with
    /// climaintenance.html): `HTTP/1.1 503 Moodle under maintenance`,
    /// `Retry-After` (Moodle sends 300; tests pick a short one) and
    /// Moodle's HTML page. No web-service code runs.
    Maintenance { retry_after: u64 },
    /// HTTP 200 with an HTML page (a proxy, a WAF or a PHP warning page in
    /// place of Moodle's answer); Moodle never saw the call.
    Html200,
    /// A redirect with this status to the same URL on this site; Moodle
    /// never saw the call (the redirected request is a new call).
    RedirectHere(u16),
    /// A redirect with this status to `Faults::redirect_to` (another
    /// origin); Moodle never saw the call.
    RedirectAway(u16),
    /// HTTP 429 with `Retry-After: 1`; nothing applied.
    Http429,
    /// HTTP 413 from a proxy whose body limit (nginx `client_max_body_size`)
    /// the request passed; Moodle never saw the call.
    Http413,
    /// The connection closes without an answer; nothing applied.
    DropBeforeApply,
    /// The call is applied (committed), then the connection closes without
    /// an answer.
    DropAfterApply,
    /// The call is applied, then the answer waits this long: a client with
    /// a shorter timeout gives up on a committed call.
    Slow(Duration),
    /// HTTP 200 with this body instead of Moodle's answer (a proxy, a WAF,
    /// a PHP notice page), after the call was applied or without it.
    Body200 { body: &'static str, applied: bool },
    /// HTTP 500 with the web server's error page (PHP died), before Moodle
    /// ran or after it committed.
    Http500 { applied: bool },
}

impl Fault {
    /// Whether the call still reaches Moodle (and may change the site).
    pub fn reaches_moodle(self) -> bool {
        matches!(
            self,
            Fault::DropAfterApply
                | Fault::Slow(_)
                | Fault::Http502AfterApply
                | Fault::Body200 { applied: true, .. }
                | Fault::Http500 { applied: true }
        )
    }
}

/// The fault plan. `Faults::default()` injects nothing.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    pub seed: u64,
    /// Added before every targeted call is answered (after it was applied:
    /// PHP finishes a request even when the client has gone).
    pub latency: Duration,
    /// Plus a uniformly drawn extra in `[0, latency_jitter)`.
    pub latency_jitter: Duration,
    /// Share of targeted calls answered 502 or 503 (half each).
    pub http_5xx_rate: f64,
    pub http_429_rate: f64,
    pub drop_before_apply_rate: f64,
    pub drop_after_apply_rate: f64,
    /// Target read functions too (by default only writes are targeted).
    pub include_reads: bool,
    /// Exact faults for calls by their 1-based sequence number among all
    /// server.php calls (as in `Simulator::calls()`), read or write, on top
    /// of (and instead of) the drawn ones.
    pub fail_calls: Vec<(usize, Fault)>,
    /// Exact faults for write calls by their 1-based number among write
    /// calls only (whatever reads come between them).
    pub fail_writes: Vec<(usize, Fault)>,
    /// Where `Fault::RedirectAway` points (another origin's base URL).
    pub redirect_to: Option<String>,
}

impl Faults {
    /// Only the given calls fail, in the given way.
    pub fn on_calls(calls: &[(usize, Fault)]) -> Self {
        Faults {
            fail_calls: calls.to_vec(),
            ..Faults::default()
        }
    }
}

/// The plan plus its generator state.
#[derive(Debug)]
pub struct FaultState {
    pub plan: Faults,
    rng: SplitMix64,
    /// Write calls so far.
    writes: usize,
}

impl FaultState {
    pub fn new(plan: Faults) -> Self {
        let rng = SplitMix64(plan.seed);
        FaultState { plan, rng, writes: 0 }
    }

    /// The fault for call `seq` of a function that writes or not, and the
    /// latency to add before answering.
    pub fn decide(&mut self, seq: usize, writes: bool) -> (Option<Fault>, Duration) {
        let targeted = writes || self.plan.include_reads;
        let scripted = self
            .plan
            .fail_calls
            .iter()
            .find(|(n, _)| *n == seq)
            .map(|(_, f)| *f);
        let scripted = if writes {
            self.writes += 1;
            let nth = self.writes;
            scripted.or_else(|| {
                self.plan
                    .fail_writes
                    .iter()
                    .find(|(n, _)| *n == nth)
                    .map(|(_, f)| *f)
            })
        } else {
            scripted
        };
        if !targeted {
            return (scripted, Duration::ZERO);
        }
        let latency = self.latency();
        let drawn = self.draw();
        (scripted.or(drawn), latency)
    }

    fn latency(&mut self) -> Duration {
        let jitter = self.plan.latency_jitter.as_secs_f64() * self.rng.unit();
        self.plan.latency + Duration::from_secs_f64(jitter)
    }

    /// One draw per targeted call, so the sequence of faults depends only
    /// on the seed and the order of calls.
    fn draw(&mut self) -> Option<Fault> {
        let u = self.rng.unit();
        let p = &self.plan;
        let five_xx = p.http_5xx_rate;
        let bands = [
            (five_xx / 2.0, Fault::Http502),
            (five_xx / 2.0, Fault::Http503),
            (p.http_429_rate, Fault::Http429),
            (p.drop_before_apply_rate, Fault::DropBeforeApply),
            (p.drop_after_apply_rate, Fault::DropAfterApply),
        ];
        let mut upper = 0.0;
        for (rate, fault) in bands {
            upper += rate;
            if u < upper {
                return Some(fault);
            }
        }
        None
    }
}

/// A small deterministic generator (SplitMix64).
#[derive(Debug)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}
