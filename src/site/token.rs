//! The web-service token: a secret that only request bodies ever see.

use std::fmt;

use crate::moodle::ws::REDACTED_TOKEN;

/// A Moodle web-service token. It prints as `REDACTED` however it is
/// formatted, so no error, log line or result can carry it by accident;
/// [`Token::expose`] is the one way to read it, for request bodies.
///
/// Text that comes from elsewhere (a site's answer, an error) is scrubbed
/// of the token in every encoding a server or proxy may echo it in
/// ([`Token::scrub`], [`Token::scrub_bytes`]): as is, percent-encoded
/// (upper- or lower-case hex, form encoding), with `+` read as a space
/// (a form decoder), JSON-escaped (`\/`, `\u002f`), and HTML-escaped
/// (`&amp;`).
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    secret: String,
    /// Every encoding of the secret to scrub, longest first.
    forms: Vec<String>,
}

impl Token {
    /// A token from its text, surrounding whitespace (a file's newline) removed.
    pub fn new(text: &str) -> Option<Token> {
        let text = text.trim();
        (!text.is_empty()).then(|| Token {
            secret: text.to_owned(),
            forms: encodings(text),
        })
    }

    /// The secret itself: only for the body of a request to the site.
    pub fn expose(&self) -> &str {
        &self.secret
    }

    /// `text` with every occurrence of the token, in any encoding, replaced
    /// by `REDACTED`: for text that came from elsewhere (a server's answer)
    /// before it is shown.
    pub fn scrub(&self, text: &str) -> String {
        let mut text = text.to_owned();
        self.scrub_in_place(&mut text);
        text
    }

    /// Whether `text` holds the token in any encoding.
    pub fn appears_in(&self, text: &str) -> bool {
        self.forms.iter().any(|form| text.contains(form.as_str()))
    }

    /// [`Token::scrub`] on `text` itself: nothing is allocated when the
    /// token is not there (the common case, for every string of an answer).
    pub fn scrub_in_place(&self, text: &mut String) {
        for form in &self.forms {
            if text.contains(form.as_str()) {
                *text = text.replace(form.as_str(), REDACTED_TOKEN);
            }
        }
    }

    /// `bytes` with every occurrence of the token, in any encoding, replaced
    /// by `REDACTED`: for a server's answer before it is decoded or cut.
    pub fn scrub_bytes(&self, mut bytes: Vec<u8>) -> Vec<u8> {
        for form in &self.forms {
            bytes = replace_all(bytes, form.as_bytes());
        }
        bytes
    }
}

/// The encodings of `secret` a site, a proxy or a page may echo, longest first.
fn encodings(secret: &str) -> Vec<String> {
    let percent = |lower: bool, all: bool| {
        let mut out = String::new();
        for byte in secret.bytes() {
            if !all && (byte.is_ascii_alphanumeric() || b"*-._".contains(&byte)) {
                out.push(byte as char);
            } else if lower {
                out.push_str(&format!("%{byte:02x}"));
            } else {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
        out
    };
    let form: String = form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let json_slash = secret.replace('/', "\\/");
    let mut forms = vec![
        secret.to_owned(),
        form,
        percent(false, false),
        percent(true, false),
        percent(false, true),
        percent(true, true),
        // A form decoder reads a raw `+` as a space.
        secret.replace('+', " "),
        json_slash.clone(),
        secret.replace('/', "\\u002f"),
        secret.replace('/', "\\u002F"),
        secret.replace('&', "\\u0026"),
        secret.replace('&', "&amp;"),
        json_slash.replace('&', "&amp;"),
        secret.replace('&', "&#38;"),
        secret.replace('+', "%20"),
    ];
    forms.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    forms.dedup();
    forms.retain(|form| !form.is_empty());
    forms
}

/// `bytes` with every `needle` replaced by `REDACTED`.
fn replace_all(bytes: Vec<u8>, needle: &[u8]) -> Vec<u8> {
    if needle.is_empty() || !bytes.windows(needle.len()).any(|w| w == needle) {
        return bytes;
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes.as_slice();
    while let Some(at) = rest.windows(needle.len()).position(|w| w == needle) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(REDACTED_TOKEN.as_bytes());
        rest = &rest[at + needle.len()..];
    }
    out.extend_from_slice(rest);
    out
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED_TOKEN)
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED_TOKEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_formats_the_secret() {
        let token = Token::new(" 0123abcd\n").unwrap();
        assert_eq!(token.expose(), "0123abcd");
        assert_eq!(
            format!("{token} {token:?} {token:#?}"),
            "REDACTED REDACTED REDACTED"
        );
        assert_eq!(format!("{:?}", Some(&token)), "Some(REDACTED)");
        assert_eq!(token.scrub("bad token 0123abcd!"), "bad token REDACTED!");
        assert!(Token::new("  \n").is_none());
        assert_eq!(
            token.scrub_bytes(b"{\"x\":\"0123abcd0123abcd\"}".to_vec()),
            b"{\"x\":\"REDACTEDREDACTED\"}".to_vec()
        );
    }

    #[test]
    fn scrubs_every_encoding_of_the_token() {
        let token = Token::new("a+b/c=d&e").unwrap();
        for echoed in [
            "a+b/c=d&e",
            "a%2Bb%2Fc%3Dd%26e",
            "a%2bb%2fc%3dd%26e",
            "%61%2B%62%2F%63%3D%64%26%65",
            "a b/c=d&e",
            "a+b\\/c=d&e",
            "a+b\\u002fc=d&e",
            "a+b/c=d&amp;e",
        ] {
            let text = format!("<p>x {echoed} y</p>");
            assert_eq!(token.scrub(&text), "<p>x REDACTED y</p>", "{echoed}");
            assert_eq!(
                token.scrub_bytes(text.clone().into_bytes()),
                b"<p>x REDACTED y</p>".to_vec(),
                "{echoed}"
            );
        }
        assert_eq!(format!("{token:?}"), "REDACTED");
    }
}
