//! enrol_manual_enrol_users (moodle-ws.md 2.5), enrol_manual_unenrol_users
//! (2.6), core_enrol_get_enrolled_users (2.12) and
//! core_enrol_get_course_enrolment_methods; core_role_assign_roles and
//! core_role_unassign_roles. The writes run one transaction for the whole
//! call and answer `null` on success (enrol/manual/externallib.php,
//! enrol/externallib.php, lib/enrollib.php).

use serde_json::{json, Value};

use super::super::config::SiteConfig;
use super::super::params::{
    list, optional, required, single, value, Desc, Field, ParamType as T, Presence, Rec,
};
use super::super::response::{class, WsError};
use super::super::state::{role, Course, SiteState, User, COURSE_CONTEXT_BASE};
use super::courses::php_int;
use super::users::{keep, now, user_get_user_details};
use super::{php_empty, sql_debug, Ctx};

pub fn enrol_params(_: &SiteConfig) -> Desc {
    single(vec![required(
        "enrolments",
        list(single(vec![
            required("roleid", value(T::Int)),
            required("userid", value(T::Int)),
            required("courseid", value(T::Int)),
            optional("timestart", value(T::Int)),
            optional("timeend", value(T::Int)),
            optional("suspend", value(T::Int)),
        ])),
    )])
}

pub fn unenrol_params(_: &SiteConfig) -> Desc {
    single(vec![required(
        "enrolments",
        list(single(vec![
            required("userid", value(T::Int)),
            required("courseid", value(T::Int)),
            optional("roleid", value(T::Int)),
        ])),
    )])
}

/// A checked enrolment of enrol_users, applied once all are checked.
struct Planned {
    courseid: i64,
    userid: i64,
    roleid: i64,
    timestart: i64,
    timeend: i64,
    suspended: bool,
}

/// Checks every enrolment in order (course, role, enabled manual instance,
/// user) and applies them all only if none failed: one bad enrolment rolls
/// back the whole call. Re-enrolling updates the manual enrolment
/// (`enrol_plugin::enrol_user` in lib/enrollib.php, with the status the
/// web service always passes): absent times become 0, absent `suspend`
/// means active, and the role is assigned (without component) in addition
/// to the roles the user has.
pub fn enrol_users(ctx: &mut Ctx, params: Rec) -> Result<Value, WsError> {
    let mut planned = Vec::new();
    for rec in params.list("enrolments") {
        planned.push(check_enrolment(ctx, rec)?);
    }
    for p in planned {
        let entry = ctx.state.enrol_manual(p.courseid, p.userid);
        entry.timestart = p.timestart;
        entry.timeend = p.timeend;
        entry.suspended = p.suspended;
        entry.roles.insert(p.roleid);
        ctx.committed = true;
    }
    Ok(Value::Null)
}

fn check_enrolment(ctx: &Ctx, rec: Rec) -> Result<Planned, WsError> {
    let (roleid, userid, courseid) = (
        rec.int("roleid").unwrap_or_default(),
        rec.int("userid").unwrap_or_default(),
        rec.int("courseid").unwrap_or_default(),
    );
    // context_course::instance(IGNORE_MISSING) + validate_context.
    if !ctx.state.courses.contains_key(&courseid) {
        return Err(WsError::invalid_parameter("Context does not exist"));
    }
    if !ctx.site.assignable_roles.contains(&roleid) {
        return Err(WsError::moodle(
            "wsusercannotassign",
            &format!(
                "You don't have the permission to assign this role ({roleid}) to this user ({userid}) in this course ({courseid})."
            ),
        ));
    }
    // enrol_get_instances($courseid, true): enabled instances only.
    let enabled = ctx
        .state
        .instances(courseid)
        .into_iter()
        .any(|i| i.enrol == "manual" && i.enabled);
    if !enabled {
        return Err(no_instance());
    }
    // 4.5 answers a PHP TypeError without errorcode here (moodle-ws.md 6;
    // the message text is not recorded there and is made up).
    if ctx.state.users.get(&userid).is_none_or(|u| u.deleted) {
        return Err(WsError::type_error(
            "core_user::get_user(): Return value must be of type stdClass|false, null returned",
        ));
    }
    Ok(Planned {
        courseid,
        userid,
        roleid,
        timestart: rec.int("timestart").unwrap_or(0),
        timeend: rec.int("timeend").unwrap_or(0),
        suspended: rec.int("suspend").is_some_and(|s| s != 0),
    })
}

/// Both manual functions pass their parameters as the exception's `$link`,
/// not as `$a`, so the language string keeps its `{$a->courseid}`
/// placeholder (enrol/manual/externallib.php).
fn no_instance() -> WsError {
    WsError::moodle(
        "wsnoinstance",
        "Manual enrolment plugin instance doesn't exist or is disabled for the course (id = {$a->courseid})",
    )
}

/// Removes the users' enrolments of the course's manual instance
/// (`enrol_plugin::unenrol_user`; `roleid` is accepted but unused).
/// Enrolments by other methods are left alone; the roles without component
/// go only with the user's last enrolment in the course. Unenrolling
/// someone who is not enrolled is a silent no-op.
pub fn unenrol_users(ctx: &mut Ctx, params: Rec) -> Result<Value, WsError> {
    let mut planned = Vec::new();
    for rec in params.list("enrolments") {
        planned.push(check_unenrolment(ctx, rec)?);
    }
    for (instanceid, userid) in planned {
        ctx.committed |= ctx.state.unenrol_instance(instanceid, userid);
    }
    Ok(Value::Null)
}

fn check_unenrolment(ctx: &Ctx, rec: Rec) -> Result<(i64, i64), WsError> {
    let userid = rec.int("userid").unwrap_or_default();
    let courseid = rec.int("courseid").unwrap_or_default();
    // context_course::instance(MUST_EXIST): a DML error on table course.
    if !ctx.state.courses.contains_key(&courseid) {
        return Err(WsError::missing_record(
            "invalidrecord",
            "Can not find data record in database table course.",
            sql_debug(
                "SELECT id,category FROM {course} WHERE id = ?",
                &courseid.to_string(),
            ),
        ));
    }
    // get_record('enrol', courseid + manual): enabled or not.
    let Some(instance) = ctx.state.manual_instance(courseid) else {
        return Err(no_instance());
    };
    // get_record('user', id): deleted users still have their row.
    if !ctx.state.users.contains_key(&userid) {
        return Err(WsError::invalid_parameter(format!("User id not exist: {userid}")));
    }
    Ok((instance.id, userid))
}

// ---- core_enrol_get_enrolled_users (moodle-ws.md 2.12) ----

pub fn enrolled_params(_: &SiteConfig) -> Desc {
    single(vec![
        required("courseid", value(T::Int)),
        Field {
            name: "options",
            desc: list(single(vec![
                required("name", value(T::Alphanumext)),
                required("value", value(T::Raw)),
            ])),
            presence: Presence::DefaultEmpty,
        },
    ])
}

/// The keys of `get_enrolled_users_returns` (4.x, without the removed
/// icq/skype/yahoo/aim/msn/url), in its order. Not declared there, so cut
/// by clean_returnvalue although user_get_user_details makes them: auth,
/// confirmed, lang, theme, timezone, mailformat, suspended, and the
/// `displayvalue` of custom fields.
pub const ENROLLED_USER: &[&str] = &[
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
    "lastcourseaccess",
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
];

/// Capabilities `withcapability` understands, with the roles that hold
/// them on a stock site; any other capability matches nobody.
fn roles_with(capability: &str) -> &'static [i64] {
    match capability {
        "moodle/course:update" | "moodle/course:manageactivities" | "moodle/grade:edit" => &[1, 3],
        "moodle/grade:viewall" | "moodle/course:viewparticipants" | "moodle/course:markcomplete" => {
            &[1, 3, 4]
        }
        "moodle/grade:view" | "mod/assign:submit" | "moodle/course:isincompletionreports" => &[5],
        _ => &[],
    }
}

/// Options are read in order (sortby/sortdirection errors first), then the
/// course is fetched with MUST_EXIST. Users come from get_enrolled_sql
/// (any enrolment unless onlyactive/onlysuspended; deleted users never),
/// sorted, paged, and described by `user_get_user_details` with the
/// course. `lastcourseaccess` is declared but user_get_user_details never
/// copies it, so it is absent (derived from user/lib.php).
pub fn get_enrolled_users(ctx: &mut Ctx, params: Rec) -> Result<Value, WsError> {
    let courseid = params.int("courseid").unwrap_or_default();
    let mut withcapability = String::new();
    let mut groupid = 0;
    let (mut onlyactive, mut onlysuspended) = (false, false);
    let mut userfields: Vec<String> = Vec::new();
    let (mut limitfrom, mut limitnumber) = (0i64, 0i64);
    let mut sortby = "id".to_string();
    let mut descending = false;
    for option in params.list("options") {
        let v = option.text("value");
        match option.text("name") {
            "withcapability" => withcapability = v.to_string(),
            "groupid" => groupid = php_int(v),
            "onlyactive" => onlyactive = !php_empty(v),
            "onlysuspended" => onlysuspended = !php_empty(v),
            "userfields" => {
                userfields = v
                    .split(',')
                    .map(|f| {
                        f.chars()
                            .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                            .collect()
                    })
                    .collect()
            }
            "limitfrom" => limitfrom = php_int(v),
            "limitnumber" => limitnumber = php_int(v),
            "sortby" => {
                if !matches!(v, "id" | "firstname" | "lastname" | "siteorder") {
                    return Err(WsError::invalid_parameter(format!(
                        "Invalid value for sortby parameter (value: {v}),allowed values are: id,firstname,lastname,siteorder"
                    )));
                }
                sortby = v.to_string();
            }
            "sortdirection" => {
                let upper = v.to_uppercase();
                if upper != "ASC" && upper != "DESC" {
                    return Err(WsError::invalid_parameter(format!(
                        "Invalid value for sortdirection parameter\n                        (value: {upper}),allowed values are: ASC,DESC"
                    )));
                }
                descending = upper == "DESC";
            }
            _ => {}
        }
    }
    let course = if courseid == 1 {
        Some(Course::front_page(&ctx.site.sitename, &ctx.site.site_shortname))
    } else {
        ctx.state.courses.get(&courseid).cloned()
    };
    if course.is_none() {
        return Err(WsError::missing_record(
            "invalidcourseid",
            "You are trying to use an invalid course ID",
            format!("SELECT * FROM {{course}} WHERE id = ?\n[array (\n  0 => {courseid},\n)]"),
        ));
    }
    if onlyactive && onlysuspended {
        return Err(WsError::new(
            class::CODING,
            "codingerror",
            "Coding error detected, it must be fixed by a programmer: Both onlyactive and onlysuspended are set, this is probably not what you want!",
            None,
        ));
    }
    let now = now();
    let state = &*ctx.state;
    let capable = roles_with(&withcapability);
    let mut users: Vec<&User> = state
        .users
        .values()
        .filter(|u| !u.deleted)
        .filter(|u| {
            if courseid == 1 {
                // Everybody is "enrolled" on the front page but the guest.
                return u.username != "guest";
            }
            if !state.is_enrolled(courseid, u.id) {
                return false;
            }
            let active = state.is_active(courseid, u.id, now);
            (!onlyactive || active)
                && (!onlysuspended || !active)
                && (withcapability.is_empty()
                    || state.roles_in(courseid, u.id).iter().any(|r| capable.contains(r)))
        })
        .filter(|u| {
            groupid == 0
                || state
                    .groups
                    .get(&groupid)
                    .is_some_and(|g| g.courseid == courseid && g.members.contains(&u.id))
        })
        .collect();
    users.sort_by(|a, b| {
        let order = match sortby.as_str() {
            "firstname" => a.firstname.cmp(&b.firstname),
            "lastname" => a.lastname.cmp(&b.lastname),
            "siteorder" => (&a.lastname, &a.firstname, a.id).cmp(&(&b.lastname, &b.firstname, b.id)),
            _ => a.id.cmp(&b.id),
        };
        if descending {
            order.reverse()
        } else {
            order
        }
    });
    let skip = usize::try_from(limitfrom).unwrap_or(0);
    let take = usize::try_from(limitnumber)
        .ok()
        .filter(|n| *n > 0)
        .unwrap_or(usize::MAX);
    let fields: Vec<&str> = userfields.iter().map(String::as_str).collect();
    let mut answer = Vec::new();
    for user in users.into_iter().skip(skip).take(take) {
        let details = user_get_user_details(ctx, user, Some(courseid), &fields)
            .map_err(|field| WsError::moodle("invaliduserfield", &format!("Invalid user field: {field}")))?;
        answer.push(Value::Object(keep(details, ENROLLED_USER, false)));
    }
    Ok(Value::Array(answer))
}

// ---- core_enrol_get_course_enrolment_methods (enrol/externallib.php) ----

pub fn methods_params(_: &SiteConfig) -> Desc {
    single(vec![required("courseid", value(T::Int))])
}

/// The course (MUST_EXIST: `invalidrecord` on table course), then its
/// enabled instances (`enrol_get_instances($courseid, true)`), each
/// described by its plugin's `get_enrol_info()`. Only plugins that
/// implement it are listed: self (status true: the simulator does not
/// model self-enrolment restrictions) and guest (with its `wsfunction`);
/// manual, cohort, database, meta… return nothing there and are absent,
/// as Moodle's own test of this function expects.
pub fn get_course_enrolment_methods(ctx: &mut Ctx, params: Rec) -> Result<Value, WsError> {
    let courseid = params.int("courseid").unwrap_or_default();
    if !ctx.state.courses.contains_key(&courseid) && courseid != 1 {
        return Err(WsError::missing_record(
            "invalidrecord",
            "Can not find data record in database table course.",
            sql_debug("SELECT * FROM {course} WHERE id = ?", &courseid.to_string()),
        ));
    }
    let methods: Vec<Value> = ctx
        .state
        .instances(courseid)
        .into_iter()
        .filter(|i| i.enabled)
        .filter_map(|i| {
            let role_name = || match i.roleid {
                role::MANAGER => "Manager",
                role::EDITING_TEACHER => "Teacher",
                role::TEACHER => "Non-editing teacher",
                _ => "Student",
            };
            match i.enrol.as_str() {
                "self" => {
                    let name = if i.name.is_empty() {
                        format!("Self enrolment ({})", role_name())
                    } else {
                        i.name.clone()
                    };
                    Some(json!({"id": i.id, "courseid": i.courseid, "type": "self", "name": name, "status": true}))
                }
                "guest" => {
                    let name = if i.name.is_empty() { "Guest access".to_string() } else { i.name.clone() };
                    Some(json!({
                        "id": i.id, "courseid": i.courseid, "type": "guest", "name": name, "status": true,
                        "wsfunction": "enrol_guest_get_instance_info",
                    }))
                }
                _ => None,
            }
        })
        .collect();
    Ok(Value::Array(methods))
}

// ---- core_role_assign_roles / core_role_unassign_roles (enrol/externallib.php) ----

fn role_params(list_name: &'static str) -> Desc {
    single(vec![required(
        list_name,
        list(single(vec![
            required("roleid", value(T::Int)),
            required("userid", value(T::Int)),
            optional("contextid", value(T::Int)),
            optional("contextlevel", value(T::Alpha)),
            optional("instanceid", value(T::Int)),
        ])),
    )])
}

pub fn assign_params(_: &SiteConfig) -> Desc {
    role_params("assignments")
}

pub fn unassign_params(_: &SiteConfig) -> Desc {
    role_params("unassignments")
}

/// `external_api::get_context_from_params` then `validate_context`: the
/// course of the context, or the error. A non-empty `contextid` wins;
/// otherwise `contextlevel` (a short name) with `instanceid`. Only course
/// contexts are modelled: any other existing context answers as if it did
/// not exist.
fn course_of_context(state: &SiteState, rec: Rec) -> Result<i64, WsError> {
    let missing = || WsError::invalid_parameter("Context does not exist");
    let contextid = rec.int("contextid").unwrap_or(0);
    if contextid != 0 {
        let courseid = contextid - COURSE_CONTEXT_BASE;
        return if courseid > 1 && state.courses.contains_key(&courseid) {
            Ok(courseid)
        } else {
            Err(missing())
        };
    }
    let level = rec.str("contextlevel").unwrap_or_default();
    match rec.int("instanceid") {
        Some(instanceid) if !php_empty(level) => {
            if !matches!(
                level,
                "system" | "user" | "coursecat" | "course" | "module" | "block"
            ) {
                return Err(WsError::invalid_parameter(format!(
                    "Invalid context level = {level}"
                )));
            }
            if level == "course" && instanceid > 1 && state.courses.contains_key(&instanceid) {
                Ok(instanceid)
            } else {
                Err(missing())
            }
        }
        _ => Err(WsError::invalid_parameter(
            "Missing parameters, please provide either context level with instance id or contextid",
        )),
    }
}

/// Checks of one (un)assignment: the context, then the role must be one
/// the caller may assign there (`get_assignable_roles`), else an
/// invalid_parameter_exception naming the `contextid` as sent ('' when it
/// was not sent).
fn check_role_change(ctx: &Ctx, rec: Rec, verb: &str) -> Result<(i64, i64, i64), WsError> {
    let courseid = course_of_context(ctx.state, rec)?;
    let roleid = rec.int("roleid").unwrap_or_default();
    if !ctx.site.assignable_roles.contains(&roleid) {
        return Err(WsError::invalid_parameter(format!(
            "Can not {verb} roleid={roleid} in contextid={}",
            rec.str("contextid").unwrap_or_default()
        )));
    }
    Ok((courseid, rec.int("userid").unwrap_or_default(), roleid))
}

/// One transaction. `role_assign` without component: a user that does not
/// exist or is deleted is a coding_exception; an existing assignment is
/// kept as it is. Answers null.
pub fn assign_roles(ctx: &mut Ctx, params: Rec) -> Result<Value, WsError> {
    let mut planned = Vec::new();
    for rec in params.list("assignments") {
        let (courseid, userid, roleid) = check_role_change(ctx, rec, "assign")?;
        if ctx.state.users.get(&userid).is_none_or(|u| u.deleted) {
            return Err(WsError::new(
                class::CODING,
                "codingerror",
                "Coding error detected, it must be fixed by a programmer: User ID does not exist or is deleted!",
                Some(format!("userid:{userid}")),
            ));
        }
        planned.push((courseid, userid, roleid));
    }
    for (courseid, userid, roleid) in planned {
        ctx.state.assign_role(courseid, userid, roleid);
        ctx.committed = true;
    }
    Ok(Value::Null)
}

/// One transaction. `role_unassign` removes only the assignment without
/// component (one made by a cohort sync or another syncing method stays);
/// nothing to remove is not an error. Answers null.
pub fn unassign_roles(ctx: &mut Ctx, params: Rec) -> Result<Value, WsError> {
    let mut planned = Vec::new();
    for rec in params.list("unassignments") {
        planned.push(check_role_change(ctx, rec, "unassign")?);
    }
    for (courseid, userid, roleid) in planned {
        ctx.committed |= ctx.state.unassign_role(courseid, userid, roleid);
    }
    Ok(Value::Null)
}

// ---- core_enrol_get_users_courses (enrol/externallib.php) ----

pub fn users_courses_params(_: &SiteConfig) -> Desc {
    single(vec![
        required("userid", value(T::Int)),
        optional("returnusercount", value(T::Bool)),
    ])
}

/// `enrol_get_users_courses($userid, true)`: courses where the user has
/// an active enrolment (front page excluded; an unknown user has none),
/// by course sortorder; each described as the token's user (a site admin)
/// sees it. `returnusercount` (absent: the function's default, 1) adds the
/// count of enrolled users (any status, deleted users excluded). Values
/// the simulator does not model are those of a stock course.
pub fn get_users_courses(ctx: &mut Ctx, params: Rec) -> Result<Value, WsError> {
    let userid = params.int("userid").unwrap_or_default();
    let count = params.str("returnusercount").is_none_or(|v| v == "1");
    let now = now();
    let state = &*ctx.state;
    if state.users.get(&userid).is_none_or(|u| u.deleted) {
        return Ok(Value::Array(Vec::new()));
    }
    let mut courses: Vec<&Course> = state
        .courses
        .values()
        .filter(|c| state.is_active(c.id, userid, now))
        .collect();
    courses.sort_by_key(|c| (!c.visible, c.id));
    let answer: Vec<Value> = courses
        .into_iter()
        .map(|c| {
            let tracked = state.completion_criteria.iter().any(|k| k.courseid == c.id);
            let mut v = json!({
                "id": c.id,
                "shortname": c.shortname,
                "fullname": c.fullname,
                "displayname": c.fullname,
                "idnumber": c.idnumber,
                "visible": i64::from(c.visible),
                "summary": c.summary,
                "summaryformat": c.summaryformat,
                "format": c.format,
                "courseimage": format!("{}/course/generated.svg?id={}", ctx.site_url, c.id),
                "showgrades": true,
                "lang": "",
                "enablecompletion": !state.completion_disabled.contains(&c.id),
                "completionhascriteria": tracked,
                "completionusertracked": true,
                "category": c.categoryid,
                "progress": null,
                "completed": false,
                "startdate": c.startdate,
                "enddate": c.enddate,
                "marker": 0,
                "lastaccess": state.lastcourseaccess.get(&(c.id, userid)).copied(),
                "isfavourite": false,
                "hidden": false,
                "overviewfiles": [],
                "showactivitydates": true,
                "showcompletionconditions": true,
                "timemodified": 0,
            });
            if count {
                let enrolled = state
                    .users
                    .values()
                    .filter(|u| !u.deleted && state.is_enrolled(c.id, u.id))
                    .count();
                v["enrolledusercount"] = json!(enrolled);
            }
            v
        })
        .collect();
    Ok(Value::Array(answer))
}
