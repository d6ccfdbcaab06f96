//! core_user_create_users (moodle-ws.md 2.1), core_user_update_users (2.2)
//! and core_user_get_users_by_field (2.4).

use moodlec::moodle::{country, email, params as moodle_params, password};
use serde_json::{json, Map, Value};
use std::collections::HashSet;

use super::super::config::SiteConfig;
use super::super::params::{
    default, list, optional, required, single, value, Desc, Field, ParamType as T, Rec,
};
use super::super::response::{class, WsError};
use super::super::state::{SiteState, User};
use super::{check_column, php_empty, php_trim, Ctx};

/// Auth plugins whose `is_internal()` is true: they store a password.
const INTERNAL_AUTHS: &[&str] = &["manual", "email", "nologin", "none"];

/// Fields stored as they come, in `User::fields`.
const PROFILE_FIELDS: &[&str] = &[
    "maildisplay",
    "city",
    "country",
    "timezone",
    "description",
    "firstnamephonetic",
    "lastnamephonetic",
    "middlename",
    "alternatename",
    "interests",
    "institution",
    "department",
    "phone1",
    "phone2",
    "address",
    "lang",
    "calendartype",
    "theme",
    "mailformat",
];

fn custom_fields() -> Desc {
    list(single(vec![
        required("type", value(T::Alphanumext)),
        required("value", value(T::Raw)),
    ]))
}

fn preferences() -> Desc {
    list(single(vec![
        required("type", value(T::Raw)),
        required("value", value(T::Raw)),
    ]))
}

/// The user fields of create and update after username/auth/password
/// (same order as user/externallib.php).
fn profile_fields(site: &SiteConfig, creating: bool) -> Vec<Field> {
    let maybe_default = |name, t, d: &str| {
        if creating {
            default(name, value(t), d)
        } else {
            optional(name, value(t))
        }
    };
    let o = |name, t| optional(name, value(t));
    vec![
        o("maildisplay", T::Int),
        o("city", T::Text),
        o("country", T::Alpha),
        o("timezone", T::Timezone),
        o("description", T::Raw),
        o("firstnamephonetic", T::Notags),
        o("lastnamephonetic", T::Notags),
        o("middlename", T::Notags),
        o("alternatename", T::Notags),
        o("interests", T::Text),
        maybe_default("idnumber", T::Raw, ""),
        o("institution", T::Text),
        o("department", T::Text),
        o("phone1", T::Notags),
        o("phone2", T::Notags),
        o("address", T::Text),
        maybe_default("lang", T::Lang, site.default_lang()),
        maybe_default("calendartype", T::Plugin, "gregorian"),
        o("theme", T::Theme),
        o("mailformat", T::Int),
        optional("customfields", custom_fields()),
        optional("preferences", preferences()),
    ]
}

pub fn create_params(site: &SiteConfig) -> Desc {
    let mut fields = vec![
        optional("createpassword", value(T::Bool)),
        required("username", value(T::Username)),
        default("auth", value(T::Auth), "manual"),
        optional("password", value(T::Raw)),
        required("firstname", value(T::Notags)),
        required("lastname", value(T::Notags)),
        required("email", value(T::RawTrimmed)),
    ];
    fields.extend(profile_fields(site, true));
    single(vec![required("users", list(single(fields)))])
}

pub fn update_params(site: &SiteConfig) -> Desc {
    let mut fields = vec![
        required("id", value(T::Int)),
        optional("username", value(T::Username)),
        optional("auth", value(T::Auth)),
        optional("suspended", value(T::Bool)),
        optional("password", value(T::Raw)),
        optional("firstname", value(T::Notags)),
        optional("lastname", value(T::Notags)),
        optional("email", value(T::RawTrimmed)),
        optional("userpicture", value(T::Int)),
    ];
    fields.extend(profile_fields(site, false));
    single(vec![required("users", list(single(fields)))])
}

pub fn by_field_params(_: &SiteConfig) -> Desc {
    single(vec![
        required("field", value(T::Alpha)),
        required("values", list(value(T::Raw))),
    ])
}

/// One transaction for the whole call (4.1): the first bad user aborts it
/// and nothing is created. Users inserted before the failure still used up
/// their ids, as a PostgreSQL sequence does.
pub fn create_users(ctx: &mut Ctx, params: Rec) -> Result<Value, WsError> {
    let mut batch: Vec<User> = Vec::new();
    let mut taken = Taken::on_site(ctx.state);
    for rec in params.list("users") {
        check_new_user(ctx, rec, &taken)?;
        let user = insert_user(ctx, rec)?;
        taken.add(&user);
        batch.push(user);
    }
    let created: Vec<Value> = batch
        .iter()
        .map(|u| json!({"id": u.id, "username": u.username}))
        .collect();
    ctx.committed = !batch.is_empty();
    for user in batch {
        ctx.state.users.insert(user.id, user);
    }
    Ok(Value::Array(created))
}

/// The usernames and emails already taken, on the site or by users created
/// earlier in this call. Moodle asks indexed tables, so a duplicate check
/// must not cost a scan of every user per record: that made the simulator,
/// not the client, the bottleneck of the runner benchmark.
struct Taken {
    usernames: HashSet<String>,
    /// Lowercased: Moodle compares emails with `LOWER()` on both sides.
    emails: HashSet<String>,
}

impl Taken {
    fn on_site(state: &SiteState) -> Self {
        let mut taken = Taken {
            usernames: HashSet::with_capacity(state.users.len()),
            emails: HashSet::with_capacity(state.users.len()),
        };
        for user in state.users.values() {
            taken.add(user);
        }
        taken
    }

    fn add(&mut self, user: &User) {
        self.usernames.insert(user.username.clone());
        self.emails.insert(user.email.to_lowercase());
    }

    fn email(&self, mail: &str) -> bool {
        self.emails.contains(&mail.to_lowercase())
    }
}

/// Steps 1–7 of 2.1, each an invalid_parameter_exception. Duplicates are
/// checked against the site and the users created earlier in this call.
fn check_new_user(ctx: &Ctx, rec: Rec, taken: &Taken) -> Result<(), WsError> {
    for field in ["username", "firstname", "lastname"] {
        if php_trim(rec.text(field)).is_empty() {
            return Err(WsError::invalid_parameter(format!(
                "The field {field} cannot be blank"
            )));
        }
    }
    let username = rec.text("username");
    if taken.usernames.contains(username) {
        return Err(WsError::invalid_parameter(format!(
            "Username already exists: {username}"
        )));
    }
    let auth = rec.text("auth");
    if auth == "mnet" || auth == "webservice" || !ctx.site.auth_plugins.iter().any(|a| a == auth) {
        return Err(WsError::invalid_parameter(format!(
            "Invalid authentication type: {auth}"
        )));
    }
    if let Some(theme) = rec.str("theme").filter(|t| !t.is_empty()) {
        if !ctx.site.themes.iter().any(|t| t == theme) {
            return Err(WsError::invalid_parameter(format!("Invalid theme: {theme}")));
        }
    }
    let no_password = rec.str("password").map_or(true, php_empty) && !rec.flag("createpassword");
    if INTERNAL_AUTHS.contains(&auth) && no_password {
        return Err(WsError::invalid_parameter(
            "Invalid password: you must provide a password, or set createpassword.",
        ));
    }
    let mail = rec.text("email");
    if email::validate_email(mail).is_err() {
        return Err(WsError::invalid_parameter(format!(
            "Email address is invalid: {mail}"
        )));
    }
    if !ctx.site.allow_accounts_same_email && taken.email(mail) {
        return Err(WsError::invalid_parameter(format!(
            "Email address already exists: {mail}"
        )));
    }
    Ok(())
}

/// Moodle compares emails with `LOWER()` on both sides.
fn same_email(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

/// Step 8 (`user_create_user`): the password policy, then the insert.
fn insert_user(ctx: &mut Ctx, rec: Rec) -> Result<User, WsError> {
    let auth = rec.text("auth");
    let stores_password = INTERNAL_AUTHS.contains(&auth) && !rec.flag("createpassword");
    let password = rec.str("password").filter(|_| stores_password);
    if let Some(password) = password {
        check_password(ctx.site, password)?;
    }
    let id = ctx.state.take_user_id();
    for (column, max) in [
        ("username", 100),
        ("firstname", 100),
        ("lastname", 100),
        ("email", 100),
    ] {
        check_column("user", column, rec.text(column), max)?;
    }
    if let Some(password) = password {
        password::length_limit(password).map_err(|message| WsError::moodle("passwordexceeded", &message))?;
    }
    let mut user = User {
        id,
        username: rec.text("username").to_string(),
        password: password.map(str::to_string),
        firstname: rec.text("firstname").to_string(),
        lastname: rec.text("lastname").to_string(),
        email: rec.text("email").to_string(),
        auth: auth.to_string(),
        idnumber: rec.text("idnumber").to_string(),
        password_mailed: rec.flag("createpassword") && INTERNAL_AUTHS.contains(&auth),
        ..User::default()
    };
    apply_profile(&mut user, rec);
    Ok(user)
}

/// Copies the optional fields. A country that is not in Moodle's list is
/// silently replaced by the site default ('' here), as core_user's
/// `clean_field` does (2.1 step 9).
fn apply_profile(user: &mut User, rec: Rec) {
    for &name in PROFILE_FIELDS {
        if let Some(v) = rec.str(name) {
            let v = if name == "country" && country::country(v).is_err() {
                ""
            } else {
                v
            };
            user.fields.insert(name.to_string(), v.to_string());
        }
    }
    user.customfields.extend(rec.pairs("customfields", "type"));
    user.preferences.extend(rec.pairs("preferences", "type"));
}

/// Moodle's password policy, if on: failures are a moodle_exception whose
/// errorcode is the `<div>` list and whose message is `error/` + that list
/// (observed, moodle-ws.md 6).
fn check_password(site: &SiteConfig, password: &str) -> Result<(), WsError> {
    let Some(policy) = &site.password_policy else {
        return Ok(());
    };
    password::check(policy, password).map_err(|errors| {
        let html = password::error_html(&errors);
        WsError::new(class::MOODLE, &html, &format!("error/{html}"), None)
    })
}

/// One transaction per user (4.1): a failing user becomes a warning and the
/// others are committed. A warning whose code is not PARAM_ALPHANUM (the
/// password policy's `<div>` list) makes the return value invalid, so the
/// caller gets invalid_response_exception although the rest was committed
/// (the 2.2 pitfall).
pub fn update_users(ctx: &mut Ctx, params: Rec) -> Result<Value, WsError> {
    let mut warnings = Vec::new();
    for rec in params.list("users") {
        let id = rec.int("id").unwrap_or_default();
        match update_one(ctx, rec) {
            Ok(()) => ctx.committed = true,
            Err(e) => warnings.push((id, e)),
        }
    }
    for (_, e) in &warnings {
        let code = e.errorcode.clone().unwrap_or_default();
        if moodle_params::alphanum(&code).is_err() {
            return Err(WsError::invalid_response(format!(
                "warnings => Invalid response value detected: warningcode => Invalid response value detected: \
                 Invalid external api response: the value is \"{code}\", the server was expecting \"alphanum\" type"
            )));
        }
    }
    let warnings: Vec<Value> = warnings
        .into_iter()
        .map(|(id, e)| {
            json!({"item": "user", "itemid": id, "warningcode": e.errorcode.unwrap_or_default(), "message": e.message})
        })
        .collect();
    Ok(json!({ "warnings": warnings }))
}

/// The checks of 2.2 in Moodle's order, then `user_update_user`.
fn update_one(ctx: &mut Ctx, rec: Rec) -> Result<(), WsError> {
    let id = rec.int("id").unwrap_or_default();
    let Some(existing) = ctx.state.users.get(&id).cloned() else {
        return Err(WsError::moodle("invaliduserid", "Invalid user id"));
    };
    let caller_is_admin = ctx.state.users.get(&ctx.caller).is_some_and(|u| u.site_admin);
    if existing.id != ctx.caller && existing.site_admin && !caller_is_admin {
        return Err(WsError::moodle(
            "usernotupdatedadmin",
            "Cannot update admin accounts",
        ));
    }
    if existing.deleted {
        return Err(WsError::moodle("usernotupdateddeleted", "User is a deleted user"));
    }
    if existing.username == "guest" {
        return Err(WsError::moodle(
            "usernotupdatedguest",
            "Cannot update guest account",
        ));
    }
    if let Some(mail) = rec.str("email").filter(|m| *m != existing.email) {
        if email::validate_email(mail).is_err() {
            return Err(WsError::moodle("useremailinvalid", "Invalid email address"));
        }
        let taken = ctx
            .state
            .users
            .values()
            .any(|u| u.id != id && same_email(&u.email, mail));
        if !ctx.site.allow_accounts_same_email && taken {
            return Err(WsError::moodle("useremailduplicate", "Duplicate email address"));
        }
    }
    let updated = updated_user(ctx, existing, rec)?;
    ctx.state.users.insert(id, updated);
    Ok(())
}

/// `user_update_user`: username uniqueness is left to the database's
/// unique index (a `dmlwriteexception` warning); a new password must pass
/// the policy.
fn updated_user(ctx: &Ctx, mut user: User, rec: Rec) -> Result<User, WsError> {
    if let Some(username) = rec.str("username").filter(|n| *n != user.username) {
        if ctx.state.user_by_username(username).is_some() {
            return Err(WsError::write(format!(
                "ERROR:  duplicate key value violates unique constraint \"mdl_user_mneuse_uix\"\n\
                 DETAIL:  Key (mnethostid, username)=(1, {username}) already exists."
            )));
        }
        user.username = username.to_string();
    }
    if let Some(password) = rec.str("password") {
        check_password(ctx.site, password)?;
        user.password = Some(password.to_string());
    }
    for (name, slot) in [
        ("firstname", &mut user.firstname),
        ("lastname", &mut user.lastname),
        ("email", &mut user.email),
        ("auth", &mut user.auth),
        ("idnumber", &mut user.idnumber),
    ] {
        if let Some(v) = rec.str(name) {
            *slot = v.to_string();
        }
    }
    if rec.str("suspended").is_some() {
        user.suspended = rec.flag("suspended");
    }
    apply_profile(&mut user, rec);
    Ok(user)
}

/// Values are cleaned with the field's type and compared loosely; no match
/// means no entry in the answer (2.4).
pub fn get_users_by_field(ctx: &mut Ctx, params: Rec) -> Result<Value, WsError> {
    let field = params.text("field");
    if !matches!(field, "id" | "idnumber" | "username" | "email") {
        return Err(WsError::new(
            class::CODING,
            "codingerror",
            "Coding error detected, it must be fixed by a programmer: invalid field parameter",
            Some(format!(
                "The search field '{field}' is not supported, look at the web service documentation"
            )),
        ));
    }
    let mut wanted = Vec::new();
    for v in params.strings("values") {
        let cleaned = clean_lookup_value(field, v);
        if !loosely_equal(v, &cleaned) {
            return Err(WsError::invalid_parameter(format!(
                "The field '{field}' value is invalid: {v}(cleaned value: {cleaned})"
            )));
        }
        wanted.push(cleaned);
    }
    // get_records_list(..., 'id'): ordered by id, each user once.
    let found: Vec<Value> = ctx
        .state
        .users
        .values()
        .filter(|u| !u.deleted && wanted.iter().any(|w| user_field(u, field) == *w))
        .map(|u| user_details(u, ctx.site_url))
        .collect();
    Ok(Value::Array(found))
}

/// `clean_param($value, <field type>)`: id INT, idnumber RAW, username
/// USERNAME, email RAW_TRIMMED (the non-strict cleaning, via the port's
/// suggested clean value).
fn clean_lookup_value(field: &str, v: &str) -> String {
    let cleaned = |r: Result<(), moodlec::moodle::Rejection>| match r {
        Ok(()) => v.to_string(),
        Err(rejection) => rejection.cleaned.unwrap_or_else(|| v.to_string()),
    };
    match field {
        "id" => php_int_cast(v).to_string(),
        "username" => cleaned(moodle_params::username(v).map(|_| ())),
        "email" => cleaned(moodle_params::raw_trimmed(v)),
        _ => cleaned(moodle_params::raw(v)),
    }
}

/// PHP 8 `$value != $cleaned` for two strings: numeric strings compare as
/// numbers ("007" == "7"), others byte for byte.
fn loosely_equal(a: &str, b: &str) -> bool {
    let number = |s: &str| {
        s.trim_matches([' ', '\t', '\n', '\r', '\u{0B}', '\u{0C}'])
            .parse::<f64>()
            .ok()
    };
    match (number(a), number(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// PHP's `(int)` cast of a string: leading whitespace, sign, digits.
fn php_int_cast(s: &str) -> i64 {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\u{0B}', '\u{0C}']);
    let (sign, digits) = match t.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, t.strip_prefix('+').unwrap_or(t)),
    };
    let digits: String = digits.chars().take_while(char::is_ascii_digit).collect();
    digits.parse::<i64>().map_or(0, |n| sign * n)
}

fn user_field(user: &User, field: &str) -> String {
    match field {
        "id" => user.id.to_string(),
        "idnumber" => user.idnumber.clone(),
        "username" => user.username.clone(),
        // PostgreSQL compares case-sensitively (2.4).
        _ => user.email.clone(),
    }
}

/// The user object of `user_get_user_details` for a caller who may see
/// everything.
fn user_details(user: &User, site_url: &str) -> Value {
    let mut details = Map::new();
    let mut put = |k: &str, v: Value| {
        details.insert(k.to_string(), v);
    };
    put("id", json!(user.id));
    put("username", json!(user.username));
    put("firstname", json!(user.firstname));
    put("lastname", json!(user.lastname));
    put("fullname", json!(user.fullname()));
    put("email", json!(user.email));
    for name in [
        "address",
        "phone1",
        "phone2",
        "department",
        "institution",
        "interests",
        "city",
        "country",
    ] {
        if !user.field(name).is_empty() {
            put(name, json!(user.field(name)));
        }
    }
    if !user.idnumber.is_empty() {
        put("idnumber", json!(user.idnumber));
    }
    put("firstaccess", json!(0));
    put("lastaccess", json!(0));
    put("auth", json!(user.auth));
    put("suspended", json!(user.suspended));
    put("confirmed", json!(true));
    put("lang", json!(user.field("lang")));
    put("theme", json!(user.field("theme")));
    put(
        "timezone",
        json!(if user.field("timezone").is_empty() {
            "99"
        } else {
            user.field("timezone")
        }),
    );
    put("mailformat", json!(1));
    put("description", json!(user.field("description")));
    put("descriptionformat", json!(1));
    put(
        "profileimageurlsmall",
        json!(format!("{site_url}/theme/image.php/boost/core/1/u/f2")),
    );
    put(
        "profileimageurl",
        json!(format!("{site_url}/theme/image.php/boost/core/1/u/f1")),
    );
    if !user.customfields.is_empty() {
        let fields: Vec<Value> = user
            .customfields
            .iter()
            .map(|(k, v)| json!({"type": "text", "value": v, "displayvalue": v, "name": k, "shortname": k}))
            .collect();
        put("customfields", Value::Array(fields));
    }
    let prefs: Vec<Value> = user
        .preferences
        .iter()
        .map(|(k, v)| json!({"name": k, "value": v}))
        .collect();
    put("preferences", Value::Array(prefs));
    Value::Object(details)
}
