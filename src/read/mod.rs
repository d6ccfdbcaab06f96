//! The read side: calling Moodle's read functions through read templates and
//! turning their answers into output records.
//!
//! `request` builds a call's form parameters from input records, `extract`
//! finds the output records in Moodle's answer, `shape` applies `annotate`,
//! `keep`, `map`, `set`, `exclude` and `select`, `join` enriches records
//! from other read templates, `output` writes NDJSON, JSON or CSV, and
//! `fetch` runs one call through all of them. `reader` is the retrying
//! client they (and lookups) call through.

pub mod extract;
pub mod fetch;
pub mod join;
pub mod output;
pub mod reader;
pub mod request;
pub mod shape;

pub use fetch::{FetchError, Fetcher};
pub use reader::{ReadError, Reader};
