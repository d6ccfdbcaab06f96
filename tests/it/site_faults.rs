//! What the site layer does with answers that are not Moodle's: redirects,
//! a gateway's 5xx after Moodle committed, Moodle's own maintenance 503, an
//! HTML page in place of a lookup's answer, and a webhook that never answers.

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::fixtures::{results, users};
use crate::harness::{self, Moodlec, Output};
use crate::simulator::{Fault, Faults, Outcome, Simulator, SiteConfig, TOKEN};

const TEMPLATES: &str = r#"
template small_users extends create_users "create_users, 5 per call" {
  batch size 5
}
"#;

fn scratch(name: &str) -> PathBuf {
    let dir = harness::scratch(&format!("site-faults-{name}"));
    std::fs::create_dir_all(dir.join("templates")).expect("templates folder");
    std::fs::write(dir.join("templates/test.moodle"), TEMPLATES).expect("templates");
    std::fs::write(dir.join("users.ndjson"), users(name, 10)).expect("users");
    dir
}

fn moodlec(dir: &Path, url: &str, extra: &[&str]) -> Moodlec {
    Moodlec::new([
        "run",
        "-t",
        "small_users",
        "users.ndjson",
        "--url",
        url,
        "--results",
        "r.ndjson",
        "--retry-base-ms",
        "10",
        "--concurrency",
        "1",
    ])
    .args(extra)
    .current_dir(dir)
    .token(TOKEN)
    .config_home(dir.join("config"))
}

/// Every record applied exactly once, with the id Moodle holds for it.
fn assert_all_applied(sim: &Simulator, dir: &Path, prefix: &str) {
    let results = results(&dir.join("r.ndjson"));
    let state = sim.state();
    assert_eq!(results.len(), 10, "{results:?}");
    for (record, result) in &results {
        let user = state
            .user_by_username(&format!("{prefix}{record:03}"))
            .unwrap_or_else(|| panic!("record {record} is in Moodle"));
        assert_eq!(result["status"], "applied", "{result}");
        assert_eq!(result["id"], user.id, "{result}");
    }
    let created = state
        .users
        .values()
        .filter(|u| u.username.starts_with(prefix))
        .count();
    assert_eq!(created, 10);
}

fn calls_of(sim: &Simulator, function: &str) -> usize {
    sim.calls()
        .iter()
        .filter(|c| c.function.as_deref() == Some(function))
        .count()
}

fn rejected(sim: &Simulator) -> usize {
    sim.calls()
        .iter()
        .filter(|c| matches!(c.outcome, Outcome::Rejected { .. }))
        .count()
}

/// Another origin that records every connection made to it and answers `{}`.
fn other_origin() -> (String, Arc<Mutex<Vec<Vec<u8>>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let kept = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
            let mut received = vec![0; 65536];
            let n = stream.read(&mut received).unwrap_or(0);
            received.truncate(n);
            kept.lock().unwrap().push(received);
            let _ = std::io::Write::write_all(
                &mut stream,
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}",
            );
        }
    });
    (url, seen)
}

#[test]
fn a_redirect_to_another_origin_is_never_followed() {
    let (elsewhere, seen) = other_origin();
    let sim = Simulator::start(SiteConfig::default());
    // Call 1 is the preflight, call 2 the first batch.
    sim.set_faults(Faults {
        redirect_to: Some(elsewhere.clone()),
        ..Faults::on_calls(&[(2, Fault::RedirectAway(307))])
    });
    let dir = scratch("away");
    let out = moodlec(&dir, sim.url(), &[]).output();
    assert_eq!(out.code, Some(3), "{out:#?}");
    assert!(
        out.stderr.contains(&format!(
            "redirects (HTTP 307) to {elsewhere}/webservice/rest/server.php"
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("https://"),
        "the help names the usual causes: {}",
        out.stderr
    );
    assert!(
        seen.lock().unwrap().is_empty(),
        "the other origin received a request"
    );
    let results = results(&dir.join("r.ndjson"));
    assert_eq!(results.len(), 10);
    assert!(results.values().all(|r| r["status"] == "skipped"), "{results:?}");
    assert_eq!(sim.state().users.len(), 2, "nothing created");
}

#[test]
fn a_preflight_redirected_elsewhere_says_where_and_sends_nothing_there() {
    let (elsewhere, seen) = other_origin();
    let sim = Simulator::start(SiteConfig::default());
    sim.set_faults(Faults {
        redirect_to: Some(elsewhere.clone()),
        ..Faults::on_calls(&[(1, Fault::RedirectAway(308))])
    });
    let dir = scratch("away-preflight");
    let out = moodlec(&dir, sim.url(), &[]).output();
    assert_eq!(out.code, Some(3), "{out:#?}");
    assert!(out.stderr.contains(&format!("to {elsewhere}/")), "{}", out.stderr);
    assert!(
        seen.lock().unwrap().is_empty(),
        "the other origin received a request"
    );
}

#[test]
fn a_same_origin_307_is_followed_with_its_body() {
    let sim = Simulator::start(SiteConfig::default());
    sim.set_faults(Faults::on_calls(&[(2, Fault::RedirectHere(307))]));
    let dir = scratch("here");
    let out = moodlec(&dir, sim.url(), &[]).output();
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_all_applied(&sim, &dir, "here");
    // The batch was redirected once and then applied: 2 batches, 3 calls.
    assert_eq!(calls_of(&sim, "core_user_create_users"), 3);
}

#[test]
fn a_same_origin_302_is_not_followed_as_a_get() {
    let sim = Simulator::start(SiteConfig::default());
    sim.set_faults(Faults::on_calls(&[(2, Fault::RedirectHere(302))]));
    let dir = scratch("here-302");
    let out = moodlec(&dir, sim.url(), &[]).output();
    assert_eq!(out.code, Some(3), "{out:#?}");
    assert!(out.stderr.contains("redirects (HTTP 302)"), "{}", out.stderr);
    assert!(results(&dir.join("r.ndjson"))
        .values()
        .all(|r| r["status"] != "applied"));
}

#[test]
fn a_502_after_moodle_committed_is_checked_not_sent_again() {
    let sim = Simulator::start(SiteConfig::default());
    sim.set_faults(Faults::on_calls(&[(2, Fault::Http502AfterApply)]));
    let dir = scratch("gw502");
    let out = moodlec(&dir, sim.url(), &[]).output();
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_all_applied(&sim, &dir, "gw502");
    // Two batches, each sent once: the applied check found the first one's
    // users (one lookup by username, whose answer holds the fields compared).
    assert_eq!(calls_of(&sim, "core_user_create_users"), 2);
    assert_eq!(calls_of(&sim, "core_user_get_users_by_field"), 1);
    assert_eq!(rejected(&sim), 0, "nothing was sent twice: {:?}", sim.calls());
}

#[test]
fn a_gateway_503_is_an_unclear_outcome_for_a_write() {
    let sim = Simulator::start(SiteConfig::default());
    sim.set_faults(Faults::on_calls(&[(2, Fault::Http503)]));
    let dir = scratch("gw503");
    let out = moodlec(&dir, sim.url(), &[]).output();
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_all_applied(&sim, &dir, "gw503");
    // Looked up before it was sent again, never re-sent blindly.
    assert_eq!(calls_of(&sim, "core_user_get_users_by_field"), 1);
    assert_eq!(rejected(&sim), 0, "{:?}", sim.calls());
}

#[test]
fn moodles_maintenance_503_is_sent_again_without_a_lookup() {
    let sim = Simulator::start(SiteConfig::default());
    sim.set_faults(Faults::on_calls(&[(2, Fault::Maintenance { retry_after: 1 })]));
    let dir = scratch("maint");
    let out = moodlec(&dir, sim.url(), &[]).output();
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_all_applied(&sim, &dir, "maint");
    assert_eq!(calls_of(&sim, "core_user_create_users"), 3);
    assert_eq!(calls_of(&sim, "core_user_get_users_by_field"), 0);
}

#[test]
fn an_html_answer_to_the_applied_checks_lookup_is_retried() {
    let sim = Simulator::start(SiteConfig::default());
    // The first batch is applied and its answer lost; the lookup (call 3)
    // gets a proxy's HTML page once.
    sim.set_faults(Faults::on_calls(&[
        (2, Fault::DropAfterApply),
        (3, Fault::Html200),
    ]));
    let dir = scratch("html-lookup");
    let out = moodlec(&dir, sim.url(), &[]).output();
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_all_applied(&sim, &dir, "html-lookup");
    // The HTML answer, then the lookup again.
    assert_eq!(calls_of(&sim, "core_user_get_users_by_field"), 2);
    assert_eq!(calls_of(&sim, "core_user_create_users"), 2);
}

/// A webhook that accepts connections, reads them and never answers.
fn silent_webhook() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut open = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
            let mut buffer = [0; 4096];
            let _ = stream.read(&mut buffer);
            open.push(stream);
        }
    });
    url
}

/// The run to its end, or a panic after `limit`.
fn output_within(command: Moodlec, limit: Duration) -> Output {
    let mut child = command.spawn();
    let started = Instant::now();
    loop {
        if child.try_wait().expect("wait for moodlec").is_some() {
            let output = child.wait_with_output().expect("moodlec's output");
            return Output {
                stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
                code: output.status.code(),
            };
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the run did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_webhook_that_never_answers_does_not_hold_up_the_run() {
    let sim = Simulator::start(SiteConfig::default());
    let hook = silent_webhook();
    let dir = scratch("hook-silent");
    // Before: each batch waited for the webhook, 3 x --timeout (90 s) per batch.
    let command = moodlec(&dir, sim.url(), &["--timeout", "30", "--webhook", &hook]);
    let out = output_within(command, Duration::from_secs(60));
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_all_applied(&sim, &dir, "hook-silent");
    assert!(out.stderr.contains("webhook failures: 2"), "{}", out.stderr);
    assert!(out.stderr.contains("webhook: "), "{}", out.stderr);
}
