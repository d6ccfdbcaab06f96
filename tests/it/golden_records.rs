//! Golden tests of `moodlec validate` and `moodlec render` on realistic data.
//!
//! Each folder of tests/golden/records/ holds a data file, an `args` file (one
//! argument per line, e.g. `-t`, `enrol_users`, `data.ndjson`) and three
//! expectations: `expected.validate.json` (stdout of `validate ARGS --format
//! json`), `expected.render.form` (stdout of `render ARGS --format form`) and
//! `expected.exit` (the exit code of validate). The binary runs in the case
//! folder. `BLESS=1 cargo test --test it golden_records` rewrites the
//! expectations (BLESS must be exactly `1`); review every verdict against
//! tests/golden/records/README.md.

use std::path::{Path, PathBuf};

use crate::harness::{self, Moodlec};

const EXPECTED: [&str; 3] = ["expected.validate.json", "expected.render.form", "expected.exit"];

/// `moodlec SUBCOMMAND ARGS EXTRA` in `dir`: (stdout, exit code).
fn moodlec(dir: &Path, subcommand: &str, args: &[String], extra: &[&str]) -> (String, String) {
    let output = Moodlec::new([subcommand])
        .args(args)
        .args(extra)
        .current_dir(dir)
        .output();
    let code = output.code.map_or("signal".to_owned(), |c| c.to_string());
    (output.stdout, format!("{code}\n"))
}

/// The first line where `expected` and `actual` differ, for the failure message.
fn first_difference(expected: &str, actual: &str) -> String {
    let (mut e, mut a) = (expected.lines(), actual.lines());
    for number in 1.. {
        match (e.next(), a.next()) {
            (None, None) => return "same lines, different line endings".to_owned(),
            (x, y) if x == y => {}
            (x, y) => {
                let show = |line: Option<&str>| line.map_or("(no line)".to_owned(), |l| format!("{l:?}"));
                return format!(
                    "line {number}:\n      expected: {}\n      actual:   {}",
                    show(x),
                    show(y)
                );
            }
        }
    }
    unreachable!()
}

/// Everything wrong with one case folder (empty when it passes).
fn check_case(dir: &Path, bless: bool) -> Vec<String> {
    let Ok(args_text) = std::fs::read_to_string(dir.join("args")) else {
        return vec!["missing `args` file".to_owned()];
    };
    let args: Vec<String> = args_text
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    let (validate, exit) = moodlec(dir, "validate", &args, &["--format", "json"]);
    // The exact request, passwords included (render masks them by default).
    let (render, _) = moodlec(dir, "render", &args, &["--format", "form", "--show-passwords"]);
    let mut problems = Vec::new();
    for (name, actual) in EXPECTED.iter().zip([validate, render, exit]) {
        let path = dir.join(name);
        if bless {
            std::fs::write(&path, &actual).expect("write expectation");
            continue;
        }
        match std::fs::read_to_string(&path) {
            Err(_) => problems.push(format!("{name} is missing (run with BLESS=1, then review)")),
            Ok(expected) if expected != actual => {
                problems.push(format!(
                    "{name} differs, {}",
                    first_difference(&expected, &actual)
                ));
            }
            Ok(_) => {}
        }
    }
    problems
}

#[test]
fn records_match_their_golden_verdicts_and_requests() {
    let root = harness::repo_root().join("tests/golden/records");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("tests/golden/records exists")
        .map(|entry| entry.expect("folder entry").path())
        .filter(|path| path.is_dir())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 5,
        "expected a case per built-in template, found {}",
        cases.len()
    );
    let bless = harness::bless();
    let failures: Vec<String> = cases
        .iter()
        .flat_map(|dir| {
            let name = dir.file_name().unwrap_or_default().to_string_lossy().into_owned();
            check_case(dir, bless)
                .into_iter()
                .map(move |p| format!("  {name}: {p}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} problem(s) in tests/golden/records (BLESS=1 rewrites; review the diff):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
