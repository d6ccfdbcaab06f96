//! Golden tests of `moodlec check` on broken templates.
//!
//! Each folder of tests/golden/check/ holds a `template.moodle` with one kind
//! of mistake (or, in `multiple_errors`, several) and three expectations:
//! `expected.stderr` (human output, on stderr), `expected.json` (`--format
//! json`, one document on stdout) and `expected.span`, written by hand: one
//! `CODE LINE:COL TEXT` line per diagnostic, TEXT being the exact source the
//! primary span covers. The first two are regenerated with `BLESS=1 cargo
//! test --test it golden::`; the spans never are.

use std::path::{Path, PathBuf};

use crate::harness::{self, Moodlec};

/// Run `moodlec check template.moodle [extra]` in `dir`: (the output of the
/// format, exit code). Human text is on stderr and nothing on stdout; a
/// machine format is on stdout, and only the summary line on stderr.
fn check(dir: &Path, extra: &[&str]) -> (String, Option<i32>) {
    let output = Moodlec::new(["check", "template.moodle"])
        .args(extra)
        .current_dir(dir)
        .output();
    if extra.is_empty() {
        assert!(output.stdout.is_empty(), "human output on stdout: {output:#?}");
        (output.stderr, output.code)
    } else {
        assert!(
            output.stderr.starts_with("checked 1 file(s), ") && output.stderr.lines().count() == 1,
            "machine output on stderr: {output:#?}"
        );
        (output.stdout, output.code)
    }
}

/// Compare the JSON diagnostics with the hand-written `expected.span` lines.
fn check_spans(source: &str, json: &str, expected: &str) -> Result<(), String> {
    let document: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("not one JSON document: {e}\n{json}"))?;
    if document["version"] != 1 || document["command"] != "check" {
        return Err(format!("not a version 1 document of check: {json}"));
    }
    let diagnostics = document["diagnostics"]
        .as_array()
        .ok_or_else(|| format!("no diagnostics array: {json}"))?;
    // Every diagnostic is a template one, names its file, is located and says
    // how to fix the problem.
    for d in diagnostics {
        if d["file"] != "template.moodle"
            || d["family"] != "template"
            || d["message"].as_str().unwrap_or("").is_empty()
            || !d["span"].is_object()
            || !d["help"].is_string()
        {
            return Err(format!(
                "diagnostic without file, family, message, span or help: {d}"
            ));
        }
    }
    let actual: Vec<String> = diagnostics
        .iter()
        .map(|d| {
            let span = &d["span"];
            let (start, end) = (
                span["start"].as_u64().unwrap_or(0),
                span["end"].as_u64().unwrap_or(0),
            );
            let text = source
                .get(start as usize..end as usize)
                .unwrap_or("<span outside the file>");
            let code = d["code"].as_str().unwrap_or("");
            format!("{code} {}:{} {text}", span["line"], span["column"])
        })
        .collect();
    let expected: Vec<&str> = expected.lines().filter(|l| !l.trim().is_empty()).collect();
    if actual == expected {
        Ok(())
    } else {
        Err(format!(
            "spans differ\n  expected: {expected:#?}\n  actual:   {actual:#?}"
        ))
    }
}

fn run_case(dir: &Path, bless: bool) -> Result<(), String> {
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).map_err(|e| format!("{name}: {e}"));
    let source = read("template.moodle")?;
    let (human, human_code) = check(dir, &[]);
    let (json, json_code) = check(dir, &["--format", "json"]);
    if human_code != Some(2) || json_code != Some(2) {
        return Err(format!(
            "exit codes {human_code:?} / {json_code:?}, expected 2\n{human}"
        ));
    }
    if bless {
        std::fs::write(dir.join("expected.stderr"), &human).map_err(|e| e.to_string())?;
        std::fs::write(dir.join("expected.json"), &json).map_err(|e| e.to_string())?;
    }
    let mut problems = Vec::new();
    for (name, actual) in [("expected.stderr", &human), ("expected.json", &json)] {
        match read(name) {
            Ok(expected) if expected == *actual => {}
            Ok(expected) => problems.push(format!(
                "{name} differs\n--- expected\n{expected}--- actual\n{actual}"
            )),
            Err(e) => problems.push(format!("missing {e}")),
        }
    }
    match read("expected.span") {
        Ok(spans) => problems.extend(check_spans(&source, &json, &spans).err()),
        Err(e) => problems.push(format!("missing {e} (write it by hand: CODE LINE:COL TEXT)")),
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

#[test]
fn broken_templates_report_the_expected_diagnostics() {
    let root = harness::repo_root().join("tests/golden/check");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("tests/golden/check")
        .map(|entry| entry.expect("dir entry").path())
        .filter(|path| path.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 30, "only {} golden cases", cases.len());
    let bless = harness::bless();
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|dir| {
            let name = dir.file_name().unwrap_or_default().to_string_lossy().into_owned();
            run_case(dir, bless).err().map(|why| format!("== {name}\n{why}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} golden cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}
