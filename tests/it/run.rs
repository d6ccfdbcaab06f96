//! `moodlec run` and `moodlec login` end to end: the real binary against the
//! Moodle simulator of tests/it/simulator, with faults, crashes and resumes.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use crate::fixtures::{self, assert_all_applied, results, users};
use crate::harness::{self, Moodlec, Output};
use crate::simulator::{
    role, Course, Fault, Faults, Outcome, Service, Simulator, SiteConfig, Token, User, ADMIN_PASSWORD, TOKEN,
};

/// Custom templates the tests use, put in each test's ./templates/.
const TEMPLATES: &str = r#"
template small_users extends create_users "create_users, 5 per call" {
  batch size 5
}

template tight_users extends create_users "create_users for a site with max_input_vars 200" {
  batch size 39 max_input_vars 200
}

template bare_users "create_users without a way to check a record after a timeout" {
  function core_user_create_users
  wrap users
  field username: username required
  field firstname: notags required
  field lastname: notags required
  field email: email required
  field password: password
  batch size 5
  returns list {
    field id: int required
    field username: username required
  }
}
"#;

/// A fresh folder for one test, holding the custom templates.
fn scratch(name: &str) -> PathBuf {
    let dir = harness::scratch(&format!("run-{name}"));
    std::fs::create_dir_all(dir.join("templates")).expect("templates folder");
    std::fs::write(dir.join("templates/test.moodle"), TEMPLATES).expect("templates");
    dir
}

/// `moodlec ARGS` in `dir`, with the simulator's token in MOODLE_TOKEN and
/// `dir/config` as XDG_CONFIG_HOME.
fn moodlec(dir: &Path, args: &[&str]) -> Moodlec {
    Moodlec::new(args)
        .current_dir(dir)
        .token(TOKEN)
        .config_home(dir.join("config"))
}

fn run(dir: &Path, args: &[&str]) -> Output {
    moodlec(dir, args).output()
}

fn status_counts(results: &BTreeMap<u64, Value>) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for result in results.values() {
        *counts
            .entry(result["status"].as_str().unwrap_or("?").to_owned())
            .or_insert(0) += 1;
    }
    counts
}

fn create_calls(sim: &Simulator) -> usize {
    sim.calls()
        .iter()
        .filter(|c| c.function.as_deref() == Some("core_user_create_users"))
        .count()
}

#[test]
fn bad_records_in_a_batch_are_isolated_by_bisection() {
    let sim = Simulator::start(SiteConfig {
        debug: true,
        users: {
            let mut users = SiteConfig::default().users;
            users.push(User::new(10, "u037", "someone@example.org"));
            users.push(User::new(11, "other", "u081@example.org"));
            users
        },
        ..SiteConfig::default()
    });
    let dir = scratch("bisection");
    std::fs::write(dir.join("users.ndjson"), users("u", 100)).unwrap();
    let out = run(
        &dir,
        &[
            "run",
            "-t",
            "create_users",
            "users.ndjson",
            "--url",
            sim.url(),
            "--results",
            "r.ndjson",
        ],
    );
    assert_eq!(out.code, Some(1), "{out:?}");
    let results = results(&dir.join("r.ndjson"));
    assert_eq!(
        status_counts(&results),
        BTreeMap::from([("applied".into(), 98), ("failed".into(), 2)])
    );
    let username = &results[&37]["error"];
    assert_eq!(username["errorcode"], "invalidparameter");
    assert!(
        username["debuginfo"]
            .as_str()
            .unwrap()
            .contains("Username already exists: u037"),
        "{username}"
    );
    let email = &results[&81]["error"];
    assert!(
        email["debuginfo"]
            .as_str()
            .unwrap()
            .contains("Email address already exists"),
        "{email}"
    );
    let state = sim.state();
    for (record, result) in &results {
        if result["status"] == "applied" {
            let user = state.user_by_username(&format!("u{record:03}")).expect("created");
            assert_eq!(result["id"], user.id);
        }
    }
    // One batch of 100, then halves down to each bad record: O(bad × log batch) calls.
    let calls = create_calls(&sim);
    assert!(calls <= 1 + 2 * 2 * 7, "{calls} calls");
    assert!(out.stderr.contains("applied: 98, failed: 2"), "{}", out.stderr);
}

#[test]
fn faults_on_a_fifth_of_the_calls_still_apply_every_record_once() {
    let sim = Simulator::start(SiteConfig::default());
    sim.set_faults(Faults {
        seed: 7,
        http_5xx_rate: 0.06,
        http_429_rate: 0.02,
        drop_before_apply_rate: 0.06,
        drop_after_apply_rate: 0.06,
        // On top of the drawn ones, one of each kind for sure (call 1 is the preflight).
        fail_calls: vec![
            (2, Fault::DropAfterApply),
            (4, Fault::Http503),
            (6, Fault::DropBeforeApply),
            (8, Fault::Http429),
            (10, Fault::Http502),
        ],
        ..Faults::default()
    });
    let dir = scratch("faults");
    std::fs::write(dir.join("users.ndjson"), users("f", 200)).unwrap();
    let out = run(
        &dir,
        &[
            "run",
            "-t",
            "small_users",
            "users.ndjson",
            "--url",
            sim.url(),
            "--results",
            "r.ndjson",
            "--concurrency",
            "4",
            "--retries",
            "8",
            "--retry-base-ms",
            "10",
        ],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    let results = results(&dir.join("r.ndjson"));
    assert_all_applied(&sim, &results, "f", 200);
    let faulted: Vec<Fault> = sim
        .calls()
        .iter()
        .filter_map(|c| match c.outcome {
            Outcome::Faulted { fault, .. } => Some(fault),
            _ => None,
        })
        .collect();
    assert!(faulted.len() >= 6, "faults were injected: {faulted:?}");
    assert!(faulted.contains(&Fault::DropAfterApply), "{faulted:?}");
    // No blind re-send: Moodle never refused a duplicate username.
    let refused = sim
        .calls()
        .iter()
        .filter(|c| matches!(c.outcome, Outcome::Rejected { .. }))
        .count();
    assert_eq!(refused, 0, "{:?}", sim.calls());
}

#[test]
fn a_site_that_goes_down_stops_the_run_and_resume_finishes_it() {
    let sim = Simulator::start(SiteConfig::default());
    // Calls 1-3 work (preflight and two batches), then the proxy answers 503 for a while.
    let outage: Vec<(usize, Fault)> = (4..=40).map(|call| (call, Fault::Http503)).collect();
    sim.set_faults(Faults::on_calls(&outage));
    let dir = scratch("outage");
    std::fs::write(dir.join("users.ndjson"), users("o", 30)).unwrap();
    let args = [
        "run",
        "-t",
        "small_users",
        "users.ndjson",
        "--url",
        sim.url(),
        "--results",
        "r.ndjson",
        "--retries",
        "2",
        "--retry-base-ms",
        "5",
    ];
    let out = run(&dir, &args);
    assert_eq!(out.code, Some(3), "{out:?}");
    assert!(
        out.stderr.contains("--resume --results r.ndjson"),
        "{}",
        out.stderr
    );
    let first = results(&dir.join("r.ndjson"));
    assert_eq!(first.len(), 30, "every record has a result");
    assert_eq!(
        status_counts(&first),
        BTreeMap::from([("applied".into(), 10), ("skipped".into(), 20)])
    );

    sim.set_faults(Faults::default());
    let mut resumed = args.to_vec();
    resumed.push("--resume");
    let out = run(&dir, &resumed);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stderr.contains("done before: 10"), "{}", out.stderr);
    assert_all_applied(&sim, &results(&dir.join("r.ndjson")), "o", 30);
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_cleanly_and_resume_finishes() {
    let sim = Simulator::start(SiteConfig::default());
    sim.set_faults(Faults {
        latency: Duration::from_millis(40),
        ..Faults::default()
    });
    let dir = scratch("ctrl-c");
    std::fs::write(dir.join("users.ndjson"), users("c", 60)).unwrap();
    let args = [
        "run",
        "-t",
        "small_users",
        "users.ndjson",
        "--url",
        sim.url(),
        "--results",
        "r.ndjson",
    ];
    let mut child = moodlec(&dir, &args).spawn();
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        let journal = std::fs::read_to_string(dir.join("r.ndjson.journal")).unwrap_or_default();
        if journal.matches("\"start\"").count() >= 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let pid = i32::try_from(child.id()).unwrap();
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let first = results(&dir.join("r.ndjson"));
    let counts = status_counts(&first);
    assert_eq!(first.len(), 60, "every record has a result: {counts:?}");
    assert!(
        counts.get("applied").is_some_and(|n| *n >= 5) && counts.get("skipped").is_some_and(|n| *n >= 5),
        "{counts:?}"
    );

    let mut resumed = args.to_vec();
    resumed.push("--resume");
    let out = run(&dir, &resumed);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_all_applied(&sim, &results(&dir.join("r.ndjson")), "c", 60);
}

#[test]
fn rate_limits_requests_per_second() {
    let sim = Simulator::start(SiteConfig::default());
    let dir = scratch("rate");
    std::fs::write(dir.join("users.ndjson"), users("r", 25)).unwrap();
    let started = std::time::Instant::now();
    let out = run(
        &dir,
        &[
            "run",
            "-t",
            "small_users",
            "users.ndjson",
            "--url",
            sim.url(),
            "--rate",
            "10",
            "--concurrency",
            "4",
        ],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    // Five batches at 10 requests/s: the last one starts 0.4 s after the first.
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_timeout_after_moodle_applied_the_call_is_resolved_by_lookup() {
    let sim = Simulator::start(SiteConfig::default());
    // Call 1 is the preflight; call 2 creates the users, then answers too late.
    sim.set_faults(Faults::on_calls(&[(2, Fault::Slow(Duration::from_secs(3)))]));
    let dir = scratch("lookup");
    std::fs::write(dir.join("users.ndjson"), users("s", 5)).unwrap();
    let out = run(
        &dir,
        &[
            "run",
            "-t",
            "small_users",
            "users.ndjson",
            "--url",
            sim.url(),
            "--results",
            "r.ndjson",
            "--timeout",
            "1",
        ],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_all_applied(&sim, &results(&dir.join("r.ndjson")), "s", 5);
    let functions: Vec<String> = sim.calls().iter().filter_map(|c| c.function.clone()).collect();
    // One lookup by username; its answer holds the fields compared with the record's.
    assert_eq!(
        functions,
        [
            "core_webservice_get_site_info",
            "core_user_create_users",
            "core_user_get_users_by_field"
        ]
    );
}

#[test]
fn a_lost_answer_is_never_resent_blindly_without_a_check() {
    let sim = Simulator::start(SiteConfig::default());
    sim.set_faults(Faults::on_calls(&[(2, Fault::DropAfterApply)]));
    let dir = scratch("unknown");
    std::fs::write(dir.join("users.ndjson"), users("k", 7)).unwrap();
    let out = run(
        &dir,
        &[
            "run",
            "-t",
            "bare_users",
            "users.ndjson",
            "--url",
            sim.url(),
            "--results",
            "r.ndjson",
        ],
    );
    assert_eq!(out.code, Some(1), "{out:?}");
    let results = results(&dir.join("r.ndjson"));
    for record in 1..=5 {
        assert_eq!(results[&record]["status"], "failed");
        assert_eq!(results[&record]["error"]["errorcode"], "unknown_outcome");
    }
    assert_eq!(results[&6]["status"], "applied");
    assert_eq!(results[&7]["status"], "applied");
    // Sent once: the first five are in Moodle, once.
    assert_eq!(create_calls(&sim), 2);
    assert_eq!(
        sim.state()
            .users
            .values()
            .filter(|u| u.username.starts_with('k'))
            .count(),
        7
    );
}

#[test]
fn idempotent_enrolments_are_resent_after_a_lost_answer() {
    let sim = Simulator::start(SiteConfig {
        courses: vec![Course::new(2, "C2", 1)],
        users: {
            let mut users = SiteConfig::default().users;
            users.extend((10..15).map(|id| User::new(id, &format!("e{id}"), &format!("e{id}@example.org"))));
            users
        },
        ..SiteConfig::default()
    });
    sim.set_faults(Faults::on_calls(&[(2, Fault::DropAfterApply)]));
    let dir = scratch("enrol");
    let data: String = (10..15)
        .map(|id| format!("{}\n", json!({"userid": id, "courseid": 2})))
        .collect();
    std::fs::write(dir.join("enrol.ndjson"), data).unwrap();
    let out = run(
        &dir,
        &[
            "run",
            "-t",
            "enrol_users",
            "enrol.ndjson",
            "--url",
            sim.url(),
            "--results",
            "r.ndjson",
            "--set",
            "roleid=teacher",
        ],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(
        status_counts(&results(&dir.join("r.ndjson"))),
        BTreeMap::from([("applied".into(), 5)])
    );
    let state = sim.state();
    for id in 10..15 {
        assert_eq!(
            state.enrolment(2, id).expect("enrolled").roles,
            BTreeSet::from([role::TEACHER])
        );
    }
}

#[test]
fn update_warnings_fail_only_their_user() {
    let sim = Simulator::start(SiteConfig {
        users: {
            let mut users = SiteConfig::default().users;
            users.push(User::new(10, "ann", "ann@example.org"));
            users
        },
        ..SiteConfig::default()
    });
    let dir = scratch("update");
    let data = "{\"id\":10,\"city\":\"Brno\"}\n{\"id\":999,\"city\":\"Nowhere\"}\n";
    std::fs::write(dir.join("update.ndjson"), data).unwrap();
    let out = run(
        &dir,
        &[
            "run",
            "-t",
            "update_users",
            "update.ndjson",
            "--url",
            sim.url(),
            "--results",
            "r.ndjson",
        ],
    );
    assert_eq!(out.code, Some(1), "{out:?}");
    let results = results(&dir.join("r.ndjson"));
    assert_eq!(results[&1]["status"], "applied");
    assert_eq!(results[&2]["status"], "failed");
    assert_eq!(results[&2]["error"]["errorcode"], "invaliduserid");
    assert_eq!(sim.state().users[&10].field("city"), "Brno");
}

#[test]
fn batches_stay_under_max_input_vars() {
    let sim = Simulator::start(SiteConfig {
        max_input_vars: 200,
        ..SiteConfig::default()
    });
    let dir = scratch("max-input-vars");
    // Ten form fields per record: 39 records would be 390 fields, PHP would keep 200.
    let data: String = (1..=60)
        .map(|i| {
            format!(
                "{}\n",
                json!({
                    "username": format!("m{i:03}"), "firstname": "M", "lastname": "V",
                    "email": format!("m{i:03}@example.org"), "password": "Passw0rd!",
                    "city": "Brno", "country": "CZ", "idnumber": format!("id{i}"),
                    "institution": "Uni", "department": "Maths",
                })
            )
        })
        .collect();
    std::fs::write(dir.join("users.ndjson"), data).unwrap();
    let out = run(
        &dir,
        &[
            "run",
            "-t",
            "tight_users",
            "users.ndjson",
            "--url",
            sim.url(),
            "--results",
            "r.ndjson",
        ],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_all_applied(&sim, &results(&dir.join("r.ndjson")), "m", 60);
    let calls = sim.calls();
    assert!(
        calls.iter().all(|c| c.dropped_pairs == 0 && c.pairs <= 200),
        "{calls:?}"
    );
    assert!(create_calls(&sim) >= 4, "split into several calls");
    let user = sim.state().user_by_username("m060").cloned().unwrap();
    assert_eq!(user.field("department"), "Maths", "nothing truncated");
}

#[test]
fn a_proxy_that_refuses_large_bodies_gets_smaller_batches() {
    // Batches of 100 users are ~15 kB: the proxy takes at most 4 kB.
    let sim = Simulator::start(SiteConfig {
        proxy_body_limit: Some(4_000),
        ..SiteConfig::default()
    });
    let dir = scratch("http-413");
    let mut data = users("p", 100);
    // Record 101 alone is larger than the proxy allows.
    data.push_str(&format!(
        "{}\n",
        json!({
            "username": "huge", "firstname": "H", "lastname": "Uge",
            "email": "huge@example.org", "password": "Passw0rd!",
            "description": "x".repeat(5_000),
        })
    ));
    std::fs::write(dir.join("users.ndjson"), data).unwrap();
    let out = run(
        &dir,
        &[
            "run",
            "-t",
            "create_users",
            "users.ndjson",
            "--url",
            sim.url(),
            "--results",
            "r.ndjson",
        ],
    );
    assert_eq!(out.code, Some(1), "{out:?}");
    let mut results = results(&dir.join("r.ndjson"));
    let huge = results.remove(&101).expect("a result for the huge record");
    assert_eq!(huge["status"], "failed", "{huge}");
    assert_eq!(huge["error"]["errorcode"], "too_large", "{huge}");
    assert!(sim.state().user_by_username("huge").is_none());
    assert_all_applied(&sim, &results, "p", 100);
    let refused = sim
        .calls()
        .iter()
        .filter(|c| {
            matches!(
                c.outcome,
                Outcome::Faulted {
                    fault: Fault::Http413,
                    ..
                }
            )
        })
        .count();
    assert!(
        refused >= 2,
        "the first batches were refused and split: {refused}"
    );
}

#[test]
fn a_wrong_token_stops_before_sending() {
    let sim = Simulator::start(SiteConfig::default());
    let dir = scratch("wrong-token");
    std::fs::write(dir.join("users.ndjson"), users("w", 3)).unwrap();
    let out = moodlec(
        &dir,
        &["run", "-t", "create_users", "users.ndjson", "--url", sim.url()],
    )
    .token("ffffffffffffffffffffffffffffffff")
    .output();
    assert_eq!(out.code, Some(3), "{out:?}");
    assert!(out.stderr.contains("Moodle refused the token"), "{}", out.stderr);
    assert!(out.stderr.contains("Manage tokens"), "{}", out.stderr);
    assert_eq!(create_calls(&sim), 0);
}

#[test]
fn a_function_missing_from_the_service_stops_before_sending() {
    let sim = Simulator::start(SiteConfig {
        services: vec![Service::new(
            "limited",
            &["core_webservice_get_site_info", "core_user_update_users"],
        )],
        tokens: vec![Token::new(TOKEN, 2, "limited")],
        ..SiteConfig::default()
    });
    let dir = scratch("missing-function");
    std::fs::write(dir.join("users.ndjson"), users("x", 3)).unwrap();
    let out = run(
        &dir,
        &["run", "-t", "create_users", "users.ndjson", "--url", sim.url()],
    );
    assert_eq!(out.code, Some(3), "{out:?}");
    assert!(
        out.stderr.contains("does not include core_user_create_users"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("External services"), "{}", out.stderr);
}

#[test]
fn disabled_web_services_and_unreachable_sites_exit_3() {
    let sim = Simulator::start(SiteConfig {
        rest_enabled: false,
        ..SiteConfig::default()
    });
    let dir = scratch("disabled");
    std::fs::write(dir.join("users.ndjson"), users("d", 1)).unwrap();
    let out = run(
        &dir,
        &["run", "-t", "create_users", "users.ndjson", "--url", sim.url()],
    );
    assert_eq!(out.code, Some(3), "{out:?}");
    assert!(out.stderr.contains("Manage protocols"), "{}", out.stderr);

    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let out = run(
        &dir,
        &[
            "run",
            "-t",
            "create_users",
            "users.ndjson",
            "--url",
            &url,
            "--retries",
            "1",
        ],
    );
    assert_eq!(out.code, Some(3), "{out:?}");
    assert!(out.stderr.contains("cannot reach"), "{}", out.stderr);
}

#[test]
fn plain_http_to_another_host_is_refused() {
    let dir = scratch("http");
    std::fs::write(dir.join("users.ndjson"), users("h", 1)).unwrap();
    let out = run(
        &dir,
        &[
            "run",
            "-t",
            "create_users",
            "users.ndjson",
            "--url",
            "http://moodle.example.edu",
        ],
    );
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("--allow-http"), "{}", out.stderr);
}

#[test]
fn invalid_records_stop_the_run_unless_skipped() {
    let sim = Simulator::start(SiteConfig::default());
    let dir = scratch("invalid");
    let mut data = users("v", 4);
    data.push_str("{\"username\":\"BAD\",\"firstname\":\"B\",\"lastname\":\"B\",\"email\":\"b@example.org\",\"password\":\"Passw0rd!\"}\n");
    std::fs::write(dir.join("users.ndjson"), &data).unwrap();
    let out = run(
        &dir,
        &[
            "run",
            "-t",
            "create_users",
            "users.ndjson",
            "--url",
            sim.url(),
            "--results",
            "a.ndjson",
        ],
    );
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("nothing was sent"), "{}", out.stderr);
    assert_eq!(sim.calls().len(), 0);
    let first = results(&dir.join("a.ndjson"));
    assert_eq!(
        status_counts(&first),
        BTreeMap::from([("invalid".into(), 1), ("skipped".into(), 4)])
    );

    // Standard input is read twice (validation, then sending): it is spooled first.
    let out = moodlec(
        &dir,
        &[
            "run",
            "-t",
            "create_users",
            "-",
            "--url",
            sim.url(),
            "--results",
            "b.ndjson",
            "--skip-invalid",
        ],
    )
    .stdin(&data)
    .output();
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let second = results(&dir.join("b.ndjson"));
    assert_eq!(
        status_counts(&second),
        BTreeMap::from([("applied".into(), 4), ("invalid".into(), 1)])
    );
    assert_eq!(second[&5]["error"]["exception"], "moodlec");
}

#[test]
fn test_mode_sends_one_record_and_shows_the_exchange() {
    let sim = Simulator::start(SiteConfig::default());
    let dir = scratch("test-mode");
    std::fs::write(dir.join("users.ndjson"), users("t", 3)).unwrap();
    let out = run(
        &dir,
        &[
            "run",
            "-t",
            "create_users",
            "users.ndjson",
            "--url",
            sim.url(),
            "--test",
            "--results",
            "r.ndjson",
        ],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stdout.contains("POST /webservice/rest/server.php HTTP/1.1"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("wstoken=REDACTED"), "{}", out.stdout);
    assert!(out.stdout.contains("\"username\": \"t001\""), "{}", out.stdout);
    assert_eq!(
        sim.state()
            .users
            .values()
            .filter(|u| u.username.starts_with('t'))
            .count(),
        1
    );
    // The rest is sent by a resumed run, after the one record already applied.
    let out = run(
        &dir,
        &[
            "run",
            "-t",
            "create_users",
            "users.ndjson",
            "--url",
            sim.url(),
            "--results",
            "r.ndjson",
            "--resume",
        ],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_all_applied(&sim, &results(&dir.join("r.ndjson")), "t", 3);
}

/// A webhook receiver: collects request bodies, answers 200.
fn webhook_receiver() -> (String, Arc<Mutex<Vec<String>>>) {
    fixtures::webhook_receiver("200 OK")
}

#[test]
fn a_failing_webhook_is_reported_but_does_not_stop_the_run() {
    let sim = Simulator::start(SiteConfig::default());
    let (hook, bodies) = fixtures::webhook_receiver("500 Internal Server Error");
    let dir = scratch("webhook-down");
    std::fs::write(dir.join("users.ndjson"), users("w", 3)).unwrap();
    let out = run(
        &dir,
        &[
            "run",
            "-t",
            "create_users",
            "users.ndjson",
            "--url",
            sim.url(),
            "--results",
            "r.ndjson",
            "--webhook",
            &hook,
        ],
    );
    assert_eq!(out.code, Some(0), "the writes succeeded: {out:?}");
    assert_all_applied(&sim, &results(&dir.join("r.ndjson")), "w", 3);
    assert!(
        out.stderr
            .contains("webhook: could not post the answer for records 1-3: HTTP 500"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("webhook failures: 1"), "{}", out.stderr);
    // Tried more than once before giving up.
    assert!(bodies.lock().unwrap().len() > 1);
}

#[test]
fn the_token_appears_in_no_output() {
    let sim = Simulator::start(SiteConfig {
        debug: true,
        users: {
            let mut users = SiteConfig::default().users;
            users.push(User::new(10, "n002", "n002-old@example.org"));
            users
        },
        ..SiteConfig::default()
    });
    // Moodle's maintenance 503 is re-sent as it is; a gateway's 503 would
    // be an unclear outcome, whose lookup finds the existing n002 (issue 10, 3).
    sim.set_faults(Faults::on_calls(&[
        (3, Fault::Maintenance { retry_after: 1 }),
        (5, Fault::DropAfterApply),
    ]));
    let (hook, bodies) = webhook_receiver();
    let dir = scratch("token");
    std::fs::write(dir.join("users.ndjson"), users("n", 12)).unwrap();
    let mut outputs = Vec::new();
    let first = run(
        &dir,
        &[
            "run",
            "-t",
            "small_users",
            "users.ndjson",
            "--url",
            sim.url(),
            "--results",
            "r.ndjson",
            "--webhook",
            &hook,
        ],
    );
    assert_eq!(first.code, Some(1), "{first:?}");
    outputs.push(first);
    let test = run(
        &dir,
        &[
            "run",
            "-t",
            "small_users",
            "users.ndjson",
            "--url",
            sim.url(),
            "--test",
            "--webhook",
            &hook,
        ],
    );
    outputs.push(test);
    let wrong = moodlec(
        &dir,
        &["run", "-t", "small_users", "users.ndjson", "--url", sim.url()],
    )
    .token("0000aaaa0000aaaa0000aaaa0000aaaa")
    .output();
    outputs.push(wrong);
    let render = run(
        &dir,
        &["render", "-t", "small_users", "users.ndjson", "--format", "http"],
    );
    outputs.push(render);

    let bodies = bodies.lock().unwrap().clone();
    assert!(bodies.len() >= 3, "webhook calls: {bodies:?}");
    assert!(bodies
        .iter()
        .any(|b| b.contains("\"function\":\"core_user_create_users\"")));
    let mut texts: Vec<String> = bodies;
    for out in &outputs {
        texts.push(out.stdout.clone());
        texts.push(out.stderr.clone());
    }
    texts.push(std::fs::read_to_string(dir.join("r.ndjson")).unwrap());
    texts.push(std::fs::read_to_string(dir.join("r.ndjson.journal")).unwrap());
    assert!(texts.iter().any(|t| t.contains("REDACTED")));
    for text in &texts {
        assert!(!text.contains(TOKEN), "the token leaked: {text}");
        assert!(
            !text.contains("0000aaaa0000aaaa"),
            "the wrong token leaked: {text}"
        );
    }
}

#[test]
fn login_saves_a_private_token_file_that_run_uses() {
    let sim = Simulator::start(SiteConfig::default());
    let dir = scratch("login");
    let out = moodlec(
        &dir,
        &[
            "login",
            "--url",
            sim.url(),
            "--username",
            "admin",
            "--service",
            "moodlec",
        ],
    )
    .env("MOODLE_PASSWORD", ADMIN_PASSWORD)
    .env_remove("MOODLE_TOKEN")
    .output();
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(!out.stderr.contains(TOKEN) && !out.stdout.contains(TOKEN));
    let tokens: Vec<_> = std::fs::read_dir(dir.join("config/moodlec/tokens"))
        .unwrap()
        .collect();
    assert_eq!(tokens.len(), 1);
    let file = tokens[0].as_ref().unwrap().path();
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(stored["token"], TOKEN);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    std::fs::write(dir.join("users.ndjson"), users("l", 2)).unwrap();
    let out = moodlec(
        &dir,
        &["run", "-t", "create_users", "users.ndjson", "--url", sim.url()],
    )
    .env_remove("MOODLE_TOKEN")
    .output();
    assert_eq!(out.code, Some(0));
    assert!(sim.state().user_by_username("l002").is_some());

    let out = moodlec(
        &dir,
        &[
            "login",
            "--url",
            sim.url(),
            "--username",
            "admin",
            "--token-file",
            "t2",
        ],
    )
    .stdin("not-the-password\n")
    .output();
    let stderr = &out.stderr;
    assert_eq!(out.code, Some(3), "{stderr}");
    assert!(stderr.contains("invalidlogin"), "{stderr}");
    assert!(!dir.join("t2").exists());
}

/// A small deterministic generator for kill times (SplitMix64).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }
}

fn spawn_run(dir: &Path, url: &str, resume: bool) -> Child {
    let mut args = vec![
        "run",
        "-t",
        "small_users",
        "users.ndjson",
        "--url",
        url,
        "--results",
        "r.ndjson",
        "--concurrency",
        "3",
        "--quiet",
    ];
    if resume {
        args.push("--resume");
    }
    moodlec(dir, &args).spawn_with(Stdio::null(), Stdio::null())
}

/// The kill test's seed: MOODLEC_TEST_SEED when set (a failure prints the
/// seed, so the same kill moments can be drawn again), else the clock.
fn kill_test_seed() -> u64 {
    match std::env::var("MOODLEC_TEST_SEED") {
        Ok(text) => text.parse().unwrap_or_else(|e| {
            panic!("MOODLEC_TEST_SEED={text:?} is not a seed (an integer 0 to 2^64-1): {e}")
        }),
        Err(std::env::VarError::NotPresent) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
        Err(e) => panic!("MOODLEC_TEST_SEED: {e}"),
    }
}

#[test]
fn kill_9_at_random_moments_then_resume_loses_and_duplicates_nothing() {
    let seed = kill_test_seed();
    let mut rng = Rng(seed);
    eprintln!("kill test seed: {seed} (MOODLEC_TEST_SEED={seed} draws the same kill moments)");
    let (mut killed_midway, mut killed_in_flight) = (0, 0);
    for trial in 0..20 {
        let sim = Simulator::start(SiteConfig::default());
        sim.set_faults(Faults {
            latency: Duration::from_millis(25),
            latency_jitter: Duration::from_millis(25),
            ..Faults::default()
        });
        let dir = scratch(&format!("kill-{trial}"));
        std::fs::write(dir.join("users.ndjson"), users("k", 60)).unwrap();
        let mut child = spawn_run(&dir, sim.url(), false);
        // Half the kills at a random early moment (start-up, preflight, first
        // batches), half once the k-th of the 12 requests has been journaled,
        // plus up to 40 ms: anywhere in the run, however fast this machine is.
        let moment = if trial % 2 == 0 {
            Moment::After(rng.below(80))
        } else {
            Moment::Started(1 + rng.below(12) as usize, rng.below(40))
        };
        kill_at(&mut child, &dir, moment);
        let (done, in_flight) = progress_at_kill(&dir);
        eprintln!("trial {trial}: killed {moment:?} with {done} results and {in_flight} requests in flight");
        if done > 0 && done < 60 {
            killed_midway += 1;
        }
        if in_flight > 0 {
            killed_in_flight += 1;
        }
        // Kill a resumed run too, now and then, before letting one finish.
        let mut rounds = 0;
        loop {
            rounds += 1;
            let resume = dir.join("r.ndjson").exists();
            let mut child = spawn_run(&dir, sim.url(), resume);
            if rounds == 1 && rng.below(3) == 0 {
                kill_at(&mut child, &dir, Moment::After(rng.below(200)));
                continue;
            }
            let status = child.wait().unwrap();
            assert_eq!(
                status.code(),
                Some(0),
                "trial {trial} (MOODLEC_TEST_SEED={seed}, killed {moment:?})"
            );
            break;
        }
        let results = results(&dir.join("r.ndjson"));
        assert_all_applied(&sim, &results, "k", 60);
        let refused = sim
            .calls()
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Rejected { .. }))
            .count();
        assert_eq!(
            refused, 0,
            "trial {trial} (MOODLEC_TEST_SEED={seed}): a record was sent again after it was applied"
        );
    }
    // The kills did land in the middle of runs, with requests in flight.
    assert!(
        killed_midway >= 5,
        "{killed_midway} of 20 kills hit a run midway (MOODLEC_TEST_SEED={seed})"
    );
    assert!(
        killed_in_flight >= 3,
        "{killed_in_flight} of 20 kills hit requests in flight (MOODLEC_TEST_SEED={seed})"
    );
}

/// When a kill falls.
#[derive(Clone, Copy, Debug)]
enum Moment {
    /// This many milliseconds after the start.
    After(u64),
    /// Once this many requests are journaled, plus this many milliseconds.
    Started(usize, u64),
}

/// `kill -9` the runner at `moment` (or let it be, if it ends first).
fn kill_at(child: &mut Child, dir: &Path, moment: Moment) {
    let extra = match moment {
        Moment::After(ms) => ms,
        Moment::Started(requests, ms) => {
            let started = std::time::Instant::now();
            while started.elapsed() < Duration::from_secs(20) && child.try_wait().unwrap().is_none() {
                let journal = std::fs::read_to_string(dir.join("r.ndjson.journal")).unwrap_or_default();
                if journal.matches("\"start\"").count() >= requests {
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            ms
        }
    };
    std::thread::sleep(Duration::from_millis(extra));
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
}

/// After a kill: complete result lines, and journal requests started but not finished.
fn progress_at_kill(dir: &Path) -> (usize, usize) {
    let results = std::fs::read_to_string(dir.join("r.ndjson")).unwrap_or_default();
    let done = results
        .lines()
        .filter(|l| serde_json::from_str::<Value>(l).is_ok())
        .count();
    let journal = std::fs::read_to_string(dir.join("r.ndjson.journal")).unwrap_or_default();
    let mut open = BTreeSet::new();
    for line in journal.lines() {
        let Ok(entry) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if let Some(id) = entry["start"].as_u64() {
            open.insert(id);
        }
        if let Some(id) = entry["finish"].as_u64() {
            open.remove(&id);
        }
    }
    (done, open.len())
}

/// create_courses end to end: new courses get Moodle's ids in the results,
/// and a short name Moodle already has fails only its own record (bisection).
#[test]
fn courses_are_created_and_a_taken_shortname_fails_alone() {
    let sim = Simulator::start(SiteConfig {
        courses: vec![Course::new(2, "TAKEN-1", 1)],
        ..SiteConfig::default()
    });
    let dir = scratch("courses");
    let data: String = (1..=6)
        .map(|i| {
            let shortname = if i == 4 {
                "TAKEN-1".to_owned()
            } else {
                format!("NEW-{i}")
            };
            format!(
                "{}\n",
                json!({"fullname": format!("Course {i}"), "shortname": shortname, "categoryid": 1})
            )
        })
        .collect();
    std::fs::write(dir.join("courses.ndjson"), data).unwrap();
    let out = run(
        &dir,
        &[
            "run",
            "-t",
            "create_courses",
            "courses.ndjson",
            "--url",
            sim.url(),
            "--results",
            "r.ndjson",
        ],
    );
    assert_eq!(out.code, Some(1), "one record fails: {out:?}");
    let results = results(&dir.join("r.ndjson"));
    assert_eq!(
        status_counts(&results),
        BTreeMap::from([("applied".into(), 5), ("failed".into(), 1)])
    );
    assert_eq!(results[&4]["status"], "failed");
    let state = sim.state();
    for i in [1, 2, 3, 5, 6] {
        let shortname = format!("NEW-{i}");
        let course = state
            .courses
            .values()
            .find(|c| c.shortname == shortname)
            .expect("course created");
        assert_eq!(
            results[&i]["id"].as_i64(),
            Some(course.id),
            "record {i} carries its course id"
        );
    }
    assert_eq!(
        state
            .courses
            .values()
            .filter(|c| c.shortname == "TAKEN-1")
            .count(),
        1
    );
}

/// unenrol_users end to end: enrolled users are removed from the course.
#[test]
fn unenrolments_remove_the_enrolments() {
    let sim = Simulator::start(SiteConfig {
        courses: vec![Course::new(2, "C2", 1)],
        users: {
            let mut users = SiteConfig::default().users;
            users.extend((10..14).map(|id| User::new(id, &format!("u{id}"), &format!("u{id}@example.org"))));
            users
        },
        ..SiteConfig::default()
    });
    let dir = scratch("unenrol");
    let data: String = (10..14)
        .map(|id| format!("{}\n", json!({"userid": id, "courseid": 2})))
        .collect();
    std::fs::write(dir.join("list.ndjson"), data).unwrap();
    let enrol = run(
        &dir,
        &[
            "run",
            "-t",
            "enrol_users",
            "list.ndjson",
            "--url",
            sim.url(),
            "--results",
            "e.ndjson",
        ],
    );
    assert_eq!(enrol.code, Some(0), "{enrol:?}");
    assert!(
        (10..14).all(|id| sim.state().enrolment(2, id).is_some()),
        "enrolled first"
    );
    let unenrol = run(
        &dir,
        &[
            "run",
            "-t",
            "unenrol_users",
            "list.ndjson",
            "--url",
            sim.url(),
            "--results",
            "u.ndjson",
        ],
    );
    assert_eq!(unenrol.code, Some(0), "{unenrol:?}");
    assert_eq!(
        status_counts(&results(&dir.join("u.ndjson"))),
        BTreeMap::from([("applied".into(), 4)])
    );
    assert!(
        (10..14).all(|id| sim.state().enrolment(2, id).is_none()),
        "every enrolment removed"
    );
}
