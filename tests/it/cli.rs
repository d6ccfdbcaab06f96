//! The `moodlec` binary end to end: arguments, working directory, stdin and
//! environment in; stdout, stderr and exit code out.

use crate::harness::{self, Moodlec};

const BUILTINS: [(&str, &str); 5] = [
    ("create_courses", "core_course_create_courses"),
    ("create_users", "core_user_create_users"),
    ("enrol_users", "enrol_manual_enrol_users"),
    ("unenrol_users", "enrol_manual_unenrol_users"),
    ("update_users", "core_user_update_users"),
];

#[test]
fn templates_lists_the_builtins_with_their_functions() {
    let out = Moodlec::new(["templates"]).output();
    out.code(0);
    for (name, function) in BUILTINS {
        let line = out.stdout.lines().find(|l| l.starts_with(name));
        let line = line.unwrap_or_else(|| panic!("no line for {name}\n{}", out.stdout));
        assert!(line.contains(function), "{name} should call {function}: {line}");
    }
}

#[test]
fn builtin_template_files_check_clean_from_the_repo_root() {
    let mut files: Vec<String> = std::fs::read_dir(harness::repo_root().join("templates"))
        .expect("templates/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".moodle"))
        .map(|name| format!("templates/{name}"))
        .collect();
    files.sort();
    assert_eq!(files.len(), moodlec::builtin::BUILTIN_FILES.len(), "{files:?}");
    let mut args = vec!["check"];
    args.extend(files.iter().map(String::as_str));
    let n = files.len();
    Moodlec::new(&args)
        .current_dir(harness::repo_root())
        .output()
        .code(0)
        .stderr_has(&format!(
            "checked {n} file(s), {n} template(s) compiled: no errors"
        ));
}

#[test]
fn explain_shows_the_role_param_and_its_default() {
    Moodlec::new(["explain", "enrol_users"])
        .output()
        .code(0)
        .stdout_has("roleid : role = student (5)")
        .stdout_has("default param.roleid = student (5)");
}

#[test]
fn explain_set_changes_the_param() {
    Moodlec::new(["explain", "enrol_users", "--set", "roleid=teacher"])
        .output()
        .code(0)
        .stdout_has("roleid : role = teacher (4)")
        .stdout_has("default param.roleid = teacher (4)");
}

#[test]
fn explain_set_rejects_an_unknown_role() {
    let out = Moodlec::new(["explain", "enrol_users", "--set", "roleid=nonsense"]).output();
    out.code(2)
        .stderr_has("`nonsense` is not a standard Moodle role")
        .stderr_has("teacher (4), student (5)");
    assert!(out.stdout.is_empty(), "{out:#?}");
}

#[test]
fn explain_set_suggests_a_param_name() {
    Moodlec::new(["explain", "enrol_users", "--set", "rolid=3"])
        .output()
        .code(2)
        .stderr_has("no param `rolid`")
        .stderr_has("did you mean `roleid`?");
}

#[test]
fn explain_unknown_template_suggests_names() {
    Moodlec::new(["explain", "nosuch"])
        .output()
        .code(2)
        .stderr_has("no template named `nosuch`")
        // Too many built-ins to list them all: the help points at the listing.
        .stderr_has("`moodlec templates` lists them");
    Moodlec::new(["explain", "enrol_uesrs"])
        .output()
        .code(2)
        .stderr_has("did you mean `enrol_users`?");
}

#[test]
fn explain_schema_is_json_with_the_required_fields() {
    let out = Moodlec::new(["explain", "enrol_users", "--schema"]).output();
    out.code(0);
    let schema: serde_json::Value = serde_json::from_str(&out.stdout).expect("schema is JSON");
    let required: Vec<&str> = schema["required"]
        .as_array()
        .expect("a required list")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(
        required.contains(&"userid") && required.contains(&"courseid"),
        "{required:?}"
    );
    assert!(
        !required.contains(&"roleid"),
        "roleid has a default: {required:?}"
    );
}

#[test]
fn help_mentions_examples_and_exit_codes() {
    Moodlec::new(["--help"])
        .output()
        .code(0)
        .stdout_has("Examples:")
        .stdout_has("moodlec check templates/*.moodle")
        .stdout_has("Exit codes: 0 ok")
        .stdout_has("2 usage or template error");
    Moodlec::new(["check", "--help"])
        .output()
        .code(0)
        .stdout_has("Usage: moodlec check")
        .stdout_has("exit 2 on errors");
}

#[test]
fn check_reports_a_missing_file() {
    let out = Moodlec::new(["check", "no_such_file.moodle"]).output();
    out.code(2).stderr_has("cannot read no_such_file.moodle");
    assert!(!out.stderr.contains("panicked"), "{out:#?}");
}

#[test]
fn check_reports_template_errors_with_exit_2() {
    let dir = harness::scratch("cli-broken");
    std::fs::write(
        dir.join("broken.moodle"),
        "template t {\n  function f\n  field x: integr\n}\n",
    )
    .expect("write template");
    Moodlec::new(["check", "broken.moodle"])
        .current_dir(&dir)
        .output()
        .code(2)
        .stderr_has("moodlec::unknown_type")
        .stderr_has("broken.moodle:3:12")
        .stderr_has("did you mean `int`?");
}

const HR_STAFF: &str = r#"template hr_staff extends create_users "Staff accounts from the HR export" {
  map username = "{{ work_email | lower }}"
  map email = "{{ work_email }}"
  set auth = "manual"
  exclude cost_centre
}
"#;

#[test]
fn explain_and_validate_take_a_custom_template_that_extends_a_builtin() {
    let dir = harness::scratch("cli-custom");
    std::fs::write(dir.join("hr_staff.moodle"), HR_STAFF).expect("write template");
    Moodlec::new(["explain", "hr_staff.moodle"])
        .current_dir(&dir)
        .output()
        .code(0)
        .stdout_has("hr_staff: Staff accounts from the HR export")
        .stdout_has("function  core_user_create_users")
        .stdout_has("extends   create_users")
        .stdout_has("username = \"{{ work_email | lower }}\"");
    let record = r#"{"work_email":"Ann.Lee@Example.org","firstname":"Ann","lastname":"Lee","cost_centre":"F12","createpassword":1}"#;
    Moodlec::new([
        "validate",
        "-t",
        "hr_staff.moodle",
        "-",
        "--input-format",
        "ndjson",
    ])
    .current_dir(&dir)
    .stdin(format!("{record}\n"))
    .output()
    .code(0)
    .stderr_has("valid: 1, invalid: 0");
    // Without createpassword or password the base template's rule rejects it.
    Moodlec::new([
        "validate",
        "-t",
        "hr_staff.moodle",
        "-",
        "--input-format",
        "ndjson",
    ])
    .current_dir(&dir)
    .stdin(r#"{"work_email":"a@example.org","firstname":"A","lastname":"B"}"#)
    .output()
    .code(1)
    .stderr_has("give a password or set createpassword to 1");
}

#[test]
fn color_is_off_with_no_color_even_when_asked_for() {
    let out = Moodlec::new(["explain", "nosuch"])
        .env("CLICOLOR_FORCE", "1")
        .output();
    out.code(2);
    assert!(!out.stderr.contains('\u{1b}'), "escape codes in {:?}", out.stderr);
}

#[test]
fn write_commands_refuse_read_templates_and_fetch_refuses_write_ones() {
    for command in ["run", "render"] {
        let mut args = vec![command, "-t", "enrolled_users", "-", "--input-format", "ndjson"];
        if command == "run" {
            args.extend(["--url", "http://127.0.0.1:9"]);
        }
        Moodlec::new(&args)
            .env("MOODLE_TOKEN", "x")
            .stdin(r#"{"courseid":2}"#)
            .output()
            .code(2)
            .stderr_has("`enrolled_users` is a read template")
            .stderr_has("moodlec fetch -t enrolled_users");
    }
    Moodlec::new(["fetch", "-t", "create_users", "--url", "http://127.0.0.1:9"])
        .env("MOODLE_TOKEN", "x")
        .output()
        .code(2)
        .stderr_has("is a write template");
}

#[test]
fn explain_set_takes_noneditingteacher_as_moodles_teacher() {
    Moodlec::new(["explain", "enrol_users", "--set", "roleid=noneditingteacher"])
        .output()
        .code(0)
        .stdout_has("roleid : role = teacher (4)");
    Moodlec::new(["explain", "enrol_users", "--set", "roleid=noneditngteacher"])
        .output()
        .code(2)
        .stderr_has("did you mean `teacher`?");
}

/// `warn` constraints and rules, and quoted `exclude` names: they check,
/// format stably, and `warn` applies only to constraints.
#[test]
fn warn_constraints_and_quoted_excludes_check_and_format() {
    let dir = harness::scratch("cli-warn-syntax");
    let template = "template hr extends create_users {\n  \
                    field mailformat: int warn one_of [0, 1] \"Email format\"\n  \
                    field maildisplay: int warn min 0 warn max 2\n  \
                    warn rule \"city is none or city != 'x'\" \"city x is odd\"\n  \
                    exclude \"Cost centre\", notes, \"Manager's e-mail\"\n\
                    }\n";
    std::fs::write(dir.join("hr.moodle"), template).expect("write template");
    Moodlec::new(["check", "hr.moodle"])
        .current_dir(&dir)
        .output()
        .code(0);
    Moodlec::new(["fmt", "hr.moodle"])
        .current_dir(&dir)
        .output()
        .code(0);
    let formatted = std::fs::read_to_string(dir.join("hr.moodle")).expect("read back");
    assert!(formatted.contains("warn one_of [0, 1]"), "{formatted}");
    assert!(formatted.contains("warn min 0 warn max 2"), "{formatted}");
    assert!(formatted.contains("warn rule \"city"), "{formatted}");
    assert!(
        formatted.contains("exclude \"Cost centre\", notes, \"Manager's e-mail\""),
        "{formatted}"
    );
    Moodlec::new(["fmt", "--check", "hr.moodle"])
        .current_dir(&dir)
        .output()
        .code(0);
    Moodlec::new(["explain", "hr.moodle"])
        .current_dir(&dir)
        .output()
        .code(0)
        .stdout_has("warn one of [0, 1]")
        .stdout_has("city x is odd (warning only)");
    // `warn` marks constraints only: `warn required` is a syntax error.
    std::fs::write(
        dir.join("bad.moodle"),
        "template b extends create_users { field city: text warn required }\n",
    )
    .expect("write template");
    Moodlec::new(["check", "bad.moodle"])
        .current_dir(&dir)
        .output()
        .code(2);
}

#[test]
fn a_set_value_breaking_a_warn_constraint_is_a_check_warning() {
    let dir = harness::scratch("cli-set-warn");
    let template =
        "template enrol_suspended extends enrol_users \"Suspended enrolments\" {\n  set suspend = 2\n}\n";
    std::fs::write(dir.join("t.moodle"), template).expect("write template");
    Moodlec::new(["check", "t.moodle"])
        .current_dir(&dir)
        .output()
        .code(0)
        .stderr_has("the value set for `suspend` breaks a `warn` constraint")
        .stderr_has("2 is not one of [0, 1]");
}

#[test]
fn a_backquoted_column_in_a_map_is_an_error_that_shows_row() {
    let dir = harness::scratch("cli-backquote");
    let template = "template t extends create_users {\n  map email = \"{{ `Email Address` }}\"\n}\n";
    std::fs::write(dir.join("t.moodle"), template).expect("write template");
    Moodlec::new(["check", "t.moodle"])
        .current_dir(&dir)
        .output()
        .code(2)
        .stderr_has("row[\"Email Address\"]");
}

#[test]
fn render_limit_shows_a_sample_of_a_large_file_and_stops_reading() {
    let dir = harness::scratch("render-limit");
    std::fs::write(dir.join("users.ndjson"), crate::fixtures::users("r", 250)).unwrap();
    let requests =
        |out: &crate::harness::Output| out.stdout.matches("wsfunction=core_user_create_users").count();
    let all = Moodlec::new(["render", "-t", "create_users", "users.ndjson"])
        .current_dir(&dir)
        .output();
    all.code(0);
    assert_eq!(requests(&all), 3, "250 users in batches of 100");
    let sample = Moodlec::new(["render", "-t", "create_users", "users.ndjson", "--limit", "1"])
        .current_dir(&dir)
        .output();
    sample.code(0).stderr_has("--limit 1").stderr_has("were not read");
    assert_eq!(requests(&sample), 1, "{}", sample.stderr);
    assert!(
        sample.stdout.contains("users%5B0%5D%5Busername%5D=r001")
            || sample.stdout.contains("users[0][username]=r001"),
        "the first request: {}",
        &sample.stdout[..sample.stdout.len().min(300)]
    );
    Moodlec::new(["render", "-t", "create_users", "users.ndjson", "--limit", "0"])
        .current_dir(&dir)
        .output()
        .code(2);
}

#[test]
fn completions_cover_every_command_in_each_shell() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = Moodlec::new(["completions", shell]).output();
        out.code(0);
        for command in [
            "validate",
            "render",
            "run",
            "fetch",
            "plan",
            "apply",
            "sync",
            "new",
            "templates",
        ] {
            assert!(
                out.stdout.contains(command),
                "{shell} completions lack `{command}`"
            );
        }
        assert!(
            out.stdout.contains("--template") || out.stdout.contains("template"),
            "{shell}: flags"
        );
    }
    Moodlec::new(["completions", "tcsh"]).output().code(2);
}
