//! Memory stays flat however many records a file has: a million enrolments
//! validate in well under 64 MiB of resident memory (the binary streams
//! records; only `unique` keys and a bounded rule cache persist).

use std::io::{BufWriter, Read, Write};
use std::process::{Command, Stdio};
use std::time::Instant;

const RECORDS: u64 = 1_000_000;
const LIMIT_KIB: libc::c_long = 64 * 1024;

#[test]
fn a_million_enrolments_validate_in_under_64_mib() {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("memory-enrolments.ndjson");
    {
        let file = std::fs::File::create(&path).expect("create the data file");
        let mut out = BufWriter::new(file);
        for n in 1..=RECORDS {
            writeln!(out, "{{\"userid\":{n},\"courseid\":{}}}", n % 500 + 1).expect("write a record");
        }
        out.flush().expect("flush the data file");
    }

    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_moodlec"))
        .args(["validate", "-t", "enrol_users"])
        .arg(&path)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start moodlec");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("piped stderr")
        .read_to_string(&mut stderr)
        .expect("read stderr");

    let status = child.wait().expect("wait for moodlec");
    let elapsed = started.elapsed();
    let _ = std::fs::remove_file(&path);
    // This is the only test of this binary, so the only child ever waited for:
    // RUSAGE_CHILDREN's peak RSS is moodlec's.
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is valid for writes; getrusage only fills it in.
    let result = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    assert_eq!(result, 0, "getrusage failed: {}", std::io::Error::last_os_error());

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
