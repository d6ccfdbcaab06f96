//! moodlec: a compiler and runner for declarative Moodle web-service templates.
//!
//! The modules follow the pipeline: [`syntax`] parses template text into a
//! spanned tree, [`check`] turns it into an immutable [`template::Template`].

// Diagnostics are returned once per file, on the error path: boxing them buys nothing.
#![allow(clippy::result_large_err)]

pub mod builtin;
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
pub mod syntax;
pub mod template;
pub mod validate;
pub mod value;
