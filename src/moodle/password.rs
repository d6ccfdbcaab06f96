//! Moodle's password policy: lib/classes/authentication/password.php
//! `get_policy_errors()` (5.x; the same rules as `check_password_policy()` in
//! older lib/moodlelib.php), with the English strings of lang/en/auth.php.
//! Applied when `$CFG->passwordpolicy` is on (the default) and a password is
//! set; plugins may add rules that cannot be known here.

use std::sync::OnceLock;

use regex::Regex;

/// Moodle's password policy settings (admin/settings/security.php names in
/// brackets).
#[derive(Debug, Clone)]
pub struct Policy {
    /// Minimum length in characters (`minpasswordlength`).
    pub min_length: usize,
    /// Minimum number of decimal digits (`minpassworddigits`).
    pub min_digits: usize,
    /// Minimum number of lowercase letters (`minpasswordlower`).
    pub min_lower: usize,
    /// Minimum number of uppercase letters (`minpasswordupper`).
    pub min_upper: usize,
    /// Minimum number of characters that are none of the above (`minpasswordnonalphanum`).
    pub min_nonalphanum: usize,
    /// Longest allowed run of one repeated byte; 0 turns the rule off (`maxconsecutiveidentchars`).
    pub max_consecutive_identical: usize,
}

impl Default for Policy {
    /// Moodle's defaults: 8 characters, 1 digit, 1 lower, 1 upper, 1 special, no run limit.
    fn default() -> Self {
        Policy {
            min_length: 8,
            min_digits: 1,
            min_lower: 1,
            min_upper: 1,
            min_nonalphanum: 1,
            max_consecutive_identical: 0,
        }
    }
}

/// lib/moodlelib.php `MAX_PASSWORD_CHARACTERS`; compared with strlen(), so bytes.
pub const MAX_PASSWORD_CHARACTERS: usize = 128;

/// Follows lib/classes/authentication/password.php `get_policy_errors()`:
/// every failed rule, in Moodle's order (length, digits, lower, upper,
/// special, consecutive), with Moodle's English messages. Counting follows
/// PHP's `/u` regexes, where PCRE2_UCP makes `[[:digit:]]` `\p{Nd}`,
/// `[[:lower:]]` `\p{Ll}` and `[[:upper:]]` `\p{Lu}`; letters of other
/// categories (e.g. CJK, `Lo`) count as special characters.
pub fn check(policy: &Policy, password: &str) -> Result<(), Vec<String>> {
    let counts = Counts::of(password);
    let mut errors = Vec::new();
    if password.chars().count() < policy.min_length {
        errors.push(format!(
            "Passwords must be at least {} characters long.",
            policy.min_length
        ));
    }
    if counts.digits < policy.min_digits {
        errors.push(format!(
            "Passwords must have at least {} digit(s).",
            policy.min_digits
        ));
    }
    if counts.lower < policy.min_lower {
        errors.push(format!(
            "Passwords must have at least {} lower case letter(s).",
            policy.min_lower
        ));
    }
    if counts.upper < policy.min_upper {
        errors.push(format!(
            "Passwords must have at least {} upper case letter(s).",
            policy.min_upper
        ));
    }
    if counts.other < policy.min_nonalphanum {
        errors.push(format!(
            "The password must have at least {} special character(s) such as *, -, or #.",
            policy.min_nonalphanum
        ));
    }
    if !consecutive_ok(password, policy.max_consecutive_identical) {
        errors.push(format!(
            "Passwords must have at most {} consecutive identical characters.",
            policy.max_consecutive_identical
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Follows lib/classes/authentication/password.php `exceeds_max_length()`,
/// checked when the password is hashed: more than 128 bytes fails with
/// lang/en/error.php `passwordexceeded`.
pub fn length_limit(password: &str) -> Result<(), String> {
    if password.len() > MAX_PASSWORD_CHARACTERS {
        Err(format!(
            "The password can't be more than {MAX_PASSWORD_CHARACTERS} characters."
        ))
    } else {
        Ok(())
    }
}

/// Moodle's errorcode for policy failures: each message wrapped in a `<div>`
/// (`check_policy()`), as returned in the web-service error.
pub fn error_html(errors: &[String]) -> String {
    errors.iter().map(|e| format!("<div>{e}</div>")).collect()
}

/// Character counts of the four `preg_match_all()` calls.
struct Counts {
    digits: usize,
    lower: usize,
    upper: usize,
    other: usize,
}

impl Counts {
    fn of(password: &str) -> Self {
        let mut counts = Counts {
            digits: 0,
            lower: 0,
            upper: 0,
            other: 0,
        };
        for c in password.chars() {
            match classify(c) {
                Class::Digit => counts.digits += 1,
                Class::Lower => counts.lower += 1,
                Class::Upper => counts.upper += 1,
                Class::Other => counts.other += 1,
            }
        }
        counts
    }
}

/// The POSIX class a character falls in under PCRE2_UCP.
enum Class {
    Digit,
    Lower,
    Upper,
    Other,
}

/// `\p{Nd}`, `\p{Ll}`, `\p{Lu}`: Unicode general categories, which Rust's std
/// does not expose (`is_lowercase` is the wider Lowercase property), so they
/// come from the regex crate's tables.
fn categories() -> Option<&'static [Regex; 3]> {
    static CATEGORIES: OnceLock<Option<[Regex; 3]>> = OnceLock::new();
    CATEGORIES
        .get_or_init(|| {
            let digit = Regex::new(r"^\p{Nd}$").ok()?;
            let lower = Regex::new(r"^\p{Ll}$").ok()?;
            let upper = Regex::new(r"^\p{Lu}$").ok()?;
            Some([digit, lower, upper])
        })
        .as_ref()
}

fn classify(c: char) -> Class {
    let mut buf = [0u8; 4];
    let s: &str = c.encode_utf8(&mut buf);
    match categories() {
        Some([digit, lower, upper]) => {
            if digit.is_match(s) {
                Class::Digit
            } else if lower.is_match(s) {
                Class::Lower
            } else if upper.is_match(s) {
                Class::Upper
            } else {
                Class::Other
            }
        }
        // The patterns are constant and compile; this only avoids a panic path.
        None if c.is_ascii_digit() => Class::Digit,
        None if c.is_lowercase() => Class::Lower,
        None if c.is_uppercase() => Class::Upper,
        None => Class::Other,
    }
}

/// Follows lib/classes/authentication/password.php
/// `check_consecutive_identical_characters()`: compares bytes (str_split), so
/// "ééé" (C3 A9 C3 A9 C3 A9) is no run at all, while a single character such
/// as U+1041 (E1 81 81) holds a run of two.
fn consecutive_ok(password: &str, max: usize) -> bool {
    if max < 1 || password.len() <= max {
        return true;
    }
    let mut run = 0usize;
    let mut previous: Option<u8> = None;
    for byte in password.bytes() {
        run = if previous == Some(byte) { run + 1 } else { 1 };
        if run > max {
            return false;
        }
        previous = Some(byte);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const LENGTH: &str = "Passwords must be at least 8 characters long.";
    const DIGIT: &str = "Passwords must have at least 1 digit(s).";
    const LOWER: &str = "Passwords must have at least 1 lower case letter(s).";
    const UPPER: &str = "Passwords must have at least 1 upper case letter(s).";
    const SPECIAL: &str = "The password must have at least 1 special character(s) such as *, -, or #.";

    #[test]
    fn default_policy_reports_every_failure_in_order() {
        let cases: &[(&str, &[&str])] = &[
            ("Passw0rd!", &[]),
            ("Aa1!aaaa", &[]),
            ("Aa1!aaa", &[LENGTH]),
            ("", &[LENGTH, DIGIT, LOWER, UPPER, SPECIAL]),
            ("password", &[DIGIT, UPPER, SPECIAL]),
            ("PASSWORD1!", &[LOWER]),
            ("password1!", &[UPPER]),
            ("Password!", &[DIGIT]),
            ("Password1", &[SPECIAL]),
            ("Pass word1", &[]),
            ("Pässwörd1!", &[]),
            ("ÄÖÜäöü1!", &[]),
            ("密码密码Aa1x", &[]),
            ("Aa١!aaaa", &[]),
            ("Aa²!aaaa", &[DIGIT]),
            ("Aaⅰ!aaaa", &[DIGIT]),
            ("ǅaa1!aaa", &[UPPER]),
        ];
        for (password, expected) in cases {
            let got = check(&Policy::default(), password).err().unwrap_or_default();
            assert_eq!(
                got,
                expected.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                "{password:?}"
            );
        }
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        let policy = Policy {
            min_length: 4,
            min_digits: 0,
            min_lower: 0,
            min_upper: 0,
            min_nonalphanum: 0,
            max_consecutive_identical: 0,
        };
        assert!(check(&policy, "äöüß").is_ok());
        assert!(check(&policy, "äöü").is_err());
    }

    #[test]
    fn consecutive_identical_bytes() {
        let policy = |max| Policy {
            max_consecutive_identical: max,
            ..Policy::default()
        };
        let message = |max| format!("Passwords must have at most {max} consecutive identical characters.");
        assert!(check(&policy(0), "Aaaaaaa1!").is_ok());
        assert!(check(&policy(3), "Aaaa1!xyz").is_ok());
        assert_eq!(check(&policy(3), "Aaaaa1!xyz"), Err(vec![message(3)]));
        assert_eq!(check(&policy(2), "Abc111!x"), Err(vec![message(2)]));
        assert!(check(&policy(2), "Abc11!x1").is_ok());
        assert!(consecutive_ok("aaa", 3));
        assert!(!consecutive_ok("aaaa", 3));
        assert!(consecutive_ok("éé", 1));
        assert!(
            !consecutive_ok("\u{1041}", 1),
            "U+1041 is E1 81 81: two identical bytes"
        );
    }

    #[test]
    fn custom_numbers_appear_in_messages() {
        let policy = Policy {
            min_length: 12,
            min_digits: 2,
            min_lower: 0,
            min_upper: 0,
            min_nonalphanum: 3,
            max_consecutive_identical: 0,
        };
        assert_eq!(
            check(&policy, "abc1"),
            Err(vec![
                "Passwords must be at least 12 characters long.".to_string(),
                "Passwords must have at least 2 digit(s).".to_string(),
                "The password must have at least 3 special character(s) such as *, -, or #.".to_string(),
            ])
        );
    }

    #[test]
    fn max_length_and_html() {
        assert!(length_limit(&"a".repeat(128)).is_ok());
        assert_eq!(
            length_limit(&"a".repeat(129)),
            Err("The password can't be more than 128 characters.".to_string())
        );
        assert!(length_limit(&"é".repeat(65)).is_err(), "130 bytes");
        assert_eq!(
            error_html(&["x".to_string(), "y".to_string()]),
            "<div>x</div><div>y</div>"
        );
        assert!(categories().is_some());
    }
}
