//! Results that never lie (issue 10): every results line says what the
//! simulator holds, whatever the network, the proxy or the disk did.
//!
//! - the fault matrix: each fault x `--concurrency` 1 and 4;
//! - a 200 that is not Moodle's answer is no proof;
//! - a record that was in Moodle before is not reported applied;
//! - a results write that fails leaves the batch unfinished in the journal;
//! - `--resume` refuses other input, and re-checks `unknown_outcome` records;
//! - an existing journal is never truncated.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};

use crate::fixtures::{results, users};
use crate::harness::{self, Moodlec, Output};
use crate::simulator::{role, Course, Fault, Faults, Outcome, Simulator, SiteConfig, User, TOKEN};

const TEMPLATES: &str = r#"
template small_users extends create_users "create_users, 5 per call" {
  batch size 5
}

template tight_users extends create_users "create_users, 3 per call" {
  batch size 3
}

template small_enrol extends enrol_users "enrol_users, 3 per call" {
  batch size 3
}
"#;

fn scratch(name: &str) -> PathBuf {
    let dir = harness::scratch(&format!("faults-{name}"));
    std::fs::create_dir_all(dir.join("templates")).expect("templates folder");
    std::fs::write(dir.join("templates/test.moodle"), TEMPLATES).expect("templates");
    dir
}

fn run(dir: &Path, args: &[&str]) -> Output {
    run_with(dir, args, &[])
}

fn run_with(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Moodlec::new(args)
        .current_dir(dir)
        .token(TOKEN)
        .config_home(dir.join("config"));
    for (key, value) in env {
        command = command.env(key, value);
    }
    command.output()
}

fn create_calls(sim: &Simulator) -> usize {
    sim.calls()
        .iter()
        .filter(|c| c.function.as_deref() == Some("core_user_create_users"))
        .count()
}

/// For every record: applied with the id of the one user Moodle holds for
/// it, or not applied and not in Moodle. Returns how many were applied.
#[track_caller]
fn assert_results_are_what_moodle_holds(
    sim: &Simulator,
    results: &BTreeMap<u64, Value>,
    prefix: &str,
    n: usize,
    case: &str,
) -> usize {
    let state = sim.state();
    assert_eq!(results.len(), n, "{case}: one result per record");
    let mut applied = 0;
    for i in 1..=n {
        let result = &results[&(i as u64)];
        let username = format!("{prefix}{i:03}");
        let held: Vec<&User> = state
            .users
            .values()
            .filter(|u| u.username == username && !u.deleted)
            .collect();
        assert!(held.len() <= 1, "{case}: {username} created twice");
        match held.first() {
            Some(user) => {
                assert_eq!(
                    result["status"], "applied",
                    "{case}: {username} is in Moodle: {result}"
                );
                assert_eq!(result["id"], user.id, "{case}: {username} carries its Moodle id");
                applied += 1;
            }
            None => assert_ne!(
                result["status"], "applied",
                "{case}: {username} is not in Moodle: {result}"
            ),
        }
    }
    let created = state
        .users
        .values()
        .filter(|u| u.username.starts_with(prefix))
        .count();
    assert_eq!(
        created, applied,
        "{case}: no user created that no record accounts for"
    );
    applied
}

const HTML: &str = "<html><body><h1>Service temporarily busy</h1></body></html>";

/// Faults on write calls, each injected on the first and third write of a run.
fn matrix() -> Vec<(&'static str, Fault)> {
    let body = |body: &'static str, applied: bool| Fault::Body200 { body, applied };
    vec![
        ("502 before Moodle", Fault::Http502),
        ("503 before Moodle", Fault::Http503),
        ("502 after commit", Fault::Http502AfterApply),
        ("maintenance 503", Fault::Maintenance { retry_after: 1 }),
        ("500 before Moodle", Fault::Http500 { applied: false }),
        ("500 after commit", Fault::Http500 { applied: true }),
        ("reset before Moodle", Fault::DropBeforeApply),
        ("reset after commit", Fault::DropAfterApply),
        ("timeout after commit", Fault::Slow(Duration::from_millis(1500))),
        ("HTML 200, not applied", body(HTML, false)),
        ("HTML 200 after commit", body(HTML, true)),
        ("{} 200, not applied", body("{}", false)),
        ("{} 200 after commit", body("{}", true)),
        ("null 200 after commit", body("null", true)),
        ("\"ok\" 200, not applied", body("\"ok\"", false)),
        ("\"ok\" 200 after commit", body("\"ok\"", true)),
        (
            "error object 200, not applied",
            body(r#"{"error":"upstream busy"}"#, false),
        ),
        (
            "error object 200 after commit",
            body(r#"{"error":"upstream busy"}"#, true),
        ),
        (
            "short list 200 after commit",
            body(r#"[{"id":1,"username":"x"}]"#, true),
        ),
    ]
}

#[test]
fn fault_matrix_every_result_line_is_what_moodle_holds() {
    let n = 20;
    for (name, fault) in matrix() {
        for concurrency in ["1", "4"] {
            let case = format!("{name}, --concurrency {concurrency}");
            let sim = Simulator::start(SiteConfig::default());
            sim.set_faults(Faults {
                fail_writes: vec![(1, fault), (3, fault)],
                ..Faults::default()
            });
            let dir = scratch(&format!(
                "matrix-{}-{concurrency}",
                name.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
            ));
            std::fs::write(dir.join("users.ndjson"), users("m", n)).unwrap();
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
                    concurrency,
                    "--timeout",
                    "1",
                    "--retry-base-ms",
                    "10",
                ],
            );
            let faulted = sim
                .calls()
                .iter()
                .filter(|c| matches!(c.outcome, Outcome::Faulted { .. }))
                .count();
            assert_eq!(faulted, 2, "{case}: both faults were injected");
            let results = results(&dir.join("r.ndjson"));
            let applied = assert_results_are_what_moodle_holds(&sim, &results, "m", n, &case);
            // Every fault is resolved: by retry, by lookup, or by a re-send.
            assert_eq!(applied, n, "{case}: every record applied\n{out:?}");
            assert_eq!(out.code, Some(0), "{case}: {out:?}");
        }
    }
}

/// The same for an idempotent template that returns nothing (enrol_users):
/// an answer other than `null` is re-sent, never taken as applied.
#[test]
fn fault_matrix_for_an_idempotent_function_that_returns_nothing() {
    let body = |body: &'static str, applied: bool| Fault::Body200 { body, applied };
    let faults = [
        ("reset after commit", Fault::DropAfterApply),
        ("500 after commit", Fault::Http500 { applied: true }),
        ("502 after commit", Fault::Http502AfterApply),
        ("HTML 200, not applied", body(HTML, false)),
        ("{} 200, not applied", body("{}", false)),
        ("{} 200 after commit", body("{}", true)),
        ("\"ok\" 200, not applied", body("\"ok\"", false)),
        ("[] 200 after commit", body("[]", true)),
    ];
    let ids = 10i64..22;
    for (name, fault) in faults {
        for concurrency in ["1", "4"] {
            let case = format!("enrol_users: {name}, --concurrency {concurrency}");
            let sim = Simulator::start(SiteConfig {
                courses: vec![Course::new(2, "C2", 1)],
                users: {
                    let mut users = SiteConfig::default().users;
                    users.extend(
                        ids.clone()
                            .map(|id| User::new(id, &format!("e{id}"), &format!("e{id}@example.org"))),
                    );
                    users
                },
                ..SiteConfig::default()
            });
            sim.set_faults(Faults {
                fail_writes: vec![(1, fault), (3, fault)],
                ..Faults::default()
            });
            let dir = scratch(&format!(
                "enrol-matrix-{}-{concurrency}",
                name.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
            ));
            let data: String = ids
                .clone()
                .map(|id| format!("{}\n", json!({"userid": id, "courseid": 2})))
                .collect();
            std::fs::write(dir.join("enrol.ndjson"), data).unwrap();
            let out = run(
                &dir,
                &[
                    "run",
                    "-t",
                    "small_enrol",
                    "enrol.ndjson",
                    "--url",
                    sim.url(),
                    "--results",
                    "r.ndjson",
                    "--set",
                    "roleid=teacher",
                    "--concurrency",
                    concurrency,
                    "--retry-base-ms",
                    "10",
                ],
            );
            let results = results(&dir.join("r.ndjson"));
            let state = sim.state();
            assert_eq!(results.len(), ids.clone().count(), "{case}");
            for (record, id) in ids.clone().enumerate() {
                let result = &results[&(record as u64 + 1)];
                let enrolled = state
                    .enrolment(2, id)
                    .is_some_and(|e| e.roles.contains(&role::TEACHER));
                assert_eq!(
                    result["status"] == "applied",
                    enrolled,
                    "{case}: user {id}: {result}"
                );
                assert!(
                    enrolled,
                    "{case}: user {id} enrolled after the re-sends: {result}\n{out:?}"
                );
            }
            assert_eq!(out.code, Some(0), "{case}: {out:?}");
        }
    }
}

#[test]
fn a_200_that_is_not_moodles_answer_is_never_taken_as_applied() {
    // bare_users has no applied check: the outcome stays unknown, never `applied`.
    let sim = Simulator::start(SiteConfig::default());
    sim.set_faults(Faults {
        fail_writes: vec![(
            1,
            Fault::Body200 {
                body: "{}",
                applied: false,
            },
        )],
        ..Faults::default()
    });
    let dir = scratch("wrong-shape");
    std::fs::write(
        dir.join("templates/bare.moodle"),
        r#"
template bare_users "create_users without a way to check a record" {
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
"#,
    )
    .unwrap();
    std::fs::write(dir.join("users.ndjson"), users("w", 3)).unwrap();
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
    assert_results_are_what_moodle_holds(&sim, &results, "w", 3, "{}");
    for result in results.values() {
        assert_eq!(result["error"]["errorcode"], "unknown_outcome", "{result}");
        assert!(
            result["error"]["message"].as_str().unwrap().contains("returns"),
            "{result}"
        );
    }
}

#[test]
fn a_username_that_existed_before_is_not_reported_applied_after_a_reset() {
    for (data, n, dup) in [(users("d", 3), 3, 2u64), (users("d", 1), 1, 1)] {
        let old_username = format!("d{dup:03}");
        let sim = Simulator::start(SiteConfig {
            users: {
                let mut users = SiteConfig::default().users;
                users.push(User::new(50, &old_username, "old@example.org"));
                users
            },
            ..SiteConfig::default()
        });
        sim.set_faults(Faults {
            fail_writes: vec![(1, Fault::DropBeforeApply)],
            ..Faults::default()
        });
        let dir = scratch(&format!("existed-{n}"));
        std::fs::write(dir.join("users.ndjson"), data).unwrap();
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
                "--retry-base-ms",
                "10",
            ],
        );
        assert_eq!(out.code, Some(1), "{out:?}");
        let results = results(&dir.join("r.ndjson"));
        let result = &results[&dup];
        assert_eq!(result["status"], "failed", "{result}");
        assert!(
            result.get("id").is_none(),
            "the old account's id is not this record's: {result}"
        );
        assert_ne!(result["error"]["errorcode"], "unknown_outcome", "{result}");
        let state = sim.state();
        let old = state.user_by_username(&old_username).expect("the old account");
        assert_eq!((old.id, old.email.as_str()), (50, "old@example.org"));
        for (record, result) in &results {
            if *record != dup {
                let user = state.user_by_username(&format!("d{record:03}")).expect("created");
                assert_eq!(
                    (result["status"].as_str(), result["id"].as_i64()),
                    (Some("applied"), Some(user.id))
                );
            }
        }
    }
}

#[test]
fn a_results_write_failure_stops_the_run_and_resume_checks_instead_of_resending() {
    let sim = Simulator::start(SiteConfig::default());
    let dir = scratch("enospc");
    std::fs::write(dir.join("users.ndjson"), users("f", 10)).unwrap();
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
    // The second write of results (batch 2's) fails as on a full disk.
    let out = run_with(&dir, &args, &[("MOODLEC_TEST_FAIL_RESULTS_WRITE", "2")]);
    assert_eq!(out.code, Some(2), "{out:?}");
    out.stderr_has("No space left on device");
    let journal = std::fs::read_to_string(dir.join("r.ndjson.journal")).unwrap();
    assert!(journal.contains(r#"{"finish":1}"#), "{journal}");
    assert!(
        !journal.contains(r#"{"finish":2}"#),
        "batch 2's results were never written: {journal}"
    );
    assert_eq!(create_calls(&sim), 2);

    let resumed = run(&dir, &[&args[..], &["--resume"]].concat());
    assert_eq!(resumed.code, Some(0), "{resumed:?}");
    let results = results(&dir.join("r.ndjson"));
    assert_eq!(
        assert_results_are_what_moodle_holds(&sim, &results, "f", 10, "resume"),
        10
    );
    assert_eq!(create_calls(&sim), 2, "batch 2 was looked up, not sent again");
}

#[test]
fn resume_refuses_other_data_or_template_and_a_new_run_an_existing_journal() {
    let sim = Simulator::start(SiteConfig::default());
    let dir = scratch("pin");
    std::fs::write(dir.join("users.ndjson"), users("p", 4)).unwrap();
    let args = |template: &'static str| {
        vec![
            "run",
            "-t",
            template,
            "users.ndjson",
            "--url",
            sim.url(),
            "--results",
            "r.ndjson",
        ]
    };
    run(&dir, &args("small_users")).code(0);

    // One line inserted at the top: every record number now means another record.
    let mut changed = users("q", 1);
    changed.push_str(&users("p", 4));
    std::fs::write(dir.join("users.ndjson"), &changed).unwrap();
    let out = run(&dir, &[&args("small_users")[..], &["--resume"]].concat());
    out.code(2).stderr_has("cannot resume").stderr_has("data");
    assert!(sim.state().user_by_username("q001").is_none());
    std::fs::write(dir.join("users.ndjson"), users("p", 4)).unwrap();
    let out = run(&dir, &[&args("tight_users")[..], &["--resume"]].concat());
    out.code(2).stderr_has("template");
    let out = run(&dir, &[&args("small_users")[..], &["--resume"]].concat());
    out.code(0);

    // A journal without its results file is an earlier run's all the same.
    std::fs::remove_file(dir.join("r.ndjson")).unwrap();
    let journal = std::fs::read_to_string(dir.join("r.ndjson.journal")).unwrap();
    run(&dir, &args("small_users"))
        .code(2)
        .stderr_has("r.ndjson.journal exists");
    assert_eq!(
        std::fs::read_to_string(dir.join("r.ndjson.journal")).unwrap(),
        journal
    );
    assert_eq!(create_calls(&sim), 1);
}

/// Moodle's answer when its database fails a read (dml_read_exception).
const DATABASE_ERROR: &str = r#"{"exception":"dml_read_exception","errorcode":"dmlreadexception","message":"Error reading from database"}"#;

#[test]
fn resume_checks_unknown_outcomes_again() {
    let sim = Simulator::start(SiteConfig::default());
    // Call 1: site info; 2: the create, committed, its answer lost; then
    // every lookup gets Moodle's database error (an HTML page would be
    // retried as a read, and stop the run instead): the outcome stays unknown.
    let mut calls = vec![(2, Fault::DropAfterApply)];
    calls.extend((3..40).map(|n| {
        (
            n,
            Fault::Body200 {
                body: DATABASE_ERROR,
                applied: false,
            },
        )
    }));
    sim.set_faults(Faults::on_calls(&calls));
    let dir = scratch("recheck");
    std::fs::write(dir.join("users.ndjson"), users("u", 5)).unwrap();
    let args = [
        "run",
        "-t",
        "small_users",
        "users.ndjson",
        "--url",
        sim.url(),
        "--results",
        "r.ndjson",
        "--retry-base-ms",
        "10",
    ];
    let out = run(&dir, &args);
    assert_eq!(out.code, Some(1), "{out:?}");
    let first = results(&dir.join("r.ndjson"));
    assert!(
        first
            .values()
            .all(|r| r["error"]["errorcode"] == "unknown_outcome"),
        "{first:?}"
    );

    sim.set_faults(Faults::default());
    let resumed = run(&dir, &[&args[..], &["--resume"]].concat());
    assert_eq!(resumed.code, Some(0), "{resumed:?}");
    let results = results(&dir.join("r.ndjson"));
    assert_eq!(
        assert_results_are_what_moodle_holds(&sim, &results, "u", 5, "recheck"),
        5
    );
    assert_eq!(create_calls(&sim), 1, "looked up, never sent again");
}

#[test]
fn resume_refuses_other_set_values() {
    let sim = Simulator::start(SiteConfig {
        courses: vec![Course::new(2, "C2", 1)],
        users: {
            let mut users = SiteConfig::default().users;
            users.push(User::new(10, "e10", "e10@example.org"));
            users
        },
        ..SiteConfig::default()
    });
    let dir = scratch("pin-set");
    std::fs::write(
        dir.join("enrol.ndjson"),
        format!("{}\n", json!({"userid": 10, "courseid": 2})),
    )
    .unwrap();
    let args = |role: &'static str| {
        vec![
            "run",
            "-t",
            "enrol_users",
            "enrol.ndjson",
            "--url",
            sim.url(),
            "--results",
            "r.ndjson",
            "--set",
            role,
        ]
    };
    run(&dir, &args("roleid=teacher")).code(0);
    run(&dir, &[&args("roleid=student")[..], &["--resume"]].concat())
        .code(2)
        .stderr_has("--set");
    run(&dir, &[&args("roleid=teacher")[..], &["--resume"]].concat()).code(0);
    let enrol_calls = sim
        .calls()
        .iter()
        .filter(|c| c.function.as_deref() == Some("enrol_manual_enrol_users"))
        .count();
    assert_eq!(enrol_calls, 1);
}
