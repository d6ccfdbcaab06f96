//! core_group_create_groups, core_group_add_group_members,
//! core_group_delete_group_members and core_group_get_course_groups
//! (group/externallib.php, group/lib.php). The writes run one transaction
//! for the whole call: the first failure rolls back every record of it.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::super::config::SiteConfig;
use super::super::params::{
    default, list, optional, required, single, value, Desc, Field, ParamType as T, Presence, Rec,
};
use super::super::response::WsError;
use super::super::state::{Group, SiteState};
use super::{check_column, php_trim, sql_debug, Ctx};

pub fn create_params(_: &SiteConfig) -> Desc {
    single(vec![required(
        "groups",
        list(single(vec![
            required("courseid", value(T::Int)),
            required("name", value(T::Text)),
            required("description", value(T::Raw)),
            optional("descriptionformat", value(T::Int)),
            default("enrolmentkey", value(T::Raw), ""),
            default("idnumber", value(T::Raw), ""),
            optional("visibility", value(T::Int)),
            optional("participation", value(T::Bool)),
            Field {
                name: "customfields",
                desc: list(single(vec![
                    required("shortname", value(T::Alphanumext)),
                    required("value", value(T::Raw)),
                ])),
                presence: Presence::DefaultEmpty,
            },
        ])),
    )])
}

fn members_params(_: &SiteConfig) -> Desc {
    single(vec![required(
        "members",
        list(single(vec![
            required("groupid", value(T::Int)),
            required("userid", value(T::Int)),
        ])),
    )])
}

pub fn add_members_params(site: &SiteConfig) -> Desc {
    members_params(site)
}

pub fn delete_members_params(site: &SiteConfig) -> Desc {
    members_params(site)
}

pub fn course_groups_params(_: &SiteConfig) -> Desc {
    single(vec![required("courseid", value(T::Int))])
}

/// `errorcoursecontextnotvalid`: `context_course::instance(IGNORE_MISSING)`
/// of a course that does not exist, then `validate_context(false)`.
fn course_context_error(courseid: i64) -> WsError {
    WsError::moodle(
        "errorcoursecontextnotvalid",
        &format!(
            "You cannot execute functions in the course context (course id:{courseid}). \
             The context error message was: Invalid parameter value detected"
        ),
    )
}

/// In Moodle's order: a blank name and a name already used in the course
/// (`$DB->get_record('groups', courseid + name)`: exact, earlier groups of
/// this call included) are invalid_parameter_exceptions; then the course
/// context; the description format; then `groups_create_group`, which
/// refuses a non-empty idnumber already used in the course
/// (`idnumbertaken`). Answers each group as stored, in input order.
pub fn create_groups(ctx: &mut Ctx, params: Rec) -> Result<Value, WsError> {
    let mut batch: Vec<Group> = Vec::new();
    let first = ctx.state.groups.keys().max().map_or(1, |m| m + 1);
    for rec in params.list("groups") {
        let courseid = rec.int("courseid").unwrap_or_default();
        let name = rec.text("name");
        if php_trim(name).is_empty() {
            return Err(WsError::invalid_parameter("Invalid group name"));
        }
        let in_course = || {
            ctx.state
                .groups
                .values()
                .chain(&batch)
                .filter(move |g| g.courseid == courseid)
        };
        if in_course().any(|g| g.name == name) {
            return Err(WsError::invalid_parameter(
                "Group with the same name already exists in the course",
            ));
        }
        if !ctx.state.courses.contains_key(&courseid) {
            return Err(course_context_error(courseid));
        }
        let descriptionformat = rec.int("descriptionformat").unwrap_or(1);
        if !matches!(descriptionformat, 0 | 1 | 2 | 4) {
            return Err(WsError::moodle("formatnotsupported", "Format not supported"));
        }
        let idnumber = rec.text("idnumber");
        if !idnumber.is_empty() && in_course().any(|g| g.idnumber == idnumber) {
            return Err(WsError::moodle("idnumbertaken", "ID number is already used"));
        }
        check_column("groups", "name", name, 254)?;
        check_column("groups", "idnumber", idnumber, 100)?;
        check_column("groups", "enrolmentkey", rec.text("enrolmentkey"), 50)?;
        batch.push(Group {
            id: first + batch.len() as i64,
            courseid,
            name: name.to_string(),
            description: rec.text("description").to_string(),
            members: BTreeSet::new(),
            descriptionformat,
            enrolmentkey: rec.text("enrolmentkey").to_string(),
            idnumber: idnumber.to_string(),
            visibility: rec.int("visibility").unwrap_or(0),
            participation: rec.str("participation").is_none_or(|p| p == "1"),
            plugin_members: BTreeSet::new(),
        });
    }
    let answer: Vec<Value> = batch.iter().map(group_json).collect();
    ctx.committed = !batch.is_empty();
    for group in batch {
        ctx.state.groups.insert(group.id, group);
    }
    Ok(Value::Array(answer))
}

fn group_json(g: &Group) -> Value {
    json!({
        "id": g.id,
        "courseid": g.courseid,
        "name": g.name,
        "description": g.description,
        "descriptionformat": g.descriptionformat,
        "enrolmentkey": g.enrolmentkey,
        "idnumber": g.idnumber,
        "visibility": g.visibility,
        "participation": g.participation,
    })
}

/// `groups_get_group($groupid, ..., MUST_EXIST)` then the user
/// (`get_record('user', id, deleted 0, MUST_EXIST)`).
fn group_and_user(state: &SiteState, rec: Rec) -> Result<(Group, i64), WsError> {
    let groupid = rec.int("groupid").unwrap_or_default();
    let userid = rec.int("userid").unwrap_or_default();
    let Some(group) = state.groups.get(&groupid) else {
        return Err(WsError::missing_record(
            "invalidrecord",
            "Can not find data record in database table groups.",
            sql_debug(
                "SELECT id, courseid FROM {groups} WHERE id = ?",
                &groupid.to_string(),
            ),
        ));
    };
    if state.users.get(&userid).is_none_or(|u| u.deleted) {
        return Err(WsError::missing_record(
            "invaliduser",
            "Invalid user",
            format!(
                "SELECT * FROM {{user}} WHERE id = ? AND deleted = ? AND mnethostid = ?\n[array (\n  0 => {userid},\n  1 => 0,\n  2 => '1',\n)]"
            ),
        ));
    }
    if !state.courses.contains_key(&group.courseid) {
        return Err(course_context_error(group.courseid));
    }
    Ok((group.clone(), userid))
}

/// Each member: the group, the user, the course context, then the user
/// must be enrolled in the group's course (any method, active or not:
/// `is_enrolled` without onlyactive). A member added twice stays once.
pub fn add_group_members(ctx: &mut Ctx, params: Rec) -> Result<Value, WsError> {
    let mut planned = Vec::new();
    for rec in params.list("members") {
        let (group, userid) = group_and_user(ctx.state, rec)?;
        if !ctx.state.is_enrolled(group.courseid, userid) {
            return Err(WsError::invalid_parameter(
                "Only enrolled users may be members of groups",
            ));
        }
        planned.push((group.id, userid));
    }
    for (groupid, userid) in planned {
        let group = ctx.state.groups.get_mut(&groupid).expect("checked");
        ctx.committed |= group.members.insert(userid);
    }
    Ok(Value::Null)
}

/// Each member: the group, the user, the course context, then
/// `groups_remove_member_allowed`: a membership an enrolment plugin made
/// cannot be removed here (`errorremovenotpermitted`, with the user's full
/// name). Removing someone who is not a member changes nothing.
pub fn delete_group_members(ctx: &mut Ctx, params: Rec) -> Result<Value, WsError> {
    let mut planned = Vec::new();
    for rec in params.list("members") {
        let (group, userid) = group_and_user(ctx.state, rec)?;
        if group.plugin_members.contains(&userid) {
            let fullname = ctx.state.users[&userid].fullname();
            return Err(WsError::moodle(
                "errorremovenotpermitted",
                &format!("You do not have permission to remove automatically added group member {fullname}"),
            ));
        }
        planned.push((group.id, userid));
    }
    for (groupid, userid) in planned {
        let group = ctx.state.groups.get_mut(&groupid).expect("checked");
        ctx.committed |= group.members.remove(&userid);
    }
    Ok(Value::Null)
}

/// The course context (`errorcoursecontextnotvalid`), then
/// `groups_get_all_groups($courseid)`: every group, by name.
pub fn get_course_groups(ctx: &mut Ctx, params: Rec) -> Result<Value, WsError> {
    let courseid = params.int("courseid").unwrap_or_default();
    if !ctx.state.courses.contains_key(&courseid) {
        return Err(course_context_error(courseid));
    }
    let mut groups: Vec<&Group> = ctx
        .state
        .groups
        .values()
        .filter(|g| g.courseid == courseid)
        .collect();
    groups.sort_by(|a, b| (&a.name, a.id).cmp(&(&b.name, b.id)));
    Ok(Value::Array(groups.into_iter().map(group_json).collect()))
}
