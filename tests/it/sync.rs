//! `moodlec plan`, `apply` and `sync` end to end: the real binary against the
//! Moodle simulator, from an empty site to a daily job's second run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::fixtures::results;
use crate::harness::{self, Moodlec, Output};
use crate::simulator::{Course, Simulator, SiteConfig, User, TOKEN};

/// The sync templates of the tests: staff accounts by username (leavers
/// follow `missing`), their enrolments by username and course short name.
fn templates(user_missing: &str, enrol_missing: &str) -> String {
    format!(
        r#"
template staff_users extends create_users "Staff accounts" {{
  map username = "{{{{ username }}}}"
  map firstname = "{{{{ first_name }}}}"
  map lastname = "{{{{ last_name }}}}"
  map email = "{{{{ email }}}}"
  map department = "{{{{ department }}}}"
  map password = "{{{{ password }}}}"
  exclude course, role
  sync users by username
  scope email like "%@staff.example.edu"
  missing {user_missing}
}}

template staff_enrolments extends enrol_users "Staff enrolments" {{
  lookup userid = user by username from "{{{{ username }}}}"
  lookup courseid = course by shortname from "{{{{ course }}}}"
  map roleid = "{{{{ role }}}}"
  exclude first_name, last_name, email, department, password
  sync enrolments
  missing {enrol_missing}
}}

template staff_sync "Staff accounts, then their enrolments" {{
  steps staff_users, staff_enrolments
}}
"#
    )
}

/// One roster line: username, last name, department, course, role.
type Line<'a> = (&'a str, &'a str, &'a str, &'a str, u8);

fn roster(lines: &[Line]) -> String {
    let mut csv = String::from("username,first_name,last_name,email,department,password,course,role\n");
    for (username, last, department, course, role) in lines {
        csv.push_str(&format!(
            "{username},{},{last},{username}@staff.example.edu,{department},Staff-{username}-1!,{course},{role}\n",
            username.to_uppercase()
        ));
    }
    csv
}

/// A folder with the templates and a roster.
fn scratch(name: &str, user_missing: &str, enrol_missing: &str, lines: &[Line]) -> PathBuf {
    let dir = harness::scratch(&format!("sync-{name}"));
    std::fs::create_dir_all(dir.join("templates")).expect("templates folder");
    std::fs::write(
        dir.join("templates/staff.moodle"),
        templates(user_missing, enrol_missing),
    )
    .expect("templates");
    write_roster(&dir, lines);
    dir
}

fn write_roster(dir: &Path, lines: &[Line]) {
    std::fs::write(dir.join("staff.csv"), roster(lines)).expect("roster");
}

/// A site with courses MATH101 (2) and PHYS201 (3).
fn site() -> Simulator {
    let mut config = SiteConfig::default();
    config.courses.push(Course::new(2, "MATH101", 1));
    config.courses.push(Course::new(3, "PHYS201", 1));
    Simulator::start(config)
}

fn moodlec(dir: &Path, sim: &Simulator, args: &[&str]) -> Moodlec {
    Moodlec::new(args)
        .args(["--url", sim.url()])
        .current_dir(dir)
        .token(TOKEN)
        .config_home(dir.join("config"))
}

fn plan_json(dir: &Path, sim: &Simulator, extra: &[&str]) -> (Value, Output) {
    let out = moodlec(
        dir,
        sim,
        &["plan", "-t", "staff_sync", "staff.csv", "--format", "json"],
    )
    .args(extra)
    .output();
    let plan: Value =
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("plan JSON: {e}\n{}", out.all()));
    (plan, out)
}

/// The plan's changes as (action, key) pairs, in plan order.
fn changes(plan: &Value) -> Vec<(String, String)> {
    plan["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["changes"].as_array().cloned().unwrap_or_default())
        .map(|c| {
            let key: Vec<String> = c["key"]
                .as_object()
                .map(|k| k.values().map(|v| v.as_str().unwrap_or("").to_owned()).collect())
                .unwrap_or_default();
            (c["action"].as_str().unwrap_or("").to_owned(), key.join("/"))
        })
        .collect()
}

fn write_calls(sim: &Simulator) -> usize {
    sim.calls()
        .iter()
        .filter(|c| {
            let f = c.function.as_deref().unwrap_or("");
            !(f.contains("_get_") || f == "core_webservice_get_site_info")
        })
        .count()
}

fn sync(dir: &Path, sim: &Simulator, extra: &[&str]) -> Output {
    moodlec(dir, sim, &["sync", "-t", "staff_sync", "staff.csv", "--yes"])
        .args(extra)
        .output()
}

const TEAM: &[Line] = &[
    ("ada", "Lovelace", "Maths", "MATH101", 3),
    ("ada", "Lovelace", "Maths", "PHYS201", 5),
    ("bob", "Builder", "Physics", "PHYS201", 3),
    ("cy", "Young", "Physics", "PHYS201", 5),
];

#[test]
fn first_sync_of_an_empty_site_creates_and_enrols_everyone_then_a_second_plan_is_empty() {
    let dir = scratch("first", "suspend", "suspend", TEAM);
    let sim = site();
    let (plan, out) = plan_json(&dir, &sim, &["--detailed-exitcode"]);
    out.code(4);
    assert_eq!(
        changes(&plan),
        vec![
            ("create".to_owned(), "ada".to_owned()),
            ("create".to_owned(), "bob".to_owned()),
            ("create".to_owned(), "cy".to_owned()),
            ("enrol".to_owned(), "MATH101/ada".to_owned()),
            ("enrol".to_owned(), "PHYS201/ada".to_owned()),
            ("enrol".to_owned(), "PHYS201/bob".to_owned()),
            ("enrol".to_owned(), "PHYS201/cy".to_owned()),
        ]
    );
    assert!(
        !out.stdout.contains("Staff-ada-1!"),
        "a plan never holds a password:\n{}",
        out.stdout
    );
    assert_eq!(write_calls(&sim), 0, "plan changes nothing");

    let out = sync(&dir, &sim, &["--results", "r.ndjson"]);
    out.code(0);
    let state = sim.state();
    let ada = state.user_by_username("ada").expect("ada created");
    assert_eq!(ada.lastname, "Lovelace");
    assert_eq!(
        ada.password.as_deref(),
        Some("Staff-ada-1!"),
        "the password comes from the roster"
    );
    assert_eq!(state.roles_in(2, ada.id).into_iter().collect::<Vec<_>>(), vec![3]);
    assert_eq!(state.roles_in(3, ada.id).into_iter().collect::<Vec<_>>(), vec![5]);
    let cy = state.user_by_username("cy").expect("cy created");
    assert!(state.is_enrolled(3, cy.id));
    let lines = results(&dir.join("r.ndjson"));
    assert_eq!(lines.len(), 7, "one result per change: {lines:?}");
    assert!(lines.values().all(|l| l["status"] == "applied"), "{lines:?}");

    let writes = write_calls(&sim);
    let (plan, out) = plan_json(&dir, &sim, &["--detailed-exitcode"]);
    out.code(0);
    assert_eq!(changes(&plan), Vec::<(String, String)>::new(), "{}", out.stdout);
    assert_eq!(plan["counts"]["unchanged"], 7);
    let out = sync(&dir, &sim, &[]);
    out.code(0).stderr_has("nothing to apply");
    assert_eq!(
        write_calls(&sim),
        writes,
        "an idempotent second run writes nothing"
    );
}

#[test]
fn a_changed_field_is_one_update_with_old_and_new() {
    let dir = scratch("changed", "keep", "keep", TEAM);
    let sim = site();
    sync(&dir, &sim, &[]).code(0);
    let mut team = TEAM.to_vec();
    team[2] = ("bob", "Builder-Smith", "Physics", "PHYS201", 3);
    write_roster(&dir, &team);
    let out = moodlec(&dir, &sim, &["plan", "-t", "staff_sync", "staff.csv"])
        .env("NO_COLOR", "1")
        .output();
    out.code(0)
        .stdout_has("~ 1 to update")
        .stdout_has("username bob")
        .stdout_has(r#"lastname: "Builder" -> "Builder-Smith""#);
    sync(&dir, &sim, &[]).code(0);
    assert_eq!(
        sim.state().user_by_username("bob").unwrap().lastname,
        "Builder-Smith"
    );
    let (plan, _) = plan_json(&dir, &sim, &[]);
    assert!(changes(&plan).is_empty());
}

/// Twenty staff in Moodle; the roster keeps the first `kept`.
fn staff(n: usize) -> Vec<(String, String)> {
    (0..n).map(|i| (format!("s{i:02}"), format!("Name{i}"))).collect()
}

fn seeded(dir: &Path, n: usize) -> Simulator {
    let sim = site();
    let people = staff(n);
    let lines: Vec<Line> = people
        .iter()
        .map(|(u, l)| (u.as_str(), l.as_str(), "Staff", "MATH101", 5))
        .collect();
    write_roster(dir, &lines);
    sync(dir, &sim, &[]).code(0);
    sim
}

fn keep_first(dir: &Path, n: usize, kept: usize) {
    let people = staff(n);
    let lines: Vec<Line> = people[..kept]
        .iter()
        .map(|(u, l)| (u.as_str(), l.as_str(), "Staff", "MATH101", 5))
        .collect();
    write_roster(dir, &lines);
}

#[test]
fn a_leaver_is_kept_suspended_or_deleted_as_the_template_says() {
    // keep: nothing happens.
    let dir = scratch("leaver-keep", "keep", "keep", &[]);
    let sim = seeded(&dir, 10);
    keep_first(&dir, 10, 9);
    let (plan, out) = plan_json(&dir, &sim, &[]);
    out.code(0);
    assert!(changes(&plan).is_empty(), "{}", out.stdout);

    // suspend: one of ten is 10% of the scope, which the rail lets through.
    let dir = scratch("leaver-suspend", "suspend", "keep", &[]);
    let sim = seeded(&dir, 10);
    keep_first(&dir, 10, 9);
    let (plan, _) = plan_json(&dir, &sim, &[]);
    assert_eq!(changes(&plan), vec![("suspend".to_owned(), "s09".to_owned())]);
    sync(&dir, &sim, &[]).code(0);
    assert!(sim.state().user_by_username("s09").unwrap().suspended);
    let (plan, _) = plan_json(&dir, &sim, &[]);
    assert!(changes(&plan).is_empty(), "a suspended leaver stays as it is");

    // delete: needs --allow-delete as well.
    let dir = scratch("leaver-delete", "delete", "keep", &[]);
    let sim = seeded(&dir, 10);
    keep_first(&dir, 10, 9);
    let out = sync(&dir, &sim, &[]);
    out.code(1).stderr_has("--allow-delete");
    assert!(
        sim.state().user_by_username("s09").is_some(),
        "not deleted without --allow-delete"
    );
    sync(&dir, &sim, &["--allow-delete"]).code(0);
    assert!(sim.state().user_by_username("s09").is_none(), "deleted");
}

#[test]
fn the_removal_rail_stops_a_truncated_roster_and_an_empty_one_removes_nothing() {
    let dir = scratch("rail", "suspend", "suspend", &[]);
    let sim = seeded(&dir, 20);
    keep_first(&dir, 20, 5);
    let (plan, out) = plan_json(&dir, &sim, &[]);
    out.code(1);
    assert_eq!(plan["rails"]["stopped"]["rail"], "mass_removal", "{}", out.stdout);
    let writes = write_calls(&sim);
    let out = sync(&dir, &sim, &[]);
    out.code(1).stderr_has("--allow-removals 30");
    assert_eq!(write_calls(&sim), writes, "a stopped plan sends nothing");
    assert!(!sim.state().user_by_username("s19").unwrap().suspended);

    // A header without records: nothing is removed, whatever the rails allow.
    std::fs::write(dir.join("staff.csv"), roster(&[])).unwrap();
    let (plan, out) = plan_json(&dir, &sim, &["--allow-removals", "1000"]);
    out.code(0);
    assert!(changes(&plan).is_empty(), "{}", out.stdout);
    assert!(out.stdout.contains("nothing is removed"), "{}", out.stdout);

    keep_first(&dir, 20, 5);
    sync(&dir, &sim, &["--allow-removals", "30"]).code(0);
    assert!(sim.state().user_by_username("s19").unwrap().suspended);
}

fn user_id(sim: &Simulator, username: &str) -> i64 {
    sim.state()
        .user_by_username(username)
        .unwrap_or_else(|| panic!("no user {username}"))
        .id
}

#[test]
fn a_role_change_assigns_the_new_role_and_unassigns_the_old() {
    let dir = scratch("role", "keep", "keep", TEAM);
    let sim = site();
    sync(&dir, &sim, &[]).code(0);
    let mut team = TEAM.to_vec();
    team[3] = ("cy", "Young", "Physics", "PHYS201", 3);
    write_roster(&dir, &team);
    let (plan, _) = plan_json(&dir, &sim, &[]);
    assert_eq!(
        changes(&plan),
        vec![
            ("assign".to_owned(), "PHYS201/cy".to_owned()),
            ("unassign".to_owned(), "PHYS201/cy".to_owned())
        ]
    );
    sync(&dir, &sim, &[]).code(0);
    let cy = user_id(&sim, "cy");
    assert_eq!(
        sim.state().roles_in(3, cy).into_iter().collect::<Vec<_>>(),
        vec![3]
    );
    let (plan, _) = plan_json(&dir, &sim, &[]);
    assert!(changes(&plan).is_empty());
}

#[test]
fn a_suspended_enrolment_is_reactivated_and_a_leavers_enrolment_suspended() {
    let dir = scratch("enrol-suspend", "keep", "suspend", TEAM);
    let sim = site();
    sync(&dir, &sim, &[]).code(0);
    let bob = user_id(&sim, "bob");
    sim.with_state(|s| s.suspend_enrolment(3, bob, "manual", true));
    let (plan, _) = plan_json(&dir, &sim, &[]);
    assert_eq!(
        changes(&plan),
        vec![("reactivate".to_owned(), "PHYS201/bob".to_owned())]
    );
    sync(&dir, &sim, &[]).code(0);
    assert!(!sim.state().enrolment_by(3, bob, "manual").unwrap().suspended);

    // ada leaves PHYS201 (one of four enrolments there: needs the rail's consent).
    let team: Vec<Line> = TEAM
        .iter()
        .copied()
        .filter(|l| !(l.0 == "ada" && l.3 == "PHYS201"))
        .collect();
    write_roster(&dir, &team);
    let (plan, _) = plan_json(&dir, &sim, &["--allow-removals", "1"]);
    assert_eq!(
        changes(&plan),
        vec![("suspend".to_owned(), "PHYS201/ada".to_owned())]
    );
    sync(&dir, &sim, &["--allow-removals", "1"]).code(0);
    let ada = user_id(&sim, "ada");
    let state = sim.state();
    assert!(state.enrolment_by(3, ada, "manual").unwrap().suspended);
    assert!(state.is_enrolled(2, ada), "her other course is untouched");
    let (plan, _) = plan_json(&dir, &sim, &[]);
    assert!(
        changes(&plan).is_empty(),
        "a suspended leaver stays suspended: {plan}"
    );
}

#[test]
fn an_enrolment_by_another_method_is_reported_kept_never_removed() {
    let dir = scratch("other-method", "keep", "unenrol", TEAM);
    let sim = site();
    sync(&dir, &sim, &[]).code(0);
    // dee was enrolled in PHYS201 by cohort sync, eve manually; neither is in the roster.
    let (dee, eve) = sim.with_state(|s| {
        let dee = s.take_user_id();
        s.users
            .insert(dee, User::new(dee, "dee", "dee@staff.example.edu"));
        s.enrol_by(3, dee, 5, "cohort");
        let eve = s.take_user_id();
        s.users
            .insert(eve, User::new(eve, "eve", "eve@staff.example.edu"));
        s.enrol_by(3, eve, 5, "manual");
        (dee, eve)
    });
    let (plan, _) = plan_json(&dir, &sim, &["--allow-removals", "2"]);
    assert_eq!(
        changes(&plan),
        vec![
            ("unenrol".to_owned(), "PHYS201/dee".to_owned()),
            ("unenrol".to_owned(), "PHYS201/eve".to_owned())
        ]
    );
    let out = sync(&dir, &sim, &["--allow-removals", "2", "--results", "r.ndjson"]);
    out.code(0).stderr_has("1 kept: enrolled by another method");
    let state = sim.state();
    assert!(state.is_enrolled(3, dee), "the cohort enrolment stays");
    assert!(!state.is_enrolled(3, eve), "the manual one is gone");
    let lines = results(&dir.join("r.ndjson"));
    let by_status: BTreeMap<String, String> = lines
        .values()
        .map(|l| {
            (
                l["status"].as_str().unwrap().to_owned(),
                l["error"]["errorcode"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        by_status.get("skipped").map(String::as_str),
        Some("enrolled_by_other_method"),
        "{lines:?}"
    );
    assert!(by_status.contains_key("applied"), "{lines:?}");
}

#[test]
fn a_plan_whose_records_changed_since_is_refused_or_applied_in_part() {
    let dir = scratch("drift", "keep", "keep", TEAM);
    let sim = site();
    sync(&dir, &sim, &[]).code(0);
    let mut team = TEAM.to_vec();
    team[0] = ("ada", "King", "Maths", "MATH101", 3);
    team[1] = ("ada", "King", "Maths", "PHYS201", 5);
    team[2] = ("bob", "Builder-Smith", "Physics", "PHYS201", 3);
    write_roster(&dir, &team);
    moodlec(
        &dir,
        &sim,
        &["plan", "-t", "staff_sync", "staff.csv", "--out", "plan.json"],
    )
    .output()
    .code(0);
    // Someone edits bob in Moodle after the plan.
    let bob = user_id(&sim, "bob");
    sim.with_state(|s| s.users.get_mut(&bob).unwrap().lastname = "Edited".to_owned());
    let out = moodlec(&dir, &sim, &["apply", "plan.json"]).output();
    out.code(1)
        .stderr_has("changed since")
        .stderr_has("--on-drift skip");
    assert_eq!(
        sim.state().user_by_username("ada").unwrap().lastname,
        "Lovelace",
        "nothing applied"
    );
    let out = moodlec(
        &dir,
        &sim,
        &[
            "apply",
            "plan.json",
            "--on-drift",
            "skip",
            "--results",
            "r.ndjson",
        ],
    )
    .output();
    out.code(1);
    let state = sim.state();
    assert_eq!(state.user_by_username("ada").unwrap().lastname, "King");
    assert_eq!(
        state.user_by_username("bob").unwrap().lastname,
        "Edited",
        "the drifted change is not applied"
    );
    let lines = results(&dir.join("r.ndjson"));
    assert!(
        lines.values().any(|l| l["error"]["errorcode"] == "drifted"),
        "{lines:?}"
    );
}

/// A generator for kill moments (SplitMix64), seeded from MOODLEC_TEST_SEED or the clock.
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

fn seed() -> u64 {
    std::env::var("MOODLEC_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        })
}

/// Wait until `journal` records `k` requests started (or the apply ends, or 20 s pass).
fn wait_for_started(journal: &Path, k: usize, child: &mut std::process::Child) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::time::Instant::now() < deadline {
        let started = std::fs::read_to_string(journal)
            .map(|text| text.lines().filter(|l| l.contains("\"start\"")).count())
            .unwrap_or(0);
        if started >= k || child.try_wait().ok().flatten().is_some() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

#[test]
fn kill_9_during_apply_then_resume_applies_every_change_once() {
    let seed = seed();
    let mut rng = Rng(seed);
    eprintln!("kill test seed: {seed} (MOODLEC_TEST_SEED={seed} draws the same kill moments)");
    let people = staff(40);
    let lines: Vec<Line> = people
        .iter()
        .map(|(u, l)| {
            (
                u.as_str(),
                l.as_str(),
                "Staff",
                if u.ends_with('1') { "PHYS201" } else { "MATH101" },
                5,
            )
        })
        .collect();
    let mut killed_midway = 0;
    for trial in 0..8 {
        let dir = scratch(&format!("kill-{trial}"), "keep", "keep", &lines);
        // Small batches, so that a kill can fall between two of them.
        let text = std::fs::read_to_string(dir.join("templates/staff.moodle")).unwrap();
        let text = text.replacen(
            "  sync users by username",
            "  batch size 4\n  sync users by username",
            1,
        );
        std::fs::write(dir.join("templates/staff.moodle"), text).unwrap();
        let sim = site();
        moodlec(
            &dir,
            &sim,
            &["plan", "-t", "staff_sync", "staff.csv", "--out", "plan.json"],
        )
        .output()
        .code(0);
        sim.set_faults(crate::simulator::Faults {
            latency: std::time::Duration::from_millis(20),
            latency_jitter: std::time::Duration::from_millis(20),
            ..crate::simulator::Faults::default()
        });
        let apply = |resume: bool| {
            let mut args = vec!["apply", "plan.json", "--results", "r.ndjson", "--quiet"];
            if resume {
                args.push("--resume");
            }
            moodlec(&dir, &sim, &args).spawn_with(std::process::Stdio::null(), std::process::Stdio::piped())
        };
        let mut child = apply(false);
        if trial % 2 == 0 {
            // Anywhere from start-up to the first batches.
            std::thread::sleep(std::time::Duration::from_millis(rng.below(400)));
        } else {
            // Once the k-th request is journaled, plus up to 40 ms: midway however fast the machine is.
            let k = 1 + rng.below(18) as usize;
            wait_for_started(&dir.join("r.ndjson.journal"), k, &mut child);
            std::thread::sleep(std::time::Duration::from_millis(rng.below(40)));
        }
        let _ = child.kill();
        let _ = child.wait();
        let done = if dir.join("r.ndjson").exists() {
            results(&dir.join("r.ndjson")).len()
        } else {
            0
        };
        // Midway: some request had left (journaled) and not every change had its result.
        let started = std::fs::read_to_string(dir.join("r.ndjson.journal"))
            .map(|text| text.lines().any(|l| l.contains("\"start\"")))
            .unwrap_or(false);
        if started && done < 80 {
            killed_midway += 1;
        }
        // The apply killed before its results file existed starts afresh; otherwise it resumes.
        let resume = dir.join("r.ndjson").exists();
        let out = apply(resume).wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "trial {trial} (MOODLEC_TEST_SEED={seed}, {done} results at the kill): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let lines_written = results(&dir.join("r.ndjson"));
        assert_eq!(
            lines_written.len(),
            80,
            "one result per change (trial {trial}, MOODLEC_TEST_SEED={seed})"
        );
        assert!(
            lines_written.values().all(|l| l["status"] == "applied"),
            "trial {trial} (MOODLEC_TEST_SEED={seed}): {lines_written:?}"
        );
        let state = sim.state();
        for (username, _) in &people {
            let user = state
                .user_by_username(username)
                .unwrap_or_else(|| panic!("{username} missing"));
            let course = if username.ends_with('1') { 3 } else { 2 };
            assert!(
                state.is_enrolled(course, user.id),
                "{username} enrolled (trial {trial})"
            );
        }
        let refused = sim
            .calls()
            .iter()
            .filter(|c| matches!(c.outcome, crate::simulator::Outcome::Rejected { .. }))
            .count();
        assert_eq!(
            refused, 0,
            "trial {trial} (MOODLEC_TEST_SEED={seed}): a change was sent again after it was applied"
        );
        let (plan, _) = plan_json(&dir, &sim, &[]);
        assert!(
            changes(&plan).is_empty(),
            "trial {trial}: in sync after the resume"
        );
    }
    assert!(
        killed_midway >= 2,
        "{killed_midway} of 8 kills hit an apply midway (MOODLEC_TEST_SEED={seed})"
    );
}

#[test]
fn two_overlapping_syncs_of_one_site_and_template_cannot_run() {
    let dir = scratch("lock", "keep", "keep", TEAM);
    let sim = site();
    sim.set_faults(crate::simulator::Faults {
        latency: std::time::Duration::from_millis(300),
        ..crate::simulator::Faults::default()
    });
    let first = moodlec(
        &dir,
        &sim,
        &["sync", "-t", "staff_sync", "staff.csv", "--yes", "--quiet"],
    )
    .spawn_with(std::process::Stdio::null(), std::process::Stdio::piped());
    // The first holds the lock from its start to its end (several calls of 300 ms).
    std::thread::sleep(std::time::Duration::from_millis(400));
    let second = sync(&dir, &sim, &[]);
    second
        .code(2)
        .stderr_has("another sync `staff_sync`")
        .stderr_has("is running");
    let first = first.wait_with_output().unwrap();
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    sim.set_faults(crate::simulator::Faults::default());
    sync(&dir, &sim, &[]).code(0).stderr_has("nothing to apply");
}

/// examples/staff-sync: Monday's export synced into an empty site, then
/// Tuesday's plan (a new hire, a new surname, a leaver, a new teacher) is
/// exactly the one the example shows.
#[test]
fn the_staff_sync_example_plans_what_its_expected_files_show() {
    let root = harness::repo_root();
    let example = root.join("examples/staff-sync");
    let config = harness::scratch("sync-example");
    let mut site = SiteConfig::default();
    site.courses.push(Course::new(2, "MATH101", 1));
    site.courses.push(Course::new(3, "PHYS201", 1));
    site.courses.push(Course::new(4, "CHEM301", 1));
    let sim = Simulator::start(site);
    let run = |args: &[&str]| {
        Moodlec::new(args)
            .args(["--url", sim.url()])
            .current_dir(&root)
            .token(TOKEN)
            .config_home(config.join("config"))
            .env("NO_COLOR", "1")
            .output()
    };
    let template = "examples/staff-sync/staff_sync.moodle";
    run(&[
        "sync",
        "-t",
        template,
        "examples/staff-sync/monday.csv",
        "--yes",
        "--quiet",
    ])
    .code(0);
    assert_eq!(
        sim.state()
            .users
            .values()
            .filter(|u| u.email.ends_with("@staff.example.edu"))
            .count(),
        20
    );
    for (format, file) in [("human", "tuesday.plan.txt"), ("markdown", "tuesday.plan.md")] {
        let out = run(&[
            "plan",
            "-t",
            template,
            "examples/staff-sync/tuesday.csv",
            "--format",
            format,
        ]);
        out.code(0);
        let shown = out.stdout.replace(sim.url(), "https://moodle.example.edu");
        let expected_path = example.join("expected").join(file);
        if harness::bless() {
            std::fs::write(&expected_path, &shown).unwrap();
        }
        let expected = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|e| panic!("{}: {e} (BLESS=1 writes it)", expected_path.display()));
        assert_eq!(shown, expected, "{file} (BLESS=1 rewrites it; review the diff)");
    }
    run(&[
        "sync",
        "-t",
        template,
        "examples/staff-sync/tuesday.csv",
        "--yes",
        "--quiet",
    ])
    .code(0);
    let state = sim.state();
    let frances = state.users.values().find(|u| u.idnumber == "E1007").unwrap();
    assert!(frances.suspended, "the leaver is suspended");
    let edsger = state.users.values().find(|u| u.idnumber == "E1004").unwrap();
    assert_eq!(edsger.lastname, "Dijkstra-Wybe");
    assert!(
        state.users.values().any(|u| u.idnumber == "E1021"),
        "the new hire exists"
    );
    let out = run(&[
        "plan",
        "-t",
        template,
        "examples/staff-sync/tuesday.csv",
        "--detailed-exitcode",
    ]);
    // 20 people and 21 enrolment lines, all as Moodle holds them now.
    out.code(0).stdout_has("= 41 unchanged");
}

#[test]
fn plan_json_follows_its_documented_schema() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(harness::repo_root().join("docs/plan.schema.json")).unwrap(),
    )
    .unwrap();
    jsonschema::meta::validate(&schema).expect("the schema conforms to the meta-schema");
    let validator = jsonschema::draft202012::options().build(&schema).expect("schema");
    let dir = scratch("schema", "suspend", "suspend", TEAM);
    let sim = site();
    // An empty site (creates, enrols), then a role change, an update and removals.
    let (plan, _) = plan_json(&dir, &sim, &[]);
    let errors: Vec<String> = validator
        .iter_errors(&plan)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{plan}");
    sync(&dir, &sim, &[]).code(0);
    write_roster(
        &dir,
        &[
            ("ada", "King", "Maths", "MATH101", 5),
            ("bob", "Builder", "Physics", "PHYS201", 3),
        ],
    );
    let (plan, _) = plan_json(&dir, &sim, &[]);
    assert_eq!(plan["rails"]["stopped"]["rail"], "mass_removal", "{plan}");
    let errors: Vec<String> = validator
        .iter_errors(&plan)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{plan}");
    for action in ["update", "assign", "unassign", "suspend"] {
        assert!(
            plan["counts"]["changes"][action].as_u64() >= Some(1),
            "{action} in {plan}"
        );
    }
}

#[test]
fn courses_are_created_updated_and_deleted_only_when_asked() {
    let dir = harness::scratch("sync-courses");
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::write(
        dir.join("templates/catalogue.moodle"),
        r#"
template catalogue extends create_courses "Courses of category 1 from the catalogue" {
  sync courses by shortname
  update fullname
  scope categoryid = 1
  missing delete
}
"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("catalogue.ndjson"),
        concat!(
            r#"{"shortname": "MATH101", "fullname": "Mathematics I", "categoryid": 1}"#,
            "\n",
            r#"{"shortname": "CHEM301", "fullname": "Chemistry III", "categoryid": 1}"#,
            "\n"
        ),
    )
    .unwrap();
    let sim = site();
    let plan = |extra: &[&str]| {
        let out = moodlec(
            &dir,
            &sim,
            &["plan", "-t", "catalogue", "catalogue.ndjson", "--format", "json"],
        )
        .args(extra)
        .output();
        let plan: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.all()));
        (plan, out)
    };
    let (p, out) = plan(&[]);
    assert_eq!(
        changes(&p),
        vec![
            ("create".to_owned(), "CHEM301".to_owned()),
            ("update".to_owned(), "MATH101".to_owned()),
            ("delete".to_owned(), "PHYS201".to_owned())
        ],
        "{}",
        out.stdout
    );
    let sync = |extra: &[&str]| {
        moodlec(
            &dir,
            &sim,
            &["sync", "-t", "catalogue", "catalogue.ndjson", "--yes"],
        )
        .args(extra)
        .output()
    };
    sync(&["--allow-removals", "1"])
        .code(1)
        .stderr_has("--allow-delete");
    assert!(sim.state().course_by_shortname("PHYS201").is_some());
    sync(&["--allow-removals", "1", "--allow-delete"]).code(0);
    let state = sim.state();
    assert_eq!(
        state.course_by_shortname("MATH101").unwrap().fullname,
        "Mathematics I"
    );
    assert!(state.course_by_shortname("CHEM301").is_some());
    assert!(
        state.course_by_shortname("PHYS201").is_none(),
        "deleted when asked"
    );
    let (p, out) = plan(&["--detailed-exitcode"]);
    out.code(0);
    assert!(changes(&p).is_empty());
}

#[test]
fn suspending_an_enrolment_kept_active_by_another_method_is_reported_kept() {
    let dir = scratch("other-method-suspend", "keep", "suspend", TEAM);
    let sim = site();
    sync(&dir, &sim, &[]).code(0);
    let dee = sim.with_state(|s| {
        let dee = s.take_user_id();
        s.users
            .insert(dee, User::new(dee, "dee", "dee@staff.example.edu"));
        s.enrol_by(3, dee, 5, "cohort");
        dee
    });
    let out = sync(&dir, &sim, &["--allow-removals", "1", "--results", "r.ndjson"]);
    out.code(0).stderr_has("1 kept: enrolled by another method");
    assert!(
        sim.state().is_active(3, dee, 0),
        "the cohort enrolment keeps dee active"
    );
    let lines = results(&dir.join("r.ndjson"));
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = lines.values().next().unwrap();
    assert_eq!(line["status"], "skipped");
    assert_eq!(line["error"]["errorcode"], "enrolled_by_other_method");
}

#[test]
fn apply_refuses_another_site_a_changed_template_and_a_changed_roster() {
    let dir = scratch("apply-refuses", "keep", "keep", TEAM);
    let sim = site();
    moodlec(
        &dir,
        &sim,
        &["plan", "-t", "staff_sync", "staff.csv", "--out", "plan.json"],
    )
    .output()
    .code(0);
    let other = site();
    moodlec(&dir, &other, &["apply", "plan.json"])
        .output()
        .code(2)
        .stderr_has("the plan was computed against");
    // The creates take their passwords from the roster: it must be the planned one.
    let original = std::fs::read_to_string(dir.join("staff.csv")).unwrap();
    std::fs::write(dir.join("staff.csv"), original.replace("Builder", "Builds")).unwrap();
    moodlec(&dir, &sim, &["apply", "plan.json"])
        .output()
        .code(2)
        .stderr_has("changed since the plan");
    std::fs::write(dir.join("staff.csv"), &original).unwrap();
    let templates = std::fs::read_to_string(dir.join("templates/staff.moodle")).unwrap();
    std::fs::write(
        dir.join("templates/staff.moodle"),
        templates.replace(
            "missing keep\n}\n\ntemplate staff_enrolments",
            "missing suspend\n}\n\ntemplate staff_enrolments",
        ),
    )
    .unwrap();
    moodlec(&dir, &sim, &["apply", "plan.json"])
        .output()
        .code(2)
        .stderr_has("changed since the plan was computed");
    assert_eq!(
        write_calls(&sim) + write_calls(&other),
        0,
        "nothing was sent anywhere"
    );
    std::fs::write(dir.join("templates/staff.moodle"), templates).unwrap();
    moodlec(&dir, &sim, &["apply", "plan.json"]).output().code(0);
    assert!(sim.state().user_by_username("bob").is_some());
}

#[test]
fn a_named_site_of_the_config_file_is_enough_without_url() {
    let dir = scratch("named-site", "keep", "keep", TEAM);
    let sim = site();
    std::fs::create_dir_all(dir.join("config/moodlec")).unwrap();
    std::fs::write(
        dir.join("config/moodlec/config.toml"),
        format!("[site.school]\nurl = \"{}\"\n", sim.url()),
    )
    .unwrap();
    Moodlec::new([
        "sync",
        "-t",
        "staff_sync",
        "staff.csv",
        "--site",
        "school",
        "--yes",
    ])
    .current_dir(&dir)
    .token(TOKEN)
    .config_home(dir.join("config"))
    .output()
    .code(0);
    assert!(sim.state().user_by_username("ada").is_some());
}

#[test]
fn a_sync_stopped_midway_is_run_again_not_resumed() {
    let dir = scratch("rerun", "keep", "keep", TEAM);
    let sim = site();
    sync(&dir, &sim, &["--results", "r.ndjson", "--resume"])
        .code(2)
        .stderr_has("sync does not resume");
    // A sync that dies after some of its changes: the next one plans the rest.
    // Its second write call (the enrolments, after the accounts) meets a
    // redirect moodlec does not follow: the sync stops there.
    sim.set_faults(crate::simulator::Faults {
        fail_writes: vec![(2, crate::simulator::Fault::RedirectHere(302))],
        ..crate::simulator::Faults::default()
    });
    sync(&dir, &sim, &[]).code(3);
    sim.set_faults(crate::simulator::Faults::default());
    let (plan, _) = plan_json(&dir, &sim, &[]);
    let remaining = changes(&plan).len();
    assert!(remaining < 7, "the first sync applied something: {plan}");
    sync(&dir, &sim, &[]).code(0);
    let (plan, _) = plan_json(&dir, &sim, &[]);
    assert!(changes(&plan).is_empty());
    assert_eq!(
        sim.state().user_by_username("cy").map(|u| u.lastname.clone()),
        Some("Young".to_owned())
    );
}
