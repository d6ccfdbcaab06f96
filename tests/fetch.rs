//! `moodlec fetch` end to end: the real binary and the built-in read
//! templates against the Moodle simulator of tests/simulator.

mod simulator;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use simulator::{Simulator, SiteConfig, User, TOKEN};

/// A fresh folder for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("fetch-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("templates")).expect("scratch folder");
    dir
}

#[derive(Debug)]
struct Output {
    stdout: String,
    stderr: String,
    code: Option<i32>,
}

/// `moodlec fetch ARGS --url SIM` in `dir`.
fn fetch(dir: &Path, sim: &Simulator, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_moodlec"))
        .arg("fetch")
        .args(args)
        .args(["--url", sim.url()])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("MOODLE_TOKEN", TOKEN)
        .env_remove("MOODLE_URL")
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .stdin(Stdio::null())
        .output()
        .expect("run moodlec");
    Output {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code(),
    }
}

fn ndjson(text: &str) -> Vec<Value> {
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("bad line {line:?}: {e}")))
        .collect()
}

fn calls_of(sim: &Simulator, function: &str) -> usize {
    sim.calls()
        .iter()
        .filter(|c| c.function.as_deref() == Some(function))
        .count()
}

#[test]
fn site_info_is_one_record_with_the_functions() {
    let sim = Simulator::start(SiteConfig::default());
    let dir = scratch("site-info");
    let out = fetch(&dir, &sim, &["-t", "site_info"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let records = ndjson(&out.stdout);
    assert_eq!(records.len(), 1, "{out:?}");
    assert_eq!(records[0]["username"], "admin");
    let functions = records[0]["functions"].as_array().expect("functions");
    assert!(functions.iter().any(|f| f["name"] == "core_user_get_users_by_field"));
    assert!(out.stderr.contains("fetched 1 records"), "{}", out.stderr);
}

#[test]
fn users_by_field_puts_many_values_in_one_call_and_skips_unknown_ones() {
    let mut config = SiteConfig::default();
    for i in 0..250 {
        config.users.push(User::new(100 + i, &format!("u{i}"), &format!("u{i}@example.org")));
    }
    let sim = Simulator::start(config);
    let dir = scratch("users-by-field");
    let mut input = String::from("value\n");
    for i in 0..250 {
        input.push_str(&format!("u{i}@example.org\n"));
    }
    input.push_str("nobody@example.org\n");
    std::fs::write(dir.join("emails.csv"), input).unwrap();
    let out = fetch(&dir, &sim, &["-t", "users_by_field", "--param", "field=email", "emails.csv"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let records = ndjson(&out.stdout);
    assert_eq!(records.len(), 250, "an unknown email is absent, as in Moodle");
    assert_eq!(records[0]["email"], "u0@example.org");
    // 251 values, 100 per call; plus the preflight's site info.
    assert_eq!(calls_of(&sim, "core_user_get_users_by_field"), 3);
}

#[test]
fn csv_output_has_the_declared_columns_and_json_is_an_array() {
    let sim = Simulator::start(SiteConfig::default());
    let dir = scratch("formats");
    let out = fetch(
        &dir,
        &sim,
        &["-t", "users_by_field", "--param", "field=username", "--param", "value=admin", "--format", "csv"],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    let mut lines = out.stdout.lines();
    let header = lines.next().expect("a header");
    assert!(header.starts_with("id,username,firstname,lastname,fullname,email,"), "{header}");
    let row = lines.next().expect("a row");
    assert!(row.starts_with("2,admin,"), "{row}");
    let out = fetch(
        &dir,
        &sim,
        &["-t", "users_by_field", "--param", "field=username", "--param", "value=admin", "--format", "json", "-o", "admin.json"],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    let json: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("admin.json")).unwrap()).unwrap();
    assert_eq!(json.as_array().map(Vec::len), Some(1));
}

#[test]
fn a_write_template_or_a_bad_param_is_a_usage_error() {
    let sim = Simulator::start(SiteConfig::default());
    let dir = scratch("usage");
    let out = fetch(&dir, &sim, &["-t", "create_users"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("is a write template"), "{}", out.stderr);
    let out = fetch(&dir, &sim, &["-t", "users_by_field", "--param", "field=phone", "--param", "value=1"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("phone"), "{}", out.stderr);
    assert_eq!(calls_of(&sim, "core_user_get_users_by_field"), 0, "nothing was called");
}
