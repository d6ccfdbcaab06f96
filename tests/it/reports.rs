//! The reports of issue 13: every format of `check` and `validate` on the
//! same bad inputs (template errors, record errors, a site that is down),
//! as golden files, each validated against its schema: the JSON against
//! docs/diagnostics.schema.json, SARIF against the OASIS SARIF 2.1.0
//! schema, JUnit read back with a JUnit parser.
//!
//! Inputs are in tests/golden/reports/inputs/; the expected outputs in
//! tests/golden/reports/CASE/expected.FORMAT. `BLESS=1` rewrites them.

use std::net::TcpListener;
use std::path::PathBuf;

use serde_json::Value;

use crate::harness::{self, scratch, Moodlec, Output};

const FORMATS: [&str; 6] = ["human", "json", "github", "junit", "sarif", "markdown"];

/// The passwords of tests/golden/reports/inputs/staff.csv: never in any output.
const PASSWORDS: [&str; 2] = ["Sup3r-secret!", "tiny9pw"];

fn golden() -> PathBuf {
    harness::repo_root().join("tests/golden/reports")
}

fn inputs() -> PathBuf {
    golden().join("inputs")
}

/// A port on 127.0.0.1 where nothing listens (bound, then let go).
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

/// The three cases: a name, the arguments, the exit code expected.
fn cases(port: u16) -> Vec<(&'static str, Vec<String>, i32)> {
    let args = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    vec![
        ("template_errors", args(&["check", "broken.moodle"]), 2),
        (
            "record_errors",
            args(&[
                "validate",
                "-t",
                "create_users",
                "staff.csv",
                "more.ndjson",
                "--allow-unknown",
            ]),
            1,
        ),
        (
            "site_down",
            vec![
                "validate".into(),
                "-t".into(),
                "enrol_users".into(),
                "enrolments.csv".into(),
                "--url".into(),
                format!("http://127.0.0.1:{port}"),
            ],
            3,
        ),
    ]
}

fn moodlec(args: &[String]) -> Moodlec {
    Moodlec::new(args)
        .current_dir(inputs())
        .token("reports-token-1234")
}

/// What a format prints: human text on stderr, the others on stdout.
fn printed(format: &str, out: &Output) -> String {
    if format == "human" {
        out.stderr.clone()
    } else {
        out.stdout.clone()
    }
}

/// Output made stable: the closed port, the version, the OS's words.
fn normalise(text: &str, port: u16) -> String {
    let text = text
        .replace(&format!("127.0.0.1:{port}"), "127.0.0.1:PORT")
        .replace(env!("CARGO_PKG_VERSION"), "VERSION");
    // Connection errors end with the OS's error number: " (os error 111)".
    let mut text = text;
    while let Some(at) = text.find(" (os error ") {
        let end = text[at..].find(')').map_or(text.len(), |e| at + e + 1);
        text.replace_range(at..end, "");
    }
    text
}

fn extension(format: &str) -> &'static str {
    match format {
        "human" => "human.txt",
        "json" => "json",
        "github" => "github.txt",
        "junit" => "junit.xml",
        "sarif" => "sarif.json",
        _ => "md",
    }
}

#[test]
fn every_format_of_every_case_matches_its_golden_file() {
    let port = closed_port();
    let mut problems = Vec::new();
    for (case, args, code) in cases(port) {
        for format in FORMATS {
            let mut args = args.clone();
            args.extend(["--format".to_owned(), format.to_owned()]);
            let out = moodlec(&args).output();
            if out.code != Some(code) {
                problems.push(format!(
                    "{case} {format}: exit {:?}, expected {code}\n{out:#?}",
                    out.code
                ));
                continue;
            }
            for password in PASSWORDS {
                assert!(
                    !out.all().contains(password),
                    "{case} {format} shows a password\n{out:#?}"
                );
            }
            let actual = normalise(&printed(format, &out), port);
            let path = golden()
                .join(case)
                .join(format!("expected.{}", extension(format)));
            if harness::bless() {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, &actual).unwrap();
                continue;
            }
            match std::fs::read_to_string(&path) {
                Ok(expected) if expected == actual => {}
                Ok(expected) => problems.push(format!(
                    "{} differs\n--- expected\n{expected}\n--- actual\n{actual}",
                    path.display()
                )),
                Err(e) => problems.push(format!("{}: {e} (BLESS=1 writes it)", path.display())),
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

fn json_of(args: &[String], format: &str) -> (Value, Output) {
    let mut args = args.to_vec();
    args.extend(["--format".to_owned(), format.to_owned()]);
    let out = moodlec(&args).output();
    let value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{format} output is not one JSON document: {e}\n{out:#?}"));
    (value, out)
}

#[test]
fn json_output_follows_the_documented_schema_and_has_one_shape_for_every_case() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(harness::repo_root().join("docs/diagnostics.schema.json")).unwrap(),
    )
    .unwrap();
    jsonschema::meta::validate(&schema).expect("the schema conforms to the meta-schema");
    let validator = jsonschema::draft202012::options().build(&schema).expect("schema");
    let mut shapes = Vec::new();
    for (case, args, _) in cases(closed_port()) {
        let (document, out) = json_of(&args, "json");
        let errors: Vec<String> = validator
            .iter_errors(&document)
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect();
        assert!(errors.is_empty(), "{case}: {errors:#?}\n{out:#?}");
        let diagnostics = document["diagnostics"].as_array().unwrap();
        assert!(!diagnostics.is_empty(), "{case}: no diagnostics\n{out:#?}");
        assert_eq!(document["summary"]["ok"], false, "{case}");
        let keys: Vec<&String> = document.as_object().unwrap().keys().collect();
        shapes.push((case, keys.iter().map(|k| (*k).clone()).collect::<Vec<_>>()));
    }
    // check, validate with record errors and validate with the site down: one shape.
    assert!(shapes.windows(2).all(|w| w[0].1 == w[1].1), "{shapes:#?}");
}

#[test]
fn sarif_output_validates_against_the_sarif_2_1_0_schema_and_locates_results() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(harness::repo_root().join("tests/schemas/sarif-schema-2.1.0.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::draft7::options()
        .build(&schema)
        .expect("SARIF schema");
    for (case, args, _) in cases(closed_port()) {
        let (sarif, out) = json_of(&args, "sarif");
        let errors: Vec<String> = validator
            .iter_errors(&sarif)
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect();
        assert!(errors.is_empty(), "{case}: {errors:#?}\n{}", out.stdout);
        let (json, _) = json_of(&args, "json");
        let run = &sarif["runs"][0];
        let results = run["results"].as_array().unwrap();
        let diagnostics = json["diagnostics"].as_array().unwrap();
        assert_eq!(
            results.len(),
            diagnostics.len(),
            "{case}: one result per diagnostic"
        );
        for (result, diagnostic) in results.iter().zip(diagnostics) {
            assert_eq!(result["ruleId"], diagnostic["code"], "{case}");
            let rule = &run["tool"]["driver"]["rules"][result["ruleIndex"].as_u64().unwrap() as usize];
            assert_eq!(
                rule["id"], result["ruleId"],
                "{case}: ruleIndex points at its rule"
            );
            match diagnostic["file"].as_str() {
                Some(file) => {
                    let physical = &result["locations"][0]["physicalLocation"];
                    assert_eq!(physical["artifactLocation"]["uri"], file, "{case}");
                    assert_eq!(
                        physical["region"]["startLine"], diagnostic["span"]["line"],
                        "{case}"
                    );
                    assert_eq!(
                        physical["region"]["startColumn"], diagnostic["span"]["column"],
                        "{case}"
                    );
                }
                None => assert!(result.get("locations").is_none(), "{case}"),
            }
        }
        let successful = run["invocations"][0]["executionSuccessful"].as_bool().unwrap();
        assert_eq!(successful, case != "site_down", "{case}");
    }
}

#[test]
fn junit_output_reads_back_with_a_junit_parser_and_counts_what_json_counts() {
    for (case, args, _) in cases(closed_port()) {
        let mut junit_args = args.clone();
        junit_args.extend(["--format".to_owned(), "junit".to_owned()]);
        let out = moodlec(&junit_args).output();
        let suites = junit_parser::from_reader(std::io::Cursor::new(out.stdout.as_bytes()))
            .unwrap_or_else(|e| panic!("{case}: JUnit parser refuses it: {e}\n{}", out.stdout));
        let (json, _) = json_of(&args, "json");
        let cases_of = || suites.suites.iter().flat_map(|s| &s.cases);
        assert_eq!(suites.tests, cases_of().count() as u64, "{case}");
        for suite in &suites.suites {
            assert_eq!(suite.tests, suite.cases.len() as u64, "{case}: {}", suite.name);
            let failing = suite.cases.iter().filter(|c| c.status.is_failure()).count() as u64;
            assert_eq!(suite.failures, failing, "{case}: {}", suite.name);
            assert!(suite
                .cases
                .iter()
                .all(|c| c.classname.as_deref() == Some(suite.name.as_str())));
        }
        let failed: Vec<&str> = cases_of()
            .filter(|c| !c.status.is_success())
            .map(|c| c.original_name.as_str())
            .collect();
        let errors = json["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["severity"] == "error");
        match case {
            // One failing testcase per record with an error.
            "record_errors" => {
                let mut records: Vec<(String, u64)> = errors
                    .map(|d| {
                        (
                            d["file"].as_str().unwrap().to_owned(),
                            d["record"].as_u64().unwrap(),
                        )
                    })
                    .collect();
                records.dedup();
                assert_eq!(failed.len(), records.len(), "{case}: {failed:?} vs {records:?}");
                let invalid = json["summary"]["invalid"].as_u64().unwrap();
                assert_eq!(failed.len() as u64, invalid, "{case}");
                // Valid records are a passing testcase each when they have a
                // warning, the others one passing "N other valid record(s)" per file.
                let valid = json["summary"]["valid"].as_u64().unwrap();
                let passing: u64 = cases_of()
                    .filter(|c| c.status.is_success())
                    .map(|c| match c.original_name.strip_suffix(" other valid record(s)") {
                        Some(n) => n.parse::<u64>().unwrap(),
                        None => 1,
                    })
                    .sum();
                assert_eq!(passing, valid, "{case}");
            }
            // One failing testcase per template with an error.
            "template_errors" => assert_eq!(failed, vec!["template hr_users", "template hr_enrol"], "{case}"),
            // What ended the command is an <error>.
            _ => {
                assert_eq!(suites.errors, 1, "{case}");
                assert!(cases_of().any(|c| c.status.is_error()), "{case}");
            }
        }
    }
}

#[test]
fn one_pass_writes_several_reports_each_equal_to_its_own_run() {
    let port = closed_port();
    let dir = scratch("reports-one-pass");
    for (case, args, code) in cases(port) {
        let file = |format: &str| dir.join(format!("{case}.{}", extension(format)));
        let mut all = args.clone();
        all.extend(["--format".to_owned(), "github".to_owned()]);
        for format in ["junit", "sarif", "json", "markdown", "human"] {
            all.push("--report".to_owned());
            all.push(format!("{format}={}", file(format).display()));
        }
        let out = moodlec(&all).output();
        assert_eq!(out.code, Some(code), "{case}\n{out:#?}");
        let alone = |format: &str| {
            let mut args = args.clone();
            args.extend(["--format".to_owned(), format.to_owned()]);
            printed(format, &moodlec(&args).output())
        };
        assert_eq!(out.stdout, alone("github"), "{case}: the main output");
        for format in ["junit", "sarif", "json", "markdown", "human"] {
            let written = std::fs::read_to_string(file(format)).unwrap();
            assert_eq!(written, alone(format), "{case}: --report {format}");
        }
    }
}

#[test]
fn output_file_gets_the_format_and_stdout_stays_empty() {
    let dir = scratch("reports-output-file");
    let report = dir.join("check.json");
    let out = moodlec(&[
        "check".into(),
        "broken.moodle".into(),
        "--format".into(),
        "json".into(),
        "-o".into(),
        report.display().to_string(),
    ])
    .output();
    out.code(2);
    assert_eq!(out.stdout, "", "{out:#?}");
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(written["command"], "check");
    assert_eq!(written["summary"]["errors"], 2);
}

#[test]
fn two_outputs_in_one_file_are_refused_before_any_is_written() {
    let dir = scratch("reports-shared-file");
    let file = dir.join("report.xml");
    let out = moodlec(&[
        "check".into(),
        "broken.moodle".into(),
        "--format".into(),
        "junit".into(),
        "-o".into(),
        file.display().to_string(),
        "--report".into(),
        format!("sarif={}", file.display()),
    ])
    .output();
    // Said in the format asked for, where it can be written: standard output.
    out.code(2)
        .stdout_has("is named for two outputs")
        .stdout_has("type=\"usage\"");
    assert!(!file.exists(), "nothing was written");
}

#[test]
fn a_report_file_that_cannot_be_created_stops_before_any_work() {
    let out = moodlec(&[
        "validate".into(),
        "-t".into(),
        "create_users".into(),
        "staff.csv".into(),
        "--report".into(),
        "junit=/nonexistent-dir/report.xml".into(),
    ])
    .output();
    out.code(2)
        .stderr_has("cannot create /nonexistent-dir/report.xml");
    assert!(!out.stderr.contains("record"), "no record was checked\n{out:#?}");
}

#[test]
fn the_step_summary_is_appended_to_when_github_says_where() {
    let dir = scratch("reports-step-summary");
    let summary = dir.join("summary.md");
    std::fs::write(&summary, "# Earlier step\n").unwrap();
    for case in cases(closed_port()).into_iter().take(2) {
        moodlec(&case.1).env("GITHUB_STEP_SUMMARY", &summary).output();
    }
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(text.starts_with("# Earlier step\n"), "{text}");
    assert!(text.contains("### ❌ moodlec check: 2 error(s)"), "{text}");
    assert!(text.contains("### ❌ moodlec validate:"), "{text}");
    assert!(text.contains("| `duplicate` |"), "{text}");
}

#[test]
fn max_errors_shows_n_and_counts_the_rest_in_every_format() {
    let args: Vec<String> = [
        "validate",
        "-t",
        "create_users",
        "staff.csv",
        "more.ndjson",
        "--allow-unknown",
        "--max-errors",
        "2",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let (all, _) = json_of(&args[..6], "json");
    let total = all["diagnostics"].as_array().unwrap().len() as u64;
    let (limited, _) = json_of(&args, "json");
    assert_eq!(limited["diagnostics"].as_array().unwrap().len(), 2);
    assert_eq!(limited["summary"]["not_shown"].as_u64().unwrap(), total - 2);
    assert_eq!(
        limited["summary"]["errors"], all["summary"]["errors"],
        "all are still counted"
    );
    let mut human = args.clone();
    human.extend(["--format".into(), "human".into()]);
    moodlec(&human)
        .output()
        .code(1)
        .stderr_has(&format!("{} more problem(s) not shown (--max-errors)", total - 2));
    let mut github = args;
    github.extend(["--format".into(), "github".into()]);
    moodlec(&github).output().stdout_has(&format!(
        "::notice title=moodlec::{} more problem(s) not shown",
        total - 2
    ));
}

#[test]
fn identical_warnings_are_folded_with_a_count_and_the_first_records() {
    let dir = scratch("reports-fold");
    let mut data = String::from("username,firstname,lastname,email,createpassword,nickname\n");
    for n in 0..2000 {
        data.push_str(&format!("user{n},U,N,u{n}@example.com,1,x\n"));
    }
    std::fs::write(dir.join("many.csv"), data).unwrap();
    let out = Moodlec::new([
        "validate",
        "-t",
        "create_users",
        "many.csv",
        "--allow-unknown",
        "--format",
        "json",
    ])
    .current_dir(&dir)
    .output();
    out.code(0);
    let document: Value = serde_json::from_str(&out.stdout).unwrap();
    let diagnostics = document["diagnostics"].as_array().unwrap();
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    assert_eq!(diagnostics[0]["repeated"]["count"], 2000);
    assert_eq!(
        diagnostics[0]["repeated"]["records"],
        serde_json::json!([1, 2, 3, 4, 5, 6])
    );
    assert_eq!(document["summary"]["warnings"], 2000);
    let human = Moodlec::new(["validate", "-t", "create_users", "many.csv", "--allow-unknown"])
        .current_dir(&dir)
        .output();
    human
        .code(0)
        .stderr_has("= the same in 1999 more records: 2, 3, 4, 5, 6, …");
    assert_eq!(
        human.stderr.matches("is not a field of").count(),
        1,
        "{}",
        human.stderr
    );
}

#[test]
fn a_duplicate_in_another_file_names_that_file_in_every_format() {
    let args: Vec<String> = [
        "validate",
        "-t",
        "create_users",
        "staff.csv",
        "more.ndjson",
        "--allow-unknown",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let (json, _) = json_of(&args, "json");
    let duplicate = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "duplicate")
        .expect("a duplicate")
        .clone();
    assert_eq!(duplicate["file"], "more.ndjson");
    assert_eq!(
        duplicate["related"],
        serde_json::json!({ "file": "staff.csv", "record": 1 })
    );
    assert!(duplicate["message"]
        .as_str()
        .unwrap()
        .ends_with("record 1 of staff.csv"));
}

#[test]
fn the_readme_lists_every_code_with_its_meaning() {
    let readme = std::fs::read_to_string(harness::repo_root().join("README.md")).unwrap();
    let missing: Vec<String> = moodlec::diagnostic::Code::ALL
        .iter()
        .map(|code| format!("| `{code}` | {} | {} |", code.family().as_str(), code.summary()))
        .filter(|row| !readme.contains(row.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "README rows missing or out of date:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_schema_names_every_code() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(harness::repo_root().join("docs/diagnostics.schema.json")).unwrap(),
    )
    .unwrap();
    let listed: Vec<&str> = schema["$defs"]["diagnostic"]["properties"]["code"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let codes: Vec<&str> = moodlec::diagnostic::Code::ALL
        .iter()
        .map(|c| c.as_str())
        .collect();
    assert_eq!(listed, codes);
}
