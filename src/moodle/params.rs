//! Strict validation of PARAM_* values, as `external_api::validate_parameters`
//! does it: the value is cleaned with the type's `clean_param_value_*`
//! function (lib/classes/param.php) and rejected when the string form of the
//! cleaned value differs from the input (`param::validate_param`).
//!
//! Note that for most string types the empty string is "already clean" and so
//! passes (PARAM_PLUGIN, AUTH, THEME, LANG, TIMEZONE clean anything invalid to
//! '' and '' === ''); functions follow that unless their doc says otherwise.

use super::php::{fix_utf8, is_fix_utf8_removed, pcre_dollar_candidates, php_trim, quote_chars, strip_tags};
use super::Rejection;

/// Follows lib/classes/param.php `validate_param()` + `clean_param_value_int()`:
/// accepted iff `(string)(int)$s === $s`, i.e. the canonical decimal form of
/// an i64 ("0", "-5", "42"; not "-0", "+5", "007", " 5", "5\n", "1e3", "0x1A").
pub fn int(s: &str) -> Result<i64, Rejection> {
    let cleaned = php_int_cast(s).to_string();
    if !is_canonical_decimal(s) {
        let message = if s.is_empty() {
            "Moodle expects an integer here and cleans an empty value to 0"
        } else {
            "Moodle integers must be plain decimal digits with an optional leading '-', \
             without '+', spaces, leading zeros, decimals or exponents"
        };
        return Err(Rejection::with_cleaned(message, cleaned));
    }
    s.parse::<i64>().map_err(|_| {
        Rejection::with_cleaned(
            "Moodle integers must lie between -9223372036854775808 and 9223372036854775807",
            cleaned,
        )
    })
}

/// `-?(0|[1-9][0-9]*)` without "-0": the only strings an (int) cast prints.
fn is_canonical_decimal(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let all_digits = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    let no_leading_zero = digits.len() == 1 || !digits.starts_with('0');
    all_digits && no_leading_zero && s != "-0"
}

/// PHP 8 `(int)$string`: leading whitespace, then the longest numeric prefix;
/// integers saturate, floats truncate toward zero. Used only to show what
/// Moodle would have made of a rejected value.
fn php_int_cast(s: &str) -> i64 {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\u{0B}', '\u{0C}']);
    let b = t.as_bytes();
    let digits_from = |mut i: usize| {
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    };
    let start = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let int_end = digits_from(start);
    let mut end = int_end;
    let mut is_float = false;
    if b.get(end) == Some(&b'.') {
        let frac_end = digits_from(end + 1);
        if int_end > start || frac_end > end + 1 {
            is_float = true;
            end = frac_end;
        }
    }
    if int_end == start && !is_float {
        return 0;
    }
    if matches!(b.get(end), Some(b'e' | b'E')) {
        let exp_digits = end + 1 + usize::from(matches!(b.get(end + 1), Some(b'+' | b'-')));
        let exp_end = digits_from(exp_digits);
        if exp_end > exp_digits {
            is_float = true;
            end = exp_end;
        }
    }
    let number = t.get(..end).unwrap_or("");
    if is_float {
        return number
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map_or(0, |f| f as i64);
    }
    match number.parse::<i128>() {
        Ok(v) => i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX }),
        Err(_) if number.starts_with('-') => i64::MIN,
        Err(_) => i64::MAX,
    }
}

/// Follows lib/external/classes/external_api.php `validate_parameters()`,
/// which accepts exactly '0' and '1' for PARAM_BOOL strings; anything else
/// goes through `validate_param()` and fails because `clean_param_value_bool()`
/// turns it into 1 or 0 ("true", "yes", "on", "", "00" are all rejected).
pub fn bool_value(s: &str) -> Result<bool, Rejection> {
    match s {
        "1" => Ok(true),
        "0" => Ok(false),
        _ => Err(Rejection::with_cleaned(
            "Moodle accepts only 1 or 0 for yes/no values",
            php_bool_clean(s),
        )),
    }
}

/// lib/classes/param.php `clean_param_value_bool()` on a string.
fn php_bool_clean(s: &str) -> &'static str {
    match s.to_ascii_lowercase().as_str() {
        "on" | "yes" | "true" => "1",
        "off" | "no" | "false" => "0",
        // PHP empty(): "" and "0" are empty, every other string is not.
        "" | "0" => "0",
        _ => "1",
    }
}

/// Follows lib/classes/param.php `validate_param()` for PARAM_FLOAT:
/// `is_numeric($s)` and `/^[\+-]?[0-9]*\.?[0-9]*(e[-+]?[0-9]+)?$/i`. Together
/// they accept a PHP numeric literal ("3", "-2.5", ".5", "5.", "1E3") and,
/// because PHP 8's is_numeric allows trailing whitespace and PCRE's `$`
/// matches before a final newline, the same followed by exactly one "\n".
pub fn float(s: &str) -> Result<f64, Rejection> {
    let core = s.strip_suffix('\n').unwrap_or(s);
    let rejection = || {
        Rejection::new(
            "Moodle expects a plain decimal number such as 3.5, -2 or 1e3 (no spaces, commas or hex)",
        )
    };
    if !is_php_numeric_literal(core) {
        return Err(rejection());
    }
    core.parse::<f64>().map_err(|_| rejection())
}

/// `[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?`: PHP's numeric string
/// grammar without the surrounding whitespace.
fn is_php_numeric_literal(s: &str) -> bool {
    let b = s.as_bytes();
    let digits_from = |mut i: usize| {
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    };
    let start = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let int_end = digits_from(start);
    let mut end = int_end;
    let mut mantissa_digits = int_end - start;
    if b.get(end) == Some(&b'.') {
        let frac_end = digits_from(end + 1);
        mantissa_digits += frac_end - (end + 1);
        end = frac_end;
    }
    if mantissa_digits == 0 {
        return false;
    }
    if matches!(b.get(end), Some(b'e' | b'E')) {
        let exp_start = end + 1 + usize::from(matches!(b.get(end + 1), Some(b'+' | b'-')));
        let exp_end = digits_from(exp_start);
        if exp_end == exp_start {
            return false;
        }
        end = exp_end;
    }
    end == b.len()
}

/// The message for values `fix_utf8()` would change.
fn fix_utf8_rejection(s: &str) -> Rejection {
    Rejection::with_cleaned(
        "Moodle removes NUL bytes and the noncharacters U+FFFE and U+FFFF from text",
        fix_utf8(s),
    )
}

/// Follows lib/classes/param.php `clean_param_value_raw()` = `fix_utf8()`:
/// any valid UTF-8 without NUL, U+FFFE or U+FFFF.
pub fn raw(s: &str) -> Result<(), Rejection> {
    if fix_utf8(s) == s {
        Ok(())
    } else {
        Err(fix_utf8_rejection(s))
    }
}

/// Follows lib/classes/param.php `clean_param_value_raw_trimmed()`:
/// `trim(fix_utf8($s))`, so no leading or trailing " \t\n\r\0\x0B"
/// (non-breaking and other Unicode spaces are kept by PHP's trim).
pub fn raw_trimmed(s: &str) -> Result<(), Rejection> {
    let fixed = fix_utf8(s);
    let cleaned = php_trim(&fixed);
    if cleaned == s {
        return Ok(());
    }
    if cleaned == fixed {
        return Err(fix_utf8_rejection(s));
    }
    Err(Rejection::with_cleaned(
        "Moodle trims leading and trailing spaces, tabs and line breaks from this field",
        cleaned,
    ))
}

/// Follows lib/classes/param.php `clean_param_value_notags()`:
/// `strip_tags(fix_utf8($s))`. "a < b" and "Tom & Jerry" pass; "<b>x</b>",
/// "a<b" and a trailing "<" do not.
pub fn notags(s: &str) -> Result<(), Rejection> {
    let fixed = fix_utf8(s);
    let cleaned = strip_tags(&fixed, None);
    if cleaned == s {
        return Ok(());
    }
    if cleaned == fixed {
        return Err(fix_utf8_rejection(s));
    }
    Err(Rejection::with_cleaned(
        "Moodle strips HTML tags (from a '<' not followed by a space up to the next '>') from this field",
        cleaned,
    ))
}

/// Follows lib/classes/param.php `clean_param_value_text()`: like
/// [`notags`], except that well-formed multilang markup survives:
/// `<span lang="xx" class="multilang">…</span>` (attributes in either order)
/// or `<lang lang="xx">…</lang>`, balanced, with no other tags.
pub fn text(s: &str) -> Result<(), Rejection> {
    let cleaned = clean_text(s);
    if cleaned == s {
        return Ok(());
    }
    if cleaned == fix_utf8(s) {
        return Err(fix_utf8_rejection(s));
    }
    Err(Rejection::with_cleaned(
        "Moodle strips HTML tags from this field; only well-formed multilang \
         <span lang=\"xx\" class=\"multilang\"> or <lang lang=\"xx\"> markup is kept",
        cleaned,
    ))
}

/// lib/classes/param.php `clean_param_value_text()`.
fn clean_text(s: &str) -> String {
    let fixed = fix_utf8(s);
    if fixed.contains("</lang>") {
        // "Old and future multilang syntax".
        let kept = strip_tags(&fixed, Some("<lang>"));
        if multilang_is_balanced(&kept, "</lang>", is_lang_open_tag) {
            return kept;
        }
        return strip_tags(&kept, None);
    }
    if fixed.contains("</span>") {
        let kept = strip_tags(&fixed, Some("<span>"));
        if multilang_is_balanced(&kept, "</span>", is_span_open_tag) {
            return kept;
        }
        return strip_tags(&kept, None);
    }
    strip_tags(&fixed, None)
}

/// The matches of `preg_match_all('/<.*>/suU')`: each '<' up to the nearest
/// following '>' (U makes `.*` lazy), non-overlapping, left to right.
fn lazy_tags(s: &str) -> Vec<&str> {
    let mut tags = Vec::new();
    let mut from = 0;
    while let Some(open) = s.get(from..).and_then(|rest| rest.find('<')).map(|i| i + from) {
        let Some(close) = s
            .get(open + 1..)
            .and_then(|rest| rest.find('>'))
            .map(|i| i + open + 1)
        else {
            break;
        };
        tags.extend(s.get(open..=close));
        from = close + 1;
    }
    tags
}

/// The loop in `clean_param_value_text()`: every tag is an accepted opening
/// tag or a closing tag that closes an open one, and none is left open. No
/// tag at all also counts as failure (preg_match_all returned 0).
fn multilang_is_balanced(s: &str, close: &str, is_open_tag: fn(&str) -> bool) -> bool {
    let tags = lazy_tags(s);
    if tags.is_empty() {
        return false;
    }
    let mut open = false;
    for tag in tags {
        if tag == close {
            if !open {
                return false;
            }
            open = false;
        } else if is_open_tag(tag) {
            open = true;
        } else {
            return false;
        }
    }
    !open
}

/// `\s` under PHP's /u (PCRE2_UCP): `\p{Z}`, `\h` or `\v`.
fn is_ucp_space(c: char) -> bool {
    c.is_whitespace() || c == '\u{180E}'
}

/// `[a-zA-Z0-9_-]+"` at the start of `s`; returns what follows the quote.
fn lang_code_then_quote(s: &str) -> Option<&str> {
    let end = s.find('"')?;
    let code = s.get(..end)?;
    let ok = !code.is_empty()
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        s.get(end + 1..)
    } else {
        None
    }
}

/// `/^<lang lang="[a-zA-Z0-9_-]+"\s*>$/u`.
fn is_lang_open_tag(tag: &str) -> bool {
    tag.strip_prefix("<lang lang=\"")
        .and_then(lang_code_then_quote)
        .is_some_and(|rest| rest.trim_start_matches(is_ucp_space) == ">")
}

/// `/^<span(\s+lang="[a-zA-Z0-9_-]+"|\s+class="multilang"){2}\s*>$/u`:
/// exactly two attributes, each a lang or the multilang class.
fn is_span_open_tag(tag: &str) -> bool {
    let Some(mut rest) = tag.strip_prefix("<span") else {
        return false;
    };
    for _ in 0..2 {
        let spaced = rest.trim_start_matches(is_ucp_space);
        if spaced.len() == rest.len() {
            return false;
        }
        let next = match spaced.strip_prefix("class=\"multilang\"") {
            Some(after) => Some(after),
            None => spaced.strip_prefix("lang=\"").and_then(lang_code_then_quote),
        };
        match next {
            Some(after) => rest = after,
            None => return false,
        }
    }
    rest.trim_start_matches(is_ucp_space) == ">"
}

/// Rejects `s` when deleting every character outside `allowed` changes it;
/// the shared shape of the `preg_replace('/[^…]/', '', $s)` cleaners.
fn only_chars(s: &str, allowed: fn(char) -> bool, what: &str) -> Result<(), Rejection> {
    if s.chars().all(allowed) {
        return Ok(());
    }
    let removed = quote_chars(s.chars().filter(|c| !allowed(*c)));
    let cleaned: String = s.chars().filter(|c| allowed(*c)).collect();
    Err(Rejection::with_cleaned(
        format!("Moodle allows only {what} here and removes {removed}"),
        cleaned,
    ))
}

/// Follows lib/classes/param.php `clean_param_value_alpha()`: `[a-zA-Z]*`.
pub fn alpha(s: &str) -> Result<(), Rejection> {
    only_chars(s, |c| c.is_ascii_alphabetic(), "ASCII letters (a-z, A-Z)")
}

/// Follows lib/classes/param.php `clean_param_value_alphanum()`: `[a-zA-Z0-9]*`.
pub fn alphanum(s: &str) -> Result<(), Rejection> {
    only_chars(s, |c| c.is_ascii_alphanumeric(), "ASCII letters and digits")
}

/// `[a-zA-Z0-9_-]`, the set of PARAM_ALPHANUMEXT and PARAM_SAFEDIR.
fn is_alphanumext_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Follows lib/classes/param.php `clean_param_value_alphanumext()`: `[a-zA-Z0-9_-]*`.
pub fn alphanumext(s: &str) -> Result<(), Rejection> {
    only_chars(s, is_alphanumext_char, "ASCII letters, digits, '_' and '-'")
}

/// Follows lib/classes/param.php `clean_param_value_safedir()`: `[a-zA-Z0-9_-]*`.
pub fn safedir(s: &str) -> Result<(), Rejection> {
    only_chars(s, is_alphanumext_char, "ASCII letters, digits, '_' and '-'")
}

/// Follows lib/classes/param.php `clean_param_value_sequence()`: `[0-9,]*`.
pub fn sequence(s: &str) -> Result<(), Rejection> {
    only_chars(s, |c| c.is_ascii_digit() || c == ',', "digits and commas")
}

/// lib/classes/component.php `is_valid_plugin_name()` for non-mod types:
/// `/^[a-z](?:[a-z0-9_](?!__))*[a-z0-9]+$/` without the trailing-newline case.
/// The lookahead runs after each character of the group only, so "__" right
/// after the first letter ("a__b") is not caught, as in PHP.
fn plugin_name_body_matches(s: &str) -> bool {
    let b = s.as_bytes();
    let first_ok = b.first().is_some_and(u8::is_ascii_lowercase);
    let chars_ok = b
        .iter()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_');
    if b.len() < 2 || !first_ok || !chars_ok {
        return false;
    }
    // The final `[a-z0-9]+` must start after the last '_'; the earliest such
    // start leaves the fewest lookahead checks, so it decides the match.
    let tail_start = b.iter().rposition(|c| *c == b'_').map_or(1, |i| i + 1);
    if tail_start >= b.len() {
        return false;
    }
    (2..tail_start).all(|j| !(b.get(j) == Some(&b'_') && b.get(j + 1) == Some(&b'_')))
}

/// The rule message shared by the plugin-name types.
const PLUGIN_NAME_RULE: &str = "must be a plugin name: a lowercase letter, then lowercase letters, \
     digits or '_', ending in a letter or digit, without '__'";

/// Follows lib/classes/param.php `clean_param_value_plugin()` /
/// `clean_param_value_area()` (`is_valid_plugin_name()`, regex with PCRE's
/// `$`, so one trailing "\n" is accepted). The empty string passes.
pub fn plugin(s: &str) -> Result<(), Rejection> {
    if s.is_empty() || pcre_dollar_candidates(s).any(plugin_name_body_matches) {
        Ok(())
    } else {
        Err(Rejection::new(format!("the value {PLUGIN_NAME_RULE}")))
    }
}

/// Follows lib/classes/param.php `clean_param_value_auth()`: a plugin name
/// that is an installed auth plugin. Only the shape is checked; a trailing
/// newline fails here because `exists_auth_plugin()` looks for the file.
/// The empty string passes (core_user_create_users then rejects an unknown
/// auth itself).
pub fn auth(s: &str) -> Result<(), Rejection> {
    if s.is_empty() || plugin_name_body_matches(s) {
        Ok(())
    } else {
        Err(Rejection::new(format!(
            "Moodle authentication methods {PLUGIN_NAME_RULE} (e.g. manual, ldap)"
        )))
    }
}

/// Follows lib/classes/param.php `clean_param_value_theme()`: a plugin name
/// of an installed theme (shape only). The empty string passes.
pub fn theme(s: &str) -> Result<(), Rejection> {
    if s.is_empty() || plugin_name_body_matches(s) {
        Ok(())
    } else {
        Err(Rejection::new(format!(
            "Moodle theme names {PLUGIN_NAME_RULE} (e.g. boost)"
        )))
    }
}

/// Characters PARAM_USERNAME keeps when `$CFG->extendedusernamechars` is off.
fn is_username_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.' | '@' | '_')
}

/// Moodle's username column and `delete_user()` limit.
const USERNAME_MAX_CHARS: usize = 100;

/// lib/classes/param.php `clean_param_value_username()` with extended
/// characters off: fix_utf8, trim, `core_text::strtolower` (mb_strtolower),
/// then drop everything outside `[-.@_a-z0-9]`.
fn clean_username(s: &str) -> String {
    php_trim(&fix_utf8(s))
        .to_lowercase()
        .chars()
        .filter(|c| is_username_char(*c))
        .collect()
}

/// Follows lib/classes/param.php `clean_param_value_username()` (with
/// `$CFG->extendedusernamechars` off, the default) under strict validation,
/// plus user/lib.php `user_create_user()`: not blank (`invalidusernameblank`)
/// and at most 100 characters (the column size). Strict validation alone
/// would accept "" because it cleans to itself.
pub fn username(s: &str) -> Result<(), Rejection> {
    if s.is_empty() {
        return Err(Rejection::new("Moodle usernames must not be empty"));
    }
    let cleaned = clean_username(s);
    if cleaned != s {
        return Err(username_rejection(s, cleaned));
    }
    if s.chars().count() > USERNAME_MAX_CHARS {
        return Err(Rejection::new(
            "Moodle usernames must not be longer than 100 characters",
        ));
    }
    Ok(())
}

/// Says whether case, removed characters or both made the username change.
fn username_rejection(s: &str, cleaned: String) -> Rejection {
    let lowered_ok = |c: char| c.to_lowercase().all(is_username_char);
    let has_upper = s
        .chars()
        .any(|c| !c.to_lowercase().eq(std::iter::once(c)) && lowered_ok(c));
    let removed: Vec<char> = s
        .chars()
        .filter(|c| !lowered_ok(*c) || is_fix_utf8_removed(*c))
        .collect();
    let rule = "may contain only a-z, 0-9, '-', '.', '@' and '_'";
    let message = match (has_upper, removed.is_empty()) {
        (true, true) => "Moodle usernames must be lowercase".to_string(),
        (false, _) => format!(
            "Moodle usernames {rule}; this one contains characters Moodle removes: {}",
            quote_chars(removed)
        ),
        (true, false) => format!(
            "Moodle usernames must be lowercase and {rule}; this one contains characters Moodle removes: {}",
            quote_chars(removed)
        ),
    };
    Rejection::with_cleaned(message, cleaned)
}

/// Follows lib/classes/param.php `clean_param_value_lang()`: the SAFEDIR
/// cleaning of the value must be an installed language pack. Installed packs
/// are unknown here, so this checks the shape: pack codes are lowercase
/// `[a-z0-9_-]` (en, pt_br); uppercase codes are not found and so rejected.
/// The empty string passes (it cleans to '').
pub fn lang(s: &str) -> Result<(), Rejection> {
    let is_pack_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-';
    if s.chars().all(is_pack_char) {
        return Ok(());
    }
    let message = "Moodle language codes are lowercase letters, digits and '_' (e.g. en, pt_br)";
    let safedir: String = s.chars().filter(|c| is_alphanumext_char(*c)).collect();
    if !safedir.is_empty() && safedir.chars().all(is_pack_char) {
        // Moodle would clean e.g. "en\n" to "en" and accept that if installed.
        return Err(Rejection::with_cleaned(message, safedir));
    }
    Err(Rejection::new(message))
}

/// lib/classes/param.php timezone pattern
/// `^(([+-]?(0?[0-9](\.[5|0])?|1[0-3](\.0)?|1[0-2]\.5))|(99)|[[:alnum:]]+(\/?[[:alpha:]_-])+)$`
/// on a string without the trailing-newline case.
fn timezone_body_matches(s: &str) -> bool {
    is_timezone_offset(s) || s == "99" || is_timezone_name(s)
}

/// `[+-]?(0?[0-9](\.[5|0])?|1[0-3](\.0)?|1[0-2]\.5)`; note `[5|0]` is a
/// character class, so "5.|" matches as in PHP.
fn is_timezone_offset(s: &str) -> bool {
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (unsigned, None),
    };
    let small = matches!(whole.len(), 1 | 2)
        && whole.bytes().all(|b| b.is_ascii_digit())
        && (whole.len() == 1 || whole.starts_with('0'));
    let teen: Option<u8> = match whole.as_bytes() {
        [b'1', d @ b'0'..=b'3'] => Some(d - b'0'),
        _ => None,
    };
    match fraction {
        None => small || teen.is_some(),
        Some(f) if small => matches!(f, "5" | "|" | "0"),
        Some("0") => teen.is_some(),
        Some("5") => teen.is_some_and(|d| d <= 2),
        Some(_) => false,
    }
}

/// `[[:alnum:]]+(\/?[[:alpha:]_-])+` (ASCII classes; the pattern has no /u).
fn is_timezone_name(s: &str) -> bool {
    let b = s.as_bytes();
    let alnum_len = b.iter().take_while(|c| c.is_ascii_alphanumeric()).count();
    if alnum_len == 0 {
        return false;
    }
    let rest = b.get(alnum_len..).unwrap_or(&[]);
    if rest.is_empty() {
        // Backtracking gives the last letter of the run to the group.
        return alnum_len >= 2 && b.get(alnum_len - 1).is_some_and(u8::is_ascii_alphabetic);
    }
    let is_group_char = |c: &u8| c.is_ascii_alphabetic() || *c == b'_' || *c == b'-';
    let mut i = 0;
    while i < rest.len() {
        if rest.get(i) == Some(&b'/') {
            i += 1;
        }
        if !rest.get(i).is_some_and(is_group_char) {
            return false;
        }
        i += 1;
    }
    true
}

/// Follows lib/classes/param.php `clean_param_value_timezone()`: the value
/// must match the pattern (a zone name like Europe/London or UTC, "99" for
/// the server zone, or an hour offset like -5 or 5.5). PCRE's `$` lets one
/// trailing "\n" through, as in PHP. The empty string passes.
pub fn timezone(s: &str) -> Result<(), Rejection> {
    if s.is_empty() || (fix_utf8(s) == s && pcre_dollar_candidates(s).any(timezone_body_matches)) {
        Ok(())
    } else {
        Err(Rejection::new(
            "Moodle timezones must be a zone name like Europe/London or UTC, 99 for the server \
             timezone, or an hour offset like -5 or 5.5",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a table of (input, accepted) pairs through `check`.
    fn table(name: &str, check: fn(&str) -> Result<(), Rejection>, cases: &[(&str, bool)]) {
        for (input, accepted) in cases {
            assert_eq!(
                check(input).is_ok(),
                *accepted,
                "{name}({input:?}) -> {:?}",
                check(input)
            );
        }
    }

    #[test]
    fn int_accepts_only_canonical_i64() {
        let cases: &[(&str, Option<i64>)] = &[
            ("0", Some(0)),
            ("7", Some(7)),
            ("-5", Some(-5)),
            ("42", Some(42)),
            ("9223372036854775807", Some(i64::MAX)),
            ("-9223372036854775808", Some(i64::MIN)),
            ("9223372036854775808", None),
            ("-9223372036854775809", None),
            ("", None),
            ("-0", None),
            ("+5", None),
            ("007", None),
            ("00", None),
            (" 5", None),
            ("5 ", None),
            ("5\n", None),
            ("5.0", None),
            ("1e3", None),
            ("0x1A", None),
            ("abc", None),
            ("-", None),
            ("１", None),
        ];
        for (input, expected) in cases {
            assert_eq!(int(input).ok(), *expected, "int({input:?})");
        }
    }

    #[test]
    fn int_rejection_shows_php_cast() {
        let cases: &[(&str, &str)] = &[
            ("007", "7"),
            ("+5", "5"),
            (" 5", "5"),
            ("-0", "0"),
            ("1e3", "1000"),
            ("0x1A", "0"),
            ("5.9", "5"),
            ("-5.9", "-5"),
            (".5", "0"),
            ("", "0"),
            ("12abc", "12"),
            ("9223372036854775808", "9223372036854775807"),
            (
                "-99999999999999999999999999999999999999999",
                "-9223372036854775808",
            ),
        ];
        for (input, cleaned) in cases {
            let rejection = int(input).err();
            assert_eq!(
                rejection.and_then(|r| r.cleaned).as_deref(),
                Some(*cleaned),
                "int({input:?})"
            );
        }
    }

    #[test]
    fn bool_accepts_only_zero_and_one() {
        let cases: &[(&str, Result<bool, &str>)] = &[
            ("1", Ok(true)),
            ("0", Ok(false)),
            ("true", Err("1")),
            ("TRUE", Err("1")),
            ("yes", Err("1")),
            ("on", Err("1")),
            ("false", Err("0")),
            ("no", Err("0")),
            ("off", Err("0")),
            ("", Err("0")),
            ("00", Err("1")),
            ("2", Err("1")),
            (" 1", Err("1")),
        ];
        for (input, expected) in cases {
            let got = bool_value(input).map_err(|r| r.cleaned.unwrap_or_default());
            assert_eq!(got, expected.map_err(str::to_string), "bool_value({input:?})");
        }
    }

    #[test]
    fn float_follows_is_numeric_and_regex() {
        let cases: &[(&str, Option<f64>)] = &[
            ("0", Some(0.0)),
            ("3.5", Some(3.5)),
            ("-2", Some(-2.0)),
            ("+2", Some(2.0)),
            (".5", Some(0.5)),
            ("5.", Some(5.0)),
            ("1e3", Some(1000.0)),
            ("1E3", Some(1000.0)),
            ("-1.5e-2", Some(-0.015)),
            ("007", Some(7.0)),
            ("5\n", Some(5.0)),
            ("5\n\n", None),
            ("5 ", None),
            (" 5", None),
            ("", None),
            (".", None),
            ("e3", None),
            ("1e", None),
            ("1e+", None),
            ("1,5", None),
            ("0x1A", None),
            ("inf", None),
            ("NaN", None),
            ("1.2.3", None),
            ("--1", None),
        ];
        for (input, expected) in cases {
            assert_eq!(float(input).ok(), *expected, "float({input:?})");
        }
        assert_eq!(float("1e999").ok(), Some(f64::INFINITY));
    }

    #[test]
    fn raw_and_raw_trimmed() {
        table(
            "raw",
            raw,
            &[
                ("anything <b>goes</b> here", true),
                ("  spaces kept  ", true),
                ("", true),
                ("ünïcødé ✓", true),
                ("a\0b", false),
                ("a\u{FFFE}", false),
                ("a\u{FFFF}", false),
                ("\u{FFFD}", true),
            ],
        );
        table(
            "raw_trimmed",
            raw_trimmed,
            &[
                ("a@b.org", true),
                ("a b", true),
                ("", true),
                (" a@b.org", false),
                ("a@b.org ", false),
                ("a\n", false),
                ("\ta", false),
                ("\ra", false),
                ("a\u{0B}", false),
                ("a\u{0C}", true),
                ("\u{A0}a", true),
                ("a\0", false),
            ],
        );
        assert_eq!(raw("a\0b").err().and_then(|r| r.cleaned).as_deref(), Some("ab"));
        assert_eq!(
            raw_trimmed(" x ").err().and_then(|r| r.cleaned).as_deref(),
            Some("x")
        );
        let both = raw_trimmed(" x\0 ").err();
        assert_eq!(both.clone().and_then(|r| r.cleaned).as_deref(), Some("x"));
        assert!(both.is_some_and(|r| r.message.contains("trims")));
        let only_nul = raw_trimmed("x\0y").err();
        assert!(only_nul.is_some_and(|r| r.message.contains("NUL") && r.cleaned.as_deref() == Some("xy")));
    }

    #[test]
    fn notags_strips_like_php() {
        table(
            "notags",
            notags,
            &[
                ("John", true),
                ("O'Brien", true),
                ("Tom & Jerry", true),
                ("a < b", true),
                ("a > b", true),
                ("5 <= 6", false),
                ("5 < 6", true),
                ("", true),
                ("<b>x</b>", false),
                ("a<b", false),
                ("x <", false),
                ("<!-- c -->", false),
                ("<?php ?>", false),
                ("a\0", false),
                ("Zoë", true),
            ],
        );
        let cleaned = notags("John <script>alert(1)</script> Doe")
            .err()
            .and_then(|r| r.cleaned);
        assert_eq!(cleaned.as_deref(), Some("John alert(1) Doe"));
        let both = notags("a\0<b>c").err();
        assert!(both.is_some_and(|r| r.message.contains("HTML") && r.cleaned.as_deref() == Some("ac")));
        let only_nul = text("a\0b").err();
        assert!(only_nul.is_some_and(|r| r.message.contains("NUL") && r.cleaned.as_deref() == Some("ab")));
    }

    #[test]
    fn text_keeps_only_well_formed_multilang() {
        table(
            "text",
            text,
            &[
                ("Melbourne", true),
                ("Tom & Jerry", true),
                ("a < b", true),
                ("<b>x</b>", false),
                ("a<b", false),
                (
                    r#"<span lang="en" class="multilang">Hi</span><span lang="fr" class="multilang">Salut</span>"#,
                    true,
                ),
                (r#"<span class="multilang" lang="en">Hi</span>"#, true),
                (r#"<span  lang="en_us"   class="multilang"  >Hi</span>"#, true),
                (r#"<span class="multilang" class="multilang">Hi</span>"#, true),
                // Opening twice and closing once is accepted: Moodle only tracks "open".
                (
                    r#"<span lang="en" class="multilang"><span lang="fr" class="multilang">x</span>"#,
                    true,
                ),
                (
                    r#"<span lang="en" class="multilang">Hi</span> <lang lang="en">x</lang>"#,
                    false,
                ),
                (r#"<span lang="en">Hi</span>"#, false),
                (r#"<span lang="en" class="multilang">Hi</span><b>x</b>"#, false),
                (r#"<span lang="en" class="multilang">Hi"#, false),
                (r#"<span lang="en" class="multilang">Hi</span></span>"#, false),
                (r#"<span lang="e n" class="multilang">Hi</span>"#, false),
                (r#"<span lang="en" class="other">Hi</span>"#, false),
                (r#"<lang lang="en">Hi</lang><lang lang="de">Hallo</lang>"#, true),
                (r#"<lang lang="en" >Hi</lang>"#, true),
                (r#"<lang lang="en">Hi</lang><span>x</span>"#, false),
                (r#"<lang lang="en">Hi</lang> a < b"#, true),
                (r#"<lang lang="">Hi</lang>"#, false),
                ("</lang>", false),
                ("x </span>", false),
                ("</span>", false),
            ],
        );
        let cleaned = text(r#"<span lang="en">Hi</span>"#).err().and_then(|r| r.cleaned);
        assert_eq!(cleaned.as_deref(), Some("Hi"));
    }

    #[test]
    fn lazy_tags_match_preg_match_all() {
        assert_eq!(lazy_tags("a<b>c<d>"), vec!["<b>", "<d>"]);
        assert_eq!(lazy_tags("<a<b>>"), vec!["<a<b>"]);
        assert_eq!(lazy_tags("<>x<"), vec!["<>"]);
        assert!(lazy_tags("no tags > here").is_empty());
    }

    #[test]
    fn character_class_types() {
        table(
            "alpha",
            alpha,
            &[
                ("abcXYZ", true),
                ("", true),
                ("ab1", false),
                ("a b", false),
                ("é", false),
            ],
        );
        table(
            "alphanum",
            alphanum,
            &[("ab12", true), ("", true), ("ab_1", false), ("a-b", false)],
        );
        table(
            "alphanumext",
            alphanumext,
            &[
                ("ab_12-x", true),
                ("", true),
                ("a.b", false),
                ("a/b", false),
                ("a b", false),
            ],
        );
        table(
            "safedir",
            safedir,
            &[("theme_x-1", true), ("../x", false), ("a/b", false)],
        );
        table(
            "sequence",
            sequence,
            &[("1,5,6", true), ("", true), ("1, 5", false), ("-1", false)],
        );
        let rejection = alpha("ab 1").err();
        assert_eq!(rejection.clone().and_then(|r| r.cleaned).as_deref(), Some("ab"));
        assert!(rejection.is_some_and(|r| r.message.contains("' ', '1'")));
    }

    #[test]
    fn plugin_names_follow_component_regex() {
        table(
            "plugin",
            plugin,
            &[
                ("manual", true),
                ("example1", true),
                ("example_x1", true),
                ("example_x1_xxx", true),
                ("feedback360", true),
                ("feed_back360", true),
                ("role", true),
                ("ab", true),
                ("", true),
                ("a__b", true),
                ("manual\n", true),
                ("a", false),
                ("1example", false),
                ("example.xx", false),
                ("example-xx", false),
                (".example", false),
                ("_example", false),
                ("example_", false),
                ("example__x1", false),
                ("ab__c", false),
                ("a___b", false),
                ("Manual", false),
                ("manual ", false),
                ("manual\n\n", false),
            ],
        );
        table(
            "auth",
            auth,
            &[
                ("manual", true),
                ("ldap", true),
                ("", true),
                ("manual\n", false),
                ("LDAP", false),
                ("no login", false),
            ],
        );
        table(
            "theme",
            theme,
            &[
                ("boost", true),
                ("classic", true),
                ("", true),
                ("boost\n", false),
                ("Boost", false),
                ("my-theme", false),
            ],
        );
    }

    #[test]
    fn usernames() {
        table(
            "username",
            username,
            &[
                ("jdoe", true),
                ("j.doe@example.com", true),
                ("a-b_c.d@e", true),
                ("007", true),
                ("", false),
                ("JDoe", false),
                ("j doe", false),
                (" jdoe", false),
                ("jdoe\n", false),
                ("jdoe!", false),
                ("jöe", false),
                ("a+b@x.org", false),
                ("\u{212A}elvin", false),
                ("jdoe\0", false),
            ],
        );
        let long_ok = "a".repeat(100);
        let too_long = "a".repeat(101);
        assert!(username(&long_ok).is_ok());
        assert!(username(&too_long).is_err_and(|r| r.message.contains("100")));
    }

    #[test]
    fn username_rejections_explain_and_clean() {
        let cases: &[(&str, &str, &str)] = &[
            ("", "must not be empty", ""),
            ("JDoe", "must be lowercase", "jdoe"),
            ("j doe!", "contains characters Moodle removes: ' ', '!'", "jdoe"),
            ("J Doe", "must be lowercase and", "jdoe"),
            (" jdoe ", "removes: ' '", "jdoe"),
            ("jöe", "removes: 'ö'", "je"),
            ("İx", "removes: 'İ'", "ix"),
            ("\u{212A}", "must be lowercase", "k"),
            ("!!!", "removes: '!'", ""),
        ];
        for (input, fragment, cleaned) in cases {
            let Err(rejection) = username(input) else {
                panic!("username({input:?}) should be rejected");
            };
            assert!(
                rejection.message.contains(fragment),
                "{input:?}: {}",
                rejection.message
            );
            if !input.is_empty() {
                assert_eq!(rejection.cleaned.as_deref(), Some(*cleaned), "{input:?}");
            }
        }
    }

    #[test]
    fn lang_codes() {
        table(
            "lang",
            lang,
            &[
                ("en", true),
                ("pt_br", true),
                ("en_us_k12", true),
                ("", true),
                ("EN", false),
                ("pt_BR", false),
                ("en\n", false),
                ("en-", true),
                ("e n", false),
                ("../en", false),
            ],
        );
        assert_eq!(lang("en\n").err().and_then(|r| r.cleaned).as_deref(), Some("en"));
        assert_eq!(lang("EN").err().and_then(|r| r.cleaned), None);
    }

    #[test]
    fn timezones_follow_pattern() {
        table(
            "timezone",
            timezone,
            &[
                ("Europe/London", true),
                ("America/Port-au-Prince", true),
                ("America/North_Dakota/New_Salem", true),
                ("America/Argentina/Buenos_Aires", true),
                ("UTC", true),
                ("GMT", true),
                ("99", true),
                ("5.5", true),
                ("-3", true),
                ("+13", true),
                ("-13.0", true),
                ("12.5", true),
                ("05", true),
                ("0.0", true),
                ("5.|", true),
                ("", true),
                ("Europe/London\n", true),
                ("A_", true),
                ("5a", true),
                ("Etc/GMT+5", false),
                ("Etc/GMT-5", false),
                ("13.5", false),
                ("14", false),
                ("100", false),
                ("Z", false),
                ("A1", false),
                ("Europe/", false),
                ("Europe//London", false),
                ("/Europe", false),
                ("Europe/London ", false),
                ("Europe/London\n\n", false),
                ("Europe/Lond0n", false),
                ("Europe/Zürich", false),
                ("5.25", false),
                ("-", false),
                ("UTC\0", false),
            ],
        );
    }
}
