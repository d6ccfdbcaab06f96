//! Throughput of the record pipeline on one NDJSON file, in one run, two ways:
//!
//! - in process: plain serde_json parsing, `validate`, and `validate` +
//!   batch + `render` through the library (form bodies written straight from
//!   the batcher, as `moodlec render` does), each pass the better of two runs;
//! - whole process, as a user runs it: the release binary's
//!   `moodlec validate -t enrol_users FILE` and `moodlec render -t enrol_users
//!   FILE` (standard output to /dev/null), each paired with a parse-only
//!   process (this bench's own executable re-run in parse-only mode: read the
//!   file line by line, `serde_json::from_str::<serde_json::Value>` on each).
//!   The pairs alternate (parse-only, then moodlec) after one untimed warm-up
//!   of each; the table gives the median wall time of each side, their ratio
//!   (and the range of the ratios of single pairs), and each side's largest
//!   peak RSS. Each timed process is started and measured (wall time from
//!   spawn to exit, peak RSS from `wait4`) by a small launcher process, this
//!   executable again, so that the bench's own memory is not counted.
//!
//! `cargo bench --bench pipeline` (it builds the release binary it times).
//! PIPELINE_RECORDS sets the size (default 1,000,000), PIPELINE_PAIRS the
//! number of timed pairs per command (default 5), PIPELINE_MOODLEC another
//! moodlec binary to time (an older build, say). Single-threaded, like the
//! CLI's validate and render.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use moodlec::builtin;
use moodlec::params;
use moodlec::plan::{Batcher, PendingBatch};
use moodlec::record::{self, ReadOptions, SourceRecord};
use moodlec::render::form::RecordWriter;
use moodlec::render::{pending_request_body, TokenSlot};
use moodlec::validate::{ValidateOptions, Validator};

/// Set (to a file path) in the parse-only child process.
const PARSE_ONLY: &str = "MOODLEC_BENCH_PARSE_ONLY";
/// Set in the launcher process, which runs its arguments as a command and
/// prints the command's wall seconds, peak RSS and exit status.
const LAUNCH: &str = "MOODLEC_BENCH_LAUNCH";

fn main() {
    if std::env::var_os(LAUNCH).is_some() {
        launch();
        return;
    }
    if let Some(path) = std::env::var_os(PARSE_ONLY) {
        let count = parse_only(Path::new(&path));
        println!("{count}");
        return;
    }
    let records: usize = env_number("PIPELINE_RECORDS").unwrap_or(1_000_000);
    let pairs: usize = env_number("PIPELINE_PAIRS").unwrap_or(5).max(1);
    let dir = std::env::temp_dir().join(format!("moodlec-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("enrolments.ndjson");
    write_enrolments(&path, records);
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!(
        "{records} enrolment records, {:.1} MB of NDJSON",
        size as f64 / 1e6
    );

    println!("\nin process (the better of two runs each):");
    // Each pass twice, the better run counts: the first also warms the page cache.
    let parse = best_of(2, || parse_only(&path));
    let validate = best_of(2, || validate_only(&path));
    let render = best_of(2, || validate_and_render(&path));
    let rate = |seconds: f64| records as f64 / seconds;
    println!("{:<28}{:>14}{:>12}", "pass", "records/s", "vs parse");
    for (name, seconds) in [
        ("serde_json parse only", parse),
        ("validate", validate),
        ("validate + batch + render", render),
    ] {
        println!("{name:<28}{:>14.0}{:>11.2}x", rate(seconds), parse / seconds);
    }

    let moodlec = std::env::var_os("PIPELINE_MOODLEC")
        .map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_moodlec")), PathBuf::from);
    println!(
        "\nwhole process ({}, stdout to /dev/null; {pairs} pairs, medians):",
        moodlec.display()
    );
    println!(
        "{:<30}{:>10}{:>10}{:>10}{:>12}{:>12}{:>16}",
        "command", "parse s", "moodlec s", "vs parse", "parse RSS", "moodlec RSS", "pair ratios"
    );
    for command in ["validate", "render"] {
        let row = paired(&moodlec, &path, command, pairs);
        println!(
            "{:<30}{:>10.3}{:>10.3}{:>9.2}x{:>12}{:>12}{:>16}",
            format!("moodlec {command} -t enrol_users"),
            row.parse,
            row.moodlec,
            row.parse / row.moodlec,
            mib(row.parse_rss),
            mib(row.moodlec_rss),
            format!("{:.2}-{:.2}x", row.ratios.0, row.ratios.1),
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn env_number(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn best_of(runs: usize, mut pass: impl FnMut() -> usize) -> f64 {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            let count = pass();
            std::hint::black_box(count);
            start.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn write_enrolments(path: &Path, records: usize) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("create data file"));
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..records {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let userid = 2 + seed % 200_000;
        let courseid = 2 + (seed >> 20) % 500;
        writeln!(
            out,
            "{{\"userid\":{userid},\"courseid\":{courseid},\"roleid\":5}}"
        )
        .expect("write");
    }
}

fn parse_only(path: &Path) -> usize {
    let reader = BufReader::new(std::fs::File::open(path).expect("open"));
    let mut count = 0;
    for line in reader.lines() {
        let value: serde_json::Value = serde_json::from_str(&line.expect("line")).expect("valid JSON");
        std::hint::black_box(&value);
        count += 1;
    }
    count
}

fn validate_only(path: &Path) -> usize {
    let template = builtin::catalog().get("enrol_users").expect("built-in");
    let params = params::resolve(template, &[]).expect("params");
    let mut validator = Validator::new(template, params, ValidateOptions::default());
    let mut valid = 0;
    // As the CLI reads: into one record's buffers, again and again.
    let mut records = record::open(path, &ReadOptions::default()).expect("open");
    let mut slot = SourceRecord::empty(0);
    while let Some(record) = records.next_into(&mut slot) {
        let verdict = validator.validate(record.expect("readable"));
        valid += usize::from(verdict.outcome.is_ok());
    }
    valid
}

fn validate_and_render(path: &Path) -> usize {
    let template = builtin::catalog().get("enrol_users").expect("built-in");
    let params = params::resolve(template, &[]).expect("params");
    let mut validator = Validator::new(template, params, ValidateOptions::default());
    let mut batcher = Batcher::new(template);
    // As the CLI renders form bodies: straight from the batcher, into one reused body.
    let writer = RecordWriter::keyed(template);
    let mut body = String::new();
    let mut bytes = 0;
    let mut emit = |batch: &PendingBatch<'_>| {
        pending_request_body(template, &writer, batch, TokenSlot::Redacted, &mut body);
        bytes += body.len();
    };
    let mut records = record::open(path, &ReadOptions::default()).expect("open");
    let mut slot = SourceRecord::empty(0);
    while let Some(record) = records.next_into(&mut slot) {
        if let Ok(valid) = validator.validate(record.expect("readable")).outcome {
            batcher.push_each(valid, &mut emit).expect("fits");
        }
    }
    batcher.finish_each(&mut emit);
    bytes
}

/// One row of the whole-process table.
struct Row {
    /// Median wall seconds of the parse-only process.
    parse: f64,
    /// Median wall seconds of moodlec.
    moodlec: f64,
    /// Largest peak RSS of each side, in KiB (where the platform tells).
    parse_rss: Option<u64>,
    moodlec_rss: Option<u64>,
    /// The lowest and highest parse/moodlec ratio of one pair.
    ratios: (f64, f64),
}

/// `pairs` alternating runs of the parse-only process and of
/// `moodlec COMMAND -t enrol_users FILE`, after one untimed run of each.
///
/// Both run in the data file's folder, which has no `templates/` folder
/// (moodlec reads one in the current folder, as a user's project may have).
fn paired(moodlec: &Path, path: &Path, command: &str, pairs: usize) -> Row {
    let bench = std::env::current_exe().expect("this bench's executable");
    let folder = path.parent().expect("the data file's folder");
    let parse_run = || {
        let mut child = launcher();
        child.env(PARSE_ONLY, path).arg(&bench).current_dir(folder);
        run(child)
    };
    let moodlec_run = || {
        let mut child = launcher();
        child
            .arg(moodlec)
            .args([command, "-t", "enrol_users"])
            .arg(path)
            .current_dir(folder);
        run(child)
    };
    parse_run();
    moodlec_run();
    let mut parse = Vec::new();
    let mut moodlec = Vec::new();
    for _ in 0..pairs {
        parse.push(parse_run());
        moodlec.push(moodlec_run());
    }
    let ratios: Vec<f64> = parse
        .iter()
        .zip(&moodlec)
        .map(|(p, m)| p.seconds / m.seconds)
        .collect();
    let max_rss = |runs: &[Run]| runs.iter().filter_map(|r| r.max_rss_kib).max();
    Row {
        parse: median(parse.iter().map(|r| r.seconds).collect()),
        moodlec: median(moodlec.iter().map(|r| r.seconds).collect()),
        parse_rss: max_rss(&parse),
        moodlec_rss: max_rss(&moodlec),
        ratios: (
            ratios.iter().copied().fold(f64::INFINITY, f64::min),
            ratios.iter().copied().fold(0.0, f64::max),
        ),
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    }
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(|| "-".to_owned(), |kib| format!("{:.1} MiB", kib as f64 / 1024.0))
}

/// One finished process: wall seconds (spawn to exit) and peak RSS.
struct Run {
    seconds: f64,
    max_rss_kib: Option<u64>,
}

/// This bench's executable as a launcher: the command to time is its arguments.
///
/// The timed process is started by a fresh small process, not by this one:
/// on Linux a child's peak RSS counts the memory of the process it was
/// started from (its address space until `exec`), and this one holds the
/// in-process passes' memory.
fn launcher() -> Command {
    let mut command = Command::new(std::env::current_exe().expect("this bench's executable"));
    command.env(LAUNCH, "1");
    command
}

/// Run a launcher; panics unless the command it ran exited 0 (every record valid).
fn run(mut launcher: Command) -> Run {
    let output = launcher
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("{launcher:?}: {e}"));
    let report = String::from_utf8_lossy(&output.stdout);
    let fields: Vec<&str> = report.split_whitespace().collect();
    match fields[..] {
        [seconds, rss, "0"] => Run {
            seconds: seconds.parse().expect("seconds"),
            max_rss_kib: rss.parse().ok(),
        },
        _ => panic!("{launcher:?} failed: {report}"),
    }
}

/// The launcher process: run the arguments as a command (standard output
/// and error to /dev/null) and print `SECONDS PEAK_RSS_KIB EXIT_CODE`.
fn launch() {
    let mut args = std::env::args_os().skip(1);
    let program = args.next().expect("a command to launch");
    let mut command = Command::new(program);
    command
        .args(args)
        .env_remove(LAUNCH)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let start = Instant::now();
    let child = command.spawn().unwrap_or_else(|e| panic!("{command:?}: {e}"));
    let (code, max_rss_kib) = wait(child);
    let seconds = start.elapsed().as_secs_f64();
    let rss = max_rss_kib.map_or_else(|| "-".to_owned(), |kib| kib.to_string());
    println!("{seconds} {rss} {code}");
}

/// Wait for `child`: its exit code (-1 when killed by a signal) and its
/// peak RSS in KiB (from `wait4`'s resource usage of that one child).
#[cfg(unix)]
fn wait(child: std::process::Child) -> (i32, Option<u64>) {
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value of a plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our own unwaited child; both pointers are valid for writes.
        let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if waited == pid {
            break;
        }
        let error = std::io::Error::last_os_error();
        assert_eq!(error.kind(), std::io::ErrorKind::Interrupted, "wait4: {error}");
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    // ru_maxrss is in KiB on Linux, in bytes on macOS.
    let max_rss = u64::try_from(usage.ru_maxrss).unwrap_or(0);
    let kib = if cfg!(target_os = "macos") {
        max_rss / 1024
    } else {
        max_rss
    };
    (code, Some(kib))
}

#[cfg(not(unix))]
fn wait(mut child: std::process::Child) -> (i32, Option<u64>) {
    let status = child.wait().expect("wait");
    (status.code().unwrap_or(-1), None)
}
