//! enrol_manual_enrol_users (moodle-ws.md 2.5), enrol_manual_unenrol_users
//! (2.6), core_enrol_get_enrolled_users (2.12) and
//! core_enrol_get_course_enrolment_methods; core_role_assign_roles and
//! core_role_unassign_roles. The writes run one transaction for the whole
//! call and answer `null` on success (enrol/manual/externallib.php,
//! enrol/externallib.php, lib/enrollib.php).

use serde_json::Value;

use super::super::config::SiteConfig;
use super::super::params::{
    list, optional, required, single, value, Desc, Field, ParamType as T, Presence, Rec,
};
use super::super::response::{class, WsError};
use super::super::state::{Course, User};
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
    if !ctx.state.users.get(&userid).is_some_and(|u| !u.deleted) {
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
