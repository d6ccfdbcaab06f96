//! enrol_manual_enrol_users (moodle-ws.md 2.5) and
//! enrol_manual_unenrol_users (2.6). Both run one transaction for the whole
//! call and answer `null` on success.

use std::collections::BTreeSet;

use serde_json::Value;

use super::super::config::SiteConfig;
use super::super::params::{list, optional, required, single, value, Desc, ParamType as T, Rec};
use super::super::response::WsError;
use super::super::state::{Enrolment, ManualEnrol};
use super::{sql_debug, Ctx};

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

/// Checks every enrolment in order (course, role, manual instance, user)
/// and applies them all only if none failed: one bad enrolment rolls back
/// the whole call. Re-enrolling updates the enrolment: absent times become
/// 0 and absent `suspend` means active, and the role is added.
pub fn enrol_users(ctx: &mut Ctx, params: Rec) -> Result<Value, WsError> {
    let mut planned = Vec::new();
    for rec in params.list("enrolments") {
        planned.push(check_enrolment(ctx, rec)?);
    }
    for (e, roleid) in planned {
        let entry = ctx
            .state
            .enrolments
            .entry((e.courseid, e.userid))
            .or_insert_with(|| e.clone());
        entry.timestart = e.timestart;
        entry.timeend = e.timeend;
        entry.suspended = e.suspended;
        entry.roles.insert(roleid);
        ctx.committed = true;
    }
    Ok(Value::Null)
}

fn check_enrolment(ctx: &Ctx, rec: Rec) -> Result<(Enrolment, i64), WsError> {
    let (roleid, userid, courseid) = (
        rec.int("roleid").unwrap_or_default(),
        rec.int("userid").unwrap_or_default(),
        rec.int("courseid").unwrap_or_default(),
    );
    // context_course::instance(IGNORE_MISSING) + validate_context.
    let Some(course) = ctx.state.courses.get(&courseid) else {
        return Err(WsError::invalid_parameter("Context does not exist"));
    };
    if !ctx.site.assignable_roles.contains(&roleid) {
        return Err(WsError::moodle(
            "wsusercannotassign",
            &format!(
                "You don't have the permission to assign this role ({roleid}) to this user ({userid}) in this course ({courseid})."
            ),
        ));
    }
    if course.manual_enrol != ManualEnrol::Enabled {
        return Err(no_instance(courseid));
    }
    // 4.5 answers a PHP TypeError without errorcode here (moodle-ws.md 6;
    // the message text is not recorded there and is made up).
    if !ctx.state.users.get(&userid).is_some_and(|u| !u.deleted) {
        return Err(WsError::type_error(
            "core_user::get_user(): Return value must be of type stdClass|false, null returned",
        ));
    }
    let enrolment = Enrolment {
        courseid,
        userid,
        roles: BTreeSet::new(),
        timestart: rec.int("timestart").unwrap_or(0),
        timeend: rec.int("timeend").unwrap_or(0),
        suspended: rec.int("suspend").is_some_and(|s| s != 0),
    };
    Ok((enrolment, roleid))
}

fn no_instance(courseid: i64) -> WsError {
    WsError::moodle(
        "wsnoinstance",
        &format!(
            "Manual enrolment plugin instance doesn't exist or is disabled for the course (id = {courseid})"
        ),
    )
}

/// Removes the manual enrolments (with all their roles; `roleid` is
/// accepted but unused). Unenrolling someone who is not enrolled is a
/// silent no-op.
pub fn unenrol_users(ctx: &mut Ctx, params: Rec) -> Result<Value, WsError> {
    let mut planned = Vec::new();
    for rec in params.list("enrolments") {
        planned.push(check_unenrolment(ctx, rec)?);
    }
    for key in planned {
        ctx.committed |= ctx.state.enrolments.remove(&key).is_some();
    }
    Ok(Value::Null)
}

fn check_unenrolment(ctx: &Ctx, rec: Rec) -> Result<(i64, i64), WsError> {
    let userid = rec.int("userid").unwrap_or_default();
    let courseid = rec.int("courseid").unwrap_or_default();
    // context_course::instance(MUST_EXIST): a DML error on table course.
    let Some(course) = ctx.state.courses.get(&courseid) else {
        return Err(WsError::missing_record(
            "invalidrecord",
            "Can not find data record in database table course.",
            sql_debug(
                "SELECT id,category FROM {course} WHERE id = ?",
                &courseid.to_string(),
            ),
        ));
    };
    if course.manual_enrol == ManualEnrol::Missing {
        return Err(no_instance(courseid));
    }
    if !ctx.state.users.contains_key(&userid) {
        return Err(WsError::invalid_parameter(format!("User id not exist: {userid}")));
    }
    Ok((courseid, userid))
}
