//! Site facts with `validate --url` (read functions only): a course's
//! category exists, the users and courses of enrolments exist, the role can
//! be assigned in a course, and the facts no web-service function reveals
//! (language packs, themes, auth plugins, custom roles) come from the site
//! profile, else one warning per field "unchecked: needs the site profile".

use std::path::{Path, PathBuf};

use crate::harness::{self, Moodlec, Output};
use crate::simulator::{Category, Course, Simulator, SiteConfig, User, TOKEN};

const READS: [&str; 4] = [
    "core_webservice_get_site_info",
    "core_course_get_categories",
    "core_user_get_users_by_field",
    "core_course_get_courses_by_field",
];

fn scratch(name: &str) -> PathBuf {
    let dir = harness::scratch(&format!("site-facts-{name}"));
    std::fs::create_dir_all(dir.join("config/moodlec")).expect("config folder");
    dir
}

/// Users ana (3) and ben (4), course SAFETY-101 (2), categories 1 and 5.
fn site() -> SiteConfig {
    let mut config = SiteConfig::default();
    config.users.extend([
        User::new(3, "ana.silva", "ana.silva@example.org"),
        User::new(4, "ben.okafor", "ben.okafor@example.org"),
    ]);
    config.courses.push(Course::new(2, "SAFETY-101", 1));
    config.categories.push(Category::new(5, "Staff"));
    config
}

fn validate(dir: &Path, template: &str, data: &str, extra: &[&str]) -> Output {
    std::fs::write(dir.join("data.ndjson"), data).expect("data");
    Moodlec::new(["validate", "-t", template, "data.ndjson"])
        .args(extra)
        .current_dir(dir)
        .config_home(dir.join("config"))
        .token(TOKEN)
        .output()
}

/// `--format json` problems as (record, severity, code, field, message).
fn problems(out: &Output) -> Vec<(u64, String, String, String, String)> {
    harness::diagnostics(out)
        .into_iter()
        .map(|v| {
            let text = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
            (
                v["record"].as_u64().unwrap_or(0),
                text("severity"),
                text("code"),
                text("field"),
                text("message"),
            )
        })
        .collect()
}

fn count(sim: &Simulator, function: &str) -> usize {
    sim.calls()
        .iter()
        .filter(|c| c.function.as_deref() == Some(function))
        .count()
}

fn only_reads(sim: &Simulator) {
    let writes: Vec<String> = sim
        .calls()
        .into_iter()
        .filter_map(|c| c.function)
        .filter(|f| !READS.contains(&f.as_str()))
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
}

fn course(shortname: &str, categoryid: i64) -> String {
    format!("{{\"fullname\":\"{shortname}\",\"shortname\":\"{shortname}\",\"categoryid\":{categoryid}}}\n")
}

fn user(username: &str, extra: &str) -> String {
    format!(
        "{{\"username\":\"{username}\",\"firstname\":\"A\",\"lastname\":\"B\",\"email\":\"{username}@example.org\",\"createpassword\":1{extra}}}\n"
    )
}

#[test]
fn a_course_in_a_missing_category_is_an_error_and_categories_are_read_once() {
    let sim = Simulator::start(site());
    let dir = scratch("category");
    let data = [course("A", 1), course("B", 9), course("C", 5), course("D", 9)].concat();
    let out = validate(
        &dir,
        "create_courses",
        &data,
        &["--url", sim.url(), "--format", "json"],
    );
    assert_eq!(out.code, Some(1), "{out:?}");
    let found = problems(&out);
    assert_eq!(found.len(), 2, "{found:?}");
    for (record, (number, severity, code, field, message)) in [2, 4].iter().zip(&found) {
        assert_eq!(
            (number, severity.as_str(), code.as_str(), field.as_str()),
            (record, "error", "site_fact", "categoryid")
        );
        assert_eq!(message, "no course category with id 9 on the site");
    }
    assert_eq!(harness::summary(&out)["valid"], 2);
    assert_eq!(count(&sim, "core_course_get_categories"), 1);
    only_reads(&sim);
}

#[test]
fn missing_users_and_courses_of_enrolments_are_errors_read_in_one_call_each() {
    let sim = Simulator::start(site());
    let dir = scratch("enrol");
    let data = "{\"userid\":3,\"courseid\":2}\n\
                {\"userid\":99,\"courseid\":2}\n\
                {\"userid\":4,\"courseid\":77}\n\
                {\"userid\":99,\"courseid\":77}\n\
                {\"userid\":4,\"courseid\":2}\n";
    let out = validate(
        &dir,
        "enrol_users",
        data,
        &["--url", sim.url(), "--format", "json"],
    );
    assert_eq!(out.code, Some(1), "{out:?}");
    let found: Vec<(u64, String, String)> = problems(&out)
        .into_iter()
        .map(|(n, _, code, field, message)| {
            assert_eq!(code, "site_fact");
            (n, field, message)
        })
        .collect();
    assert_eq!(
        found,
        vec![
            (2, "userid".into(), "no Moodle user with id 99 on the site".into()),
            (
                3,
                "courseid".into(),
                "no Moodle course with id 77 on the site".into()
            ),
            (4, "userid".into(), "no Moodle user with id 99 on the site".into()),
            (
                4,
                "courseid".into(),
                "no Moodle course with id 77 on the site".into()
            ),
        ]
    );
    assert!(
        out.stdout.contains("TypeError"),
        "the help says what Moodle would answer: {}",
        out.stdout
    );
    assert_eq!(count(&sim, "core_user_get_users_by_field"), 1);
    assert_eq!(count(&sim, "core_course_get_courses_by_field"), 1);
    only_reads(&sim);
}

#[test]
fn unenrolments_are_checked_too_and_offline_nothing_is_read() {
    let sim = Simulator::start(site());
    let dir = scratch("unenrol");
    let data = "{\"userid\":99,\"courseid\":2}\n";
    let out = validate(
        &dir,
        "unenrol_users",
        data,
        &["--url", sim.url(), "--format", "json"],
    );
    assert_eq!(out.code, Some(1), "{out:?}");
    assert_eq!(problems(&out)[0].4, "no Moodle user with id 99 on the site");
    let offline = validate(&dir, "unenrol_users", data, &["--format", "json"]);
    assert_eq!(offline.code, Some(0), "{offline:?}");
}

#[test]
fn roles_not_assignable_in_courses_are_errors_and_custom_ones_a_single_warning() {
    let sim = Simulator::start(site());
    let dir = scratch("roles");
    let data = "{\"userid\":3,\"courseid\":2,\"roleid\":5}\n\
                {\"userid\":3,\"courseid\":2,\"roleid\":7}\n\
                {\"userid\":4,\"courseid\":2,\"roleid\":12}\n\
                {\"userid\":4,\"courseid\":2,\"roleid\":13}\n";
    let out = validate(
        &dir,
        "enrol_users",
        data,
        &["--url", sim.url(), "--format", "json"],
    );
    assert_eq!(out.code, Some(1), "{out:?}");
    let found = problems(&out);
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(
        (found[0].0, found[0].1.as_str(), found[0].2.as_str()),
        (2, "error", "site_fact")
    );
    assert!(
        found[0]
            .4
            .contains("role 7 (user on a standard site) cannot be assigned in a course"),
        "{found:?}"
    );
    assert_eq!(
        (found[1].0, found[1].1.as_str(), found[1].2.as_str()),
        (3, "warning", "unchecked")
    );
    assert!(
        found[1].4.contains("unchecked: needs the site profile"),
        "{found:?}"
    );

    // The profile lists the custom roles the token may assign.
    std::fs::write(
        dir.join("config/moodlec/config.toml"),
        format!("[site.staging]\nurl = \"{}\"\nroles = [12]\n", sim.url()),
    )
    .unwrap();
    let out = validate(
        &dir,
        "enrol_users",
        data,
        &["--site", "staging", "--format", "json"],
    );
    let found = problems(&out);
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!((found[1].0, found[1].1.as_str()), (4, "error"));
    assert!(found[1].4.contains("role 13 is not assignable"), "{found:?}");
}

#[test]
fn without_a_profile_lang_theme_and_auth_are_one_warning_per_field_never_silently_accepted() {
    let sim = Simulator::start(site());
    let dir = scratch("no-profile");
    let data = [
        user("u1", ",\"lang\":\"cs\",\"theme\":\"boost\""),
        user("u2", ",\"lang\":\"de\",\"auth\":\"ldap\""),
        user("u3", ",\"lang\":\"en\""),
    ]
    .concat();
    let out = validate(
        &dir,
        "create_users",
        &data,
        &["--url", sim.url(), "--format", "json"],
    );
    assert_eq!(out.code, Some(0), "warnings only: {out:?}");
    let found = problems(&out);
    let warned: Vec<(u64, &str)> = found.iter().map(|p| (p.0, p.3.as_str())).collect();
    assert_eq!(warned, vec![(1, "lang"), (1, "theme"), (2, "auth")], "{found:?}");
    for problem in &found {
        assert_eq!((problem.1.as_str(), problem.2.as_str()), ("warning", "unchecked"));
        assert!(
            problem.4.contains("unchecked: needs the site profile"),
            "{problem:?}"
        );
    }
    let unchecked = harness::summary(&out)["unchecked"].to_string();
    for field in ["lang", "theme", "auth"] {
        assert!(
            unchecked.contains(&format!("{field}: unchecked: needs the site profile")),
            "{unchecked}"
        );
    }
    let strict = validate(
        &dir,
        "create_users",
        &data,
        &["--url", sim.url(), "--format", "json", "--strict"],
    );
    assert_eq!(strict.code, Some(1), "{strict:?}");
    only_reads(&sim);
}

#[test]
fn the_config_profile_decides_langs_themes_and_auths() {
    let sim = Simulator::start(site());
    let dir = scratch("profile");
    std::fs::write(
        dir.join("config/moodlec/config.toml"),
        format!(
            "[site.prod]\nurl = \"{}\"\nlangs = [\"en\", \"cs\"]\nthemes = [\"boost\"]\nauths = [\"manual\", \"ldap\"]\n",
            sim.url()
        ),
    )
    .unwrap();
    let data = [
        user("u1", ",\"lang\":\"cs\",\"theme\":\"boost\",\"auth\":\"ldap\""),
        user("u2", ",\"lang\":\"de\""),
        user("u3", ",\"theme\":\"classic\",\"auth\":\"cas\""),
    ]
    .concat();
    let out = validate(
        &dir,
        "create_users",
        &data,
        &["--site", "prod", "--format", "json"],
    );
    assert_eq!(out.code, Some(1), "{out:?}");
    let mut found: Vec<(u64, String, String, String)> =
        problems(&out).into_iter().map(|p| (p.0, p.1, p.3, p.4)).collect();
    found.sort();
    assert_eq!(
        found,
        vec![
            (
                2,
                "error".into(),
                "lang".into(),
                "`lang` \"de\" is not in the site profile's langs".into()
            ),
            (
                3,
                "error".into(),
                "auth".into(),
                "`auth` \"cas\" is not in the site profile's auths".into()
            ),
            (
                3,
                "error".into(),
                "theme".into(),
                "`theme` \"classic\" is not in the site profile's themes".into()
            ),
        ]
    );
    assert!(
        out.stdout.contains("[site.prod] of the config file lists langs"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_site_toml_beside_the_template_is_a_profile_too_and_github_annotations_carry_the_facts() {
    let sim = Simulator::start(site());
    let dir = scratch("beside");
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::write(dir.join("templates/site.toml"), "langs = [\"cs\"]\n").unwrap();
    let data = [user("u1", ",\"lang\":\"cs\""), user("u2", ",\"lang\":\"fr\"")].concat();
    let out = validate(
        &dir,
        "create_users",
        &data,
        &["--url", sim.url(), "--format", "json"],
    );
    assert_eq!(out.code, Some(1), "{out:?}");
    let found = problems(&out);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, 2);
    assert!(
        found[0].4.contains("\"fr\" is not in the site profile's langs"),
        "{found:?}"
    );

    let out = validate(
        &dir,
        "enrol_users",
        "{\"userid\":99,\"courseid\":2}\n",
        &["--url", sim.url(), "--format", "github"],
    );
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.all().contains("::error") && out.all().contains("no Moodle user with id 99 on the site"),
        "{}",
        out.all()
    );
}

#[test]
fn moodle_url_alone_checks_no_site_facts() {
    let sim = Simulator::start(site());
    let dir = scratch("env-only");
    std::fs::write(dir.join("data.ndjson"), "{\"userid\":99,\"courseid\":2}\n").unwrap();
    let out = Moodlec::new(["validate", "-t", "enrol_users", "data.ndjson", "--format", "json"])
        .current_dir(&dir)
        .config_home(dir.join("config"))
        .token(TOKEN)
        .env("MOODLE_URL", sim.url())
        .output();
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(sim.calls().is_empty());
}
