//! PHP and Moodle helper functions that several rules share, ported byte for
//! byte because the strict compare makes every difference visible.

use std::borrow::Cow;

/// The bytes PHP's `trim()` removes by default: " \t\n\r\0\x0B".
pub(crate) fn is_php_trim_char(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\0' | '\u{0B}')
}

/// PHP `trim($s)` with the default character list.
pub(crate) fn php_trim(s: &str) -> &str {
    s.trim_matches(is_php_trim_char)
}

/// Follows lib/moodlelib.php `fix_utf8()`: removes NUL and the noncharacters
/// U+FFFE and U+FFFF. Invalid UTF-8, which iconv would drop, cannot occur in a
/// `&str`. (Moodle before 4.x removed only NUL; the newer, stricter rule is
/// used because it rejects a superset.)
pub(crate) fn fix_utf8(s: &str) -> Cow<'_, str> {
    if s.contains(is_fix_utf8_removed) {
        Cow::Owned(s.chars().filter(|c| !is_fix_utf8_removed(*c)).collect())
    } else {
        Cow::Borrowed(s)
    }
}

/// Characters `fix_utf8()` removes.
pub(crate) fn is_fix_utf8_removed(c: char) -> bool {
    matches!(c, '\0' | '\u{FFFE}' | '\u{FFFF}')
}

/// C `isspace()` in the "C" locale, as php_strip_tags_ex uses it.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r')
}

/// PCRE `$` without the D modifier also matches before one final "\n", so a
/// pattern anchored with `^…$` accepts `x` and `x\n` alike. Returns the
/// candidate strings the anchored body must match.
pub(crate) fn pcre_dollar_candidates(s: &str) -> impl Iterator<Item = &str> {
    let without_newline = s.strip_suffix('\n');
    std::iter::once(s).chain(without_newline)
}

/// Lists distinct characters as `'a', ' '`, for messages.
pub(crate) fn quote_chars(chars: impl IntoIterator<Item = char>) -> String {
    let mut seen: Vec<char> = Vec::new();
    for c in chars {
        if !seen.contains(&c) {
            seen.push(c);
        }
    }
    seen.iter()
        .map(|c| format!("'{}'", c.escape_debug()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The states of php_strip_tags_ex: 0 text, 1 HTML tag, 2 PHP tag,
/// 3 `<!…` declaration, 4 `<!--` comment.
#[derive(Clone, Copy, PartialEq, Eq)]
enum TagState {
    Text,
    Tag,
    Php,
    Declaration,
    Comment,
}

/// Mutable state of the strip_tags machine, named as in the C source.
struct StripTags<'a> {
    buf: &'a [u8],
    allow: Option<&'a [u8]>,
    out: Vec<u8>,
    tbuf: Vec<u8>,
    state: TagState,
    lc: u8,
    br: i64,
    depth: i64,
    in_q: u8,
    is_xml: bool,
}

/// Follows php-src ext/standard/string.c `php_strip_tags_ex()` (PHP 8) with
/// `allow_tag_spaces = 0`, as PHP's `strip_tags($str, $allow)` calls it.
/// `allow` is the allowed-tags string such as `<span>`; it is lowercased here
/// as PHP does.
pub(crate) fn strip_tags(input: &str, allow: Option<&str>) -> String {
    let allow_lower = allow.map(|a| a.to_ascii_lowercase());
    let mut machine = StripTags {
        buf: input.as_bytes(),
        allow: allow_lower.as_deref().map(str::as_bytes),
        out: Vec::with_capacity(input.len()),
        tbuf: Vec::new(),
        state: TagState::Text,
        lc: 0,
        br: 0,
        depth: 0,
        in_q: 0,
        is_xml: false,
    };
    for p in 0..input.len() {
        machine.step(p);
    }
    // Only whole ASCII-delimited runs are removed, so the result stays UTF-8;
    // the lossy conversion is a no-op kept to avoid any panic path.
    String::from_utf8_lossy(&machine.out).into_owned()
}

impl StripTags<'_> {
    /// The byte at `i`, or NUL past the end (the C buffer is NUL-terminated).
    fn at(&self, i: usize) -> u8 {
        self.buf.get(i).copied().unwrap_or(0)
    }

    /// The byte before `p`, when there is one.
    fn before(&self, p: usize, back: usize) -> Option<u8> {
        p.checked_sub(back).map(|i| self.at(i))
    }

    /// Records a tag byte when an allow list is in force (C: `*(tp++) = c`).
    fn keep_tag_byte(&mut self, c: u8) {
        if self.allow.is_some() {
            self.tbuf.push(c);
        }
    }

    /// Toggles the quote state the way every state of the C machine does.
    fn toggle_quote(&mut self, c: u8) {
        if self.in_q == 0 {
            self.in_q = c;
        } else if self.in_q == c {
            self.in_q = 0;
        }
    }

    /// Processes the byte at `p`; every C path advances `p` by exactly one.
    fn step(&mut self, p: usize) {
        match self.state {
            TagState::Text => self.state_text(p),
            TagState::Tag => self.state_tag(p),
            TagState::Php => self.state_php(p),
            TagState::Declaration => self.state_declaration(p),
            TagState::Comment => self.state_comment(p),
        }
    }

    /// C `state_0`: copy text, enter a tag on `<` not followed by whitespace.
    fn state_text(&mut self, p: usize) {
        let c = self.at(p);
        match c {
            0 => {}
            b'<' => {
                if self.in_q != 0 {
                    return;
                }
                if is_c_space(self.at(p + 1)) {
                    self.out.push(c);
                    return;
                }
                self.lc = b'<';
                self.state = TagState::Tag;
                self.keep_tag_byte(b'<');
            }
            b'>' => {
                if self.depth > 0 {
                    self.depth -= 1;
                } else if self.in_q == 0 {
                    self.out.push(c);
                }
            }
            _ => self.out.push(c),
        }
    }

    /// C `state_1`: inside `<…>`.
    fn state_tag(&mut self, p: usize) {
        let c = self.at(p);
        match c {
            0 => {}
            b'<' => {
                if self.in_q != 0 {
                    return;
                }
                if is_c_space(self.at(p + 1)) {
                    self.keep_tag_byte(c);
                } else {
                    self.depth += 1;
                }
            }
            b'>' => self.close_tag(p),
            b'"' | b'\'' => {
                if p != 0 {
                    self.toggle_quote(c);
                }
                self.keep_tag_byte(c);
            }
            b'!' if self.before(p, 1) == Some(b'<') => {
                self.state = TagState::Declaration;
                self.lc = c;
            }
            b'?' if self.before(p, 1) == Some(b'<') => {
                self.br = 0;
                self.state = TagState::Php;
            }
            _ => self.keep_tag_byte(c),
        }
    }

    /// C `state_1` on `>`: ends the tag unless nested or quoted.
    fn close_tag(&mut self, p: usize) {
        if self.depth > 0 {
            self.depth -= 1;
            return;
        }
        if self.in_q != 0 {
            return;
        }
        self.lc = b'>';
        if self.is_xml && self.before(p, 1) == Some(b'-') {
            return;
        }
        self.in_q = 0;
        self.is_xml = false;
        self.state = TagState::Text;
        if let Some(allow) = self.allow {
            self.tbuf.push(b'>');
            if php_tag_find(&self.tbuf, allow) {
                self.out.extend_from_slice(&self.tbuf);
            }
            self.tbuf.clear();
        }
    }

    /// C `state_2`: inside `<?…?>`.
    fn state_php(&mut self, p: usize) {
        let c = self.at(p);
        match c {
            b'(' if self.lc != b'"' && self.lc != b'\'' => {
                self.lc = b'(';
                self.br += 1;
            }
            b')' if self.lc != b'"' && self.lc != b'\'' => {
                self.lc = b')';
                self.br -= 1;
            }
            b'>' => {
                if self.depth > 0 {
                    self.depth -= 1;
                } else if self.in_q == 0 && self.br == 0 && self.lc != b'"' && self.before(p, 1) == Some(b'?')
                {
                    self.leave_to_text();
                }
            }
            b'"' | b'\'' if p >= 1 && self.at(p - 1) != b'\\' => {
                if self.lc == c {
                    self.lc = 0;
                } else if self.lc != b'\\' {
                    self.lc = c;
                }
                self.toggle_quote(c);
            }
            b'l' | b'L' => {
                // `<?xml` is treated as an HTML tag, not PHP code.
                let is_xml_decl = p > 4
                    && self.at(p - 1).eq_ignore_ascii_case(&b'm')
                    && self.at(p - 2).eq_ignore_ascii_case(&b'x')
                    && self.at(p - 3) == b'?'
                    && self.at(p - 4) == b'<';
                if is_xml_decl {
                    self.state = TagState::Tag;
                    self.is_xml = true;
                }
            }
            _ => {}
        }
    }

    /// C `state_3`: inside `<!…>`.
    fn state_declaration(&mut self, p: usize) {
        let c = self.at(p);
        match c {
            b'>' => {
                if self.depth > 0 {
                    self.depth -= 1;
                } else if self.in_q == 0 {
                    self.leave_to_text();
                }
            }
            b'"' | b'\'' if p != 0 && self.at(p - 1) != b'\\' => self.toggle_quote(c),
            b'-' if p >= 2 && self.at(p - 1) == b'-' && self.at(p - 2) == b'!' => {
                self.state = TagState::Comment;
            }
            // `<!DOCTYPE` continues as an ordinary tag.
            b'E' | b'e'
                if p > 6
                    && self
                        .buf
                        .get(p - 6..p)
                        .is_some_and(|w| w.eq_ignore_ascii_case(b"doctyp")) =>
            {
                self.state = TagState::Tag;
            }
            _ => {}
        }
    }

    /// C `state_4`: inside `<!--…-->`; quotes are not tracked here.
    fn state_comment(&mut self, p: usize) {
        let closes = self.at(p) == b'>'
            && self.in_q == 0
            && p >= 2
            && self.at(p - 1) == b'-'
            && self.at(p - 2) == b'-';
        if closes {
            self.leave_to_text();
        }
    }

    /// Back to text after `?>`, `>` or `-->` (C: `in_q = state = 0; tp = tbuf`).
    fn leave_to_text(&mut self) {
        self.in_q = 0;
        self.state = TagState::Text;
        self.tbuf.clear();
    }
}

/// Follows php-src ext/standard/string.c `php_tag_find()`: normalises a
/// collected tag to `<name>` and looks it up in the allowed-tags string.
fn php_tag_find(tag: &[u8], set: &[u8]) -> bool {
    if tag.is_empty() {
        return false;
    }
    let at = |i: usize| tag.get(i).copied().unwrap_or(0);
    let mut norm: Vec<u8> = Vec::with_capacity(tag.len() + 1);
    let mut seen_name = false;
    let mut t = 0usize;
    loop {
        let c = at(t).to_ascii_lowercase();
        match c {
            b'<' => norm.push(c),
            b'>' => break,
            _ if is_c_space(c) => {
                if seen_name {
                    break;
                }
            }
            _ => {
                seen_name = true;
                // A '/' right after '<' or right before '>' is dropped, so
                // `</b>` and `<br/>` normalise to `<b>` and `<br>`.
                let prev = t.checked_sub(1).map(at).unwrap_or(0);
                if c != b'/' || (prev != b'<' && at(t + 1) != b'>') {
                    norm.push(c);
                }
            }
        }
        t += 1;
        if t > tag.len() {
            // The C string ends with NUL; the collected tag always ends with
            // '>', so this is only a guard against running past the end.
            break;
        }
    }
    norm.push(b'>');
    set.windows(norm.len()).any(|w| w == norm.as_slice())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_tags_without_allow_list() {
        let cases: &[(&str, &str)] = &[
            ("plain text", "plain text"),
            ("<b>x</b>", "x"),
            ("a < b", "a < b"),
            ("a > b", "a > b"),
            ("a<b", "a"),
            ("x <", "x "),
            ("Tom & Jerry", "Tom & Jerry"),
            ("John <script>alert(1)</script> Doe", "John alert(1) Doe"),
            ("<!-- note -->text", "text"),
            ("<!-- a > b -->text", "text"),
            ("<?php echo 1; ?>after", "after"),
            ("<?php if (a > b) {} ?>after", "after"),
            ("<a href=\"x>y\">link</a>", "link"),
            ("<a title='it>s'>t</a>", "t"),
            ("<<b>>x", "x"),
            ("<!DOCTYPE html>body", "body"),
            ("<?xml version=\"1.0\"?>doc", "doc"),
            ("a\0b", "ab"),
            ("1 <\t2", "1 <\t2"),
            ("1 <\n2", "1 <\n2"),
            ("<é>ü", "ü"),
            ("", ""),
        ];
        for (input, expected) in cases {
            assert_eq!(strip_tags(input, None), *expected, "input {input:?}");
        }
    }

    #[test]
    fn strip_tags_with_allow_list_keeps_allowed_tags() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "<span lang=\"en\">a</span><b>b</b>",
                "<span>",
                "<span lang=\"en\">a</span>b",
            ),
            ("<SPAN>a</SPAN>", "<span>", "<SPAN>a</SPAN>"),
            ("<spanx>a</spanx>", "<span>", "a"),
            (
                "<lang lang=\"en\">a</lang>",
                "<lang>",
                "<lang lang=\"en\">a</lang>",
            ),
            (
                "<span title=\"a>b\">x</span>",
                "<span>",
                "<span title=\"ab\">x</span>",
            ),
            ("<br/>", "<br>", "<br/>"),
        ];
        for (input, allow, expected) in cases {
            assert_eq!(strip_tags(input, Some(allow)), *expected, "input {input:?}");
        }
    }

    #[test]
    fn tag_find_normalises() {
        let cases: &[(&[u8], &[u8], bool)] = &[
            (b"<span>", b"<span>", true),
            (b"</span>", b"<span>", true),
            (b"<span lang=\"x\">", b"<span>", true),
            (b"< span>", b"<span>", true),
            (b"<spa>", b"<span>", false),
            (b"<>", b"<span>", false),
            (b"", b"<span>", false),
        ];
        for (tag, set, expected) in cases {
            assert_eq!(
                php_tag_find(tag, set),
                *expected,
                "tag {:?}",
                String::from_utf8_lossy(tag)
            );
        }
    }

    #[test]
    fn fix_utf8_and_trim() {
        assert_eq!(fix_utf8("a\0b\u{FFFE}c\u{FFFF}"), "abc");
        assert!(matches!(fix_utf8("plain"), Cow::Borrowed(_)));
        assert_eq!(php_trim(" \t\n\r\0\u{0B}x\u{0B} "), "x");
        assert_eq!(php_trim("\u{A0}x"), "\u{A0}x");
        assert_eq!(
            pcre_dollar_candidates("a\n").collect::<Vec<_>>(),
            vec!["a\n", "a"]
        );
        assert_eq!(pcre_dollar_candidates("a").collect::<Vec<_>>(), vec!["a"]);
        assert_eq!(quote_chars(" ! !".chars()), "' ', '!'");
    }
}
