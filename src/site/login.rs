//! `login/token.php`: a username and password for a permanent web-service token (moodle-ws.md 1.7).

use std::time::Duration;

use serde_json::Value as Json;

use super::client::{Body, Http};
use super::reply::{excerpt, CallError};
use super::token::Token;
use super::url::SiteUrl;
use crate::moodle::ws::REDACTED_TOKEN;

/// The official mobile app service, which most sites enable.
pub const MOBILE_SERVICE: &str = "moodle_mobile_app";

/// Why no token came back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct LoginError {
    /// What happened.
    pub message: String,
    /// Moodle's `errorcode`, when it sent one.
    pub errorcode: Option<String>,
    /// What to do about it.
    pub help: String,
    /// Whether the site could not be reached at all (rather than refusing).
    pub unreachable: bool,
}

/// Ask `site` for a token of `username` for the external service `service`.
///
/// # Errors
/// The site's refusal (`{error, errorcode}`), or why it could not be asked.
pub async fn login(
    site: &SiteUrl,
    username: &str,
    password: &str,
    service: &str,
    timeout: Duration,
) -> Result<Token, LoginError> {
    let http = Http::new(timeout).map_err(|message| LoginError {
        message,
        errorcode: None,
        help: String::new(),
        unreachable: true,
    })?;
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("username", username)
        .append_pair("password", password)
        .append_pair("service", service)
        .finish();
    let endpoint = site.login_endpoint();
    let bytes = http
        .post(&endpoint, Body::Form, body)
        .await
        .map_err(|e| transport(&e, site, password))?;
    let answer: Json = serde_json::from_slice(bytes.trim_ascii()).map_err(|_| LoginError {
        message: format!(
            "{endpoint} did not answer like Moodle's login/token.php: {}",
            // Scrubbed before the cut, so no part of the password survives it.
            excerpt(scrub_password(&String::from_utf8_lossy(&bytes), password).as_bytes())
        ),
        errorcode: None,
        help: "check --url: it should be the Moodle site's address (its wwwroot)".to_owned(),
        unreachable: true,
    })?;
    if let Some(token) = answer.get("token").and_then(Json::as_str).and_then(Token::new) {
        return Ok(token);
    }
    let text = |key: &str| {
        answer
            .get(key)
            .and_then(Json::as_str)
            .map(|text| scrub_password(text, password))
    };
    let errorcode = text("errorcode");
    let message = text("error").unwrap_or_else(|| "no token in the answer".to_owned());
    Err(LoginError {
        help: help(errorcode.as_deref(), service),
        message: format!("Moodle refused the login: {message}"),
        errorcode,
        unreachable: false,
    })
}

/// `text` with the password, as typed and form-encoded, replaced by
/// `REDACTED`: a site (or a proxy) may echo it in its answer.
pub fn scrub_password(text: &str, password: &str) -> String {
    if password.is_empty() {
        return text.to_owned();
    }
    let encoded: String = form_urlencoded::byte_serialize(password.as_bytes()).collect();
    let mut text = text.replace(password, REDACTED_TOKEN);
    if encoded != password {
        text = text.replace(&encoded, REDACTED_TOKEN);
    }
    text
}

fn transport(error: &CallError, site: &SiteUrl, password: &str) -> LoginError {
    let (message, help) = match error {
        CallError::Status { status: 404, .. } => (
            format!("there is no login/token.php at {site} (HTTP 404)"),
            "give --url the address of the Moodle site itself (its wwwroot)".to_owned(),
        ),
        CallError::Redirected { .. } => (
            format!("cannot log in at {site}: {error}; moodlec does not follow it with the password"),
            "give --url the address the site really answers at: often https:// instead of http://, another host name, or the sub-path Moodle lives under".to_owned(),
        ),
        other => (
            scrub_password(&format!("cannot log in at {site}: {other}"), password),
            "check --url and the network; is the site up?".to_owned(),
        ),
    };
    LoginError {
        message,
        errorcode: None,
        help,
        unreachable: true,
    }
}

/// What to do about a token.php error code.
fn help(errorcode: Option<&str>, service: &str) -> String {
    match errorcode {
        Some("invalidlogin") => "check the username and password; the account may also be locked, suspended or use an authentication method without passwords".to_owned(),
        Some("enablewsdescription") => "web services are off: Site administration > Advanced features > Enable web services".to_owned(),
        Some("servicenotavailable") => format!("no enabled external service has the short name `{service}`: check --service, or enable it in Site administration > Server > Web services > External services"),
        Some("cannotcreatetoken") => format!("Moodle will not create a token for `{service}` here (site administrators cannot, for custom services): create one in Site administration > Server > Web services > Manage tokens and pass it with MOODLE_TOKEN or --token-file"),
        Some("usernotallowed") => format!("`{service}` is restricted to authorised users: add this user in Site administration > Server > Web services > External services > Authorised users"),
        Some("missingrequiredcapability") => "the user lacks a capability the service requires (see the service's settings)".to_owned(),
        Some("sitemaintenance") => "the site is in maintenance mode: try again later".to_owned(),
        Some("usernotconfirmed") => "the account is not confirmed yet".to_owned(),
        Some("noguest") => "the guest account cannot get tokens".to_owned(),
        Some("passwordisexpired") => "the password has expired: log in to Moodle in a browser and change it".to_owned(),
        Some("restoredaccountresetpassword") => "this restored account must reset its password in a browser first".to_owned(),
        _ => "check the username, password and --service".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_scrubbed_as_typed_and_form_encoded() {
        let password = "S3cret pass&word";
        let text = "bad password S3cret pass&word (sent as S3cret+pass%26word)";
        assert_eq!(
            scrub_password(text, password),
            "bad password REDACTED (sent as REDACTED)"
        );
        assert_eq!(scrub_password("nothing here", ""), "nothing here");
    }
}
