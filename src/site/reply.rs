//! Moodle's answers as moodlec reads them: a value, Moodle's error object, or
//! no answer at all, told apart by what each means for a caller (moodle-ws.md
//! 1.1, 1.4): an answer, a call that certainly did not reach Moodle (safe to
//! retry), and a call that may or may not have been applied.
//!
//! Moodle answers errors with HTTP 200 and an exception object, so the HTTP
//! status says little.

use std::time::Duration;

use serde::Serialize;
use serde_json::Value as Json;

use super::token::Token;

/// A Moodle error object (`{exception, errorcode, message, debuginfo}`), or
/// one of moodlec's own errors in the same shape (`exception` = `moodlec`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MoodleError {
    /// PHP class, possibly namespaced (`core\exception\invalid_parameter_exception`).
    pub exception: String,
    /// The language string id; some errors (PHP TypeErrors) come without one.
    pub errorcode: Option<String>,
    /// Moodle's message, in the token user's language.
    pub message: String,
    /// Present only when the site has debugging on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub debuginfo: Option<String>,
}

/// The `exception` of moodlec's own errors.
pub const LOCAL_EXCEPTION: &str = "moodlec";

impl MoodleError {
    /// One of moodlec's own errors.
    pub fn local(code: &str, message: impl Into<String>) -> Self {
        MoodleError {
            exception: LOCAL_EXCEPTION.to_owned(),
            errorcode: Some(code.to_owned()),
            message: message.into(),
            debuginfo: None,
        }
    }

    /// The class name without its namespace (`invalid_parameter_exception`).
    pub fn class(&self) -> &str {
        self.exception.rsplit('\\').next().unwrap_or(&self.exception)
    }

    /// The error code, or the class name when Moodle sent none.
    pub fn code(&self) -> &str {
        self.errorcode.as_deref().unwrap_or_else(|| self.class())
    }

    /// Decode an error object defensively: any field may be missing or not a string.
    fn from_object(object: &serde_json::Map<String, Json>) -> Self {
        let text = |key: &str| {
            object.get(key).and_then(|v| match v {
                Json::Null => None,
                Json::String(s) => Some(s.clone()),
                other => Some(other.to_string()),
            })
        };
        MoodleError {
            exception: text("exception").unwrap_or_default(),
            errorcode: text("errorcode"),
            message: text("message").unwrap_or_default(),
            debuginfo: text("debuginfo"),
        }
    }

    /// `message (errorcode): debuginfo`, for people.
    pub fn describe(&self) -> String {
        let mut text = if self.message.is_empty() {
            self.class().to_owned()
        } else {
            self.message.clone()
        };
        if let Some(code) = &self.errorcode {
            if !self.message.contains(code.as_str()) {
                text.push_str(&format!(" ({code})"));
            }
        }
        if let Some(debug) = &self.debuginfo {
            text.push_str(": ");
            text.push_str(debug);
        }
        text
    }
}

/// What Moodle answered with HTTP 200.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// A return value (`null`, a list, an object).
    Value(Json),
    /// An error object: nothing of the call was applied, unless the function
    /// commits as it goes (moodle-ws.md 4.1).
    Error(MoodleError),
}

/// A call without a Moodle answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The request never left: no connection. Safe to send again.
    #[error("cannot connect to the site: {0}")]
    NotSent(String),
    /// An HTTP error from the web server or a proxy in front of Moodle.
    #[error("HTTP {status} from the site")]
    Status {
        /// The status code.
        status: u16,
        /// `Retry-After`, in seconds, when given.
        retry_after: Option<Duration>,
    },
    /// HTTP 503 from Moodle's own maintenance mode (`503 Moodle under
    /// maintenance`, sent by lib/setup.php before any web-service code
    /// runs): the call certainly did nothing.
    #[error("HTTP 503 from the site: Moodle is under maintenance")]
    Maintenance {
        /// `Retry-After` (Moodle sends 300 seconds).
        retry_after: Option<Duration>,
    },
    /// A redirect moodlec did not follow: to another scheme, host or port
    /// (the token and the records would go there), one that would not
    /// re-send the same request (301, 302, 303), or too many of them.
    /// Nothing was applied.
    #[error("the site redirects (HTTP {status}) to {to}")]
    Redirected {
        /// The redirect's status code.
        status: u16,
        /// Where to: scheme, host, port and path (no credentials, no query).
        to: String,
    },
    /// The request was sent but no complete answer came back (timeout,
    /// connection dropped): Moodle may or may not have applied it.
    #[error("no answer after the request was sent: {0}")]
    Ambiguous(String),
    /// HTTP 200 with an empty body: web services or the REST protocol are off.
    #[error("the site answered with an empty body: web services or the REST protocol are disabled")]
    Disabled,
    /// HTTP 200 with something that is not JSON (an HTML page, PHP warnings).
    #[error("the site answered with something that is not JSON: {0}")]
    NotJson(String),
}

impl CallError {
    /// Whether the request certainly did not reach Moodle's web-service
    /// code, so sending it again cannot apply anything twice: connection
    /// failures, 429, Moodle's own maintenance 503 and redirects not
    /// followed. Any other 5xx is not: a gateway may answer 502 or 503
    /// after PHP committed the call.
    pub fn not_applied(&self) -> bool {
        match self {
            CallError::NotSent(_) | CallError::Maintenance { .. } | CallError::Redirected { .. } => true,
            CallError::Status { status, .. } => *status == 429,
            _ => false,
        }
    }

    /// Whether waiting and trying again may help a read: no connection, no
    /// answer, 429, any 5xx, and an answer that is not JSON (a proxy's or
    /// PHP's page in place of Moodle's answer).
    pub fn is_transient(&self) -> bool {
        match self {
            CallError::NotSent(_)
            | CallError::Ambiguous(_)
            | CallError::Maintenance { .. }
            | CallError::NotJson(_) => true,
            CallError::Status { status, .. } => *status == 429 || *status >= 500,
            CallError::Disabled | CallError::Redirected { .. } => false,
        }
    }

    /// How long the site asked to wait (`Retry-After`), if it did.
    pub(super) fn retry_after(&self) -> Option<Duration> {
        match self {
            CallError::Status { retry_after, .. } | CallError::Maintenance { retry_after } => *retry_after,
            _ => None,
        }
    }

    /// The same error with every occurrence of the token, in any encoding,
    /// replaced (transport errors quote URLs and server text).
    pub(super) fn scrubbed(self, token: &Token) -> Self {
        match self {
            CallError::NotSent(s) => CallError::NotSent(token.scrub(&s)),
            CallError::Ambiguous(s) => CallError::Ambiguous(token.scrub(&s)),
            CallError::NotJson(s) => CallError::NotJson(token.scrub(&s)),
            CallError::Redirected { status, to } => CallError::Redirected {
                status,
                to: token.scrub(&to),
            },
            other => other,
        }
    }

    /// For errors after which a write's outcome is unknown (timeouts, no
    /// answer, a 5xx other than Moodle's maintenance, a page that is not
    /// Moodle's answer).
    pub fn is_ambiguous(&self) -> bool {
        self.is_transient() && !self.not_applied()
    }
}

impl Reply {
    /// The reply with the token, in any encoding, removed from every string
    /// (a JSON `\uXXXX` escape may have hidden it from the byte scrub).
    pub(super) fn scrubbed(self, token: &Token) -> Reply {
        match self {
            Reply::Value(value) => Reply::Value(scrub_json(value, token)),
            Reply::Error(error) => Reply::Error(MoodleError {
                exception: token.scrub(&error.exception),
                errorcode: error.errorcode.map(|c| token.scrub(&c)),
                message: token.scrub(&error.message),
                debuginfo: error.debuginfo.map(|d| token.scrub(&d)),
            }),
        }
    }
}

fn scrub_json(mut value: Json, token: &Token) -> Json {
    scrub_json_in_place(&mut value, token);
    value
}

/// Strings are scrubbed where they are; only an object whose keys carry
/// the token is rebuilt.
fn scrub_json_in_place(value: &mut Json, token: &Token) {
    match value {
        Json::String(s) => token.scrub_in_place(s),
        Json::Array(items) => items.iter_mut().for_each(|v| scrub_json_in_place(v, token)),
        Json::Object(object) => {
            object.values_mut().for_each(|v| scrub_json_in_place(v, token));
            if object.keys().any(|k| token.appears_in(k)) {
                *object = std::mem::take(object)
                    .into_iter()
                    .map(|(k, v)| (token.scrub(&k), v))
                    .collect();
            }
        }
        _ => {}
    }
}

/// Decode the body of an HTTP 200 answer from server.php.
///
/// # Errors
/// An empty body (REST disabled) or one that is not JSON.
pub fn decode(body: &[u8]) -> Result<Reply, CallError> {
    let trimmed = body.trim_ascii();
    if trimmed.is_empty() {
        return Err(CallError::Disabled);
    }
    let value: Json = serde_json::from_slice(trimmed).map_err(|_| CallError::NotJson(excerpt(trimmed)))?;
    match &value {
        Json::Object(object) if object.contains_key("exception") => {
            Ok(Reply::Error(MoodleError::from_object(object)))
        }
        _ => Ok(Reply::Value(value)),
    }
}

/// The start of a body, for messages.
pub(super) fn excerpt(body: &[u8]) -> String {
    const MAX: usize = 200;
    let text = String::from_utf8_lossy(&body[..body.len().min(MAX)]);
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if body.len() > MAX {
        format!("{flat}…")
    } else {
        flat
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_values_and_errors() {
        assert_eq!(decode(b"null").unwrap(), Reply::Value(Json::Null));
        assert_eq!(
            decode(br#"[{"id":3,"username":"a"}]"#).unwrap(),
            Reply::Value(serde_json::json!([{"id":3,"username":"a"}]))
        );
        let Reply::Error(error) = decode(
            br#"{"exception":"core\\exception\\invalid_parameter_exception","errorcode":"invalidparameter","message":"Invalid parameter value detected","debuginfo":"Username already exists: x"}"#,
        )
        .unwrap() else {
            panic!("an error")
        };
        assert_eq!(error.class(), "invalid_parameter_exception");
        assert_eq!(error.code(), "invalidparameter");
        assert_eq!(error.debuginfo.as_deref(), Some("Username already exists: x"));
        assert_eq!(
            error.describe(),
            "Invalid parameter value detected (invalidparameter): Username already exists: x"
        );
    }

    #[test]
    fn decodes_errors_without_errorcode_defensively() {
        let Reply::Error(error) = decode(br#"{"exception":"TypeError","message":7}"#).unwrap() else {
            panic!("an error")
        };
        assert_eq!(error.errorcode, None);
        assert_eq!(error.code(), "TypeError");
        assert_eq!(error.message, "7");
    }

    #[test]
    fn empty_and_non_json_bodies() {
        assert_eq!(decode(b"  \n"), Err(CallError::Disabled));
        assert!(matches!(decode(b"<html>Warning</html>"), Err(CallError::NotJson(t)) if t.contains("html")));
    }

    #[test]
    fn which_errors_may_have_been_applied() {
        let status = |status| CallError::Status {
            status,
            retry_after: None,
        };
        // A gateway may answer 502 or 503 after Moodle committed: unclear for a write.
        assert!(!status(502).not_applied() && !status(503).not_applied() && status(429).not_applied());
        assert!(status(502).is_ambiguous() && status(503).is_ambiguous());
        assert!(status(504).is_ambiguous() && status(500).is_ambiguous());
        let maintenance = CallError::Maintenance { retry_after: None };
        assert!(maintenance.not_applied() && maintenance.is_transient() && !maintenance.is_ambiguous());
        let redirected = CallError::Redirected {
            status: 307,
            to: "https://elsewhere.example/".into(),
        };
        assert!(redirected.not_applied() && !redirected.is_transient());
        // A page in place of Moodle's answer: a read tries again, a write's outcome is unclear.
        let page = CallError::NotJson("<html>".into());
        assert!(page.is_transient() && page.is_ambiguous());
        assert!(CallError::Ambiguous("timeout".into()).is_ambiguous());
        assert!(CallError::NotSent("refused".into()).not_applied());
        assert!(!status(404).is_transient());
    }
}
