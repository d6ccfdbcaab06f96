//! Progress on stderr (src/cli/progress.rs) end to end: the real binary
//! against the Moodle simulator. Not a terminal: plain lines, the last one
//! with the run's own counts; --quiet: none; a terminal (a pty made by
//! util-linux `script`): a bar, in colour unless NO_COLOR.
//!
//! No test asserts a duration: where periodic lines are expected, the
//! simulator's latency makes the command last several seconds, so that
//! lines due once a second must appear.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::fixtures::{results, users};
use crate::harness::{self, Moodlec, Output};
use crate::simulator::{Course, Faults, Simulator, SiteConfig, User, TOKEN};

const TEMPLATES: &str = r#"
template ten_users extends create_users "create_users, 10 per call" {
  batch size 10
}
"#;

/// A fresh folder with the test template.
fn scratch(name: &str) -> PathBuf {
    let dir = harness::scratch(&format!("progress-{name}"));
    std::fs::create_dir_all(dir.join("templates")).expect("templates folder");
    std::fs::write(dir.join("templates/test.moodle"), TEMPLATES).expect("templates");
    dir
}

/// A site where p007 and p042 exist already (two of 60 creates fail), and
/// every write waits `latency` before its answer.
fn site(latency: Duration) -> Simulator {
    let mut users = SiteConfig::default().users;
    users.push(User::new(10, "p007", "someone@example.org"));
    users.push(User::new(11, "p042", "other@example.org"));
    Simulator::start(SiteConfig {
        users,
        faults: Faults {
            latency,
            ..Faults::default()
        },
        ..SiteConfig::default()
    })
}

/// `moodlec run -t ten_users users.ndjson` on `sim`, results in r.ndjson.
fn run_args(sim: &Simulator) -> Vec<String> {
    [
        "run",
        "-t",
        "ten_users",
        "users.ndjson",
        "--url",
        sim.url(),
        "--results",
        "r.ndjson",
        "--concurrency",
        "1",
    ]
    .map(str::to_owned)
    .to_vec()
}

fn moodlec(dir: &Path, args: &[String]) -> Moodlec {
    Moodlec::new(args)
        .current_dir(dir)
        .token(TOKEN)
        .config_home(dir.join("config"))
}

/// A plain progress line, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    done: u64,
    total: u64,
    failed: u64,
    /// The last line: the time taken instead of an ETA.
    last: bool,
    text: String,
}

/// The plain progress lines of `unit` in `stderr`:
/// `DONE/TOTAL UNIT (P%), R UNIT/s, eta E, [N records, ]F failed`.
fn progress_lines(stderr: &str, unit: &str) -> Vec<Line> {
    stderr
        .lines()
        .filter_map(|text| {
            let (done, rest) = text.split_once('/')?;
            let (total, rest) = rest.split_once(' ')?;
            rest.strip_prefix(&format!("{unit} ("))?;
            let failed = text.strip_suffix(" failed")?.rsplit(", ").next()?;
            Some(Line {
                done: done.parse().ok()?,
                total: total.parse().ok()?,
                failed: failed.parse().ok()?,
                last: text.contains(", elapsed "),
                text: text.to_owned(),
            })
        })
        .collect()
}

fn status_counts(results: &BTreeMap<u64, Value>) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for result in results.values() {
        *counts
            .entry(result["status"].as_str().unwrap_or("?").to_owned())
            .or_insert(0) += 1;
    }
    counts
}

/// Lines in order: never going back, never past the total; exactly one
/// last line, at the end.
fn assert_well_ordered(lines: &[Line], out: &Output) {
    assert!(!lines.is_empty(), "no progress lines: {out:?}");
    for pair in lines.windows(2) {
        assert!(
            pair[0].done <= pair[1].done && pair[0].failed <= pair[1].failed,
            "{lines:#?}"
        );
    }
    assert!(
        lines.iter().all(|l| l.done <= l.total && l.failed <= l.done),
        "{lines:#?}"
    );
    let lasts: Vec<&Line> = lines.iter().filter(|l| l.last).collect();
    assert_eq!(lasts.len(), 1, "{lines:#?}");
    assert!(lines.last().is_some_and(|l| l.last), "{lines:#?}");
}

#[test]
fn not_a_terminal_gets_a_line_a_second_and_a_last_one_with_the_results_counts() {
    // 60 records, 10 a call, one call at a time, each answered after 300 ms;
    // the two bad records take more calls (bisection): several seconds.
    let sim = site(Duration::from_millis(300));
    let dir = scratch("lines");
    std::fs::write(dir.join("users.ndjson"), users("p", 60)).unwrap();
    let out = moodlec(&dir, &run_args(&sim)).output();
    assert_eq!(out.code, Some(1), "two records fail: {out:?}");
    let counts = status_counts(&results(&dir.join("r.ndjson")));
    assert_eq!(
        counts,
        BTreeMap::from([("applied".into(), 58), ("failed".into(), 2)])
    );
    let lines = progress_lines(&out.stderr, "records");
    assert_well_ordered(&lines, &out);
    assert!(
        lines
            .iter()
            .any(|l| !l.last && l.text.contains(" records/s, eta ")),
        "a run of seconds prints periodic lines with a rate and an ETA: {lines:#?}"
    );
    let last = lines.last().expect("a last line");
    assert_eq!(
        (last.done, last.total, last.failed),
        (counts["applied"] + counts["failed"], 60, counts["failed"]),
        "{last:?}"
    );
    assert!(last.text.starts_with("60/60 records (100%), "), "{last:?}");
    assert!(last.text.ends_with(", 2 failed"), "{last:?}");
    // No bar: no carriage returns or escape sequences in a log.
    assert!(
        !out.stderr.contains('\r') && !out.stderr.contains('\u{1b}'),
        "{out:?}"
    );
}

#[test]
fn quiet_prints_no_progress() {
    let sim = site(Duration::ZERO);
    let dir = scratch("quiet");
    std::fs::write(dir.join("users.ndjson"), users("p", 60)).unwrap();
    let mut args = run_args(&sim);
    args.push("--quiet".to_owned());
    let out = moodlec(&dir, &args).output();
    assert_eq!(out.code, Some(1), "{out:?}");
    assert_eq!(status_counts(&results(&dir.join("r.ndjson")))["failed"], 2);
    assert_eq!(progress_lines(&out.stderr, "records"), [], "{out:?}");
    assert!(!out.stderr.contains("records ("), "{out:?}");
    // The summary is no progress: it stays.
    out.stderr_has("applied: 58, failed: 2");
}

#[test]
fn term_dumb_on_a_terminal_gets_plain_lines_not_a_hidden_bar() {
    let sim = site(Duration::ZERO);
    let dir = scratch("dumb");
    std::fs::write(dir.join("users.ndjson"), users("p", 60)).unwrap();
    let transcript = on_a_terminal(&dir, &run_args(&sim), &[("TERM", Some("dumb"))]);
    let lines = progress_lines(&transcript, "records");
    assert!(
        lines
            .last()
            .is_some_and(|l| l.last && l.done == 60 && l.failed == 2),
        "{transcript}"
    );
}

#[test]
fn a_terminal_gets_a_bar_in_colour_unless_no_color() {
    for no_color in [true, false] {
        // Slow enough for the bar to be drawn more than once.
        let sim = site(Duration::from_millis(100));
        let dir = scratch(&format!("bar-{no_color}"));
        std::fs::write(dir.join("users.ndjson"), users("p", 60)).unwrap();
        let transcript = on_a_terminal(
            &dir,
            &run_args(&sim),
            &[
                ("TERM", Some("xterm-256color")),
                ("NO_COLOR", no_color.then_some("1")),
                ("CLICOLOR", None),
                ("CLICOLOR_FORCE", None),
            ],
        );
        assert!(transcript.contains("/60 records ("), "no bar: {transcript:?}");
        // The bar, not the plain lines: its parts are apart by two spaces.
        assert!(transcript.contains(" records/s  eta "), "{transcript:?}");
        assert_eq!(progress_lines(&transcript, "records"), [], "{transcript:?}");
        // Cyan, the bar's colour: only without NO_COLOR.
        assert_eq!(
            transcript.contains("\u{1b}[36m"),
            !no_color,
            "NO_COLOR={no_color}: {transcript:?}"
        );
        assert!(transcript.contains("applied: 58, failed: 2"), "{transcript:?}");
    }
}

/// `moodlec ARGS` in `dir` with stdin, stdout and stderr on a pseudo
/// terminal (util-linux `script`), with `env` set (or unset: `None`); what
/// the terminal showed.
fn on_a_terminal(dir: &Path, args: &[String], env: &[(&str, Option<&str>)]) -> String {
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let mut line = quote(env!("CARGO_BIN_EXE_moodlec"));
    for arg in args {
        line.push(' ');
        line.push_str(&quote(arg));
    }
    let mut command = Command::new("script");
    command
        .args(["-qec", &line, "/dev/null"])
        .current_dir(dir)
        .env("MOODLE_TOKEN", TOKEN)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env_remove("MOODLE_URL")
        .env_remove("MOODLE_PASSWORD")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in env {
        match value {
            Some(value) => command.env(key, value),
            None => command.env_remove(key),
        };
    }
    let output = command
        .output()
        .expect("util-linux `script` runs the command on a pseudo terminal");
    let transcript = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(
        output.status.code(),
        Some(1),
        "two records fail\n{transcript}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    transcript
}

/// A roster of `n` staff, each a student of MATH101.
fn roster(n: usize) -> String {
    let mut csv = String::from("username,first_name,last_name,email,password,course,role\n");
    for i in 1..=n {
        csv.push_str(&format!(
            "s{i:03},S,Staff {i},s{i:03}@staff.example.edu,Staff-s{i:03}-1!,MATH101,5\n"
        ));
    }
    csv
}

#[test]
fn sync_counts_the_changes_of_the_whole_plan() {
    let mut config = SiteConfig::default();
    config.courses.push(Course::new(2, "MATH101", 1));
    config.faults.latency = Duration::from_millis(200);
    let sim = Simulator::start(config);
    let dir = harness::scratch("progress-sync");
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::write(
        dir.join("templates/staff.moodle"),
        r#"
template staff_users extends create_users "Staff accounts" {
  map username = "{{ username }}"
  map firstname = "{{ first_name }}"
  map lastname = "{{ last_name }}"
  map email = "{{ email }}"
  map password = "{{ password }}"
  exclude course, role
  batch size 5
  sync users by username
  scope email like "%@staff.example.edu"
  missing keep
}

template staff_enrolments extends enrol_users "Staff enrolments" {
  lookup userid = user by username from "{{ username }}"
  lookup courseid = course by shortname from "{{ course }}"
  map roleid = "{{ role }}"
  exclude first_name, last_name, email, password
  batch size 5
  sync enrolments
  missing keep
}

template staff_sync "Staff accounts, then their enrolments" {
  steps staff_users, staff_enrolments
}
"#,
    )
    .unwrap();
    std::fs::write(dir.join("staff.csv"), roster(30)).unwrap();
    let args = [
        "sync",
        "-t",
        "staff_sync",
        "staff.csv",
        "--yes",
        "--results",
        "r.ndjson",
        "--concurrency",
        "1",
        "--url",
        sim.url(),
    ]
    .map(str::to_owned);
    let out = moodlec(&dir, &args).output();
    assert_eq!(out.code, Some(0), "{out:?}");
    let counts = status_counts(&results(&dir.join("r.ndjson")));
    assert_eq!(counts, BTreeMap::from([("applied".into(), 60)]), "{out:?}");
    let lines = progress_lines(&out.stderr, "changes");
    assert_well_ordered(&lines, &out);
    // 12 calls of 200 ms: lines a second apart on the way.
    assert!(lines.len() >= 2, "{lines:#?}");
    let last = lines.last().expect("a last line");
    assert!(
        last.text.starts_with("60/60 changes (100%), ") && last.text.ends_with(", 0 failed"),
        "{last:?}"
    );
}

#[test]
fn fetch_counts_calls_records_and_refused_calls_when_it_takes_long() {
    let config = SiteConfig {
        courses: vec![
            Course::new(2, "BIO101", 1),
            Course::new(3, "CHEM101", 1),
            Course::new(4, "PHYS101", 1),
        ],
        faults: Faults {
            latency: Duration::from_millis(400),
            include_reads: true,
            ..Faults::default()
        },
        ..SiteConfig::default()
    };
    let sim = Simulator::start(config);
    let dir = scratch("fetch");
    std::fs::write(dir.join("courses.csv"), "courseid\n2\n99\n3\n4\n2\n3\n").unwrap();
    let args = [
        "fetch",
        "-t",
        "enrolled_users",
        "courses.csv",
        "--concurrency",
        "1",
        "--url",
        sim.url(),
    ]
    .map(str::to_owned);
    let out = moodlec(&dir, &args).output();
    assert_eq!(out.code, Some(1), "course 99 does not exist: {out:?}");
    let lines = progress_lines(&out.stderr, "calls");
    assert_well_ordered(&lines, &out);
    let last = lines.last().expect("a last line");
    let records = out.stdout.lines().count();
    assert!(
        last.text.starts_with("6/6 calls (100%), ")
            && last.text.ends_with(&format!(", {records} records, 1 failed")),
        "{last:?}"
    );
    out.stderr_has("input record 2");
}
