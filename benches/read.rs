//! `cargo bench --bench read`: NDJSON reading speed against plain serde_json.
//!
//! Writes 1,000,000 enrolment lines to a temporary file, then times
//! (a) moodlec's NDJSON reader (records with origins and value spans) and
//! (b) a baseline: a buffered `read_line` loop with
//! `serde_json::from_str::<serde_json::Value>` per line.
//! The target is (a) at least half as fast as (b). Each is run a few times
//! and the best run counts, to damp noise on a shared machine. For
//! reference it also times the same records as one JSON array and as CSV.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use moodlec::record::{self, InputFormat, ReadOptions};

const RECORDS: u64 = 1_000_000;
const RUNS: usize = 3;

fn main() {
    let ndjson = write_input(InputFormat::Ndjson);
    let ours = best_of(|| read_with_moodlec(&ndjson, InputFormat::Ndjson));
    let plain = best_of(|| read_with_serde_json(&ndjson));
    let _ = std::fs::remove_file(&ndjson);
    println!("records: {RECORDS} like {{\"userid\":123,\"courseid\":45,\"roleid\":5}}");
    report("moodlec::record, NDJSON", ours);
    report("serde_json::from_str::<Value>", plain);
    let ratio = plain.as_secs_f64() / ours.as_secs_f64();
    println!("ratio moodlec / serde_json: {ratio:.2} (target >= 0.50)");
    for format in [InputFormat::JsonArray, InputFormat::Csv] {
        let path = write_input(format);
        let time = best_of(|| read_with_moodlec(&path, format));
        let _ = std::fs::remove_file(&path);
        report(&format!("moodlec::record, {}", format.name()), time);
    }
}

fn report(what: &str, time: Duration) {
    let rate = RECORDS as f64 / time.as_secs_f64();
    println!("{what:<32} {rate:>12.0} records/s  ({time:?})");
}

/// The fastest of a few timed runs of `run`.
fn best_of(run: impl Fn() -> u64) -> Duration {
    (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            let count = run();
            let elapsed = start.elapsed();
            assert_eq!(count, RECORDS);
            elapsed
        })
        .min()
        .unwrap()
}

/// A temporary file of `RECORDS` enrolments in `format`.
fn write_input(format: InputFormat) -> PathBuf {
    let name = format!("moodlec-bench-{}.{}", std::process::id(), format.name());
    let path = std::env::temp_dir().join(name);
    let mut out = BufWriter::new(File::create(&path).unwrap());
    match format {
        InputFormat::JsonArray => writeln!(out, "[").unwrap(),
        InputFormat::Csv => writeln!(out, "userid,courseid,roleid").unwrap(),
        InputFormat::Ndjson => {}
    }
    for i in 0..RECORDS {
        let (userid, courseid, roleid) = (100 + i, 2 + i % 300, 3 + i % 3);
        let comma = if format == InputFormat::JsonArray && i + 1 < RECORDS {
            ","
        } else {
            ""
        };
        match format {
            InputFormat::Csv => writeln!(out, "{userid},{courseid},{roleid}"),
            _ => writeln!(
                out,
                r#"{{"userid":{userid},"courseid":{courseid},"roleid":{roleid}}}{comma}"#
            ),
        }
        .unwrap();
    }
    if format == InputFormat::JsonArray {
        writeln!(out, "]").unwrap();
    }
    out.flush().unwrap();
    path
}

/// Records read by moodlec's reader, touching each so nothing is optimised away.
fn read_with_moodlec(path: &Path, format: InputFormat) -> u64 {
    let options = ReadOptions {
        format: Some(format),
        ..ReadOptions::default()
    };
    let mut count = 0;
    for item in record::open(path, &options).unwrap() {
        let record = item.unwrap();
        count += (record.fields.len() == 3) as u64;
    }
    count
}

/// Records read by serde_json alone, one `Value` per line.
fn read_with_serde_json(path: &Path) -> u64 {
    let mut reader = BufReader::new(File::open(path).unwrap());
    let mut line = String::new();
    let mut count = 0;
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap() == 0 {
            return count;
        }
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        count += (value.as_object().map_or(0, |o| o.len()) == 3) as u64;
    }
}
