//! `annotate`, `keep`, `map`, `set`, `exclude` and `select` on output records.

use serde_json::Value as Json;

use super::extract::Output;
use crate::check::emitted_fields;
use crate::form::FieldValue;
use crate::template::{Map, ReadSpec, ReadTemplate, Template, Value};
use crate::validate::source::render_map;
use crate::validate::ValidRecord;

/// Copy the `annotate` inputs of `input` into `record` (the answer's own
/// fields win, so an input never hides what Moodle said).
pub fn annotate(template: &ReadTemplate, input: &ValidRecord, record: &mut Output) {
    for name in &template.spec().annotate {
        let Some(position) = template.fields.iter().position(|f| f.name == *name) else {
            continue;
        };
        let value = input.values.iter().find(|(p, _)| *p == position).map(|(_, v)| v);
        if let Some(FieldValue::Scalar(scalar)) = value {
            record.entry(name.clone()).or_insert_with(|| scalar_json(scalar));
        }
    }
}

/// Whether every `keep` expression is true for `record`.
///
/// # Errors
/// An expression cannot be evaluated on this record.
pub fn keep(read: &ReadSpec, record: &Output) -> Result<bool, String> {
    if read.keep.is_empty() {
        return Ok(true);
    }
    let context = minijinja::Value::from(minijinja::value::Serde(record));
    for rule in &read.keep {
        let value = rule
            .compiled
            .eval(context.clone())
            .map_err(|e| format!("keep \"{}\" could not be evaluated: {e}", rule.expr))?;
        if !value.is_true() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Apply `map`, `set`, `exclude` and `select`, in that order.
///
/// # Errors
/// A `map` template fails on this record.
pub fn finish(read: &ReadSpec, mut record: Output) -> Result<Output, String> {
    if !read.maps.is_empty() {
        let context = minijinja::Value::from(minijinja::value::Serde(&record));
        for map in &read.maps {
            let text = render(map, &context)?;
            record.insert(map.field.clone(), Json::String(text));
        }
    }
    for (name, value) in &read.sets {
        record.insert(name.clone(), scalar_json(value));
    }
    for name in &read.excludes {
        record.shift_remove(name);
    }
    if let Some(select) = &read.select {
        let mut picked = Output::new();
        for name in select {
            picked.insert(name.clone(), record.get(name).cloned().unwrap_or(Json::Null));
        }
        record = picked;
    }
    Ok(record)
}

fn render(map: &Map, context: &minijinja::Value) -> Result<String, String> {
    render_map(map, context).map_err(|e| format!("map {} = \"{}\" failed: {e}", map.field, map.template))
}

/// A typed scalar as JSON.
pub fn scalar_json(value: &Value) -> Json {
    match value {
        Value::Int(i) => Json::from(*i),
        Value::Float(f) => Json::from(*f),
        Value::Bool(b) => Json::from(*b),
        Value::Str(s) => Json::from(s.as_str()),
    }
}

/// The output columns (for CSV): `select` when given; else the emitted
/// fields, annotations, joined fields (`joined` gives each joined template's
/// columns when a join takes them all), maps and sets, less the excludes.
pub fn columns(template: &Template, joined: &dyn Fn(&str) -> Vec<String>) -> Vec<String> {
    let Some(read) = template.read_spec() else {
        return Vec::new();
    };
    if let Some(select) = &read.select {
        return select.clone();
    }
    let mut names = emitted_fields(&read.emits, &template.returns);
    let mut add = |name: &String| {
        if !names.contains(name) {
            names.push(name.clone());
        }
    };
    read.annotate.iter().for_each(&mut add);
    for join in &read.joins {
        let taken = if join.take.is_empty() {
            joined(&join.template)
        } else {
            join.take.clone()
        };
        taken.iter().for_each(&mut add);
    }
    read.maps.iter().map(|m| &m.field).for_each(&mut add);
    read.sets.iter().map(|(name, _)| name).for_each(&mut add);
    names.retain(|name| !read.excludes.contains(name));
    names
}

/// The text of a CSV cell: strings as they are, null as empty, numbers and
/// booleans as JSON writes them, lists and objects as compact JSON.
pub fn cell_text(value: &Json) -> String {
    match value {
        Json::Null => String::new(),
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}
