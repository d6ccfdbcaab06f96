//! Warnings: values Moodle accepts but that are probably wrong.
//!
//! An error means Moodle will reject the record; a warning means Moodle
//! takes it (and may store something else, or nothing useful). Warnings
//! come from the template's `warn` constraints and `warn rule`s, and from
//! values Moodle's own checks let through:
//!
//! - `country`: PARAM_ALPHA is all the web service checks
//!   (user/externallib.php create_users/update_users); user/lib.php
//!   user_create_user() and user_update_user() then run core_user::validate()
//!   and, for a value outside the field's `choices` (the country list,
//!   lib/classes/user.php fill_properties_cache()), only emit a developer
//!   debugging message and clean the field: the record is never rejected.

use super::Violation;
use crate::diagnostic::Code;
use crate::moodle::country;
use crate::template::{Field, FieldType, ScalarType, Value};

/// Why Moodle accepts `value` for `field` although it is probably wrong.
pub(super) fn warnings(field: &Field, value: &Value, found: &mut Vec<Violation>) {
    let name = Some(field.name.as_str());
    if let (FieldType::Scalar(ScalarType::Country), Value::Str(text)) = (&field.ty, value) {
        if let Some(advice) = country::unlisted(text) {
            found.push(
                Violation::new(
                    Code::UnknownCountry,
                    name,
                    format!("`{}`: {}", field.name, advice.message),
                )
                .help(advice.cleaned.map(|c| format!("did you mean {c:?}?"))),
            );
        }
    }
    if let Some(advisory) = &field.constraints.advisory {
        if let Some(why) = advisory.violation(value) {
            found.push(
                Violation::new(Code::Advisory, name, format!("`{}`: {why}", field.name)).help(Some(
                    "Moodle accepts the value, but it is outside what the template expects (`warn` constraint)"
                        .to_owned(),
                )),
            );
        }
    }
}
