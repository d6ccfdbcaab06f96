//! Before anything else: does the token work, and may it call the functions
//! a command needs?
//!
//! `core_webservice_get_site_info` answers for any valid token and lists
//! exactly the functions of the token's service (moodle-ws.md 2.14), so one
//! call tells a wrong URL, disabled web services, a bad token and a
//! function missing from the service apart, each with what to change in Moodle.

use serde_json::Value as Json;

use super::reply::{CallError, MoodleError, Reply};
use super::retry::Retry;
use super::session::Session;
use super::url::SiteUrl;
use crate::moodle::ws::SITE_INFO;

/// What the site said about itself and the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteInfo {
    /// `sitename`
    pub sitename: String,
    /// `release`, e.g. `4.5 (Build: 20241007)`.
    pub release: Option<String>,
    /// The token user's username.
    pub username: String,
    /// The functions of the token's service.
    pub functions: Vec<String>,
}

/// The site refused or could not be reached: what happened and what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    /// What happened.
    pub message: String,
    /// What to change, in Moodle or on the command line.
    pub help: String,
}

impl Refusal {
    /// A refusal saying what happened and what to change.
    pub fn new(message: impl Into<String>, help: impl Into<String>) -> Self {
        Refusal {
            message: message.into(),
            help: help.into(),
        }
    }

    /// The token's service lacks `missing`; `why` says what needs them
    /// (e.g. "the function of template `x`"), the help where to add them.
    pub fn service_lacks(missing: &[&str], why: &str) -> Self {
        Refusal::new(
            format!(
                "the token's external service does not include {}, {why}",
                missing.join(" and ")
            ),
            format!(
                "in Moodle: Site administration > Server > Web services > External services > (the token's service) > Functions > Add functions: {}",
                missing.join(", ")
            ),
        )
    }
}

impl SiteInfo {
    /// Whether the token's service includes `function`.
    pub fn has(&self, function: &str) -> bool {
        self.functions.iter().any(|f| f == function)
    }

    /// Every one of `functions` must be in the token's service; `why` says
    /// what needs them (e.g. "the function of template `x`").
    ///
    /// # Errors
    /// What to add to the service.
    pub fn require(&self, functions: &[&str], why: &str) -> Result<(), Refusal> {
        let mut missing: Vec<&str> = functions.iter().copied().filter(|f| !self.has(f)).collect();
        missing.dedup();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Refusal::service_lacks(&missing, why))
        }
    }
}

/// Ask the site about itself and the token (retried like any read).
/// `purpose` names the functions the caller means to use, for the help of
/// an access refusal.
///
/// # Errors
/// Why the site cannot be used, with what to fix.
pub async fn site_info(session: &Session, purpose: &str) -> Result<SiteInfo, Refusal> {
    let site = session.site();
    match session.call(Retry::Read, SITE_INFO, &[]).await {
        Ok(Reply::Value(value)) => parse(&value).ok_or_else(|| {
            Refusal::new(
                format!("{site} answered {SITE_INFO} with something that is not site information"),
                "check --url: it should be the address of the Moodle site (its wwwroot)",
            )
        }),
        Ok(Reply::Error(error)) => Err(refused(&error, purpose)),
        Err(error) => Err(unreachable(&error, site)),
    }
}

fn parse(value: &Json) -> Option<SiteInfo> {
    let object = value.as_object()?;
    let text = |key: &str| object.get(key).and_then(Json::as_str).map(str::to_owned);
    let functions = object
        .get("functions")?
        .as_array()?
        .iter()
        .filter_map(|f| f.get("name").and_then(Json::as_str).map(str::to_owned))
        .collect();
    Some(SiteInfo {
        sitename: text("sitename").unwrap_or_default(),
        release: text("release"),
        username: text("username").unwrap_or_default(),
        functions,
    })
}

/// The refusal for a Moodle error, by its error code.
pub fn refused(error: &MoodleError, function: &str) -> Refusal {
    let said = error.describe();
    match error.code() {
        "invalidtoken" => Refusal::new(
            format!("Moodle refused the token: {said}"),
            "check MOODLE_TOKEN or --token-file (the token of a user for this site); tokens are managed in Site administration > Server > Web services > Manage tokens, or get one with `moodlec login`",
        ),
        "accessexception" => Refusal::new(
            format!("Moodle refused access: {said}"),
            format!(
                "in Moodle, check that the token's external service is enabled and includes {SITE_INFO} (moodlec checks the token with it) and {function} (Site administration > Server > Web services > External services > Functions), that the token's user is authorised for a restricted service, has the capability webservice/rest:use, is not suspended, and that the token has not expired or been restricted to other IP addresses"
            ),
        ),
        "sitemaintenance" => Refusal::new(
            format!("the site is in maintenance mode: {said}"),
            "try again once maintenance is over",
        ),
        "wsaccessuserunconfirmed" => Refusal::new(
            format!("the token's user has not confirmed their account: {said}"),
            "confirm the user in Site administration > Users > Browse list of users",
        ),
        "invalidrecord" => Refusal::new(
            format!("Moodle does not know {SITE_INFO}: {said}"),
            "check --url: this does not look like a Moodle site with the standard web services",
        ),
        _ => Refusal::new(
            format!("Moodle refused {SITE_INFO}: {said}"),
            "check the token and the external service in Site administration > Server > Web services",
        ),
    }
}

/// The refusal for a call that got no Moodle answer.
pub fn unreachable(error: &CallError, site: &SiteUrl) -> Refusal {
    let endpoint = site.rest_endpoint();
    match error {
        CallError::NotSent(reason) => Refusal::new(
            format!("cannot reach {site}: {reason}"),
            "check --url (or MOODLE_URL) and the network; is the site up?",
        ),
        CallError::Ambiguous(reason) => Refusal::new(
            format!("no answer from {site}: {reason}"),
            "the site is slow or unreachable: try again later, or give it more time with --timeout",
        ),
        CallError::Redirected { status, to } => Refusal::new(
            format!("{endpoint} redirects (HTTP {status}) to {to}; moodlec does not follow it: the token and the records would be sent there, or the request would not be sent again as it was"),
            "give --url the address the site really answers at: often https:// instead of http://, another host name, or the sub-path Moodle lives under (e.g. https://example.edu/moodle)",
        ),
        CallError::Maintenance { .. } => Refusal::new(
            format!("{site} is under maintenance (HTTP 503 Moodle under maintenance)"),
            "try again once maintenance is over; nothing was sent to Moodle",
        ),
        CallError::Status { status: 404, .. } => Refusal::new(
            format!("there is no Moodle web service at {endpoint} (HTTP 404)"),
            "give --url the address of the Moodle site itself (its wwwroot, the address of its front page)",
        ),
        CallError::Status { status, .. } => Refusal::new(
            format!("{endpoint} answered HTTP {status}"),
            "the web server or a proxy in front of Moodle refused the call: try again later, or check its logs",
        ),
        CallError::Disabled => Refusal::new(
            format!("web services or the REST protocol are disabled on {site} (server.php answered with an empty body)"),
            "in Moodle: Site administration > Advanced features > Enable web services, and Site administration > Server > Web services > Manage protocols > enable REST",
        ),
        CallError::NotJson(excerpt) => Refusal::new(
            format!("{endpoint} did not answer like Moodle's REST server: {excerpt}"),
            "check --url: it should be the Moodle site's address (its wwwroot)",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn info(functions: &[&str]) -> SiteInfo {
        let value = json!({
            "sitename": "S", "username": "admin", "release": "4.5",
            "functions": functions.iter().map(|f| json!({"name": f, "version": "1"})).collect::<Vec<_>>(),
        });
        parse(&value).unwrap()
    }

    #[test]
    fn required_functions_must_be_in_the_service() {
        let info = info(&[SITE_INFO, "core_user_create_users"]);
        assert!(info.require(&["core_user_create_users"], "x").is_ok());
        let refusal = info
            .require(
                &["core_user_create_users", "core_user_get_users_by_field"],
                "for y",
            )
            .unwrap_err();
        assert!(refusal.message.contains("core_user_get_users_by_field, for y"));
        assert!(!refusal.message.contains("core_user_create_users"));
        assert!(refusal.help.contains("Add functions"));
    }

    #[test]
    fn refusals_say_what_to_fix() {
        let error = MoodleError {
            exception: "moodle_exception".into(),
            errorcode: Some("invalidtoken".into()),
            message: "Invalid token - token not found".into(),
            debuginfo: None,
        };
        assert!(refused(&error, "f").help.contains("Manage tokens"));
        let site = SiteUrl::parse("https://x.org", false).unwrap();
        assert!(unreachable(&CallError::Disabled, &site)
            .help
            .contains("Manage protocols"));
    }
}
