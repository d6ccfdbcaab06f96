//! Memory stays flat however many records a file has: a million enrolments
//! validate in well under 64 MiB of resident memory (the binary streams
//! records; only `unique` keys and a bounded rule cache persist).

use std::io::{BufWriter, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, ExitStatus, Stdio};
use std::time::Instant;

use crate::harness::{self, Moodlec};

const RECORDS: u64 = 1_000_000;
const LIMIT_KIB: libc::c_long = 64 * 1024;

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
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("piped stderr")
        .read_to_string(&mut stderr)
        .expect("read stderr");

    let (status, usage) = wait_with_rusage(child);
    let elapsed = started.elapsed();
    let _ = std::fs::remove_file(&path);

    assert_eq!(status.code(), Some(0), "moodlec failed: {stderr}");
    assert!(
        stderr.contains("records read: 1000000, valid: 1000000, invalid: 0"),
        "unexpected summary: {stderr}"
    );
    // ru_maxrss is in KiB on Linux.
    let peak_kib = usage.ru_maxrss;
    eprintln!("validated {RECORDS} records in {elapsed:.1?}, peak RSS {peak_kib} KiB");
    assert!(
        peak_kib < LIMIT_KIB,
        "peak RSS {peak_kib} KiB is over the {LIMIT_KIB} KiB limit"
    );
}

/// Reaps `child` with wait4(2): its exit status and its own resource usage.
/// Unlike getrusage(RUSAGE_CHILDREN), which reports the largest of every
/// child this process ever waited for, this is `child`'s alone, so the
/// measurement holds while other tests run their own moodlec processes.
fn wait_with_rusage(child: Child) -> (ExitStatus, libc::rusage) {
    let pid = libc::pid_t::try_from(child.id()).expect("a pid");
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `status` and `usage` are valid for writes; `pid` is our own
        // child, not yet waited for (`child` is consumed: std never waits on it).
        let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if waited == pid {
            return (ExitStatus::from_raw(status), usage);
        }
        let error = std::io::Error::last_os_error();
        assert_eq!(
            error.kind(),
            std::io::ErrorKind::Interrupted,
            "wait4 on moodlec failed: {error}"
        );
    }
}
