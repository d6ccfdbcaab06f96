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
    let no_password = rec.str("password").is_none_or(php_empty) && !rec.flag("createpassword");
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
        .map(|u| user_details(ctx, u))
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

/// The keys of `core_user_external::user_description()` (the return of
/// get_users_by_field), in its order: clean_returnvalue keeps only these.
pub const USER_DESCRIPTION: &[&str] = &[
    "id",
    "username",
    "firstname",
    "lastname",
    "fullname",
    "email",
    "address",
    "phone1",
    "phone2",
    "department",
    "institution",
    "idnumber",
    "interests",
    "firstaccess",
    "lastaccess",
    "auth",
    "suspended",
    "confirmed",
    "lang",
    "calendartype",
    "theme",
    "timezone",
    "mailformat",
    "trackforums",
    "description",
    "descriptionformat",
    "city",
    "country",
    "profileimageurlsmall",
    "profileimageurl",
    "customfields",
    "preferences",
];

/// `user_get_user_details_courses` (system profile) cut to
/// `user_description`: what get_users_by_field answers for each user.
fn user_details(ctx: &Ctx, user: &User) -> Value {
    let details = user_get_user_details(ctx, user, None, &[]).unwrap_or_default();
    Value::Object(keep(details, USER_DESCRIPTION, true))
}

/// The fields `user_get_default_fields()` lists (4.x, without the removed
/// icq/skype/yahoo/aim/msn/url, which a 4.5 site no longer has).
pub const DEFAULT_FIELDS: &[&str] = &[
    "id",
    "username",
    "fullname",
    "firstname",
    "lastname",
    "email",
    "address",
    "phone1",
    "phone2",
    "department",
    "institution",
    "interests",
    "firstaccess",
    "lastaccess",
    "auth",
    "confirmed",
    "idnumber",
    "lang",
    "theme",
    "timezone",
    "mailformat",
    "description",
    "descriptionformat",
    "city",
    "country",
    "profileimageurlsmall",
    "profileimageurl",
    "customfields",
    "groups",
    "roles",
    "preferences",
    "enrolledcourses",
    "suspended",
];

/// The declared keys of `value`, in declared order (clean_returnvalue);
/// `displayvalue` of custom fields survives only where declared.
pub fn keep(mut details: Map<String, Value>, declared: &[&str], displayvalue: bool) -> Map<String, Value> {
    if !displayvalue {
        if let Some(Value::Array(fields)) = details.get_mut("customfields") {
            for field in fields {
                if let Value::Object(f) = field {
                    f.remove("displayvalue");
                }
            }
        }
    }
    let mut kept = Map::new();
    for key in declared {
        if let Some(v) = details.remove(*key) {
            kept.insert((*key).to_string(), v);
        }
    }
    kept
}

/// `user_get_user_details($user, $course, $userfields)` (user/lib.php) for
/// a site-admin caller, who holds every capability: `Err(field)` for a
/// requested field that is not a default field (`invaliduserfield`).
/// Rules kept from the source: username/firstname/lastname/email always;
/// address, phone1, phone2, city, country, institution, idnumber only
/// when not empty; department always (`isset`, the column defaults to
/// ''); description only when set (the column is NULL until written);
/// auth, confirmed, lang, theme, timezone, mailformat, suspended always;
/// roles and groups only with a course; enrolledcourses only when the user
/// has active enrolments (front page excluded); preferences only for the
/// caller's own record; customfields only when one is not empty.
pub fn user_get_user_details(
    ctx: &Ctx,
    user: &User,
    course: Option<i64>,
    userfields: &[&str],
) -> Result<Map<String, Value>, String> {
    for f in userfields {
        if !DEFAULT_FIELDS.contains(f) {
            return Err((*f).to_string());
        }
    }
    let wanted = |f: &str| userfields.is_empty() || userfields.contains(&f) || f == "id" || f == "fullname";
    let site_url = ctx.site_url;
    let mut details = Map::new();
    let mut put = |k: &str, v: Value| {
        if wanted(k) {
            details.insert(k.to_string(), v);
        }
    };
    put("id", json!(user.id));
    put("username", json!(user.username));
    put("firstname", json!(user.firstname));
    put("lastname", json!(user.lastname));
    put("fullname", json!(user.fullname()));
    let customfields = custom_fields_of(ctx, user);
    if !customfields.is_empty() {
        put("customfields", Value::Array(customfields));
    }
    put(
        "profileimageurl",
        json!(format!("{site_url}/theme/image.php/boost/core/1/u/f1")),
    );
    put(
        "profileimageurlsmall",
        json!(format!("{site_url}/theme/image.php/boost/core/1/u/f2")),
    );
    for name in ["address", "phone1", "phone2"] {
        if !user.field(name).is_empty() {
            put(name, json!(user.field(name)));
        }
    }
    if let Some(description) = user.fields.get("description") {
        put("description", json!(description));
        put("descriptionformat", json!(1));
    }
    for name in ["country", "city"] {
        if !user.field(name).is_empty() {
            put(name, json!(user.field(name)));
        }
    }
    put("suspended", json!(user.suspended));
    put("firstaccess", json!(0));
    put("lastaccess", json!(0));
    put("email", json!(user.email));
    if !user.field("interests").is_empty() {
        put("interests", json!(user.field("interests")));
    }
    if !user.idnumber.is_empty() {
        put("idnumber", json!(user.idnumber));
    }
    if !user.field("institution").is_empty() {
        put("institution", json!(user.field("institution")));
    }
    put("department", json!(user.field("department")));
    if let Some(courseid) = course {
        // get_user_roles($context, $userid, false): every assignment in the
        // course context, a role given by two components twice.
        let roles: Vec<Value> = ctx
            .state
            .role_assignments(courseid, user.id)
            .into_iter()
            .filter_map(|a| {
                super::super::state::role::info(a.roleid).map(|(shortname, sortorder)| {
                    json!({"roleid": a.roleid, "name": "", "shortname": shortname, "sortorder": sortorder})
                })
            })
            .collect();
        put("roles", Value::Array(roles));
        let groups: Vec<Value> = ctx
            .state
            .groups
            .values()
            .filter(|g| g.courseid == courseid && g.members.contains(&user.id))
            .map(
                |g| json!({"id": g.id, "name": g.name, "description": g.description, "descriptionformat": 1}),
            )
            .collect();
        put("groups", Value::Array(groups));
    }
    let enrolled = enrolled_courses(ctx, user.id);
    if !enrolled.is_empty() {
        put("enrolledcourses", Value::Array(enrolled));
    }
    if user.id == ctx.caller {
        let prefs: Vec<Value> = user
            .preferences
            .iter()
            .map(|(k, v)| json!({"name": k, "value": v}))
            .collect();
        put("preferences", Value::Array(prefs));
    }
    put("auth", json!(user.auth));
    put("confirmed", json!(true));
    // clean_param(PARAM_LANG / PARAM_THEME): uninstalled values become ''.
    let lang = match user.fields.get("lang") {
        Some(l) => l.as_str(),
        None => ctx.site.default_lang(),
    };
    let lang = if ctx.site.langs.iter().any(|l| l == lang) {
        lang
    } else {
        ""
    };
    put("lang", json!(lang));
    let theme = user.field("theme");
    let theme = if ctx.site.themes.iter().any(|t| t == theme) {
        theme
    } else {
        ""
    };
    put("theme", json!(theme));
    put(
        "timezone",
        json!(if user.field("timezone").is_empty() {
            "99"
        } else {
            user.field("timezone")
        }),
    );
    let mailformat: i64 = user.field("mailformat").parse().unwrap_or(1);
    put("mailformat", json!(mailformat));
    Ok(details)
}

/// Non-empty custom fields in the site's field order (then undefined
/// shortnames, as text fields named by their shortname).
fn custom_fields_of(ctx: &Ctx, user: &User) -> Vec<Value> {
    let defined = &ctx.state.profile_fields;
    let mut order: Vec<(String, String, String)> = defined
        .iter()
        .map(|f| (f.shortname.clone(), f.name.clone(), f.datatype.clone()))
        .collect();
    for shortname in user.customfields.keys() {
        if !defined.iter().any(|f| &f.shortname == shortname) {
            order.push((shortname.clone(), shortname.clone(), "text".to_string()));
        }
    }
    order
        .into_iter()
        .filter_map(|(shortname, name, datatype)| {
            let value = user.customfields.get(&shortname).filter(|v| !v.is_empty())?;
            Some(json!({"type": datatype, "value": value, "displayvalue": value, "name": name, "shortname": shortname}))
        })
        .collect()
}

/// `enrol_get_users_courses($userid, true)` minus the front page:
/// active enrolments, ordered by course sortorder.
fn enrolled_courses(ctx: &Ctx, userid: i64) -> Vec<Value> {
    let now = now();
    ctx.state
        .courses
        .values()
        .filter(|c| c.categoryid != 0 && ctx.state.is_active(c.id, userid, now))
        .map(|c| json!({"id": c.id, "fullname": c.fullname, "shortname": c.shortname}))
        .collect()
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

// ---- core_user_get_users and core_user_delete_users (user/externallib.php) ----

pub fn get_users_params(_: &SiteConfig) -> Desc {
    single(vec![required(
        "criteria",
        list(single(vec![
            required("key", value(T::Alpha)),
            required("value", value(T::Raw)),
        ])),
    )])
}

/// One valid criterion: the column and the cleaned value.
struct Criterion {
    key: String,
    value: String,
}

impl Criterion {
    /// `=` for id, idnumber, username, auth; `sql_like(..., false)` (ILIKE,
    /// `%` and `_` wildcards, `\` escapes) for email, firstname, lastname.
    fn matches(&self, user: &User) -> bool {
        match self.key.as_str() {
            "id" => user.id.to_string() == self.value,
            "idnumber" => user.idnumber == self.value,
            "username" => user.username == self.value,
            "auth" => user.auth == self.value,
            "email" => sql_ilike(&user.email, &self.value),
            "firstname" => sql_ilike(&user.firstname, &self.value),
            _ => sql_ilike(&user.lastname, &self.value),
        }
    }
}

/// Criteria are ANDed. A key sent twice is a `keyalreadyset`
/// moodle_exception (checked before the key is recognised); an unknown key
/// is a warning `invalidfieldparameter` and is left out of the search. Each
/// value is cleaned with the column's type (not strictly checked). Deleted
/// users never match; matches come by id, and a user whose details lack a
/// searched field (PHP `empty()`, e.g. an empty idnumber) is dropped.
pub fn get_users(ctx: &mut Ctx, params: Rec) -> Result<Value, WsError> {
    let mut used: Vec<String> = Vec::new();
    let mut warnings = Vec::new();
    let mut criteria = Vec::new();
    for crit in params.list("criteria") {
        let key = crit.text("key");
        if used.iter().any(|k| k == key) {
            return Err(WsError::new(
                class::MOODLE,
                "keyalreadyset",
                "error/keyalreadyset",
                Some(format!("The key {key} can only be sent once")),
            ));
        }
        used.push(key.to_string());
        let raw = crit.text("value");
        let value = match key {
            "id" => super::courses::php_int(raw).to_string(),
            "idnumber" => raw.to_string(),
            "username" => clean_lookup_value("username", raw),
            "email" => clean_lookup_value("email", raw),
            "auth" => {
                if ctx.site.auth_plugins.iter().any(|a| a == raw) {
                    raw.to_string()
                } else {
                    String::new()
                }
            }
            "firstname" | "lastname" => match moodle_params::notags(raw) {
                Ok(()) => raw.to_string(),
                Err(r) => r.cleaned.unwrap_or_default(),
            },
            _ => {
                warnings.push(json!({
                    "item": key,
                    "warningcode": "invalidfieldparameter",
                    "message": format!("The search key '{key}' is not supported, look at the web service documentation"),
                }));
                continue;
            }
        };
        criteria.push(Criterion {
            key: key.to_string(),
            value,
        });
    }
    let mut users = Vec::new();
    for user in ctx.state.users.values().filter(|u| !u.deleted) {
        if !criteria.iter().all(|c| c.matches(user)) {
            continue;
        }
        let details = user_get_user_details(ctx, user, None, &[]).unwrap_or_default();
        let complete = criteria.iter().all(|c| {
            details
                .get(&c.key)
                .is_some_and(|v| !matches!(v, Value::Null | Value::Bool(false)) && !php_empty(&plain(v)))
        });
        if complete {
            users.push(Value::Object(keep(details, USER_DESCRIPTION, true)));
        }
    }
    Ok(json!({"users": users, "warnings": warnings}))
}

/// A scalar JSON value as PHP would stringify it.
fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// PostgreSQL `value ILIKE pattern ESCAPE '\'`: `%` any run, `_` one
/// character, `\` makes the next one literal; case folded.
pub fn sql_ilike(value: &str, pattern: &str) -> bool {
    fn go(v: &[char], p: &[char]) -> bool {
        match p.first() {
            None => v.is_empty(),
            Some('%') => (0..=v.len()).any(|i| go(&v[i..], &p[1..])),
            Some('_') => !v.is_empty() && go(&v[1..], &p[1..]),
            Some('\\') if p.len() > 1 => v.first() == Some(&p[1]) && go(&v[1..], &p[2..]),
            Some(c) => v.first() == Some(c) && go(&v[1..], &p[1..]),
        }
    }
    let v: Vec<char> = value.to_lowercase().chars().collect();
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    go(&v, &p)
}

pub fn delete_users_params(_: &SiteConfig) -> Desc {
    single(vec![required("userids", list(value(T::Int)))])
}

/// One transaction: each id must be a user not deleted (also not earlier
/// in this call), not a site admin (`useradminodelete`) and not the caller
/// (`usernotdeletederror`); any failure deletes nothing. The guest account
/// passes these checks but `delete_user` (lib/moodlelib.php) refuses it
/// with a mere debugging message, so it stays and the call still answers
/// null. Deleting keeps the row marked deleted, with the username
/// replaced by the cleaned email plus `.<time>`, the email by the md5 of
/// the old username and the idnumber cleared; enrolments, role
/// assignments, group memberships and grades go.
pub fn delete_users(ctx: &mut Ctx, params: Rec) -> Result<Value, WsError> {
    let mut planned: Vec<i64> = Vec::new();
    for id in params.strings("userids") {
        let id: i64 = id.parse().unwrap_or_default();
        let Some(user) = ctx
            .state
            .users
            .get(&id)
            .filter(|u| !u.deleted && !planned.contains(&u.id))
        else {
            return Err(WsError::missing_record(
                "invaliduser",
                "Invalid user",
                format!("SELECT * FROM {{user}} WHERE id = ? AND deleted = ?\n[array (\n  0 => {id},\n  1 => 0,\n)]"),
            ));
        };
        if user.site_admin {
            return Err(WsError::moodle(
                "useradminodelete",
                "Admin accounts cannot be deleted",
            ));
        }
        if user.id == ctx.caller {
            return Err(WsError::moodle(
                "usernotdeletederror",
                "User not deleted - unknown error",
            ));
        }
        if user.username == "guest" || user.id == 1 {
            continue;
        }
        planned.push(id);
    }
    let time = now();
    for id in planned {
        let user = ctx.state.users[&id].clone();
        let username = deleted_username(ctx.state, &user, time);
        let row = ctx.state.users.get_mut(&id).expect("planned");
        row.deleted = true;
        row.email = md5_hex(user.username.as_bytes());
        row.username = username;
        row.idnumber.clear();
        ctx.state.remove_user_data(id);
        ctx.committed = true;
    }
    Ok(Value::Null)
}

/// `delete_user`'s new username: the email (or `username.id@unknownemail.
/// invalid`) cleaned as PARAM_USERNAME, cut to leave room for `.<time>`
/// within 100 characters; bumped (PHP `$delname++`) while taken.
fn deleted_username(state: &SiteState, user: &User, time: i64) -> String {
    let source = if user.email.is_empty() {
        format!("{}.{}@unknownemail.invalid", user.username, user.id)
    } else {
        user.email.clone()
    };
    let cleaned: String = source
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| super::super::params::is_username_char(*c))
        .collect();
    let stamp = time.to_string();
    let keep_chars = 100 - (stamp.len() + 1);
    let base: String = cleaned.chars().take(keep_chars).collect();
    let mut suffix = time;
    loop {
        let name = format!("{base}.{suffix}");
        if username_taken(state, &name) {
            suffix += 1;
        } else {
            return name;
        }
    }
}

fn username_taken(state: &SiteState, name: &str) -> bool {
    state.users.values().any(|u| u.username == name)
}

/// MD5 of `data` as 32 lowercase hex digits (PHP `md5()`).
pub fn md5_hex(data: &[u8]) -> String {
    const S: [u32; 64] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
        5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15,
        21, 6, 10, 15, 21, 6, 10, 15, 21,
    ];
    let k: Vec<u32> = (0..64)
        .map(|i| ((i as f64 + 1.0).sin().abs() * 4_294_967_296.0) as u32)
        .collect();
    let mut msg = data.to_vec();
    let bits = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bits.to_le_bytes());
    let (mut a0, mut b0, mut c0, mut d0) = (0x6745_2301u32, 0xefcd_ab89u32, 0x98ba_dcfeu32, 0x1032_5476u32);
    for chunk in msg.chunks(64) {
        let m: Vec<u32> = chunk
            .chunks(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        let (mut a, mut b, mut c, mut d) = (a0, b0, c0, d0);
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let f = f.wrapping_add(a).wrapping_add(k[i]).wrapping_add(m[g]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(f.rotate_left(S[i]));
        }
        a0 = a0.wrapping_add(a);
        b0 = b0.wrapping_add(b);
        c0 = c0.wrapping_add(c);
        d0 = d0.wrapping_add(d);
    }
    [a0, b0, c0, d0]
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .map(|b| format!("{b:02x}"))
        .collect()
}
