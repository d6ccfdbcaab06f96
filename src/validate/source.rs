//! Source record to Moodle record: source columns, `map`, `set`, `exclude`, defaults.
//!
//! This is where a record key is either accepted as a declared field,
//! consumed by a map, excluded, or reported: nothing else ever reaches the
//! renderer, so no key can become a form parameter the template did not declare.

use std::ops::Range;

use minijinja::Value as Jinja;

use super::coerce::{coerce, coerce_text};
use super::{FieldValue, Violation};
use crate::check::suggestion;
use crate::params::ParamValues;
use crate::record::{Cell, SourceRecord};
use crate::template::{DefaultValue, Map, Mapping, Template};

/// A Moodle record before Moodle's checks: (field position, value, span in the raw record).
pub(super) struct Assembled {
    pub(super) values: Vec<(usize, FieldValue, Option<Range<usize>>)>,
    pub(super) unknown_keys: Vec<Violation>,
}

static NO_MAPPING: Mapping = Mapping {
    maps: Vec::new(),
    sets: Vec::new(),
    excludes: Vec::new(),
};

pub(super) fn assemble(
    template: &Template,
    params: &ParamValues,
    record: &SourceRecord,
    violations: &mut Vec<Violation>,
) -> Assembled {
    let mapping = template.mapping.as_ref().unwrap_or(&NO_MAPPING);
    let mut assembled = Assembled {
        values: Vec::with_capacity(template.fields.len()),
        unknown_keys: Vec::new(),
    };
    for (index, (key, cell)) in record.fields.iter().enumerate() {
        let span = record.spans.get(index).cloned().flatten();
        take_source_value(template, mapping, key, cell, span, &mut assembled, violations);
    }
    if !mapping.maps.is_empty() {
        apply_maps(template, mapping, record, &mut assembled, violations);
    }
    for (field, value) in &mapping.sets {
        if let Some(position) = position(template, field) {
            assembled
                .values
                .push((position, FieldValue::Scalar(value.clone()), None));
        }
    }
    apply_defaults(template, params, &mut assembled);
    assembled.values.sort_by_key(|(position, _, _)| *position);
    assembled
}

fn take_source_value(
    template: &Template,
    mapping: &Mapping,
    key: &str,
    cell: &Cell,
    span: Option<Range<usize>>,
    assembled: &mut Assembled,
    violations: &mut Vec<Violation>,
) {
    if mapping.excludes.iter().any(|e| e == key) {
        return;
    }
    let Some(position) = position(template, key) else {
        if !mapping.maps.iter().any(|m| m.reads.iter().any(|r| r == key)) {
            assembled.unknown_keys.push(unknown_key(template, key, span));
        }
        return;
    };
    // A map or set for this field wins over a source column of the same name.
    if mapping.maps.iter().any(|m| m.field == key) || mapping.sets.iter().any(|(f, _)| f == key) {
        return;
    }
    if assembled.values.iter().any(|(p, _, _)| *p == position) {
        violations
            .push(Violation::new("duplicate_key", Some(key), format!("`{key}` is given twice")).at(span));
        return;
    }
    match coerce(cell, &template.fields[position]) {
        Ok(Some(value)) => assembled.values.push((position, value, span)),
        Ok(None) => {}
        Err(error) => violations.push(
            Violation::new("wrong_type", Some(key), format!("`{key}`: {}", error.message))
                .help(error.help)
                .at(span),
        ),
    }
}

fn unknown_key(template: &Template, key: &str, span: Option<Range<usize>>) -> Violation {
    let names: Vec<&str> = template.fields.iter().map(|f| f.name.as_str()).collect();
    let help = suggestion(key, &names).unwrap_or_else(|| {
        "only the template's fields are sent; map or exclude other columns in a template that extends this one (or pass --allow-unknown)".to_owned()
    });
    Violation::new(
        "unknown_key",
        Some(key),
        format!("`{key}` is not a field of `{}`", template.name),
    )
    .help(Some(help))
    .at(span)
}

fn apply_maps(
    template: &Template,
    mapping: &Mapping,
    record: &SourceRecord,
    assembled: &mut Assembled,
    violations: &mut Vec<Violation>,
) {
    let context = source_context(record);
    for map in &mapping.maps {
        let Some(position) = position(template, &map.field) else {
            continue;
        };
        match render_map(map, &context) {
            Ok(text) if text.is_empty() => {}
            Ok(text) => match coerce_text(&text, &template.fields[position].ty) {
                Ok(value) => assembled.values.push((position, value, None)),
                Err(error) => violations.push(
                    Violation::new(
                        "wrong_type",
                        Some(&map.field),
                        format!("`{}` (mapped to {text:?}): {}", map.field, error.message),
                    )
                    .help(error.help),
                ),
            },
            Err(message) => violations.push(Violation::new(
                "map_failed",
                Some(&map.field),
                format!("map for `{}` failed: {message}", map.field),
            )),
        }
    }
}

/// The source record as a minijinja object: JSON values as they are, CSV cells as strings.
fn source_context(record: &SourceRecord) -> Jinja {
    record
        .fields
        .iter()
        .map(|(key, cell)| {
            let value = match cell {
                Cell::Json(json) => Jinja::from(minijinja::value::Serde(json)),
                Cell::Text(text) => Jinja::from(text.as_str()),
            };
            (key.clone(), value)
        })
        .collect::<std::collections::BTreeMap<String, Jinja>>()
        .into()
}

fn render_map(map: &Map, context: &Jinja) -> Result<String, String> {
    let template = map
        .compiled
        .get_template(Map::TEMPLATE_NAME)
        .map_err(|e| e.to_string())?;
    template
        .render(context)
        .map_err(|e| e.detail().map_or_else(|| e.to_string(), str::to_owned))
}

fn apply_defaults(template: &Template, params: &ParamValues, assembled: &mut Assembled) {
    for (position, field) in template.fields.iter().enumerate() {
        let Some(default) = &field.default else { continue };
        if assembled.values.iter().any(|(p, _, _)| *p == position) {
            continue;
        }
        let value = match default {
            DefaultValue::Value(value) => Some(value.clone()),
            DefaultValue::Param(name) => params.get(name).cloned(),
        };
        if let Some(value) = value {
            assembled.values.push((position, FieldValue::Scalar(value), None));
        }
    }
}

fn position(template: &Template, name: &str) -> Option<usize> {
    template.fields.iter().position(|f| f.name == name)
}
