//! gradereport_user_get_grade_items (moodle-ws.md 2.13), as
//! grade/report/user/classes/external/user.php and the user report's
//! `fill_table` build it for a site admin with the stock report settings
//! (show weight, grade, range, percentage, feedback; not letter, rank,
//! average).
//!
//! Simplified, and documented as such: one grade category per course (the
//! course total's, id = course id), natural aggregation (the total is the
//! sum of the user's graded items, its maximum the sum of the items'
//! maxima) unless the total was overridden, weights = item max / sum of
//! maxima, grades formatted with 2 decimals and the range with 0.

use serde_json::{json, Map, Value};

use super::super::config::SiteConfig;
use super::super::params::{default, required, single, value, Desc, ParamType as T, Rec};
use super::super::response::WsError;
use super::super::state::{Grade, GradeItem, User};
use super::users::now;
use super::Ctx;

pub fn grade_items_params(_: &SiteConfig) -> Desc {
    single(vec![
        required("courseid", value(T::Int)),
        default("userid", value(T::Int), "0"),
        default("groupid", value(T::Int), "0"),
    ])
}

/// `get_course` (MUST_EXIST), then the user (`core_user::get_user`
/// MUST_EXIST) or, for userid 0, every user with an active enrolment
/// (`graded_users_iterator` with require_active_enrolment), by id.
pub fn get_grade_items(ctx: &mut Ctx, params: Rec) -> Result<Value, WsError> {
    let courseid = params.int("courseid").unwrap_or_default();
    let userid = params.int("userid").unwrap_or_default();
    let groupid = params.int("groupid").unwrap_or_default();
    let Some(course) = ctx.state.courses.get(&courseid).cloned() else {
        return Err(WsError::missing_record(
            "invalidcourseid",
            "You are trying to use an invalid course ID",
            format!("SELECT * FROM {{course}} WHERE id = ?\n[array (\n  0 => {courseid},\n)]"),
        ));
    };
    let users: Vec<User> = if userid != 0 {
        match ctx.state.users.get(&userid) {
            Some(u) if !u.deleted => vec![u.clone()],
            _ => {
                return Err(WsError::missing_record(
                    "invaliduser",
                    "Invalid user",
                    format!("SELECT * FROM {{user}} WHERE id = ?\n[array (\n  0 => {userid},\n)]"),
                ))
            }
        }
    } else {
        let now = now();
        let state = &*ctx.state;
        state
            .users
            .values()
            .filter(|u| !u.deleted)
            .filter(|u| state.is_active(courseid, u.id, now))
            .filter(|u| {
                groupid == 0
                    || state
                        .groups
                        .get(&groupid)
                        .is_some_and(|g| g.members.contains(&u.id))
            })
            .cloned()
            .collect()
    };
    // The regrade creates the course total if the course has none.
    ctx.state.course_total_item(courseid);
    let mut items: Vec<GradeItem> = ctx
        .state
        .grade_items
        .values()
        .filter(|i| i.courseid == courseid)
        .cloned()
        .collect();
    // The tree lists the category's children, then its total.
    items.sort_by_key(|i| (i.is_course_total(), i.sortorder, i.id));
    let usergrades: Vec<Value> = users
        .iter()
        .map(|user| {
            let gradeitems: Vec<Value> = items
                .iter()
                .map(|item| item_data(ctx, item, &items, user.id))
                .collect();
            json!({
                "courseid": course.id,
                "courseidnumber": course.idnumber,
                "userid": user.id,
                "userfullname": user.fullname(),
                "useridnumber": user.idnumber,
                "maxdepth": 2,
                "gradeitems": gradeitems,
            })
        })
        .collect();
    Ok(json!({"usergrades": usergrades, "warnings": []}))
}

/// `format_float($v, 2)` with the site's '.' decimal point.
fn two(v: f64) -> String {
    format!("{v:.2}")
}

/// One element of `gradeitemsdata`.
fn item_data(ctx: &Ctx, item: &GradeItem, items: &[GradeItem], userid: i64) -> Value {
    let state = &*ctx.state;
    let graded: Vec<&GradeItem> = items.iter().filter(|i| !i.is_course_total()).collect();
    let grade = state.grades.get(&(item.id, userid));
    let (finalgrade, grademin, grademax, overridden) = if item.is_course_total() {
        let max: f64 = graded.iter().map(|i| i.grademax).sum();
        let max = if graded.is_empty() { 100.0 } else { max };
        match grade.filter(|g| g.overridden) {
            Some(g) => (g.finalgrade, 0.0, max, true),
            None => {
                let values: Vec<f64> = graded
                    .iter()
                    .filter_map(|i| state.grades.get(&(i.id, userid)).and_then(|g| g.finalgrade))
                    .collect();
                let total = (!values.is_empty()).then(|| values.iter().sum());
                (total, 0.0, max, false)
            }
        }
    } else {
        (
            grade.and_then(|g| g.finalgrade),
            item.grademin,
            item.grademax,
            false,
        )
    };
    let mut data = Map::new();
    let mut put = |k: &str, v: Value| {
        data.insert(k.to_string(), v);
    };
    put("id", json!(item.id));
    put("itemname", json!(item.itemname));
    put("itemtype", json!(item.itemtype));
    put("itemmodule", json!(item.itemmodule));
    put("iteminstance", json!(item.iteminstance));
    put("itemnumber", json!(item.itemnumber));
    put("idnumber", json!(item.idnumber));
    // The course item has no category (it is the category's own item).
    put(
        "categoryid",
        if item.is_course_total() {
            Value::Null
        } else {
            json!(item.courseid)
        },
    );
    put("outcomeid", Value::Null);
    // fill_table copies outcomeid into scaleid (a Moodle bug kept here).
    put("scaleid", Value::Null);
    put("locked", json!(item.locked));
    if let Some(cmid) = item.cmid {
        put("cmid", json!(cmid));
    }
    if !item.is_course_total() {
        let sum: f64 = graded.iter().map(|i| i.grademax).sum();
        if sum > 0.0 {
            let weight = item.grademax / sum;
            put("weightraw", json!(weight));
            put("weightformatted", json!(format!("{} %", two(weight * 100.0))));
        }
    }
    put("graderaw", json!(finalgrade));
    put("gradedatesubmitted", Value::Null);
    put(
        "gradedategraded",
        json!(grade.filter(|g| g.finalgrade.is_some()).map(|g| g.timemodified)),
    );
    put("gradehiddenbydate", json!(false));
    put("gradeneedsupdate", json!(false));
    put("gradeishidden", json!(item.hidden));
    put("gradeislocked", json!(item.locked));
    put("gradeisoverridden", json!(overridden));
    put("gradeformatted", json!(finalgrade.map_or("-".to_string(), two)));
    put("grademin", json!(grademin));
    put("grademax", json!(grademax));
    put(
        "rangeformatted",
        json!(format!("{grademin:.0}&ndash;{grademax:.0}")),
    );
    let percentage = finalgrade.map_or("-".to_string(), |g| {
        let span = grademax - grademin;
        let p = if span > 0.0 {
            (g - grademin) / span * 100.0
        } else {
            0.0
        };
        format!("{} %", two(p))
    });
    put("percentageformatted", json!(percentage));
    put("feedback", json!(grade.map_or("", |g| g.feedback.as_str())));
    put("feedbackformat", json!(0));
    Value::Object(data)
}

// ---- core_grades_update_grades (grade/externallib.php, lib/gradelib.php grade_update) ----

pub fn update_grades_params(_: &SiteConfig) -> Desc {
    use super::super::params::{list, optional};
    single(vec![
        required("source", value(T::Text)),
        required("courseid", value(T::Int)),
        required("component", value(T::Component)),
        required("activityid", value(T::Int)),
        required("itemnumber", value(T::Int)),
        optional(
            "grades",
            list(single(vec![
                required("studentid", value(T::Int)),
                required("grade", value(T::Float)),
                optional("str_feedback", value(T::Text)),
            ])),
        ),
        optional(
            "itemdetails",
            single(vec![
                optional("itemname", value(T::Alphanumext)),
                optional("idnumber", value(T::Int)),
                optional("gradetype", value(T::Int)),
                optional("grademax", value(T::Float)),
                optional("grademin", value(T::Float)),
                optional("scaleid", value(T::Int)),
                optional("multfactor", value(T::Float)),
                optional("plusfactor", value(T::Float)),
                optional("deleted", value(T::Bool)),
                optional("hidden", value(T::Bool)),
            ]),
        ),
    ])
}

/// GRADE_UPDATE_OK, GRADE_UPDATE_ITEM_LOCKED (lib/gradelib.php).
const GRADE_UPDATE_OK: i64 = 0;
const GRADE_UPDATE_ITEM_LOCKED: i64 = 4;

/// The component names a module (`mod_assign`), and `activityid` must be a
/// course module of that module (`invalidcoursemodule`); the course
/// context (`errorcoursecontextnotvalid`); then `grade_update` for the
/// module instance's item `itemnumber`: made if missing (named by
/// itemdetails' itemname, else the module's name), deleted with
/// `itemdetails[deleted]`, its itemname/idnumber/grademin/grademax/hidden
/// set from itemdetails; a locked item takes no grades (answer 4); each
/// grade sets the student's grade and feedback. Answers 0.
pub fn update_grades(ctx: &mut Ctx, params: Rec) -> Result<Value, WsError> {
    let courseid = params.int("courseid").unwrap_or_default();
    let component = params.text("component");
    let activityid = params.int("activityid").unwrap_or_default();
    let itemnumber = params.int("itemnumber").unwrap_or_default();
    let module = component.strip_prefix("mod_");
    let cm = module.and_then(|m| {
        ctx.state
            .modules
            .get(&activityid)
            .filter(|cm| cm.modname == m)
            .cloned()
    });
    let Some(cm) = cm else {
        return Err(WsError::moodle("invalidcoursemodule", "Invalid course module ID"));
    };
    if !ctx.state.courses.contains_key(&courseid) {
        return Err(WsError::moodle(
            "errorcoursecontextnotvalid",
            &format!(
                "You cannot execute functions in the course context (course id:{courseid}). \
                 The context error message was: Invalid parameter value detected"
            ),
        ));
    }
    let details = params.0.get("itemdetails").and_then(|d| d.as_array()).map(Rec);
    let existing = ctx
        .state
        .grade_items
        .values()
        .find(|i| {
            i.courseid == courseid
                && i.itemtype == "mod"
                && i.itemmodule.as_deref() == Some(cm.modname.as_str())
                && i.iteminstance == Some(cm.instance)
                && i.itemnumber == Some(itemnumber)
        })
        .map(|i| i.id);
    if details.is_some_and(|d| d.flag("deleted")) {
        if let Some(id) = existing {
            ctx.state.grade_items.remove(&id);
            ctx.state.grades.retain(|(item, _), _| *item != id);
            ctx.committed = true;
        }
        return Ok(Value::from(GRADE_UPDATE_OK));
    }
    let id = match existing {
        Some(id) => id,
        None => {
            let name = details
                .and_then(|d| d.str("itemname"))
                .map_or(cm.name.clone(), str::to_string);
            let mut item = GradeItem::activity(0, courseid, &name, &cm.modname, cm.instance, cm.id);
            item.itemnumber = Some(itemnumber);
            ctx.committed = true;
            ctx.state.add_grade_item(courseid, item)
        }
    };
    let item = ctx.state.grade_items.get_mut(&id).expect("made");
    if let Some(d) = details {
        if let Some(name) = d.str("itemname") {
            item.itemname = Some(name.to_string());
        }
        if let Some(idnumber) = d.str("idnumber") {
            item.idnumber = Some(idnumber.to_string());
        }
        if let Some(max) = d.str("grademax").and_then(|v| v.parse().ok()) {
            item.grademax = max;
        }
        if let Some(min) = d.str("grademin").and_then(|v| v.parse().ok()) {
            item.grademin = min;
        }
        if d.str("hidden").is_some() {
            item.hidden = d.flag("hidden");
        }
        ctx.committed = true;
    }
    let grades = params.list("grades");
    if item.locked && !grades.is_empty() {
        return Ok(Value::from(GRADE_UPDATE_ITEM_LOCKED));
    }
    for g in grades {
        let userid = g.int("studentid").unwrap_or_default();
        let value: f64 = g.text("grade").parse().unwrap_or(0.0);
        let grade = Grade {
            feedback: g.text("str_feedback").to_string(),
            timemodified: now(),
            ..Grade::new(value)
        };
        ctx.state.grades.insert((id, userid), grade);
        ctx.committed = true;
    }
    Ok(Value::from(GRADE_UPDATE_OK))
}
