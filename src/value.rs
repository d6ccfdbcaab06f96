//! Scalar values against Moodle's PARAM rules, by moodlec type.
//!
//! The rules themselves live in [`crate::moodle`]; this maps each
//! [`ScalarType`] to the rule Moodle applies to it.

use crate::moodle::{country, email, params, Rejection};
use crate::template::ScalarType;

/// Whether Moodle accepts `text` unchanged as a value of the textual type `ty`.
///
/// # Errors
/// Moodle's reason for rejecting it, with the cleaned value where useful.
pub fn check_scalar_text(ty: ScalarType, text: &str) -> Result<(), Rejection> {
    match ty {
        ScalarType::Int | ScalarType::Timestamp => params::int(text).map(drop),
        ScalarType::Bool => params::bool_value(text).map(drop),
        ScalarType::Float => params::float(text).map(drop),
        ScalarType::Text => params::text(text),
        ScalarType::NoTags => params::notags(text),
        ScalarType::Raw | ScalarType::Password => params::raw(text),
        ScalarType::RawTrimmed => params::raw_trimmed(text),
        ScalarType::Alpha => params::alpha(text),
        ScalarType::AlphaNum => params::alphanum(text),
        ScalarType::AlphaNumExt => params::alphanumext(text),
        ScalarType::SafeDir => params::safedir(text),
        ScalarType::Plugin => params::plugin(text),
        ScalarType::Auth => params::auth(text),
        ScalarType::Theme => params::theme(text),
        ScalarType::Username => params::username(text),
        ScalarType::Email => params::raw_trimmed(text).and_then(|()| email::validate_email(text)),
        ScalarType::Lang => params::lang(text),
        ScalarType::Country => country::country(text),
        ScalarType::Timezone => params::timezone(text),
    }
}
