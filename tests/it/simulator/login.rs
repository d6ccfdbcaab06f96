//! login/token.php (moodle-ws.md 1.7): username + password + service
//! shortname → the user's token for that service. Errors come from the
//! AJAX renderer with `error`/`errorcode` keys, not server.php's.

use moodlec::moodle::params as moodle_params;
use serde_json::{json, Value};

use super::config::Token;
use super::php_input::{PhpArray, PhpValue};
use super::response::php_json;
use super::ws::Site;

/// The JSON body token.php answers (always with HTTP 200 here).
pub fn handle(site: &mut Site, vars: &PhpArray) -> String {
    php_json(&match login(site, vars) {
        Ok(token) => json!({"token": token, "privatetoken": Value::Null}),
        Err((errorcode, message)) => json!({
            "error": message,
            "errorcode": errorcode,
            "stacktrace": Value::Null,
            "debuginfo": Value::Null,
            "reproductionlink": Value::Null,
        }),
    })
}

type LoginError = (&'static str, String);

fn login(site: &mut Site, vars: &PhpArray) -> Result<String, LoginError> {
    let username = clean_username(required(vars, "username")?);
    let password = required(vars, "password")?;
    let service = clean_alphanumext(required(vars, "service")?);
    let user = site
        .state
        .users
        .values()
        .find(|u| u.username == username && !u.deleted)
        .filter(|u| u.auth != "nologin" && !u.suspended && u.password.as_deref() == Some(password))
        .cloned()
        .ok_or(("invalidlogin", "Invalid login, please try again".to_string()))?;
    if user.username == "guest" {
        return Err(("noguest", "The guest user cannot log in".to_string()));
    }
    if site.config.service(&service).is_none() {
        return Err((
            "servicenotavailable",
            "Web service is not available (it doesn't exist or might be disabled)".to_string(),
        ));
    }
    if let Some(token) = site
        .tokens
        .iter()
        .rev()
        .find(|t| t.userid == user.id && t.service == service)
    {
        return Ok(token.token.clone());
    }
    // Site admins get no new token for a custom service; other users are
    // taken to hold moodle/webservice:createtoken.
    if user.site_admin {
        return Err((
            "cannotcreatetoken",
            format!("No permission to create web service token for the service {service}."),
        ));
    }
    let token = format!("{:032x}", 0x5151_0000_0000_0000_u128 + site.tokens.len() as u128);
    site.tokens.push(Token::new(&token, user.id, &service));
    Ok(token)
}

/// `required_param`: absent → `missingparam`.
fn required<'a>(vars: &'a PhpArray, name: &str) -> Result<&'a str, LoginError> {
    vars.get(name).and_then(PhpValue::as_str).ok_or((
        "missingparam",
        format!("A required parameter ({name}) was missing"),
    ))
}

/// PARAM_USERNAME cleaning (trim, lowercase, drop other characters), not
/// strict validation: token.php logs `JDoe` in as `jdoe` (3.3).
fn clean_username(s: &str) -> String {
    match moodle_params::username(s) {
        Ok(()) => s.to_string(),
        Err(r) => r.cleaned.unwrap_or_else(|| s.to_string()),
    }
}

fn clean_alphanumext(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect()
}
