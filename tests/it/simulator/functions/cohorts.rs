//! core_cohort_create_cohorts, core_cohort_add_cohort_members,
//! core_cohort_delete_cohort_members and core_cohort_get_cohorts
//! (cohort/externallib.php, cohort/lib.php). The writes run one
//! transaction for the whole call.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::super::config::SiteConfig;
use super::super::params::{
    default, list, optional, required, single, value, Desc, Field, ParamType as T, Presence, Rec,
};
use super::super::response::WsError;
use super::super::state::Cohort;
use super::{sql_debug, Ctx};

fn type_value(t: T) -> Desc {
    single(vec![required("type", value(t)), required("value", value(T::Raw))])
}

pub fn create_params(_: &SiteConfig) -> Desc {
    single(vec![required(
        "cohorts",
        list(single(vec![
            required("categorytype", type_value(T::Text)),
            required("name", value(T::Raw)),
            required("idnumber", value(T::Raw)),
            optional("description", value(T::Raw)),
            optional("descriptionformat", value(T::Int)),
            default("visible", value(T::Bool), "1"),
            optional("theme", value(T::Theme)),
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

pub fn add_members_params(_: &SiteConfig) -> Desc {
    single(vec![required(
        "members",
        list(single(vec![
            required("cohorttype", type_value(T::Alphanumext)),
            required("usertype", type_value(T::Alphanumext)),
        ])),
    )])
}

pub fn delete_members_params(_: &SiteConfig) -> Desc {
    single(vec![required(
        "members",
        list(single(vec![
            required("cohortid", value(T::Int)),
            required("userid", value(T::Int)),
        ])),
    )])
}

pub fn get_params(_: &SiteConfig) -> Desc {
    single(vec![Field {
        name: "cohortids",
        desc: list(value(T::Int)),
        presence: Presence::DefaultEmpty,
    }])
}

fn sub(rec: Rec<'_>, name: &str) -> (String, String) {
    let inner = rec.0.get(name).and_then(|v| v.as_array()).map(Rec);
    let get = |k: &str| inner.map(|r| r.text(k).to_string()).unwrap_or_default();
    (get("type"), get("value"))
}

/// Per cohort, in Moodle's order: categorytype must be id, idnumber or
/// system; the category must exist (`category not exists`); the idnumber
/// must be new (`record already exists`: compared with every cohort, an
/// empty one too, and earlier cohorts of this call); a theme is checked
/// only when the site allows cohort themes (PARAM_THEME already refused an
/// uninstalled one); the description format. Answers each cohort as
/// stored, in input order (theme only when one was kept).
pub fn create_cohorts(ctx: &mut Ctx, params: Rec) -> Result<Value, WsError> {
    let mut batch: Vec<Cohort> = Vec::new();
    let first = ctx.state.cohorts.keys().max().map_or(1, |m| m + 1);
    for rec in params.list("cohorts") {
        let (kind, val) = sub(rec, "categorytype");
        if !matches!(kind.as_str(), "idnumber" | "id" | "system") {
            return Err(WsError::invalid_parameter(format!(
                "category type must be id, idnumber or system:{kind}"
            )));
        }
        let categoryid = if kind == "system" {
            None
        } else {
            let found = ctx.state.categories.values().find(|c| match kind.as_str() {
                "id" => c.id.to_string() == val,
                _ => c.idnumber == val,
            });
            match found {
                Some(c) => Some(c.id),
                None => {
                    return Err(WsError::invalid_parameter(format!(
                        "category not exists: category {kind} = {val}"
                    )))
                }
            }
        };
        let idnumber = rec.text("idnumber");
        if ctx
            .state
            .cohorts
            .values()
            .chain(&batch)
            .any(|c| c.idnumber == idnumber)
        {
            return Err(WsError::invalid_parameter(format!(
                "record already exists: idnumber={idnumber}"
            )));
        }
        let descriptionformat = rec.int("descriptionformat").unwrap_or(1);
        if !matches!(descriptionformat, 0 | 1 | 2 | 4) {
            return Err(WsError::moodle("formatnotsupported", "Format not supported"));
        }
        let customfields: BTreeMap<String, String> =
            rec.pairs("customfields", "shortname").into_iter().collect();
        batch.push(Cohort {
            id: first + batch.len() as i64,
            categoryid,
            name: rec.text("name").to_string(),
            idnumber: idnumber.to_string(),
            description: rec.text("description").to_string(),
            descriptionformat,
            visible: rec.flag("visible"),
            theme: rec.text("theme").to_string(),
            customfields,
            members: BTreeSet::new(),
        });
    }
    let allow_themes = ctx.site.allow_cohort_themes;
    let answer: Vec<Value> = batch
        .iter()
        .map(|c| {
            let mut v = json!({
                "id": c.id, "name": c.name, "idnumber": c.idnumber, "description": c.description,
                "descriptionformat": c.descriptionformat, "visible": c.visible,
            });
            if !c.theme.is_empty() {
                v["theme"] = json!(c.theme);
            }
            v
        })
        .collect();
    ctx.committed = !batch.is_empty();
    for mut cohort in batch {
        if !allow_themes {
            cohort.theme.clear();
        }
        ctx.state.cohorts.insert(cohort.id, cohort);
    }
    Ok(Value::Array(answer))
}

/// Each member on its own terms: a problem with the cohort or user type or
/// value is a warning (`warningcode` 1: a type other than id/idnumber for
/// the cohort or id/username for the user; 2: no such cohort or user, or a
/// deleted user; 3: already a member) and the next member is tried;
/// nothing is thrown, so the members that were fine are added. Answers
/// `{warnings}` (no item or itemid: Moodle names the member in the text).
pub fn add_cohort_members(ctx: &mut Ctx, params: Rec) -> Result<Value, WsError> {
    let mut warnings = Vec::new();
    let mut added: Vec<(i64, i64)> = Vec::new();
    let warn = |code: &str, message: String| json!({"warningcode": code, "message": message});
    for rec in params.list("members") {
        let (ctype, cvalue) = sub(rec, "cohorttype");
        let (utype, uvalue) = sub(rec, "usertype");
        if ctype != "id" && ctype != "idnumber" {
            warnings.push(warn("1", format!("invalid parameter: cohortype={ctype}")));
            continue;
        }
        if utype != "id" && utype != "username" {
            warnings.push(warn("1", format!("invalid parameter: usertype={utype}")));
            continue;
        }
        let cohort = ctx.state.cohorts.values().find(|c| match ctype.as_str() {
            "id" => c.id.to_string() == cvalue,
            _ => c.idnumber == cvalue,
        });
        let Some(cohortid) = cohort.map(|c| c.id) else {
            warnings.push(warn("2", format!("cohort {ctype}={cvalue} not exists")));
            continue;
        };
        let user = ctx.state.users.values().find(|u| {
            !u.deleted
                && match utype.as_str() {
                    "id" => u.id.to_string() == uvalue,
                    _ => u.username == uvalue,
                }
        });
        let Some(userid) = user.map(|u| u.id) else {
            warnings.push(warn("2", format!("user {utype}={uvalue} not exists")));
            continue;
        };
        if ctx.state.cohorts[&cohortid].members.contains(&userid) || added.contains(&(cohortid, userid)) {
            warnings.push(warn(
                "3",
                format!("record already exists: cohort({ctype}={cvalue} {utype}={uvalue})"),
            ));
            continue;
        }
        added.push((cohortid, userid));
    }
    for (cohortid, userid) in added {
        ctx.state
            .cohorts
            .get_mut(&cohortid)
            .expect("found")
            .members
            .insert(userid);
        ctx.committed = true;
    }
    Ok(json!({ "warnings": warnings }))
}

/// Each member: the cohort (MUST_EXIST: `invalidrecord` on table cohort),
/// the user (MUST_EXIST, not deleted: `invaliduser`); removing someone who
/// is not a member changes nothing. Answers null.
pub fn delete_cohort_members(ctx: &mut Ctx, params: Rec) -> Result<Value, WsError> {
    let mut planned = Vec::new();
    for rec in params.list("members") {
        let cohortid = rec.int("cohortid").unwrap_or_default();
        let userid = rec.int("userid").unwrap_or_default();
        if !ctx.state.cohorts.contains_key(&cohortid) {
            return Err(WsError::missing_record(
                "invalidrecord",
                "Can not find data record in database table cohort.",
                sql_debug("SELECT * FROM {cohort} WHERE id = ?", &cohortid.to_string()),
            ));
        }
        if ctx.state.users.get(&userid).is_none_or(|u| u.deleted) {
            return Err(WsError::missing_record(
                "invaliduser",
                "Invalid user",
                format!(
                    "SELECT * FROM {{user}} WHERE id = ? AND deleted = ? AND mnethostid = ?\n[array (\n  0 => {userid},\n  1 => 0,\n  2 => '1',\n)]"
                ),
            ));
        }
        planned.push((cohortid, userid));
    }
    for (cohortid, userid) in planned {
        ctx.committed |= ctx
            .state
            .cohorts
            .get_mut(&cohortid)
            .expect("checked")
            .members
            .remove(&userid);
    }
    Ok(Value::Null)
}

/// No ids: every cohort; else `get_records_list` (unknown ids match
/// nothing), by id. The theme is left out unless the site allows cohort
/// themes; custom fields as `{name, shortname, type, valueraw, value}`
/// (text fields named by their shortname here).
pub fn get_cohorts(ctx: &mut Ctx, params: Rec) -> Result<Value, WsError> {
    let ids: Vec<i64> = params
        .strings("cohortids")
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect();
    let cohorts: Vec<Value> = ctx
        .state
        .cohorts
        .values()
        .filter(|c| ids.is_empty() || ids.contains(&c.id))
        .map(|c| {
            let customfields: Vec<Value> = c
                .customfields
                .iter()
                .map(|(k, v)| json!({"name": k, "shortname": k, "type": "text", "valueraw": v, "value": v}))
                .collect();
            let mut v = json!({
                "id": c.id, "name": c.name, "idnumber": c.idnumber, "description": c.description,
                "descriptionformat": c.descriptionformat, "visible": c.visible,
            });
            if ctx.site.allow_cohort_themes && !c.theme.is_empty() {
                v["theme"] = json!(c.theme);
            }
            v["customfields"] = Value::Array(customfields);
            v
        })
        .collect();
    Ok(Value::Array(cohorts))
}
