//! Pins the simulator functions `moodlec sync` reads and writes Moodle with
//! (core_user_get_users / delete_users / update_users suspended, enrolment
//! methods, core_role_assign_roles / unassign_roles, core_course_update_courses
//! / delete_courses) to Moodle 4.5's behaviour, over raw HTTP like
//! simulator_behaviour.rs.

use serde_json::{json, Value};

use crate::simulator::raw::{self, RawResponse};
use crate::simulator::{role, Course, Outcome, Simulator, SiteConfig, SiteState, User, TOKEN};

const SERVER: &str = "/webservice/rest/server.php";

fn encode<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k.as_ref(), v.as_ref());
    }
    s.finish()
}

/// A call as moodlec makes it: control parameters in the query string,
/// function parameters as a form body.
fn call<K: AsRef<str>, V: AsRef<str>>(sim: &Simulator, function: &str, pairs: &[(K, V)]) -> RawResponse {
    let query = encode(&[
        ("wstoken", TOKEN),
        ("wsfunction", function),
        ("moodlewsrestformat", "json"),
    ]);
    let response =
        raw::post_form(sim.url(), &format!("{SERVER}?{query}"), &encode(pairs)).expect("an answer");
    assert_eq!(response.status, 200, "{}", response.body);
    response
}

fn call_json<K: AsRef<str>, V: AsRef<str>>(sim: &Simulator, function: &str, pairs: &[(K, V)]) -> Value {
    call(sim, function, pairs).json()
}

/// Users 3 (ann), 4 (bob), 5 (cy) and courses 2 (`C1`) and 3 (`C2`) in
/// category 1; debugging on so that invalid_parameter reasons show.
fn school() -> SiteConfig {
    let mut config = SiteConfig {
        debug: true,
        ..SiteConfig::default()
    };
    config.users.push(
        User::new(3, "ann", "Ann.Lee@Example.org")
            .with_name("Ann", "Lee")
            .with_idnumber("E1"),
    );
    config
        .users
        .push(User::new(4, "bob", "bob@example.org").with_name("Bob", "Lane"));
    config
        .users
        .push(User::new(5, "cy", "cy@other.net").with_name("Cy", "Lee"));
    config.courses.push(Course::new(2, "C1", 1));
    config
        .courses
        .push(Course::new(3, "C2", 1).with_idnumber("C2-ID"));
    config
}

fn ids(users: &Value) -> Vec<i64> {
    users
        .as_array()
        .expect("a list")
        .iter()
        .map(|u| u["id"].as_i64().expect("an id"))
        .collect()
}

fn get_users(sim: &Simulator, criteria: &[(&str, &str)]) -> Value {
    let mut pairs = Vec::new();
    for (i, (key, value)) in criteria.iter().enumerate() {
        pairs.push((format!("criteria[{i}][key]"), key.to_string()));
        pairs.push((format!("criteria[{i}][value]"), value.to_string()));
    }
    call_json(sim, "core_user_get_users", &pairs)
}

fn enrolled(sim: &Simulator, courseid: i64, onlyactive: bool) -> Value {
    let mut pairs = vec![("courseid".to_string(), courseid.to_string())];
    if onlyactive {
        pairs.push(("options[0][name]".into(), "onlyactive".into()));
        pairs.push(("options[0][value]".into(), "1".into()));
    }
    call_json(sim, "core_enrol_get_enrolled_users", &pairs)
}

fn invalid_parameter(debuginfo: &str) -> Value {
    json!({
        "exception": "core\\exception\\invalid_parameter_exception",
        "errorcode": "invalidparameter",
        "message": "Invalid parameter value detected",
        "debuginfo": debuginfo,
    })
}

// ---- core_user_get_users ----

#[test]
fn get_users_matches_names_and_email_with_a_case_insensitive_like() {
    let sim = Simulator::start(school());
    let answer = get_users(&sim, &[("email", "%@EXAMPLE.ORG")]);
    assert_eq!(ids(&answer["users"]), [2, 3, 4], "{answer}");
    assert_eq!(answer["warnings"], json!([]));
    // `_` is one character, `%` any run; both sides case-folded.
    assert_eq!(ids(&get_users(&sim, &[("lastname", "l_e")])["users"]), [3, 5]);
    assert_eq!(ids(&get_users(&sim, &[("firstname", "B%")])["users"]), [4]);
    // Criteria are ANDed; username and idnumber match exactly.
    assert_eq!(
        ids(&get_users(&sim, &[("lastname", "lee"), ("email", "%other%")])["users"]),
        [5]
    );
    assert_eq!(ids(&get_users(&sim, &[("username", "ann")])["users"]), [3]);
    assert_eq!(
        ids(&get_users(&sim, &[("username", "an")])["users"]),
        Vec::<i64>::new()
    );
    assert_eq!(ids(&get_users(&sim, &[("idnumber", "E1")])["users"]), [3]);
    assert_eq!(
        ids(&get_users(&sim, &[("auth", "manual"), ("id", "4")])["users"]),
        [4]
    );
    // A user whose searched field is empty in its details is left out.
    assert_eq!(
        ids(&get_users(&sim, &[("idnumber", "")])["users"]),
        Vec::<i64>::new()
    );
    // The user fields of get_users_by_field.
    let ann = &get_users(&sim, &[("username", "ann")])["users"][0];
    assert_eq!(ann["suspended"], json!(false));
    assert_eq!(ann["auth"], "manual");
    assert_eq!(ann["idnumber"], "E1");
    assert_eq!(ann["email"], "Ann.Lee@Example.org");
    assert_eq!(ann["fullname"], "Ann Lee");
    let by_field = call_json(
        &sim,
        "core_user_get_users_by_field",
        &[("field", "username"), ("values[0]", "ann")],
    );
    assert_eq!(ann, &by_field[0]);
}

#[test]
fn get_users_warns_about_an_unknown_key_and_refuses_a_repeated_one() {
    let sim = Simulator::start(school());
    let answer = get_users(&sim, &[("city", "Paris"), ("username", "bob")]);
    assert_eq!(ids(&answer["users"]), [4]);
    assert_eq!(
        answer["warnings"],
        json!([{
            "item": "city",
            "warningcode": "invalidfieldparameter",
            "message": "The search key 'city' is not supported, look at the web service documentation",
        }])
    );
    let repeated = get_users(&sim, &[("lastname", "Lee"), ("lastname", "Lane")]);
    assert_eq!(repeated["errorcode"], "keyalreadyset", "{repeated}");
    assert_eq!(repeated["debuginfo"], "The key lastname can only be sent once");
    let missing = call_json(&sim, "core_user_get_users", &[("", ""); 0]);
    assert_eq!(
        missing,
        invalid_parameter("Missing required key in single structure: criteria")
    );
}

// ---- core_user_delete_users / update_users suspended ----

#[test]
fn deleted_users_are_kept_scrambled_and_their_username_can_be_created_again() {
    let sim = Simulator::start(school());
    sim.with_state(|s| {
        s.enrol(2, 3, role::STUDENT);
        s.enrol_by(3, 3, role::STUDENT, "cohort");
    });
    assert_eq!(
        call(&sim, "core_user_delete_users", &[("userids[0]", "3")]).body,
        "null"
    );
    let state = sim.state();
    let row = &state.users[&3];
    assert!(row.deleted);
    assert_ne!(row.username, "ann");
    assert!(
        row.username.starts_with("ann.lee@example.org."),
        "{}",
        row.username
    );
    // The md5 of the old username (PHP md5("ann")).
    assert_eq!(row.email, "7e0d7f8a5d96c24ffcc840f31bce72b2");
    assert_eq!(row.idnumber, "");
    assert!(!state.is_enrolled(2, 3) && !state.is_enrolled(3, 3));
    assert!(state.role_assignments(3, 3).is_empty());
    assert_eq!(
        ids(&get_users(&sim, &[("username", "ann")])["users"]),
        Vec::<i64>::new()
    );
    assert_eq!(ids(&get_users(&sim, &[("lastname", "Lee")])["users"]), [5]);
    let by_field = call_json(
        &sim,
        "core_user_get_users_by_field",
        &[("field", "id"), ("values[0]", "3")],
    );
    assert_eq!(by_field, json!([]));
    assert!(enrolled(&sim, 2, false).as_array().unwrap().is_empty());
    // The username and the email are free again.
    let created = call_json(
        &sim,
        "core_user_create_users",
        &[
            ("users[0][username]", "ann"),
            ("users[0][password]", "Secret-123"),
            ("users[0][firstname]", "Ann"),
            ("users[0][lastname]", "Lee"),
            ("users[0][email]", "Ann.Lee@Example.org"),
        ],
    );
    assert_eq!(created[0]["username"], "ann", "{created}");
    // Deleting again is an unknown user.
    let again = call_json(&sim, "core_user_delete_users", &[("userids[0]", "3")]);
    assert_eq!(again["errorcode"], "invaliduser");
}

#[test]
fn delete_users_refuses_admins_the_caller_and_unknown_ids_as_one_transaction() {
    let sim = Simulator::start(school());
    for (ids, code) in [
        (["4", "2"], "useradminodelete"),
        (["4", "404"], "invaliduser"),
        (["4", "4"], "invaliduser"),
    ] {
        let pairs = [("userids[0]", ids[0]), ("userids[1]", ids[1])];
        let answer = call_json(&sim, "core_user_delete_users", &pairs);
        assert_eq!(answer["errorcode"], code, "{answer}");
        assert!(!sim.state().users[&4].deleted, "rolled back");
    }
    // The caller (ann, through a token of her own).
    let mut config = school();
    config.tokens.push(crate::simulator::Token::new(
        "fedcba9876543210fedcba9876543210",
        3,
        crate::simulator::SERVICE,
    ));
    let own = Simulator::start(config);
    let query = encode(&[
        ("wstoken", "fedcba9876543210fedcba9876543210"),
        ("wsfunction", "core_user_delete_users"),
        ("moodlewsrestformat", "json"),
    ]);
    let answer = raw::post_form(own.url(), &format!("{SERVER}?{query}"), "userids[0]=3")
        .unwrap()
        .json();
    assert_eq!(answer["errorcode"], "usernotdeletederror", "{answer}");
    // The guest passes the checks, but delete_user leaves it alone.
    assert_eq!(
        call(&sim, "core_user_delete_users", &[("userids[0]", "1")]).body,
        "null"
    );
    assert!(!sim.state().users[&1].deleted);
    let bad = call_json(&sim, "core_user_delete_users", &[("userids[0]", "x")]);
    assert_eq!(bad["errorcode"], "invalidparameter");
}

#[test]
fn update_users_suspends_and_reactivates_keeping_enrolments() {
    let sim = Simulator::start(school());
    sim.with_state(|s| s.enrol(2, 4, role::STUDENT));
    let answer = call_json(
        &sim,
        "core_user_update_users",
        &[("users[0][id]", "4"), ("users[0][suspended]", "1")],
    );
    assert_eq!(answer, json!({"warnings": []}));
    assert!(sim.state().users[&4].suspended);
    assert_eq!(
        get_users(&sim, &[("id", "4")])["users"][0]["suspended"],
        json!(true)
    );
    assert!(sim.state().is_enrolled(2, 4));
    call_json(
        &sim,
        "core_user_update_users",
        &[("users[0][id]", "4"), ("users[0][suspended]", "0")],
    );
    assert_eq!(
        get_users(&sim, &[("id", "4")])["users"][0]["suspended"],
        json!(false)
    );
}

// ---- enrolment methods, manual enrol/unenrol ----

#[test]
fn re_enrolling_without_suspend_reactivates_and_zeroes_the_dates_adding_the_role() {
    let sim = Simulator::start(school());
    sim.with_state(|s| {
        s.enrol(2, 3, role::STUDENT);
        let e = s.enrolments.get_mut(&(2, 3)).unwrap();
        e.timestart = 1_600_000_000;
        e.timeend = 1_900_000_000;
        assert!(s.suspend_enrolment(2, 3, "manual", true));
    });
    let pairs = [
        ("enrolments[0][roleid]", "4"),
        ("enrolments[0][userid]", "3"),
        ("enrolments[0][courseid]", "2"),
    ];
    assert_eq!(call(&sim, "enrol_manual_enrol_users", &pairs).body, "null");
    let state = sim.state();
    let e = state.enrolment(2, 3).unwrap();
    assert!(!e.suspended);
    assert_eq!((e.timestart, e.timeend), (0, 0));
    assert_eq!(
        state.roles_in(2, 3).into_iter().collect::<Vec<_>>(),
        [role::TEACHER, role::STUDENT]
    );
    // suspend=1 suspends it again.
    let mut suspend = pairs.to_vec();
    suspend.push(("enrolments[0][suspend]", "1"));
    call(&sim, "enrol_manual_enrol_users", &suspend);
    assert!(sim.state().enrolment(2, 3).unwrap().suspended);
}

#[test]
fn unenrol_leaves_a_cohort_enrolment_alone_and_answers_null() {
    let sim = Simulator::start(school());
    sim.with_state(|s| {
        s.enrol(2, 3, role::STUDENT);
        s.enrol_by(2, 3, role::STUDENT, "cohort");
        s.enrol_by(2, 4, role::STUDENT, "cohort");
    });
    let pairs = [
        ("enrolments[0][userid]", "3"),
        ("enrolments[0][courseid]", "2"),
        ("enrolments[1][userid]", "4"),
        ("enrolments[1][courseid]", "2"),
    ];
    assert_eq!(call(&sim, "enrol_manual_unenrol_users", &pairs).body, "null");
    let state = sim.state();
    assert!(state.enrolment(2, 3).is_none());
    assert!(state.enrolment_by(2, 3, "cohort").is_some());
    assert!(state.enrolment_by(2, 4, "cohort").is_some());
    // Not the last enrolment: the roles without component stay too.
    let components: Vec<(i64, String)> = state
        .role_assignments(2, 3)
        .into_iter()
        .map(|a| (a.roleid, a.component))
        .collect();
    assert_eq!(
        components,
        [
            (role::STUDENT, String::new()),
            (role::STUDENT, "enrol_cohort".into())
        ]
    );
    assert_eq!(ids(&enrolled(&sim, 2, false)), [3, 4]);
}

#[test]
fn the_last_enrolment_takes_every_role_with_it() {
    let sim = Simulator::start(school());
    sim.with_state(|s| {
        s.enrol(2, 3, role::STUDENT);
        s.assign_role(2, 3, role::TEACHER);
    });
    let pairs = [("enrolments[0][userid]", "3"), ("enrolments[0][courseid]", "2")];
    call(&sim, "enrol_manual_unenrol_users", &pairs);
    assert!(sim.state().role_assignments(2, 3).is_empty());
}

#[test]
fn unenrol_without_manual_instance_is_wsnoinstance_for_the_whole_call() {
    let sim = Simulator::start(school());
    sim.with_state(|s| {
        s.enrol(2, 3, role::STUDENT);
        s.enrol_by(3, 3, role::STUDENT, "self");
        s.remove_manual_instance(3);
    });
    let pairs = [
        ("enrolments[0][userid]", "3"),
        ("enrolments[0][courseid]", "2"),
        ("enrolments[1][userid]", "3"),
        ("enrolments[1][courseid]", "3"),
    ];
    let answer = call_json(&sim, "enrol_manual_unenrol_users", &pairs);
    assert_eq!(answer["errorcode"], "wsnoinstance", "{answer}");
    assert!(sim.state().enrolment(2, 3).is_some(), "rolled back");
    // Enrolling there fails the same way; a disabled instance too.
    let enrol = [
        ("enrolments[0][roleid]", "5"),
        ("enrolments[0][userid]", "4"),
        ("enrolments[0][courseid]", "3"),
    ];
    assert_eq!(
        call_json(&sim, "enrol_manual_enrol_users", &enrol)["errorcode"],
        "wsnoinstance"
    );
    sim.with_state(|s| {
        let id = s.manual_instance(2).unwrap().id;
        s.set_instance_enabled(id, false);
    });
    let enrol2 = [
        ("enrolments[0][roleid]", "5"),
        ("enrolments[0][userid]", "4"),
        ("enrolments[0][courseid]", "2"),
    ];
    assert_eq!(
        call_json(&sim, "enrol_manual_enrol_users", &enrol2)["errorcode"],
        "wsnoinstance"
    );
    // A disabled manual instance still unenrols.
    let unenrol = [("enrolments[0][userid]", "3"), ("enrolments[0][courseid]", "2")];
    assert_eq!(call(&sim, "enrol_manual_unenrol_users", &unenrol).body, "null");
    assert!(sim.state().enrolment(2, 3).is_none());
}

#[test]
fn enrolled_users_appear_once_with_their_roles_and_onlyactive_drops_inactive_ones() {
    let sim = Simulator::start(school());
    sim.with_state(|s: &mut SiteState| {
        // 3: suspended manually, active through a cohort.
        s.enrol(2, 3, role::STUDENT);
        s.suspend_enrolment(2, 3, "manual", true);
        s.enrol_by(2, 3, role::STUDENT, "cohort");
        // 4: suspended manual only; 5: ended manual only.
        s.enrol(2, 4, role::TEACHER);
        s.suspend_enrolment(2, 4, "manual", true);
        s.enrol(2, 5, role::STUDENT);
        s.enrolments.get_mut(&(2, 5)).unwrap().timeend = 1_000_000;
    });
    let all = enrolled(&sim, 2, false);
    assert_eq!(ids(&all), [3, 4, 5]);
    assert_eq!(
        all[0]["roles"],
        json!([
            {"roleid": 5, "name": "", "shortname": "student", "sortorder": 5},
            {"roleid": 5, "name": "", "shortname": "student", "sortorder": 5},
        ])
    );
    assert_eq!(
        all[1]["roles"],
        json!([{"roleid": 4, "name": "", "shortname": "teacher", "sortorder": 4}])
    );
    assert_eq!(ids(&enrolled(&sim, 2, true)), [3]);
}

#[test]
fn course_enrolment_methods_list_what_get_enrol_info_describes() {
    let sim = Simulator::start(school());
    let self_id = sim.with_state(|s| {
        let id = s.add_instance(2, "self");
        s.add_instance(2, "cohort");
        s.add_instance(2, "cohort");
        let hidden = s.add_instance(2, "guest");
        s.set_instance_enabled(hidden, false);
        id
    });
    let answer = call_json(
        &sim,
        "core_enrol_get_course_enrolment_methods",
        &[("courseid", "2")],
    );
    assert_eq!(
        answer,
        json!([{"id": self_id, "courseid": 2, "type": "self", "name": "Self enrolment (Student)", "status": true}])
    );
    let unknown = call_json(
        &sim,
        "core_enrol_get_course_enrolment_methods",
        &[("courseid", "77")],
    );
    assert_eq!(unknown["errorcode"], "invalidrecord");
    // get_courses_by_field names the enabled methods.
    let course = call_json(
        &sim,
        "core_course_get_courses_by_field",
        &[("field", "id"), ("value", "2")],
    );
    assert_eq!(
        course["courses"][0]["enrollmentmethods"],
        json!(["manual", "self", "cohort", "cohort"])
    );
}

// ---- core_role_assign_roles / core_role_unassign_roles ----

fn role_pairs(list: &str, roleid: &str, userid: &str, context: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut pairs = vec![
        (format!("{list}[0][roleid]"), roleid.to_string()),
        (format!("{list}[0][userid]"), userid.to_string()),
    ];
    for (k, v) in context {
        pairs.push((format!("{list}[0][{k}]"), v.to_string()));
    }
    pairs
}

#[test]
fn role_changes_at_course_level_touch_only_roles_without_component() {
    let sim = Simulator::start(school());
    sim.with_state(|s| {
        s.enrol(2, 3, role::STUDENT);
        s.enrol_by(2, 4, role::STUDENT, "cohort");
    });
    let course = [("contextlevel", "course"), ("instanceid", "2")];
    let assign = role_pairs("assignments", "4", "3", &course);
    assert_eq!(call(&sim, "core_role_assign_roles", &assign).body, "null");
    let unassign = role_pairs("unassignments", "5", "3", &course);
    assert_eq!(call(&sim, "core_role_unassign_roles", &unassign).body, "null");
    assert_eq!(
        sim.state().roles_in(2, 3).into_iter().collect::<Vec<_>>(),
        [role::TEACHER]
    );
    // The cohort's role stays; by contextid works too.
    let contextid = SiteState::course_contextid(2).to_string();
    let by_id = role_pairs("unassignments", "5", "4", &[("contextid", &contextid)]);
    assert_eq!(call(&sim, "core_role_unassign_roles", &by_id).body, "null");
    assert_eq!(
        sim.state().roles_in(2, 4).into_iter().collect::<Vec<_>>(),
        [role::STUDENT]
    );
    assert_eq!(ids(&enrolled(&sim, 2, false)), [3, 4]);
    assert_eq!(
        enrolled(&sim, 2, false)[0]["roles"],
        json!([{"roleid": 4, "name": "", "shortname": "teacher", "sortorder": 4}])
    );
}

#[test]
fn role_changes_refuse_unknown_roles_and_contexts_as_one_transaction() {
    let sim = Simulator::start(school());
    let course = [("contextlevel", "course"), ("instanceid", "2")];
    let cases: Vec<(Vec<(String, String)>, Value)> = vec![
        (
            role_pairs("assignments", "999", "3", &course),
            invalid_parameter("Can not assign roleid=999 in contextid="),
        ),
        (
            role_pairs(
                "assignments",
                "2",
                "3",
                &[("contextid", &SiteState::course_contextid(2).to_string())],
            ),
            invalid_parameter("Can not assign roleid=2 in contextid=1002"),
        ),
        (
            role_pairs(
                "assignments",
                "5",
                "3",
                &[("contextlevel", "course"), ("instanceid", "77")],
            ),
            invalid_parameter("Context does not exist"),
        ),
        (
            role_pairs(
                "assignments",
                "5",
                "3",
                &[("contextlevel", "galaxy"), ("instanceid", "2")],
            ),
            invalid_parameter("Invalid context level = galaxy"),
        ),
        (
            role_pairs("assignments", "5", "3", &[("instanceid", "2")]),
            invalid_parameter(
                "Missing parameters, please provide either context level with instance id or contextid",
            ),
        ),
        (
            role_pairs("unassignments", "999", "3", &course),
            invalid_parameter("Can not unassign roleid=999 in contextid="),
        ),
    ];
    for (pairs, expected) in cases {
        let function = if pairs[0].0.starts_with("assign") {
            "core_role_assign_roles"
        } else {
            "core_role_unassign_roles"
        };
        assert_eq!(call_json(&sim, function, &pairs), expected, "{pairs:?}");
    }
    let missing_user = call_json(
        &sim,
        "core_role_assign_roles",
        &role_pairs("assignments", "5", "404", &course),
    );
    assert_eq!(missing_user["errorcode"], "codingerror");
    // A good assignment before a bad one is rolled back.
    let mut pairs = role_pairs("assignments", "5", "3", &course);
    pairs.extend([
        ("assignments[1][roleid]".to_string(), "999".to_string()),
        ("assignments[1][userid]".to_string(), "3".to_string()),
        ("assignments[1][contextlevel]".to_string(), "course".to_string()),
        ("assignments[1][instanceid]".to_string(), "2".to_string()),
    ]);
    assert_eq!(
        call_json(&sim, "core_role_assign_roles", &pairs)["errorcode"],
        "invalidparameter"
    );
    assert!(sim.state().role_assignments(2, 3).is_empty());
}

// ---- core_course_update_courses / delete_courses ----

#[test]
fn update_courses_changes_each_course_and_warns_per_course() {
    let sim = Simulator::start(school());
    sim.with_state(|s| {
        s.categories
            .insert(4, crate::simulator::Category::new(4, "Other"))
    });
    let pairs = [
        ("courses[0][id]", "2"),
        ("courses[0][fullname]", "Course one"),
        ("courses[0][idnumber]", "C1-ID"),
        ("courses[0][summary]", "<p>Hi</p>"),
        ("courses[0][visible]", "0"),
        ("courses[0][categoryid]", "4"),
        ("courses[1][id]", "3"),
        ("courses[1][shortname]", "C1"),
        ("courses[2][id]", "77"),
        ("courses[2][fullname]", "Ghost"),
    ];
    let answer = call_json(&sim, "core_course_update_courses", &pairs);
    assert_eq!(
        answer,
        json!({"warnings": [
            {"item": "course", "itemid": 3, "warningcode": "shortnametaken",
             "message": "Short name is already used for another course (C1)"},
            {"item": "course", "itemid": 77, "warningcode": "invalidrecord",
             "message": "Can not find data record in database table course."},
        ]})
    );
    let course = &call_json(
        &sim,
        "core_course_get_courses_by_field",
        &[("field", "id"), ("value", "2")],
    )["courses"][0];
    assert_eq!(
        [
            &course["fullname"],
            &course["shortname"],
            &course["idnumber"],
            &course["summary"],
            &course["visible"],
            &course["categoryid"]
        ],
        [
            &json!("Course one"),
            &json!("C1"),
            &json!("C1-ID"),
            &json!("<p>Hi</p>"),
            &json!(0),
            &json!(4)
        ]
    );
    let listed = call_json(&sim, "core_course_get_courses", &[("options[ids][0]", "2")]);
    assert_eq!(listed[0]["idnumber"], "C1-ID");
    assert_eq!(listed[0]["visible"], 0);
    assert_eq!(listed[0]["categoryid"], 4);
    // An idnumber taken by another course; a blank fullname.
    let taken = call_json(
        &sim,
        "core_course_update_courses",
        &[
            ("courses[0][id]", "3"),
            ("courses[0][idnumber]", "C1-ID"),
            ("courses[1][id]", "3"),
            ("courses[1][fullname]", " "),
        ],
    );
    let codes: Vec<&Value> = taken["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| &w["warningcode"])
        .collect();
    assert_eq!(
        codes,
        [&json!("courseidnumbertaken"), &json!("errorinvalidparam")]
    );
    assert_eq!(sim.state().courses[&3].idnumber, "C2-ID");
}

#[test]
fn delete_courses_warns_for_unknown_ids_and_takes_the_enrolments() {
    let sim = Simulator::start(school());
    sim.with_state(|s| {
        s.enrol(2, 3, role::STUDENT);
        s.enrol_by(2, 4, role::STUDENT, "cohort");
    });
    let answer = call_json(
        &sim,
        "core_course_delete_courses",
        &[("courseids[0]", "2"), ("courseids[1]", "77")],
    );
    assert_eq!(
        answer,
        json!({"warnings": [{"item": "course", "itemid": 77, "warningcode": "unknowncourseidnumber", "message": "Unknown course ID 77"}]})
    );
    let state = sim.state();
    assert!(!state.courses.contains_key(&2));
    assert!(!state.is_enrolled(2, 3) && !state.is_enrolled(2, 4));
    assert!(state.instances(2).is_empty());
    assert!(state.courses.contains_key(&3));
}

// ---- the catalogue ----

#[test]
fn the_sync_functions_are_listed_counted_and_validated_like_the_others() {
    let sim = Simulator::start(school());
    let info = call_json(&sim, "core_webservice_get_site_info", &[("", ""); 0]);
    let names: Vec<&str> = info["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    let new = [
        "core_user_get_users",
        "core_user_delete_users",
        "core_enrol_get_course_enrolment_methods",
        "core_role_assign_roles",
        "core_role_unassign_roles",
        "core_course_update_courses",
        "core_course_delete_courses",
    ];
    for name in new {
        assert!(names.contains(&name), "{name} missing from {names:?}");
        let answer = call_json(&sim, name, &[("stray", "1")]);
        assert_eq!(answer["errorcode"], "invalidparameter", "{name}: {answer}");
    }
    let calls = sim.calls();
    assert_eq!(calls.len(), 1 + new.len());
    assert!(calls[1..]
        .iter()
        .all(|c| matches!(c.outcome, Outcome::Rejected { .. })));
    assert_eq!(calls[1].function.as_deref(), Some("core_user_get_users"));
    let typed = call_json(&sim, "core_course_delete_courses", &[("courseids[0]", "two")]);
    assert_eq!(
        typed,
        invalid_parameter(
            "courseids => Invalid parameter value detected: Invalid external api parameter: the value is \"two\", the server was expecting \"int\" type"
        )
    );
    let typed = call_json(
        &sim,
        "core_role_assign_roles",
        &[
            ("assignments[0][roleid]", "5"),
            ("assignments[0][userid]", "3"),
            ("assignments[0][contextlevel]", "50"),
            ("assignments[0][instanceid]", "2"),
        ],
    );
    assert_eq!(typed["errorcode"], "invalidparameter");
}
