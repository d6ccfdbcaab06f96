//! The template compiler end to end: `extends` depth, local templates in
//! ./templates/ (shadowing, broken files, their origin), byte order marks.

use crate::harness::{self, Moodlec};

/// `n` templates, each extending the previous, listed deepest first (the
/// order that made checking recurse once per level).
fn extends_chain(n: usize) -> String {
    let mut text = String::new();
    for i in (1..n).rev() {
        text.push_str(&format!("template t{i} extends t{} \"level {i}\" {{ }}\n", i - 1));
    }
    text.push_str("template t0 \"base\" {\n  function core_user_create_users\n  wrap users\n  field username: username required\n  field firstname: notags required\n  field lastname: notags required\n  field email: email required\n}\n");
    text
}

#[test]
fn a_5000_deep_extends_chain_is_refused_without_a_crash() {
    let dir = harness::scratch("compiler-deep-extends");
    std::fs::write(dir.join("deep.moodle"), extends_chain(5000)).expect("write");
    let out = Moodlec::new(["check", "deep.moodle", "--format", "json"])
        .current_dir(&dir)
        .output();
    out.code(2);
    let diagnostics = harness::diagnostics(&out);
    let too_deep: Vec<&serde_json::Value> = diagnostics
        .iter()
        .filter(|d| d["code"] == "extends_too_deep")
        .collect();
    // One diagnostic, on the template that is one level too deep.
    assert_eq!(too_deep.len(), 1, "{}", out.stdout);
    assert!(
        too_deep[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("`t65` is more than 64 levels")),
        "{}",
        too_deep[0]
    );
}

#[test]
fn a_64_deep_extends_chain_still_compiles() {
    let dir = harness::scratch("compiler-64-extends");
    std::fs::write(dir.join("deep.moodle"), extends_chain(65)).expect("write");
    Moodlec::new(["check", "deep.moodle"])
        .current_dir(&dir)
        .output()
        .code(0)
        .stderr_has("65 template(s) compiled: no errors");
}

#[test]
fn a_5000_long_extends_cycle_is_reported_without_a_crash() {
    let dir = harness::scratch("compiler-long-cycle");
    let text: String = (0..5000)
        .map(|i| format!("template t{i} extends t{} {{ }}\n", (i + 1) % 5000))
        .collect();
    std::fs::write(dir.join("cycle.moodle"), text).expect("write");
    Moodlec::new(["check", "cycle.moodle"])
        .current_dir(&dir)
        .output()
        .code(2)
        .stderr_has("moodlec::extends_cycle")
        .stderr_has("0 template(s) compiled: 1 error");
}

#[test]
fn a_template_file_starting_with_a_byte_order_mark_checks_clean() {
    let dir = harness::scratch("compiler-bom");
    let text = "\u{feff}template bom_users \"Users\" {\n  function core_user_create_users\n  wrap users\n  field username: username required\n  field firstname: notags required\n  field lastname: notags required\n  field email: email required\n}\n";
    std::fs::write(dir.join("bom.moodle"), text).expect("write");
    Moodlec::new(["check", "bom.moodle"])
        .current_dir(&dir)
        .output()
        .code(0)
        .stderr_has("1 template(s) compiled: no errors");
}

/// The column (in characters) where `needle` starts in the excerpt line that
/// holds it, and where the underline below it starts.
fn underline_under(stderr: &str, needle: &str) -> (usize, usize) {
    let lines: Vec<&str> = stderr.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no excerpt line with {needle}\n{stderr}"));
    let column = |line: &str, byte: usize| line[..byte].chars().count();
    let text = column(lines[at], lines[at].find(needle).expect("needle"));
    let under = lines[at + 1];
    let mark = under
        .find(['─', '┬'])
        .unwrap_or_else(|| panic!("no underline\n{stderr}"));
    (text, column(under, mark))
}

#[test]
fn an_unknown_key_is_underlined_at_the_key_not_its_value() {
    let dir = harness::scratch("compiler-unknown-key-span");
    let record =
        r#"{"username":"ann","firstname":"A","lastname":"B","email":"a@example.com","nickname":"annie"}"#;
    std::fs::write(dir.join("users.ndjson"), format!("{record}\n")).expect("write");
    let out = Moodlec::new(["validate", "-t", "create_users", "users.ndjson"])
        .current_dir(&dir)
        .output();
    out.code(1).stderr_has("moodlec::unknown_key");
    let (key, underline) = underline_under(&out.stderr, r#""nickname""#);
    assert_eq!(
        key, underline,
        "the underline starts under the key\n{}",
        out.stderr
    );
}

#[test]
fn json_minus_zero_is_quoted_as_written() {
    let dir = harness::scratch("compiler-minus-zero");
    let record = r#"{"userid": -0, "courseid": 2}"#;
    std::fs::write(dir.join("enrol.ndjson"), format!("{record}\n")).expect("write");
    let out = Moodlec::new([
        "validate",
        "-t",
        "enrol_users",
        "enrol.ndjson",
        "--format",
        "json",
    ])
    .current_dir(&dir)
    .output();
    out.code(1)
        .stdout_has("`userid`: -0 is not a whole number Moodle accepts");
    assert!(!out.stdout.contains("-0.0"), "{}", out.stdout);
}

#[test]
fn a_map_can_use_a_declared_param() {
    let dir = harness::scratch("compiler-map-param");
    let template = "template enrol_from_sis extends enrol_users \"Enrolments\" {\n  map timestart = \"{{ param.roleid * 100 }}\"\n}\n";
    std::fs::write(dir.join("sis.moodle"), template).expect("write");
    std::fs::write(dir.join("enrol.ndjson"), "{\"userid\": 3, \"courseid\": 4}\n").expect("write");
    Moodlec::new([
        "render",
        "-t",
        "./sis.moodle",
        "enrol.ndjson",
        "--set",
        "roleid=teacher",
    ])
    .current_dir(&dir)
    .output()
    .code(0)
    .stdout_has("enrolments[0][timestart]=400");
}

#[test]
fn a_typo_in_a_rule_filter_fails_check_not_every_record() {
    let dir = harness::scratch("compiler-rule-filter");
    let template = "template staff extends create_users \"Staff\" {\n  rule \"email | lowercase != username\" \"no\"\n}\n";
    std::fs::write(dir.join("staff.moodle"), template).expect("write");
    Moodlec::new(["check", "staff.moodle"])
        .current_dir(&dir)
        .output()
        .code(2)
        .stderr_has("moodlec::unknown_filter")
        .stderr_has("did you mean `lower`?");
}

/// A folder with `./templates/` holding `files` (name, text).
fn with_local_templates(name: &str, files: &[(&str, &str)]) -> std::path::PathBuf {
    let dir = harness::scratch(name);
    std::fs::create_dir_all(dir.join("templates")).expect("templates/");
    for (file, text) in files {
        std::fs::write(dir.join("templates").join(file), text).expect("write");
    }
    std::fs::write(dir.join("enrol.ndjson"), "{\"userid\": 3, \"courseid\": 4}\n").expect("write");
    dir
}

const DELETING_CREATE_USERS: &str = "template create_users \"Looks harmless\" {\n  function core_user_delete_users\n  field id: int required\n  batch collect id into userids\n}\n";
const BROKEN: &str = "template broken_one \"Broken\" {\n  function core_user_create_users\n  wrap users\n  field username: integr\n}\n";
const UNPARSABLE: &str = "template half_written \"Half\" {\n  function core_user_create_users\n";
const MINE: &str = "template mine extends enrol_users \"Mine\" {\n  set roleid = 3\n}\n";

#[test]
fn a_local_template_replacing_a_builtin_is_reported_naming_both() {
    let dir = with_local_templates(
        "compiler-shadow",
        &[("create_users.moodle", DELETING_CREATE_USERS)],
    );
    for args in [vec!["check"], vec!["templates"], vec!["explain", "create_users"]] {
        let out = Moodlec::new(&args).current_dir(&dir).output();
        out.code(0)
            .stderr_has("moodlec::shadows_builtin")
            .stderr_has("templates/create_users.moodle")
            .stderr_has("builtin:create_users.moodle")
            .stderr_has("calls core_user_delete_users where the replaced one calls core_user_create_users");
    }
}

#[test]
fn templates_lists_each_templates_kind_and_origin() {
    let dir = with_local_templates("compiler-origin", &[("mine.moodle", MINE)]);
    let out = Moodlec::new(["templates"]).current_dir(&dir).output();
    out.code(0).stdout_has("KIND").stdout_has("ORIGIN");
    let line = |name: &str| -> Vec<String> {
        let line = out
            .stdout
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name}\n{}", out.stdout));
        line.split_whitespace().map(str::to_owned).collect()
    };
    assert_eq!(
        line("mine")[..4],
        [
            "mine",
            "write",
            "enrol_manual_enrol_users",
            "templates/mine.moodle"
        ]
    );
    assert_eq!(
        line("users_by_field")[..4],
        [
            "users_by_field",
            "read",
            "core_user_get_users_by_field",
            "built-in"
        ]
    );
    let json = Moodlec::new(["templates", "--json"]).current_dir(&dir).output();
    json.code(0);
    let mine: serde_json::Value = json
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON line"))
        .find(|t| t["name"] == "mine")
        .expect("mine listed");
    assert_eq!(
        (mine["kind"].as_str(), mine["origin"].as_str()),
        (Some("write"), Some("templates/mine.moodle"))
    );
}

#[test]
fn a_broken_local_file_fails_only_the_commands_that_need_it() {
    let dir = with_local_templates(
        "compiler-broken-local",
        &[
            ("broken.moodle", BROKEN),
            ("half.moodle", UNPARSABLE),
            ("mine.moodle", MINE),
        ],
    );
    // Other templates work, with a warning naming each broken file.
    for args in [
        vec!["validate", "-t", "enrol_users", "enrol.ndjson"],
        vec!["validate", "-t", "mine", "enrol.ndjson"],
        vec!["templates"],
    ] {
        Moodlec::new(&args)
            .current_dir(&dir)
            .output()
            .code(0)
            .stderr_has("warning: templates/broken.moodle is left out (1 error)")
            .stderr_has("warning: templates/half.moodle is left out (1 error)");
    }
    // A template of a broken file is refused with its errors.
    Moodlec::new(["validate", "-t", "broken_one", "enrol.ndjson"])
        .current_dir(&dir)
        .output()
        .code(2)
        .stderr_has("moodlec::unknown_type");
    Moodlec::new(["validate", "-t", "half_written", "enrol.ndjson"])
        .current_dir(&dir)
        .output()
        .code(2)
        .stderr_has("moodlec::syntax");
    // check still checks everything.
    Moodlec::new(["check"]).current_dir(&dir).output().code(2);
}

#[test]
fn an_unreadable_local_file_is_left_out_with_a_warning() {
    let dir = with_local_templates("compiler-unreadable-local", &[("mine.moodle", MINE)]);
    std::fs::create_dir_all(dir.join("templates/folder.moodle")).expect("a folder where a file should be");
    Moodlec::new(["validate", "-t", "mine", "enrol.ndjson"])
        .current_dir(&dir)
        .output()
        .code(0)
        .stderr_has("warning: templates/folder.moodle is left out (cannot read it");
}

#[test]
fn a_local_copy_of_a_builtin_file_is_not_reported_as_replacing_it() {
    let builtin =
        std::fs::read_to_string(harness::repo_root().join("templates/enrol_users.moodle")).expect("built-in");
    let dir = with_local_templates("compiler-copy", &[("enrol_users.moodle", &builtin)]);
    let out = Moodlec::new(["validate", "-t", "enrol_users", "enrol.ndjson"])
        .current_dir(&dir)
        .output();
    out.code(0);
    assert!(!out.stderr.contains("shadows_builtin"), "{}", out.stderr);
}

/// The sync example of the README: two sync templates and the steps that run them.
const SYNC_EXAMPLE: &str = r#"template staff_users extends create_users "Staff accounts from the HR export" {
  map username = "{{ email | lower }}"
  map firstname = "{{ first_name }}"
  sync users by username
  update firstname, lastname, email
  create none
  scope auth = "manual"
  scope email like "%@staff.example.edu"
  missing suspend
}

template staff_enrolments extends enrol_users "Course enrolments from the HR export" {
  lookup userid = user by username from "{{ username }}"
  lookup courseid = course by shortname from "{{ course }}"
  sync enrolments
  scope courses "MATH101", "PHYS201"
  missing suspend
}

template staff_sync "HR staff: accounts, then their course enrolments" {
  steps staff_users, staff_enrolments
}
"#;

fn compile_text(text: &str) -> moodlec::check::Compiled {
    let source = moodlec::diagnostic::Source::new("sync.moodle", text);
    moodlec::check::compile(&[source], moodlec::builtin::catalog())
}

fn sync_of(compiled: &moodlec::check::Compiled, name: &str) -> moodlec::template::SyncSpec {
    compiled
        .catalog
        .get(name)
        .unwrap_or_else(|| panic!("{name} did not compile: {:?}", compiled.diagnostics))
        .sync
        .clone()
        .unwrap_or_else(|| panic!("{name} has no sync"))
}

#[test]
fn sync_statements_compile_to_their_sync_spec() {
    use moodlec::template::{Kind, Missing, ScopeRule, SyncObject, SyncSpec};
    let compiled = compile_text(SYNC_EXAMPLE);
    assert!(compiled.diagnostics.is_empty(), "{:?}", compiled.diagnostics);
    assert_eq!(
        sync_of(&compiled, "staff_users"),
        SyncSpec {
            object: SyncObject::Users,
            key: Some("username".to_owned()),
            update: Some(vec![
                "firstname".to_owned(),
                "lastname".to_owned(),
                "email".to_owned()
            ]),
            create: false,
            scope: vec![
                ScopeRule::Equals {
                    field: "auth".to_owned(),
                    value: "manual".to_owned()
                },
                ScopeRule::Like {
                    field: "email".to_owned(),
                    pattern: "%@staff.example.edu".to_owned()
                },
            ],
            missing: Missing::Suspend,
        }
    );
    assert_eq!(
        sync_of(&compiled, "staff_enrolments"),
        SyncSpec {
            object: SyncObject::Enrolments,
            key: None,
            update: None,
            create: true,
            scope: vec![ScopeRule::Courses(vec![
                "MATH101".to_owned(),
                "PHYS201".to_owned()
            ])],
            missing: Missing::Suspend,
        }
    );
    let steps = compiled.catalog.get("staff_sync").expect("steps template");
    match &steps.kind {
        Kind::Steps(names) => assert_eq!(names, &["staff_users", "staff_enrolments"]),
        other => panic!("expected steps, got {other:?}"),
    }
    assert!(steps.sync.is_none() && steps.function.is_empty());
    // A template without sync statements has no sync spec.
    assert!(compiled
        .catalog
        .get("create_users")
        .expect("built-in")
        .sync
        .is_none());
}

#[test]
fn update_none_and_the_defaults_of_a_sync() {
    use moodlec::template::Missing;
    let compiled = compile_text(
        r#"template add_only extends create_users "Add new only" {
  sync users by email
  update none
}
template courses_sync extends create_courses "Courses" {
  sync courses by shortname
  scope categoryid = 5
  missing delete
}
"#,
    );
    assert!(compiled.diagnostics.is_empty(), "{:?}", compiled.diagnostics);
    let add_only = sync_of(&compiled, "add_only");
    assert_eq!(add_only.update, Some(Vec::new()));
    assert!(add_only.create);
    assert_eq!(add_only.missing, Missing::Keep);
    assert!(add_only.scope.is_empty());
    let courses = sync_of(&compiled, "courses_sync");
    assert_eq!(courses.update, None, "no `update`: every field it can compare");
    assert_eq!(courses.missing, Missing::Delete);
}

#[test]
fn a_template_extending_a_sync_template_inherits_and_overrides_its_statements() {
    use moodlec::template::{Missing, ScopeRule};
    let text = format!(
        "{SYNC_EXAMPLE}\ntemplate staff_strict extends staff_users \"Stricter\" {{\n  scope auth = \"ldap\"\n  missing delete\n}}\n"
    );
    let compiled = compile_text(&text);
    assert!(compiled.diagnostics.is_empty(), "{:?}", compiled.diagnostics);
    let strict = sync_of(&compiled, "staff_strict");
    let base = sync_of(&compiled, "staff_users");
    assert_eq!(strict.key, base.key);
    assert_eq!(strict.update, base.update);
    assert!(!strict.create);
    assert_eq!(strict.missing, Missing::Delete);
    // Scope lines replace the inherited ones.
    assert_eq!(
        strict.scope,
        vec![ScopeRule::Equals {
            field: "auth".to_owned(),
            value: "ldap".to_owned()
        }]
    );
}

#[test]
fn the_sync_example_is_formatted_canonically_and_explained() {
    let source = moodlec::diagnostic::Source::new("sync.moodle", SYNC_EXAMPLE);
    assert_eq!(
        moodlec::fmt::format_source(&source).expect("parses"),
        SYNC_EXAMPLE
    );
    let dir = harness::scratch("compiler-sync-explain");
    std::fs::create_dir_all(dir.join("templates")).expect("templates dir");
    std::fs::write(dir.join("templates/staff.moodle"), SYNC_EXAMPLE).expect("write");
    Moodlec::new(["explain", "staff_users"])
        .current_dir(&dir)
        .output()
        .code(0)
        .stdout_has("Sync (moodlec plan / sync):")
        .stdout_has("keeps     Moodle's users, matched by username")
        .stdout_has("updates   firstname, lastname, email")
        .stdout_has("creates   nothing (updates only)")
        .stdout_has("owns      auth = \"manual\" and email like \"%@staff.example.edu\"")
        .stdout_has("missing   in scope but not in the roster: suspended");
    Moodlec::new(["explain", "staff_enrolments"])
        .current_dir(&dir)
        .output()
        .code(0)
        .stdout_has("matched by user username and course shortname")
        .stdout_has("owns      courses MATH101, PHYS201");
    let out = Moodlec::new(["explain", "staff_sync", "--json"])
        .current_dir(&dir)
        .output();
    out.code(0);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(
        json["steps"],
        serde_json::json!(["staff_users", "staff_enrolments"])
    );
    let out = Moodlec::new(["explain", "staff_users", "--json"])
        .current_dir(&dir)
        .output();
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(json["sync"]["object"], "users");
    assert_eq!(json["sync"]["missing"], "suspend");
    assert_eq!(json["sync"]["scope"][1]["like"]["pattern"], "%@staff.example.edu");
}

const SHAPES: &str = r#"template cohort_members "Add users to cohorts" {
  function core_cohort_add_cohort_members
  wrap members
  field cohorttype: object {
    field type: enum("id", "idnumber") default "idnumber"
    field value: raw required
  } required
  field usertype: object {
    field type: enum("id", "username") default "username"
    field value: raw required
  } required
}

template override_completion "One call per record" {
  function core_completion_override_activity_completion_status
  field userid: int required
  field cmid: int required
  field newstate: int required
}

template user_lists "Lists of ids" {
  function core_user_delete_users
  field userids: list int required min 1
}
"#;

#[test]
fn a_template_without_a_list_parameter_makes_one_call_per_record() {
    let compiled = compile_text(SHAPES);
    let template = compiled
        .catalog
        .get("override_completion")
        .unwrap_or_else(|| panic!("{:?}", compiled.diagnostics));
    assert_eq!(template.batch.size, 1);
    assert!(
        compiled.diagnostics.iter().all(|d| !d.is_error()),
        "{:?}",
        compiled.diagnostics
    );
    let dir = with_local_templates("compiler-one-per-call", &[("shapes.moodle", SHAPES)]);
    std::fs::write(
        dir.join("completion.ndjson"),
        "{\"userid\": 3, \"cmid\": 9, \"newstate\": 1}\n{\"userid\": 4, \"cmid\": 9, \"newstate\": 0}\n",
    )
    .expect("write");
    let out = Moodlec::new(["render", "-t", "override_completion", "completion.ndjson"])
        .current_dir(&dir)
        .output();
    out.code(0);
    let bodies: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        bodies,
        [
            "wstoken=REDACTED&wsfunction=core_completion_override_activity_completion_status&moodlewsrestformat=json&userid=3&cmid=9&newstate=1",
            "wstoken=REDACTED&wsfunction=core_completion_override_activity_completion_status&moodlewsrestformat=json&userid=4&cmid=9&newstate=0",
        ]
    );
}

#[test]
fn explain_shows_the_fields_inside_structures() {
    let dir = with_local_templates("compiler-explain-shapes", &[("shapes.moodle", SHAPES)]);
    let out = Moodlec::new(["explain", "cohort_members"])
        .current_dir(&dir)
        .output();
    out.code(0);
    let text = out.stdout.replace(' ', "");
    assert!(text.contains("cohorttypeobjectrequired\nfields:\ntypeenum(id,idnumber)optionaldefault\"idnumber\"\nvaluerawrequired"), "{}", out.stdout);
    let out = Moodlec::new(["explain", "user_lists"]).current_dir(&dir).output();
    out.code(0);
    assert!(out.stdout.contains("list int"), "{}", out.stdout);
    assert!(out.stdout.contains("one per call"), "{}", out.stdout);
}

#[test]
fn csv_cells_give_structures_as_json() {
    let dir = with_local_templates("compiler-csv-structures", &[("shapes.moodle", SHAPES)]);
    std::fs::write(
        dir.join("members.csv"),
        "cohorttype,usertype\n\"{\"\"value\"\":\"\"C1\"\"}\",\"{\"\"type\"\":\"\"id\"\",\"\"value\"\":\"\"7\"\"}\"\nC1,ann\n",
    )
    .expect("write");
    let out = Moodlec::new([
        "validate",
        "-t",
        "cohort_members",
        "members.csv",
        "--format",
        "json",
    ])
    .current_dir(&dir)
    .output();
    out.code(1);
    let lines = harness::diagnostics(&out);
    let errors: Vec<&serde_json::Value> = lines.iter().filter(|l| l["record"].is_number()).collect();
    assert!(!errors.is_empty(), "record 2 is invalid: {lines:?}");
    assert!(
        errors.iter().all(|e| e["record"] == 2),
        "record 1 is valid: {lines:?}"
    );
    assert!(
        errors.iter().any(|e| e["field"] == "cohorttype"
            && e["message"]
                .as_str()
                .is_some_and(|m| m.contains("expected a JSON object"))),
        "{lines:?}"
    );
    let out = Moodlec::new(["render", "-t", "cohort_members", "members.csv"])
        .current_dir(&dir)
        .output();
    assert!(
        out.stdout.contains("members[0][cohorttype][type]=idnumber&members[0][cohorttype][value]=C1&members[0][usertype][type]=id&members[0][usertype][value]=7"),
        "{}",
        out.stdout
    );
}
