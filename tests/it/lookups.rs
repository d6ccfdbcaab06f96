//! Lookups (`lookup userid = user by email from "..."`) end to end: the real
//! binary against the Moodle simulator, for `validate --url`, `run`, the
//! offline paths, and the hr-enrolments example with golden outputs
//! (examples/hr-enrolments/expected/; `BLESS=1 cargo test --test it
//! lookups::the_hr_enrolments_example` rewrites them).

use std::path::{Path, PathBuf};

use crate::harness::{self, Moodlec, Output};
use crate::simulator::{Course, Service, Simulator, SiteConfig, Token, User, TOKEN};

/// Templates the tests use, put in each test's ./templates/.
const TEMPLATES: &str = r#"
template hr_enrol extends enrol_users "Enrolments by email and course code" {
  lookup userid = user by email from "{{ employee_email }}"
  lookup courseid = course by shortname from "{{ course_code }}"
}

template by_username extends enrol_users "Enrolments by username and course idnumber" {
  lookup userid = user by username from "{{ login }}"
  lookup courseid = course by idnumber from "{{ course }}"
}
"#;

const USERS_BY_FIELD: &str = "core_user_get_users_by_field";
const COURSES_BY_FIELD: &str = "core_course_get_courses_by_field";

/// A fresh folder for one test, holding the templates.
fn scratch(name: &str) -> PathBuf {
    let dir = harness::scratch(&format!("lookups-{name}"));
    std::fs::create_dir_all(dir.join("templates")).expect("templates folder");
    std::fs::write(dir.join("templates/test.moodle"), TEMPLATES).expect("templates");
    dir
}

/// `moodlec ARGS` in `dir`, with the simulator's token.
fn moodlec(dir: &Path, args: &[&str]) -> Output {
    Moodlec::new(args).current_dir(dir).token(TOKEN).output()
}

/// A site with users ana (3), ben (4), two accounts sharing sam's email (5,
/// 6), and courses SAFETY-101 (2) and GDPR-2025 (3).
fn site() -> SiteConfig {
    let mut config = SiteConfig {
        allow_accounts_same_email: true,
        ..SiteConfig::default()
    };
    config.users.extend([
        User::new(3, "ana.silva", "ana.silva@example.org"),
        User::new(4, "ben.okafor", "ben.okafor@example.org"),
        User::new(5, "sam.jones", "sam.jones@example.org"),
        User::new(6, "sjones", "sam.jones@example.org"),
    ]);
    config.courses.extend([
        Course::new(2, "SAFETY-101", 1).with_idnumber("S101"),
        Course::new(3, "GDPR-2025", 1).with_idnumber("G2025"),
    ]);
    config
}

fn write_calls(sim: &Simulator) -> Vec<String> {
    let reads = [USERS_BY_FIELD, COURSES_BY_FIELD, "core_webservice_get_site_info"];
    sim.calls()
        .into_iter()
        .filter_map(|c| c.function)
        .filter(|f| !reads.contains(&f.as_str()))
        .collect()
}

fn count_calls(sim: &Simulator, function: &str) -> usize {
    sim.calls()
        .iter()
        .filter(|c| c.function.as_deref() == Some(function))
        .count()
}

/// `validate --format json` problems, as (record, code, message).
fn problems(out: &Output) -> Vec<(u64, String, String)> {
    harness::diagnostics(out)
        .into_iter()
        .map(|v| {
            (
                v["record"].as_u64().unwrap_or(0),
                v["code"].as_str().unwrap_or_default().to_owned(),
                v["message"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn validate_json(dir: &Path, template: &str, data: &str, url: &str) -> Output {
    std::fs::write(dir.join("data.csv"), data).expect("data");
    moodlec(
        dir,
        &[
            "validate", "-t", template, "data.csv", "--url", url, "--format", "json",
        ],
    )
}

#[test]
fn a_hit_gives_the_ids_and_misses_are_clear_record_errors() {
    let sim = Simulator::start(site());
    let dir = scratch("hit-miss");
    let data = "employee_email,course_code\n\
                ana.silva@example.org,SAFETY-101\n\
                nobody@example.org,SAFETY-101\n\
                ben.okafor@example.org,NOPE-1\n";
    let out = validate_json(&dir, "hr_enrol", data, sim.url());
    assert_eq!(out.code, Some(1), "{out:?}");
    let found = problems(&out);
    assert_eq!(
        found,
        vec![
            (
                2,
                "lookup_failed".to_owned(),
                "no Moodle user with email nobody@example.org".to_owned()
            ),
            (
                3,
                "lookup_failed".to_owned(),
                "no Moodle course with shortname NOPE-1".to_owned()
            ),
        ],
        "{out:?}"
    );
    assert_eq!(harness::summary(&out)["valid"], 1, "{}", out.stdout);
    assert!(write_calls(&sim).is_empty());
}

#[test]
fn two_users_with_one_email_or_two_courses_with_one_idnumber_are_ambiguous() {
    let sim = Simulator::start(site());
    sim.with_state(|state| {
        let mut twin = state.courses[&3].clone();
        twin.id = 7;
        twin.shortname = "GDPR-2025-B".into();
        state.courses.insert(7, twin);
    });
    let dir = scratch("ambiguous");
    let out = validate_json(
        &dir,
        "hr_enrol",
        "employee_email,course_code\nsam.jones@example.org,SAFETY-101\n",
        sim.url(),
    );
    assert_eq!(out.code, Some(1), "{out:?}");
    assert_eq!(
        problems(&out)[0].2,
        "2 Moodle users have email sam.jones@example.org (ids 5, 6)"
    );
    let out = validate_json(&dir, "by_username", "login,course\nana.silva,G2025\n", sim.url());
    assert_eq!(out.code, Some(1), "{out:?}");
    assert_eq!(
        problems(&out)[0].2,
        "2 Moodle courses have idnumber G2025 (ids 3, 7)"
    );
}

#[test]
fn a_value_moodle_would_refuse_fails_its_record_not_the_batch() {
    let sim = Simulator::start(site());
    let dir = scratch("refused");
    let data = "login,course\nana.silva,S101\nBen.Okafor,S101\nben.okafor,S101\n";
    let out = validate_json(&dir, "by_username", data, sim.url());
    assert_eq!(out.code, Some(1), "{out:?}");
    let found = problems(&out);
    assert_eq!(found.len(), 1, "{out:?}");
    assert_eq!(found[0].0, 2);
    assert!(found[0].2.contains("must be lowercase"), "{}", found[0].2);
    // The two good usernames went in one call; the bad one was never sent.
    assert_eq!(count_calls(&sim, USERS_BY_FIELD), 1);
    assert_eq!(count_calls(&sim, COURSES_BY_FIELD), 1);
}

#[test]
fn an_empty_key_is_a_record_error() {
    let sim = Simulator::start(site());
    let dir = scratch("empty");
    let out = validate_json(
        &dir,
        "hr_enrol",
        "employee_email,course_code\n,SAFETY-101\n",
        sim.url(),
    );
    assert_eq!(out.code, Some(1), "{out:?}");
    assert_eq!(
        problems(&out),
        vec![(
            1,
            "lookup_failed".to_owned(),
            "`employee_email` is empty: cannot look up the user".to_owned()
        )]
    );
}

#[test]
fn ten_thousand_distinct_emails_take_one_call_per_hundred() {
    const USERS: i64 = 10_000;
    let sim = Simulator::start(site());
    sim.with_state(|state| {
        for id in 100..100 + USERS {
            let user = User::new(id, &format!("u{id}"), &format!("u{id}@example.org"));
            state.users.insert(id, user);
        }
    });
    let dir = scratch("many");
    // Every email twice: the second is served from the run's cache.
    let mut data = String::from("employee_email,course_code\n");
    for round in 0..2 {
        for id in 100..100 + USERS {
            let course = if round == 0 { "SAFETY-101" } else { "GDPR-2025" };
            data.push_str(&format!("u{id}@example.org,{course}\n"));
        }
    }
    let out = validate_json(&dir, "hr_enrol", &data, sim.url());
    assert_eq!(out.code, Some(0), "{}", &out.stderr);
    assert_eq!(harness::summary(&out)["valid"], 20000, "{}", out.stdout);
    let per_call = moodlec::site::find::USER_VALUES_PER_CALL as i64;
    let most = (USERS + per_call - 1) / per_call;
    assert!(count_calls(&sim, USERS_BY_FIELD) as i64 <= most);
    assert_eq!(count_calls(&sim, COURSES_BY_FIELD), 2);
    assert!(write_calls(&sim).is_empty());
}

#[test]
fn validate_url_flags_an_unknown_course_passes_a_known_one_and_writes_nothing() {
    let sim = Simulator::start(site());
    let dir = scratch("validate-url");
    let data = "employee_email,course_code\n\
                ana.silva@example.org,SAFETY-101\n\
                ana.silva@example.org,MISSING-9\n";
    std::fs::write(dir.join("data.csv"), data).expect("data");
    let out = moodlec(
        &dir,
        &["validate", "-t", "hr_enrol", "data.csv", "--url", sim.url()],
    );
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr.contains("no Moodle course with shortname MISSING-9"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("records read: 2, valid: 1, invalid: 1"),
        "{}",
        out.stderr
    );
    assert!(write_calls(&sim).is_empty(), "{:?}", sim.calls());
    assert!(sim.state().enrolments.is_empty());
}

#[test]
fn offline_validate_reports_lookup_fields_as_unchecked() {
    let dir = scratch("offline");
    std::fs::write(
        dir.join("data.csv"),
        "employee_email,course_code\nana.silva@example.org,SAFETY-101\n",
    )
    .expect("data");
    let out = moodlec(&dir, &["validate", "-t", "hr_enrol", "data.csv"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stderr
            .contains("userid: looked up from employee_email (user by email), unchecked without --url"),
        "{}",
        out.stderr
    );
    let out = moodlec(
        &dir,
        &["validate", "-t", "hr_enrol", "data.csv", "--format", "json"],
    );
    let summary = harness::summary(&out);
    assert_eq!(summary["unchecked"].as_array().map(Vec::len), Some(2), "{out:?}");
    let out = moodlec(&dir, &["render", "-t", "hr_enrol", "data.csv"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("validate --url"), "{}", out.stderr);
}

#[test]
fn run_enrols_with_the_resolved_ids() {
    let sim = Simulator::start(site());
    let dir = scratch("run");
    std::fs::write(
        dir.join("data.csv"),
        "employee_email,course_code\nana.silva@example.org,SAFETY-101\nben.okafor@example.org,GDPR-2025\n",
    )
    .expect("data");
    let out = moodlec(
        &dir,
        &["run", "-t", "hr_enrol", "data.csv", "--url", sim.url(), "--quiet"],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    let state = sim.state();
    assert!(state.enrolment(2, 3).is_some(), "{:?}", state.enrolments);
    assert!(state.enrolment(3, 4).is_some(), "{:?}", state.enrolments);
    assert_eq!(state.enrolments.len(), 2);
}

#[test]
fn run_needs_the_lookup_functions_in_the_service() {
    let mut config = site();
    config.services.push(Service::new(
        "enrol_only",
        &["core_webservice_get_site_info", "enrol_manual_enrol_users"],
    ));
    config
        .tokens
        .push(Token::new("fedcba9876543210fedcba9876543210", 2, "enrol_only"));
    let sim = Simulator::start(config);
    let dir = scratch("service");
    std::fs::write(
        dir.join("data.csv"),
        "employee_email,course_code\nana.silva@example.org,SAFETY-101\n",
    )
    .expect("data");
    std::fs::write(dir.join("token"), "fedcba9876543210fedcba9876543210").expect("token");
    let out = moodlec(
        &dir,
        &[
            "run",
            "-t",
            "hr_enrol",
            "data.csv",
            "--url",
            sim.url(),
            "--token-file",
            "token",
        ],
    );
    assert_eq!(out.code, Some(3), "{out:?}");
    assert!(out.stderr.contains(USERS_BY_FIELD), "{}", out.stderr);
    assert!(out.stderr.contains("Add functions"), "{}", out.stderr);
    assert!(write_calls(&sim).is_empty());
}

/// The `moodlec` lines of the example's README.
fn example_commands(readme: &str) -> Vec<String> {
    let mut in_sh = false;
    let mut commands = Vec::new();
    for line in readme.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            in_sh = !in_sh && trimmed == "```sh";
        } else if in_sh && trimmed.starts_with("moodlec ") {
            commands.push(trimmed["moodlec ".len()..].to_owned());
        }
    }
    commands
}

/// Output with the simulator's address and the timings made stable.
fn normalize(text: &str, url: &str) -> String {
    let text = text.replace(url, "http://moodle.test");
    text.lines()
        .map(|line| match line.find("elapsed: ") {
            Some(at) => format!("{}elapsed: <time>", &line[..at]),
            None => line.to_owned(),
        })
        .map(|line| line + "\n")
        .collect()
}

#[test]
fn the_hr_enrolments_example_runs_as_documented() {
    let example = harness::repo_root().join("examples/hr-enrolments");
    let readme = std::fs::read_to_string(example.join("README.md")).expect("README");
    let commands = example_commands(&readme);
    assert_eq!(commands.len(), 4, "{commands:?}");
    let dir = scratch("example");
    let copy = dir.join("examples/hr-enrolments");
    std::fs::create_dir_all(&copy).expect("example folder");
    for file in ["hr_enrol.moodle", "enrolments.csv"] {
        std::fs::copy(example.join(file), copy.join(file)).expect("copy example");
    }
    let sim = Simulator::start(site());
    let bless = harness::bless();
    let expected = example.join("expected");
    for (n, command) in commands.iter().enumerate() {
        let line = command.replace("https://moodle.example.edu", sim.url());
        let args: Vec<&str> = line.split_whitespace().collect();
        let out = moodlec(&dir, &args);
        let writes_before = write_calls(&sim).len();
        let stem = format!("{:02}-{}", n + 1, args[0]);
        let files = [
            ("out", normalize(&out.stdout, sim.url())),
            ("err", normalize(&out.stderr, sim.url())),
            ("code", format!("{}\n", out.code.unwrap_or(-1))),
        ];
        for (ext, actual) in files {
            let path = expected.join(format!("{stem}.{ext}"));
            if bless {
                std::fs::create_dir_all(&expected).expect("expected folder");
                std::fs::write(&path, &actual).expect("bless");
            } else {
                let want = std::fs::read_to_string(&path).unwrap_or_default();
                assert_eq!(actual, want, "{command}: {}", path.display());
            }
        }
        if args[0] == "validate" {
            assert_eq!(writes_before, 0, "validate wrote: {:?}", sim.calls());
        }
    }
    // The run enrolled the valid rows (1, 2, 3, 8) with the looked-up ids.
    let state = sim.state();
    let mut enrolled: Vec<(i64, i64)> = state.enrolments.keys().copied().collect();
    enrolled.sort_unstable();
    assert_eq!(enrolled, vec![(2, 3), (2, 4), (3, 3), (3, 4)]);
}
