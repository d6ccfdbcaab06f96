//! Pins the Moodle simulator (tests/it/simulator) to shared/moodle-ws.md with
//! raw HTTP requests: what a real Moodle 4.5 answers, the simulator answers.

use std::io;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::simulator::php_input::{parse_body, parse_query, PhpArray, PhpValue};
use crate::simulator::raw::{self, RawResponse};
use crate::simulator::{
    role, Category, Course, Fault, Faults, GradeItem, Outcome, ProfileField, Service, Simulator, SiteConfig,
    Token, User, ADMIN_PASSWORD, SERVICE, TOKEN,
};

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
fn call_with<K: AsRef<str>, V: AsRef<str>>(
    sim: &Simulator,
    token: &str,
    function: &str,
    pairs: &[(K, V)],
) -> io::Result<RawResponse> {
    let query = encode(&[
        ("wstoken", token),
        ("wsfunction", function),
        ("moodlewsrestformat", "json"),
    ]);
    raw::post_form(sim.url(), &format!("{SERVER}?{query}"), &encode(pairs))
}

fn call<K: AsRef<str>, V: AsRef<str>>(sim: &Simulator, function: &str, pairs: &[(K, V)]) -> RawResponse {
    let response = call_with(sim, TOKEN, function, pairs).expect("an answer");
    assert_eq!(
        response.status, 200,
        "Moodle answers everything with 200: {}",
        response.body
    );
    response
}

fn call_json<K: AsRef<str>, V: AsRef<str>>(sim: &Simulator, function: &str, pairs: &[(K, V)]) -> Value {
    call(sim, function, pairs).json()
}

fn debug_site() -> SiteConfig {
    SiteConfig {
        debug: true,
        ..SiteConfig::default()
    }
}

/// The pairs of users[i] with the five usual fields.
fn user_pairs(i: usize, username: &str, email: &str) -> Vec<(String, String)> {
    [
        ("username", username),
        ("password", "Secret-123"),
        ("firstname", "Ann"),
        ("lastname", "Lee"),
        ("email", email),
    ]
    .iter()
    .map(|(k, v)| (format!("users[{i}][{k}]"), v.to_string()))
    .collect()
}

fn enrol_pairs(i: usize, roleid: i64, userid: i64, courseid: i64) -> Vec<(String, String)> {
    [("roleid", roleid), ("userid", userid), ("courseid", courseid)]
        .iter()
        .map(|(k, v)| (format!("enrolments[{i}][{k}]"), v.to_string()))
        .collect()
}

fn invalid_parameter(debuginfo: &str) -> Value {
    json!({
        "exception": "core\\exception\\invalid_parameter_exception",
        "errorcode": "invalidparameter",
        "message": "Invalid parameter value detected",
        "debuginfo": debuginfo,
    })
}

/// A site with students 3–5 and course 2 (`C1`) in category 1.
fn school(debug: bool) -> SiteConfig {
    let mut config = SiteConfig {
        debug,
        ..SiteConfig::default()
    };
    for (id, name) in [(3, "s1"), (4, "s2"), (5, "s3")] {
        config
            .users
            .push(User::new(id, name, &format!("{name}@example.org")));
    }
    config.courses.push(Course::new(2, "C1", 1));
    config
}

// ---- transport, token, function lookup (1.1, 1.4, 1.5, 6) ----

#[test]
fn a_missing_or_unknown_token_is_invalidtoken() {
    let sim = Simulator::start(SiteConfig::default());
    let expected = json!({
        "exception": "core\\exception\\moodle_exception",
        "errorcode": "invalidtoken",
        "message": "Invalid token - token not found",
    });
    let wrong = call_with(&sim, "nope", "core_webservice_get_site_info", &[("", ""); 0]).unwrap();
    assert_eq!(wrong.json(), expected);
    let missing = raw::post_form(
        sim.url(),
        SERVER,
        "wsfunction=core_webservice_get_site_info&moodlewsrestformat=json",
    );
    assert_eq!(missing.unwrap().json(), expected);
}

#[test]
fn without_moodlewsrestformat_json_errors_come_as_xml() {
    let sim = Simulator::start(SiteConfig::default());
    let response = raw::get(sim.url(), &format!("{SERVER}?wstoken=nope&wsfunction=x")).unwrap();
    assert_eq!(response.status, 200);
    assert!(response
        .header("content-type")
        .unwrap()
        .starts_with("application/xml"));
    assert!(response
        .body
        .contains("<EXCEPTION class=\"core\\exception\\moodle_exception\">"));
    assert!(response.body.contains("<ERRORCODE>invalidtoken</ERRORCODE>"));
}

#[test]
fn a_function_outside_the_tokens_service_is_an_access_exception() {
    let mut config = SiteConfig::default();
    config
        .services
        .push(Service::new("readonly", &["core_webservice_get_site_info"]));
    config.tokens.push(Token::new("readonlytoken", 2, "readonly"));
    let sim = Simulator::start(config);
    let answer = call_with(
        &sim,
        "readonlytoken",
        "core_user_create_users",
        &user_pairs(0, "a", "a@example.org"),
    );
    assert_eq!(
        answer.unwrap().json(),
        json!({
            "exception": "webservice_access_exception",
            "errorcode": "accessexception",
            "message": "Access control exception",
        })
    );
    assert!(sim.state().user_by_username("a").is_none());
}

#[test]
fn an_unknown_function_is_a_missing_record() {
    let sim = Simulator::start(SiteConfig::default());
    let answer = call_json(&sim, "core_user_create_userz", &[("", ""); 0]);
    assert_eq!(
        answer,
        json!({
            "exception": "dml_missing_record_exception",
            "errorcode": "invalidrecord",
            "message": "Can not find data record in database table external_functions.",
        })
    );
}

#[test]
fn debuginfo_only_when_debugging_is_on() {
    let quiet = Simulator::start(SiteConfig::default());
    let generic = json!({
        "exception": "core\\exception\\invalid_parameter_exception",
        "errorcode": "invalidparameter",
        "message": "Invalid parameter value detected",
    });
    assert_eq!(
        call_json(&quiet, "enrol_manual_enrol_users", &[("", ""); 0]),
        generic
    );

    let loud = Simulator::start(debug_site());
    let answer = call_json(&loud, "enrol_manual_enrol_users", &[("", ""); 0]);
    assert_eq!(
        answer,
        invalid_parameter("Missing required key in single structure: enrolments")
    );
    let no_function = raw::post_form(
        loud.url(),
        SERVER,
        &encode(&[("wstoken", TOKEN), ("moodlewsrestformat", "json")]),
    );
    assert_eq!(
        no_function.unwrap().json(),
        invalid_parameter("Missing function name")
    );
}

#[test]
fn with_web_services_off_the_body_is_empty() {
    let sim = Simulator::start(SiteConfig {
        rest_enabled: false,
        ..SiteConfig::default()
    });
    let response = call(&sim, "core_webservice_get_site_info", &[("", ""); 0]);
    assert_eq!(response.body, "");
}

#[test]
fn a_body_over_the_proxy_limit_gets_413_and_never_reaches_moodle() {
    let sim = Simulator::start(SiteConfig {
        proxy_body_limit: Some(100),
        ..debug_site()
    });
    let pairs = user_pairs(0, "big", "big@example.org");
    let response = call_with(&sim, TOKEN, "core_user_create_users", &pairs).expect("an answer");
    assert_eq!(response.status, 413, "{}", response.body);
    assert!(sim.state().user_by_username("big").is_none());
    let calls = sim.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].outcome,
        Outcome::Faulted {
            fault: Fault::Http413,
            applied: false
        }
    );
}

#[test]
fn a_body_over_post_max_size_is_discarded() {
    let sim = Simulator::start(SiteConfig {
        post_max_size: 100,
        ..debug_site()
    });
    let answer = call_json(
        &sim,
        "core_user_create_users",
        &user_pairs(0, "big", "big@example.org"),
    );
    assert_eq!(
        answer,
        invalid_parameter("Missing required key in single structure: users")
    );
}

// ---- parameter validation (1.2, 1.5, 1.6) ----

#[test]
fn a_missing_nested_key_names_the_path() {
    let sim = Simulator::start(school(true));
    let answer = call_json(
        &sim,
        "enrol_manual_enrol_users",
        &[("enrolments[0][roleid]", "5"), ("enrolments[0][userid]", "3")],
    );
    assert_eq!(
        answer,
        invalid_parameter(
            "enrolments => Invalid parameter value detected: Missing required key in single structure: courseid"
        )
    );
}

#[test]
fn a_stray_key_fails_the_whole_call() {
    let sim = Simulator::start(school(true));
    let mut pairs = enrol_pairs(0, 5, 3, 2);
    pairs.push(("_".into(), "1700000000".into()));
    let answer = call_json(&sim, "enrol_manual_enrol_users", &pairs);
    assert_eq!(
        answer,
        invalid_parameter("Unexpected keys (_) detected in parameter array.")
    );
    assert!(sim.state().enrolments.is_empty());
}

#[test]
fn scalars_are_checked_strictly() {
    let sim = Simulator::start(school(true));
    let type_error = |path: &str, value: &str, t: &str| {
        let nested: String = path
            .split('/')
            .map(|k| format!("{k} => Invalid parameter value detected: "))
            .collect();
        invalid_parameter(&format!(
            "{nested}Invalid external api parameter: the value is \"{value}\", the server was expecting \"{t}\" type"
        ))
    };
    let mut upper = user_pairs(0, "JDoe", "j@example.org");
    assert_eq!(
        call_json(&sim, "core_user_create_users", &upper),
        type_error("users/username", "JDoe", "username")
    );
    upper[0].1 = "jdoe".into();
    upper.push(("users[0][createpassword]".into(), "true".into()));
    assert_eq!(
        call_json(&sim, "core_user_create_users", &upper),
        type_error("users/createpassword", "true", "bool")
    );
    let mut padded = enrol_pairs(0, 5, 3, 2);
    padded[1].1 = "007".into();
    assert_eq!(
        call_json(&sim, "enrol_manual_enrol_users", &padded),
        type_error("enrolments/userid", "007", "int")
    );
    let spaced = user_pairs(0, "jdoe", " j@example.org");
    assert_eq!(
        call_json(&sim, "core_user_create_users", &spaced),
        type_error("users/email", " j@example.org", "raw_trimmed")
    );
}

#[test]
fn lists_and_scalars_cannot_be_swapped() {
    let sim = Simulator::start(school(true));
    assert_eq!(
        call_json(&sim, "core_user_create_users", &[("users", "")]),
        invalid_parameter(
            "users => Invalid parameter value detected: Only arrays accepted. The bad value is: ''"
        )
    );
    let mut nested = enrol_pairs(0, 5, 3, 2);
    nested[0] = ("enrolments[0][roleid][0]".into(), "5".into());
    assert_eq!(
        call_json(&sim, "enrol_manual_enrol_users", &nested),
        invalid_parameter(
            "enrolments => Invalid parameter value detected: roleid => Invalid parameter value detected: \
             Scalar type expected, array or object received."
        )
    );
}

#[test]
fn a_json_body_is_not_read() {
    let sim = Simulator::start(school(true));
    let query = encode(&[
        ("wstoken", TOKEN),
        ("wsfunction", "enrol_manual_enrol_users"),
        ("moodlewsrestformat", "json"),
    ]);
    let body = br#"{"enrolments":[{"roleid":5,"userid":3,"courseid":2}]}"#;
    let answer = raw::request(
        sim.url(),
        "POST",
        &format!("{SERVER}?{query}"),
        Some("application/json"),
        body,
    );
    assert_eq!(
        answer.unwrap().json(),
        invalid_parameter("Missing required key in single structure: enrolments")
    );
}

#[test]
fn query_and_body_merge_shallowly_with_the_body_winning() {
    let sim = Simulator::start(school(true));
    // The body's `enrolments` replaces the query's whole array.
    let query = encode(&[
        ("wstoken", TOKEN),
        ("wsfunction", "enrol_manual_enrol_users"),
        ("moodlewsrestformat", "json"),
        ("enrolments[0][courseid]", "2"),
    ]);
    let body = encode(&[("enrolments[0][roleid]", "5"), ("enrolments[0][userid]", "3")]);
    let answer = raw::post_form(sim.url(), &format!("{SERVER}?{query}"), &body).unwrap();
    assert_eq!(
        answer.json(),
        invalid_parameter(
            "enrolments => Invalid parameter value detected: Missing required key in single structure: courseid"
        )
    );
}

#[test]
fn php_decodes_names_and_values_like_php() {
    let p = parse_body(
        b"users%5B0%5D%5Busername%5D=a+b&users[0][email]=x%2By%40z&a[]=1&a[]=2&b.c=3&d[x=4",
        1000,
    );
    let users = p.vars.get("users").and_then(PhpValue::as_array).unwrap();
    let first = users.get("0").and_then(PhpValue::as_array).unwrap();
    assert_eq!(first.get("username").and_then(PhpValue::as_str), Some("a b"));
    assert_eq!(first.get("email").and_then(PhpValue::as_str), Some("x+y@z"));
    let a = p.vars.get("a").and_then(PhpValue::as_array).unwrap();
    assert_eq!(
        a.values().filter_map(PhpValue::as_str).collect::<Vec<_>>(),
        ["1", "2"]
    );
    assert_eq!(p.vars.get("b_c").and_then(PhpValue::as_str), Some("3"));
    assert_eq!(p.vars.get("d_x").and_then(PhpValue::as_str), Some("4"));
    // A raw '+' is a space: an unencoded email loses its plus.
    let sloppy = parse_body(b"email=a+b@example.org", 1000);
    assert_eq!(
        sloppy.vars.get("email").and_then(PhpValue::as_str),
        Some("a b@example.org")
    );
    let merged = PhpArray::merge(parse_query(b"x=1&y=1", 10).vars, parse_body(b"x=2", 10).vars);
    assert_eq!(merged.get("x").and_then(PhpValue::as_str), Some("2"));
    assert_eq!(merged.get("y").and_then(PhpValue::as_str), Some("1"));
}

// ---- max_input_vars (4.3) ----

#[test]
fn php_counts_max_input_vars_differently_for_query_and_body() {
    // The query parser stops at the limit, the body parser one pair later
    // (php-src add_post_vars registers before it counts).
    let query = parse_query(b"a=1&b=2&c=3&d=4", 2);
    assert_eq!((query.vars.len(), query.pairs, query.dropped), (2, 4, 2));
    let body = parse_body(b"a=1&b=2&c=3&d=4", 2);
    assert_eq!((body.vars.len(), body.pairs, body.dropped), (3, 4, 1));
    // Empty segments count in a body, not in a query string.
    assert_eq!(parse_body(b"a=1&&b=2", 1).vars.len(), 1);
    assert_eq!(parse_query(b"a=1&&b=2", 2).vars.len(), 2);
}

#[test]
fn past_max_input_vars_records_are_lost_without_an_error() {
    let sim = Simulator::start(school(false));
    sim.with_state(|state| {
        for id in 10..400 {
            state.users.insert(
                id,
                User::new(id, &format!("u{id}"), &format!("u{id}@example.org")),
            );
        }
    });
    // 2 + 366 * 3 = 1100 pairs in the body; PHP keeps 1001 = 2 + 333 * 3.
    let mut pairs = vec![
        ("wsfunction".to_string(), "enrol_manual_enrol_users".to_string()),
        ("moodlewsrestformat".to_string(), "json".to_string()),
    ];
    for i in 0..366 {
        pairs.extend(enrol_pairs(i, role::STUDENT, 10 + i as i64, 2));
    }
    assert_eq!(pairs.len(), 1100);
    let answer = raw::post_form(sim.url(), &format!("{SERVER}?wstoken={TOKEN}"), &encode(&pairs)).unwrap();
    assert_eq!(answer.body, "null");
    assert_eq!(sim.state().enrolments.len(), 333);
    let call = sim.calls().pop().unwrap();
    assert_eq!(
        (call.pairs, call.dropped_pairs, call.outcome),
        (1101, 99, Outcome::Applied)
    );
}

#[test]
fn a_cut_inside_a_record_is_a_missing_key() {
    let sim = Simulator::start(SiteConfig {
        max_input_vars: 7,
        ..debug_site()
    });
    // 10 pairs; the body keeps 8: user 1 loses lastname and email.
    let mut pairs = user_pairs(0, "a", "a@example.org");
    pairs.extend(user_pairs(1, "b", "b@example.org"));
    let answer = call_json(&sim, "core_user_create_users", &pairs);
    assert_eq!(
        answer,
        invalid_parameter(
            "users => Invalid parameter value detected: Missing required key in single structure: lastname"
        )
    );
}

// ---- core_user_create_users (2.1, 4.1, 4.2) ----

#[test]
fn create_users_returns_ids_in_input_order() {
    let sim = Simulator::start(SiteConfig::default());
    let mut pairs = user_pairs(0, "zed", "zed@example.org");
    pairs.extend(user_pairs(1, "amy", "amy@example.org"));
    let answer = call_json(&sim, "core_user_create_users", &pairs);
    assert_eq!(
        answer,
        json!([{"id": 3, "username": "zed"}, {"id": 4, "username": "amy"}])
    );
    let state = sim.state();
    assert_eq!(state.users[&3].email, "zed@example.org");
    assert_eq!(state.users[&3].password.as_deref(), Some("Secret-123"));
}

#[test]
fn one_duplicate_rolls_the_whole_batch_back() {
    let sim = Simulator::start(school(true));
    let mut pairs = user_pairs(0, "new1", "new1@example.org");
    pairs.extend(user_pairs(1, "new2", "new2@example.org"));
    pairs.extend(user_pairs(2, "s1", "other@example.org"));
    let answer = call_json(&sim, "core_user_create_users", &pairs);
    assert_eq!(answer, invalid_parameter("Username already exists: s1"));
    let state = sim.state();
    assert!(state.user_by_username("new1").is_none() && state.user_by_username("new2").is_none());
    // Like a PostgreSQL sequence, the ids of the rolled-back inserts are gone.
    assert_eq!(state.next_user_id, 8);
    let call = sim.calls().pop().unwrap();
    assert!(matches!(call.outcome, Outcome::Rejected { committed: false, .. }));
}

#[test]
fn duplicates_inside_the_batch_and_emails_in_any_case_are_caught() {
    let sim = Simulator::start(school(true));
    let mut twice = user_pairs(0, "x", "x@example.org");
    twice.extend(user_pairs(1, "x", "y@example.org"));
    assert_eq!(
        call_json(&sim, "core_user_create_users", &twice),
        invalid_parameter("Username already exists: x")
    );
    let shouting = user_pairs(0, "y", "S1@EXAMPLE.ORG");
    assert_eq!(
        call_json(&sim, "core_user_create_users", &shouting),
        invalid_parameter("Email address already exists: S1@EXAMPLE.ORG")
    );
    let local = user_pairs(0, "z", "z@localhost");
    assert_eq!(
        call_json(&sim, "core_user_create_users", &local),
        invalid_parameter("Email address is invalid: z@localhost")
    );
}

#[test]
fn the_same_email_is_allowed_when_the_site_says_so() {
    let sim = Simulator::start(SiteConfig {
        allow_accounts_same_email: true,
        ..school(true)
    });
    let answer = call_json(
        &sim,
        "core_user_create_users",
        &user_pairs(0, "twin", "s1@example.org"),
    );
    assert_eq!(answer, json!([{"id": 6, "username": "twin"}]));
}

#[test]
fn a_weak_password_fails_with_the_policy_as_errorcode() {
    let sim = Simulator::start(SiteConfig::default());
    let mut pairs = user_pairs(0, "weak", "weak@example.org");
    pairs[1].1 = "abc".into();
    let response = call(&sim, "core_user_create_users", &pairs);
    let rules = "<div>Passwords must be at least 8 characters long.</div>\
                 <div>Passwords must have at least 1 digit(s).</div>\
                 <div>Passwords must have at least 1 upper case letter(s).</div>\
                 <div>The password must have at least 1 special character(s) such as *, -, or #.</div>";
    assert_eq!(
        response.json(),
        json!({
            "exception": "core\\exception\\moodle_exception",
            "errorcode": rules,
            "message": format!("error/{rules}"),
        })
    );
    // PHP's json_encode escapes '/'.
    assert!(
        response.body.contains(r#"characters long.<\/div>"#),
        "{}",
        response.body
    );
    assert!(sim.state().user_by_username("weak").is_none());
}

#[test]
fn createpassword_or_a_password_is_required() {
    let sim = Simulator::start(debug_site());
    let mut pairs: Vec<(String, String)> = user_pairs(0, "nopw", "nopw@example.org");
    pairs.remove(1);
    assert_eq!(
        call_json(&sim, "core_user_create_users", &pairs),
        invalid_parameter("Invalid password: you must provide a password, or set createpassword.")
    );
    pairs.push(("users[0][createpassword]".into(), "1".into()));
    assert_eq!(
        call_json(&sim, "core_user_create_users", &pairs),
        json!([{"id": 3, "username": "nopw"}])
    );
    assert!(sim.state().users[&3].password_mailed);
}

// ---- core_user_update_users (2.2) ----

#[test]
fn update_users_turns_per_user_failures_into_warnings() {
    let sim = Simulator::start(school(false));
    let pairs = [
        ("users[0][id]", "3"),
        ("users[0][city]", "Prague"),
        ("users[1][id]", "99"),
        ("users[1][city]", "Brno"),
        ("users[2][id]", "4"),
        ("users[2][email]", "S3@example.org"),
    ];
    let answer = call_json(&sim, "core_user_update_users", &pairs);
    let warnings = answer["warnings"].as_array().unwrap();
    let codes: Vec<(i64, &str)> = warnings
        .iter()
        .map(|w| (w["itemid"].as_i64().unwrap(), w["warningcode"].as_str().unwrap()))
        .collect();
    assert_eq!(codes, [(99, "invaliduserid"), (4, "useremailduplicate")]);
    assert!(warnings
        .iter()
        .all(|w| w["item"] == "user" && w["message"].is_string()));
    assert_eq!(sim.state().users[&3].field("city"), "Prague");
    assert_eq!(
        call_json(&sim, "core_user_update_users", &[("users[0][id]", "3")]),
        json!({"warnings": []})
    );
}

#[test]
fn a_weak_password_in_update_users_is_an_invalid_response_after_commit() {
    let sim = Simulator::start(school(false));
    let pairs = [
        ("users[0][id]", "3"),
        ("users[0][firstname]", "Changed"),
        ("users[1][id]", "4"),
        ("users[1][password]", "weak"),
    ];
    let answer = call_json(&sim, "core_user_update_users", &pairs);
    assert_eq!(answer["errorcode"], "invalidresponse");
    assert_eq!(answer["exception"], "core\\exception\\invalid_response_exception");
    assert_eq!(sim.state().users[&3].firstname, "Changed");
    let call = sim.calls().pop().unwrap();
    assert!(matches!(call.outcome, Outcome::Rejected { committed: true, .. }));
}

// ---- core_user_get_users_by_field (2.4) ----

#[test]
fn users_by_field_leaves_out_values_without_a_match() {
    let sim = Simulator::start(school(false));
    let answer = call_json(
        &sim,
        "core_user_get_users_by_field",
        &[
            ("field", "username"),
            ("values[0]", "s2"),
            ("values[1]", "ghost"),
            ("values[2]", "s1"),
        ],
    );
    let found: Vec<(i64, &str)> = answer
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["id"].as_i64().unwrap(), u["username"].as_str().unwrap()))
        .collect();
    assert_eq!(found, [(3, "s1"), (4, "s2")]);
    let by_id = call_json(
        &sim,
        "core_user_get_users_by_field",
        &[("field", "id"), ("values[0]", "5")],
    );
    assert_eq!(by_id[0]["email"], "s3@example.org");
    assert_eq!(by_id[0]["suspended"], json!(false));
}

#[test]
fn users_by_field_rejects_other_fields_and_unclean_values() {
    let sim = Simulator::start(school(true));
    let answer = call_json(
        &sim,
        "core_user_get_users_by_field",
        &[("field", "city"), ("values[0]", "x")],
    );
    assert_eq!(answer["exception"], "core\\exception\\coding_exception");
    assert_eq!(answer["errorcode"], "codingerror");
    let upper = call_json(
        &sim,
        "core_user_get_users_by_field",
        &[("field", "username"), ("values[0]", "S1")],
    );
    assert_eq!(
        upper,
        invalid_parameter("The field 'username' value is invalid: S1(cleaned value: s1)")
    );
}

// ---- enrol_manual_enrol_users / unenrol (2.5, 2.6) ----

#[test]
fn enrol_answers_null_and_re_enrol_updates() {
    let sim = Simulator::start(school(false));
    let mut pairs = enrol_pairs(0, role::STUDENT, 3, 2);
    pairs.push(("enrolments[0][timeend]".into(), "1800000000".into()));
    let response = call(&sim, "enrol_manual_enrol_users", &pairs);
    assert_eq!(response.body, "null");
    assert_eq!(sim.state().enrolment(2, 3).unwrap().timeend, 1_800_000_000);
    // Re-sending without timeend resets it and adds the role.
    let again = call(
        &sim,
        "enrol_manual_enrol_users",
        &enrol_pairs(0, role::TEACHER, 3, 2),
    );
    assert_eq!(again.body, "null");
    let enrolment = sim.state().enrolment(2, 3).cloned().unwrap();
    assert_eq!(enrolment.timeend, 0);
    assert_eq!(
        enrolment.roles.into_iter().collect::<Vec<_>>(),
        [role::TEACHER, role::STUDENT]
    );
}

#[test]
fn enrol_rolls_back_the_whole_batch() {
    let sim = Simulator::start(school(false));
    let mut pairs = enrol_pairs(0, role::STUDENT, 3, 2);
    pairs.extend(enrol_pairs(1, 999, 4, 2));
    let answer = call_json(&sim, "enrol_manual_enrol_users", &pairs);
    assert_eq!(
        answer,
        json!({
            "exception": "core\\exception\\moodle_exception",
            "errorcode": "wsusercannotassign",
            "message": "You don't have the permission to assign this role (999) to this user (4) in this course (2).",
        })
    );
    assert!(sim.state().enrolments.is_empty());
    let missing_course = call_json(
        &sim,
        "enrol_manual_enrol_users",
        &enrol_pairs(0, role::STUDENT, 3, 77),
    );
    assert_eq!(missing_course["errorcode"], "invalidparameter");
}

#[test]
fn enrolling_a_missing_user_is_a_type_error_without_errorcode() {
    let sim = Simulator::start(school(true));
    let mut pairs = enrol_pairs(0, role::STUDENT, 3, 2);
    pairs.extend(enrol_pairs(1, role::STUDENT, 404, 2));
    let answer = call_json(&sim, "enrol_manual_enrol_users", &pairs);
    let keys: Vec<&String> = answer.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["exception", "message"]);
    assert_eq!(answer["exception"], "TypeError");
    assert!(sim.state().enrolments.is_empty());
}

#[test]
fn unenrol_answers_null_even_for_someone_not_enrolled() {
    let sim = Simulator::start(school(false));
    call(
        &sim,
        "enrol_manual_enrol_users",
        &enrol_pairs(0, role::STUDENT, 3, 2),
    );
    let pairs = [("enrolments[0][userid]", "3"), ("enrolments[0][courseid]", "2")];
    assert_eq!(call(&sim, "enrol_manual_unenrol_users", &pairs).body, "null");
    assert!(sim.state().enrolments.is_empty());
    assert_eq!(call(&sim, "enrol_manual_unenrol_users", &pairs).body, "null");
}

// ---- core_course_create_courses / get_courses_by_field (2.7, 2.9) ----

fn course_pairs(i: usize, shortname: &str) -> Vec<(String, String)> {
    [
        ("fullname", "Course"),
        ("shortname", shortname),
        ("categoryid", "1"),
    ]
    .iter()
    .map(|(k, v)| (format!("courses[{i}][{k}]"), v.to_string()))
    .collect()
}

#[test]
fn create_courses_and_find_them_by_shortname() {
    let sim = Simulator::start(school(false));
    let mut pairs = course_pairs(0, "BIO-1");
    pairs.extend(course_pairs(1, "CHEM-1"));
    assert_eq!(
        call_json(&sim, "core_course_create_courses", &pairs),
        json!([{"id": 3, "shortname": "BIO-1"}, {"id": 4, "shortname": "CHEM-1"}])
    );
    let found = call_json(
        &sim,
        "core_course_get_courses_by_field",
        &[("field", "shortname"), ("value", "CHEM-1")],
    );
    assert_eq!(found["courses"][0]["id"], 4);
    assert_eq!(found["warnings"], json!([]));
    let none = call_json(
        &sim,
        "core_course_get_courses_by_field",
        &[("field", "shortname"), ("value", "nope")],
    );
    assert_eq!(none, json!({"courses": [], "warnings": []}));
}

#[test]
fn a_taken_shortname_rolls_the_batch_back() {
    let sim = Simulator::start(school(false));
    let mut pairs = course_pairs(0, "NEW");
    pairs.extend(course_pairs(1, "C1"));
    assert_eq!(
        call_json(&sim, "core_course_create_courses", &pairs),
        json!({
            "exception": "core\\exception\\moodle_exception",
            "errorcode": "shortnametaken",
            "message": "Short name is already used for another course (C1)",
        })
    );
    assert!(sim.state().course_by_shortname("NEW").is_none());
    let mut twice = course_pairs(0, "SAME");
    twice.extend(course_pairs(1, "SAME"));
    assert_eq!(
        call_json(&sim, "core_course_create_courses", &twice)["errorcode"],
        "shortnametaken"
    );
    let mut no_category = course_pairs(0, "X");
    no_category[2].1 = "42".into();
    assert_eq!(
        call_json(&sim, "core_course_create_courses", &no_category)["errorcode"],
        "errorcatcontextnotvalid"
    );
}

// ---- core_webservice_get_site_info (2.14) ----

#[test]
fn site_info_lists_the_tokens_service_functions() {
    let mut config = SiteConfig::default();
    config.services.push(Service::new(
        "narrow",
        &["core_webservice_get_site_info", "core_user_create_users"],
    ));
    config.tokens.push(Token::new("narrowtoken", 2, "narrow"));
    let sim = Simulator::start(config);
    let info = call_with(
        &sim,
        "narrowtoken",
        "core_webservice_get_site_info",
        &[("", ""); 0],
    )
    .unwrap()
    .json();
    let names: Vec<&str> = info["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["core_webservice_get_site_info", "core_user_create_users"]);
    assert_eq!(info["release"], "4.5 (Build: 20241007)");
    assert_eq!(
        (info["userid"].as_i64(), info["username"].as_str()),
        (Some(2), Some("admin"))
    );
    assert_eq!(info["siteurl"], sim.url());
}

// ---- login/token.php (1.7) ----

fn login(sim: &Simulator, username: &str, password: &str, service: &str) -> Value {
    let body = encode(&[
        ("username", username),
        ("password", password),
        ("service", service),
    ]);
    raw::post_form(sim.url(), "/login/token.php", &body)
        .unwrap()
        .json()
}

#[test]
fn login_returns_the_existing_token_for_a_cleaned_username() {
    let sim = Simulator::start(SiteConfig::default());
    assert_eq!(
        login(&sim, "  Admin ", ADMIN_PASSWORD, SERVICE),
        json!({"token": TOKEN, "privatetoken": null})
    );
}

#[test]
fn login_failures_use_token_php_error_keys() {
    let mut config = SiteConfig::default();
    config
        .users
        .push(User::new(3, "teacher", "t@example.org").with_password("Teach-123"));
    config
        .services
        .push(Service::new("other", &["core_webservice_get_site_info"]));
    let sim = Simulator::start(config);
    let wrong = login(&sim, "admin", "wrong", SERVICE);
    assert_eq!(
        wrong,
        json!({
            "error": "Invalid login, please try again",
            "errorcode": "invalidlogin",
            "stacktrace": null,
            "debuginfo": null,
            "reproductionlink": null,
        })
    );
    assert_eq!(
        login(&sim, "admin", ADMIN_PASSWORD, "nosuch")["errorcode"],
        "servicenotavailable"
    );
    assert_eq!(
        login(&sim, "admin", ADMIN_PASSWORD, "other")["errorcode"],
        "cannotcreatetoken"
    );
    let token = login(&sim, "teacher", "Teach-123", "other");
    assert_eq!(token["token"].as_str().map(str::len), Some(32));
    assert_eq!(
        login(&sim, "teacher", "Teach-123", "other"),
        token,
        "the token is reused"
    );
    let missing = raw::post_form(sim.url(), "/login/token.php", "username=admin")
        .unwrap()
        .json();
    assert_eq!(missing["errorcode"], "missingparam");
}

// ---- faults ----

#[test]
fn proxy_errors_apply_nothing() {
    let sim = Simulator::start(SiteConfig {
        faults: Faults::on_calls(&[(1, Fault::Http502), (2, Fault::Http503), (3, Fault::Http429)]),
        ..SiteConfig::default()
    });
    for expected in [502, 503, 429] {
        let response = call_with(
            &sim,
            TOKEN,
            "core_user_create_users",
            &user_pairs(0, "p", "p@example.org"),
        )
        .unwrap();
        assert_eq!(response.status, expected);
        if expected == 429 {
            assert_eq!(response.header("retry-after"), Some("1"));
        }
    }
    assert!(sim.state().user_by_username("p").is_none());
    let outcomes: Vec<Outcome> = sim.calls().into_iter().map(|c| c.outcome).collect();
    assert_eq!(
        outcomes,
        [
            Outcome::Faulted {
                fault: Fault::Http502,
                applied: false
            },
            Outcome::Faulted {
                fault: Fault::Http503,
                applied: false
            },
            Outcome::Faulted {
                fault: Fault::Http429,
                applied: false
            },
        ]
    );
    assert_eq!(
        call_json(
            &sim,
            "core_user_create_users",
            &user_pairs(0, "p", "p@example.org")
        )[0]["username"],
        "p"
    );
}

#[test]
fn a_drop_before_apply_closes_the_connection_and_applies_nothing() {
    let sim = Simulator::start(SiteConfig {
        faults: Faults::on_calls(&[(1, Fault::DropBeforeApply)]),
        ..SiteConfig::default()
    });
    let error = call_with(
        &sim,
        TOKEN,
        "core_user_create_users",
        &user_pairs(0, "d", "d@example.org"),
    )
    .unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
    assert!(sim.state().user_by_username("d").is_none());
}

#[test]
fn a_drop_after_apply_closes_the_connection_but_the_write_happened() {
    let sim = Simulator::start(SiteConfig {
        faults: Faults::on_calls(&[(1, Fault::DropAfterApply)]),
        ..SiteConfig::default()
    });
    let error = call_with(
        &sim,
        TOKEN,
        "core_user_create_users",
        &user_pairs(0, "d", "d@example.org"),
    )
    .unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
    assert_eq!(sim.state().user_by_username("d").map(|u| u.id), Some(3));
    assert_eq!(
        sim.calls()[0].outcome,
        Outcome::Faulted {
            fault: Fault::DropAfterApply,
            applied: true
        }
    );
    // The retry finds the username taken: the client must reconcile (4.1).
    let retry = call_json(
        &sim,
        "core_user_create_users",
        &user_pairs(0, "d", "d@example.org"),
    );
    assert_eq!(retry["errorcode"], "invalidparameter");
}

#[test]
fn a_slow_call_is_applied_before_its_late_answer() {
    let sim = Simulator::start(SiteConfig {
        faults: Faults::on_calls(&[(1, Fault::Slow(Duration::from_millis(300)))]),
        ..SiteConfig::default()
    });
    let started = Instant::now();
    let answer = call_json(
        &sim,
        "core_user_create_users",
        &user_pairs(0, "s", "s@example.org"),
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(answer[0]["username"], "s");
}

#[test]
fn drawn_faults_depend_only_on_the_seed_and_spare_reads() {
    let faults = Faults {
        seed: 7,
        http_5xx_rate: 0.2,
        http_429_rate: 0.1,
        drop_before_apply_rate: 0.1,
        drop_after_apply_rate: 0.1,
        ..Faults::default()
    };
    let run = || {
        let sim = Simulator::start(SiteConfig::default());
        sim.set_faults(faults.clone());
        for i in 0..30 {
            let name = format!("r{i}");
            let _ = call_with(
                &sim,
                TOKEN,
                "core_user_create_users",
                &user_pairs(0, &name, &format!("{name}@example.org")),
            );
            let info = call_with(&sim, TOKEN, "core_webservice_get_site_info", &[("", ""); 0]).unwrap();
            assert_eq!(info.status, 200, "reads are not targeted by default");
        }
        let outcomes: Vec<Outcome> = sim.calls().into_iter().map(|c| c.outcome).collect();
        (outcomes, sim.state())
    };
    let (first, state) = run();
    let (second, _) = run();
    assert_eq!(first, second);
    let faulted = first
        .iter()
        .filter(|o| matches!(o, Outcome::Faulted { .. }))
        .count();
    assert!((5..25).contains(&faulted), "{faulted} of 30 writes faulted");
    let applied = first
        .iter()
        .filter(|o| matches!(o, Outcome::Applied | Outcome::Faulted { applied: true, .. }))
        .count();
    assert_eq!(
        state.users.len(),
        2 + applied - 30,
        "every applied write and nothing else"
    );
}

#[test]
fn latency_delays_targeted_calls() {
    let sim = Simulator::start(SiteConfig::default());
    sim.set_faults(Faults {
        latency: Duration::from_millis(200),
        ..Faults::default()
    });
    let started = Instant::now();
    call(&sim, "core_webservice_get_site_info", &[("", ""); 0]);
    assert!(
        started.elapsed() < Duration::from_millis(200),
        "reads are not delayed"
    );
    call(
        &sim,
        "core_user_create_users",
        &user_pairs(0, "l", "l@example.org"),
    );
    assert!(started.elapsed() >= Duration::from_millis(200));
}

// ---- read functions: get_courses, get_categories, get_enrolled_users,
// ---- get_grade_items, users_by_field shapes (2.4, 2.8, 2.11–2.13) ----

/// `school` plus profile fields, a second course, a subcategory, roles,
/// a group and grades.
fn campus() -> Simulator {
    let mut config = school(true);
    config.profile_fields.push(ProfileField::new("team", "Team"));
    config.users[2] = User::new(3, "s1", "s1@example.org")
        .with_name("Ann", "Zed")
        .with_idnumber("ID-3")
        .with_field("phone1", "555-1")
        .with_field("address", "1 Main St")
        .with_field("city", "Graz")
        .with_field("country", "AT")
        .with_field("department", "Sales")
        .with_field("institution", "Uni")
        .with_customfield("team", "Red");
    config
        .categories
        .push(Category::new(4, "Sub").with_parent(1).with_idnumber("SUB"));
    config.categories.push(Category::new(5, "Other"));
    config
        .courses
        .push(Course::new(6, "C2", 4).with_fullname("Course two"));
    let sim = Simulator::start(config);
    sim.with_state(|s| {
        s.enrol(2, 3, role::STUDENT);
        s.enrol(2, 4, role::STUDENT);
        s.enrol(2, 5, role::EDITING_TEACHER);
        s.enrol(6, 3, role::STUDENT);
        s.enrolments.get_mut(&(2, 4)).unwrap().suspended = true;
        let g = s.add_group(2, "Group A");
        s.add_to_group(g, 3);
        s.set_grade(2, 3, Some("Quiz"), 80.0);
        s.add_grade_item(2, GradeItem::new(0, 2, "Essay").with_grademax(50.0));
        s.set_grade(2, 3, Some("Essay"), 25.0);
    });
    sim
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

#[test]
fn get_courses_includes_the_front_page_and_skips_unknown_ids() {
    let sim = campus();
    let all = call_json(&sim, "core_course_get_courses", &[("", ""); 0]);
    let ids: Vec<i64> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [1, 2, 6]);
    assert_eq!(all[0]["format"], "site");
    assert_eq!(all[0]["categoryid"], 0);
    assert_eq!(all[0]["fullname"], "Moodle simulator");
    assert_eq!(
        keys(&all[1]),
        [
            "id",
            "shortname",
            "categoryid",
            "categorysortorder",
            "fullname",
            "displayname",
            "idnumber",
            "summary",
            "summaryformat",
            "format",
            "showgrades",
            "newsitems",
            "startdate",
            "enddate",
            "numsections",
            "maxbytes",
            "showreports",
            "visible",
            "hiddensections",
            "groupmode",
            "groupmodeforce",
            "defaultgroupingid",
            "timecreated",
            "timemodified",
            "enablecompletion",
            "completionnotify",
            "lang",
            "forcetheme",
            "courseformatoptions",
        ]
    );
    let some = call_json(
        &sim,
        "core_course_get_courses",
        &[("options[ids][0]", "6"), ("options[ids][1]", "99")],
    );
    assert_eq!(some.as_array().unwrap().len(), 1);
    assert_eq!(some[0]["fullname"], "Course two");
    let bad = call_json(&sim, "core_course_get_courses", &[("options[ids][0]", "x")]);
    assert_eq!(
        bad,
        invalid_parameter(
            "options => Invalid parameter value detected: ids => Invalid parameter value detected: \
             Invalid external api parameter: the value is \"x\", the server was expecting \"int\" type"
        )
    );
}

#[test]
fn get_categories_filters_adds_subcategories_and_rejects_unknown_keys() {
    let sim = campus();
    let all = call_json(&sim, "core_course_get_categories", &[("", ""); 0]);
    let ids: Vec<i64> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [1, 4, 5], "by sortorder: the subcategory follows its parent");
    assert_eq!(
        keys(&all[0]),
        [
            "id",
            "name",
            "idnumber",
            "description",
            "descriptionformat",
            "parent",
            "sortorder",
            "coursecount",
            "visible",
            "visibleold",
            "timemodified",
            "depth",
            "path",
            "theme",
        ]
    );
    assert_eq!(
        (all[1]["path"].as_str(), all[1]["depth"].as_i64()),
        (Some("/1/4"), Some(2))
    );
    assert_eq!(
        (all[0]["coursecount"].as_i64(), all[1]["coursecount"].as_i64()),
        (Some(1), Some(1))
    );
    let with_subs = call_json(
        &sim,
        "core_course_get_categories",
        &[("criteria[0][key]", "id"), ("criteria[0][value]", "1")],
    );
    assert_eq!(with_subs.as_array().unwrap().len(), 2);
    let only = call_json(
        &sim,
        "core_course_get_categories",
        &[
            ("criteria[0][key]", "id"),
            ("criteria[0][value]", "1"),
            ("addsubcategories", "0"),
        ],
    );
    assert_eq!(only.as_array().unwrap().len(), 1);
    let by_idnumber = call_json(
        &sim,
        "core_course_get_categories",
        &[("criteria[0][key]", "idnumber"), ("criteria[0][value]", "SUB")],
    );
    assert_eq!(by_idnumber[0]["id"], 4);
    let bad = call_json(
        &sim,
        "core_course_get_categories",
        &[("criteria[0][key]", "colour"), ("criteria[0][value]", "x")],
    );
    assert_eq!(
        bad,
        json!({
            "exception": "core\\exception\\moodle_exception",
            "errorcode": "criteriaerror",
            "message": "Missing permissions to search on a criterion.",
            "debuginfo": "You can not search on this criteria: colour",
        })
    );
}

#[test]
fn enrolled_users_have_course_fields_but_not_the_account_fields() {
    let sim = campus();
    let users = call_json(&sim, "core_enrol_get_enrolled_users", &[("courseid", "2")]);
    let ids: Vec<i64> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [3, 4, 5]);
    let ann = &users[0];
    assert_eq!(
        keys(ann),
        [
            "id",
            "username",
            "firstname",
            "lastname",
            "fullname",
            "email",
            "address",
            "phone1",
            "department",
            "institution",
            "idnumber",
            "firstaccess",
            "lastaccess",
            "city",
            "country",
            "profileimageurlsmall",
            "profileimageurl",
            "customfields",
            "groups",
            "roles",
            "enrolledcourses",
        ]
    );
    assert_eq!(
        ann["roles"],
        json!([{"roleid": 5, "name": "", "shortname": "student", "sortorder": 5}])
    );
    assert_eq!(ann["groups"][0]["name"], "Group A");
    assert_eq!(
        ann["customfields"],
        json!([{"type": "text", "value": "Red", "name": "Team", "shortname": "team"}])
    );
    assert_eq!(ann["enrolledcourses"].as_array().unwrap().len(), 2);
    let active = call_json(
        &sim,
        "core_enrol_get_enrolled_users",
        &[
            ("courseid", "2"),
            ("options[0][name]", "onlyactive"),
            ("options[0][value]", "1"),
        ],
    );
    assert_eq!(active.as_array().unwrap().len(), 2);
    let suspended = call_json(
        &sim,
        "core_enrol_get_enrolled_users",
        &[
            ("courseid", "2"),
            ("options[0][name]", "onlysuspended"),
            ("options[0][value]", "1"),
        ],
    );
    assert_eq!(suspended[0]["id"], 4);
    let paged = call_json(
        &sim,
        "core_enrol_get_enrolled_users",
        &[
            ("courseid", "2"),
            ("options[0][name]", "sortby"),
            ("options[0][value]", "id"),
            ("options[1][name]", "sortdirection"),
            ("options[1][value]", "desc"),
            ("options[2][name]", "limitfrom"),
            ("options[2][value]", "1"),
            ("options[3][name]", "limitnumber"),
            ("options[3][value]", "1"),
            ("options[4][name]", "userfields"),
            ("options[4][value]", "email"),
        ],
    );
    assert_eq!(
        paged,
        json!([{"id": 4, "fullname": "First Last", "email": "s2@example.org"}])
    );
    let grouped = call_json(
        &sim,
        "core_enrol_get_enrolled_users",
        &[
            ("courseid", "2"),
            ("options[0][name]", "groupid"),
            ("options[0][value]", "1"),
        ],
    );
    assert_eq!(grouped.as_array().unwrap().len(), 1);
}

#[test]
fn enrolled_users_errors() {
    let sim = campus();
    let unknown = call_json(&sim, "core_enrol_get_enrolled_users", &[("courseid", "99")]);
    assert_eq!(unknown["exception"], "dml_missing_record_exception");
    assert_eq!(unknown["errorcode"], "invalidcourseid");
    let sortby = call_json(
        &sim,
        "core_enrol_get_enrolled_users",
        &[
            ("courseid", "2"),
            ("options[0][name]", "sortby"),
            ("options[0][value]", "email"),
        ],
    );
    assert_eq!(
        sortby,
        invalid_parameter(
            "Invalid value for sortby parameter (value: email),allowed values are: id,firstname,lastname,siteorder"
        )
    );
    let field = call_json(
        &sim,
        "core_enrol_get_enrolled_users",
        &[
            ("courseid", "2"),
            ("options[0][name]", "userfields"),
            ("options[0][value]", "shoe"),
        ],
    );
    assert_eq!(field["errorcode"], "invaliduserfield");
    let missing = call_json(&sim, "core_enrol_get_enrolled_users", &[("", ""); 0]);
    assert_eq!(
        missing,
        invalid_parameter("Missing required key in single structure: courseid")
    );
}

#[test]
fn users_by_field_answers_many_values_with_the_account_fields() {
    let sim = campus();
    let users = call_json(
        &sim,
        "core_user_get_users_by_field",
        &[
            ("field", "id"),
            ("values[0]", "3"),
            ("values[1]", "77"),
            ("values[2]", "2"),
        ],
    );
    let ids: Vec<i64> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [2, 3]);
    assert_eq!(
        keys(&users[1]),
        [
            "id",
            "username",
            "firstname",
            "lastname",
            "fullname",
            "email",
            "address",
            "phone1",
            "department",
            "institution",
            "idnumber",
            "firstaccess",
            "lastaccess",
            "auth",
            "suspended",
            "confirmed",
            "lang",
            "theme",
            "timezone",
            "mailformat",
            "city",
            "country",
            "profileimageurlsmall",
            "profileimageurl",
            "customfields",
        ]
    );
    assert_eq!(
        users[1]["customfields"],
        json!([{"type": "text", "value": "Red", "displayvalue": "Red", "name": "Team", "shortname": "team"}])
    );
    // Preferences only come back for the caller's own record.
    assert!(users[0].get("preferences").is_some());
    assert!(users[1].get("preferences").is_none());
}

#[test]
fn grade_items_list_every_item_and_the_course_total_last() {
    let sim = campus();
    let answer = call_json(&sim, "gradereport_user_get_grade_items", &[("courseid", "2")]);
    assert_eq!(answer["warnings"], json!([]));
    let usergrades = answer["usergrades"].as_array().unwrap();
    let users: Vec<i64> = usergrades.iter().map(|u| u["userid"].as_i64().unwrap()).collect();
    assert_eq!(users, [3, 5], "active enrolments only");
    let ann = &usergrades[0];
    assert_eq!(
        keys(ann),
        [
            "courseid",
            "courseidnumber",
            "userid",
            "userfullname",
            "useridnumber",
            "maxdepth",
            "gradeitems"
        ]
    );
    assert_eq!(
        (ann["userfullname"].as_str(), ann["useridnumber"].as_str()),
        (Some("Ann Zed"), Some("ID-3"))
    );
    let items = ann["gradeitems"].as_array().unwrap();
    let names: Vec<&Value> = items.iter().map(|i| &i["itemname"]).collect();
    assert_eq!(names, [&json!("Quiz"), &json!("Essay"), &Value::Null]);
    let total = &items[2];
    assert_eq!(total["itemtype"], "course");
    assert_eq!(
        (total["graderaw"].as_f64(), total["grademax"].as_f64()),
        (Some(105.0), Some(150.0))
    );
    assert_eq!(total["gradeformatted"], "105.00");
    assert_eq!(items[1]["percentageformatted"], "50.00 %");
    assert_eq!(items[1]["rangeformatted"], "0&ndash;50");
    let none = &usergrades[1]["gradeitems"][0];
    assert_eq!(
        (none["graderaw"].clone(), none["gradeformatted"].as_str()),
        (Value::Null, Some("-"))
    );
    let one = call_json(
        &sim,
        "gradereport_user_get_grade_items",
        &[("courseid", "2"), ("userid", "4")],
    );
    assert_eq!(one["usergrades"].as_array().unwrap().len(), 1);
    let empty = call_json(&sim, "gradereport_user_get_grade_items", &[("courseid", "6")]);
    let items = empty["usergrades"][0]["gradeitems"].as_array().unwrap();
    assert_eq!(items.len(), 1, "a course without items still has its total");
    assert_eq!(items[0]["itemtype"], "course");
    let unknown = call_json(&sim, "gradereport_user_get_grade_items", &[("courseid", "99")]);
    assert_eq!(unknown["errorcode"], "invalidcourseid");
    let bad_user = call_json(
        &sim,
        "gradereport_user_get_grade_items",
        &[("courseid", "2"), ("userid", "99")],
    );
    assert_eq!(bad_user["errorcode"], "invaliduser");
}
