//! Moodle's own value rules, ported from Moodle's PHP source so that a
//! verdict here equals the verdict of a Moodle site receiving the value
//! through its web services.
//!
//! Sources (moodle/moodle): `lib/classes/param.php` (5.x `core\param`),
//! `lib/moodlelib.php` (`fix_utf8`), `lib/weblib.php` (`validate_email`),
//! `lib/classes/authentication/password.php` (password policy),
//! `lib/external/classes/external_api.php` (strict validation),
//! `lang/en/countries.php`, `lang/en/auth.php`, `lang/en/error.php`.
//! PHP behaviour the rules lean on (php/php-src): `ext/standard/string.c`
//! (`php_strip_tags_ex`), `ext/filter/logical_filters.c`
//! (`php_filter_validate_email`).
//!
//! Web-service parameters arrive as strings, are cleaned with the type's
//! cleaning function and rejected when cleaning changed them; every check in
//! [`params`] answers "would cleaning leave this string unchanged?".

pub mod country;
pub mod email;
pub mod params;
pub mod password;
mod php;
pub mod ws;

use std::fmt;

/// Why Moodle would reject a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// One sentence, e.g. "Moodle usernames must be lowercase".
    pub message: String,
    /// The value Moodle's cleaning would turn it into, when that helps the user (e.g. the lowercased username).
    pub cleaned: Option<String>,
}

impl Rejection {
    /// A rejection without a suggested value.
    pub fn new(message: impl Into<String>) -> Self {
        Rejection {
            message: message.into(),
            cleaned: None,
        }
    }

    /// A rejection that shows what Moodle's cleaning would make of the value.
    pub fn with_cleaned(message: impl Into<String>, cleaned: impl Into<String>) -> Self {
        Rejection {
            message: message.into(),
            cleaned: Some(cleaned.into()),
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.cleaned {
            Some(cleaned) => write!(f, "{} (Moodle would clean it to {:?})", self.message, cleaned),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Rejection {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_shows_cleaned_value_when_present() {
        let cases = [
            (Rejection::new("Bad value"), "Bad value"),
            (
                Rejection::with_cleaned("Moodle usernames must be lowercase", "jdoe"),
                "Moodle usernames must be lowercase (Moodle would clean it to \"jdoe\")",
            ),
        ];
        for (rejection, shown) in cases {
            assert_eq!(rejection.to_string(), shown);
        }
    }

    /// Every string-taking check, for the no-panic property.
    fn all_checks(s: &str) -> Vec<bool> {
        vec![
            params::int(s).is_ok(),
            params::bool_value(s).is_ok(),
            params::float(s).is_ok(),
            params::raw(s).is_ok(),
            params::raw_trimmed(s).is_ok(),
            params::text(s).is_ok(),
            params::notags(s).is_ok(),
            params::alpha(s).is_ok(),
            params::alphanum(s).is_ok(),
            params::alphanumext(s).is_ok(),
            params::safedir(s).is_ok(),
            params::sequence(s).is_ok(),
            params::plugin(s).is_ok(),
            params::auth(s).is_ok(),
            params::theme(s).is_ok(),
            params::username(s).is_ok(),
            params::lang(s).is_ok(),
            params::timezone(s).is_ok(),
            email::validate_email(s).is_ok(),
            email::param_email(s).is_ok(),
            email::user_email(s).is_ok(),
            email::trimmed_ok(s),
            password::check(&password::Policy::default(), s).is_ok(),
            password::length_limit(s).is_ok(),
            country::country(s).is_ok(),
        ]
    }

    proptest::proptest! {
        #[test]
        fn no_check_panics(s in "\\PC*") {
            let _ = all_checks(&s);
        }

        #[test]
        fn no_check_panics_on_markup_and_addresses(s in "[<>!?\"'/\\-a-zA-Z0-9@.:\\[\\] \n\t\0é]{0,80}") {
            let _ = all_checks(&s);
        }

        #[test]
        fn no_check_panics_on_ip_literals(s in "[a-z\"\\\\.]{0,5}@\\[[0-9a-fA-FIPv6:. !/]{0,40}\\]") {
            let _ = all_checks(&s);
        }

        #[test]
        fn accepted_values_survive_their_cleaning(s in "[<>a-zA-Z0-9 &;_\\-@.\n]{0,40}") {
            if params::notags(&s).is_ok() {
                proptest::prop_assert_eq!(php::strip_tags(&s, None), s.clone());
            }
            if let Ok(n) = params::int(&s) {
                proptest::prop_assert_eq!(n.to_string(), s.clone());
            }
            if params::username(&s).is_ok() {
                proptest::prop_assert!(s.chars().all(|c| c.is_ascii_lowercase()
                    || c.is_ascii_digit() || "-.@_".contains(c)));
            }
            if email::validate_email(&s).is_ok() {
                proptest::prop_assert!(s.is_ascii() && s.contains('@') && !s.contains(['<', '>']));
            }
        }

        #[test]
        fn rejections_carry_a_message(s in "\\PC{0,20}") {
            for result in [params::username(&s), params::text(&s), params::timezone(&s), country::country(&s)] {
                if let Err(rejection) = result {
                    proptest::prop_assert!(!rejection.message.is_empty());
                }
            }
        }
    }
}
