//! The built-ins of issue 12 item 4, end to end: the real binary (`moodlec
//! run -t NAME` for writes, `moodlec fetch -t NAME` for reads) against the
//! Moodle simulator, asserting what the simulator then holds or answered.
//! Errors the built-ins' own checks would stop before sending are pinned
//! over raw HTTP, like simulator_sync.rs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::fixtures::results;
use crate::harness::{self, Moodlec, Output};
use crate::simulator::raw;
use crate::simulator::{role, Category, Cohort, Course, Module, Simulator, SiteConfig, User, TOKEN};

/// A fresh folder for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = harness::scratch(&format!("builtins-{name}"));
    std::fs::create_dir_all(dir.join("templates")).expect("templates folder");
    dir
}

/// Users 3 (ann), 4 (bob), 5 (cy); courses 2 (`C1`) and 3 (`C2`) in
/// category 1 (idnumber `CAT1`); ann and bob enrolled in C1 as students;
/// debugging on so that reasons show.
fn school() -> SiteConfig {
    let mut config = SiteConfig {
        debug: true,
        ..SiteConfig::default()
    };
    config.categories = vec![Category::new(1, "Category 1").with_idnumber("CAT1")];
    config
        .users
        .push(User::new(3, "ann", "ann@example.org").with_name("Ann", "Lee"));
    config
        .users
        .push(User::new(4, "bob", "bob@example.org").with_name("Bob", "Lane"));
    config
        .users
        .push(User::new(5, "cy", "cy@other.net").with_name("Cy", "Lee"));
    config
        .courses
        .push(Course::new(2, "C1", 1).with_fullname("Course one"));
    config.courses.push(Course::new(3, "C2", 1));
    config
}

fn start() -> Simulator {
    let sim = Simulator::start(school());
    sim.with_state(|s| {
        s.enrol(2, 3, role::STUDENT);
        s.enrol(2, 4, role::STUDENT);
    });
    sim
}

/// `moodlec run -t TEMPLATE data.ndjson --url SIM --results r.ndjson`: the
/// output and the results by record number.
fn run(sim: &Simulator, name: &str, template: &str, records: &[Value]) -> (Output, BTreeMap<u64, Value>) {
    run_with(sim, name, template, records, &[])
}

/// `run` with more arguments.
fn run_with(
    sim: &Simulator,
    name: &str,
    template: &str,
    records: &[Value],
    args: &[&str],
) -> (Output, BTreeMap<u64, Value>) {
    let dir = scratch(name);
    let data: String = records.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(dir.join("data.ndjson"), data).expect("data");
    let out = Moodlec::new(["run", "-t", template, "data.ndjson", "--url", sim.url()])
        .args(["--results", "r.ndjson"])
        .args(args)
        .current_dir(&dir)
        .token(TOKEN)
        .config_home(dir.join("config"))
        .output();
    let results = if dir.join("r.ndjson").exists() {
        results(&dir.join("r.ndjson"))
    } else {
        BTreeMap::new()
    };
    (out, results)
}

/// `moodlec fetch -t TEMPLATE ARGS --url SIM`: the output records.
fn fetch(sim: &Simulator, name: &str, template: &str, args: &[&str]) -> (Output, Vec<Value>) {
    let dir = scratch(name);
    fetch_in(&dir, sim, template, args)
}

fn fetch_in(dir: &Path, sim: &Simulator, template: &str, args: &[&str]) -> (Output, Vec<Value>) {
    let out = Moodlec::new(["fetch", "-t", template])
        .args(args)
        .args(["--url", sim.url()])
        .current_dir(dir)
        .token(TOKEN)
        .output();
    let records = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad line {l:?}: {e}\n{out:?}")))
        .collect();
    (out, records)
}

fn calls_of(sim: &Simulator, function: &str) -> usize {
    sim.calls()
        .iter()
        .filter(|c| c.function.as_deref() == Some(function))
        .count()
}

fn statuses(results: &BTreeMap<u64, Value>) -> Vec<String> {
    results
        .values()
        .map(|r| r["status"].as_str().unwrap_or("?").to_owned())
        .collect()
}

/// A raw call as moodlec makes it (control parameters in the query).
fn call(sim: &Simulator, function: &str, pairs: &[(&str, &str)]) -> Value {
    let query = raw::form(&[
        ("wstoken", TOKEN),
        ("wsfunction", function),
        ("moodlewsrestformat", "json"),
    ]);
    let response = raw::post_form(
        sim.url(),
        &format!("/webservice/rest/server.php?{query}"),
        &raw::form(pairs),
    )
    .expect("an answer");
    assert_eq!(response.status, 200, "{}", response.body);
    response.json()
}

// ---- write built-ins ----

#[test]
fn create_categories_creates_them_and_a_taken_idnumber_rolls_the_call_back() {
    let sim = start();
    let (out, results) = run(
        &sim,
        "create-categories",
        "create_categories",
        &[
            json!({"name": "Science", "idnumber": "SCI"}),
            json!({"name": "Physics", "parent": 1, "description": "Labs", "descriptionformat": 2}),
        ],
    );
    out.code(0);
    assert_eq!(statuses(&results), ["applied", "applied"]);
    let state = sim.state();
    let science = state
        .categories
        .values()
        .find(|c| c.name == "Science")
        .expect("created");
    assert_eq!((science.parent, science.idnumber.as_str()), (0, "SCI"));
    assert_eq!(results[&1]["id"], science.id, "the result carries the new id");
    let physics = state
        .categories
        .values()
        .find(|c| c.name == "Physics")
        .expect("created");
    assert_eq!(
        (
            physics.parent,
            physics.description.as_str(),
            physics.descriptionformat
        ),
        (1, "Labs", 2)
    );
    assert_eq!(state.category_path(physics.id), format!("/1/{}", physics.id));

    // CAT1 is taken: Moodle refuses the call, the batch's other category is
    // not created either.
    let (out, results) = run(
        &sim,
        "create-categories-taken",
        "create_categories",
        &[
            json!({"name": "Arts"}),
            json!({"name": "Again", "idnumber": "CAT1"}),
        ],
    );
    out.code(1);
    assert!(results.values().all(|r| r["status"] == "failed"), "{results:?}");
    assert!(
        results
            .values()
            .any(|r| r["error"]["errorcode"] == "categoryidnumbertaken"),
        "{results:?}"
    );
    assert!(!sim.state().categories.values().any(|c| c.name == "Arts"));

    // A parent that does not exist: Moodle's own spelling of the code.
    let answer = call(
        &sim,
        "core_course_create_categories",
        &[("categories[0][name]", "X"), ("categories[0][parent]", "99")],
    );
    assert_eq!(answer["errorcode"], "unknowcategory", "{answer}");
}

#[test]
fn update_categories_renames_and_moves_and_refuses_a_move_below_itself() {
    let sim = start();
    sim.with_state(|s| {
        s.categories.insert(7, Category::new(7, "Old name"));
        s.categories.insert(8, Category::new(8, "Child").with_parent(7));
    });
    let (out, results) = run(
        &sim,
        "update-categories",
        "update_categories",
        &[json!({"id": 7, "name": "New name", "idnumber": "N7", "parent": 1})],
    );
    out.code(0);
    assert_eq!(statuses(&results), ["applied"]);
    let state = sim.state();
    let seven = &state.categories[&7];
    assert_eq!(
        (seven.name.as_str(), seven.idnumber.as_str(), seven.parent),
        ("New name", "N7", 1)
    );
    assert_eq!(state.category_path(8), "/1/7/8", "the child moved with it");

    let answer = call(
        &sim,
        "core_course_update_categories",
        &[("categories[0][id]", "7"), ("categories[0][parent]", "8")],
    );
    assert_eq!(answer["errorcode"], "cannotmovecategory", "{answer}");
    let answer = call(
        &sim,
        "core_course_update_categories",
        &[("categories[0][id]", "77"), ("categories[0][name]", "x")],
    );
    assert_eq!(answer["errorcode"], "unknowncategory", "{answer}");
    let answer = call(
        &sim,
        "core_course_update_categories",
        &[("categories[0][id]", "8"), ("categories[0][idnumber]", "N7")],
    );
    assert_eq!(answer["errorcode"], "categoryidnumbertaken", "{answer}");
    assert_eq!(
        sim.state().categories[&8].parent,
        7,
        "a refused call changes nothing"
    );
}

#[test]
fn create_groups_answers_the_new_groups_and_refuses_a_name_used_in_the_course() {
    let sim = start();
    let (out, results) = run(
        &sim,
        "create-groups",
        "create_groups",
        &[
            json!({"courseid": 2, "name": "Group A", "idnumber": "GA", "visibility": 1}),
            json!({"courseid": 3, "name": "Group A", "enrolmentkey": "k3y", "participation": 0}),
        ],
    );
    out.code(0);
    assert_eq!(statuses(&results), ["applied", "applied"]);
    let state = sim.state();
    let a = state
        .groups
        .values()
        .find(|g| g.courseid == 2)
        .expect("group in C1");
    assert_eq!(
        (
            a.name.as_str(),
            a.idnumber.as_str(),
            a.visibility,
            a.description.as_str()
        ),
        ("Group A", "GA", 1, "")
    );
    assert_eq!(results[&1]["id"], a.id);
    let b = state
        .groups
        .values()
        .find(|g| g.courseid == 3)
        .expect("group in C2");
    assert_eq!((b.enrolmentkey.as_str(), b.participation), ("k3y", false));

    // The same name in the same course: an invalid_parameter_exception that
    // rolls back the whole call.
    let (out, results) = run(
        &sim,
        "create-groups-taken",
        "create_groups",
        &[
            json!({"courseid": 3, "name": "Group B"}),
            json!({"courseid": 2, "name": "Group A"}),
        ],
    );
    out.code(1);
    assert!(results.values().any(|r| r["error"]["debuginfo"]
        .as_str()
        .is_some_and(|d| d.contains("Group with the same name already exists in the course"))));
    assert_eq!(sim.state().groups.len(), 2, "Group B was rolled back");
    let answer = call(
        &sim,
        "core_group_create_groups",
        &[
            ("groups[0][courseid]", "99"),
            ("groups[0][name]", "G"),
            ("groups[0][description]", ""),
        ],
    );
    assert_eq!(answer["errorcode"], "errorcoursecontextnotvalid", "{answer}");
}

#[test]
fn group_members_are_added_only_when_enrolled_and_removed() {
    let sim = start();
    let groupid = sim.with_state(|s| s.add_group(2, "Group A"));
    let (out, results) = run(
        &sim,
        "add-group-members",
        "add_group_members",
        &[
            json!({"groupid": groupid, "userid": 3}),
            json!({"groupid": groupid, "userid": 4}),
        ],
    );
    out.code(0);
    assert_eq!(statuses(&results), ["applied", "applied"]);
    assert_eq!(
        sim.state().groups[&groupid]
            .members
            .iter()
            .copied()
            .collect::<Vec<_>>(),
        [3, 4]
    );

    // cy is not enrolled in C1: the call fails whole.
    let (out, results) = run(
        &sim,
        "add-group-members-refused",
        "add_group_members",
        &[json!({"groupid": groupid, "userid": 5})],
    );
    out.code(1);
    assert_eq!(
        results[&1]["error"]["debuginfo"], "Only enrolled users may be members of groups",
        "{results:?}"
    );
    let answer = call(
        &sim,
        "core_group_add_group_members",
        &[("members[0][groupid]", "99"), ("members[0][userid]", "3")],
    );
    assert_eq!(answer["errorcode"], "invalidrecord", "{answer}");

    let (out, results) = run(
        &sim,
        "delete-group-members",
        "delete_group_members",
        &[
            json!({"groupid": groupid, "userid": 3}),
            json!({"groupid": groupid, "userid": 5}),
        ],
    );
    out.code(0);
    assert_eq!(
        statuses(&results),
        ["applied", "applied"],
        "removing a non-member is harmless"
    );
    assert_eq!(
        sim.state().groups[&groupid]
            .members
            .iter()
            .copied()
            .collect::<Vec<_>>(),
        [4]
    );
    sim.with_state(|s| {
        s.groups.get_mut(&groupid).unwrap().plugin_members.insert(4);
    });
    let answer = call(
        &sim,
        "core_group_delete_group_members",
        &[
            ("members[0][groupid]", &groupid.to_string()),
            ("members[0][userid]", "4"),
        ],
    );
    assert_eq!(answer["errorcode"], "errorremovenotpermitted", "{answer}");
}

#[test]
fn delete_cohort_members_removes_them_and_an_unknown_cohort_rolls_back() {
    let sim = start();
    sim.with_state(|s| {
        let mut cohort = Cohort::new(1, "Staff", "STAFF");
        cohort.members.extend([3, 4, 5]);
        s.add_cohort(cohort);
    });
    let (out, results) = run(
        &sim,
        "delete-cohort-members",
        "delete_cohort_members",
        &[
            json!({"cohortid": 1, "userid": 3}),
            json!({"cohortid": 1, "userid": 4}),
        ],
    );
    out.code(0);
    assert_eq!(statuses(&results), ["applied", "applied"]);
    assert_eq!(
        sim.state().cohorts[&1]
            .members
            .iter()
            .copied()
            .collect::<Vec<_>>(),
        [5]
    );
    // The unknown cohort fails the call (Moodle rolls it back); the runner
    // then sends the records one by one, so cy's removal is applied alone.
    let (out, results) = run(
        &sim,
        "delete-cohort-members-unknown",
        "delete_cohort_members",
        &[
            json!({"cohortid": 1, "userid": 5}),
            json!({"cohortid": 9, "userid": 5}),
        ],
    );
    out.code(1);
    assert_eq!(statuses(&results), ["applied", "failed"]);
    assert_eq!(results[&2]["error"]["errorcode"], "invalidrecord");
    assert!(sim.state().cohorts[&1].members.is_empty());
    assert_eq!(
        calls_of(&sim, "core_cohort_delete_cohort_members"),
        4,
        "the first run's call; this run's call, then its 2 records alone"
    );
}

#[test]
fn send_messages_stores_each_message_from_the_tokens_user() {
    let sim = start();
    let (out, results) = run(
        &sim,
        "send-messages",
        "send_messages",
        &[
            json!({"touserid": 3, "text": "Welcome!", "clientmsgid": "m-1"}),
            json!({"touserid": 4, "text": "<p>Hi</p>", "textformat": 1}),
        ],
    );
    out.code(0);
    assert_eq!(statuses(&results), ["applied", "applied"]);
    let state = sim.state();
    assert_eq!(state.messages.len(), 2);
    let first = &state.messages[0];
    assert_eq!(
        (first.useridfrom, first.useridto, first.text.as_str()),
        (2, 3, "Welcome!")
    );
    assert_ne!(
        first.conversationid, state.messages[1].conversationid,
        "one conversation per pair"
    );

    // An unknown recipient is not an error of the call: its result says
    // -1 with an errormessage, and that record failed (nothing was sent).
    let (out, results) = run(
        &sim,
        "send-messages-unknown",
        "send_messages",
        &[
            json!({"touserid": 99, "text": "Lost"}),
            json!({"touserid": 3, "text": "Found"}),
        ],
    );
    out.code(1);
    assert_eq!(statuses(&results), ["failed", "applied"]);
    let first = results.values().next().unwrap();
    assert_eq!(first["error"]["errorcode"], "not_applied");
    assert!(
        first["error"]["message"]
            .as_str()
            .unwrap()
            .contains("doesn't exist"),
        "{first}"
    );
    assert_eq!(
        sim.state().messages.len(),
        3,
        "only the message to a known user was sent"
    );
    let answer = call(
        &sim,
        "core_message_send_instant_messages",
        &[
            ("messages[0][touserid]", "99"),
            ("messages[0][text]", "x"),
            ("messages[0][clientmsgid]", "c9"),
        ],
    );
    assert_eq!(
        answer,
        json!([{"msgid": -1, "clientmsgid": "c9", "errormessage": "You can not send a message to a user id (99) that doesn't exist"}])
    );
    assert_eq!(sim.state().messages.len(), 3);
}

#[test]
fn create_notes_stores_notes_by_publish_state() {
    let sim = start();
    let (out, results) = run(
        &sim,
        "create-notes",
        "create_notes",
        &[
            json!({"userid": 3, "publishstate": "course", "courseid": 2, "text": "Good work", "clientnoteid": "n1"}),
            json!({"userid": 4, "publishstate": "site", "courseid": 2, "text": "Left early"}),
            json!({"userid": 4, "publishstate": "personal", "courseid": 3, "text": "Ask", "format": 2}),
        ],
    );
    out.code(0);
    assert_eq!(statuses(&results), ["applied", "applied", "applied"]);
    let notes = sim.state().notes;
    let summary: Vec<(i64, i64, &str, &str)> = notes
        .iter()
        .map(|n| (n.userid, n.courseid, n.publishstate.as_str(), n.content.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (3, 2, "public", "Good work"),
            (4, 1, "site", "Left early"),
            (4, 3, "draft", "Ask")
        ]
    );
    let answer = call(
        &sim,
        "core_notes_create_notes",
        &[
            ("notes[0][userid]", "3"),
            ("notes[0][publishstate]", "course"),
            ("notes[0][courseid]", "99"),
            ("notes[0][text]", "x"),
        ],
    );
    assert_eq!(
        answer,
        json!([{"clientnoteid": "", "noteid": -1, "errormessage": "You are trying to use an invalid course ID"}])
    );
    // Through the runner, such a note is failed, not applied.
    let (out, results) = run(
        &sim,
        "create-notes-refused",
        "create_notes",
        &[json!({"userid": 3, "publishstate": "course", "courseid": 99, "text": "x"})],
    );
    out.code(1);
    assert_eq!(statuses(&results), ["failed"]);
    assert_eq!(sim.state().notes.len(), 3, "no note was created");
}

// ---- read built-ins ----

#[test]
fn users_matches_criteria_and_emits_one_record_per_user() {
    let sim = start();
    let (out, records) = fetch(
        &sim,
        "users",
        "users",
        &["--param", "lastname=lee", "--param", "email=%@example.org"],
    );
    out.code(0);
    let names: Vec<&str> = records.iter().map(|r| r["username"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["ann"],
        "lastname LIKE 'lee' AND email LIKE '%@example.org'"
    );
    assert_eq!(records[0]["email"], "ann@example.org");
    assert_eq!(calls_of(&sim, "core_user_get_users"), 1);
}

#[test]
fn user_courses_lists_active_enrolments_with_the_user_count() {
    let sim = start();
    sim.with_state(|s| {
        s.enrol(3, 3, role::STUDENT);
        s.suspend_enrolment(3, 3, "manual", true);
    });
    let (out, records) = fetch(&sim, "user-courses", "user_courses", &["--param", "userid=3"]);
    out.code(0);
    assert_eq!(
        records.len(),
        1,
        "the suspended enrolment in C2 is left out: {records:?}"
    );
    assert_eq!(
        (
            &records[0]["id"],
            &records[0]["shortname"],
            &records[0]["enrolledusercount"],
            &records[0]["userid"]
        ),
        (&json!(2), &json!("C1"), &json!(2), &json!(3))
    );
    let (_, records) = fetch(
        &sim,
        "user-courses-nobody",
        "user_courses",
        &["--param", "userid=99"],
    );
    assert!(records.is_empty());
}

#[test]
fn course_groups_lists_the_groups_by_name() {
    let sim = start();
    sim.with_state(|s| {
        s.add_group(2, "Zeta");
        s.add_group(2, "Alpha");
        s.add_group(3, "Other course");
    });
    let (out, records) = fetch(&sim, "course-groups", "course_groups", &["--param", "courseid=2"]);
    out.code(0);
    let names: Vec<&str> = records.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Alpha", "Zeta"]);
    assert_eq!(records[0]["participation"], true);
    let (out, _) = fetch(
        &sim,
        "course-groups-missing",
        "course_groups",
        &["--param", "courseid=99"],
    );
    out.code(1).stderr_has("errorcoursecontextnotvalid");
}

#[test]
fn cohorts_returns_every_cohort_or_the_ids_asked_for_in_one_call() {
    let sim = start();
    sim.with_state(|s| {
        s.add_cohort(Cohort::new(1, "Staff", "STAFF"));
        s.add_cohort(Cohort::new(2, "Students", "STU"));
        s.add_cohort(Cohort::new(3, "Alumni", "ALU"));
    });
    let (out, records) = fetch(&sim, "cohorts-all", "cohorts", &[]);
    out.code(0);
    assert_eq!(records.len(), 3, "{out:?}");
    let dir = scratch("cohorts-ids");
    std::fs::write(dir.join("ids.csv"), "id\n3\n1\n42\n").unwrap();
    let (out, records) = fetch_in(&dir, &sim, "cohorts", &["ids.csv"]);
    out.code(0);
    let names: Vec<&str> = records.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Staff", "Alumni"], "an unknown id is simply absent");
    assert_eq!(
        calls_of(&sim, "core_cohort_get_cohorts"),
        2,
        "three ids, one call"
    );
}

#[test]
fn enrolment_methods_lists_the_self_enrolment_of_a_course() {
    let sim = start();
    sim.with_state(|s| {
        s.add_instance(2, "self");
    });
    let (out, records) = fetch(
        &sim,
        "enrolment-methods",
        "enrolment_methods",
        &["--param", "courseid=2"],
    );
    out.code(0);
    assert_eq!(records.len(), 1, "manual instances are not listed: {records:?}");
    assert_eq!(
        (&records[0]["type"], &records[0]["courseid"]),
        (&json!("self"), &json!(2))
    );
}

#[test]
fn course_contents_emits_sections_with_their_modules() {
    let sim = start();
    sim.with_state(|s| {
        s.add_module(Module::new(15, 2, 1, "assign", 1, "Essay"));
        s.add_module(Module::new(16, 2, 1, "forum", 1, "Q&A"));
        s.add_module(Module::new(17, 2, 2, "quiz", 1, "Test"));
    });
    let (out, records) = fetch(
        &sim,
        "course-contents",
        "course_contents",
        &["--param", "courseid=2"],
    );
    out.code(0);
    assert_eq!(records.len(), 5, "sections 0 to 4");
    assert_eq!(records[1]["section"], 1);
    let modules: Vec<&str> = records[1]["modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(modules, ["Essay", "Q&A"]);
    assert_eq!(records[1]["courseid"], 2, "annotated with the course");
    let (out, records) = fetch(
        &sim,
        "course-contents-filtered",
        "course_contents",
        &["--param", "courseid=2", "--param", "modname=quiz"],
    );
    out.code(0);
    let quizzes: usize = records
        .iter()
        .map(|r| r["modules"].as_array().unwrap().len())
        .sum();
    assert_eq!(quizzes, 1);
    let answer = call(
        &sim,
        "core_course_get_contents",
        &[
            ("courseid", "2"),
            ("options[0][name]", "bogus"),
            ("options[0][value]", "1"),
        ],
    );
    assert_eq!(answer["message"], "Invalid option: bogus", "{answer}");
}

#[test]
fn completion_status_reports_each_criterion_for_a_tracked_user() {
    let sim = start();
    sim.with_state(|s| {
        let first = s.add_criterion(2, 1, None);
        s.add_criterion(2, 4, Some(1));
        s.complete_criterion(first, 3, 1_700_000_000);
    });
    let (out, records) = fetch(
        &sim,
        "completion-status",
        "completion_status",
        &["--param", "courseid=2", "--param", "userid=3"],
    );
    out.code(0);
    assert_eq!(records.len(), 1);
    let status = &records[0]["completionstatus"];
    assert_eq!(status["completed"], false);
    assert_eq!(status["aggregation"], 1);
    let complete: Vec<&Value> = status["completions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["complete"])
        .collect();
    assert_eq!(complete, [&json!(true), &json!(false)]);
    assert_eq!(
        (&records[0]["courseid"], &records[0]["userid"]),
        (&json!(2), &json!(3))
    );
    // cy is not enrolled; C2 has no criteria.
    let answer = call(
        &sim,
        "core_completion_get_course_completion_status",
        &[("courseid", "2"), ("userid", "5")],
    );
    assert_eq!(answer["errorcode"], "usernotenroled", "{answer}");
    sim.with_state(|s| s.enrol(3, 3, role::STUDENT));
    let answer = call(
        &sim,
        "core_completion_get_course_completion_status",
        &[("courseid", "3"), ("userid", "3")],
    );
    assert_eq!(answer["errorcode"], "nocriteriaset", "{answer}");
}

// ---- nested structures and per-call parameters ----

#[test]
fn create_cohorts_sends_the_categorytype_object_and_answers_the_new_cohorts() {
    let sim = start();
    let (out, results) = run(
        &sim,
        "create-cohorts",
        "create_cohorts",
        &[
            json!({"categorytype": {"type": "idnumber", "value": "CAT1"}, "name": "Staff", "idnumber": "STAFF"}),
            json!({"categorytype": {"type": "system"}, "name": "All", "idnumber": "ALL", "visible": 0}),
        ],
    );
    out.code(0);
    assert_eq!(statuses(&results), ["applied", "applied"]);
    let state = sim.state();
    let staff = state
        .cohorts
        .values()
        .find(|c| c.idnumber == "STAFF")
        .expect("created");
    assert_eq!((staff.categoryid, staff.visible), (Some(1), true));
    assert_eq!(results[&1]["id"], staff.id);
    let all = state
        .cohorts
        .values()
        .find(|c| c.idnumber == "ALL")
        .expect("created");
    assert_eq!((all.categoryid, all.visible), (None, false));

    // An idnumber in use: the call is refused (then each record alone).
    let (out, results) = run(
        &sim,
        "create-cohorts-taken",
        "create_cohorts",
        &[json!({"categorytype": {"type": "id", "value": "1"}, "name": "Again", "idnumber": "STAFF"})],
    );
    out.code(1);
    assert_eq!(
        results[&1]["error"]["debuginfo"], "record already exists: idnumber=STAFF",
        "{results:?}"
    );
    let answer = call(
        &sim,
        "core_cohort_create_cohorts",
        &[
            ("cohorts[0][categorytype][type]", "idnumber"),
            ("cohorts[0][categorytype][value]", "NOPE"),
            ("cohorts[0][name]", "X"),
            ("cohorts[0][idnumber]", "X"),
        ],
    );
    assert_eq!(
        answer["debuginfo"], "category not exists: category idnumber = NOPE",
        "{answer}"
    );
}

#[test]
fn add_cohort_members_adds_by_idnumber_and_username_and_warns_per_member() {
    let sim = start();
    sim.with_state(|s| {
        s.add_cohort(Cohort::new(1, "Staff", "STAFF"));
    });
    let member = |cohort: &str, user: &str| json!({"cohorttype": {"type": "idnumber", "value": cohort}, "usertype": {"type": "username", "value": user}});
    let (out, results) = run(
        &sim,
        "add-cohort-members",
        "add_cohort_members",
        &[
            member("STAFF", "ann"),
            member("STAFF", "nobody"),
            member("STAFF", "bob"),
        ],
    );
    // One member per call: Moodle's warning for `nobody` is that record's.
    out.code(1);
    assert_eq!(statuses(&results), ["applied", "failed", "applied"]);
    assert_eq!(results[&2]["error"]["errorcode"], "2", "{results:?}");
    assert_eq!(results[&2]["error"]["message"], "user username=nobody not exists");
    assert_eq!(
        sim.state().cohorts[&1]
            .members
            .iter()
            .copied()
            .collect::<Vec<_>>(),
        [3, 4]
    );
    assert_eq!(calls_of(&sim, "core_cohort_add_cohort_members"), 3);

    // Already a member: warning 3, that record's failure.
    let (out, results) = run(
        &sim,
        "add-cohort-members-again",
        "add_cohort_members",
        &[member("STAFF", "ann")],
    );
    out.code(1);
    assert_eq!(results[&1]["error"]["errorcode"], "3", "{results:?}");

    let answer = call(
        &sim,
        "core_cohort_add_cohort_members",
        &[
            ("members[0][cohorttype][type]", "id"),
            ("members[0][cohorttype][value]", "1"),
            ("members[0][usertype][type]", "idnumber"),
            ("members[0][usertype][value]", "x"),
            ("members[1][cohorttype][type]", "id"),
            ("members[1][cohorttype][value]", "7"),
            ("members[1][usertype][type]", "id"),
            ("members[1][usertype][value]", "5"),
            ("members[2][cohorttype][type]", "id"),
            ("members[2][cohorttype][value]", "1"),
            ("members[2][usertype][type]", "id"),
            ("members[2][usertype][value]", "5"),
        ],
    );
    assert_eq!(
        answer,
        json!({"warnings": [
            {"warningcode": "1", "message": "invalid parameter: usertype=idnumber"},
            {"warningcode": "2", "message": "cohort id=7 not exists"},
        ]})
    );
    assert!(
        sim.state().cohorts[&1].members.contains(&5),
        "the good member of the call was added"
    );
}

#[test]
fn update_grades_sends_the_activity_once_per_call_and_grades_each_student() {
    let sim = start();
    sim.with_state(|s| {
        s.add_module(Module::new(15, 2, 1, "assign", 4, "Essay"));
        s.add_module(Module::new(16, 2, 1, "quiz", 9, "Test"));
    });
    let grade = |cm: i64, module: &str, student: i64, value: f64| json!({"courseid": 2, "component": module, "activityid": cm, "studentid": student, "grade": value});
    let mut first = grade(15, "mod_assign", 3, 87.5);
    first["str_feedback"] = json!("Well argued");
    first["itemdetails"] = json!({"grademax": 90});
    let mut second = grade(15, "mod_assign", 4, 61.0);
    second["itemdetails"] = json!({"grademax": 90});
    let (out, results) = run_with(
        &sim,
        "update-grades",
        "update_grades",
        &[first, second, grade(16, "mod_quiz", 3, 7.0)],
        &["--retries", "0"],
    );
    let state = sim.state();
    let item = |module: &str| {
        state
            .grade_items
            .values()
            .find(|i| i.itemmodule.as_deref() == Some(module))
            .unwrap_or_else(|| panic!("the {module} grade item\n{out:?}"))
    };
    let essay = item("assign");
    assert_eq!(
        (essay.itemname.as_deref(), essay.iteminstance, essay.grademax),
        (Some("Essay"), Some(4), 90.0)
    );
    let graded = |itemid: i64, userid: i64| state.grades.get(&(itemid, userid)).and_then(|g| g.finalgrade);
    assert_eq!(
        (graded(essay.id, 3), graded(essay.id, 4)),
        (Some(87.5), Some(61.0))
    );
    assert_eq!(state.grades[&(essay.id, 3)].feedback, "Well argued");
    assert_eq!(graded(item("quiz").id, 3), Some(7.0));
    // One call per activity (and item details): wstoken, wsfunction and
    // the format, the call's 5 parameters and itemdetails once, then its
    // grades (3 and 2 pairs; the quiz's 2).
    let pairs: Vec<usize> = sim
        .calls()
        .iter()
        .filter(|c| c.function.as_deref() == Some("core_grades_update_grades"))
        .map(|c| c.pairs)
        .collect();
    assert_eq!(pairs[..2], [3 + 5 + 1 + 3 + 2, 3 + 5 + 2], "{pairs:?}");
    // Moodle answers the status 0 (`returns value int ok 0`): applied.
    assert_eq!(
        statuses(&results),
        ["applied", "applied", "applied"],
        "{results:?}"
    );

    let answer = call(
        &sim,
        "core_grades_update_grades",
        &[
            ("source", "sis"),
            ("courseid", "2"),
            ("component", "mod_quiz"),
            ("activityid", "15"),
            ("itemnumber", "0"),
        ],
    );
    assert_eq!(answer["errorcode"], "invalidcoursemodule", "{answer}");
}

// ---- the listing ----

#[test]
fn templates_lists_writes_then_reads_each_with_its_function() {
    let out = Moodlec::new(["templates"]).output();
    out.code(0);
    let lines: Vec<Vec<&str>> = out
        .stdout
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    let kinds: Vec<&str> = lines.iter().map(|l| l[1]).collect();
    let first_read = kinds.iter().position(|k| *k == "read").expect("reads");
    assert!(
        kinds[..first_read].iter().all(|k| *k == "write"),
        "{}",
        out.stdout
    );
    assert!(kinds[first_read..].iter().all(|k| *k == "read"), "{}", out.stdout);
    for (name, function) in [
        ("create_categories", "core_course_create_categories"),
        ("update_categories", "core_course_update_categories"),
        ("create_groups", "core_group_create_groups"),
        ("add_group_members", "core_group_add_group_members"),
        ("delete_group_members", "core_group_delete_group_members"),
        ("delete_cohort_members", "core_cohort_delete_cohort_members"),
        ("create_cohorts", "core_cohort_create_cohorts"),
        ("add_cohort_members", "core_cohort_add_cohort_members"),
        ("update_grades", "core_grades_update_grades"),
        ("send_messages", "core_message_send_instant_messages"),
        ("create_notes", "core_notes_create_notes"),
        ("users", "core_user_get_users"),
        ("user_courses", "core_enrol_get_users_courses"),
        ("course_contents", "core_course_get_contents"),
        ("course_groups", "core_group_get_course_groups"),
        ("cohorts", "core_cohort_get_cohorts"),
        ("enrolment_methods", "core_enrol_get_course_enrolment_methods"),
        (
            "completion_status",
            "core_completion_get_course_completion_status",
        ),
    ] {
        let line = lines
            .iter()
            .find(|l| l[0] == name)
            .unwrap_or_else(|| panic!("no {name}\n{}", out.stdout));
        assert_eq!(line[2], function, "{name}");
    }
}

#[test]
fn the_new_functions_are_in_the_service_and_validate_their_parameters() {
    let sim = start();
    let info = call(&sim, "core_webservice_get_site_info", &[]);
    let names: Vec<&str> = info["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    for name in [
        "core_course_create_categories",
        "core_course_update_categories",
        "core_group_create_groups",
        "core_group_add_group_members",
        "core_group_delete_group_members",
        "core_group_get_course_groups",
        "core_cohort_create_cohorts",
        "core_cohort_add_cohort_members",
        "core_cohort_delete_cohort_members",
        "core_cohort_get_cohorts",
        "core_grades_update_grades",
        "core_message_send_instant_messages",
        "core_notes_create_notes",
        "core_enrol_get_users_courses",
        "core_course_get_contents",
        "core_completion_get_course_completion_status",
    ] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
        let answer = call(&sim, name, &[("stray", "1")]);
        assert_eq!(answer["errorcode"], "invalidparameter", "{name}: {answer}");
    }
    // Nested structures are validated with their path.
    let answer = call(
        &sim,
        "core_cohort_add_cohort_members",
        &[
            ("members[0][cohorttype][type]", "id"),
            ("members[0][cohorttype][value]", "1"),
            ("members[0][usertype][type]", "user name"),
            ("members[0][usertype][value]", "ann"),
        ],
    );
    assert_eq!(
        answer["debuginfo"],
        "members => Invalid parameter value detected: usertype => Invalid parameter value detected: type => Invalid parameter value detected: Invalid external api parameter: the value is \"user name\", the server was expecting \"alphanumext\" type"
    );
}
