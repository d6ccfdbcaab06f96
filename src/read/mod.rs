//! The read side: calling Moodle's read functions through read templates and
//! turning their answers into output records.
//!
//! `request` builds a call's form parameters from input records, `extract`
//! finds the output records in Moodle's answer, `shape` applies `keep`,
//! `map`, `set`, `exclude` and `select`, `join` enriches records from other
//! read templates, `output` writes NDJSON, JSON or CSV, and `fetch` drives
//! them. `reader` is the retrying client they (and lookups) call through.

pub mod reader;

pub use reader::{ReadError, Reader};
