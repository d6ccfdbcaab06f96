//! The token never leaves, in any encoding: every command that takes a
//! token, run with a token holding `+ / = &` against a site that echoes the
//! token it receives into every string of its answers, its error messages
//! and debuginfo and its HTML error pages (`SiteConfig::echo_token`), and
//! every output, results file, journal, `-o` file and webhook body scanned
//! for the token raw, percent-encoded (either case), with `+` read as a
//! space, and JSON-escaped.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::fixtures::{self, users};
use crate::harness::{self, Moodlec, Output};
use crate::simulator::{Course, Fault, Faults, Simulator, SiteConfig, Token, User, SERVICE};

/// A token with every character form encoding changes.
const SECRET: &str = "Ab3+x/Y=z&Q9+k/W=m&T7";

const TEMPLATES: &str = r#"
template small_users extends create_users "create_users, 5 per call" {
  batch size 5
}

template bare_users "create_users without a way to check a record after a timeout" {
  function core_user_create_users
  wrap users
  field username: username required
  field firstname: notags required
  field lastname: notags required
  field email: email required
  field password: password
  batch size 5
  returns list {
    field id: int required
    field username: username required
  }
}

template hr_enrol extends enrol_users "Enrolments by email and course code" {
  lookup userid = user by email from "{{ employee_email }}"
  lookup courseid = course by shortname from "{{ course_code }}"
}
"#;

/// Every encoding of `SECRET` that must not appear, and the start of each
/// (an excerpt cut inside the token must not show most of it either).
fn forbidden() -> Vec<String> {
    let form: String = form_urlencoded::byte_serialize(SECRET.as_bytes()).collect();
    let mut forms = vec![
        SECRET.to_owned(),
        form.clone(),
        lower_hex(&form),
        SECRET.replace('+', " "),
        SECRET.replace('/', "\\/"),
        SECRET.replace('/', "\\u002f"),
        SECRET.replace('&', "\\u0026"),
        SECRET.replace('&', "&amp;"),
    ];
    let starts: Vec<String> = forms.iter().map(|f| f.chars().take(10).collect()).collect();
    forms.extend(starts);
    forms.sort();
    forms.dedup();
    forms
}

/// `%2B` as `%2b`: percent-encoding with lower-case hex digits.
fn lower_hex(encoded: &str) -> String {
    let mut out = String::new();
    let mut hex = 0;
    for c in encoded.chars() {
        if c == '%' {
            hex = 2;
            out.push(c);
        } else if hex > 0 {
            hex -= 1;
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A site that accepts `SECRET` and echoes it everywhere, with debugging on,
/// a user that already exists (`s002`), and what the lookup template needs.
fn echoing_site() -> Simulator {
    let mut config = SiteConfig {
        debug: true,
        echo_token: true,
        ..SiteConfig::default()
    };
    config.tokens.push(Token::new(SECRET, 2, SERVICE));
    config.users.extend([
        User::new(10, "s002", "s002-old@example.org"),
        User::new(11, "ana.silva", "ana.silva@example.org"),
    ]);
    config.courses.push(Course::new(2, "SAFETY-101", 1));
    Simulator::start(config)
}

fn scratch(name: &str) -> PathBuf {
    let dir = harness::scratch(&format!("token-scan-{name}"));
    std::fs::create_dir_all(dir.join("templates")).expect("templates folder");
    std::fs::write(dir.join("templates/test.moodle"), TEMPLATES).expect("templates");
    dir
}

fn moodlec(dir: &Path, args: &[&str]) -> Output {
    Moodlec::new(args)
        .current_dir(dir)
        .token(SECRET)
        .config_home(dir.join("config"))
        .output()
}

/// Every file moodlec wrote in `dir` (results, journals, `-o` files).
fn written_files(dir: &Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("scratch folder") {
        let path = entry.expect("entry").path();
        if path.is_file() {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name != "users.ndjson" && name != "data.csv" {
                let mut text = String::new();
                std::fs::File::open(&path)
                    .and_then(|mut f| f.read_to_string(&mut text))
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                files.push((name, text));
            }
        }
    }
    files
}

/// Which texts hold which forbidden form.
fn leaks(texts: &[(String, String)]) -> Vec<String> {
    let forms = forbidden();
    let mut found = Vec::new();
    for (what, text) in texts {
        for form in &forms {
            if text.contains(form.as_str()) {
                found.push(format!("{what} holds {form:?}"));
            }
        }
    }
    found
}

#[test]
fn the_echoing_site_really_echoes_the_token() {
    // The scan below means something only if the site does echo it.
    let sim = echoing_site();
    let body = crate::simulator::raw::form(&[
        ("wstoken", SECRET),
        ("wsfunction", "core_webservice_get_site_info"),
        ("moodlewsrestformat", "json"),
    ]);
    let answer = crate::simulator::raw::post_form(sim.url(), "/webservice/rest/server.php", &body).unwrap();
    let holds = leaks(&[("answer".into(), answer.body)]);
    assert!(holds.len() >= 3, "{holds:?}");
}

#[test]
fn the_token_leaves_in_no_encoding_from_any_command() {
    let mut texts: Vec<(String, String)> = Vec::new();
    let mut keep = |what: &str, out: &Output| {
        texts.push((format!("{what}: stdout"), out.stdout.clone()));
        texts.push((format!("{what}: stderr"), out.stderr.clone()));
    };
    let (hook, bodies) = fixtures::webhook_receiver("200 OK");

    // run: a batch applied and its answer lost, an HTML page for the
    // lookup, a 502 after commit, a batch refused (s002 exists) and split.
    let sim = echoing_site();
    sim.set_faults(Faults::on_calls(&[
        (2, Fault::DropAfterApply),
        (3, Fault::Html200),
        (5, Fault::Http502AfterApply),
    ]));
    let dir = scratch("run");
    std::fs::write(dir.join("users.ndjson"), users("s", 12)).unwrap();
    let url = sim.url().to_owned();
    let common = [
        "--url",
        url.as_str(),
        "--retry-base-ms",
        "5",
        "--concurrency",
        "1",
    ];
    let run = |template: &str, extra: &[&str]| {
        let mut args = vec!["run", "-t", template, "users.ndjson"];
        args.extend(common);
        args.extend(extra);
        moodlec(&dir, &args)
    };
    let out = run("small_users", &["--results", "r.ndjson", "--webhook", &hook]);
    assert!(matches!(out.code, Some(0 | 1)), "{out:#?}");
    assert!(out.stderr.contains("applied: "), "{}", out.stderr);
    keep("run", &out);

    // run --test: the exchange is shown in full.
    std::fs::write(dir.join("users.ndjson"), users("t", 2)).unwrap();
    let out = run("small_users", &["--test", "--webhook", &hook]);
    assert!(out.stdout.contains("core_user_create_users") || out.stderr.contains("core_user_create_users"));
    keep("run --test", &out);

    // run without an applied check: an HTML page in place of the answer ends
    // in unknown_outcome with an excerpt of the page in the results.
    sim.set_faults(Faults::on_calls(&[(sim.calls().len() + 2, Fault::Html200)]));
    std::fs::write(dir.join("users.ndjson"), users("u", 3)).unwrap();
    let out = run("bare_users", &["--results", "bare.ndjson", "--webhook", &hook]);
    assert_eq!(out.code, Some(1), "{out:#?}");
    keep("run bare", &out);
    let bare = std::fs::read_to_string(dir.join("bare.ndjson")).unwrap();
    assert!(
        bare.contains("unknown_outcome") && bare.contains("REDACTED"),
        "{bare}"
    );

    // fetch, in every format, to stdout and to a file.
    sim.set_faults(Faults::default());
    for format in ["ndjson", "json", "csv"] {
        let mut args = vec![
            "fetch",
            "-t",
            "users_by_field",
            "--param",
            "field=username",
            "--param",
            "value=admin",
            "--format",
            format,
        ];
        args.extend(common);
        let out = moodlec(&dir, &args);
        assert_eq!(out.code, Some(0), "{out:#?}");
        assert!(out.stdout.contains("REDACTED"), "the site echoed: {}", out.stdout);
        keep(&format!("fetch {format}"), &out);
    }
    let mut args = vec!["fetch", "-t", "site_info", "-o", "site.json", "--format", "json"];
    args.extend(common);
    let out = moodlec(&dir, &args);
    assert_eq!(out.code, Some(0), "{out:#?}");
    keep("fetch site_info", &out);

    // validate --url with lookups.
    std::fs::write(
        dir.join("data.csv"),
        "employee_email,course_code\nana.silva@example.org,SAFETY-101\nnobody@example.org,NOPE\n",
    )
    .unwrap();
    let out = moodlec(&dir, &["validate", "-t", "hr_enrol", "data.csv", "--url", &url]);
    assert_eq!(out.code, Some(1), "{out:#?}");
    keep("validate --url", &out);

    // Errors: the preflight answered by an HTML page that echoes the token.
    sim.set_faults(Faults::on_calls(&[(sim.calls().len() + 1, Fault::Html200)]));
    let mut args = vec!["fetch", "-t", "site_info", "--retries", "0"];
    args.extend(common);
    let out = moodlec(&dir, &args);
    assert_eq!(out.code, Some(3), "{out:#?}");
    assert!(
        out.stderr.contains("REDACTED"),
        "the page's excerpt is shown: {}",
        out.stderr
    );
    keep("preflight page", &out);

    // Errors: a site that does not know the token, and says so quoting it.
    let stranger = Simulator::start(SiteConfig {
        debug: true,
        echo_token: true,
        ..SiteConfig::default()
    });
    for command in [
        vec!["fetch", "-t", "site_info", "--url", stranger.url()],
        vec![
            "run",
            "-t",
            "small_users",
            "users.ndjson",
            "--url",
            stranger.url(),
        ],
        vec!["validate", "-t", "hr_enrol", "data.csv", "--url", stranger.url()],
    ] {
        let out = moodlec(&dir, &command);
        assert_eq!(out.code, Some(3), "{out:#?}");
        assert!(
            out.stderr.contains("REDACTED"),
            "Moodle's message is shown: {}",
            out.stderr
        );
        keep(&format!("unknown token: {}", command[0]), &out);
    }

    // Errors: the token in --url, as credentials or a query, raw or encoded.
    let encoded: String = form_urlencoded::byte_serialize(SECRET.as_bytes()).collect();
    for site in [
        format!("{url}/?wstoken={SECRET}"),
        format!("{url}/?wstoken={encoded}"),
        format!("http://user:{encoded}@127.0.0.1:1/moodle"),
        format!("http://user:{SECRET}@127.0.0.1:1/moodle"),
    ] {
        let out = moodlec(&dir, &["fetch", "-t", "site_info", "--url", &site]);
        assert_eq!(out.code, Some(2), "{out:#?}");
        keep(&format!("--url {site}"), &out);
        let out = Moodlec::new(["fetch", "-t", "site_info"])
            .current_dir(&dir)
            .token(SECRET)
            .env("MOODLE_URL", &site)
            .output();
        assert_eq!(out.code, Some(2), "{out:#?}");
        keep(&format!("MOODLE_URL {site}"), &out);
    }

    let bodies = bodies.lock().unwrap().clone();
    assert!(bodies.len() >= 3, "webhook bodies: {bodies:?}");
    assert!(
        bodies.iter().any(|b| b.contains("REDACTED")),
        "the webhook carries the site's echo, scrubbed: {bodies:?}"
    );
    texts.extend(
        bodies
            .into_iter()
            .enumerate()
            .map(|(i, b)| (format!("webhook body {i}"), b)),
    );
    let files = written_files(&dir);
    assert!(
        files.iter().any(|(name, _)| name == "r.ndjson.journal"),
        "{files:?}"
    );
    assert!(files.iter().any(|(name, _)| name == "site.json"), "{files:?}");
    texts.extend(files);
    let found = leaks(&texts);
    assert!(found.is_empty(), "the token left:\n{}", found.join("\n"));
}

/// plan, apply and sync against the echoing site: neither the token nor a
/// roster's password is in their output, the plan file, the results file,
/// its journal or the webhook bodies.
#[test]
fn plan_apply_and_sync_leak_neither_the_token_nor_passwords() {
    const PASSWORDS: [&str; 3] = ["Pw-ada-Secret-1!", "Pw-bob-Secret-2!", "Pw-cy-Secret-3!"];
    let sim = echoing_site();
    let dir = scratch("sync");
    std::fs::write(
        dir.join("templates/sync.moodle"),
        r#"
template staff extends create_users "Staff" {
  map email = "{{ username }}@staff.example.edu"
  sync users by username
  scope email like "%@staff.example.edu"
  missing suspend
}
"#,
    )
    .unwrap();
    let roster = |rows: &[(&str, &str)]| {
        let mut csv = String::from("username,firstname,lastname,password\n");
        for (user, password) in rows {
            csv.push_str(&format!("{user},F,L,{password}\n"));
        }
        std::fs::write(dir.join("data.csv"), csv).unwrap();
    };
    roster(&[("ada", PASSWORDS[0]), ("bob", PASSWORDS[1])]);
    let (hook, bodies) = fixtures::webhook_receiver("200 OK");
    let url = sim.url().to_owned();
    let mut texts: Vec<(String, String)> = Vec::new();
    let mut keep = |what: &str, out: &Output| {
        texts.push((format!("{what}: stdout"), out.stdout.clone()));
        texts.push((format!("{what}: stderr"), out.stderr.clone()));
    };
    let out = moodlec(
        &dir,
        &[
            "plan",
            "-t",
            "staff",
            "data.csv",
            "--url",
            &url,
            "--out",
            "plan.json",
        ],
    );
    assert_eq!(out.code, Some(0), "{out:#?}");
    keep("plan", &out);
    for format in ["json", "markdown"] {
        let out = moodlec(
            &dir,
            &[
                "plan", "-t", "staff", "data.csv", "--url", &url, "--format", format,
            ],
        );
        keep(&format!("plan --format {format}"), &out);
    }
    let out = moodlec(
        &dir,
        &[
            "apply",
            "plan.json",
            "--url",
            &url,
            "--results",
            "apply.ndjson",
            "--webhook",
            &hook,
        ],
    );
    assert_eq!(out.code, Some(0), "{out:#?}");
    keep("apply", &out);
    assert_eq!(
        sim.state()
            .user_by_username("ada")
            .and_then(|u| u.password.clone())
            .as_deref(),
        Some(PASSWORDS[0]),
        "the password went to Moodle"
    );
    // A new hire and a leaver, through sync.
    roster(&[("ada", PASSWORDS[0]), ("cy", PASSWORDS[2])]);
    let out = moodlec(
        &dir,
        &[
            "sync",
            "-t",
            "staff",
            "data.csv",
            "--url",
            &url,
            "--yes",
            "--allow-removals",
            "1",
            "--results",
            "sync.ndjson",
            "--webhook",
            &hook,
        ],
    );
    assert_eq!(out.code, Some(0), "{out:#?}");
    keep("sync", &out);
    assert!(sim.state().user_by_username("bob").is_some_and(|u| u.suspended));
    let files = written_files(&dir);
    assert!(files.iter().any(|(name, _)| name == "plan.json"), "{files:?}");
    assert!(
        files.iter().any(|(name, _)| name == "sync.ndjson.journal"),
        "{files:?}"
    );
    texts.extend(files.into_iter().filter(|(name, _)| name != "data.csv"));
    texts.extend(
        bodies
            .lock()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(i, b)| (format!("webhook {i}"), b.clone())),
    );
    let mut found = leaks(&texts);
    for (what, text) in &texts {
        for password in &PASSWORDS {
            let encoded: String = form_urlencoded::byte_serialize(password.as_bytes()).collect();
            if text.contains(password) || text.contains(&encoded) {
                found.push(format!("{what} holds the password {password:?}"));
            }
        }
    }
    assert!(found.is_empty(), "secrets left:\n{}", found.join("\n"));
}
