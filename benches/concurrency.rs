//! `--concurrency auto` against fixed settings: the release binary's
//! `moodlec run -t create_users` (batches of 100) against the Moodle
//! simulator modelled on the Moodle 4.5 site measured by hand (2 cores, 4
//! PHP workers: about 49 users/s with one batch in flight): 4 workers, 20 ms
//! of latency per call and 19 ms of work per record, so a batch of 100 holds
//! a worker for about 1.9 s.
//!
//! `cargo bench --bench concurrency` (set CONCURRENCY_RECORDS to change the
//! size, default 10,000: auto starts at one batch in flight and spends about
//! two batch times (4 s here) finding the site's capacity, which a short run
//! does not amortise). Fixed 1 and 2 run on a sample of 500 and 1,000
//! records (at most), since the whole file would take minutes at one batch
//! in flight; rates are per record either way, and a fixed setting has no
//! ramp-up to amortise. Every run is checked for exit 0 and every user created.

#[path = "../tests/it/simulator/mod.rs"]
mod simulator;

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::users;
use simulator::{Faults, Simulator, SiteConfig, TOKEN};

const WORKERS: usize = 4;
const LATENCY: Duration = Duration::from_millis(20);
const COST_PER_RECORD: Duration = Duration::from_millis(19);

fn main() {
    let records: usize = std::env::var("CONCURRENCY_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    assert!(records > 0, "CONCURRENCY_RECORDS must be at least 1");
    // Cargo builds the binary before the bench and says where.
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_moodlec"));
    let dir = std::env::temp_dir().join(format!("moodlec-bench-concurrency-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");

    println!(
        "moodlec run -t create_users (batches of 100); simulator: {WORKERS} workers, {} ms per call + {} ms per record",
        LATENCY.as_millis(),
        COST_PER_RECORD.as_millis()
    );
    println!(
        "{:<22}{:>10}{:>10}{:>12}  site and moodlec notes",
        "--concurrency", "records", "seconds", "users/s"
    );
    let runs: [(&str, usize); 5] = [
        ("1", records.min(500)),
        ("2", records.min(1_000)),
        ("4", records),
        ("8", records),
        ("auto", records),
    ];
    let mut rates = Vec::new();
    for (i, (setting, n)) in runs.iter().enumerate() {
        let prefix = format!("c{i}");
        let data = dir.join(format!("users-{prefix}.ndjson"));
        std::fs::write(&data, users(&prefix, *n)).expect("data file");
        let (seconds, note) = timed_run(&binary, &dir, &data, &prefix, *n, setting);
        let rate = *n as f64 / seconds;
        println!("{setting:<22}{n:>10}{seconds:>10.2}{rate:>12.1}  {note}");
        rates.push((*setting, rate));
    }
    let auto = rates.iter().find(|(s, _)| *s == "auto").map_or(0.0, |r| r.1);
    let (best_setting, best) = rates
        .iter()
        .filter(|(s, _)| *s != "auto")
        .fold(("", 0.0), |best, r| if r.1 > best.1 { *r } else { best });
    let one = rates[0].1;
    let ratio = auto / best;
    println!(
        "auto / best fixed ({best_setting}): {ratio:.2} (aim >= 0.90: {}); auto / fixed 1: {:.2} (aim >= 1: {})",
        if ratio >= 0.9 { "met" } else { "NOT met" },
        auto / one,
        if auto >= one { "met" } else { "NOT met" }
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs moodlec with `--concurrency setting` against a fresh simulator;
/// the wall time in seconds and moodlec's note about auto, if any. Panics
/// unless it exited 0 and every record became a user.
fn timed_run(
    binary: &Path,
    dir: &Path,
    data: &Path,
    prefix: &str,
    records: usize,
    setting: &str,
) -> (f64, String) {
    let config = SiteConfig {
        workers: Some(WORKERS),
        cost_per_record: COST_PER_RECORD,
        faults: Faults {
            latency: LATENCY,
            ..Faults::default()
        },
        ..SiteConfig::default()
    };
    let load = config.load.clone();
    let sim = Simulator::start(config);
    let before = sim.state().users.len();
    let start = Instant::now();
    let out = Command::new(binary)
        .args(["run", "-t", "create_users", "--concurrency", setting])
        .arg(data)
        .args(["--url", sim.url(), "--allow-http"])
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
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "moodlec --concurrency {setting} exited with {:?}\nstdout: {}\nstderr: {stderr}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
    );
    common::assert_created(
        &sim,
        prefix,
        before,
        records,
        &format!("with --concurrency {setting}"),
    );
    let note = stderr
        .lines()
        .find_map(|line| {
            line.split_once("concurrency auto: ")
                .map(|(_, note)| note.to_owned())
        })
        .unwrap_or_default();
    (seconds, format!("site peak {}; {note}", load.peak()))
}
