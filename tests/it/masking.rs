//! Values of `password` fields are masked wherever moodlec shows a record:
//! render (every format), `run --test`'s request view, and the record
//! excerpt of every diagnostic. `render --show-passwords` reveals them.

use std::path::{Path, PathBuf};

use crate::harness::{self, Moodlec, Output};
use crate::simulator::{Simulator, SiteConfig, TOKEN};

const SECRET: &str = "Xyzzy-Secret-42";
const MASK: &str = "********";

fn folder(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = harness::scratch(&format!("masking-{name}"));
    for (file, text) in files {
        std::fs::write(dir.join(file), text).unwrap();
    }
    dir
}

fn moodlec(dir: &Path, args: &[&str]) -> Output {
    Moodlec::new(args).current_dir(dir).output()
}

fn user(username: &str, email: &str) -> String {
    format!(
        "{{\"username\":\"{username}\",\"firstname\":\"A\",\"lastname\":\"B\",\"email\":\"{email}\",\"password\":\"{SECRET}\"}}\n"
    )
}

#[track_caller]
fn assert_masked(out: &Output) {
    assert!(
        !out.all().contains(SECRET),
        "the password is shown:\n{}",
        out.all()
    );
    assert!(
        !out.all().contains("Xyzzy"),
        "part of the password is shown:\n{}",
        out.all()
    );
}

#[test]
fn render_masks_passwords_in_every_format_unless_asked() {
    let dir = folder("render", &[("users.ndjson", &user("ana", "ana@example.org"))]);
    for format in ["form", "json", "curl", "http"] {
        let out = moodlec(
            &dir,
            &["render", "-t", "create_users", "users.ndjson", "--format", format],
        );
        out.code(0).stdout_has(MASK).stderr_has("--show-passwords");
        assert_masked(&out);
        assert!(
            out.stdout.contains("ana"),
            "{format}: the rest is shown: {}",
            out.stdout
        );
        let shown = moodlec(
            &dir,
            &[
                "render",
                "-t",
                "create_users",
                "users.ndjson",
                "--format",
                format,
                "--show-passwords",
            ],
        );
        shown.code(0).stdout_has(SECRET);
        assert!(!shown.stdout.contains(MASK), "{format}: {}", shown.stdout);
    }
}

#[test]
fn diagnostic_excerpts_mask_passwords_and_still_point_at_the_problem() {
    // The password comes first, so masking it moves what follows.
    let ndjson = format!(
        "{{\"password\":\"{SECRET}\",\"username\":\"ana\",\"firstname\":\"A\",\"lastname\":\"B\",\"email\":\"not-an-email\"}}\n"
    );
    let csv = format!("username,firstname,lastname,email,password\nana,A,B,not-an-email,{SECRET}\n");
    let broken = format!("{{\"username\":\"ana\",\"password\":\"{SECRET}\",\"email\": oops}}\n");
    let dir = folder(
        "excerpts",
        &[
            ("users.ndjson", &ndjson),
            ("users.csv", &csv),
            ("broken.ndjson", &broken),
        ],
    );
    for file in ["users.ndjson", "users.csv"] {
        for command in ["validate", "render"] {
            let out = moodlec(&dir, &[command, "-t", "create_users", file]);
            out.code(1).stderr_has(MASK).stderr_has("not-an-email");
            assert_masked(&out);
        }
    }
    // The label still underlines the email, after the masked value moved it.
    let out = moodlec(&dir, &["validate", "-t", "create_users", "users.ndjson"]);
    let lines: Vec<&str> = out.stderr.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains("not-an-email"))
        .expect("the excerpt");
    let chars = |line: &str, byte: usize| line[..byte].chars().count();
    let column = chars(lines[at], lines[at].find("\"not-an-email\"").unwrap());
    let marks = lines[at + 1];
    let underline = chars(marks, marks.find('─').expect("an underline"));
    assert_eq!(underline, column, "{}", out.stderr);

    let out = moodlec(&dir, &["validate", "-t", "create_users", "broken.ndjson"]);
    out.code(1).stderr_has(MASK).stderr_has("oops");
    assert_masked(&out);
}

#[test]
fn run_test_shows_the_request_with_passwords_masked() {
    let sim = Simulator::start(SiteConfig::default());
    let dir = folder("run-test", &[("users.ndjson", &user("ana", "ana@example.org"))]);
    let out = Moodlec::new([
        "run",
        "-t",
        "create_users",
        "users.ndjson",
        "--url",
        sim.url(),
        "--test",
        "--results",
        "r.ndjson",
    ])
    .current_dir(&dir)
    .token(TOKEN)
    .output();
    out.code(0).stdout_has("--- request ---").stdout_has(MASK);
    assert_masked(&out);
    let results = std::fs::read_to_string(dir.join("r.ndjson")).unwrap();
    assert!(!results.contains(SECRET), "{results}");
    // What was sent is the real password.
    assert!(sim.state().user_by_username("ana").is_some());
}

/// A record too long to read has no fields to tell its passwords by: its
/// diagnostic shows no excerpt of it, whatever its format (a CSV column
/// named `pw`, mapped to the password, would not be recognised as one).
#[test]
fn records_too_long_to_read_are_reported_without_an_excerpt() {
    let filler = "x".repeat(300);
    let csv = format!("pw,username,note\n{SECRET},ann,{filler}\n");
    let ndjson = format!("{{\"pw\":\"{SECRET}\",\"note\":\"{filler}\"}}\n");
    let json = format!("[{{\"pw\":\"{SECRET}\",\"note\":\"{filler}\"}}]");
    let dir = folder(
        "too-long",
        &[("u.csv", &csv), ("u.ndjson", &ndjson), ("u.json", &json)],
    );
    for file in ["u.csv", "u.ndjson", "u.json"] {
        let out = moodlec(
            &dir,
            &[
                "validate",
                "-t",
                "create_users",
                file,
                "--max-record-bytes",
                "200",
            ],
        );
        assert_eq!(out.code, Some(1), "{file}: {}", out.all());
        assert!(
            out.all().contains("longer than the limit of 200 bytes"),
            "{file}: {}",
            out.all()
        );
        assert_masked(&out);
    }
}

/// A source column that a `map` turns into the password is masked like
/// the password itself, though its name says nothing of passwords.
#[test]
fn a_column_mapped_to_the_password_is_masked_in_excerpts() {
    let template = r#"
template hr_users extends create_users "Users from HR" {
  map password = "{{ pw }}"
  exclude pw
}
"#;
    let dir = folder(
        "mapped",
        &[(
            "u.ndjson",
            &format!("{{\"username\":\"Ann\",\"firstname\":\"A\",\"lastname\":\"B\",\"email\":\"a@example.org\",\"pw\":\"{SECRET}\"}}\n"),
        )],
    );
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::write(dir.join("templates/hr.moodle"), template).unwrap();
    let out = moodlec(&dir, &["validate", "-t", "hr_users", "u.ndjson"]);
    assert_eq!(out.code, Some(1), "{}", out.all());
    assert!(out.all().contains("lowercase"), "{}", out.all());
    assert_masked(&out);
}
