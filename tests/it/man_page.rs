//! `moodlec man`: the roff page, rendered by groff as `man` would, without a
//! warning. CI installs groff where it is missing (.ci/run).

use std::io::Write;
use std::process::{Command, Stdio};

use crate::harness::Moodlec;

/// `roff` rendered by `groff -man -Tutf8 -ww` as plain text (no overstrike,
/// no escape sequences): (text, groff's warnings).
fn groff(roff: &str) -> (String, String) {
    let mut child = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-P-cbou", "-rLL=100n"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("groff (install groff-base: apt-get install groff-base; .ci/run does)");
    child
        .stdin
        .take()
        .expect("groff's stdin")
        .write_all(roff.as_bytes())
        .expect("write to groff");
    let out = child.wait_with_output().expect("wait for groff");
    assert!(
        out.status.success(),
        "groff failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Some groff versions print U+2010/U+2212 for hyphens and minus signs.
    let text = String::from_utf8_lossy(&out.stdout).replace(['\u{2010}', '\u{2212}'], "-");
    (text, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn the_man_page_renders_without_warnings_and_lists_the_commands() {
    let out = Moodlec::new(["man"]).output();
    assert_eq!(out.code, Some(0), "{}", out.all());
    assert!(out.stdout.contains(".TH moodlec 1"), "{}", out.stdout);
    let (text, warnings) = groff(&out.stdout);
    assert_eq!(warnings, "", "groff warned about moodlec's page");
    for expected in [
        "NAME\n       moodlec - Compile, validate and run declarative Moodle web-service templates",
        "SYNOPSIS",
        "DESCRIPTION",
        "SUBCOMMANDS",
        "EXAMPLES",
        "EXIT STATUS",
        // Examples stay whole lines, as typed.
        "\n           moodlec fmt --check templates/*.moodle\n",
    ] {
        assert!(text.contains(expected), "no {expected:?} in\n{text}");
    }
    for command in [
        "templates",
        "new",
        "check",
        "explain",
        "fmt",
        "validate",
        "render",
        "run",
        "fetch",
        "plan",
        "apply",
        "sync",
        "completions",
        "man",
        "login",
    ] {
        assert!(
            text.contains(&format!("moodlec-{command}(1)")),
            "no {command} in\n{text}"
        );
    }
    assert!(
        text.contains("Send records to Moodle: validate, batch, send"),
        "{text}"
    );
}

#[test]
fn each_command_has_its_page_with_its_options() {
    let out = Moodlec::new(["man", "run"]).output();
    assert_eq!(out.code, Some(0), "{}", out.all());
    let (text, warnings) = groff(&out.stdout);
    assert_eq!(warnings, "", "groff warned about moodlec-run's page");
    for expected in [
        "NAME\n       moodlec-run - Send records to Moodle",
        "OPTIONS",
        "--results <FILE>",
        // An option's help, and the environment variable behind a flag.
        "Template: a built-in name",
        "MOODLE_URL",
        "EXAMPLES",
        "moodlec run -t create_users staff.csv --url https://lms.example.edu --test",
    ] {
        assert!(text.contains(expected), "no {expected:?} in\n{text}");
    }
    let out = Moodlec::new(["man", "nosuch"]).output();
    assert_eq!(out.code, Some(2), "{}", out.all());
    assert!(out.stderr.contains("no command `nosuch`"), "{}", out.stderr);
    assert!(out.stderr.contains("validate"), "{}", out.stderr);
}
