//! Output records from Moodle's answer: found where `emits` says, cleaned to
//! the fields `returns` declares (as Moodle's own `clean_returnvalue` drops
//! undeclared keys), and annotated with the call's inputs.

use serde_json::{Map, Value as Json};

use crate::template::{Emits, Field, FieldType, ReadTemplate, Returns};

/// An output record: field names to JSON values, in output order.
pub type Output = Map<String, Json>;

/// Why an answer has no records where the template expects them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Moodle's answer to {function} is not shaped as the template `{template}` declares: {problem}")]
pub struct ShapeError {
    /// The function called.
    pub function: String,
    /// The template.
    pub template: String,
    /// What did not match.
    pub problem: String,
}

/// The output records of `answer`, before annotation.
///
/// # Errors
/// The answer is not the list or object the template declares.
pub fn records(template: &ReadTemplate, answer: &Json) -> Result<Vec<Output>, ShapeError> {
    let fail = |problem: String| ShapeError {
        function: template.function.clone(),
        template: template.name.clone(),
        problem,
    };
    match (&template.returns, &template.spec().emits) {
        (Returns::List(fields), _) => {
            let items = answer
                .as_array()
                .ok_or_else(|| fail(format!("expected a list, got {}", kind(answer))))?;
            items
                .iter()
                .map(|item| {
                    clean_object(fields, item)
                        .ok_or_else(|| fail(format!("expected objects in the list, got {}", kind(item))))
                })
                .collect()
        }
        (Returns::Object(fields), Emits::Path(path)) => {
            let mut out = Vec::new();
            descend(fields, answer, path, &Output::new(), &mut out).map_err(fail)?;
            Ok(out)
        }
        (Returns::Object(fields), _) => clean_object(fields, answer)
            .map(|record| vec![record])
            .ok_or_else(|| fail(format!("expected an object, got {}", kind(answer)))),
        // A check refuses `emits` without a list or object answer.
        (Returns::Nothing | Returns::Value { .. }, _) => Ok(Vec::new()),
    }
}

/// The items of the list at `path` under `object`, each with the scalars of
/// the objects around it (the item's own fields win).
fn descend(
    fields: &[Field],
    object: &Json,
    path: &[String],
    outer: &Output,
    out: &mut Vec<Output>,
) -> Result<(), String> {
    let Some((step, rest)) = path.split_first() else {
        let mut record = clean_object(fields, object)
            .ok_or_else(|| format!("expected an object, got {}", kind(object)))?;
        for (name, value) in outer {
            if !record.contains_key(name) {
                record.insert(name.clone(), value.clone());
            }
        }
        out.push(record);
        return Ok(());
    };
    let map = object
        .as_object()
        .ok_or_else(|| format!("expected an object, got {}", kind(object)))?;
    let mut scalars = outer.clone();
    for field in fields.iter().filter(|f| !matches!(f.ty, FieldType::List(_))) {
        if let Some(value) = map.get(&field.name) {
            scalars.insert(field.name.clone(), value.clone());
        }
    }
    let inner = match fields.iter().find(|f| f.name == *step).map(|f| &f.ty) {
        Some(FieldType::List(inner)) => inner,
        _ => return Err(format!("`{step}` is not a declared list")),
    };
    let Some(items) = map.get(step.as_str()) else {
        return Ok(());
    };
    let items = items
        .as_array()
        .ok_or_else(|| format!("`{step}` should be a list, got {}", kind(items)))?;
    for item in items {
        descend(inner, item, rest, &scalars, out)?;
    }
    Ok(())
}

/// The declared fields of `value`, in declaration order; nested lists keep
/// only their declared fields too. `None` when `value` is not an object.
fn clean_object(fields: &[Field], value: &Json) -> Option<Output> {
    let map = value.as_object()?;
    let mut out = Output::new();
    for field in fields {
        let Some(value) = map.get(&field.name) else {
            continue;
        };
        let cleaned = match (&field.ty, value) {
            (FieldType::List(inner), Json::Array(items)) => Json::Array(
                items
                    .iter()
                    .map(|item| clean_object(inner, item).map_or_else(|| item.clone(), Json::Object))
                    .collect(),
            ),
            _ => value.clone(),
        };
        out.insert(field.name.clone(), cleaned);
    }
    Some(out)
}

fn kind(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "an object",
    }
}
