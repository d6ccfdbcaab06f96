//! Each line of `moodlec run --results` says which input record it is: its
//! number, the line where it starts in the data file, and its key fields
//! (never a password).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};

use crate::fixtures::results;
use crate::harness::{self, Moodlec};
use crate::simulator::{Course, Simulator, SiteConfig, User, TOKEN};

fn run(dir: &Path, args: &[&str]) -> crate::harness::Output {
    Moodlec::new(args)
        .current_dir(dir)
        .token(TOKEN)
        .config_home(dir.join("config"))
        .output()
}

/// (status, line, key) of each record's result line.
fn identities(results: &BTreeMap<u64, Value>) -> BTreeMap<u64, (String, Value, Value)> {
    results
        .iter()
        .map(|(record, r)| {
            let status = r["status"].as_str().unwrap_or("?").to_owned();
            (*record, (status, r["line"].clone(), r["key"].clone()))
        })
        .collect()
}

#[test]
fn create_users_results_carry_line_and_username_but_no_password() {
    let sim = Simulator::start(SiteConfig {
        users: {
            let mut users = SiteConfig::default().users;
            users.push(User::new(10, "taken", "someone@example.org"));
            users
        },
        ..SiteConfig::default()
    });
    let dir = harness::scratch("results-lines-users");
    // Line 1 is the header: record N starts on line N + 1.
    let csv = "username,firstname,lastname,email,password\n\
               a001,Ann,One,a001@example.org,Sekr3t!Pw-1\n\
               taken,Tim,Two,tim@example.org,Sekr3t!Pw-2\n\
               BAD,Bea,Three,bea@example.org,Sekr3t!Pw-3\n\
               a004,Al,Four,a004@example.org,Sekr3t!Pw&4\n";
    std::fs::write(dir.join("users.csv"), csv).expect("write data");
    let out = run(
        &dir,
        &[
            "run",
            "-t",
            "create_users",
            "users.csv",
            "--url",
            sim.url(),
            "--results",
            "r.ndjson",
            "--skip-invalid",
        ],
    );
    assert_eq!(out.code, Some(1), "{out:?}");
    let results = results(&dir.join("r.ndjson"));
    assert_eq!(
        identities(&results),
        BTreeMap::from([
            (1, ("applied".into(), json!(2), json!({"username": "a001"}))),
            (2, ("failed".into(), json!(3), json!({"username": "taken"}))),
            // Invalid: the key as the source record has it.
            (3, ("invalid".into(), json!(4), json!({"username": "BAD"}))),
            (4, ("applied".into(), json!(5), json!({"username": "a004"}))),
        ])
    );
    assert!(results[&1]["id"].is_i64(), "{}", results[&1]);
    // Field order: what identifies the record first.
    let text = std::fs::read_to_string(dir.join("r.ndjson")).expect("results");
    let first = text.lines().find(|l| l.contains("a001")).expect("a001's line");
    assert!(
        first.starts_with(r#"{"record":1,"line":2,"key":{"username":"a001"},"status":"applied","id":"#),
        "{first}"
    );
    // No password, in any form, in the results or the journal.
    let journal = std::fs::read_to_string(dir.join("r.ndjson.journal")).expect("journal");
    for secret in ["Sekr3t", "Pw-1", "Pw-3", "Pw%264", "Pw&4"] {
        assert!(!text.contains(secret), "{secret} in the results:\n{text}");
        assert!(!journal.contains(secret), "{secret} in the journal:\n{journal}");
    }
    assert!(!text.contains("password"), "{text}");
}

#[test]
fn enrolment_results_are_keyed_by_user_and_course_and_unreadable_lines_by_line() {
    let sim = Simulator::start(SiteConfig {
        courses: vec![Course::new(2, "C2", 1)],
        users: {
            let mut users = SiteConfig::default().users;
            users.extend((10..13).map(|id| User::new(id, &format!("e{id}"), &format!("e{id}@example.org"))));
            users
        },
        ..SiteConfig::default()
    });
    let dir = harness::scratch("results-lines-enrol");
    let data = "{\"userid\": 10, \"courseid\": 2}\n\
                {\"userid\": 11, \"courseid\":\n\
                {\"userid\": 12, \"courseid\": 2, \"roleid\": 5}\n\
                {\"userid\": 0, \"courseid\": 2}\n";
    std::fs::write(dir.join("enrol.ndjson"), data).expect("write data");
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
            "--skip-invalid",
        ],
    );
    assert_eq!(out.code, Some(1), "{out:?}");
    let results = results(&dir.join("r.ndjson"));
    assert_eq!(
        identities(&results),
        BTreeMap::from([
            (
                1,
                ("applied".into(), json!(1), json!({"userid": 10, "courseid": 2}))
            ),
            // Unreadable: no key, the line says where it is.
            (2, ("invalid".into(), json!(2), Value::Null)),
            (
                3,
                ("applied".into(), json!(3), json!({"userid": 12, "courseid": 2}))
            ),
            (
                4,
                ("invalid".into(), json!(4), json!({"userid": 0, "courseid": 2}))
            ),
        ])
    );
    assert_eq!(results[&2]["error"]["errorcode"], "unreadable", "{}", results[&2]);
}
