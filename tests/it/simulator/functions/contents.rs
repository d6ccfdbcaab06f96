//! core_course_get_contents (course/externallib.php get_course_contents)
//! and core_completion_get_course_completion_status
//! (completion/classes/external.php).
//!
//! Simplified, and documented as such: a course has sections 0 to 4 (the
//! stock numsections) plus any section a module sits in; section ids are
//! `courseid * 100 + number`; section 0 is named "General" and the others
//! "Section N"; modules carry no files, dates or availability.

use serde_json::{json, Value};

use super::super::config::SiteConfig;
use super::super::params::{list, required, single, value, Desc, Field, ParamType as T, Presence, Rec};
use super::super::response::{class, WsError};
use super::super::state::{role, Module};
use super::courses::php_int;
use super::users::now;
use super::{php_empty, php_trim, Ctx};

pub fn contents_params(_: &SiteConfig) -> Desc {
    single(vec![
        required("courseid", value(T::Int)),
        Field {
            name: "options",
            desc: list(single(vec![
                required("name", value(T::Alphanum)),
                required("value", value(T::Raw)),
            ])),
            presence: Presence::DefaultEmpty,
        },
    ])
}

pub fn completion_params(_: &SiteConfig) -> Desc {
    single(vec![
        required("courseid", value(T::Int)),
        required("userid", value(T::Int)),
    ])
}

fn invalid_course(courseid: i64) -> WsError {
    WsError::missing_record(
        "invalidcourseid",
        "You are trying to use an invalid course ID",
        format!("SELECT * FROM {{course}} WHERE id = ?\n[array (\n  0 => {courseid},\n)]"),
    )
}

/// What a module type is for (`plugin_supports(FEATURE_MOD_PURPOSE)`).
fn purpose(modname: &str) -> &'static str {
    match modname {
        "assign" | "quiz" | "lesson" | "workshop" => "assessment",
        "forum" | "chat" | "wiki" | "glossary" | "data" => "collaboration",
        "feedback" | "choice" | "survey" => "communication",
        "lti" => "other",
        _ => "content",
    }
}

/// Options first (a repeated name keeps its first value; an unknown name
/// or a value that does not clean to its type is a RuntimeException, which
/// the REST server reports with no language string), then the course
/// (MUST_EXIST: `invalidcourseid`). Sections in order, each with its
/// visible modules in course page order unless `excludemodules`; a
/// `sectionid`/`sectionnumber` filter stops at that section, a
/// `cmid`/`modname`+`modid` filter at that module (other sections come
/// back with no modules).
pub fn get_contents(ctx: &mut Ctx, params: Rec) -> Result<Value, WsError> {
    let courseid = params.int("courseid").unwrap_or_default();
    let mut seen: Vec<String> = Vec::new();
    let mut excludemodules = false;
    let (mut sectionid, mut sectionnumber, mut cmid, mut modid) = (None, None, None, None);
    let mut modname: Option<String> = None;
    for option in params.list("options") {
        let name = php_trim(option.text("name")).to_string();
        if seen.contains(&name) {
            continue;
        }
        seen.push(name.clone());
        let raw = option.text("value");
        match name.as_str() {
            "excludemodules" => excludemodules = !php_empty(raw),
            "excludecontents" | "includestealthmodules" => {}
            "sectionid" => sectionid = Some(php_int(raw)),
            "sectionnumber" => sectionnumber = Some(php_int(raw)),
            "cmid" => cmid = Some(php_int(raw)),
            "modid" => modid = Some(php_int(raw)),
            "modname" => {
                if raw.is_empty()
                    || !raw
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                {
                    return Err(runtime(&format!("Invalid value for option {name}")));
                }
                modname = Some(raw.to_string());
            }
            _ => return Err(runtime(&format!("Invalid option: {name}"))),
        }
    }
    if !ctx.state.courses.contains_key(&courseid) {
        return Err(invalid_course(courseid));
    }
    let mut modules: Vec<&Module> = ctx
        .state
        .modules
        .values()
        .filter(|m| m.courseid == courseid)
        .collect();
    modules.sort_by_key(|m| (m.section, m.id));
    let last = modules.iter().map(|m| m.section).max().unwrap_or(0).max(4);
    let url = ctx.site_url;
    let mut sections = Vec::new();
    for number in 0..=last {
        let id = courseid * 100 + number;
        let mut found = false;
        if let Some(wanted) = sectionid.filter(|s| *s != 0) {
            if wanted != id {
                continue;
            }
            found = true;
        }
        if let Some(wanted) = sectionnumber {
            if wanted != number {
                continue;
            }
            found = true;
        }
        let mut content = Vec::new();
        if !excludemodules {
            for m in modules.iter().filter(|m| m.section == number && m.visible) {
                let mut modfound = false;
                if let Some(wanted) = cmid.filter(|c| *c != 0) {
                    if wanted != m.id {
                        continue;
                    }
                    modfound = true;
                }
                if let Some(wanted) = &modname {
                    if *wanted != m.modname {
                        continue;
                    }
                    if let Some(instance) = modid.filter(|i| *i != 0) {
                        if instance != m.instance {
                            continue;
                        }
                        modfound = true;
                    }
                }
                content.push(module_json(url, m));
                if modfound {
                    break;
                }
            }
        }
        let name = if number == 0 {
            "General".to_string()
        } else {
            format!("Section {number}")
        };
        sections.push(json!({
            "id": id, "name": name, "visible": 1, "summary": "", "summaryformat": 1,
            "section": number, "hiddenbynumsections": 0, "uservisible": true, "modules": content,
        }));
        if found {
            break;
        }
    }
    Ok(Value::Array(sections))
}

fn runtime(message: &str) -> WsError {
    WsError::new("RuntimeException", "generalexceptionmessage", message, None)
}

fn module_json(site_url: &str, m: &Module) -> Value {
    let label = m.modname == "label";
    let mut plural = m.modname.clone();
    if let Some(first) = plural.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    let mut v = json!({
        "id": m.id,
        "name": m.name,
        "instance": m.instance,
        "contextid": 2000 + m.id,
        "visible": 1,
        "uservisible": true,
        "visibleoncoursepage": 1,
        "modicon": format!("{site_url}/theme/image.php/boost/{}/1/monologo", m.modname),
        "modname": m.modname,
        "purpose": purpose(&m.modname),
        "branded": false,
        "modplural": format!("{plural}s"),
        "indent": 0,
        "onclick": "",
        "afterlink": null,
        "customdata": "\"\"",
        "noviewlink": label,
        "completion": m.completion,
        "downloadcontent": 1,
        "dates": [],
        "groupmode": 0,
    });
    if !label {
        v["url"] = json!(format!("{site_url}/mod/{}/view.php?id={}", m.modname, m.id));
    }
    v
}

// ---- core_completion_get_course_completion_status ----

/// In Moodle's order: the course (`invalidcourseid`), the user
/// (MUST_EXIST: `invaliduser`; deleted: `userdeleted`), completion enabled
/// on the site and in the course (`cannotviewreport`), the user tracked
/// there, i.e. enrolled with a student role (`usernotenroled`), the
/// course's criteria (`nocriteriaset`). Aggregation is "all" (1): the
/// course is complete when every criterion is.
pub fn get_course_completion_status(ctx: &mut Ctx, params: Rec) -> Result<Value, WsError> {
    let courseid = params.int("courseid").unwrap_or_default();
    let userid = params.int("userid").unwrap_or_default();
    if !ctx.state.courses.contains_key(&courseid) {
        return Err(invalid_course(courseid));
    }
    let Some(user) = ctx.state.users.get(&userid) else {
        return Err(WsError::missing_record(
            "invaliduser",
            "Invalid user",
            format!("SELECT * FROM {{user}} WHERE id = ?\n[array (\n  0 => {userid},\n)]"),
        ));
    };
    if user.deleted {
        return Err(WsError::moodle(
            "userdeleted",
            "The user account has been deleted",
        ));
    }
    if !ctx.site.enable_completion || ctx.state.completion_disabled.contains(&courseid) {
        return Err(WsError::moodle("cannotviewreport", "You cannot view this report"));
    }
    let now = now();
    let tracked = ctx.state.is_active(courseid, userid, now)
        && ctx.state.roles_in(courseid, userid).contains(&role::STUDENT);
    if !tracked {
        let (code, message) = if userid == ctx.caller {
            ("notenroled", "You are not enrolled in this course")
        } else {
            ("usernotenroled", "User is not enrolled in this course")
        };
        return Err(WsError::new(class::MOODLE, code, message, None));
    }
    let criteria: Vec<_> = ctx
        .state
        .completion_criteria
        .iter()
        .filter(|c| c.courseid == courseid)
        .collect();
    if criteria.is_empty() {
        return Err(WsError::moodle(
            "nocriteriaset",
            "No criteria set for this course",
        ));
    }
    let mut all = true;
    let completions: Vec<Value> = criteria
        .iter()
        .map(|c| {
            let done = ctx.state.criteria_completions.get(&(c.id, userid)).copied();
            all &= done.is_some();
            let (title, kind, requirement) = match c.criteriatype {
                1 => ("Self completion", "Self completion", "Marking yourself complete"),
                4 => ("Activity completion", "Activity completion", "Marking complete"),
                6 => ("Course grade", "Course grade", "Course grade"),
                7 => (
                    "Manual completion by",
                    "Manual completion by",
                    "Marked complete by role",
                ),
                _ => ("Criteria", "Criteria", ""),
            };
            json!({
                "type": c.criteriatype,
                "title": title,
                "status": if done.is_some() { "Yes" } else { "No" },
                "complete": done.is_some(),
                "timecompleted": done,
                "details": {"type": kind, "criteria": "", "requirement": requirement, "status": ""},
            })
        })
        .collect();
    Ok(json!({
        "completionstatus": {"completed": all, "aggregation": 1, "completions": completions},
        "warnings": [],
    }))
}
