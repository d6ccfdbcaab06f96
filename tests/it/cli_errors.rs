//! Errors that end a command, the real binary end to end: printed in the
//! command's format (JSON on stdout, GitHub annotations, text), with the
//! exit code of their class; numeric flags that must never panic; closed
//! pipes; the private copy of standard input that `run` makes.
//!
//! No Moodle site is needed: a site that cannot be reached is
//! `http://127.0.0.1:9` (the discard port, where nothing listens).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};

use serde_json::Value;

use crate::harness::{self, Moodlec, Output};

/// Where no site answers: the connection is refused at once.
const NO_SITE: &str = "http://127.0.0.1:9";

/// MOODLE_TOKEN for the commands that need one.
const TOKEN: &str = "0123456789abcdef";

/// A valid record of `create_users`.
const USER: &str = r#"{"username":"ana","firstname":"Ana","lastname":"Silva","email":"ana@example.org","password":"Xx1!xxxxxx"}"#;

/// A template with lookups: `validate --url` calls the site for it.
const LOOKUP_TEMPLATE: &str = r#"
template by_email extends enrol_users "Enrolments by email" {
  lookup userid = user by email from "{{ email }}"
}
"#;

/// A fresh folder for one test, with data files and a template with lookups.
fn fixtures(name: &str) -> PathBuf {
    let dir = harness::scratch(&format!("cli-errors-{name}"));
    std::fs::write(dir.join("users.ndjson"), format!("{USER}\n")).expect("users");
    std::fs::write(dir.join("enrolments.csv"), "email,courseid\nana@example.org,2\n").expect("enrolments");
    std::fs::write(dir.join("by_email.moodle"), LOOKUP_TEMPLATE).expect("template");
    dir
}

/// `moodlec ARGS` in `dir` (the harness leaves out site, token and
/// password), with no backtrace if it panics.
fn moodlec(dir: &Path, args: &[&str]) -> Moodlec {
    Moodlec::new(args).current_dir(dir).env("RUST_BACKTRACE", "0")
}

/// The error that ended a command, as the last diagnostic of the one JSON
/// document on stdout: a runtime error with its message and help, and a
/// summary that says the command did not end well.
#[track_caller]
fn json_error(out: &Output) -> Value {
    let report = harness::report(out);
    assert_eq!(report["summary"]["ok"], false, "{out:#?}");
    let error = report["diagnostics"]
        .as_array()
        .and_then(|diagnostics| diagnostics.last())
        .cloned()
        .unwrap_or_else(|| panic!("no diagnostic on stdout: {out:#?}"));
    assert_eq!(error["severity"], "error", "{out:#?}");
    assert_eq!(error["family"], "runtime", "{out:#?}");
    assert!(error["message"].is_string(), "{out:#?}");
    assert!(error.get("help").is_some(), "no help key: {out:#?}");
    error
}

// ---------------------------------------------------------------------------
// Errors in the command's format

/// The words of a command line (no argument here holds a space).
fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// Every command with JSON output, failing at run time: the error is the last
/// diagnostic of the one JSON document on stdout, with the message, the
/// class's code and its exit code, and nothing is said about it on stderr.
#[test]
fn commands_with_json_output_print_their_error_as_json_on_stdout() {
    let dir = fixtures("json");
    let site = format!("--url {NO_SITE} --retries 0");
    // (command line, with a token, exit code, error code, text of the message)
    let cases = [
        (
            "check missing.moodle --format json".to_owned(),
            false,
            2,
            "usage",
            "cannot read missing.moodle",
        ),
        (
            "validate -t create_users missing.csv --format json".to_owned(),
            false,
            2,
            "usage",
            "cannot read missing.csv",
        ),
        (
            format!("validate -t by_email.moodle enrolments.csv {site} --format json"),
            true,
            3,
            "server",
            "cannot reach http://127.0.0.1:9",
        ),
        (
            format!("validate -t by_email.moodle enrolments.csv {site} --format json"),
            false,
            2,
            "usage",
            "no web-service token",
        ),
        (
            "render -t create_users missing.csv --format json".to_owned(),
            false,
            2,
            "usage",
            "cannot read missing.csv",
        ),
        (
            "render -t no_such_template users.ndjson --format json".to_owned(),
            false,
            2,
            "usage",
            "no template named `no_such_template`",
        ),
        (
            format!("fetch -t site_info {site} --format json"),
            true,
            3,
            "server",
            "cannot reach http://127.0.0.1:9",
        ),
        (
            format!("fetch -t site_info {site} --format json"),
            false,
            2,
            "usage",
            "no web-service token",
        ),
        (
            "fetch -t site_info --format json".to_owned(),
            true,
            2,
            "usage",
            "fetch needs the site",
        ),
        (
            "explain no_such_template --json".to_owned(),
            false,
            2,
            "usage",
            "no template named `no_such_template`",
        ),
        (
            "explain no_such_template --schema".to_owned(),
            false,
            2,
            "usage",
            "no template named `no_such_template`",
        ),
    ];
    for (line, token, code, error_code, text) in cases {
        let args = words(&line);
        let out = if token {
            moodlec(&dir, &args).token(TOKEN).output()
        } else {
            moodlec(&dir, &args).output()
        };
        assert_eq!(out.code, Some(code), "{line}: {out:#?}");
        let error = json_error(&out);
        assert_eq!(harness::report(&out)["command"], args[0], "{line}: {out:#?}");
        assert_eq!(error["code"], error_code, "{line}: {out:#?}");
        let message = error["message"].as_str().unwrap_or_default();
        assert!(message.contains(text), "{line}: {message:?} lacks {text:?}");
        assert!(
            !out.stderr.contains("error:"),
            "{line}: the error is also on stderr: {out:#?}"
        );
    }
}

/// `templates --json` in a folder where one file of ./templates/ cannot be
/// read: the other templates are listed as JSON on stdout, and the file is
/// named in a warning on stderr (it is left out, not fatal).
#[test]
fn templates_json_lists_the_rest_when_a_local_file_cannot_be_read() {
    let dir = fixtures("json-templates");
    std::fs::create_dir_all(dir.join("templates/broken.moodle"))
        .expect("a folder where a template file should be");
    let out = moodlec(&dir, &words("templates --json")).output();
    assert_eq!(out.code, Some(0), "{out:#?}");
    for line in out.stdout.lines() {
        let template: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        assert!(template["name"].is_string(), "{line}");
    }
    assert!(out.stdout.contains("\"create_users\""), "{out:#?}");
    assert!(
        out.stderr
            .contains("warning: templates/broken.moodle is left out (cannot read it"),
        "{out:#?}"
    );
}

/// The help of the error is there for programs too.
#[test]
fn a_json_error_carries_its_help() {
    let dir = fixtures("json-help");
    let out = moodlec(&dir, &words("validate -t create_users data.txt --format json")).output();
    assert_eq!(out.code, Some(2), "{out:#?}");
    let error = json_error(&out);
    let help = error["help"].as_str().unwrap_or_default();
    assert!(help.contains("--input-format"), "{error}");
}

/// A template that does not compile, under --format json: its diagnostics,
/// in the shape `check --format json` gives them, on stdout.
#[test]
fn a_broken_template_is_reported_as_json_diagnostics() {
    let dir = fixtures("json-template");
    std::fs::write(
        dir.join("broken.moodle"),
        "template broken \"no function\" {\n  field x: nosuchtype\n}\n",
    )
    .expect("template");
    let out = moodlec(
        &dir,
        &words("validate -t broken.moodle users.ndjson --format json"),
    )
    .output();
    assert_eq!(out.code, Some(2), "{out:#?}");
    let diagnostics = harness::diagnostics(&out);
    assert!(!diagnostics.is_empty(), "{out:#?}");
    for diagnostic in &diagnostics {
        assert_eq!(diagnostic["file"], "broken.moodle", "{diagnostic}");
        assert_eq!(diagnostic["family"], "template", "{diagnostic}");
        assert!(
            diagnostic["code"]
                .as_str()
                .is_some_and(|c| !c.is_empty() && !c.contains("::")),
            "a bare code: {diagnostic}"
        );
        assert!(diagnostic["span"]["line"].is_u64(), "{diagnostic}");
    }
    assert!(diagnostics.iter().any(|d| d["severity"] == "error"), "{out:#?}");
    assert!(
        diagnostics.iter().any(|d| d["code"] == "unknown_type"),
        "{out:#?}"
    );
    assert!(out.stderr.is_empty(), "{out:#?}");
    // The same diagnostics as `check` gives for the file (check also names
    // the template each is in; validate leaves `template` null here).
    let check = moodlec(&dir, &words("check broken.moodle --format json")).output();
    assert_eq!(check.code, Some(2), "{check:#?}");
    let without_template = |mut diagnostics: Vec<Value>| -> Vec<Value> {
        for diagnostic in &mut diagnostics {
            diagnostic["template"] = Value::Null;
        }
        diagnostics
    };
    assert_eq!(
        without_template(harness::diagnostics(&check)),
        without_template(diagnostics),
        "{check:#?}"
    );
}

#[test]
fn github_format_prints_an_annotation() {
    let dir = fixtures("github");
    let out = moodlec(
        &dir,
        &words("validate -t create_users missing.csv --format github"),
    )
    .output();
    assert_eq!(out.code, Some(2), "{out:#?}");
    assert!(
        out.stdout
            .starts_with("::error title=usage::cannot read missing.csv: "),
        "{out:#?}"
    );
    assert!(out.stdout.contains(" — give a .ndjson"), "{out:#?}");
    assert!(out.stderr.is_empty(), "{out:#?}");
}

#[test]
fn people_get_the_error_and_its_help_on_stderr() {
    let dir = fixtures("human");
    let out = moodlec(&dir, &words("validate -t create_users missing.csv")).output();
    assert_eq!(out.code, Some(2), "{out:#?}");
    assert!(
        out.stderr.starts_with("error: cannot read missing.csv: "),
        "{out:#?}"
    );
    assert!(out.stderr.contains("\n  help: give a .ndjson"), "{out:#?}");
    assert!(out.stdout.is_empty(), "{out:#?}");
}

/// Data formats other than JSON (CSV, NDJSON records) keep errors off stdout,
/// where a reader would take them for records.
#[test]
fn fetch_in_ndjson_or_csv_reports_errors_on_stderr() {
    let dir = fixtures("fetch-text");
    for format in ["ndjson", "csv"] {
        let line = format!("fetch -t site_info --url {NO_SITE} --retries 0 --format {format}");
        let out = moodlec(&dir, &words(&line)).token(TOKEN).output();
        assert_eq!(out.code, Some(3), "{format}: {out:#?}");
        assert!(out.stdout.is_empty(), "{format}: {out:#?}");
        assert!(
            out.stderr.contains("error: cannot reach http://127.0.0.1:9"),
            "{format}: {out:#?}"
        );
    }
}

/// Exit codes: 2 for usage, 3 for a site that cannot be reached, for every
/// command that talks to one.
#[test]
fn a_site_that_cannot_be_reached_is_exit_3() {
    let dir = fixtures("unreachable");
    let cases = [
        "run -t create_users users.ndjson --url http://127.0.0.1:9 --retries 0",
        "fetch -t site_info --url http://127.0.0.1:9 --retries 0",
        "login --url http://127.0.0.1:9 --username ana --token-file token",
    ];
    for line in cases {
        let args = words(line);
        let out = moodlec(&dir, &args)
            .token(TOKEN)
            .env("MOODLE_PASSWORD", "secret")
            .output();
        assert_eq!(out.code, Some(3), "{args:?}: {out:#?}");
        assert!(out.stderr.contains("error: "), "{args:?}: {out:#?}");
        assert!(out.stderr.contains("127.0.0.1:9"), "{args:?}: {out:#?}");
    }
    assert!(!dir.join("token").exists(), "login saved a token it did not get");
}

#[test]
fn run_without_a_site_is_a_usage_error() {
    let dir = fixtures("run-no-url");
    let out = moodlec(&dir, &words("run -t create_users users.ndjson"))
        .token(TOKEN)
        .output();
    assert_eq!(out.code, Some(2), "{out:#?}");
    assert!(out.stderr.contains("--url <URL>"), "{out:#?}");
}

// ---------------------------------------------------------------------------
// Numeric flags

/// Values at and past the edges of every numeric type: none may reach a panic.
const AWKWARD: [&str; 8] = [
    "0",
    "-1",
    "1e30",
    "inf",
    "NaN",
    "18446744073709551615",
    "18446744073709551616",
    "",
];

/// Durations at the edges of what `Duration` holds.
const EDGE_SECONDS: [&str; 6] = ["1e-300", "1e-9", "1e15", "1.8e19", "18446744073709551615", "-inf"];

/// Every numeric flag of every command, with a command line that takes the
/// command as far as it goes without a site (a refused connection, with no
/// retries, ends it at once).
fn numeric_flags() -> Vec<(&'static str, &'static str)> {
    let validate = "validate -t create_users users.ndjson";
    let validate_url = "validate -t by_email.moodle enrolments.csv --url http://127.0.0.1:9 --retries=0";
    let render = "render -t create_users users.ndjson";
    let run = "run -t create_users users.ndjson --url http://127.0.0.1:9 --retries=0";
    let fetch = "fetch -t site_info --url http://127.0.0.1:9 --retries=0";
    let login = "login --url http://127.0.0.1:9 --username ana --token-file saved-token";
    let mut flags = Vec::new();
    flags.extend(["--max-errors", "--max-record-bytes"].map(|flag| (validate, flag)));
    flags.extend(["--timeout", "--retries", "--retry-base-ms", "--rate"].map(|flag| (validate_url, flag)));
    flags.push((render, "--max-record-bytes"));
    let site_flags = [
        "--concurrency",
        "--rate",
        "--timeout",
        "--retries",
        "--retry-base-ms",
    ];
    flags.extend(site_flags.map(|flag| (run, flag)));
    flags.push((run, "--max-record-bytes"));
    flags.extend(site_flags.map(|flag| (fetch, flag)));
    flags.push((login, "--timeout"));
    flags
}

#[test]
fn no_value_of_a_numeric_flag_makes_a_command_panic() {
    let dir = fixtures("numeric");
    let mut tried = 0;
    for (line, flag) in numeric_flags() {
        let edges: &[&str] = if flag == "--timeout" { &EDGE_SECONDS } else { &[] };
        for value in AWKWARD.iter().chain(edges) {
            let assignment = format!("{flag}={value}");
            // The value tried replaces the command line's own.
            let mut args: Vec<&str> = words(line)
                .into_iter()
                .filter(|word| !word.starts_with(&format!("{flag}=")))
                .collect();
            args.push(&assignment);
            let out = moodlec(&dir, &args)
                .token(TOKEN)
                .env("MOODLE_PASSWORD", "secret")
                .output();
            tried += 1;
            assert!(
                matches!(out.code, Some(0..=3)),
                "{args:?} ended with {:?}:\n{}",
                out.code,
                out.stderr
            );
            assert!(!out.stderr.contains("panicked"), "{args:?}:\n{}", out.stderr);
        }
    }
    assert!(tried >= 170, "only {tried} runs");
}

/// Durations are refused when they are no duration, with a message that says why.
#[test]
fn timeouts_that_are_no_duration_are_refused_by_name() {
    let dir = fixtures("timeouts");
    let cases = [
        ("0", "is not a positive number of seconds"),
        ("-1", "is not a positive number of seconds"),
        ("NaN", "is not a number of seconds"),
        ("", "is not a number of seconds"),
        ("inf", "is not a finite number of seconds"),
        ("1e30", "is longer than any wait can be"),
        ("1e-300", "is less than a nanosecond"),
    ];
    for command_args in [
        vec!["fetch", "-t", "site_info", "--url", NO_SITE],
        vec!["run", "-t", "create_users", "users.ndjson", "--url", NO_SITE],
        vec!["login", "--url", NO_SITE, "--username", "ana"],
    ] {
        for (value, why) in cases {
            let assignment = format!("--timeout={value}");
            let mut args = command_args.clone();
            args.push(&assignment);
            let out = moodlec(&dir, &args).token(TOKEN).output();
            assert_eq!(out.code, Some(2), "{args:?}: {out:#?}");
            assert!(out.stderr.contains("invalid value"), "{args:?}: {out:#?}");
            assert!(out.stderr.contains(why), "{args:?}: {out:#?}");
        }
    }
}

// ---------------------------------------------------------------------------
// Closed pipes and failing writes

/// Records that fill far more than a pipe's buffer with problems.
fn many_bad_records(dir: &Path) -> PathBuf {
    let path = dir.join("bad.ndjson");
    let mut text = String::new();
    for i in 0..5000 {
        text.push_str(&format!("{{\"username\":\"user{i}\"}}\n"));
    }
    std::fs::write(&path, text).expect("data");
    path
}

/// Records that render to far more than a pipe's buffer.
fn many_users(dir: &Path) -> PathBuf {
    let path = dir.join("many.ndjson");
    let mut text = String::new();
    for i in 0..3000 {
        text.push_str(&format!(
            "{{\"username\":\"user{i}\",\"firstname\":\"A\",\"lastname\":\"B\",\"email\":\"u{i}@example.org\",\"password\":\"Xx1!xxxxxx\"}}\n"
        ));
    }
    std::fs::write(&path, text).expect("data");
    path
}

/// Run `moodlec` with stdout and/or stderr a pipe whose reader is gone at
/// once; the other one is read to its end. The exit status and stderr.
fn with_closed_pipes(moodlec: Moodlec, close_stdout: bool, close_stderr: bool) -> (ExitStatus, String) {
    let mut child = moodlec.spawn();
    // Dropped here, a pipe's read end is closed: no one is left to read it.
    let stdout = child.stdout.take().filter(|_| !close_stdout);
    let stderr = child.stderr.take().filter(|_| !close_stderr);
    let drain_stdout = std::thread::spawn(move || {
        if let Some(mut pipe) = stdout {
            let _ = std::io::copy(&mut pipe, &mut std::io::sink());
        }
    });
    let read_stderr = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = stderr {
            let _ = pipe.read_to_string(&mut text);
        }
        text
    });
    let status = child.wait().expect("wait for moodlec");
    drain_stdout.join().expect("stdout reader");
    (status, read_stderr.join().expect("stderr reader"))
}

#[cfg(unix)]
fn died_of_sigpipe(status: &ExitStatus) -> bool {
    use std::os::unix::process::ExitStatusExt;
    status.signal() == Some(libc::SIGPIPE)
}

/// `moodlec validate --format json data | head -1`: the command ends as
/// `cat` would, by SIGPIPE (status 141 in a shell), without a panic.
#[cfg(unix)]
#[test]
fn output_commands_end_quietly_when_stdout_is_closed() {
    let dir = fixtures("closed-stdout");
    many_bad_records(&dir);
    many_users(&dir);
    for line in [
        "validate -t create_users bad.ndjson --format json",
        "render -t create_users many.ndjson --format json",
        "render -t create_users many.ndjson --format curl",
    ] {
        let args = words(line);
        let (status, stderr) = with_closed_pipes(moodlec(&dir, &args), true, false);
        assert_ne!(status.code(), Some(101), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(
            died_of_sigpipe(&status),
            "{args:?} ended with {status:?}: {stderr}"
        );
    }
}

/// Problems for people go to stderr: a closed stderr ends the command the same way.
#[cfg(unix)]
#[test]
fn validate_ends_quietly_when_stderr_is_closed() {
    let dir = fixtures("closed-stderr");
    many_bad_records(&dir);
    let args = words("validate -t create_users bad.ndjson");
    let (status, _) = with_closed_pipes(moodlec(&dir, &args), false, true);
    assert_ne!(status.code(), Some(101));
    assert!(died_of_sigpipe(&status), "ended with {status:?}");
}

/// `run` does not die with its readers: it finishes, and every record has
/// its result in the results file.
#[test]
fn run_finishes_its_batch_when_stdout_and_stderr_are_closed() {
    let dir = fixtures("run-closed");
    many_bad_records(&dir);
    let args = words("run -t create_users bad.ndjson --url http://127.0.0.1:9 --results results.ndjson");
    let (status, _) = with_closed_pipes(moodlec(&dir, &args).token(TOKEN), true, true);
    // Every record is invalid: nothing is sent, each one gets its result.
    assert_eq!(status.code(), Some(1), "ended with {status:?}");
    let lines = std::fs::read_to_string(dir.join("results.ndjson")).expect("results file");
    assert_eq!(lines.lines().count(), 5000, "a result per record");
}

/// A full disk behind stdout: the command says so and ends with exit 2, even
/// in a JSON format whose errors would go to that same stdout.
#[cfg(target_os = "linux")]
#[test]
fn a_stdout_that_cannot_be_written_is_an_error() {
    let dir = fixtures("full");
    many_bad_records(&dir);
    for line in [
        "explain create_users --schema",
        "templates",
        "validate -t create_users bad.ndjson --format json",
    ] {
        let args = words(line);
        let full = std::fs::File::create("/dev/full").expect("/dev/full");
        let child = moodlec(&dir, &args).spawn_with(full.into(), Stdio::piped());
        let out = Output::from(child.wait_with_output().expect("wait for moodlec"));
        assert_eq!(out.code, Some(2), "{args:?}: {out:#?}");
        assert!(
            out.stderr.contains("cannot write standard output"),
            "{args:?}: {out:#?}"
        );
        assert!(!out.stderr.contains("panicked"), "{args:?}: {out:#?}");
    }
}

// ---------------------------------------------------------------------------
// The copy of standard input

/// `run -` copies stdin to a private file of the temporary folder, and
/// removes it however the run ends: records rejected, or site unreachable.
#[test]
fn run_removes_its_copy_of_standard_input() {
    let dir = fixtures("spool");
    let temp = dir.join("tmp");
    let bad = std::fs::read_to_string(many_bad_records(&dir)).expect("data");
    // (data, exit code, what stderr says)
    for (data, expected, says) in [(bad.as_str(), 1, "standard input"), (USER, 3, "cannot reach")] {
        std::fs::create_dir_all(&temp).expect("temporary folder");
        let args = words("run -t create_users - --url http://127.0.0.1:9 --retries 0");
        let mut command = moodlec(&dir, &args)
            .token(TOKEN)
            .env("TMPDIR", &temp)
            .into_command();
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("spawn moodlec");
        let mut stdin = child.stdin.take().expect("stdin");
        let text = format!("{data}\n");
        let writer = std::thread::spawn(move || stdin.write_all(text.as_bytes()));
        let out = child.wait_with_output().expect("wait for moodlec");
        writer.join().expect("writer").expect("write stdin");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(expected), "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
        let left: Vec<_> = std::fs::read_dir(&temp).expect("list").collect();
        assert!(left.is_empty(), "left behind: {left:?}");
    }
}
