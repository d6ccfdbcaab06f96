//! The text an unreadable record shows: the record, or about 200 bytes of it
//! around the problem.
//!
//! A record may be up to a megabyte; an error message should not be. The
//! window is centred on the problem so the span still underlines it.

use std::ops::Range;
use std::sync::OnceLock;

/// Longest excerpt, in bytes.
const LIMIT: usize = 200;

/// Some text of a record and, within it, where the problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Excerpt {
    pub(super) text: String,
    pub(super) span: Option<Range<usize>>,
}

impl Excerpt {
    /// The excerpt of `bytes` around `span`; `None` when that window is not
    /// valid UTF-8.
    pub(super) fn around(bytes: &[u8], span: Option<Range<usize>>) -> Option<Excerpt> {
        let window = window(bytes, span.as_ref());
        let text = std::str::from_utf8(&bytes[window.clone()]).ok()?;
        let span = span.map(|s| {
            let start = s.start.clamp(window.start, window.end) - window.start;
            let end = s.end.clamp(window.start, window.end) - window.start;
            start..end.max(start)
        });
        // An unreadable record has no fields to tell passwords by: mask the
        // JSON values of keys that say they are one.
        let (text, span) = mask(text, &json_secrets(text), span);
        Some(Excerpt { text, span })
    }
}

/// What a masked secret shows as.
pub const MASK: &str = "********";

/// Whether a source key names a secret: it contains `password` or `passwd`
/// (any case).
pub fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.contains("password") || key.contains("passwd")
}

/// The spans of the string values of secret keys in JSON text (whole or cut).
pub fn json_secrets(text: &str) -> Vec<Range<usize>> {
    static PAIR: OnceLock<regex::Regex> = OnceLock::new();
    let pair = PAIR.get_or_init(|| {
        regex::Regex::new(r#""((?:[^"\\]|\\.)*)"\s*:\s*"((?:[^"\\]|\\.)*)"?"#).expect("a valid regex")
    });
    pair.captures_iter(text)
        .filter(|c| is_secret_key(&c[1]))
        .filter_map(|c| c.get(2).map(|m| m.range()))
        .collect()
}

/// `text` with each of `secrets` (byte ranges, in order, not overlapping)
/// replaced by [`MASK`], and `span` moved to point at the same text. A range
/// holding a quoted string keeps its quotes.
pub fn mask(
    text: &str,
    secrets: &[Range<usize>],
    span: Option<Range<usize>>,
) -> (String, Option<Range<usize>>) {
    let mut out = String::with_capacity(text.len());
    // (old start, old end, new start, new end) of each masked range.
    let mut moved: Vec<(usize, usize, usize, usize)> = Vec::new();
    let mut at = 0;
    for secret in secrets {
        let mut range = secret.start.max(at)..secret.end.min(text.len());
        let bytes = text.as_bytes();
        if range.len() >= 2 && bytes[range.start] == b'"' && bytes[range.end - 1] == b'"' {
            range = range.start + 1..range.end - 1;
        }
        if range.is_empty() || !text.is_char_boundary(range.start) || !text.is_char_boundary(range.end) {
            continue;
        }
        out.push_str(&text[at..range.start]);
        let start = out.len();
        out.push_str(MASK);
        moved.push((range.start, range.end, start, out.len()));
        at = range.end;
    }
    out.push_str(&text[at..]);
    let place = |offset: usize| -> usize {
        let mut shift: isize = 0;
        for &(old_start, old_end, new_start, new_end) in &moved {
            if offset < old_end && offset > old_start {
                return new_start + (offset - old_start).min(new_end - new_start);
            }
            if offset >= old_end {
                shift = new_end as isize - old_end as isize;
            }
        }
        offset.saturating_add_signed(shift)
    };
    let span = span.map(|s| {
        let start = place(s.start);
        start..place(s.end).max(start)
    });
    (out, span)
}

/// At most `LIMIT` bytes of `bytes`, starting a little before the span, cut
/// at character boundaries.
fn window(bytes: &[u8], span: Option<&Range<usize>>) -> Range<usize> {
    if bytes.len() <= LIMIT {
        return 0..bytes.len();
    }
    let centre = span.map_or(0, |s| s.start.min(bytes.len()));
    let mut start = centre.saturating_sub(LIMIT / 4);
    let mut end = (start + LIMIT).min(bytes.len());
    while start < end && is_continuation(bytes[start]) {
        start += 1;
    }
    while end < bytes.len() && end > start && is_continuation(bytes[end]) {
        end -= 1;
    }
    start..end
}

/// Whether `byte` continues a UTF-8 character (so no character starts there).
fn is_continuation(byte: u8) -> bool {
    byte & 0b1100_0000 == 0b1000_0000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_kept_whole() {
        let e = Excerpt::around(b"{\"a\":x}", Some(5..6)).unwrap();
        assert_eq!(e.text, "{\"a\":x}");
        assert_eq!(e.span, Some(5..6));
    }

    #[test]
    fn long_text_is_cut_around_the_span() {
        let text = format!("{}BAD{}", "a".repeat(1000), "b".repeat(1000));
        let e = Excerpt::around(text.as_bytes(), Some(1000..1003)).unwrap();
        assert!(e.text.len() <= LIMIT);
        assert_eq!(&e.text[e.span.clone().unwrap()], "BAD");
    }

    #[test]
    fn cuts_fall_on_character_boundaries() {
        let text = "é".repeat(300);
        for at in 0..20 {
            let e = Excerpt::around(text.as_bytes(), Some(at..at + 1)).unwrap();
            assert!(e.text.len() <= LIMIT && e.text.chars().all(|c| c == 'é'));
        }
    }

    #[test]
    #[allow(clippy::single_range_in_vec_init)]
    fn masking_keeps_quotes_and_moves_the_span() {
        let text = r#"{"password":"hunter2","x":BAD}"#;
        let bad = text.find("BAD").unwrap();
        let secret = text.find("\"hunter2\"").unwrap();
        let (masked, span) = mask(text, &[secret..secret + 9], Some(bad..bad + 3));
        assert_eq!(masked, r#"{"password":"********","x":BAD}"#);
        assert_eq!(&masked[span.unwrap()], "BAD");
        let (masked, span) = mask("abcdef", &[1..3], Some(2..5));
        assert_eq!((masked.as_str(), span), ("a********def", Some(2..11)));
    }

    #[test]
    fn unreadable_json_masks_the_values_of_password_keys() {
        let text = r#"{"username":"ana","newPassword":"s3cr\"et","password":"hunter2" x}"#;
        let e = Excerpt::around(text.as_bytes(), Some(text.len() - 2..text.len() - 1)).unwrap();
        assert!(
            !e.text.contains("hunter2") && !e.text.contains("s3cr"),
            "{}",
            e.text
        );
        assert!(e.text.contains(r#""username":"ana""#));
        assert_eq!(&e.text[e.span.unwrap()], "x");
        // Cut inside the value: what is left of it is masked too.
        let cut = r#"{"password":"hunter2"#;
        assert!(!Excerpt::around(cut.as_bytes(), None)
            .unwrap()
            .text
            .contains("hunt"));
    }

    #[test]
    fn invalid_utf8_has_no_excerpt() {
        assert_eq!(Excerpt::around(b"{\"a\":\"\xff\"}", None), None);
    }
}
