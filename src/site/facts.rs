//! Reading the site facts of `validate --url` (read functions only): the
//! course categories (core_course_get_categories, once, all of them), the
//! users (core_user_get_users_by_field by id, through the find-by-field
//! service, `find::USER_VALUES_PER_CALL` a call) and the courses
//! (core_course_get_courses_by_field by `ids`, [`COURSE_IDS_PER_CALL`] a
//! call) the records name. What the answers mean: `validate::facts`.

use std::collections::BTreeSet;

use serde_json::Value as Json;

use super::find::{self, Found};
use super::preflight::{site_info, Refusal};
use super::session::{ReadError, Session};
use crate::template::{LookupKind, Template};
use crate::validate::facts::{self, Known, Wanted};

/// Course ids per core_course_get_courses_by_field call (`field=ids`, one
/// comma-separated value).
pub const COURSE_IDS_PER_CALL: usize = 100;

/// Does the token work, and may it call the read functions the facts of
/// `template` need? One read call (site info).
///
/// # Errors
/// Why the facts cannot be read, with what to fix.
pub async fn check_service(session: &Session, template: &Template) -> Result<(), Refusal> {
    let functions = facts::functions(template);
    if functions.is_empty() {
        return Ok(());
    }
    let info = site_info(session, &functions.join(", ")).await?;
    info.require(
        &functions,
        &format!(
            "which checking the site facts of template `{}` needs",
            template.name
        ),
    )
}

/// Read what the site holds of `wanted`.
///
/// # Errors
/// The error that stopped a read (a Moodle error on a read is one too: the
/// facts would be unknown).
pub async fn read(session: &Session, wanted: &Wanted) -> Result<Known, ReadError> {
    let before = session.counts();
    let mut known = Known::default();
    if !wanted.categories.is_empty() {
        let answer = session.read("core_course_get_categories", &[]).await?;
        known.categories = Some(ids(answer.as_array()));
    }
    if !wanted.users.is_empty() {
        let values: Vec<String> = wanted.users.iter().map(i64::to_string).collect();
        let found = find::find(session, LookupKind::User, "id", &values).await?;
        let mut users = BTreeSet::new();
        for found in found.values() {
            if let Found::Records(_) = found {
                users.extend(found.ids());
            }
        }
        known.users = Some(users);
    }
    if !wanted.courses.is_empty() {
        let all: Vec<i64> = wanted.courses.iter().copied().collect();
        let mut courses = BTreeSet::new();
        for chunk in all.chunks(COURSE_IDS_PER_CALL) {
            let value = chunk.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
            let params = [
                ("field".to_owned(), "ids".to_owned()),
                ("value".to_owned(), value),
            ];
            let answer = session.read(LookupKind::Course.function(), &params).await?;
            courses.extend(ids(answer.get("courses").and_then(Json::as_array)));
        }
        known.courses = Some(courses);
    }
    known.requests = (session.counts() - before).requests;
    Ok(known)
}

fn ids(records: Option<&Vec<Json>>) -> BTreeSet<i64> {
    records
        .map(|records| {
            records
                .iter()
                .filter_map(|r| r.get("id").and_then(Json::as_i64))
                .collect()
        })
        .unwrap_or_default()
}
