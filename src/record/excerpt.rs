//! The text an unreadable record shows: the record, or about 200 bytes of it
//! around the problem.
//!
//! A record may be up to a megabyte; an error message should not be. The
//! window is centred on the problem so the span still underlines it.

use std::ops::Range;

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
        let text = std::str::from_utf8(&bytes[window.clone()]).ok()?.to_owned();
        let span = span.map(|s| {
            let start = s.start.clamp(window.start, window.end) - window.start;
            let end = s.end.clamp(window.start, window.end) - window.start;
            start..end.max(start)
        });
        Some(Excerpt { text, span })
    }
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
    fn invalid_utf8_has_no_excerpt() {
        assert_eq!(Excerpt::around(b"{\"a\":\"\xff\"}", None), None);
    }
}
