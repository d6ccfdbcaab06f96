//! core_course_create_courses (moodle-ws.md 2.7) and
//! core_course_get_courses_by_field (2.9).

use moodlec::moodle::params as moodle_params;
use serde_json::{json, Map, Value};

use super::super::config::SiteConfig;
use super::super::params::{
    default, list, optional, required, single, value, Desc, Field, ParamType as T, Presence, Rec,
};
use super::super::response::{class, WsError};
use super::super::state::{Category, Course, ManualEnrol, SiteState};
use super::{check_column, php_trim, Ctx};

pub fn create_params(_: &SiteConfig) -> Desc {
    let o = |name, t| optional(name, value(t));
    let d = |name, t, v: &str| default(name, value(t), v);
    let name_value = |key| {
        list(single(vec![
            required(key, value(T::Alphanumext)),
            required("value", value(T::Raw)),
        ]))
    };
    single(vec![required(
        "courses",
        list(single(vec![
            required("fullname", value(T::Text)),
            required("shortname", value(T::Text)),
            required("categoryid", value(T::Int)),
            o("idnumber", T::Raw),
            o("summary", T::Raw),
            d("summaryformat", T::Int, "1"),
            d("format", T::Plugin, "topics"),
            d("showgrades", T::Int, "1"),
            d("newsitems", T::Int, "5"),
            o("startdate", T::Int),
            o("enddate", T::Int),
            o("numsections", T::Int),
            d("maxbytes", T::Int, "0"),
            d("showreports", T::Int, "0"),
            o("visible", T::Int),
            o("hiddensections", T::Int),
            d("groupmode", T::Int, "0"),
            d("groupmodeforce", T::Int, "0"),
            d("defaultgroupingid", T::Int, "0"),
            o("enablecompletion", T::Int),
            o("completionnotify", T::Int),
            o("lang", T::Safedir),
            o("forcetheme", T::Plugin),
            optional("courseformatoptions", name_value("name")),
            optional("customfields", name_value("shortname")),
        ])),
    )])
}

pub fn by_field_params(_: &SiteConfig) -> Desc {
    single(vec![
        default("field", value(T::Alpha), ""),
        default("value", value(T::Raw), ""),
    ])
}

/// One transaction for the whole call: the first bad course aborts it.
/// Shortnames and idnumbers are unique site-wide, including the courses
/// created earlier in the same call (4.2).
pub fn create_courses(ctx: &mut Ctx, params: Rec) -> Result<Value, WsError> {
    let mut batch: Vec<Course> = Vec::new();
    for rec in params.list("courses") {
        check_course(ctx, rec, &batch)?;
        let course = build_course(ctx, rec)?;
        batch.push(course);
    }
    let created: Vec<Value> = batch
        .iter()
        .map(|c| json!({"id": c.id, "shortname": c.shortname}))
        .collect();
    ctx.committed = !batch.is_empty();
    for course in batch {
        ctx.state.courses.insert(course.id, course);
    }
    ctx.state.seed_instances();
    Ok(Value::Array(created))
}

/// The checks of 2.7 in Moodle's order, up to `create_course`'s own.
fn check_course(ctx: &Ctx, rec: Rec, batch: &[Course]) -> Result<(), WsError> {
    let categoryid = rec.int("categoryid").unwrap_or_default();
    if !ctx.state.categories.contains_key(&categoryid) {
        return Err(WsError::moodle(
            "errorcatcontextnotvalid",
            &format!(
                "You cannot execute functions in the category context (category id:{categoryid}). \
                 The context error message was: Invalid parameter value detected"
            ),
        ));
    }
    for field in ["fullname", "shortname"] {
        if php_trim(rec.text(field)).is_empty() {
            return Err(invalid_param(field));
        }
    }
    if let Some(lang) = rec.str("lang") {
        if !ctx.site.langs.iter().any(|l| l == lang) {
            return Err(invalid_param("lang"));
        }
    }
    if !matches!(rec.int("summaryformat"), Some(0 | 1 | 2 | 4)) {
        return Err(WsError::moodle("formatnotsupported", "Format not supported"));
    }
    let mut existing = ctx.state.courses.values().chain(batch);
    let idnumber = rec.text("idnumber");
    if !idnumber.is_empty() && existing.any(|c| c.idnumber == idnumber) {
        return Err(WsError::moodle(
            "courseidnumbertaken",
            &format!("ID number is already used for another course ({idnumber})"),
        ));
    }
    let (start, end) = (rec.int("startdate").unwrap_or(0), rec.int("enddate").unwrap_or(0));
    if end > 0 && end < start {
        return Err(WsError::moodle(
            "enddatebeforestartdate",
            "The course end date must be after the start date.",
        ));
    }
    let shortname = rec.text("shortname");
    let mut existing = ctx.state.courses.values().chain(batch);
    if existing.any(|c| c.shortname == shortname) {
        return Err(WsError::moodle(
            "shortnametaken",
            &format!("Short name is already used for another course ({shortname})"),
        ));
    }
    Ok(())
}

fn invalid_param(name: &str) -> WsError {
    WsError::moodle("errorinvalidparam", &format!("The param \"{name}\" is invalid."))
}

/// `create_course`'s insert; the new course gets an enabled manual
/// enrolment instance, as with the manual plugin on (its default).
fn build_course(ctx: &mut Ctx, rec: Rec) -> Result<Course, WsError> {
    let id = ctx.state.take_course_id();
    check_column("course", "shortname", rec.text("shortname"), 255)?;
    check_column("course", "idnumber", rec.text("idnumber"), 100)?;
    Ok(Course {
        id,
        shortname: rec.text("shortname").to_string(),
        fullname: rec.text("fullname").to_string(),
        categoryid: rec.int("categoryid").unwrap_or_default(),
        idnumber: rec.text("idnumber").to_string(),
        summary: rec.text("summary").to_string(),
        summaryformat: rec.int("summaryformat").unwrap_or(1),
        format: rec.text("format").to_string(),
        startdate: rec.int("startdate").unwrap_or(0),
        enddate: rec.int("enddate").unwrap_or(0),
        // An absent `visible` means the category's visibility (visible here).
        visible: rec.int("visible") != Some(0),
        manual_enrol: ManualEnrol::Enabled,
    })
}

/// The value is cleaned, not strictly checked (`clean_param`), and the
/// lookup is exact. Unknown fields are an invalid_parameter_exception; a
/// category that does not exist is `unknowncategory`.
pub fn get_courses_by_field(ctx: &mut Ctx, params: Rec) -> Result<Value, WsError> {
    let field = params.text("field");
    let raw = params.text("value");
    let matches: Box<dyn Fn(&Course) -> bool> = match field {
        "" => Box::new(|_| true),
        "id" => {
            let id = php_int(raw);
            Box::new(move |c| c.id == id)
        }
        "ids" => {
            let ids: Vec<i64> = cleaned(moodle_params::sequence(raw), raw)
                .split(',')
                .filter_map(|s| s.parse().ok())
                .collect();
            Box::new(move |c| ids.contains(&c.id))
        }
        "shortname" => {
            let shortname = cleaned(moodle_params::text(raw), raw);
            Box::new(move |c| c.shortname == shortname)
        }
        "idnumber" => {
            let idnumber = raw.to_string();
            Box::new(move |c| c.idnumber == idnumber)
        }
        "category" => {
            let category = php_int(raw);
            if !ctx.state.categories.contains_key(&category) {
                return Err(WsError::moodle("unknowncategory", "Category not known!"));
            }
            Box::new(move |c| c.categoryid == category)
        }
        _ => return Err(WsError::invalid_parameter("Invalid field name")),
    };
    let courses: Vec<Value> = ctx
        .state
        .courses
        .values()
        .filter(|c| matches(c))
        .map(|c| course_details(ctx, c))
        .collect();
    Ok(json!({"courses": courses, "warnings": []}))
}

/// The non-strict cleaning of a value: what the port says Moodle would
/// make of it.
fn cleaned(check: Result<(), moodlec::moodle::Rejection>, raw: &str) -> String {
    match check {
        Ok(()) => raw.to_string(),
        Err(r) => r.cleaned.unwrap_or_default(),
    }
}

/// `clean_param(PARAM_INT)` = PHP's `(int)` cast.
pub fn php_int(s: &str) -> i64 {
    match moodle_params::int(s) {
        Ok(n) => n,
        Err(r) => r.cleaned.and_then(|c| c.parse().ok()).unwrap_or(0),
    }
}

/// The course object for a caller who may update the course.
fn course_details(ctx: &Ctx, course: &Course) -> Value {
    let categoryname = ctx
        .state
        .categories
        .get(&course.categoryid)
        .map(|c| c.name.clone())
        .unwrap_or_default();
    // The plugin of each enabled instance, in instance order (a plugin
    // with two instances twice): get_course_public_information,
    // course/externallib.php.
    let methods: Vec<&str> = ctx
        .state
        .instances(course.id)
        .into_iter()
        .filter(|i| i.enabled)
        .map(|i| i.enrol.as_str())
        .collect();
    json!({
        "id": course.id,
        "fullname": course.fullname,
        "displayname": course.fullname,
        "shortname": course.shortname,
        "categoryid": course.categoryid,
        "categoryname": categoryname,
        "sortorder": 10000 + course.id,
        "summary": course.summary,
        "summaryformat": course.summaryformat,
        "summaryfiles": [],
        "overviewfiles": [],
        "contacts": [],
        "enrollmentmethods": methods,
        "customfields": [],
        "idnumber": course.idnumber,
        "format": course.format,
        "showgrades": 1,
        "newsitems": 5,
        "startdate": course.startdate,
        "enddate": course.enddate,
        "maxbytes": 0,
        "showreports": 0,
        "visible": i64::from(course.visible),
        "groupmode": 0,
        "groupmodeforce": 0,
        "defaultgroupingid": 0,
        "enablecompletion": 1,
        "completionnotify": 0,
        "lang": "",
        "theme": "",
        "marker": 0,
        "legacyfiles": 0,
        "calendartype": "",
        "timecreated": 0,
        "timemodified": 0,
        "requested": 0,
        "cacherev": 0,
        "filters": [],
        "courseformatoptions": [],
    })
}

// ---- core_course_get_courses (moodle-ws.md 2.8) ----

pub fn get_courses_params(_: &SiteConfig) -> Desc {
    single(vec![Field {
        name: "options",
        desc: single(vec![optional("ids", list(value(T::Int)))]),
        presence: Presence::DefaultEmpty,
    }])
}

/// `$DB->get_records('course')` (every course, the front page included)
/// or `get_records_list('course', 'id', ids)` (unknown ids simply match
/// nothing), each with the fields a caller with moodle/course:update gets,
/// in the order of `get_courses_returns`.
pub fn get_courses(ctx: &mut Ctx, params: Rec) -> Result<Value, WsError> {
    let ids: Vec<i64> = params
        .0
        .get("options")
        .and_then(|o| o.as_array())
        .map(|o| {
            Rec(o)
                .strings("ids")
                .iter()
                .filter_map(|s| s.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    let front = Course::front_page(&ctx.site.sitename, &ctx.site.site_shortname);
    let all = std::iter::once(&front).chain(ctx.state.courses.values());
    let courses: Vec<Value> = all
        .filter(|c| ids.is_empty() || ids.contains(&c.id))
        .map(course_info)
        .collect();
    Ok(Value::Array(courses))
}

/// One course of get_courses. Values Moodle keeps but the simulator does
/// not model are the defaults of a course made by create_courses with
/// the stock moodlecourse settings (numsections 4; the front page has
/// section 1 only and no format options).
fn course_info(course: &Course) -> Value {
    let site = course.id == 1;
    let mut options = Vec::new();
    if !site {
        options.push(json!({"name": "hiddensections", "value": 0}));
        options.push(json!({"name": "coursedisplay", "value": 0}));
    }
    let mut info = Map::new();
    let mut put = |k: &str, v: Value| {
        info.insert(k.to_string(), v);
    };
    put("id", json!(course.id));
    put("shortname", json!(course.shortname));
    put("categoryid", json!(course.categoryid));
    put(
        "categorysortorder",
        json!(if site { 1 } else { 10000 + course.id }),
    );
    put("fullname", json!(course.fullname));
    put("displayname", json!(course.fullname));
    put("idnumber", json!(course.idnumber));
    put("summary", json!(course.summary));
    put("summaryformat", json!(course.summaryformat));
    put("format", json!(course.format));
    put("showgrades", json!(1));
    put("newsitems", json!(if site { 3 } else { 5 }));
    put("startdate", json!(course.startdate));
    put("enddate", json!(course.enddate));
    put("numsections", json!(if site { 1 } else { 4 }));
    put("maxbytes", json!(0));
    put("showreports", json!(0));
    put("visible", json!(i64::from(course.visible)));
    if !site {
        put("hiddensections", json!(0));
    }
    put("groupmode", json!(0));
    put("groupmodeforce", json!(0));
    put("defaultgroupingid", json!(0));
    put("timecreated", json!(0));
    put("timemodified", json!(0));
    put("enablecompletion", json!(i64::from(!site)));
    put("completionnotify", json!(0));
    put("lang", json!(""));
    put("forcetheme", json!(""));
    put("courseformatoptions", Value::Array(options));
    Value::Object(info)
}

// ---- core_course_get_categories (moodle-ws.md 2.11) ----

pub fn get_categories_params(_: &SiteConfig) -> Desc {
    single(vec![
        Field {
            name: "criteria",
            desc: list(single(vec![
                required("key", value(T::Alpha)),
                required("value", value(T::Raw)),
            ])),
            presence: Presence::DefaultEmpty,
        },
        default("addsubcategories", value(T::Bool), "1"),
    ])
}

/// Criteria are ANDed; each key is read once (a repeated key is ignored,
/// as `isset($conditions[$key])` skips it). With addsubcategories every
/// descendant of a match is added (still filtered by `visible`/`theme`
/// criteria). Sorted by sortorder, with the fields an admin sees.
pub fn get_categories(ctx: &mut Ctx, params: Rec) -> Result<Value, WsError> {
    type Test = Box<dyn Fn(&Category, &SiteState) -> bool>;
    let mut seen: Vec<String> = Vec::new();
    let mut tests: Vec<Test> = Vec::new();
    let mut inherited: Vec<Test> = Vec::new();
    for crit in params.list("criteria") {
        let key = php_trim(crit.text("key")).to_string();
        if seen.contains(&key) {
            continue;
        }
        seen.push(key.clone());
        let raw = crit.text("value").to_string();
        let test: Test = match key.as_str() {
            "id" => {
                let id = php_int(&raw);
                Box::new(move |c, _| c.id == id)
            }
            "ids" => {
                let ids: Vec<i64> = cleaned(moodle_params::sequence(&raw), &raw)
                    .split(',')
                    .filter_map(|s| s.parse().ok())
                    .collect();
                Box::new(move |c, _| ids.contains(&c.id))
            }
            "idnumber" => Box::new(move |c, _| c.idnumber == raw),
            "name" => {
                let name = cleaned(moodle_params::text(&raw), &raw);
                Box::new(move |c, _| c.name == name)
            }
            "parent" => {
                let parent = php_int(&raw);
                Box::new(move |c, _| c.parent == parent)
            }
            "visible" => {
                let visible = php_int(&raw) != 0;
                inherited.push(Box::new(move |c, _| c.visible == visible));
                Box::new(move |c, _| c.visible == visible)
            }
            "theme" => {
                let theme = if ctx.site.themes.contains(&raw) {
                    raw
                } else {
                    String::new()
                };
                let t2 = theme.clone();
                inherited.push(Box::new(move |c, _| c.theme == t2));
                Box::new(move |c, _| c.theme == theme)
            }
            _ => {
                return Err(WsError::new(
                    class::MOODLE,
                    "criteriaerror",
                    "Missing permissions to search on a criterion.",
                    Some(format!("You can not search on this criteria: {key}")),
                ))
            }
        };
        tests.push(test);
    }
    let state = &*ctx.state;
    let mut found: Vec<&Category> = state
        .categories
        .values()
        .filter(|c| tests.iter().all(|t| t(c, state)))
        .collect();
    if !tests.is_empty() && params.flag("addsubcategories") {
        let paths: Vec<String> = found.iter().map(|c| state.category_path(c.id)).collect();
        for c in state.categories.values() {
            let path = state.category_path(c.id);
            let below = paths.iter().any(|p| path.starts_with(&format!("{p}/")));
            if below && inherited.iter().all(|t| t(c, state)) && !found.iter().any(|f| f.id == c.id) {
                found.push(c);
            }
        }
    }
    found.sort_by_key(|c| (state.category_sortorder(c.id), c.id));
    let categories: Vec<Value> = found
        .into_iter()
        .map(|c| {
            let coursecount = state.courses.values().filter(|k| k.categoryid == c.id).count();
            json!({
                "id": c.id,
                "name": c.name,
                "idnumber": c.idnumber,
                "description": c.description,
                "descriptionformat": c.descriptionformat,
                "parent": c.parent,
                "sortorder": state.category_sortorder(c.id),
                "coursecount": coursecount,
                "visible": i64::from(c.visible),
                "visibleold": i64::from(c.visibleold),
                "timemodified": c.timemodified,
                "depth": state.category_depth(c.id),
                "path": state.category_path(c.id),
                "theme": c.theme,
            })
        })
        .collect();
    Ok(Value::Array(categories))
}

// ---- core_course_update_courses / core_course_delete_courses (course/externallib.php) ----

pub fn update_params(_: &SiteConfig) -> Desc {
    let o = |name, t| optional(name, value(t));
    let name_value = |key| {
        list(single(vec![
            required(key, value(T::Alphanumext)),
            required("value", value(T::Raw)),
        ]))
    };
    single(vec![required(
        "courses",
        list(single(vec![
            required("id", value(T::Int)),
            o("fullname", T::Text),
            o("shortname", T::Text),
            o("categoryid", T::Int),
            o("idnumber", T::Raw),
            o("summary", T::Raw),
            o("summaryformat", T::Int),
            o("format", T::Plugin),
            o("showgrades", T::Int),
            o("newsitems", T::Int),
            o("startdate", T::Int),
            o("enddate", T::Int),
            o("numsections", T::Int),
            o("maxbytes", T::Int),
            o("showreports", T::Int),
            o("visible", T::Int),
            o("hiddensections", T::Int),
            o("groupmode", T::Int),
            o("groupmodeforce", T::Int),
            o("defaultgroupingid", T::Int),
            o("enablecompletion", T::Int),
            o("completionnotify", T::Int),
            o("lang", T::Safedir),
            o("forcetheme", T::Plugin),
            optional("courseformatoptions", name_value("name")),
            optional("customfields", name_value("shortname")),
        ])),
    )])
}

/// Each course on its own: any exception becomes a warning `{item:
/// "course", itemid, warningcode: errorcode, message}` and the next course
/// is tried. Checks in Moodle's order: the course context (MUST_EXIST:
/// `invalidrecord` on table course), a changed fullname/shortname must not
/// be blank (`errorinvalidparam`), a changed lang must be installed, a
/// changed summaryformat must be supported; then `update_course`: shortname
/// and non-empty idnumber unique among the other courses
/// (`shortnametaken`, `courseidnumbertaken`), a new category must exist,
/// dates consistent.
pub fn update_courses(ctx: &mut Ctx, params: Rec) -> Result<Value, WsError> {
    let mut warnings = Vec::new();
    for rec in params.list("courses") {
        let id = rec.int("id").unwrap_or_default();
        match update_one(ctx, rec) {
            Ok(course) => {
                ctx.state.courses.insert(course.id, course);
                ctx.committed = true;
            }
            Err(e) => warnings.push(json!({
                "item": "course",
                "itemid": id,
                "warningcode": e.errorcode.unwrap_or_default(),
                "message": e.message,
            })),
        }
    }
    Ok(json!({ "warnings": warnings }))
}

fn update_one(ctx: &Ctx, rec: Rec) -> Result<Course, WsError> {
    let id = rec.int("id").unwrap_or_default();
    let Some(old) = ctx.state.courses.get(&id) else {
        return Err(WsError::missing_record(
            "invalidrecord",
            "Can not find data record in database table course.",
            super::sql_debug("SELECT id,category FROM {course} WHERE id = ?", &id.to_string()),
        ));
    };
    let mut course = old.clone();
    for (field, current) in [("fullname", &old.fullname), ("shortname", &old.shortname)] {
        if let Some(v) = rec.str(field).filter(|v| *v != current) {
            if php_trim(v).is_empty() {
                return Err(invalid_param(field));
            }
        }
    }
    if let Some(format) = rec.int("summaryformat").filter(|f| *f != old.summaryformat) {
        if !matches!(format, 0 | 1 | 2 | 4) {
            return Err(WsError::moodle("formatnotsupported", "Format not supported"));
        }
        course.summaryformat = format;
    }
    if let Some(lang) = rec.str("lang") {
        if !lang.is_empty() && !ctx.site.langs.iter().any(|l| l == lang) {
            return Err(invalid_param("lang"));
        }
    }
    // update_course (course/lib.php).
    if let Some(categoryid) = rec.int("categoryid").filter(|c| *c != 0 && *c != old.categoryid) {
        if !ctx.state.categories.contains_key(&categoryid) {
            return Err(WsError::moodle("unknowncategory", "Category not known!"));
        }
        course.categoryid = categoryid;
    }
    let others = || ctx.state.courses.values().filter(|c| c.id != id);
    if let Some(shortname) = rec
        .str("shortname")
        .filter(|s| !s.is_empty() && *s != old.shortname)
    {
        if others().any(|c| c.shortname == shortname) {
            return Err(WsError::moodle(
                "shortnametaken",
                &format!("Short name is already used for another course ({shortname})"),
            ));
        }
        course.shortname = shortname.to_string();
    }
    if let Some(idnumber) = rec.str("idnumber") {
        if !idnumber.is_empty() && idnumber != old.idnumber && others().any(|c| c.idnumber == idnumber) {
            return Err(WsError::moodle(
                "courseidnumbertaken",
                &format!("ID number is already used for another course ({idnumber})"),
            ));
        }
        course.idnumber = idnumber.to_string();
    }
    let start = rec.int("startdate").unwrap_or(old.startdate);
    let end = rec.int("enddate").unwrap_or(old.enddate);
    if end > 0 && end < start {
        return Err(WsError::moodle(
            "enddatebeforestartdate",
            "The course end date must be after the start date.",
        ));
    }
    course.startdate = start;
    course.enddate = end;
    if let Some(fullname) = rec.str("fullname") {
        course.fullname = fullname.to_string();
    }
    if let Some(summary) = rec.str("summary") {
        course.summary = summary.to_string();
    }
    if let Some(format) = rec.str("format") {
        course.format = format.to_string();
    }
    if let Some(visible) = rec.int("visible") {
        course.visible = visible != 0;
    }
    check_column("course", "shortname", &course.shortname, 255)?;
    check_column("course", "idnumber", &course.idnumber, 100)?;
    Ok(course)
}

pub fn delete_params(_: &SiteConfig) -> Desc {
    single(vec![required("courseids", list(value(T::Int)))])
}

/// No transaction: each course is deleted on its own. Unknown ids are a
/// warning `unknowncourseidnumber`; the front page cannot be deleted
/// (`can_delete_course` is false for it: `cannotdeletecourse`, with
/// Moodle's message glued to the id). A deleted course takes its
/// enrolment instances, enrolments, role assignments, groups and grades.
pub fn delete_courses(ctx: &mut Ctx, params: Rec) -> Result<Value, WsError> {
    let mut warnings = Vec::new();
    for id in params.strings("courseids") {
        let id: i64 = id.parse().unwrap_or_default();
        if id == 1 {
            warnings.push(json!({
                "item": "course", "itemid": id, "warningcode": "cannotdeletecourse",
                "message": format!("You do not have the permission to delete this course{id}"),
            }));
            continue;
        }
        if !ctx.state.courses.contains_key(&id) {
            warnings.push(json!({
                "item": "course", "itemid": id, "warningcode": "unknowncourseidnumber",
                "message": format!("Unknown course ID {id}"),
            }));
            continue;
        }
        ctx.state.remove_course(id);
        ctx.committed = true;
    }
    Ok(json!({ "warnings": warnings }))
}
