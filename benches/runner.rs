//! Throughput of `moodlec run` against the Moodle simulator with 20 ms of
//! latency per request: the release binary with its defaults (create_users
//! batches of 100, one request in flight) against one record per call sent
//! sequentially, the way integration platforms send by default.
//!
//! `cargo bench --bench runner` (set RUNNER_RECORDS to change the size,
//! default 10,000). The one-per-call run uses at most 1,000 records, since
//! 10,000 calls at 20 ms each would take over 200 s; its rate is per record
//! either way.

#[path = "../tests/it/simulator/mod.rs"]
mod simulator;

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::users;
use simulator::{Faults, Simulator, SiteConfig, TOKEN};

const LATENCY: Duration = Duration::from_millis(20);
const SAMPLE_LIMIT: usize = 1_000;

/// A template that sends one record per call.
const ONE_PER_CALL: &str = r#"
template one_user extends create_users "create_users, one record per call" {
  batch size 1
}
"#;

fn main() {
    let records: usize = std::env::var("RUNNER_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    assert!(records > 0, "RUNNER_RECORDS must be at least 1");
    // Cargo builds the binary before the bench and says where.
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_moodlec"));
    let dir = std::env::temp_dir().join(format!("moodlec-bench-runner-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("templates")).expect("temp dir");
    std::fs::write(dir.join("templates/bench.moodle"), ONE_PER_CALL).expect("template file");

    println!(
        "moodlec run, create_users, simulator latency {} ms per request",
        LATENCY.as_millis()
    );

    // (a) The defaults.
    let data_a = dir.join("users-a.ndjson");
    std::fs::write(&data_a, users("a", records)).expect("data file");
    let seconds_a = timed_run(
        &binary,
        &dir,
        &data_a,
        "a",
        records,
        &["-t", "create_users", "--results", "r1.ndjson"],
    );
    let rate_a = records as f64 / seconds_a;

    // (b) One record per call, sequentially, on a sample.
    let sample = records.min(SAMPLE_LIMIT);
    let data_b = dir.join("users-b.ndjson");
    std::fs::write(&data_b, users("b", sample)).expect("data file");
    let seconds_b = timed_run(
        &binary,
        &dir,
        &data_b,
        "b",
        sample,
        &["-t", "one_user", "--concurrency", "1", "--results", "r2.ndjson"],
    );
    let rate_b = sample as f64 / seconds_b;

    println!(
        "{:<44}{:>10}{:>10}{:>13}",
        "run", "records", "seconds", "records/s"
    );
    println!(
        "{:<44}{:>10}{:>10.2}{:>13.1}",
        "(a) defaults (batch 100, concurrency 1)", records, seconds_a, rate_a
    );
    println!(
        "{:<44}{:>10}{:>10.2}{:>13.1}",
        "(b) one record per call, sequential", sample, seconds_b, rate_b
    );
    if sample < records {
        println!(
            "(b) ran on a sample of {sample} of the {records} records \
             (one call each would take over {} s); its rate is per record.",
            (records as u128 * LATENCY.as_millis()) / 1000
        );
    }
    let ratio = rate_a / rate_b;
    println!(
        "ratio (a)/(b): {ratio:.1}x (target >= 50x: {})",
        if ratio >= 50.0 { "met" } else { "NOT met" }
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs moodlec against a fresh simulator and returns the wall time in
/// seconds; panics unless it exited 0 and every record became a user.
fn timed_run(binary: &Path, dir: &Path, data: &Path, prefix: &str, records: usize, args: &[&str]) -> f64 {
    let config = SiteConfig {
        faults: Faults {
            latency: LATENCY,
            ..Faults::default()
        },
        ..SiteConfig::default()
    };
    let sim = Simulator::start(config);
    let before = sim.state().users.len();
    let start = Instant::now();
    let out = Command::new(binary)
        .arg("run")
        .args(args)
        .arg(data)
        .args(["--url", sim.url(), "--allow-http", "--quiet"])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("MOODLE_TOKEN", TOKEN)
        .env_remove("MOODLE_URL")
        .env_remove("MOODLE_PASSWORD")
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .stdin(Stdio::null())
        .output()
        .expect("run moodlec");
    let seconds = start.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "moodlec {args:?} exited with {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    common::assert_created(&sim, prefix, before, records, &format!("by {args:?}"));
    seconds
}
