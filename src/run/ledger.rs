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
//! - every other record was never applied and is sent.

use std::collections::{BTreeMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::json;

use super::outcome::{RecordResult, Status};

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

/// Where results and journal lines go. Without a results file it keeps nothing.
#[derive(Debug)]
pub struct Ledger {
    files: Option<Files>,
    next_request: u64,
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
    /// A ledger that writes nothing (no `--results`).
    pub fn none() -> Ledger {
        Ledger {
            files: None,
            next_request: 1,
        }
    }

    /// A new results file (it must not exist) and an empty journal beside it.
    ///
    /// # Errors
    /// The files cannot be created.
    pub fn create(results: &Path) -> io::Result<Ledger> {
        let results_file = OpenOptions::new().write(true).create_new(true).open(results)?;
        let journal = File::create(journal_path(results))?;
        Ok(Ledger {
            files: Some(Files {
                results: BufWriter::new(results_file),
                journal: BufWriter::new(journal),
            }),
            next_request: 1,
        })
    }

    /// Continue the run whose results are in `results`: read what is done
    /// and what is ambiguous, and rewrite both files without torn lines,
    /// `skipped` results, or requests that no longer matter.
    ///
    /// # Errors
    /// The files cannot be read or rewritten.
    pub fn resume(results: &Path) -> io::Result<(Ledger, Resume)> {
        let done = compact_results(results)?;
        let journal = journal_path(results);
        let (unfinished, last_request) = compact_journal(&journal, &done)?;
        let results_file = OpenOptions::new().append(true).open(results)?;
        let journal_file = OpenOptions::new().append(true).open(&journal)?;
        let ledger = Ledger {
            files: Some(Files {
                results: BufWriter::new(results_file),
                journal: BufWriter::new(journal_file),
            }),
            next_request: last_request + 1,
        };
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
        for result in results {
            let line = serde_json::to_string(result).map_err(io::Error::other)?;
            files.results.write_all(line.as_bytes())?;
            files.results.write_all(b"\n")?;
        }
        files.results.flush()
    }

    /// Journal a request about to be sent; returns its id.
    ///
    /// # Errors
    /// The journal cannot be written.
    pub fn start(&mut self, records: &[u64]) -> io::Result<u64> {
        let id = self.next_request;
        self.next_request += 1;
        if let Some(files) = &mut self.files {
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
    pub fn finish(&mut self, id: u64) -> io::Result<()> {
        if let Some(files) = &mut self.files {
            writeln!(files.journal, "{}", json!({ "finish": id }))?;
            files.journal.flush()?;
        }
        Ok(())
    }
}

#[derive(Deserialize)]
struct ResultLine {
    record: u64,
    status: Status,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum JournalLine {
    Start { start: u64, records: Vec<u64> },
    Finish { finish: u64 },
}

/// Keep the complete, non-`skipped` result lines (the first per record);
/// returns the records they cover.
fn compact_results(path: &Path) -> io::Result<RecordSet> {
    let mut done = RecordSet::default();
    let reader = BufReader::new(File::open(path)?);
    let temporary = sibling(path, ".resume");
    let mut kept = BufWriter::new(File::create(&temporary)?);
    for line in reader.split(b'\n') {
        let line = line?;
        // A line that does not parse is a torn last write: that record has no result.
        let Ok(parsed) = serde_json::from_slice::<ResultLine>(&line) else {
            continue;
        };
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
    Ok(done)
}

/// The requests started and not finished whose records are not all done,
/// and the highest request id seen; the journal is rewritten to hold just
/// those requests.
fn compact_journal(path: &Path, done: &RecordSet) -> io::Result<(Vec<Unfinished>, u64)> {
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
                    // A torn start line: its request was never sent (sending waits for the line).
                    Err(_) => {}
                }
            }
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => return Err(error),
    }
    let unfinished: Vec<Unfinished> = started
        .into_iter()
        .filter(|(id, _)| !finished.contains(id))
        .map(|(request, records)| Unfinished {
            request,
            records: records.into_iter().filter(|r| !done.contains(*r)).collect(),
        })
        .filter(|u| !u.records.is_empty())
        .collect();
    let temporary = sibling(path, ".resume");
    let mut journal = BufWriter::new(File::create(&temporary)?);
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
        let mut ledger = Ledger::create(&path).unwrap();
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

        let (mut ledger, resume) = Ledger::resume(&path).unwrap();
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
