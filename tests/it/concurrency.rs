//! `--concurrency auto` end to end: the real binary against a simulated site
//! with a fixed number of PHP workers. What the site saw (calls in flight at
//! once) shows the limit grew; the results show every record accounted for.
//! No assertion depends on wall-clock timings.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::fixtures::{self, results, users};
use crate::harness::{self, Moodlec, Output};
use crate::simulator::{Fault, Faults, Simulator, SiteConfig, TOKEN};

const TEMPLATES: &str = r#"
template small_users extends create_users "create_users, 5 per call" {
  batch size 5
}
"#;

fn scratch(name: &str) -> PathBuf {
    let dir = harness::scratch(&format!("concurrency-{name}"));
    std::fs::create_dir_all(dir.join("templates")).expect("templates folder");
    std::fs::write(dir.join("templates/test.moodle"), TEMPLATES).expect("templates");
    dir
}

fn run(dir: &Path, args: &[&str]) -> Output {
    Moodlec::new(args)
        .current_dir(dir)
        .token(TOKEN)
        .config_home(dir.join("config"))
        .output()
}

/// Every record of `dir/r.ndjson` applied once, with the id Moodle gave its username.
fn assert_all_applied(sim: &Simulator, dir: &Path, prefix: &str, n: usize) {
    fixtures::assert_all_applied(sim, &results(&dir.join("r.ndjson")), prefix, n);
}

/// `concurrency auto: L requests in flight at the end, at most P (...), backed off B times`.
fn auto_note(out: &Output) -> (usize, usize, usize) {
    let line = out
        .stderr
        .lines()
        .find(|line| line.contains("concurrency auto:"))
        .unwrap_or_else(|| panic!("no concurrency note: {}", out.stderr));
    let numbers: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    assert_eq!(numbers.len(), 4, "{line}");
    (numbers[0], numbers[1], numbers[3])
}

#[test]
fn auto_sends_more_than_one_call_at_once_to_a_site_with_two_workers() {
    let config = SiteConfig {
        workers: Some(2),
        cost_per_record: Duration::from_millis(2),
        faults: Faults {
            latency: Duration::from_millis(20),
            ..Faults::default()
        },
        ..SiteConfig::default()
    };
    let load = config.load.clone();
    let sim = Simulator::start(config);
    let dir = scratch("workers");
    std::fs::write(dir.join("users.ndjson"), users("w", 300)).unwrap();
    let out = run(
        &dir,
        &[
            "run",
            "-t",
            "small_users",
            "users.ndjson",
            "--url",
            sim.url(),
            "--results",
            "r.ndjson",
            "--concurrency",
            "auto",
        ],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_all_applied(&sim, &dir, "w", 300);
    let peak = load.peak();
    assert!(peak >= 2, "the site saw at most {peak} calls at once");
    assert!(peak <= 8, "never more than --max-concurrency: {peak}");
    let (_, most, _) = auto_note(&out);
    assert!((2..=8).contains(&most), "{}", out.stderr);
}

#[test]
fn auto_is_the_default_and_respects_max_concurrency() {
    let config = SiteConfig {
        faults: Faults {
            latency: Duration::from_millis(10),
            ..Faults::default()
        },
        ..SiteConfig::default()
    };
    let load = config.load.clone();
    let sim = Simulator::start(config);
    let dir = scratch("max");
    std::fs::write(dir.join("users.ndjson"), users("m", 100)).unwrap();
    let out = run(
        &dir,
        &[
            "run",
            "-t",
            "small_users",
            "users.ndjson",
            "--url",
            sim.url(),
            "--results",
            "r.ndjson",
            "--max-concurrency",
            "2",
        ],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_all_applied(&sim, &dir, "m", 100);
    // The preflight goes alone, then at most 2 calls at once.
    assert!(load.peak() <= 2, "the site saw {} calls at once", load.peak());
    let (_, most, _) = auto_note(&out);
    assert!(most <= 2, "{}", out.stderr);
}

#[test]
fn auto_backs_off_on_429_and_5xx_and_accounts_for_every_record() {
    // Writes 1-15 go well (the limit grows), then the site refuses some
    // with 429 (retried) and a gateway answers 502 and 503 for others
    // (unclear: settled by looking the users up).
    let failures = [
        (16, Fault::Http429),
        (17, Fault::Http429),
        (18, Fault::Http502),
        (19, Fault::Http503),
        (20, Fault::Http429),
        (24, Fault::Http502AfterApply),
    ];
    let config = SiteConfig {
        workers: Some(4),
        faults: Faults {
            latency: Duration::from_millis(20),
            fail_writes: failures.to_vec(),
            ..Faults::default()
        },
        ..SiteConfig::default()
    };
    let load = config.load.clone();
    let sim = Simulator::start(config);
    let dir = scratch("faults");
    std::fs::write(dir.join("users.ndjson"), users("f", 200)).unwrap();
    let out = run(
        &dir,
        &[
            "run",
            "-t",
            "small_users",
            "users.ndjson",
            "--url",
            sim.url(),
            "--results",
            "r.ndjson",
            "--retry-base-ms",
            "10",
        ],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_all_applied(&sim, &dir, "f", 200);
    let (_, most, backoffs) = auto_note(&out);
    assert!(most >= 2, "the limit grew before the faults: {}", out.stderr);
    assert!(backoffs >= 1, "the limit went down: {}", out.stderr);
    assert!(load.peak() >= 2, "the site saw {} calls at once", load.peak());
}

/// A batch waiting for its turn under `--concurrency auto` is not in flight:
/// the journal records a request only when it may leave, so after a kill -9
/// the batches that only waited are sent by the resume, not reported unknown.
#[test]
fn batches_waiting_for_their_turn_are_not_journaled_as_sent() {
    let dir = scratch("waiting");
    std::fs::write(
        dir.join("templates/bare.moodle"),
        r#"
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
"#,
    )
    .unwrap();
    std::fs::write(dir.join("users.ndjson"), users("w", 30)).unwrap();
    let sim = Simulator::start(SiteConfig::default());
    // Slow answers: the first batch is in flight a long while; auto starts at one request.
    sim.set_faults(Faults {
        latency: Duration::from_millis(1500),
        ..Faults::default()
    });
    let args = [
        "run",
        "-t",
        "bare_users",
        "users.ndjson",
        "--url",
        sim.url(),
        "--results",
        "r.ndjson",
        "--quiet",
    ];
    let mut child = Moodlec::new(args)
        .current_dir(&dir)
        .token(TOKEN)
        .config_home(dir.join("config"))
        .spawn_with(std::process::Stdio::null(), std::process::Stdio::null());
    let journal = dir.join("r.ndjson.journal");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while sim
        .calls()
        .iter()
        .all(|c| c.function.as_deref() != Some("core_user_create_users"))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the first batch never reached the site"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // The first batch is at the site for 1.5 s; the other five wait for a permit.
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    let started = std::fs::read_to_string(&journal)
        .unwrap()
        .lines()
        .filter(|l| l.contains("\"start\""))
        .count();
    assert_eq!(started, 1, "only the batch that left is journaled");
    sim.set_faults(Faults::default());
    let mut resume: Vec<&str> = args.to_vec();
    resume.push("--resume");
    let out = run(&dir, &resume);
    let results = results(&dir.join("r.ndjson"));
    assert_eq!(results.len(), 30, "{}", out.all());
    let unknown = results.values().filter(|r| r["status"] != "applied").count();
    assert_eq!(
        unknown, 5,
        "only the batch in flight at the kill has an unclear outcome: {results:?}"
    );
}
