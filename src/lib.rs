//! moodlec: a compiler and runner for declarative Moodle web-service templates.
//!
//! The modules follow the pipeline, lowest stage first; none imports from a
//! stage above it:
//!
//! 1. [`span`], [`diagnostic`]: byte spans and template diagnostics.
//! 2. [`moodle`]: Moodle's own value rules (PARAM types, email, password
//!    policy) and its web-service wire ([`moodle::ws`]).
//! 3. [`syntax`]: template text to a spanned syntax tree (pest).
//! 4. [`check`]: the syntax tree to an immutable [`template::Template`], a
//!    write or a read template ([`template::Kind`]); [`builtin`] holds the
//!    built-in ones, [`fmt`] formats template text, [`params`] resolves
//!    `--set`, [`schema`] exports JSON Schema, [`value`] maps types to rules.
//! 5. [`record`]: data files (NDJSON, JSON arrays, CSV) to source records.
//! 6. [`form`]: field values and their form encoding, shared below and above.
//! 7. [`validate`]: source records to valid records or violations, with
//!    Moodle's own verdict; lookups' keys ([`validate::keys`]).
//! 8. [`plan`]: valid records to batches within PHP's `max_input_vars`.
//! 9. [`render`]: batches to the exact bodies Moodle's REST server takes.
//! 10. [`site`]: the only layer that talks to Moodle (session, token,
//!     retries, preflight, login, find-by-field, webhooks).
//! 11. [`run`] sends write templates' batches and accounts for every record;
//!     [`fetch`] calls read templates and shapes their answers.
//!
//! The command line (`src/cli`, in the binary) parses arguments, calls one of
//! these, and alone prints and chooses the exit code.

// Diagnostics are returned once per file, on the error path: boxing them buys nothing.
#![allow(clippy::result_large_err)]

pub mod builtin;
pub mod catalogue;
pub mod check;
pub mod diagnostic;
pub mod fetch;
pub mod fmt;
pub mod form;
pub mod moodle;
pub mod params;
pub mod plan;
pub mod record;
pub mod render;
pub mod run;
pub mod schema;
pub mod site;
pub mod span;
pub mod sync;
pub mod syntax;
pub mod template;
pub mod validate;
pub mod value;
