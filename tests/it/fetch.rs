//! `moodlec fetch` end to end: the real binary and the built-in read
//! templates against the Moodle simulator of tests/it/simulator.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::harness::{self, Moodlec, Output};
use crate::simulator::{Course, Service, Simulator, SiteConfig, User, SERVICE, TOKEN};

/// A fresh folder for one test, with an empty ./templates/.
fn scratch(name: &str) -> PathBuf {
    let dir = harness::scratch(&format!("fetch-{name}"));
    std::fs::create_dir_all(dir.join("templates")).expect("templates folder");
    dir
}

/// `moodlec fetch ARGS --url SIM` in `dir`, with the simulator's token.
fn fetch(dir: &Path, sim: &Simulator, args: &[&str]) -> Output {
    Moodlec::new(["fetch"])
        .args(args)
        .args(["--url", sim.url()])
        .current_dir(dir)
        .token(TOKEN)
        .output()
}

fn ndjson(text: &str) -> Vec<Value> {
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("bad line {line:?}: {e}")))
        .collect()
}

fn calls_of(sim: &Simulator, function: &str) -> usize {
    sim.calls()
        .iter()
        .filter(|c| c.function.as_deref() == Some(function))
        .count()
}

#[test]
fn site_info_is_one_record_with_the_functions() {
    let sim = Simulator::start(SiteConfig::default());
    let dir = scratch("site-info");
    let out = fetch(&dir, &sim, &["-t", "site_info"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let records = ndjson(&out.stdout);
    assert_eq!(records.len(), 1, "{out:?}");
    assert_eq!(records[0]["username"], "admin");
    let functions = records[0]["functions"].as_array().expect("functions");
    assert!(functions
        .iter()
        .any(|f| f["name"] == "core_user_get_users_by_field"));
    assert!(out.stderr.contains("fetched 1 records"), "{}", out.stderr);
}

#[test]
fn users_by_field_puts_many_values_in_one_call_and_skips_unknown_ones() {
    let mut config = SiteConfig::default();
    for i in 0..250 {
        config
            .users
            .push(User::new(100 + i, &format!("u{i}"), &format!("u{i}@example.org")));
    }
    let sim = Simulator::start(config);
    let dir = scratch("users-by-field");
    let mut input = String::from("value\n");
    for i in 0..250 {
        input.push_str(&format!("u{i}@example.org\n"));
    }
    input.push_str("nobody@example.org\n");
    std::fs::write(dir.join("emails.csv"), input).unwrap();
    let out = fetch(
        &dir,
        &sim,
        &["-t", "users_by_field", "--param", "field=email", "emails.csv"],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    let records = ndjson(&out.stdout);
    assert_eq!(records.len(), 250, "an unknown email is absent, as in Moodle");
    assert_eq!(records[0]["email"], "u0@example.org");
    // 251 values, 100 per call; plus the preflight's site info.
    assert_eq!(calls_of(&sim, "core_user_get_users_by_field"), 3);
}

#[test]
fn csv_output_has_the_declared_columns_and_json_is_an_array() {
    let sim = Simulator::start(SiteConfig::default());
    let dir = scratch("formats");
    let out = fetch(
        &dir,
        &sim,
        &[
            "-t",
            "users_by_field",
            "--param",
            "field=username",
            "--param",
            "value=admin",
            "--format",
            "csv",
        ],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    let mut lines = out.stdout.lines();
    let header = lines.next().expect("a header");
    assert!(
        header.starts_with("id,username,firstname,lastname,fullname,email,"),
        "{header}"
    );
    let row = lines.next().expect("a row");
    assert!(row.starts_with("2,admin,"), "{row}");
    let out = fetch(
        &dir,
        &sim,
        &[
            "-t",
            "users_by_field",
            "--param",
            "field=username",
            "--param",
            "value=admin",
            "--format",
            "json",
            "-o",
            "admin.json",
        ],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("admin.json")).unwrap()).unwrap();
    assert_eq!(json.as_array().map(Vec::len), Some(1));
}

#[test]
fn a_write_template_or_a_bad_param_is_a_usage_error() {
    let sim = Simulator::start(SiteConfig::default());
    let dir = scratch("usage");
    let out = fetch(&dir, &sim, &["-t", "create_users"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("is a write template"), "{}", out.stderr);
    let out = fetch(
        &dir,
        &sim,
        &[
            "-t",
            "users_by_field",
            "--param",
            "field=phone",
            "--param",
            "value=1",
        ],
    );
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("phone"), "{}", out.stderr);
    assert_eq!(
        calls_of(&sim, "core_user_get_users_by_field"),
        0,
        "nothing was called"
    );
}

/// Two courses (2 BIO101, 3 CHEM101); students ana (both), ben (2), cleo
/// (3); teacher tom in both; grades in a quiz and a lab.
fn school() -> Simulator {
    let config = SiteConfig {
        courses: vec![
            Course::new(2, "BIO101", 1).with_fullname("Biology"),
            Course::new(3, "CHEM101", 1).with_fullname("Chemistry"),
        ],
        users: {
            let mut users = SiteConfig::default().users;
            users.push(
                User::new(10, "ana", "ana@example.org")
                    .with_name("Ana", "Silva")
                    .with_idnumber("S-001")
                    .with_field("phone1", "+254 700 000001")
                    .with_field("lang", "en"),
            );
            users.push(
                User::new(11, "ben", "ben@example.org")
                    .with_name("Ben", "Okoro")
                    .with_field("phone2", "+254 700 000002"),
            );
            users.push(User::new(12, "cleo", "cleo@example.org").with_name("Cleo", "Mwangi"));
            users.push(User::new(13, "tom", "tom@example.org").with_name("Tom", "Teacher"));
            users
        },
        ..SiteConfig::default()
    };
    let sim = Simulator::start(config);
    sim.with_state(|s| {
        for (course, user, role) in [
            (2, 10, 5),
            (2, 11, 5),
            (2, 13, 3),
            (3, 10, 5),
            (3, 12, 5),
            (3, 13, 3),
        ] {
            s.enrol(course, user, role);
        }
        s.set_grade(2, 10, Some("Quiz 1"), 80.0);
        s.set_grade(2, 11, Some("Quiz 1"), 65.0);
        s.set_grade(3, 10, Some("Lab"), 90.0);
        s.set_grade(3, 12, Some("Lab"), 72.5);
    });
    sim
}

#[test]
fn enrolled_users_carry_their_courseid_and_send_their_options() {
    let sim = school();
    let dir = scratch("enrolled");
    let out = fetch(&dir, &sim, &["-t", "enrolled_users", "--param", "courseid=2"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let records = ndjson(&out.stdout);
    let ids: Vec<&Value> = records.iter().map(|r| &r["id"]).collect();
    assert_eq!(ids, [10, 11, 13], "{out:?}");
    assert!(
        records.iter().all(|r| r["courseid"] == 2),
        "annotated with the input"
    );
    let out = fetch(
        &dir,
        &sim,
        &[
            "-t",
            "enrolled_users",
            "--param",
            "courseid=2",
            "--param",
            "sortby=lastname",
            "--param",
            "sortdirection=DESC",
        ],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    let names: Vec<String> = ndjson(&out.stdout)
        .iter()
        .map(|r| r["lastname"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(names, ["Teacher", "Silva", "Okoro"], "the options reached Moodle");
}

#[test]
fn an_input_file_makes_one_call_per_record_and_a_refused_call_fails_alone() {
    let sim = school();
    let dir = scratch("per-record");
    std::fs::write(dir.join("courses.csv"), "courseid\n2\n99\n3\n").unwrap();
    let out = fetch(&dir, &sim, &["-t", "enrolled_users", "courses.csv"]);
    assert_eq!(out.code, Some(1), "course 99 does not exist: {out:?}");
    assert!(out.stderr.contains("input record 2"), "{}", out.stderr);
    let courses: Vec<Value> = ndjson(&out.stdout)
        .iter()
        .map(|r| r["courseid"].clone())
        .collect();
    assert_eq!(courses, [2, 2, 2, 3, 3, 3], "in input order");
    assert_eq!(calls_of(&sim, "core_enrol_get_enrolled_users"), 3);
}

#[test]
fn courses_categories_and_courses_by_field_follow_moodle_shapes() {
    let sim = school();
    let dir = scratch("courses");
    let out = fetch(&dir, &sim, &["-t", "courses"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let ids: Vec<Value> = ndjson(&out.stdout).iter().map(|r| r["id"].clone()).collect();
    assert_eq!(ids, [1, 2, 3], "with the front page, as Moodle answers");
    let out = fetch(
        &dir,
        &sim,
        &[
            "-t",
            "courses_by_field",
            "--param",
            "field=shortname",
            "--param",
            "value=CHEM101",
        ],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    let found = ndjson(&out.stdout);
    assert_eq!(found.len(), 1, "{out:?}");
    assert_eq!(found[0]["id"], 3);
    assert_eq!(found[0]["fullname"], "Chemistry");
    let out = fetch(&dir, &sim, &["-t", "categories", "--param", "parent=0"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let categories = ndjson(&out.stdout);
    assert!(
        categories.iter().any(|c| c["id"] == 1 && c["depth"] == 1),
        "{out:?}"
    );
}

#[test]
fn grade_items_are_flattened_with_their_user() {
    let sim = school();
    let dir = scratch("grades");
    let out = fetch(&dir, &sim, &["-t", "grade_items", "--param", "courseid=2"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let items = ndjson(&out.stdout);
    let ana: Vec<&Value> = items.iter().filter(|i| i["userid"] == 10).collect();
    assert!(
        ana.iter()
            .all(|i| i["courseid"] == 2 && i["userfullname"] == "Ana Silva"),
        "{ana:?}"
    );
    let total = ana
        .iter()
        .find(|i| i["itemtype"] == "course")
        .expect("a course total");
    assert_eq!(total["graderaw"].as_f64(), Some(80.0), "{total}");
    assert!(ana.iter().any(|i| i["itemname"] == "Quiz 1"));
}

/// The moodle-to-commcare example, run as its README says, against its golden
/// output (`BLESS=1 cargo test --test it commcare` rewrites it).
#[test]
fn the_commcare_example_writes_its_golden_case_file() {
    let sim = school();
    let dir = scratch("commcare");
    let example = harness::repo_root().join("examples/moodle-to-commcare");
    std::fs::copy(
        example.join("templates/commcare.moodle"),
        dir.join("templates/commcare.moodle"),
    )
    .unwrap();
    std::fs::copy(example.join("courses.csv"), dir.join("courses.csv")).unwrap();
    let out = fetch(
        &dir,
        &sim,
        &[
            "-t",
            "commcare_cases",
            "courses.csv",
            "--format",
            "csv",
            "-o",
            "cases.csv",
        ],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    let cases = std::fs::read_to_string(dir.join("cases.csv")).unwrap();
    for text in [&out.stdout, &out.stderr, &cases] {
        assert!(!text.contains(TOKEN), "the token leaked: {text}");
    }
    let golden = example.join("expected/cases.csv");
    if harness::bless() {
        std::fs::write(&golden, &cases).unwrap();
    }
    assert_eq!(
        cases,
        std::fs::read_to_string(&golden).unwrap_or_default(),
        "BLESS=1 rewrites {}",
        golden.display()
    );
    // Enrichment in few calls: grade and course answers cached per course,
    // users_by_field per course with the students it has not seen.
    assert_eq!(calls_of(&sim, "core_enrol_get_enrolled_users"), 2);
    assert_eq!(calls_of(&sim, "gradereport_user_get_grade_items"), 2);
    assert_eq!(calls_of(&sim, "core_course_get_courses_by_field"), 2);
    assert_eq!(calls_of(&sim, "core_user_get_users_by_field"), 2);
}

#[test]
fn a_joined_function_missing_from_the_service_stops_before_fetching() {
    let config = SiteConfig {
        services: vec![Service::new(
            SERVICE,
            &[
                "core_webservice_get_site_info",
                "core_enrol_get_enrolled_users",
                "gradereport_user_get_grade_items",
            ],
        )],
        ..SiteConfig::default()
    };
    let sim = Simulator::start(config);
    let dir = scratch("join-missing");
    let example = harness::repo_root().join("examples/moodle-to-commcare");
    std::fs::copy(
        example.join("templates/commcare.moodle"),
        dir.join("templates/commcare.moodle"),
    )
    .unwrap();
    let out = fetch(&dir, &sim, &["-t", "commcare_cases", "--param", "courseid=2"]);
    assert_eq!(out.code, Some(3), "{out:?}");
    assert!(
        out.stderr
            .contains("does not include core_user_get_users_by_field"),
        "{}",
        out.stderr
    );
    assert_eq!(
        calls_of(&sim, "core_enrol_get_enrolled_users"),
        0,
        "nothing fetched"
    );
}

/// A site that echoes the token it was sent in every answer (as a site with
/// debugging on can, in an error's debuginfo or a value): what `fetch`
/// prints must never carry it. A bare HTTP server, because the simulator
/// never echoes the token.
#[test]
fn a_token_the_site_echoes_never_reaches_fetch_output() {
    let secret = "5ec2e75ec2e75ec2e75ec2e75ec2e7aa";
    let url = crate::fixtures::answering_server(|request| {
        let echoed = String::from_utf8_lossy(request)
            .split('&')
            .find_map(|pair| pair.strip_prefix("wstoken=").map(str::to_owned))
            .unwrap_or_default();
        let answer = serde_json::json!({
            "sitename": format!("site of {echoed}"), "username": echoed, "release": "4.5",
            "siteurl": "http://x", "userid": 2, "firstname": "a", "lastname": "b", "fullname": "a b",
            "lang": "en", "version": "2024100700",
            "functions": [{"name": "core_webservice_get_site_info", "version": "1"}],
        });
        ("application/json", answer.to_string())
    });
    let dir = scratch("echoed-token");
    let out = Moodlec::new(["fetch", "-t", "site_info", "--format", "json", "--url", &url])
        .current_dir(&dir)
        .token(secret)
        .output();
    assert!(out.stdout.contains("site of REDACTED"), "{}", out.all());
    assert!(!out.all().contains(secret), "the token leaked: {}", out.all());
}

/// `-o FILE` never replaces an existing file (nor what a symlink there points
/// to) unless `--force` says so; a new file is written as before.
#[test]
fn output_file_is_refused_when_it_exists_unless_forced() {
    let sim = Simulator::start(SiteConfig::default());
    let dir = scratch("output-exists");
    std::fs::write(dir.join("kept.ndjson"), "precious\n").unwrap();
    let out = fetch(&dir, &sim, &["-t", "site_info", "-o", "kept.ndjson"]);
    out.code(2).stderr_has("already exists").stderr_has("--force");
    assert_eq!(
        std::fs::read_to_string(dir.join("kept.ndjson")).unwrap(),
        "precious\n"
    );
    assert_eq!(sim.calls().len(), 0, "refused before any call");

    #[cfg(unix)]
    {
        std::fs::write(dir.join("target.txt"), "target\n").unwrap();
        std::os::unix::fs::symlink(dir.join("target.txt"), dir.join("link.ndjson")).unwrap();
        fetch(&dir, &sim, &["-t", "site_info", "-o", "link.ndjson"]).code(2);
        assert_eq!(
            std::fs::read_to_string(dir.join("target.txt")).unwrap(),
            "target\n"
        );
    }

    fetch(&dir, &sim, &["-t", "site_info", "-o", "kept.ndjson", "--force"]).code(0);
    let written = std::fs::read_to_string(dir.join("kept.ndjson")).unwrap();
    assert_eq!(ndjson(&written)[0]["username"], "admin");

    fetch(&dir, &sim, &["-t", "site_info", "-o", "new.ndjson"]).code(0);
    assert_eq!(
        ndjson(&std::fs::read_to_string(dir.join("new.ndjson")).unwrap()).len(),
        1
    );
}
