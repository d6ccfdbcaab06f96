//! `moodlec validate` and `moodlec render` through the real binary: exit
//! codes, the three problem formats, stdin, `--max-errors`, the four render
//! formats, batching by course, and the token never being shown.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::harness::{self, Moodlec, Output};

/// A fresh folder for one test, holding `files` (name, content).
fn folder(test: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = harness::scratch(&format!("cli-records-{test}"));
    for (name, content) in files {
        std::fs::write(dir.join(name), content).expect("write a test file");
    }
    dir
}

/// `moodlec ARGS` in `dir`.
fn moodlec(dir: &Path, args: &[&str]) -> Output {
    Moodlec::new(args).current_dir(dir).output()
}

/// Enrolments: records 1, 2 and 4 are valid; 3 has courseid 0, 5 an unknown key.
const ENROLMENTS: &str = r#"{"userid":101,"courseid":7}
{"userid":102,"courseid":8,"timestart":"2026-09-01"}
{"userid":103,"courseid":0}
{"userid":104,"courseid":7,"roleid":3}
{"userid":105,"course":8}
"#;

const GOOD_ENROLMENTS: &str = "{\"userid\":101,\"courseid\":7}\n{\"userid\":102,\"courseid\":8}\n";

#[test]
fn validate_exits_0_when_all_records_are_valid_and_1_when_any_is_not() {
    let dir = folder(
        "exit-0-1",
        &[("good.ndjson", GOOD_ENROLMENTS), ("data.ndjson", ENROLMENTS)],
    );
    let good = moodlec(&dir, &["validate", "-t", "enrol_users", "good.ndjson"]);
    assert_eq!(good.code, Some(0), "{good:?}");
    assert!(
        good.stderr.contains("records read: 2, valid: 2, invalid: 0"),
        "{good:?}"
    );
    let bad = moodlec(&dir, &["validate", "-t", "enrol_users", "data.ndjson"]);
    assert_eq!(bad.code, Some(1), "{bad:?}");
    assert!(
        bad.stderr.contains("records read: 5, valid: 3, invalid: 2"),
        "{bad:?}"
    );
}

#[test]
fn a_bad_template_name_exits_2_with_a_suggestion() {
    let dir = folder("exit-2-template", &[("data.ndjson", GOOD_ENROLMENTS)]);
    for command in ["validate", "render"] {
        let out = moodlec(&dir, &[command, "-t", "enrol_user", "data.ndjson"]);
        assert_eq!(out.code, Some(2), "{command}: {out:?}");
        assert!(
            out.stderr.contains("no template named `enrol_user`"),
            "{command}: {out:?}"
        );
        assert!(
            out.stderr.contains("enrol_users"),
            "{command} should suggest enrol_users: {out:?}"
        );
        assert!(out.stdout.is_empty(), "{command} printed on stdout: {out:?}");
    }
}

#[test]
fn a_template_file_with_errors_or_a_bad_param_exits_2() {
    let broken =
        "template broken {\n  function core_user_create_users\n  wrap users\n  field age: integr\n}\n";
    let dir = folder(
        "exit-2-broken",
        &[("broken.moodle", broken), ("data.ndjson", GOOD_ENROLMENTS)],
    );
    let out = moodlec(&dir, &["validate", "-t", "broken.moodle", "data.ndjson"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("unknown type `integr`"), "{out:?}");
    let out = moodlec(
        &dir,
        &[
            "render",
            "-t",
            "enrol_users",
            "--set",
            "roleid=boss",
            "data.ndjson",
        ],
    );
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("boss"), "{out:?}");
}

#[test]
fn an_unreadable_data_file_exits_2() {
    let dir = folder("exit-2-file", &[("data.ndjson", GOOD_ENROLMENTS)]);
    std::fs::create_dir_all(dir.join("folder.ndjson")).expect("create a folder");
    for command in ["validate", "render"] {
        for file in ["missing.ndjson", "folder.ndjson"] {
            let out = moodlec(&dir, &[command, "-t", "enrol_users", file]);
            assert_eq!(out.code, Some(2), "{command} {file}: {out:?}");
            assert!(
                out.stderr.contains(&format!("cannot read {file}")),
                "{command} {file}: {out:?}"
            );
        }
    }
    // A missing second file stops validate too, even after a good first one.
    let out = moodlec(
        &dir,
        &["validate", "-t", "enrol_users", "data.ndjson", "missing.ndjson"],
    );
    assert_eq!(out.code, Some(2), "{out:?}");
}

#[test]
fn github_format_prints_one_annotation_per_problem_at_the_record_line() {
    let dir = folder("github", &[("data.ndjson", ENROLMENTS)]);
    let out = moodlec(
        &dir,
        &[
            "validate",
            "-t",
            "enrol_users",
            "data.ndjson",
            "--format",
            "github",
        ],
    );
    assert_eq!(out.code, Some(1), "{out:?}");
    // Annotations are the --format output: on stdout.
    let all = out.stdout.clone();
    assert!(!out.stderr.contains("::"), "{out:?}");
    let annotations: Vec<&str> = all.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(
        annotations.len(),
        3,
        "records 3 (courseid 0) and 5 (unknown key, missing courseid): {all}"
    );
    // Located at the offending value or key: line, column and, when the span
    // has width, its end (`{"userid":103,"courseid":0}`: the 0 is column 26).
    assert!(
        annotations[0].starts_with("::error file=data.ndjson,line=3,col=26,endLine=3,endColumn=27,")
            && annotations[0].contains("::record 3: "),
        "{}",
        annotations[0]
    );
    for line in &annotations[1..] {
        assert!(
            line.starts_with("::error file=data.ndjson,line=5,col=") && line.contains("::record 5: "),
            "{line}"
        );
    }
    // `{"userid":105,"course":8}`: the key `"course"` is columns 15 to 22.
    assert!(
        annotations.iter().any(|l| l
            .starts_with("::error file=data.ndjson,line=5,col=15,endLine=5,endColumn=23,")
            && l.contains("did you mean `courseid`?")),
        "{all}"
    );

    // In a JSON array the line is that of the offending value, not where the record starts.
    let array =
        "[\n  {\"userid\": 1, \"courseid\": 7},\n  {\n    \"userid\": 2,\n    \"courseid\": -7\n  }\n]\n";
    let dir = folder("github-array", &[("data.json", array)]);
    let out = moodlec(
        &dir,
        &["validate", "-t", "enrol_users", "data.json", "--format", "github"],
    );
    let all = out.stdout.clone();
    let annotation = all.lines().find(|l| l.starts_with("::")).expect("an annotation");
    // `    "courseid": -7` is line 5; the -7 is columns 17 and 18.
    assert!(
        annotation.starts_with("::error file=data.json,line=5,col=17,endLine=5,endColumn=19,")
            && annotation.contains("::record 2: "),
        "{all}"
    );
}

#[test]
fn json_format_prints_one_document_of_problems_and_a_summary() {
    let dir = folder("json", &[("data.ndjson", ENROLMENTS)]);
    let out = moodlec(
        &dir,
        &["validate", "-t", "enrol_users", "data.ndjson", "--format", "json"],
    );
    assert_eq!(out.code, Some(1), "{out:?}");
    let report = harness::report(&out);
    assert_eq!(report["command"], "validate", "{}", out.stdout);
    assert_eq!(
        report["summary"],
        serde_json::json!({
            "records": 5, "valid": 3, "invalid": 2,
            "errors": 3, "warnings": 0, "not_shown": 0, "files": 1, "ok": false
        }),
        "{}",
        out.stdout
    );
    let problems = harness::diagnostics(&out);
    assert_eq!(problems.len(), 3, "{}", out.stdout);
    for problem in &problems {
        assert_eq!(problem["file"], "data.ndjson", "{problem}");
        assert_eq!(problem["family"], "record", "{problem}");
        assert!(
            problem["record"].is_u64() && problem["span"]["line"].is_u64(),
            "{problem}"
        );
        assert!(
            problem["code"].is_string() && problem["message"].is_string(),
            "{problem}"
        );
    }
    let records: Vec<u64> = problems.iter().filter_map(|p| p["record"].as_u64()).collect();
    assert_eq!(records, [3, 5, 5]);
    let codes: Vec<&str> = problems.iter().filter_map(|p| p["code"].as_str()).collect();
    assert_eq!(codes, ["constraint", "unknown_key", "missing_required"]);
    // Nothing else reaches stdout (the whole of it parses as one document);
    // stderr has the human summary line only.
    assert_eq!(out.stderr, "records read: 5, valid: 3, invalid: 2\n", "{out:?}");
}

#[test]
fn max_errors_limits_what_is_printed_but_not_what_is_counted() {
    let dir = folder("max-errors", &[("data.ndjson", ENROLMENTS)]);
    let human = moodlec(
        &dir,
        &[
            "validate",
            "-t",
            "enrol_users",
            "data.ndjson",
            "--max-errors",
            "1",
        ],
    );
    assert_eq!(human.code, Some(1), "{human:?}");
    assert_eq!(human.stderr.matches("× record").count(), 1, "{}", human.stderr);
    assert!(
        human
            .stderr
            .contains("2 more problem(s) not shown (--max-errors)"),
        "{}",
        human.stderr
    );
    assert!(
        human.stderr.contains("records read: 5, valid: 3, invalid: 2"),
        "{}",
        human.stderr
    );
    let json = moodlec(
        &dir,
        &[
            "validate",
            "-t",
            "enrol_users",
            "data.ndjson",
            "--max-errors",
            "1",
            "--format",
            "json",
        ],
    );
    let problems = harness::diagnostics(&json);
    assert_eq!(problems.len(), 1, "one problem shown: {}", json.stdout);
    assert_eq!(problems[0]["record"], 3, "{}", json.stdout);
    let summary = harness::summary(&json);
    assert_eq!(summary["invalid"], 2, "{}", json.stdout);
    assert_eq!(summary["errors"], 3, "all are counted: {}", json.stdout);
    assert_eq!(summary["not_shown"], 2, "{}", json.stdout);
    let github = moodlec(
        &dir,
        &[
            "validate",
            "-t",
            "enrol_users",
            "data.ndjson",
            "--max-errors",
            "1",
            "--format",
            "github",
        ],
    );
    let annotations: Vec<&str> = github.stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(annotations.len(), 2, "one problem and a notice: {github:?}");
    assert!(
        annotations[0].starts_with("::error file=data.ndjson,line=3,"),
        "{github:?}"
    );
    assert!(
        annotations[1].starts_with("::notice ")
            && annotations[1].ends_with("::2 more problem(s) not shown (--max-errors)"),
        "{github:?}"
    );
}

#[test]
fn stdin_is_read_with_a_dash_and_an_input_format() {
    let dir = folder("stdin", &[]);
    let out = Moodlec::new([
        "validate",
        "-t",
        "enrol_users",
        "-",
        "--input-format",
        "ndjson",
        "--format",
        "json",
    ])
    .current_dir(&dir)
    .stdin(ENROLMENTS)
    .output();
    assert_eq!(out.code, Some(1), "{out:?}");
    let summary = harness::summary(&out);
    assert_eq!(
        (&summary["records"], &summary["valid"], &summary["invalid"]),
        (
            &serde_json::json!(5),
            &serde_json::json!(3),
            &serde_json::json!(2)
        ),
        "{out:?}"
    );
    let render = Moodlec::new(["render", "-t", "enrol_users", "-", "--input-format", "ndjson"])
        .current_dir(&dir)
        .stdin(GOOD_ENROLMENTS)
        .output();
    assert_eq!(render.code, Some(0), "{render:?}");
    assert_eq!(
        render.stdout.lines().count(),
        2,
        "one request per course: {render:?}"
    );
    // CSV from stdin too.
    let csv = "userid,courseid\n101,7\n102,x\n";
    let out = Moodlec::new(["validate", "-t", "enrol_users", "-", "--input-format", "csv"])
        .current_dir(&dir)
        .stdin(csv)
        .output();
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr.contains("records read: 2, valid: 1, invalid: 1"),
        "{out:?}"
    );
}

#[test]
fn curl_output_reads_the_token_from_the_environment_variable_only() {
    let dir = folder("curl", &[("data.ndjson", ENROLMENTS)]);
    let out = moodlec(
        &dir,
        &["render", "-t", "enrol_users", "data.ndjson", "--format", "curl"],
    );
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stdout.contains("${MOODLE_TOKEN"), "{}", out.stdout);
    let uses: Vec<&str> = out
        .stdout
        .match_indices("wstoken=")
        .map(|(at, _)| &out.stdout[at..])
        .collect();
    assert_eq!(
        uses.len(),
        2,
        "one token per request (courses 7 and 8): {}",
        out.stdout
    );
    for rest in uses {
        assert!(
            rest.starts_with("wstoken=${MOODLE_TOKEN"),
            "token not from the environment: {rest}"
        );
    }
    assert!(!out.stdout.contains("REDACTED"), "{}", out.stdout);
}

#[test]
fn http_output_has_a_correct_content_length_host_and_path() {
    let users = "{\"username\":\"zoe.muller\",\"firstname\":\"Zoë\",\"lastname\":\"Müller\",\"email\":\"zoe+moodle@example.de\",\"createpassword\":1}\n\
                 {\"username\":\"jose.garcia\",\"firstname\":\"José\",\"lastname\":\"García\",\"email\":\"jose@example.es\",\"password\":\"Sécurité-2026\"}\n";
    let dir = folder("http", &[("users.ndjson", users)]);
    let out = moodlec(
        &dir,
        &[
            "render",
            "-t",
            "create_users",
            "users.ndjson",
            "--format",
            "http",
            "--url",
            "https://school.example/moodle/",
        ],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    let (head, rest) = out
        .stdout
        .split_once("\r\n\r\n")
        .expect("headers end with a blank line");
    let mut lines = head.split("\r\n");
    assert_eq!(
        lines.next(),
        Some("POST /moodle/webservice/rest/server.php HTTP/1.1"),
        "{head}"
    );
    let headers: Vec<(&str, &str)> = lines.filter_map(|l| l.split_once(": ")).collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    };
    assert_eq!(header("Host"), Some("school.example"), "{head}");
    assert_eq!(
        header("Content-Type"),
        Some("application/x-www-form-urlencoded"),
        "{head}"
    );
    let body = rest.strip_suffix('\n').unwrap_or(rest);
    assert!(!body.contains('\n'), "one request expected: {rest}");
    let length: usize = header("Content-Length")
        .expect("Content-Length")
        .parse()
        .expect("a number");
    assert_eq!(
        length,
        body.len(),
        "Content-Length must count the body's bytes: {body}"
    );
    assert!(
        body.starts_with("wstoken=REDACTED&wsfunction=core_user_create_users&"),
        "{body}"
    );
    assert!(
        body.contains("zoe%2Bmoodle%40example.de"),
        "a + in a value must be sent as %2B: {body}"
    );
}

#[test]
fn render_exits_1_on_invalid_records_but_prints_the_valid_batches() {
    let dir = folder("render-partial", &[("data.ndjson", ENROLMENTS)]);
    let out = moodlec(&dir, &["render", "-t", "enrol_users", "data.ndjson"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert_eq!(
        out.stdout,
        "wstoken=REDACTED&wsfunction=enrol_manual_enrol_users&moodlewsrestformat=json\
         &enrolments[0][roleid]=5&enrolments[0][userid]=101&enrolments[0][courseid]=7\
         &enrolments[1][roleid]=3&enrolments[1][userid]=104&enrolments[1][courseid]=7\n\
         wstoken=REDACTED&wsfunction=enrol_manual_enrol_users&moodlewsrestformat=json\
         &enrolments[0][roleid]=5&enrolments[0][userid]=102&enrolments[0][courseid]=8\
         &enrolments[0][timestart]=1788220800\n"
    );
    assert!(
        out.stderr.contains("record 3 (line 3)") && out.stderr.contains("record 5 (line 5)"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("records read: 5, valid: 3, invalid: 2"),
        "{}",
        out.stderr
    );
}

#[test]
fn enrolments_are_batched_per_course_and_split_at_100_records() {
    // 250 records for course 7 and 130 for course 8, interleaved, then 5 for course 9.
    let mut data = String::new();
    let mut expected: Vec<(u64, u64)> = Vec::new(); // (record number, course)
    for n in 1..=385u64 {
        let course = match n {
            1..=260 if n % 2 == 0 => 8,
            1..=380 => 7,
            _ => 9,
        };
        data.push_str(&format!("{{\"userid\":{},\"courseid\":{course}}}\n", 1000 + n));
        expected.push((n, course));
    }
    let count = |course: u64| expected.iter().filter(|(_, c)| *c == course).count();
    assert_eq!((count(7), count(8), count(9)), (250, 130, 5), "test data");
    let dir = folder("batching", &[("data.ndjson", &data)]);

    let out = moodlec(
        &dir,
        &["render", "-t", "enrol_users", "data.ndjson", "--format", "json"],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let mut sent = BTreeSet::new();
    let mut sizes: Vec<(u64, usize)> = Vec::new();
    for line in out.stdout.lines() {
        let batch: serde_json::Value = serde_json::from_str(line).expect("a JSON batch");
        let enrolments = batch["params"]["enrolments"].as_array().expect("enrolments");
        let courses: BTreeSet<&str> = enrolments.iter().filter_map(|e| e["courseid"].as_str()).collect();
        assert_eq!(courses.len(), 1, "a request mixes courses {courses:?}");
        let records: Vec<u64> = batch["records"]
            .as_array()
            .expect("records")
            .iter()
            .filter_map(|r| r.as_u64())
            .collect();
        assert!(
            records.windows(2).all(|w| w[0] < w[1]),
            "records out of input order: {records:?}"
        );
        assert_eq!(records.len(), enrolments.len());
        let course: u64 = courses
            .iter()
            .next()
            .and_then(|c| c.parse().ok())
            .expect("courseid");
        for record in &records {
            assert_eq!(
                expected[usize::try_from(*record - 1).expect("index")].1,
                course,
                "record {record}"
            );
        }
        sent.extend(records);
        sizes.push((course, enrolments.len()));
    }
    assert_eq!(sent.len(), 385, "every record is sent exactly once");
    let per_course = |course: u64| -> Vec<usize> {
        sizes
            .iter()
            .filter(|(c, _)| *c == course)
            .map(|(_, n)| *n)
            .collect()
    };
    assert_eq!(per_course(7), [100, 100, 50]);
    assert_eq!(per_course(8), [100, 30]);
    assert_eq!(per_course(9), [5]);

    // The form bodies say the same: one courseid value per request.
    let form = moodlec(&dir, &["render", "-t", "enrol_users", "data.ndjson"]);
    assert_eq!(form.stdout.lines().count(), 6, "{}", form.stderr);
    for body in form.stdout.lines() {
        let courses: BTreeSet<&str> = body
            .split('&')
            .filter_map(|pair| pair.split_once("[courseid]=").map(|(_, v)| v))
            .collect();
        assert_eq!(courses.len(), 1, "{body}");
        assert!(body.matches("[userid]=").count() <= 100, "{body}");
    }
}

#[test]
fn a_token_in_the_environment_never_appears_in_any_output() {
    let token = "s3cr3t";
    let dir = folder("token", &[("data.ndjson", ENROLMENTS)]);
    let mut runs = Vec::new();
    for format in ["human", "json", "github"] {
        runs.push(vec![
            "validate",
            "-t",
            "enrol_users",
            "data.ndjson",
            "--format",
            format,
        ]);
    }
    for format in ["form", "json", "curl", "http"] {
        runs.push(vec![
            "render",
            "-t",
            "enrol_users",
            "data.ndjson",
            "--format",
            format,
        ]);
    }
    for args in runs {
        let out = Moodlec::new(&args)
            .current_dir(&dir)
            .token(token)
            .env("MOODLE_URL", "https://moodle.example.edu")
            .output();
        assert!(matches!(out.code, Some(0 | 1)), "{args:?}: {out:?}");
        assert!(
            !out.all().contains(token),
            "{args:?} shows the token: {}",
            out.all()
        );
        if args[0] == "render" && args.contains(&"http") {
            assert!(
                out.stdout.contains("Host: moodle.example.edu"),
                "MOODLE_URL is used: {}",
                out.stdout
            );
        }
    }
}

/// With `--allow-unknown`, unknown keys are warnings (the record stays
/// valid and the run exits 0), shown as `::warning` annotations.
#[test]
fn allowed_unknown_keys_are_github_warnings_not_errors() {
    let data = "{\"userid\":101,\"courseid\":7,\"cohort\":\"2026\"}\n";
    let dir = folder("allow-unknown", &[("data.ndjson", data)]);
    let out = moodlec(
        &dir,
        &[
            "validate",
            "-t",
            "enrol_users",
            "data.ndjson",
            "--allow-unknown",
            "--format",
            "github",
        ],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    let all = out.all();
    let annotation = all
        .lines()
        .find(|l| l.starts_with("::"))
        .expect("an annotation for `cohort`");
    assert!(annotation.starts_with("::warning "), "{annotation}");
}

/// Users Moodle accepts, each with a value that is probably wrong: a country
/// not in Moodle's list (record 1) and mailformat 2 (record 2).
const WARNED_USERS: &str = r#"{"username":"ann","firstname":"Ann","lastname":"Lee","email":"ann@example.org","password":"Sécurité-2026","country":"USA"}
{"username":"bob","firstname":"Bob","lastname":"Ray","email":"bob@example.org","password":"Sécurité-2026","mailformat":2}
"#;

#[test]
fn warnings_appear_in_every_format_and_are_counted_but_do_not_fail_without_strict() {
    let dir = folder("warnings", &[("users.ndjson", WARNED_USERS)]);
    let validate = |extra: &[&str]| {
        let mut args = vec!["validate", "-t", "create_users", "users.ndjson"];
        args.extend_from_slice(extra);
        moodlec(&dir, &args)
    };
    let human = validate(&[]);
    assert_eq!(human.code, Some(0), "{human:?}");
    assert!(
        human
            .stderr
            .contains("records read: 2, valid: 2, invalid: 0, warnings: 2"),
        "{human:?}"
    );
    assert!(human.stderr.contains("moodlec::unknown_country"), "{human:?}");
    assert!(human.stderr.contains("mailformat"), "{human:?}");

    let github = validate(&["--format", "github"]);
    assert_eq!(github.code, Some(0), "{github:?}");
    let annotations: Vec<&str> = github.stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(annotations.len(), 2, "{github:?}");
    assert!(
        annotations
            .iter()
            .all(|l| l.starts_with("::warning file=users.ndjson,")),
        "{annotations:?}"
    );

    let json = validate(&["--format", "json"]);
    assert_eq!(json.code, Some(0), "{json:?}");
    let problems = harness::diagnostics(&json);
    let severities: Vec<&str> = problems.iter().filter_map(|v| v["severity"].as_str()).collect();
    assert_eq!(severities, ["warning", "warning"], "{json:?}");
    assert_eq!(
        harness::summary(&json),
        serde_json::json!({
            "records": 2, "valid": 2, "invalid": 0,
            "errors": 0, "warnings": 2, "not_shown": 0, "files": 1, "ok": true
        }),
        "{json:?}"
    );
}

#[test]
fn strict_turns_warnings_into_failures_for_validate_and_run() {
    let dir = folder("strict", &[("users.ndjson", WARNED_USERS)]);
    let strict = moodlec(
        &dir,
        &[
            "validate",
            "-t",
            "create_users",
            "users.ndjson",
            "--strict",
            "--format",
            "github",
        ],
    );
    assert_eq!(strict.code, Some(1), "{strict:?}");
    let annotations: Vec<&str> = strict.stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(annotations.len(), 2, "{strict:?}");
    assert!(
        annotations.iter().all(|l| l.starts_with("::error ")),
        "{annotations:?}"
    );
    assert!(
        strict.stderr.contains("records read: 2, valid: 0, invalid: 2"),
        "{strict:?}"
    );
    // run validates first: with --strict nothing is sent (no site is even needed to tell).
    let run = Moodlec::new([
        "run",
        "-t",
        "create_users",
        "users.ndjson",
        "--strict",
        "--url",
        "http://127.0.0.1:9",
    ])
    .env("MOODLE_TOKEN", "0123456789abcdef0123456789abcdef")
    .current_dir(&dir)
    .output();
    assert_ne!(run.code, Some(0), "{run:?}");
    assert!(
        run.stderr
            .contains("2 of 2 records are invalid: nothing was sent"),
        "{run:?}"
    );
}

#[test]
fn csv_delimiters_are_given_or_told_from_the_header_and_tsv_is_tab_separated() {
    let semicolons = "userid;courseid;timestart\n101;7;2026-09-01\n102;0;\n";
    let pipes = "userid|courseid\n101|7\n";
    let dir = folder(
        "delimiters",
        &[
            ("export.csv", semicolons),
            ("export.tsv", "userid\tcourseid\n101\t7\n102\tx\n"),
            ("pipes.txt", pipes),
        ],
    );
    let detected = moodlec(
        &dir,
        &["validate", "-t", "enrol_users", "export.csv", "--format", "json"],
    );
    assert_eq!(detected.code, Some(1), "{detected:?}");
    let records: Vec<serde_json::Value> = harness::diagnostics(&detected)
        .iter()
        .map(|d| d["record"].clone())
        .collect();
    assert!(
        !records.is_empty() && records.iter().all(|r| r == 2),
        "problems of record 2 only: {detected:?}"
    );
    let summary = harness::summary(&detected);
    assert_eq!(
        (&summary["records"], &summary["valid"], &summary["invalid"]),
        (
            &serde_json::json!(2),
            &serde_json::json!(1),
            &serde_json::json!(1)
        ),
        "{detected:?}"
    );
    let tsv = moodlec(&dir, &["validate", "-t", "enrol_users", "export.tsv"]);
    assert!(
        tsv.stderr.contains("records read: 2, valid: 1, invalid: 1"),
        "{tsv:?}"
    );
    let given = moodlec(
        &dir,
        &[
            "validate",
            "-t",
            "enrol_users",
            "pipes.txt",
            "--input-format",
            "csv",
            "--delimiter",
            "|",
        ],
    );
    assert_eq!(given.code, Some(0), "{given:?}");
    // Without --delimiter a pipe file is one column named "userid|courseid": unknown.
    let guessed = moodlec(
        &dir,
        &[
            "validate",
            "-t",
            "enrol_users",
            "pipes.txt",
            "--input-format",
            "csv",
        ],
    );
    assert_eq!(guessed.code, Some(1), "{guessed:?}");
    let bad = moodlec(
        &dir,
        &["validate", "-t", "enrol_users", "pipes.txt", "--delimiter", ":"],
    );
    assert_eq!(bad.code, Some(2), "{bad:?}");
}

#[test]
fn a_map_reads_columns_of_any_name_and_fills_a_list_field() {
    let template = r#"template hr_users extends create_users {
  map email = "{{ row[\"Email Address\"] | lower }}"
  map customfields = "{{ [{'type': 'costcentre', 'value': row['Cost centre']}] | tojson }}"
  exclude "Badge No.", notes
}
"#;
    let csv = "username;firstname;lastname;Email Address;Cost centre;Badge No.;notes;createpassword\n\
               ann;Ann;Lee;Ann@Example.org;CC \"7\";77;hi;1\n";
    let dir = folder("any-name", &[("hr.moodle", template), ("staff.csv", csv)]);
    let out = moodlec(
        &dir,
        &["render", "-t", "hr.moodle", "staff.csv", "--format", "form"],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stdout.contains("users[0][email]=ann%40example.org"),
        "{out:?}"
    );
    assert!(
        out.stdout.contains(
            "users[0][customfields][0][type]=costcentre&users[0][customfields][0][value]=CC+%227%22"
        ),
        "{out:?}"
    );
    assert!(
        !out.stdout.contains("Badge") && !out.stdout.contains("notes"),
        "{out:?}"
    );
    // A misspelt column in the map: the real column is unknown, and the help names the map's spelling.
    let typo = template.replace("Email Address\\\"", "Emial Address\\\"");
    std::fs::write(dir.join("typo.moodle"), typo).expect("write");
    let out = moodlec(
        &dir,
        &["validate", "-t", "typo.moodle", "staff.csv", "--format", "json"],
    );
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stdout
            .contains("a `map` reads `Emial Address`, which no column matches"),
        "{out:?}"
    );
}
