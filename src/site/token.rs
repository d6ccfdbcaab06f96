//! The web-service token: a secret that only request bodies ever see.

use std::fmt;

use crate::moodle::ws::REDACTED_TOKEN;

/// A Moodle web-service token. It prints as `REDACTED` however it is
/// formatted, so no error, log line or result can carry it by accident;
/// [`Token::expose`] is the one way to read it, for request bodies.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// A token from its text, surrounding whitespace (a file's newline) removed.
    pub fn new(text: &str) -> Option<Token> {
        let text = text.trim();
        (!text.is_empty()).then(|| Token(text.to_owned()))
    }

    /// The secret itself: only for the body of a request to the site.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `text` with every occurrence of the token replaced by `REDACTED`:
    /// for text that came from elsewhere (a server's answer) before it is shown.
    pub fn scrub(&self, text: &str) -> String {
        if text.contains(&self.0) {
            text.replace(&self.0, REDACTED_TOKEN)
        } else {
            text.to_owned()
        }
    }

    /// `bytes` with every occurrence of the token replaced by `REDACTED`: for
    /// a server's answer before it is decoded.
    pub fn scrub_bytes(&self, bytes: Vec<u8>) -> Vec<u8> {
        let secret = self.0.as_bytes();
        if !bytes.windows(secret.len()).any(|w| w == secret) {
            return bytes;
        }
        let mut out = Vec::with_capacity(bytes.len());
        let mut rest = bytes.as_slice();
        while let Some(at) = rest.windows(secret.len()).position(|w| w == secret) {
            out.extend_from_slice(&rest[..at]);
            out.extend_from_slice(REDACTED_TOKEN.as_bytes());
            rest = &rest[at + secret.len()..];
        }
        out.extend_from_slice(rest);
        out
    }
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
}
