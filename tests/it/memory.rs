//! Memory stays flat however many records a file has: a million enrolments
//! validate in well under 64 MiB of resident memory (the binary streams
//! records; only `unique` keys and a bounded rule cache persist).

use std::io::{BufWriter, Read, Write};
use std::process::Stdio;
use std::time::Instant;

use crate::harness::{self, Moodlec};

const RECORDS: u64 = 1_000_000;
const LIMIT_KIB: i64 = 64 * 1024;

#[test]
fn a_million_enrolments_validate_in_under_64_mib() {
    let path = harness::scratch("memory").join("enrolments.ndjson");
    {
        let file = std::fs::File::create(&path).expect("create the data file");
        let mut out = BufWriter::new(file);
        for n in 1..=RECORDS {
            writeln!(out, "{{\"userid\":{n},\"courseid\":{}}}", n % 500 + 1).expect("write a record");
        }
        out.flush().expect("flush the data file");
    }

    let started = Instant::now();
    let mut child = Moodlec::new(["validate", "-t", "enrol_users"])
        .args([&path])
        .spawn_with(Stdio::null(), Stdio::piped());
    let peak = watch_peak_rss(child.id());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("piped stderr")
        .read_to_string(&mut stderr)
        .expect("read stderr");
    let status = child.wait().expect("wait for moodlec");
    let elapsed = started.elapsed();
    let peak_kib = peak.join().expect("the watcher");
    let _ = std::fs::remove_file(&path);

    assert_eq!(status.code(), Some(0), "moodlec failed: {stderr}");
    assert!(
        stderr.contains("records read: 1000000, valid: 1000000, invalid: 0"),
        "unexpected summary: {stderr}"
    );
    assert!(peak_kib > 0, "no VmHWM was read for moodlec");
    eprintln!("validated {RECORDS} records in {elapsed:.1?}, peak RSS {peak_kib} KiB");
    assert!(
        peak_kib < LIMIT_KIB,
        "peak RSS {peak_kib} KiB is over the {LIMIT_KIB} KiB limit"
    );
}

/// The child's peak resident memory (VmHWM, KiB), read from /proc while it runs.
///
/// Not wait4's ru_maxrss: the test spawns with vfork semantics, and exec
/// records the *parent's* high-water mark (this whole test binary, with the
/// other tests running in it) as the child's maxrss. VmHWM belongs to the
/// child's own address space, which exec created; it only grows, so the
/// last value read before the process exits is its peak, to within the
/// polling interval.
fn watch_peak_rss(pid: u32) -> std::thread::JoinHandle<i64> {
    std::thread::spawn(move || {
        let path = format!("/proc/{pid}/status");
        let mut peak = 0;
        while let Ok(status) = std::fs::read_to_string(&path) {
            let hwm = status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<i64>().ok());
            match hwm {
                Some(kib) => peak = peak.max(kib),
                // A zombie has no memory left: the process has exited.
                None => break,
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        peak
    })
}
