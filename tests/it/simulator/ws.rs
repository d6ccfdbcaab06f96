//! webservice/rest/server.php without the HTTP: control parameters, token,
//! function lookup, parameter validation, the call, the reply (moodle-ws.md
//! 1.1 and the order of `webservice_base_server::run`).

use serde_json::Value;

use super::config::{SiteConfig, Token};
use super::faults::FaultState;
use super::functions::{self, php_empty, sql_debug, Ctx};
use super::params::{self, Rec};
use super::php_input::{PhpArray, PhpValue};
use super::response::{class, php_json, xml_response, WsError};
use super::state::SiteState;
use super::{Call, Outcome};

/// Per-call output settings, stripped before validation (1.1).
const SETTINGS: &[&str] = &[
    "moodlewssettingraw",
    "moodlewssettingfileurl",
    "moodlewssettingfilter",
    "moodlewssettinglang",
    "moodlewssettingtimezone",
];

/// The whole simulated site behind one lock.
#[derive(Debug)]
pub struct Site {
    pub config: SiteConfig,
    pub state: SiteState,
    /// Seed tokens plus those token.php created.
    pub tokens: Vec<Token>,
    pub faults: FaultState,
    pub calls: Vec<Call>,
    pub url: String,
}

/// What server.php answers.
pub struct WsReply {
    pub body: String,
    pub content_type: &'static str,
    pub outcome: Outcome,
    /// The call changed the site.
    pub committed: bool,
}

/// The function a request names, for fault targeting and the call log.
pub fn function_name(vars: &PhpArray) -> Option<String> {
    vars.get("wsfunction")
        .and_then(PhpValue::as_str)
        .map(str::to_string)
}

/// Runs one server.php call on the merged GET/POST parameters.
pub fn handle(site: &mut Site, mut vars: PhpArray) -> WsReply {
    for name in SETTINGS {
        vars.remove(name);
    }
    // Anything but exactly "json" means XML (1.1).
    let json = vars
        .remove("moodlewsrestformat")
        .and_then(|v| v.as_str().map(|s| s == "json"))
        == Some(true);
    let token = vars.remove("wstoken");
    let function = vars.remove("wsfunction");
    let mut committed = false;
    let result = call(site, token, function, vars, &mut committed);
    let debug = site.config.debug;
    let (body, outcome) = match result {
        Ok(value) => {
            let body = if json {
                php_json(&value)
            } else {
                xml_response(&value)
            };
            (body, Outcome::Applied)
        }
        Err(e) => {
            let body = if json {
                php_json(&e.to_json(debug))
            } else {
                e.to_xml(debug)
            };
            let outcome = Outcome::Rejected {
                exception: e.exception.to_string(),
                errorcode: e.errorcode.clone(),
                committed,
            };
            (body, outcome)
        }
    };
    let content_type = if json {
        "application/json"
    } else {
        "application/xml; charset=utf-8"
    };
    WsReply {
        body,
        content_type,
        outcome,
        committed,
    }
}

/// authenticate_user, load_function_info, validate_parameters, execute.
fn call(
    site: &mut Site,
    token: Option<PhpValue>,
    function: Option<PhpValue>,
    vars: PhpArray,
    committed: &mut bool,
) -> Result<Value, WsError> {
    let (caller, service) = authenticate(site, token.as_ref())?;
    let function = load_function(&site.config, &service, function.as_ref())?;
    let desc = (function.params)(&site.config);
    let checked =
        params::validate(&desc, &PhpValue::Array(vars), &site.config).map_err(WsError::invalid_parameter)?;
    let Some(checked) = checked.as_array() else {
        unreachable!("a single structure validates to an array")
    };
    let service_functions = site
        .config
        .service(&service)
        .map(|s| s.functions.clone())
        .unwrap_or_default();
    // Courses a test inserted by hand get their seed enrolment instances.
    site.state.seed_instances();
    let mut ctx = Ctx {
        site: &site.config,
        state: &mut site.state,
        caller,
        service_functions: &service_functions,
        site_url: &site.url,
        committed: false,
    };
    let result = (function.run)(&mut ctx, Rec(checked));
    *committed = ctx.committed;
    result
}

/// The token's user and service, or `invalidtoken` / access errors (1.5).
fn authenticate(site: &Site, token: Option<&PhpValue>) -> Result<(i64, String), WsError> {
    let given = token.and_then(PhpValue::as_str).unwrap_or_default();
    let Some(token) = site.tokens.iter().find(|t| !given.is_empty() && t.token == given) else {
        return Err(WsError::new(
            class::MOODLE,
            "invalidtoken",
            "Invalid token - token not found",
            None,
        ));
    };
    let user = site.state.users.get(&token.userid);
    if let Some(user) = user.filter(|u| u.suspended || u.deleted) {
        let state = if user.suspended { "suspended" } else { "deleted" };
        return Err(WsError::access(format!(
            "Refused web service access for {state} username: {}",
            user.username
        )));
    }
    Ok((token.userid, token.service.clone()))
}

/// `external_api::external_function_info` and the service check.
fn load_function(
    config: &SiteConfig,
    service: &str,
    function: Option<&PhpValue>,
) -> Result<&'static functions::Function, WsError> {
    let name = function.map(PhpValue::display).unwrap_or_default();
    if function.is_none() || php_empty(&name) {
        return Err(WsError::invalid_parameter("Missing function name"));
    }
    let known = function.and_then(PhpValue::as_str).and_then(functions::find);
    let Some(found) = known else {
        return Err(WsError::missing_record(
            "invalidrecord",
            "Can not find data record in database table external_functions.",
            sql_debug("SELECT * FROM {external_functions} WHERE name = ?", &name),
        ));
    };
    let allowed = config
        .service(service)
        .is_some_and(|s| s.functions.iter().any(|f| f == found.name));
    if !allowed {
        return Err(WsError::access(format!(
            "Access to the function {name}() is not allowed.\n\
             There could be multiple reasons for this:\n\
             1. The service linked to the user token does not contain the function.\n\
             2. The service is user-restricted and the user is not listed.\n\
             3. The service is IP-restricted and the user IP is not listed.\n\
             4. The service is time-restricted and the time has expired.\n\
             5. The token is time-restricted and the time has expired.\n\
             6. The service requires a specific capability which the user does not have.\n\
             7. The function is called with username/password (no user token is sent)\n\
             and none of the services has the function to allow the user.\n\
             These settings can be found in Administration > Site administration\n\
             > Server > Web services > External services and Manage tokens."
        )));
    }
    Ok(found)
}
