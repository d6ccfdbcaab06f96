//! Throughput of the record pipeline on one NDJSON file, in one run:
//! plain serde_json parsing, `validate`, and `validate` + batch + `render`.
//!
//! `cargo bench --bench pipeline` (set PIPELINE_RECORDS to change the size).
//! Single-threaded, like the CLI's validate and render.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::time::Instant;

use moodlec::builtin;
use moodlec::params;
use moodlec::plan::Batcher;
use moodlec::record::{self, ReadOptions};
use moodlec::render::{request_body, TokenSlot};
use moodlec::validate::{ValidateOptions, Validator};

fn main() {
    let records: usize = std::env::var("PIPELINE_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = std::env::temp_dir().join(format!("moodlec-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("enrolments.ndjson");
    write_enrolments(&path, records);
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!(
        "{records} enrolment records, {:.1} MB of NDJSON",
        size as f64 / 1e6
    );

    // Each pass twice, the better run counts: the first also warms the page cache.
    let parse = best_of(2, || parse_only(&path));
    let validate = best_of(2, || validate_only(&path));
    let render = best_of(2, || validate_and_render(&path));
    let rate = |seconds: f64| records as f64 / seconds;
    println!("{:<28}{:>14}{:>12}", "pass", "records/s", "vs parse");
    for (name, seconds) in [
        ("serde_json parse only", parse),
        ("validate", validate),
        ("validate + batch + render", render),
    ] {
        println!("{name:<28}{:>14.0}{:>11.2}x", rate(seconds), parse / seconds);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn best_of(runs: usize, mut pass: impl FnMut() -> usize) -> f64 {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            let count = pass();
            std::hint::black_box(count);
            start.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn write_enrolments(path: &Path, records: usize) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("create data file"));
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..records {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let userid = 2 + seed % 200_000;
        let courseid = 2 + (seed >> 20) % 500;
        writeln!(
            out,
            "{{\"userid\":{userid},\"courseid\":{courseid},\"roleid\":5}}"
        )
        .expect("write");
    }
}

fn parse_only(path: &Path) -> usize {
    let reader = BufReader::new(std::fs::File::open(path).expect("open"));
    let mut count = 0;
    for line in reader.lines() {
        let value: serde_json::Value = serde_json::from_str(&line.expect("line")).expect("valid JSON");
        std::hint::black_box(&value);
        count += 1;
    }
    count
}

fn validate_only(path: &Path) -> usize {
    let template = builtin::catalog().get("enrol_users").expect("built-in");
    let params = params::resolve(template, &[]).expect("params");
    let mut validator = Validator::new(template, params, ValidateOptions::default());
    let mut valid = 0;
    for record in record::open(path, &ReadOptions::default()).expect("open") {
        let verdict = validator.validate(&record.expect("readable"));
        valid += usize::from(verdict.outcome.is_ok());
    }
    valid
}

fn validate_and_render(path: &Path) -> usize {
    let template = builtin::catalog().get("enrol_users").expect("built-in");
    let params = params::resolve(template, &[]).expect("params");
    let mut validator = Validator::new(template, params, ValidateOptions::default());
    let mut batcher = Batcher::new(template);
    let mut bytes = 0;
    for record in record::open(path, &ReadOptions::default()).expect("open") {
        if let Ok(valid) = validator.validate(&record.expect("readable")).outcome {
            for batch in batcher.push(valid).expect("fits") {
                bytes += request_body(template, &batch, TokenSlot::Redacted).len();
            }
        }
    }
    for batch in batcher.finish() {
        bytes += request_body(template, &batch, TokenSlot::Redacted).len();
    }
    bytes
}
