//! The `moodlec` binary end to end: arguments, working directory, stdin and
//! environment in; stdout, stderr and exit code out.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// One invocation of the binary, built up step by step.
struct Run {
    args: Vec<String>,
    cwd: PathBuf,
    stdin: Option<String>,
    env: Vec<(String, String)>,
}

/// What an invocation produced.
#[derive(Debug)]
struct Outcome {
    stdout: String,
    stderr: String,
    code: Option<i32>,
}

/// `moodlec ARGS`, run in an empty folder so no ./templates/ is picked up.
fn moodlec(args: &[&str]) -> Run {
    Run {
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        cwd: scratch("empty"),
        stdin: None,
        env: vec![("NO_COLOR".to_owned(), "1".to_owned())],
    }
}

/// A fresh folder under the target directory, named for the test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{name}"));
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

impl Run {
    fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = dir.into();
        self
    }

    fn stdin(mut self, text: &str) -> Self {
        self.stdin = Some(text.to_owned());
        self
    }

    fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    fn run(self) -> Outcome {
        let mut child = Command::new(env!("CARGO_BIN_EXE_moodlec"))
            .args(&self.args)
            .current_dir(&self.cwd)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start moodlec");
        if let (Some(text), Some(mut pipe)) = (&self.stdin, child.stdin.take()) {
            pipe.write_all(text.as_bytes()).expect("write stdin");
        }
        let output = child.wait_with_output().expect("wait for moodlec");
        Outcome {
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            code: output.status.code(),
        }
    }
}

impl Outcome {
    #[track_caller]
    fn code(&self, expected: i32) -> &Self {
        assert_eq!(self.code, Some(expected), "exit code\n{self:#?}");
        self
    }

    #[track_caller]
    fn stdout_has(&self, text: &str) -> &Self {
        assert!(self.stdout.contains(text), "stdout lacks {text:?}\n{self:#?}");
        self
    }

    #[track_caller]
    fn stderr_has(&self, text: &str) -> &Self {
        assert!(self.stderr.contains(text), "stderr lacks {text:?}\n{self:#?}");
        self
    }
}

const BUILTINS: [(&str, &str); 5] = [
    ("create_courses", "core_course_create_courses"),
    ("create_users", "core_user_create_users"),
    ("enrol_users", "enrol_manual_enrol_users"),
    ("unenrol_users", "enrol_manual_unenrol_users"),
    ("update_users", "core_user_update_users"),
];

#[test]
fn templates_lists_the_builtins_with_their_functions() {
    let out = moodlec(&["templates"]).run();
    out.code(0);
    for (name, function) in BUILTINS {
        let line = out.stdout.lines().find(|l| l.starts_with(name));
        let line = line.unwrap_or_else(|| panic!("no line for {name}\n{}", out.stdout));
        assert!(line.contains(function), "{name} should call {function}: {line}");
    }
}

#[test]
fn builtin_template_files_check_clean_from_the_repo_root() {
    let mut files: Vec<String> = std::fs::read_dir(repo_root().join("templates"))
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
    moodlec(&args).cwd(repo_root()).run().code(0).stderr_has(&format!(
        "checked {n} file(s), {n} template(s) compiled: no errors"
    ));
}

#[test]
fn explain_shows_the_role_param_and_its_default() {
    moodlec(&["explain", "enrol_users"])
        .run()
        .code(0)
        .stdout_has("roleid : role = student (5)")
        .stdout_has("default param.roleid = student (5)");
}

#[test]
fn explain_set_changes_the_param() {
    moodlec(&["explain", "enrol_users", "--set", "roleid=teacher"])
        .run()
        .code(0)
        .stdout_has("roleid : role = teacher (4)")
        .stdout_has("default param.roleid = teacher (4)");
}

#[test]
fn explain_set_rejects_an_unknown_role() {
    let out = moodlec(&["explain", "enrol_users", "--set", "roleid=nonsense"]).run();
    out.code(2)
        .stderr_has("`nonsense` is not a standard Moodle role")
        .stderr_has("teacher (4), student (5)");
    assert!(out.stdout.is_empty(), "{out:#?}");
}

#[test]
fn explain_set_suggests_a_param_name() {
    moodlec(&["explain", "enrol_users", "--set", "rolid=3"])
        .run()
        .code(2)
        .stderr_has("no param `rolid`")
        .stderr_has("did you mean `roleid`?");
}

#[test]
fn explain_unknown_template_suggests_names() {
    moodlec(&["explain", "nosuch"])
        .run()
        .code(2)
        .stderr_has("no template named `nosuch`")
        .stderr_has("enrol_users");
    moodlec(&["explain", "enrol_uesrs"])
        .run()
        .code(2)
        .stderr_has("did you mean `enrol_users`?");
}

#[test]
fn explain_schema_is_json_with_the_required_fields() {
    let out = moodlec(&["explain", "enrol_users", "--schema"]).run();
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
    moodlec(&["--help"])
        .run()
        .code(0)
        .stdout_has("Examples:")
        .stdout_has("moodlec check templates/*.moodle")
        .stdout_has("Exit codes: 0 ok")
        .stdout_has("2 usage or template error");
    moodlec(&["check", "--help"])
        .run()
        .code(0)
        .stdout_has("Usage: moodlec check")
        .stdout_has("exit 2 on errors");
}

#[test]
fn check_reports_a_missing_file() {
    let out = moodlec(&["check", "no_such_file.moodle"]).run();
    out.code(2).stderr_has("cannot read no_such_file.moodle");
    assert!(!out.stderr.contains("panicked"), "{out:#?}");
}

#[test]
fn check_reports_template_errors_with_exit_2() {
    let dir = scratch("broken");
    std::fs::write(
        dir.join("broken.moodle"),
        "template t {\n  function f\n  field x: integr\n}\n",
    )
    .expect("write template");
    moodlec(&["check", "broken.moodle"])
        .cwd(&dir)
        .run()
        .code(2)
        .stderr_has("moodlec::check::unknown_type")
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
    let dir = scratch("custom");
    std::fs::write(dir.join("hr_staff.moodle"), HR_STAFF).expect("write template");
    moodlec(&["explain", "hr_staff.moodle"])
        .cwd(&dir)
        .run()
        .code(0)
        .stdout_has("hr_staff: Staff accounts from the HR export")
        .stdout_has("function  core_user_create_users")
        .stdout_has("extends   create_users")
        .stdout_has("username = \"{{ work_email | lower }}\"");
    let record = r#"{"work_email":"Ann.Lee@Example.org","firstname":"Ann","lastname":"Lee","cost_centre":"F12","createpassword":1}"#;
    moodlec(&[
        "validate",
        "-t",
        "hr_staff.moodle",
        "-",
        "--input-format",
        "ndjson",
    ])
    .cwd(&dir)
    .stdin(&format!("{record}\n"))
    .run()
    .code(0)
    .stderr_has("valid: 1, invalid: 0");
    // Without createpassword or password the base template's rule rejects it.
    moodlec(&[
        "validate",
        "-t",
        "hr_staff.moodle",
        "-",
        "--input-format",
        "ndjson",
    ])
    .cwd(&dir)
    .stdin(r#"{"work_email":"a@example.org","firstname":"A","lastname":"B"}"#)
    .run()
    .code(1)
    .stderr_has("give a password or set createpassword to 1");
}

#[test]
fn color_is_off_with_no_color_even_when_asked_for() {
    let out = moodlec(&["explain", "nosuch"]).env("CLICOLOR_FORCE", "1").run();
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
        moodlec(&args)
            .env("MOODLE_TOKEN", "x")
            .stdin(r#"{"courseid":2}"#)
            .run()
            .code(2)
            .stderr_has("`enrolled_users` is a read template")
            .stderr_has("moodlec fetch -t enrolled_users");
    }
    moodlec(&["fetch", "-t", "create_users", "--url", "http://127.0.0.1:9"])
        .env("MOODLE_TOKEN", "x")
        .run()
        .code(2)
        .stderr_has("is a write template");
}
