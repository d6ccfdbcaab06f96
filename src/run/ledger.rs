//! The results file and its journal: what makes a run resumable after a crash.
//!
//! Results (`FILE`) get one NDJSON line per input record, written and
//! flushed as soon as the record's fate is known. The journal
//! (`FILE.journal`) gets a `start` line with a request's record numbers
//! before the request is sent, and a `finish` line once its answer (or the
//! certainty that it was not applied) has been turned into results.
//!
//! After a crash (even `kill -9`: a completed write is in the kernel's
//! page cache, only a torn last line can be lost; `start` lines are also
//! synced to disk, so they survive a power cut), a resumed run knows:
//! - records with a result line are done (`skipped` ones excepted: they
//!   were never sent);
//! - records of a started but unfinished request may or may not be in
//!   Moodle: they are ambiguous and go through the template's applied check;
//! - every other record was never applied and is sent;
//! - records whose result is `failed` with `unknown_outcome` are checked
//!   again, like those of an unfinished request.
//!
//! The journal's first line pins the input: the data file's size and hash,
//! the template's hash and the `--set` values. A resume against other input
//! is refused (it would give results to the wrong records).
//!
//! A batch is journaled `finish` only after its results are on disk
//! (written, flushed and synced); after a results write fails nothing more
//! is written, so a resumed run checks those records instead of trusting a
//! `finish` whose results were lost.

use std::collections::{BTreeMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};

use super::outcome::{RecordResult, Status};
use crate::params::ParamValues;
use crate::template::Template;

/// A hidden switch for tests: the Nth write of results (1-based) fails as a
/// full disk would. Not for users; nothing else reads it.
const FAIL_RESULTS_WRITE: &str = "MOODLEC_TEST_FAIL_RESULTS_WRITE";

/// What a run was started with, recorded first in the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pin {
    /// Size of the data in bytes.
    pub data_size: u64,
    /// Hash of the data's bytes (FNV-1a, 128 bits, hex).
    pub data_hash: String,
    /// The template's name.
    pub template: String,
    /// Hash of the checked template (its JSON form).
    pub template_hash: String,
    /// The template's param values (`--set` and defaults), by name.
    pub params: Json,
}

/// The hash of a checked template (its JSON form, FNV-1a 128 bits, hex):
/// what a journal or a plan pins to know the template did not change.
///
/// # Errors
/// The template cannot be serialized (not expected).
pub fn template_hash(template: &Template) -> io::Result<String> {
    let mut hash = Fnv128::default();
    hash.write(&serde_json::to_vec(template).map_err(io::Error::other)?);
    Ok(hash.hex())
}

impl Pin {
    /// The pin of a run over the data at `data` with `template` and `params`.
    ///
    /// # Errors
    /// The data cannot be read.
    pub fn new(data: &Path, template: &Template, params: &ParamValues) -> io::Result<Pin> {
        let mut hash = Fnv128::default();
        let mut file = BufReader::new(File::open(data)?);
        let mut size = 0u64;
        loop {
            let chunk = file.fill_buf()?;
            if chunk.is_empty() {
                break;
            }
            hash.write(chunk);
            let n = chunk.len();
            size += n as u64;
            file.consume(n);
        }
        let template_hash = template_hash(template)?;
        let params: serde_json::Map<String, Json> = params
            .iter()
            .map(|(name, value)| (name.to_owned(), serde_json::to_value(value).unwrap_or(Json::Null)))
            .collect();
        Ok(Pin {
            data_size: size,
            data_hash: hash.hex(),
            template: template.name.clone(),
            template_hash,
            params: Json::Object(params),
        })
    }

    /// Why a run pinned as `self` cannot continue the run pinned as `earlier`, if it cannot.
    pub fn mismatch(&self, earlier: &Pin) -> Option<String> {
        if self.data_size != earlier.data_size || self.data_hash != earlier.data_hash {
            return Some(format!(
                "the data is not what the earlier run read ({} bytes then, {} bytes now, and other contents): its results would be given to the wrong records",
                earlier.data_size, self.data_size
            ));
        }
        if self.template != earlier.template || self.template_hash != earlier.template_hash {
            return Some(format!(
                "the template is not the one the earlier run used (`{}` then, `{}` now{})",
                earlier.template,
                self.template,
                if self.template == earlier.template {
                    ", changed since"
                } else {
                    ""
                }
            ));
        }
        if self.params != earlier.params {
            return Some(format!(
                "the --set values differ from the earlier run's ({} then, {} now)",
                earlier.params, self.params
            ));
        }
        None
    }
}

/// FNV-1a with 128 bits: enough to tell a changed file from the same one.
struct Fnv128(u128);

impl Default for Fnv128 {
    fn default() -> Self {
        Fnv128(0x6c62_272e_07bb_0142_62b8_2175_6295_c58d)
    }
}

impl Fnv128 {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u128::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013B);
        }
    }

    fn hex(&self) -> String {
        format!("{:032x}", self.0)
    }
}

/// Why a run cannot be resumed.
#[derive(Debug)]
pub enum ResumeError {
    /// The files cannot be read or rewritten.
    Io(io::Error),
    /// The input differs from the earlier run's, and how.
    Changed(String),
}

impl From<io::Error> for ResumeError {
    fn from(error: io::Error) -> Self {
        ResumeError::Io(error)
    }
}

impl std::fmt::Display for ResumeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResumeError::Io(error) => error.fmt(f),
            ResumeError::Changed(why) => f.write_str(why),
        }
    }
}

/// A set of record numbers, one bit each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordSet {
    bits: Vec<u64>,
    len: usize,
}

impl RecordSet {
    /// Add `record`; false if it was there already.
    pub fn insert(&mut self, record: u64) -> bool {
        let (word, bit) = Self::place(record);
        if word >= self.bits.len() {
            self.bits.resize(word + 1, 0);
        }
        let fresh = self.bits[word] & bit == 0;
        self.bits[word] |= bit;
        self.len += usize::from(fresh);
        fresh
    }

    /// Whether `record` is in the set.
    pub fn contains(&self, record: u64) -> bool {
        let (word, bit) = Self::place(record);
        self.bits.get(word).is_some_and(|w| w & bit != 0)
    }

    /// How many records are in the set.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn place(record: u64) -> (usize, u64) {
        let word = usize::try_from(record / 64).unwrap_or(usize::MAX);
        (word, 1 << (record % 64))
    }
}

/// A request of an earlier run that was sent but never finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unfinished {
    /// Its journal id.
    pub request: u64,
    /// Its records that have no result yet.
    pub records: Vec<u64>,
}

/// What an earlier run left behind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resume {
    /// Records with a result line (other than `skipped`).
    pub done: RecordSet,
    /// Requests that may or may not have been applied.
    pub unfinished: Vec<Unfinished>,
}

/// A ledger several runs write to, one after the other.
pub type SharedLedger = std::sync::Arc<std::sync::Mutex<Ledger>>;

/// Where results and journal lines go. Without a results file it keeps nothing.
#[derive(Debug)]
pub struct Ledger {
    files: Option<Files>,
    next_request: u64,
    /// A results write failed: nothing more is written, no request is finished.
    broken: bool,
    /// Results writes so far (for the test switch).
    writes: u64,
    /// The results write that fails (test switch).
    fail_at: Option<u64>,
}

#[derive(Debug)]
struct Files {
    results: BufWriter<File>,
    journal: BufWriter<File>,
}

/// The journal beside a results file: `FILE.journal`.
pub fn journal_path(results: &Path) -> PathBuf {
    let mut name = results.as_os_str().to_owned();
    name.push(".journal");
    PathBuf::from(name)
}

impl Ledger {
    /// This ledger, to be handed to runs.
    pub fn shared(self) -> SharedLedger {
        std::sync::Arc::new(std::sync::Mutex::new(self))
    }

    /// A ledger that writes nothing (no `--results`).
    pub fn none() -> Ledger {
        Ledger {
            files: None,
            next_request: 1,
            broken: false,
            writes: 0,
            fail_at: None,
        }
    }

    fn with_files(files: Files, next_request: u64) -> Ledger {
        Ledger {
            files: Some(files),
            next_request,
            broken: false,
            writes: 0,
            fail_at: std::env::var(FAIL_RESULTS_WRITE)
                .ok()
                .and_then(|n| n.parse().ok()),
        }
    }

    /// A new results file and journal (neither may exist); the journal
    /// starts with `pin`.
    ///
    /// # Errors
    /// The files cannot be created.
    pub fn create(results: &Path, pin: &Pin) -> io::Result<Ledger> {
        let journal_file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(journal_path(results))?;
        let results_file = match OpenOptions::new().write(true).create_new(true).open(results) {
            Ok(file) => file,
            Err(error) => {
                // Not left behind: it would refuse the next run.
                let _ = std::fs::remove_file(journal_path(results));
                return Err(error);
            }
        };
        let mut journal = BufWriter::new(journal_file);
        writeln!(journal, "{}", json!({ "pin": pin }))?;
        journal.flush()?;
        journal.get_ref().sync_data()?;
        Ok(Ledger::with_files(
            Files {
                results: BufWriter::new(results_file),
                journal,
            },
            1,
        ))
    }

    /// Continue the run whose results are in `results`, started with the
    /// same input (`pin`): read what is done and what is ambiguous, and
    /// rewrite both files without torn lines, `skipped` and
    /// `unknown_outcome` results, or requests that no longer matter.
    ///
    /// # Errors
    /// The input differs from the earlier run's (nothing is rewritten then),
    /// or the files cannot be read or rewritten.
    pub fn resume(results: &Path, pin: &Pin) -> Result<(Ledger, Resume), ResumeError> {
        let journal = journal_path(results);
        if let Some(earlier) = read_pin(&journal)? {
            if let Some(why) = pin.mismatch(&earlier) {
                return Err(ResumeError::Changed(why));
            }
        }
        let (done, unknown) = compact_results(results)?;
        let (unfinished, last_request) = compact_journal(&journal, &done, unknown, pin)?;
        let results_file = OpenOptions::new().append(true).open(results)?;
        let journal_file = OpenOptions::new().append(true).open(&journal)?;
        let files = Files {
            results: BufWriter::new(results_file),
            journal: BufWriter::new(journal_file),
        };
        let ledger = Ledger::with_files(files, last_request + 1);
        Ok((ledger, Resume { done, unfinished }))
    }

    /// Whether results are being kept.
    pub fn is_recording(&self) -> bool {
        self.files.is_some()
    }

    /// Write results and flush them.
    ///
    /// # Errors
    /// The results file cannot be written.
    pub fn record(&mut self, results: &[RecordResult]) -> io::Result<()> {
        let Some(files) = &mut self.files else {
            return Ok(());
        };
        if self.broken {
            return Err(io::Error::other("an earlier write of the results failed"));
        }
        self.writes += 1;
        let written = if self.fail_at == Some(self.writes) {
            Err(io::Error::from_raw_os_error(libc::ENOSPC))
        } else {
            write_results(&mut files.results, results)
        };
        self.broken = written.is_err();
        written
    }

    /// Journal a request about to be sent; returns its id.
    ///
    /// # Errors
    /// The journal cannot be written.
    pub fn start(&mut self, records: &[u64]) -> io::Result<u64> {
        let id = self.next_request;
        self.next_request += 1;
        if let Some(files) = &mut self.files {
            if self.broken {
                // Its results could not be written: not sent.
                return Err(io::Error::other("an earlier write of the results failed"));
            }
            writeln!(files.journal, "{}", json!({ "start": id, "records": records }))?;
            files.journal.flush()?;
            // On disk, not only in the page cache, before the request leaves:
            // after a power cut a lost `start` line would make the resume
            // re-send records Moodle may already have.
            files.journal.get_ref().sync_data()?;
        }
        Ok(id)
    }

    /// Journal that request `id`'s records all have results, or were certainly not applied.
    ///
    /// # Errors
    /// The journal cannot be written.
    /// The results written so far are synced to disk first: `finish` is
    /// never on disk before them. After a results write failed, nothing is
    /// finished (a resumed run checks those records).
    pub fn finish(&mut self, id: u64) -> io::Result<()> {
        if let Some(files) = &mut self.files {
            if self.broken {
                return Err(io::Error::other("an earlier write of the results failed"));
            }
            files.results.flush()?;
            files.results.get_ref().sync_data()?;
            writeln!(files.journal, "{}", json!({ "finish": id }))?;
            files.journal.flush()?;
        }
        Ok(())
    }
}

fn write_results(out: &mut BufWriter<File>, results: &[RecordResult]) -> io::Result<()> {
    for result in results {
        let line = serde_json::to_string(result).map_err(io::Error::other)?;
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

#[derive(Deserialize)]
struct ResultLine {
    record: u64,
    status: Status,
    #[serde(default)]
    error: Option<ErrorCode>,
}

#[derive(Deserialize)]
struct ErrorCode {
    #[serde(default)]
    errorcode: Option<String>,
}

impl ResultLine {
    /// A failure whose outcome is unknown: a resumed run checks it again.
    fn unknown_outcome(&self) -> bool {
        self.status == Status::Failed
            && self.error.as_ref().and_then(|e| e.errorcode.as_deref()) == Some(UNKNOWN_OUTCOME)
    }
}

/// The error code of a record whose outcome is unknown.
pub const UNKNOWN_OUTCOME: &str = "unknown_outcome";

#[derive(Deserialize)]
#[serde(untagged)]
enum JournalLine {
    Pin { pin: Pin },
    Start { start: u64, records: Vec<u64> },
    Finish { finish: u64 },
}

/// The pin of the journal at `path`, if it has one (journals of older
/// versions have none).
fn read_pin(path: &Path) -> io::Result<Option<Pin>> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error),
    };
    for line in BufReader::new(file).split(b'\n') {
        if let Ok(JournalLine::Pin { pin }) = serde_json::from_slice::<JournalLine>(&line?) {
            return Ok(Some(pin));
        }
    }
    Ok(None)
}

/// Keep the complete result lines (the first per record) except `skipped`
/// and `unknown_outcome` ones; returns the records they cover, and the
/// records whose outcome was unknown (in input order).
fn compact_results(path: &Path) -> io::Result<(RecordSet, Vec<u64>)> {
    let mut done = RecordSet::default();
    let mut unknown = Vec::new();
    let mut unknown_seen = RecordSet::default();
    let reader = BufReader::new(File::open(path)?);
    let temporary = sibling(path, ".resume");
    let mut kept = BufWriter::new(File::create(&temporary)?);
    for line in reader.split(b'\n') {
        let line = line?;
        // A line that does not parse is a torn last write: that record has no result.
        let Ok(parsed) = serde_json::from_slice::<ResultLine>(&line) else {
            continue;
        };
        if parsed.unknown_outcome() {
            if unknown_seen.insert(parsed.record) {
                unknown.push(parsed.record);
            }
            continue;
        }
        if parsed.status == Status::Skipped || !done.insert(parsed.record) {
            continue;
        }
        kept.write_all(&line)?;
        kept.write_all(b"\n")?;
    }
    kept.flush()?;
    kept.get_ref().sync_all()?;
    drop(kept);
    std::fs::rename(&temporary, path)?;
    let unknown = unknown.into_iter().filter(|r| !done.contains(*r)).collect();
    Ok((done, unknown))
}

/// The requests started and not finished whose records are not all done,
/// plus one for the records whose outcome was `unknown`, and the highest
/// request id given; the journal is rewritten to hold `pin` and just those
/// requests.
fn compact_journal(
    path: &Path,
    done: &RecordSet,
    unknown: Vec<u64>,
    pin: &Pin,
) -> io::Result<(Vec<Unfinished>, u64)> {
    let mut started: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    let mut finished = HashSet::new();
    let mut last = 0;
    match File::open(path) {
        Ok(file) => {
            for line in BufReader::new(file).split(b'\n') {
                match serde_json::from_slice::<JournalLine>(&line?) {
                    Ok(JournalLine::Start { start, records }) => {
                        last = last.max(start);
                        started.insert(start, records);
                    }
                    Ok(JournalLine::Finish { finish }) => {
                        finished.insert(finish);
                    }
                    Ok(JournalLine::Pin { .. }) => {}
                    // A torn start line: its request was never sent (sending waits for the line).
                    Err(_) => {}
                }
            }
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => return Err(error),
    }
    let mut unfinished: Vec<Unfinished> = started
        .into_iter()
        .filter(|(id, _)| !finished.contains(id))
        .map(|(request, records)| Unfinished {
            request,
            records: records.into_iter().filter(|r| !done.contains(*r)).collect(),
        })
        .filter(|u| !u.records.is_empty())
        .collect();
    // Records whose outcome was unknown are checked again, as one request
    // (unless they are in an unfinished one already).
    let mut held = RecordSet::default();
    for u in &unfinished {
        for &r in &u.records {
            held.insert(r);
        }
    }
    let unknown: Vec<u64> = unknown.into_iter().filter(|r| !held.contains(*r)).collect();
    if !unknown.is_empty() {
        last += 1;
        unfinished.push(Unfinished {
            request: last,
            records: unknown,
        });
    }
    let temporary = sibling(path, ".resume");
    let mut journal = BufWriter::new(File::create(&temporary)?);
    writeln!(journal, "{}", json!({ "pin": pin }))?;
    for u in &unfinished {
        writeln!(journal, "{}", json!({ "start": u.request, "records": u.records }))?;
    }
    journal.flush()?;
    journal.get_ref().sync_all()?;
    drop(journal);
    std::fs::rename(&temporary, path)?;
    Ok((unfinished, last))
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::site::MoodleError;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("moodlec-ledger-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("results.ndjson")
    }

    fn pin(data: &str) -> Pin {
        Pin {
            data_size: data.len() as u64,
            data_hash: data.to_owned(),
            template: "t".to_owned(),
            template_hash: "h".to_owned(),
            params: json!({}),
        }
    }

    #[test]
    fn a_resume_with_other_input_is_refused_and_rewrites_nothing() {
        let path = scratch("pin");
        let mut ledger = Ledger::create(&path, &pin("a")).unwrap();
        ledger.start(&[1]).unwrap();
        drop(ledger);
        let journal = std::fs::read_to_string(journal_path(&path)).unwrap();
        let refused = Ledger::resume(&path, &pin("bb")).unwrap_err();
        assert!(
            matches!(&refused, ResumeError::Changed(why) if why.contains("data")),
            "{refused}"
        );
        let mut other = pin("a");
        other.params = json!({"roleid": 3});
        assert!(
            matches!(Ledger::resume(&path, &other), Err(ResumeError::Changed(why)) if why.contains("--set"))
        );
        assert_eq!(std::fs::read_to_string(journal_path(&path)).unwrap(), journal);
        assert!(
            Ledger::create(&path, &pin("a")).is_err(),
            "an existing journal is never truncated"
        );
        let (_, resume) = Ledger::resume(&path, &pin("a")).unwrap();
        assert_eq!(resume.unfinished.len(), 1);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn unknown_outcomes_are_checked_again_on_resume() {
        let path = scratch("unknown");
        let mut ledger = Ledger::create(&path, &pin("a")).unwrap();
        let a = ledger.start(&[1, 2, 3]).unwrap();
        let unknown = MoodleError::local(UNKNOWN_OUTCOME, "no answer");
        let refused = MoodleError::local("invalidparameter", "no");
        ledger
            .record(&[
                RecordResult::applied(1, Some(5)),
                RecordResult::with_error(2, Status::Failed, unknown),
                RecordResult::with_error(3, Status::Failed, refused),
            ])
            .unwrap();
        ledger.finish(a).unwrap();
        drop(ledger);
        let (_, resume) = Ledger::resume(&path, &pin("a")).unwrap();
        assert!(resume.done.contains(1) && resume.done.contains(3) && !resume.done.contains(2));
        assert_eq!(
            resume.unfinished,
            vec![Unfinished {
                request: 2,
                records: vec![2]
            }]
        );
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    /// Results lines of older versions have no `line` or `key`: a resume
    /// reads them as before, beside new lines that have both.
    #[test]
    fn lines_with_and_without_line_and_key_resume_alike() {
        let path = scratch("old-lines");
        let mut ledger = Ledger::create(&path, &pin("a")).unwrap();
        let a = ledger.start(&[1, 2, 3, 4]).unwrap();
        ledger.finish(a).unwrap();
        drop(ledger);
        let unknown = json!({"record": 3, "status": "failed", "error": {"exception": "moodlec", "errorcode": UNKNOWN_OUTCOME, "message": "?"}});
        let lines = [
            json!({"record": 1, "status": "applied", "id": 5}),
            json!({"record": 2, "line": 3, "key": {"username": "jdoe"}, "status": "applied", "id": 6}),
            json!({"record": 3, "line": 4, "key": {"username": "kim"}, "status": "failed", "error": unknown["error"]}),
            json!({"record": 4, "line": 5, "key": {"username": "lee"}, "status": "skipped"}),
        ];
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(&path, text).unwrap();
        let (_, resume) = Ledger::resume(&path, &pin("a")).unwrap();
        assert!(resume.done.contains(1) && resume.done.contains(2));
        assert!(!resume.done.contains(3) && !resume.done.contains(4));
        assert_eq!(resume.unfinished.len(), 1, "{:?}", resume.unfinished);
        assert_eq!(resume.unfinished[0].records, vec![3]);
        // The kept lines are kept as they were, `line` and `key` included.
        let kept = std::fs::read_to_string(&path).unwrap();
        assert!(kept.contains(r#""key":{"username":"jdoe"}"#), "{kept}");
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn nothing_is_finished_after_a_results_write_failed() {
        let path = scratch("broken");
        let mut ledger = Ledger::create(&path, &pin("a")).unwrap();
        ledger.fail_at = Some(2);
        let a = ledger.start(&[1]).unwrap();
        ledger.record(&[RecordResult::applied(1, Some(5))]).unwrap();
        ledger.finish(a).unwrap();
        let b = ledger.start(&[2]).unwrap();
        assert!(ledger.record(&[RecordResult::applied(2, Some(6))]).is_err());
        assert!(ledger.finish(b).is_err());
        assert!(ledger.start(&[3]).is_err(), "nothing more is sent");
        assert!(ledger.record(&[RecordResult::applied(3, Some(7))]).is_err());
        drop(ledger);
        let (_, resume) = Ledger::resume(&path, &pin("a")).unwrap();
        assert!(resume.done.contains(1) && !resume.done.contains(2));
        assert_eq!(
            resume.unfinished,
            vec![Unfinished {
                request: b,
                records: vec![2]
            }]
        );
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn record_set() {
        let mut set = RecordSet::default();
        assert!(set.insert(1) && set.insert(64) && set.insert(1000) && !set.insert(64));
        assert!(set.contains(1) && set.contains(1000) && !set.contains(2) && !set.contains(99_999));
        assert_eq!(set.len(), 3);
    }

    #[test]
    fn resume_after_a_crash() {
        let path = scratch("crash");
        let mut ledger = Ledger::create(&path, &pin("a")).unwrap();
        let a = ledger.start(&[1, 2]).unwrap();
        ledger
            .record(&[
                RecordResult::applied(1, Some(7)),
                RecordResult::applied(2, Some(8)),
            ])
            .unwrap();
        ledger.finish(a).unwrap();
        let b = ledger.start(&[3, 4]).unwrap();
        let c = ledger.start(&[5, 6]).unwrap();
        ledger.record(&[RecordResult::applied(5, None)]).unwrap();
        let skipped = MoodleError::local("interrupted", "not sent");
        ledger
            .record(&[RecordResult::with_error(7, Status::Skipped, skipped)])
            .unwrap();
        drop(ledger);
        assert_eq!((b, c), (2, 3));
        // A torn last line, as kill -9 in the middle of a write leaves it.
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(br#"{"record":6,"sta"#).unwrap();
        drop(file);

        let (mut ledger, resume) = Ledger::resume(&path, &pin("a")).unwrap();
        assert_eq!(resume.done.len(), 3);
        assert!(resume.done.contains(5) && !resume.done.contains(6) && !resume.done.contains(7));
        assert_eq!(
            resume.unfinished,
            vec![
                Unfinished {
                    request: 2,
                    records: vec![3, 4]
                },
                Unfinished {
                    request: 3,
                    records: vec![6]
                }
            ]
        );
        assert_eq!(ledger.start(&[8]).unwrap(), 4);
        ledger.record(&[RecordResult::applied(6, Some(9))]).unwrap();
        drop(ledger);
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert_eq!(lines[3], r#"{"record":6,"status":"applied","id":9}"#);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }
}
