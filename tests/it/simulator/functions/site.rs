//! core_webservice_get_site_info (moodle-ws.md 2.14).

use serde_json::{json, Value};

use super::super::config::SiteConfig;
use super::super::params::{default_empty, list, single, value, Desc, ParamType, Rec};
use super::super::response::WsError;
use super::Ctx;

/// Moodle 4.5.0 as observed (moodle-ws.md 6).
pub const RELEASE: &str = "4.5 (Build: 20241007)";
pub const VERSION: &str = "2024100700";

pub fn site_info_params(_: &SiteConfig) -> Desc {
    // serviceshortnames is deprecated and ignored.
    single(vec![default_empty(
        "serviceshortnames",
        list(value(ParamType::Alphanumext)),
    )])
}

/// `functions` is exactly the token's service: a client's preflight for
/// "the token works and has what the template needs".
pub fn get_site_info(ctx: &mut Ctx, _: Rec) -> Result<Value, WsError> {
    let user = ctx.state.users.get(&ctx.caller).cloned().unwrap_or_default();
    let functions: Vec<Value> = ctx
        .service_functions
        .iter()
        .map(|name| json!({"name": name, "version": VERSION}))
        .collect();
    Ok(json!({
        "sitename": ctx.site.sitename,
        "username": user.username,
        "firstname": user.firstname,
        "lastname": user.lastname,
        "fullname": user.fullname(),
        "lang": ctx.site.default_lang(),
        "userid": user.id,
        "siteurl": ctx.site_url,
        "userpictureurl": format!("{}/theme/image.php/boost/core/1/u/f1", ctx.site_url),
        "functions": functions,
        "downloadfiles": 0,
        "uploadfiles": 0,
        "release": RELEASE,
        "version": VERSION,
        "mobilecssurl": "",
        "advancedfeatures": [{"name": "usecomments", "value": 1}, {"name": "usetags", "value": 1}],
        "usercanmanageownfiles": true,
        "userquota": 104857600,
        "usermaxuploadfilesize": 104857600,
        "userhomepage": 1,
        "siteid": 1,
        "sitecalendartype": "gregorian",
        "usercalendartype": "gregorian",
        "userissiteadmin": user.site_admin,
        "theme": "boost",
    }))
}
