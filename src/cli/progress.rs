//! Progress on stderr, one kind for every long command: `run` (records
//! sent), `fetch` (calls made), `apply` and `sync` (changes over the whole
//! plan) and `validate` (bytes of a large file read).
//!
//! How it shows is decided in one place, [`Display::choose`]:
//! - `--quiet`: no progress at all (messages such as retries and warnings
//!   are the command's to print or not).
//! - stderr is a terminal and `TERM` is set and not `dumb`: a bar
//!   (indicatif), with done/total, the rate, the ETA and the failures so
//!   far; a spinner without total or ETA when the total is unknown
//!   (standard input). indicatif redraws at most 20 times a second.
//! - otherwise (a pipe, a file, a CI log, `TERM=dumb` or unset): a plain
//!   line at most once a second while counting, and a final one, e.g.
//!   `1500/10000 records (15%), 320 records/s, eta 27s, 3 failed`.
//!
//! `NO_COLOR` is about colour, not about progress (no-color.org): with it
//! (or `CLICOLOR=0`) the bar is drawn, without colour. console, under
//! indicatif, reads both variables. `TERM=dumb` is the convention for "this
//! terminal cannot move the cursor": there the bar would be hidden by
//! indicatif, so plain lines are printed instead.
//!
//! Counting is cheap enough for every record of a large file: a relaxed
//! atomic addition, no clock read, no lock. A ticker thread turns the
//! counts into the bar's position or a line.

use std::ffi::OsStr;
use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressFinish, ProgressState, ProgressStyle};
use moodlec::run::outcome::{RecordResult, Status};
use moodlec::run::Reporter;

use crate::cli::report;

/// Plain lines: at most one per this long.
const LINE_EVERY: Duration = Duration::from_secs(1);
/// Data files from this size up get progress while read ([`Progress::reading`]).
pub const LARGE_FILE: u64 = 4 << 20;
/// The bar's position: updated this often (indicatif draws at most 20 times a second).
const BAR_EVERY: Duration = Duration::from_millis(100);

/// How progress shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Display {
    /// A bar that redraws itself (a terminal).
    Bar,
    /// A plain line a second at most, and a final one (pipes, files, logs, `TERM=dumb`).
    Lines,
    /// Nothing (`--quiet`).
    Nothing,
}

impl Display {
    /// The rule: nothing with `quiet`; a bar when stderr is a `terminal`
    /// whose `term` (the `TERM` variable) is set and not `dumb`; plain
    /// lines otherwise. `NO_COLOR` does not enter: it only takes the
    /// colour out of the bar.
    pub fn choose(quiet: bool, terminal: bool, term: Option<&OsStr>) -> Display {
        if quiet {
            Display::Nothing
        } else if terminal && term.is_some_and(|term| !term.is_empty() && term != "dumb") {
            Display::Bar
        } else {
            Display::Lines
        }
    }

    /// [`Display::choose`] for this process's stderr and environment.
    pub fn for_stderr(quiet: bool) -> Display {
        let term = std::env::var_os("TERM");
        Display::choose(quiet, std::io::stderr().is_terminal(), term.as_deref())
    }
}

/// What is counted, and in which words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counting {
    /// What the position counts: "records", "changes", "calls" (ignored for bytes).
    pub unit: &'static str,
    /// The position is bytes (of a file read): shown as KiB, MiB, GiB.
    pub bytes: bool,
    /// A second count shown beside it, in these words: the records of a
    /// file read by bytes, the records of calls fetched.
    pub items: Option<&'static str>,
    /// What the failures are called: "failed", "invalid".
    pub failures: &'static str,
}

impl Counting {
    /// Records sent (`run`).
    pub const RECORDS: Counting = Counting {
        unit: "records",
        bytes: false,
        items: None,
        failures: "failed",
    };
    /// Changes of a plan applied (`apply`, `sync`).
    pub const CHANGES: Counting = Counting {
        unit: "changes",
        ..Counting::RECORDS
    };
    /// Calls made, and the records they fetched (`fetch`).
    pub const CALLS: Counting = Counting {
        unit: "calls",
        items: Some("records"),
        ..Counting::RECORDS
    };
    /// Bytes of a file read, the records in them, the invalid ones (`validate`).
    pub const BYTES: Counting = Counting {
        unit: "bytes",
        bytes: true,
        items: Some("records"),
        failures: "invalid",
    };
}

/// The counters, shared with the bar's drawing.
#[derive(Debug, Default)]
struct Counts {
    done: AtomicU64,
    failed: AtomicU64,
    items: AtomicU64,
}

impl Counts {
    fn snapshot(&self) -> Snapshot {
        Snapshot {
            done: self.done.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            items: self.items.load(Ordering::Relaxed),
        }
    }
}

/// The counts at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// The position: records, changes or calls done; bytes read.
    pub done: u64,
    /// Failures so far.
    pub failed: u64,
    /// The second count ([`Counting::items`]).
    pub items: u64,
}

/// Which results of the runner move the position ([`Reporter::settled`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settles {
    /// Records sent: applied or failed (`run`: its total is what it sends;
    /// invalid records and those a stop left unsent are not part of it).
    Sent,
    /// Every result (`apply`: its total is every change of the plan, and a
    /// change skipped for drift is done with too).
    All,
}

/// Progress of one command on stderr.
///
/// Counting only adds to relaxed atomics: no clock read, no lock. A
/// ticker thread reads them: every 100 ms it moves the bar; every second
/// it prints a plain line if anything changed since the last one.
pub struct Progress {
    display: Display,
    counting: Counting,
    total: Option<u64>,
    counts: Arc<Counts>,
    bar: Option<ProgressBar>,
    started: Instant,
    ticking: Arc<Ticking>,
    ticker: Mutex<Option<JoinHandle<()>>>,
    settles: Settles,
}

/// What the ticker thread shares with the counting side.
#[derive(Debug, Default)]
struct Ticking {
    /// Set at the end; the ticker stops.
    stopped: Mutex<bool>,
    wake: Condvar,
    /// Plain lines printed so far.
    lines: AtomicU64,
}

impl Progress {
    /// Progress shown as `display`, counting `counting`, out of `total` (`None`: unknown).
    pub fn new(display: Display, counting: Counting, total: Option<u64>) -> Progress {
        let counts = Arc::new(Counts::default());
        let bar = (display == Display::Bar).then(|| bar(counting, total, &counts));
        let started = Instant::now();
        let ticking = Arc::new(Ticking::default());
        let ticker = (display != Display::Nothing).then(|| {
            let (counts, bar, ticking) = (counts.clone(), bar.clone(), ticking.clone());
            std::thread::spawn(move || tick(counting, total, &counts, bar.as_ref(), &ticking, started))
        });
        Progress {
            display,
            counting,
            total,
            counts,
            bar,
            started,
            ticking,
            ticker: Mutex::new(ticker),
            settles: Settles::Sent,
        }
    }

    /// Progress over the data file at `path`, read record by record
    /// (`validate`): bytes read out of the file's size, the records and
    /// the invalid ones beside. The record count of a file is only known
    /// once it is read; its size is known at once, so the bar and the ETA
    /// are right from the start.
    ///
    /// Only large files get progress: one under [`LARGE_FILE`] is read in
    /// moments, and its problems and summary say it all (and stay the same
    /// from one run to the next). Standard input and pipes have no size:
    /// a spinner with the records read on a terminal, nothing otherwise.
    // For validate's record loop, which is being rewritten: it calls this next.
    #[allow(dead_code)]
    pub fn reading(path: &Path, display: Display) -> Progress {
        let size = Some(path)
            .filter(|path| path.as_os_str() != "-")
            .and_then(|path| std::fs::metadata(path).ok())
            .filter(std::fs::Metadata::is_file)
            .map(|metadata| metadata.len());
        let display = match size {
            Some(size) if size < LARGE_FILE => Display::Nothing,
            None if display == Display::Lines => Display::Nothing,
            _ => display,
        };
        Progress::new(display, Counting::BYTES, size)
    }

    /// One record read ([`Progress::reading`]): its text's length plus its
    /// line end as the bytes read (a CSV header, a JSON array's commas and
    /// CRLF line ends are not counted: [`Progress::read_all`] makes up for
    /// them at the end), and whether it is invalid.
    #[allow(dead_code)]
    pub fn read_record(&self, raw_len: usize, invalid: bool) {
        self.items(1);
        if invalid {
            self.fail(1);
        }
        self.advance(raw_len as u64 + 1);
    }

    /// The whole file was read: the position is its size.
    #[allow(dead_code)]
    pub fn read_all(&self) {
        if let Some(total) = self.total {
            self.counts.done.fetch_max(total, Ordering::Relaxed);
        }
    }

    /// Which runner results move the position (default: [`Settles::Sent`]).
    pub fn settling(mut self, settles: Settles) -> Progress {
        self.settles = settles;
        self
    }

    /// `n` more done (records, changes, calls; bytes read).
    pub fn advance(&self, n: u64) {
        self.counts.done.fetch_add(n, Ordering::Relaxed);
    }

    /// `n` more failures (failed records or calls, invalid records).
    pub fn fail(&self, n: u64) {
        self.counts.failed.fetch_add(n, Ordering::Relaxed);
    }

    /// `n` more of the second count ([`Counting::items`]).
    pub fn items(&self, n: u64) {
        self.counts.items.fetch_add(n, Ordering::Relaxed);
    }

    /// The counts now.
    pub fn snapshot(&self) -> Snapshot {
        self.counts.snapshot()
    }

    /// Print a line on stderr above the bar (whatever the display: even
    /// with `--quiet`; the caller decides what quiet leaves out).
    pub fn println(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => report::note(text),
        }
    }

    /// Run `print`, which writes to stderr or to the same terminal on
    /// stdout, with the bar cleared for it and redrawn after.
    pub fn suspend<R>(&self, print: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) => bar.suspend(print),
            None => print(),
        }
    }

    /// The end: the bar is cleared (a summary follows); without a bar, a
    /// final line when anything was counted.
    pub fn finish(&self) {
        self.end(true);
    }

    /// The end, for a command whose summary says it all when it was quick:
    /// the bar is cleared; a final line only after periodic lines.
    pub fn finish_unless_brief(&self) {
        self.end(false);
    }

    fn end(&self, always: bool) {
        // Only the first end says anything: the ticker is gone after it.
        if !self.stop_ticker() {
            return;
        }
        if let Some(bar) = &self.bar {
            bar.set_position(self.counts.done.load(Ordering::Relaxed));
            bar.finish_and_clear();
        }
        let counted = self.snapshot() != Snapshot::default();
        let shown = self.ticking.lines.load(Ordering::Relaxed) > 0;
        if self.display == Display::Lines && counted && (always || shown) {
            report::note(&line(
                self.counting,
                self.total,
                self.snapshot(),
                self.started.elapsed(),
                true,
            ));
        }
    }

    /// Stop the ticker and wait for it; whether there was one to stop.
    fn stop_ticker(&self) -> bool {
        *self
            .ticking
            .stopped
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = true;
        self.ticking.wake.notify_all();
        let ticker = self.ticker.lock().unwrap_or_else(PoisonError::into_inner).take();
        ticker.is_some_and(|ticker| ticker.join().is_ok())
    }
}

impl Drop for Progress {
    /// Ended by an error: the ticker stops, nothing more is printed (and
    /// an unfinished bar clears itself).
    fn drop(&mut self) {
        self.stop_ticker();
    }
}

/// The ticker thread: until stopped, the bar's position every 100 ms, or a
/// plain line a second when the counts changed (none at 100%: the final
/// line follows).
fn tick(
    counting: Counting,
    total: Option<u64>,
    counts: &Counts,
    bar: Option<&ProgressBar>,
    ticking: &Ticking,
    started: Instant,
) {
    let every = if bar.is_some() { BAR_EVERY } else { LINE_EVERY };
    let mut shown = Snapshot::default();
    loop {
        let stopped = ticking.stopped.lock().unwrap_or_else(PoisonError::into_inner);
        let (stopped, _) = ticking
            .wake
            .wait_timeout_while(stopped, every, |stopped| !*stopped)
            .unwrap_or_else(PoisonError::into_inner);
        if *stopped {
            return;
        }
        drop(stopped);
        let now = counts.snapshot();
        if let Some(bar) = bar {
            bar.set_position(now.done);
        } else if now != shown && total.is_none_or(|total| now.done < total) {
            shown = now;
            ticking.lines.fetch_add(1, Ordering::Relaxed);
            report::note(&line(counting, total, now, started.elapsed(), false));
        }
    }
}

impl Reporter for Progress {
    fn settled(&self, results: &[RecordResult]) {
        let counted = |r: &&RecordResult| match self.settles {
            Settles::Sent => matches!(r.status, Status::Applied | Status::Failed),
            Settles::All => true,
        };
        let done = results.iter().filter(counted).count() as u64;
        let failed = results.iter().filter(|r| r.status == Status::Failed).count() as u64;
        self.fail(failed);
        if done > 0 {
            self.advance(done);
        }
    }

    fn warning(&self, message: &str) {
        self.println(&format!("warning: {message}"));
    }

    /// `run --test`: the request and Moodle's answer on stdout.
    fn exchange(&self, request: &str, response: &str) {
        use std::io::Write;
        self.suspend(|| {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(
                out,
                "--- request ---\n{}\n--- response ---\n{response}",
                request.trim_end()
            );
            let _ = out.flush();
        });
    }
}

/// The bar (or spinner, without a total), drawn on stderr; cleared if dropped unfinished.
fn bar(counting: Counting, total: Option<u64>, counts: &Arc<Counts>) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr())
        .with_finish(ProgressFinish::AndClear);
    // The bar takes the width the rest leaves, so that the line fits the terminal.
    let position = match (counting.bytes, total) {
        (true, Some(_)) => "{bytes}/{total_bytes} ({percent}%)  {binary_bytes_per_sec}{eta}".to_owned(),
        (true, None) => "{bytes}  {binary_bytes_per_sec}  {elapsed}".to_owned(),
        (false, Some(_)) => format!(
            "{{pos}}/{{len}} {} ({{percent}}%)  {{rate}}{{eta}}",
            counting.unit
        ),
        (false, None) => format!("{{pos}} {}  {{rate}}  {{elapsed}}", counting.unit),
    };
    let items = if counting.items.is_some() { "  {items}" } else { "" };
    let template = match total {
        Some(_) => format!("{{wide_bar:.cyan/blue}} {position}{items}  {{failures:.bold}}"),
        None => format!("{{spinner:.cyan}} {position}{items}  {{failures:.bold}}"),
    };
    let (for_items, for_failures) = (counts.clone(), counts.clone());
    let style = ProgressStyle::with_template(&template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
        .with_key(
            "rate",
            move |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{}", rate(state.per_sec(), counting));
            },
        )
        // indicatif's own {eta} says 0s before anything is done.
        .with_key("eta", |state: &ProgressState, w: &mut dyn std::fmt::Write| {
            if state.pos() > 0 {
                let _ = write!(w, "  eta {}", duration(state.eta()));
            }
        })
        .with_key("items", move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
            let items = for_items.items.load(Ordering::Relaxed);
            let _ = write!(w, "{items} {}", counting.items.unwrap_or_default());
        })
        .with_key(
            "failures",
            move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
                let failed = for_failures.failed.load(Ordering::Relaxed);
                let _ = write!(w, "{failed} {}", counting.failures);
            },
        );
    bar.set_style(style);
    // Redrawn while nothing is counted too: the spinner turns, the ETA moves.
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// A plain progress line: `1500/10000 records (15%), 320 records/s, eta
/// 27s, 3 failed`; without a total, `1500 records, 320 records/s, 3
/// failed`; the `last` one has the time taken instead of the ETA.
pub fn line(counting: Counting, total: Option<u64>, now: Snapshot, elapsed: Duration, last: bool) -> String {
    let amount = |n: u64| {
        if counting.bytes {
            bytes(n)
        } else {
            n.to_string()
        }
    };
    let unit = if counting.bytes {
        String::new()
    } else {
        format!(" {}", counting.unit)
    };
    let mut parts = Vec::new();
    match total {
        Some(total) => {
            let percent = if total == 0 {
                100
            } else {
                (u128::from(now.done) * 100 / u128::from(total)).min(100)
            };
            parts.push(format!(
                "{}/{}{unit} ({percent}%)",
                amount(now.done),
                amount(total)
            ));
        }
        None => parts.push(format!("{}{unit}", amount(now.done))),
    }
    let secs = elapsed.as_secs_f64();
    #[allow(clippy::cast_precision_loss)] // counts far below 2^53
    let per_sec = if secs > 0.0 { now.done as f64 / secs } else { 0.0 };
    if secs > 0.0 {
        parts.push(rate(per_sec, counting));
    }
    if last {
        parts.push(format!("elapsed {secs:.1}s"));
    } else if let Some(total) = total {
        let left = total.saturating_sub(now.done);
        if left == 0 {
            parts.push("eta 0s".to_owned());
        } else if per_sec > 0.0 {
            #[allow(clippy::cast_precision_loss)]
            let eta = Duration::from_secs_f64((left as f64 / per_sec).min(1e9));
            parts.push(format!("eta {}", duration(eta)));
        }
    }
    if let Some(items) = counting.items {
        parts.push(format!("{} {items}", now.items));
    }
    parts.push(format!("{} {}", now.failed, counting.failures));
    parts.join(", ")
}

/// `320 records/s`, `2.5 records/s`, `8.1 MiB/s`.
fn rate(per_sec: f64, counting: Counting) -> String {
    if counting.bytes {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let per_sec = per_sec.max(0.0).round() as u64;
        return format!("{}/s", bytes(per_sec));
    }
    if per_sec < 10.0 {
        format!("{per_sec:.1} {}/s", counting.unit)
    } else {
        format!("{per_sec:.0} {}/s", counting.unit)
    }
}

/// `512 B`, `12.0 KiB`, `3.4 MiB`, `1.2 GiB`.
fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    #[allow(clippy::cast_precision_loss)]
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// An ETA, rounded up to the second: `27s`, `3m05s`, `1h02m`.
fn duration(d: Duration) -> String {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    match secs {
        0..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m", secs / 3600, secs % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(done: u64, failed: u64, items: u64) -> Snapshot {
        Snapshot { done, failed, items }
    }

    #[test]
    fn a_bar_only_on_a_terminal_that_draws_and_never_with_quiet() {
        let term = |t: &str| Some(OsStr::new(t).to_owned());
        for (quiet, terminal, term, display) in [
            (false, true, term("xterm-256color"), Display::Bar),
            (false, true, term("dumb"), Display::Lines),
            (false, true, term(""), Display::Lines),
            (false, true, None, Display::Lines),
            (false, false, term("xterm"), Display::Lines),
            (false, false, None, Display::Lines),
            (true, true, term("xterm"), Display::Nothing),
            (true, false, None, Display::Nothing),
        ] {
            assert_eq!(
                Display::choose(quiet, terminal, term.as_deref()),
                display,
                "quiet {quiet}, terminal {terminal}, TERM {term:?}"
            );
        }
    }

    #[test]
    fn a_line_has_done_total_percent_rate_eta_and_failures() {
        let line = line(
            Counting::RECORDS,
            Some(10_000),
            snapshot(1500, 3, 0),
            Duration::from_secs_f64(4.6875),
            false,
        );
        // 320 records/s; 8500 left: 26.6 s, rounded up.
        assert_eq!(line, "1500/10000 records (15%), 320 records/s, eta 27s, 3 failed");
    }

    #[test]
    fn the_last_line_has_the_time_taken_instead_of_an_eta() {
        let line = line(
            Counting::CHANGES,
            Some(40),
            snapshot(40, 0, 0),
            Duration::from_millis(16_000),
            true,
        );
        assert_eq!(
            line,
            "40/40 changes (100%), 2.5 changes/s, elapsed 16.0s, 0 failed"
        );
    }

    #[test]
    fn without_a_total_there_is_no_percentage_and_no_eta() {
        let line = line(
            Counting::RECORDS,
            None,
            snapshot(700, 1, 0),
            Duration::from_secs(2),
            false,
        );
        assert_eq!(line, "700 records, 350 records/s, 1 failed");
    }

    #[test]
    fn long_etas_are_in_minutes_and_hours() {
        let at = |done| {
            line(
                Counting::RECORDS,
                Some(1_000_000),
                snapshot(done, 0, 0),
                Duration::from_secs(100),
                false,
            )
        };
        // 1 record/s: 999900 s left; 5000 records/s: 100 s left.
        assert!(at(100).contains("eta 277h45m"), "{}", at(100));
        assert!(at(500_000).contains("eta 1m40s"), "{}", at(500_000));
        assert!(at(1_000_000).contains("eta 0s"), "{}", at(1_000_000));
    }

    #[test]
    fn bytes_read_show_in_binary_units_with_the_records_in_them() {
        let line = line(
            Counting::BYTES,
            Some(48 * 1024 * 1024),
            snapshot(12 * 1024 * 1024, 2, 120_000),
            Duration::from_secs(2),
            false,
        );
        assert_eq!(
            line,
            "12.0 MiB/48.0 MiB (25%), 6.0 MiB/s, eta 6s, 120000 records, 2 invalid"
        );
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(3 << 30), "3.0 GiB");
    }

    #[test]
    fn nothing_counted_yet_has_no_rate_or_eta_to_guess() {
        let line = line(
            Counting::CALLS,
            Some(0),
            Snapshot::default(),
            Duration::ZERO,
            false,
        );
        assert_eq!(line, "0/0 calls (100%), eta 0s, 0 records, 0 failed");
        let slow = super::line(
            Counting::CALLS,
            Some(10),
            Snapshot::default(),
            Duration::from_secs(3),
            false,
        );
        assert_eq!(slow, "0/10 calls (0%), 0.0 calls/s, 0 records, 0 failed");
    }

    #[test]
    fn a_file_is_read_by_bytes_out_of_its_size_and_stdin_has_no_total() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let path = dir.path().join("data.ndjson");
        let text = "{\"a\": 1}\r\n{\"a\": 22}\r\n";
        std::fs::write(&path, text).expect("data");
        let progress = Progress::reading(&path, Display::Lines);
        assert_eq!(progress.total, Some(text.len() as u64));
        assert_eq!(
            progress.display,
            Display::Nothing,
            "a small file is read in moments"
        );
        progress.read_record(r#"{"a": 1}"#.len(), false);
        progress.read_record(r#"{"a": 22}"#.len(), true);
        // CRLF: one byte a line short until the end.
        assert_eq!(progress.snapshot(), snapshot(text.len() as u64 - 2, 1, 2));
        progress.read_all();
        assert_eq!(progress.snapshot(), snapshot(text.len() as u64, 1, 2));
        let stdin = Progress::reading(Path::new("-"), Display::Lines);
        assert_eq!((stdin.total, stdin.display), (None, Display::Nothing));
        let folder = Progress::reading(dir.path(), Display::Bar);
        assert_eq!((folder.total, folder.display), (None, Display::Bar));
        let large = dir.path().join("large.csv");
        let file = std::fs::File::create(&large).expect("large file");
        file.set_len(LARGE_FILE).expect("sparse 4 MiB");
        let progress = Progress::reading(&large, Display::Lines);
        assert_eq!(
            (progress.total, progress.display),
            (Some(LARGE_FILE), Display::Lines)
        );
    }

    #[test]
    fn a_million_counts_are_counted_exactly() {
        for display in [Display::Nothing, Display::Lines] {
            let progress = Progress::new(display, Counting::BYTES, None);
            for _ in 0..1_000_000 {
                progress.items(1);
                progress.advance(100);
            }
            progress.fail(7);
            assert_eq!(progress.snapshot(), snapshot(100_000_000, 7, 1_000_000));
        }
    }
}
