//! `moodlec fmt`: canonical formatting of template files. (Being written.)

use crate::diagnostic::{Source, TemplateDiagnostic};

/// The canonical text of a template file, comments kept.
///
/// # Errors
/// The syntax error if the file does not parse.
pub fn format_source(source: &Source) -> Result<String, TemplateDiagnostic> {
    crate::syntax::parse(source)?;
    Ok(source.text.to_string())
}
