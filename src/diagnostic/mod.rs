//! Problems, one model for all of them: a stable [`Code`], a severity, a
//! message, a help line, and where: the file, the span (line, column, byte
//! range), the record and the field.
//!
//! Template problems are found as [`TemplateDiagnostic`]s (with labelled
//! spans for miette) and become a [`Diagnostic`] when reported; record
//! problems and the errors that end a command are built as one directly.
//! The library never prints: `cli` presents a `Diagnostic` as human text,
//! JSON, GitHub annotations, JUnit XML, SARIF or Markdown.

mod code;
mod location;
mod model;
mod template;

pub use code::{Code, Family};
pub use location::Location;
pub use model::{Diagnostic, Excerpt, Related, Severity};
pub use template::{Source, TemplateDiagnostic};
