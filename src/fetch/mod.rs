//! The read side: calling Moodle's read functions through read templates and
//! turning their answers into output records.
//!
//! `request` builds a call's form parameters from input records, `extract`
//! finds the output records in Moodle's answer, `shape` applies `annotate`,
//! `keep`, `map`, `set`, `exclude` and `select`, `join` enriches records
//! from other read templates, `output` writes NDJSON, JSON or CSV, and
//! `fetcher` runs one call through all of them, reading through a
//! [`crate::site::Session`].

pub mod extract;
pub mod fetcher;
pub mod join;
pub mod output;
pub mod request;
pub mod shape;

pub use fetcher::{FetchError, Fetcher};
