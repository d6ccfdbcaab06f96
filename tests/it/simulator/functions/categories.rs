//! core_course_create_categories and core_course_update_categories
//! (course/externallib.php; the checks of core_course_category::create()
//! and update(), course/classes/category.php). Both run one transaction
//! for the whole call.

use serde_json::{json, Value};

use super::super::config::SiteConfig;
use super::super::params::{list, optional, required, single, value, Desc, ParamType as T, Rec};
use super::super::response::WsError;
use super::super::state::{Category, SiteState};
use super::{php_empty, sql_debug, Ctx};

pub fn create_params(_: &SiteConfig) -> Desc {
    single(vec![required(
        "categories",
        list(single(vec![
            required("name", value(T::Text)),
            optional("parent", value(T::Int)),
            optional("idnumber", value(T::Raw)),
            optional("description", value(T::Raw)),
            optional("descriptionformat", value(T::Int)),
            optional("theme", value(T::Theme)),
        ])),
    )])
}

pub fn update_params(_: &SiteConfig) -> Desc {
    single(vec![required(
        "categories",
        list(single(vec![
            required("id", value(T::Int)),
            optional("name", value(T::Text)),
            optional("idnumber", value(T::Raw)),
            optional("parent", value(T::Int)),
            optional("description", value(T::Raw)),
            optional("descriptionformat", value(T::Int)),
            optional("theme", value(T::Theme)),
        ])),
    )])
}

fn format_error() -> WsError {
    WsError::moodle("formatnotsupported", "Format not supported")
}

fn check_format(rec: Rec) -> Result<i64, WsError> {
    let format = rec.int("descriptionformat").unwrap_or(1);
    if matches!(format, 0 | 1 | 2 | 4) {
        Ok(format)
    } else {
        Err(format_error())
    }
}

/// The name and idnumber checks of `core_course_category::create` /
/// `update`; `others` are the categories the idnumber must not repeat.
fn check_name_idnumber<'a>(
    name: Option<&str>,
    idnumber: Option<&str>,
    mut others: impl Iterator<Item = &'a Category>,
) -> Result<(), WsError> {
    if let Some(name) = name {
        if name.chars().count() > 255 {
            return Err(WsError::moodle("categorytoolong", "Category name too long"));
        }
    }
    if let Some(idnumber) = idnumber {
        if idnumber.chars().count() > 100 {
            return Err(WsError::moodle("idnumbertoolong", "ID number is too long"));
        }
        if !idnumber.is_empty() && others.any(|c| c.idnumber == idnumber) {
            return Err(WsError::moodle(
                "categoryidnumbertaken",
                "ID number is already used for another category",
            ));
        }
    }
    Ok(())
}

/// Per category, in Moodle's order: a parent that does not exist
/// (`unknowcategory`, Moodle's spelling), the description format, then
/// `core_course_category::create`: an empty name (`categorynamerequired`),
/// a name over 255 characters, an idnumber over 100 or already used
/// (`categoryidnumbertaken`, earlier categories of the call included). A
/// new category comes last among its siblings and is hidden under a
/// hidden parent; a theme is kept only when the site allows category
/// themes. Answers `[{id, name}]` in input order.
pub fn create_categories(ctx: &mut Ctx, params: Rec) -> Result<Value, WsError> {
    let mut batch: Vec<Category> = Vec::new();
    let first = ctx.state.categories.keys().max().map_or(1, |m| m + 1);
    for rec in params.list("categories") {
        let parent = rec.int("parent").unwrap_or(0);
        let all = || ctx.state.categories.values().chain(&batch);
        let parent_row = all().find(|c| c.id == parent).cloned();
        if parent != 0 && parent_row.is_none() {
            return Err(WsError::moodle("unknowcategory", "Unknown category"));
        }
        let descriptionformat = check_format(rec)?;
        let name = rec.text("name");
        if php_empty(name) {
            return Err(WsError::moodle(
                "categorynamerequired",
                "The category name is required",
            ));
        }
        check_name_idnumber(Some(name), rec.str("idnumber"), all())?;
        let sortorder = all()
            .filter(|c| c.parent == parent)
            .map(|c| c.sortorder)
            .max()
            .unwrap_or(0)
            + 1;
        let visible = parent_row.is_none_or(|p| p.visible);
        batch.push(Category {
            id: first + batch.len() as i64,
            name: name.to_string(),
            parent,
            idnumber: rec.text("idnumber").to_string(),
            description: rec.text("description").to_string(),
            descriptionformat,
            sortorder,
            visible,
            visibleold: true,
            theme: if ctx.site.allow_category_themes {
                rec.text("theme").to_string()
            } else {
                String::new()
            },
            timemodified: super::users::now(),
        });
    }
    let answer: Vec<Value> = batch
        .iter()
        .map(|c| json!({"id": c.id, "name": c.name}))
        .collect();
    ctx.committed = !batch.is_empty();
    for category in batch {
        ctx.state.categories.insert(category.id, category);
    }
    Ok(Value::Array(answer))
}

/// Per category: `core_course_category::get` (`unknowncategory`), a new
/// parent's context (0: system; else the category must exist: a DML error
/// on table course_categories), the description format, then `update`:
/// name and idnumber checks (the idnumber against the other categories),
/// and a move below itself is `cannotmovecategory`. Only the fields sent
/// change. Answers null.
pub fn update_categories(ctx: &mut Ctx, params: Rec) -> Result<Value, WsError> {
    let mut state: SiteState = ctx.state.clone();
    for rec in params.list("categories") {
        let id = rec.int("id").unwrap_or_default();
        let Some(mut category) = state.categories.get(&id).cloned() else {
            return Err(WsError::moodle("unknowncategory", "Category not known!"));
        };
        let parent = rec.int("parent").filter(|p| *p != category.parent);
        if let Some(p) = parent.filter(|p| *p != 0) {
            if !state.categories.contains_key(&p) {
                return Err(WsError::missing_record(
                    "invalidrecord",
                    "Can not find data record in database table course_categories.",
                    sql_debug("SELECT * FROM {course_categories} WHERE id = ?", &p.to_string()),
                ));
            }
        }
        if rec.str("descriptionformat").is_some() {
            category.descriptionformat = check_format(rec)?;
        }
        check_name_idnumber(
            rec.str("name"),
            rec.str("idnumber").filter(|i| *i != category.idnumber),
            state.categories.values().filter(|c| c.id != id),
        )?;
        if let Some(name) = rec.str("name") {
            category.name = name.to_string();
        }
        if let Some(idnumber) = rec.str("idnumber") {
            category.idnumber = idnumber.to_string();
        }
        if let Some(description) = rec.str("description") {
            category.description = description.to_string();
        }
        if let Some(theme) = rec.str("theme").filter(|_| ctx.site.allow_category_themes) {
            category.theme = theme.to_string();
        }
        if let Some(p) = parent {
            let below = p != 0 && (p == id || state.category_path(p).split('/').any(|s| s == id.to_string()));
            if below {
                return Err(WsError::moodle("cannotmovecategory", "Cannot move category"));
            }
            category.parent = p;
            category.sortorder = state
                .categories
                .values()
                .filter(|c| c.parent == p)
                .map(|c| c.sortorder)
                .max()
                .unwrap_or(0)
                + 1;
        }
        category.timemodified = super::users::now();
        state.categories.insert(id, category);
    }
    if state.categories != ctx.state.categories {
        ctx.state.categories = state.categories;
        ctx.committed = true;
    }
    Ok(Value::Null)
}
