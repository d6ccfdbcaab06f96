//! Email address rules: Moodle's `validate_email()` (lib/weblib.php) is
//! `moodle_phpmailer::validateAddress($a) && !preg_match('/[<>]/', $a)`.
//! moodle_phpmailer does not override the validator, so PHPMailer's default
//! 'php' validator applies: reject "\n"/"\r", then PHP's
//! `filter_var($a, FILTER_VALIDATE_EMAIL)` without FILTER_FLAG_EMAIL_UNICODE.
//! That filter (php-src ext/filter/logical_filters.c,
//! `php_filter_validate_email`, `regexp1`, flags /iD) is ported here without a
//! regex engine: its two length lookaheads are computed directly and the rest
//! is a small parser.

use super::php::{fix_utf8, php_trim};
use super::Rejection;

/// PHP rejects longer input before running the regex ("320 octets, per RFC 2821").
const MAX_EMAIL_BYTES: usize = 320;

/// Lookahead `(?!(?:unit){255,})` at the start of the address.
const MAX_UNITS: usize = 255;

/// Lookahead `(?!(?:unit){65,}@)`: the local part's limit.
const MAX_LOCAL_UNITS: usize = 65;

/// Follows lib/weblib.php `validate_email()`: true for what Moodle accepts as
/// an email address. ASCII only; local part ≤ 64 and whole address < 255
/// (counted as PHP's lookaheads count them); a domain of at least two labels
/// (`user@localhost` fails) or an IP literal; no '<' or '>'.
pub fn validate_email(s: &str) -> Result<(), Rejection> {
    if s.is_empty() {
        return Err(Rejection::new("Moodle requires an email address here"));
    }
    if s.contains(['<', '>']) {
        return Err(Rejection::new(
            "Moodle rejects email addresses containing '<' or '>'",
        ));
    }
    if s.contains(['\n', '\r']) {
        return Err(Rejection::new(
            "Moodle rejects email addresses containing line breaks",
        ));
    }
    if !s.is_ascii() {
        return Err(Rejection::new(
            "Moodle accepts only ASCII email addresses (no accented letters or IDN domains; use the xn-- form)",
        ));
    }
    if s.len() > MAX_EMAIL_BYTES || !within_unit_limits(s.as_bytes()) {
        return Err(Rejection::new(
            "Moodle rejects email addresses of 255 characters or more, or with more than 64 before the '@'",
        ));
    }
    let Some((local, domain)) = s.rsplit_once('@') else {
        return Err(Rejection::new("Moodle email addresses need an '@'"));
    };
    if !is_local_part(local.as_bytes()) {
        return Err(Rejection::new(
            "The part of the email address before the '@' is not valid for Moodle \
             (dot-separated words of letters, digits and !#$%&'*+-/=?^_`{|}~, or a quoted string)",
        ));
    }
    if !is_hostname(domain.as_bytes()) && !is_ip_literal(domain.as_bytes()) {
        return Err(Rejection::new(
            "The domain of the email address is not valid for Moodle (it needs a dot, e.g. example.org; \
             labels of letters, digits and inner hyphens, at most 63 long; the last label starting with a letter)",
        ));
    }
    Ok(())
}

/// PARAM_EMAIL under strict validation (lib/classes/param.php
/// `clean_param_value_email()`): the empty string passes (it cleans to ''),
/// anything else must pass [`validate_email`] and be left alone by fix_utf8.
pub fn param_email(s: &str) -> Result<(), Rejection> {
    if s.is_empty() {
        return Ok(());
    }
    if fix_utf8(s) != s {
        return Err(Rejection::new(
            "Moodle removes NUL bytes and the noncharacters U+FFFE and U+FFFF from text",
        ));
    }
    validate_email(s)
}

/// What core_user_create_users asks of `email` (declared PARAM_RAW_TRIMMED,
/// then checked with `validate_email()`): no surrounding whitespace and a
/// valid address. The rejection's `cleaned` is the trimmed address when that
/// one would be valid.
pub fn user_email(s: &str) -> Result<(), Rejection> {
    let trimmed = php_trim(s);
    if trimmed != s {
        let message = "Moodle rejects email addresses with leading or trailing spaces, tabs or line breaks";
        return Err(match validate_email(trimmed) {
            Ok(()) => Rejection::with_cleaned(message, trimmed),
            Err(_) => Rejection::new(message),
        });
    }
    validate_email(s)
}

/// True when `s` would be accepted as a user's email by core_user_create_users
/// (see [`user_email`]).
pub fn trimmed_ok(s: &str) -> bool {
    user_email(s).is_ok()
}

/// The two leading lookaheads of PHP's regex. Each "unit" is an optional
/// quote, then an escape pair `\X` (X ≤ 0x7E) or one byte that is neither
/// '\' nor '"', then an optional quote. The address fails when some parse
/// reaches 255 units anywhere, or 65 units right before an '@'.
fn within_unit_limits(b: &[u8]) -> bool {
    // best[i] = most units a parse can have used to reach position i.
    let mut best: Vec<Option<usize>> = vec![None; b.len() + 1];
    if let Some(first) = best.first_mut() {
        *first = Some(0);
    }
    for i in 0..b.len() {
        let Some(count) = best.get(i).copied().flatten() else {
            continue;
        };
        if count >= MAX_UNITS || (b.get(i) == Some(&b'@') && count >= MAX_LOCAL_UNITS) {
            return false;
        }
        for end in unit_ends(b, i) {
            if let Some(slot) = best.get_mut(end) {
                *slot = Some(slot.map_or(count + 1, |c| c.max(count + 1)));
            }
        }
    }
    best.last()
        .copied()
        .flatten()
        .is_none_or(|count| count < MAX_UNITS)
}

/// End positions of the units that can start at `i` (see [`within_unit_limits`]).
fn unit_ends(b: &[u8], i: usize) -> Vec<usize> {
    let mut ends = Vec::new();
    for open in [false, true] {
        if open && b.get(i) != Some(&b'"') {
            continue;
        }
        let j = i + usize::from(open);
        let core_end = match b.get(j) {
            Some(b'\\') if b.get(j + 1).is_some_and(|c| *c <= 0x7E) => j + 2,
            Some(b'\\') | Some(b'"') | None => continue,
            Some(_) => j + 1,
        };
        ends.push(core_end);
        if b.get(core_end) == Some(&b'"') {
            ends.push(core_end + 1);
        }
    }
    ends
}

/// atext of PHP's regex: `[\x21\x23-\x27\x2A\x2B\x2D\x2F-\x39\x3D\x3F\x5E-\x7E]`,
/// plus A-Z through the /i flag.
fn is_atext(c: u8) -> bool {
    matches!(c, 0x21 | 0x23..=0x27 | 0x2A | 0x2B | 0x2D | 0x2F..=0x39 | 0x3D | 0x3F | 0x5E..=0x7E)
        || c.is_ascii_uppercase()
}

/// Unescaped quoted-string content: `[\x01-\x08\x0B\x0C\x0E-\x1F\x21\x23-\x5B\x5D-\x7F]`
/// (no space, tab, CR, LF, '"' or '\').
fn is_qtext(c: u8) -> bool {
    matches!(c, 0x01..=0x08 | 0x0B | 0x0C | 0x0E..=0x1F | 0x21 | 0x23..=0x5B | 0x5D..=0x7F)
}

/// Length of a quoted string `"…"` at the start of `b`, if there is one.
fn quoted_len(b: &[u8]) -> Option<usize> {
    if b.first() != Some(&b'"') {
        return None;
    }
    let mut i = 1;
    loop {
        match b.get(i)? {
            b'"' => return Some(i + 1),
            b'\\' if b.get(i + 1).is_some_and(|c| *c <= 0x7F) => i += 2,
            c if is_qtext(*c) => i += 1,
            _ => return None,
        }
    }
}

/// Local part: words separated by single dots, each an atext run or a quoted string.
fn is_local_part(b: &[u8]) -> bool {
    let mut i = 0;
    loop {
        let rest = b.get(i..).unwrap_or(&[]);
        let word = match quoted_len(rest) {
            Some(len) => len,
            None => rest.iter().take_while(|c| is_atext(**c)).count(),
        };
        if word == 0 {
            return false;
        }
        i += word;
        match b.get(i) {
            None => return true,
            Some(b'.') => i += 1,
            Some(_) => return false,
        }
    }
}

/// One label: `[a-z0-9]+(-+[a-z0-9]+)*` (case-insensitive), at most 63 long
/// (the lookahead `(?!.*[^.]{64,})`).
fn is_label(label: &[u8]) -> bool {
    let alnum_ends = label.first().is_some_and(u8::is_ascii_alphanumeric)
        && label.last().is_some_and(u8::is_ascii_alphanumeric);
    let chars_ok = label.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-');
    alnum_ends && chars_ok && label.len() <= 63
}

/// Host name: two or more labels, the last starting with a letter.
fn is_hostname(b: &[u8]) -> bool {
    let labels: Vec<&[u8]> = b.split(|c| *c == b'.').collect();
    let last_starts_with_letter = labels
        .last()
        .and_then(|l| l.first())
        .is_some_and(u8::is_ascii_alphabetic);
    labels.len() >= 2 && labels.iter().all(|l| is_label(l)) && last_starts_with_letter
}

/// `[a-f0-9]{1,4}(?::[a-f0-9]{1,4})*`: the number of hex groups, if `b` is such a list.
fn hex_groups(b: &[u8]) -> Option<usize> {
    let mut count = 0;
    for group in b.split(|c| *c == b':') {
        if group.is_empty() || group.len() > 4 || !group.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        count += 1;
    }
    Some(count)
}

/// `(groups{0..max})?::(groups{0..max})?` split at the first "::".
fn is_compressed(b: &[u8], max_left: usize, right_ok: impl Fn(&[u8]) -> bool) -> bool {
    let Some(at) = b.windows(2).position(|w| w == b"::") else {
        return false;
    };
    let (left, right) = (b.get(..at).unwrap_or(&[]), b.get(at + 2..).unwrap_or(&[]));
    let left_ok = left.is_empty() || hex_groups(left).is_some_and(|n| n <= max_left);
    left_ok && right_ok(right)
}

/// Occurrences of a hex digit followed by one of `next` (the regex's
/// `(?!(?:.*[a-f0-9][:\]]){N,})` lookaheads count these).
fn hex_then(b: &[u8], next: &[u8]) -> usize {
    b.windows(2)
        .filter(|w| w[0].is_ascii_hexdigit() && next.contains(&w[1]))
        .count()
}

/// Dotted quad with octets `25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9]`.
fn is_ipv4(b: &[u8]) -> bool {
    let octets: Vec<&[u8]> = b.split(|c| *c == b'.').collect();
    octets.len() == 4 && octets.iter().all(|o| is_octet(o))
}

/// One octet; the value is only computed once the digits are known to be 1-3 digits.
fn is_octet(o: &[u8]) -> bool {
    let digits = !o.is_empty() && o.len() <= 3 && o.iter().all(u8::is_ascii_digit);
    let no_leading_zero = o.len() == 1 || o.first() != Some(&b'0');
    digits && no_leading_zero && o.iter().fold(0u32, |v, d| v * 10 + u32::from(d - b'0')) <= 255
}

/// `\[ … \]` holding IPv6 (`IPv6:` prefix), IPv4, or IPv6 with embedded IPv4.
fn is_ip_literal(b: &[u8]) -> bool {
    let Some(inner) = b.strip_prefix(b"[").and_then(|r| r.strip_suffix(b"]")) else {
        return false;
    };
    let ipv6 = inner.get(..5).is_some_and(|p| p.eq_ignore_ascii_case(b"IPv6:"));
    let after_prefix = inner.get(5..).unwrap_or(&[]);
    // The lookaheads see the rest of the subject, including the closing ']'.
    let tail: Vec<u8> = after_prefix.iter().copied().chain([b']']).collect();
    let pure_ipv6 = ipv6
        && (hex_groups(after_prefix) == Some(8)
            || (hex_then(&tail, b":]") < 7
                && is_compressed(after_prefix, 6, |r| {
                    r.is_empty() || hex_groups(r).is_some_and(|n| n <= 6)
                })));
    pure_ipv6 || is_ipv4_literal(inner, ipv6, after_prefix, &tail)
}

/// `(?:IPv6:(h(:h){5}:|(?!(?:.*[a-f0-9]:){5,})(h(:h){0,3})?::(h(:h){0,3}:)?))?` + IPv4.
fn is_ipv4_literal(inner: &[u8], ipv6: bool, after_prefix: &[u8], tail: &[u8]) -> bool {
    let Some(last_colon) = inner.iter().rposition(|c| *c == b':') else {
        return is_ipv4(inner);
    };
    let ipv4 = inner.get(last_colon + 1..).unwrap_or(&[]);
    // Everything from after "IPv6:" through the last ':' is the IPv6 part.
    let Some(v6) = last_colon.checked_sub(4).and_then(|n| after_prefix.get(..n)) else {
        return false;
    };
    let full = v6.strip_suffix(b":").and_then(hex_groups) == Some(6);
    let compressed = hex_then(tail, b":") < 5
        && is_compressed(v6, 4, |r| {
            r.is_empty() || r.strip_suffix(b":").and_then(hex_groups).is_some_and(|n| n <= 4)
        });
    ipv6 && !v6.is_empty() && (full || compressed) && is_ipv4(ipv4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> bool {
        validate_email(s).is_ok()
    }

    #[test]
    fn accepts_ordinary_addresses() {
        let accepted = [
            "a@x.org",
            "a+b@x.org",
            "first.last@example.com",
            "A.B@EXAMPLE.COM",
            "user_name-1@sub.domain.co.uk",
            "!#$%&'*+-/=?^_`{|}~@x.org",
            "a@x.o",
            "a@1.com",
            "a@x.c0m",
            "a@x--y.org",
            "a@xn--bcher-kva.example",
            "a@b.xn--p1ai",
            "\"ab\"@x.org",
            "\"a\\ b\"@x.org",
            "\"a@b\"@x.org",
            "a.\"b\".c@x.org",
            "a@[127.0.0.1]",
            "a@[255.255.255.255]",
            "a@[IPv6:1:2:3:4:5:6:7:8]",
            "a@[IPv6:::1]",
            "a@[IPv6:1::]",
            "a@[ipv6:ABCD::1]",
            "a@[IPv6:1:2:3:4:5:6:1.2.3.4]",
            "a@[IPv6:::ffff:1.2.3.4]",
        ];
        for address in accepted {
            assert!(
                ok(address),
                "{address} should be accepted: {:?}",
                validate_email(address)
            );
        }
    }

    #[test]
    fn rejects_what_php_filter_rejects() {
        let rejected = [
            "",
            "a",
            "a@",
            "@x.org",
            "user@localhost",
            "a..b@x.org",
            ".a@x.org",
            "a.@x.org",
            "a@x.org.",
            "a@.x.org",
            "a@x..org",
            "a@-x.org",
            "a@x-.org",
            "a@x.123",
            "a@x.-org",
            "a@x_y.org",
            "a b@x.org",
            " a@x.org",
            "a@x.org ",
            "a@x.org\n",
            "a\r@x.org",
            "a@b@x.org",
            "ü@x.org",
            "a@ü.org",
            "a@bücher.de",
            "\"a b\"@x.org",
            "\"a\"b\"@x.org",
            "\"a\\\"@x.org",
            "a(comment)@x.org",
            "a,b@x.org",
            "a;b@x.org",
            "a:b@x.org",
            "a[b]@x.org",
            "a\\b@x.org",
            "a@[256.0.0.1]",
            "a@[01.0.0.1]",
            "a@[1.2.3]",
            "a@[IPv6:1:2:3:4:5:6:7]",
            "a@[IPv6:1:2:3:4:5:6:7:8:9]",
            "a@[IPv6:1::2::3]",
            "a@[IPv6:12345::1]",
            "a@[1:2:3:4:5:6:7:8]",
            "a@[IPv6:1:2:3:4:5:6:7::]",
            "a@[IPv6:1.2.3.4]",
            "a@[127.0.0.1",
            "a@127.0.0.1",
            "a@[!.1.1.1]",
            "a@[99999999999.1.1.1]",
            "a@[IPv6::: .1.1.1]",
        ];
        for address in rejected {
            assert!(!ok(address), "{address:?} should be rejected");
        }
    }

    #[test]
    fn moodle_rejects_angle_brackets_even_when_quoted() {
        assert!(!ok("\"a<b\"@x.org"));
        assert!(!ok("\"a>b\"@x.org"));
        assert!(ok("\"a=b\"@x.org"));
    }

    #[test]
    fn length_limits() {
        let label63 = "b".repeat(63);
        let label64 = "b".repeat(64);
        assert!(ok(&format!("{}@x.org", "a".repeat(64))));
        assert!(!ok(&format!("{}@x.org", "a".repeat(65))));
        // Quotes do not count and an escape pair counts once.
        assert!(ok(&format!("\"{}\"@x.org", "a".repeat(64))));
        assert!(!ok(&format!("\"{}\"@x.org", "a".repeat(65))));
        assert!(ok(&format!("a@{label63}.org")));
        assert!(!ok(&format!("a@{label64}.org")));
        // Whole address: 254 units pass, 255 fail.
        let domain_252 = format!("{label63}.{label63}.{label63}.{}", "c".repeat(60));
        let address_254 = format!("a@{domain_252}");
        assert_eq!(address_254.len(), 254);
        assert!(ok(&address_254));
        let address_255 = format!("aa@{domain_252}");
        assert!(!ok(&address_255));
    }

    #[test]
    fn ipv6_lookahead_limits() {
        // Seven hex-then-colon/bracket occurrences in a compressed form fail.
        assert!(ok("a@[IPv6:1:2:3::4:5:6]"));
        assert!(!ok("a@[IPv6:1:2:3::4:5:6:7]"));
        assert!(ok("a@[IPv6:1:2::3:1.2.3.4]"));
        assert!(!ok("a@[IPv6:1:2:3::4:5:1.2.3.4]"));
    }

    #[test]
    fn param_and_user_email() {
        assert!(param_email("").is_ok());
        assert!(param_email("a@x.org").is_ok());
        assert!(param_email("nope").is_err());
        assert!(user_email("a@x.org").is_ok());
        assert!(user_email("").is_err());
        assert_eq!(
            user_email(" a@x.org ").err().and_then(|r| r.cleaned).as_deref(),
            Some("a@x.org")
        );
        assert_eq!(user_email(" nope ").err().and_then(|r| r.cleaned), None);
        assert!(trimmed_ok("a+b@x.org"));
        assert!(!trimmed_ok("a+b@x.org\t"));
    }

    #[test]
    fn unit_parse_counts_escapes_once() {
        assert!(within_unit_limits(b"\"\\a\"@x"));
        assert_eq!(unit_ends(b"\"a\"", 0), vec![2, 3]);
        assert_eq!(unit_ends(b"\\a", 0), vec![2]);
        assert!(unit_ends(b"\\", 0).is_empty());
    }
}
