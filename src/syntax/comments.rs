//! A lexical pass that tells code from strings and comments.
//!
//! The grammar skips comments, so the tree does not hold them; `fmt` finds
//! them here and puts them back beside the statements they annotate.

use crate::span::Span;

/// A `# ...` comment: its span and text (without the newline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// From `#` to the end of the line.
    pub span: Span,
    /// The comment text including the `#`, trailing whitespace removed.
    pub text: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Code,
    String,
    StringEscape,
    Comment,
}

/// Walk `text` and call `visit` with each character and whether it is code
/// (outside strings and comments).
fn scan(text: &str, mut visit: impl FnMut(usize, char, State)) {
    let mut state = State::Code;
    for (offset, c) in text.char_indices() {
        state = match (state, c) {
            (State::Code, '"') => State::String,
            (State::Code, '#') => State::Comment,
            (State::String, '\\') => State::StringEscape,
            (State::String, '"') | (State::Comment, '\n') => {
                visit(offset, c, state);
                state = State::Code;
                continue;
            }
            (State::StringEscape, _) => State::String,
            (s, _) => s,
        };
        visit(offset, c, state);
    }
}

/// The end of `text` without trailing whitespace and comments: pest's
/// implicit whitespace makes a rule ending in `x*` or `x?` swallow what follows.
pub fn content_end(text: &str) -> usize {
    let mut end = 0;
    scan(text, |offset, c, state| {
        if state != State::Comment && !c.is_whitespace() {
            end = offset + c.len_utf8();
        }
    });
    end
}

/// The characters of `text` that are code, with their byte offsets.
pub fn code_chars(text: &str) -> Vec<(usize, char)> {
    let mut out = Vec::new();
    scan(text, |offset, c, state| {
        if state == State::Code {
            out.push((offset, c));
        }
    });
    out
}

/// Every comment in `text`, in order.
pub fn comments(text: &str) -> Vec<Comment> {
    let mut out: Vec<Comment> = Vec::new();
    let mut start = None;
    scan(text, |offset, c, state| match (state, start) {
        (State::Comment, None) => start = Some(offset),
        (State::Comment, Some(s)) if c == '\n' => {
            out.push(comment(text, s, offset));
            start = None;
        }
        _ => {}
    });
    if let Some(s) = start {
        out.push(comment(text, s, text.len()));
    }
    out
}

fn comment(text: &str, start: usize, end: usize) -> Comment {
    let body = text[start..end].trim_end();
    Comment {
        span: Span::new(start, start + body.len()),
        text: body.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_comments_outside_strings() {
        let text = "field x: text pattern \"#[0-9]\" # a comment \n# second\nfield y";
        let found: Vec<String> = comments(text).into_iter().map(|c| c.text).collect();
        assert_eq!(found, ["# a comment", "# second"]);
    }

    #[test]
    fn escaped_quotes_do_not_end_strings() {
        let text = r##"rule "a \"#\" b" "m" # real"##;
        let found: Vec<String> = comments(text).into_iter().map(|c| c.text).collect();
        assert_eq!(found, ["# real"]);
    }

    #[test]
    fn content_end_drops_trailing_space_and_comments() {
        let text = "batch size 100 \n\n  # next\n";
        assert_eq!(&text[..content_end(text)], "batch size 100");
        assert_eq!(content_end("rule \"a # b\" \"m\"  "), 16);
    }

    #[test]
    fn code_chars_skip_braces_in_strings() {
        let braces = code_chars("{ \"{{ x }}\" # {\n}")
            .into_iter()
            .filter(|(_, c)| *c == '{' || *c == '}')
            .count();
        assert_eq!(braces, 2);
    }
}
