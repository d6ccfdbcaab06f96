//! core_course_create_courses (moodle-ws.md 2.7) and
//! core_course_get_courses_by_field (2.9).

use moodlec::moodle::params as moodle_params;
use serde_json::{json, Value};

use super::super::config::SiteConfig;
use super::super::params::{default, list, optional, required, single, value, Desc, ParamType as T, Rec};
use super::super::response::WsError;
use super::super::state::{Course, ManualEnrol};
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
fn php_int(s: &str) -> i64 {
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
    let methods: Vec<&str> = if course.manual_enrol == ManualEnrol::Enabled {
        vec!["manual"]
    } else {
        vec![]
    };
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
