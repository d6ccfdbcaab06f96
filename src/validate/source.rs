//! Source record to Moodle record: source columns, `map`, `set`, `exclude`, defaults.
//!
//! This is where a record key is either accepted as a declared field,
//! consumed by a map, excluded, or reported: nothing else ever reaches the
//! renderer, so no key can become a form parameter the template did not declare.

use crate::diagnostic::Code;
use std::collections::HashMap;
use std::ops::Range;

use minijinja::Value as Jinja;

use super::coerce::{coerce_all, coerce_text, default_value, partial_problems};
use super::hash::FxBuildHasher;
use super::Violation;
use crate::check::suggestion;
use crate::form::FieldValue;
use crate::params::ParamValues;
use crate::record::{Cell, SourceRecord};
use crate::template::{Map, Mapping, Template, Value};

/// What a source key is for, worked out once per template rather than per record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Dropped by `exclude`.
    Excluded,
    /// Not a field, but read by a `map`: consumed silently.
    MapInput,
    /// A field that a `map` or `set` computes: the source column loses.
    Overridden,
    /// The field at this position.
    Field(usize),
}

/// Assembles source records into Moodle records for one template.
///
/// Everything that depends only on the template (and the params, fixed for a
/// run) is looked up once here; the per-record buffers are reused, so a
/// record costs no allocation beyond its values.
pub(super) struct Assembler {
    /// Role of every key that is not simply unknown.
    roles: HashMap<String, Role, FxBuildHasher>,
    /// Per `map` of the mapping: the position of the field it computes.
    map_positions: Vec<Option<usize>>,
    /// `set` values by field position, in mapping order.
    sets: Vec<(usize, Value)>,
    /// Default values by field position, in field order, params resolved
    /// (a `required` structure's built from its fields' defaults).
    defaults: Vec<(usize, FieldValue)>,
    /// `param` for the maps: the template's params and their values.
    params: Jinja,
    /// The params' values, for the defaults of fields inside structures.
    param_values: ParamValues,
    /// Per field position: whether the record being assembled has a value yet.
    present: Vec<bool>,
    /// The record just assembled: (field position, value, span in the raw
    /// record), sorted by position. The caller drains it.
    pub(super) values: Vec<(usize, FieldValue, Option<Range<usize>>)>,
}

static NO_MAPPING: Mapping = Mapping {
    maps: Vec::new(),
    sets: Vec::new(),
    excludes: Vec::new(),
};

fn mapping(template: &Template) -> &Mapping {
    template.mapping.as_ref().unwrap_or(&NO_MAPPING)
}

impl Assembler {
    pub(super) fn new(template: &Template, params: &ParamValues) -> Self {
        let mapping = mapping(template);
        Assembler {
            roles: roles(template, mapping),
            map_positions: mapping
                .maps
                .iter()
                .map(|map| position(template, &map.field))
                .collect(),
            sets: mapping
                .sets
                .iter()
                .filter_map(|(field, value)| Some((position(template, field)?, value.clone())))
                .collect(),
            defaults: defaults(template, params),
            params: params
                .iter()
                .map(|(name, value)| (name.to_owned(), super::rules::scalar(value)))
                .collect::<std::collections::BTreeMap<String, Jinja>>()
                .into(),
            param_values: params.clone(),
            present: vec![false; template.fields.len()],
            values: Vec::with_capacity(template.fields.len()),
        }
    }

    /// Assemble `record` into `self.values`; returns its unknown keys (errors
    /// or warnings, the caller decides) and adds its other problems to `violations`.
    pub(super) fn assemble(
        &mut self,
        template: &Template,
        record: &SourceRecord,
        violations: &mut Vec<Violation>,
    ) -> Vec<Violation> {
        let mapping = mapping(template);
        self.values.clear();
        self.present.fill(false);
        let mut unknown_keys = Vec::new();
        for (index, (key, cell)) in record.fields.iter().enumerate() {
            let span = record.spans.get(index).cloned().flatten();
            match self.roles.get(key.as_str()) {
                None => unknown_keys.push(unknown_key(template, key, key_span(&record.raw, span))),
                Some(Role::Excluded | Role::MapInput | Role::Overridden) => {}
                Some(&Role::Field(position)) => {
                    self.take_source_value(template, position, key, cell, span, violations)
                }
            }
        }
        if !mapping.maps.is_empty() {
            self.apply_maps(template, mapping, record, violations);
        }
        for (position, value) in &self.sets {
            self.values
                .push((*position, FieldValue::Scalar(value.clone()), None));
            self.present[*position] = true;
        }
        for (position, value) in &self.defaults {
            if !self.present[*position] {
                self.values.push((*position, value.clone(), None));
                self.present[*position] = true;
            }
        }
        // Stable, so that even two values for one position keep their order.
        self.values.sort_by_key(|(position, _, _)| *position);
        unknown_keys
    }

    fn take_source_value(
        &mut self,
        template: &Template,
        position: usize,
        key: &str,
        cell: &Cell,
        span: Option<Range<usize>>,
        violations: &mut Vec<Violation>,
    ) {
        if self.present[position] {
            violations.push(
                Violation::new(Code::DuplicateKey, Some(key), format!("`{key}` is given twice")).at(span),
            );
            return;
        }
        let field = &template.fields[position];
        let value = if field.ty.is_structure() {
            let params = &self.param_values;
            coerce_all(cell, field, &|name| params.get(name).cloned())
        } else {
            super::coerce::coerce(cell, field).map_err(|e| vec![(String::new(), e)])
        };
        match value {
            Ok(Some(value)) => {
                self.values.push((position, value, span));
                self.present[position] = true;
            }
            Ok(None) => {}
            Err(errors) => {
                // Reported: no default stands in for a value the record gave wrongly.
                self.present[position] = true;
                violations.extend(errors.into_iter().map(|(path, error)| {
                    Violation::new(
                        Code::WrongType,
                        Some(key),
                        format!("`{key}{path}`: {}", error.message),
                    )
                    .help(error.help)
                    .at(span.clone())
                }));
                // And the problems of the structure's parts that were well typed.
                if let (true, Cell::Json(json)) = (field.ty.is_structure(), cell) {
                    violations.extend(
                        partial_problems(json, field)
                            .into_iter()
                            .map(|v| v.at(span.clone())),
                    );
                }
            }
        }
    }

    fn apply_maps(
        &mut self,
        template: &Template,
        mapping: &Mapping,
        record: &SourceRecord,
        violations: &mut Vec<Violation>,
    ) {
        let row = mapping
            .maps
            .iter()
            .any(|m| m.template.contains(crate::check::ROW));
        let context = map_context(record, &self.params, row);
        for (map, position) in mapping.maps.iter().zip(&self.map_positions) {
            let Some(position) = *position else {
                continue;
            };
            match render_map(map, &context) {
                Ok(text) if text.is_empty() => {}
                Ok(text) => match coerce_text(&text, &template.fields[position].ty) {
                    Ok(value) => {
                        self.values.push((position, value, None));
                        self.present[position] = true;
                    }
                    Err(error) => {
                        // Reported: no default stands in for it.
                        self.present[position] = true;
                        violations.push(
                            Violation::new(
                                Code::WrongType,
                                Some(&map.field),
                                format!("`{}` (mapped to {text:?}): {}", map.field, error.message),
                            )
                            .help(error.help),
                        );
                    }
                },
                Err(message) => {
                    self.present[position] = true;
                    violations.push(Violation::new(
                        Code::MapFailed,
                        Some(&map.field),
                        format!("map for `{}` failed: {message}", map.field),
                    ));
                }
            }
        }
    }
}

/// Where a JSON object's key is written, from its value's span: the quoted
/// key before the `:` that precedes the value. A CSV cell has no key in its
/// row (the header holds it): its value's span is kept.
fn key_span(raw: &str, value: Option<Range<usize>>) -> Option<Range<usize>> {
    let value = value?;
    let bytes = raw.as_bytes();
    let is_space = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    let mut i = value.start.min(bytes.len());
    let skip_space = |mut i: usize| {
        while i > 0 && is_space(bytes[i - 1]) {
            i -= 1;
        }
        i
    };
    i = skip_space(i);
    if i == 0 || bytes[i - 1] != b':' {
        return Some(value);
    }
    i = skip_space(i - 1);
    if i == 0 || bytes[i - 1] != b'"' {
        return Some(value);
    }
    let end = i;
    // The opening quote: the nearest one before that no odd run of backslashes escapes.
    let mut j = end - 1;
    while j > 0 {
        j -= 1;
        if bytes[j] == b'"' {
            let backslashes = bytes[..j].iter().rev().take_while(|&&b| b == b'\\').count();
            if backslashes % 2 == 0 {
                return Some(j..end);
            }
        }
    }
    Some(value)
}

/// Characters that differ between `a` and `b`, position by position, plus the length difference.
fn strsim_distance(a: &str, b: &str) -> usize {
    let common = a.chars().zip(b.chars()).filter(|(x, y)| x != y).count();
    common + a.chars().count().abs_diff(b.chars().count())
}

fn unknown_key(template: &Template, key: &str, span: Option<Range<usize>>) -> Violation {
    let names: Vec<&str> = template.fields.iter().map(|f| f.name.as_str()).collect();
    // A column a map misspells (`row["Emial Address"]`) shows up here as unknown.
    let reads: Vec<&str> = mapping(template)
        .maps
        .iter()
        .flat_map(|m| &m.reads)
        .map(String::as_str)
        .collect();
    let misread = || {
        suggestion(key, &reads).map(|_| {
            let read = reads
                .iter()
                .min_by_key(|r| strsim_distance(key, r))
                .copied()
                .unwrap_or_default();
            format!("a `map` reads `{read}`, which no column matches: a typo of `{key}`?")
        })
    };
    let help = suggestion(key, &names).or_else(misread).unwrap_or_else(|| {
        "only the template's fields are sent; map or exclude other columns in a template that extends this one".to_owned()
    });
    Violation::new(
        Code::UnknownKey,
        Some(key),
        format!("`{key}` is not a field of `{}`", template.name),
    )
    .help(Some(help))
    .at(span)
}

/// The source record as a minijinja object: JSON values as they are, CSV
/// cells as strings; `row` is the record again, for keys that are no
/// identifiers (`row["Email Address"]`).
/// `row` is only built when `template` (a map's or lookup's text) mentions it.
pub(crate) fn source_context(record: &SourceRecord, template: &str) -> Jinja {
    with_row(
        record,
        record_object(record),
        template.contains(crate::check::ROW),
    )
    .into()
}

/// What a `map` sees: the source record (also as `row` when `row` is
/// true), and `param` (the template's params).
fn map_context(record: &SourceRecord, params: &Jinja, row: bool) -> Jinja {
    let mut context = with_row(record, record_object(record), row);
    context.insert("param".to_owned(), params.clone());
    context.into()
}

fn record_object(record: &SourceRecord) -> std::collections::BTreeMap<String, Jinja> {
    record
        .fields
        .iter()
        .map(|(key, cell)| (key.clone(), cell_value(cell)))
        .collect()
}

/// `context` plus, when `wanted`, `row`: the whole record (unless a column is itself named `row`).
fn with_row(
    record: &SourceRecord,
    mut context: std::collections::BTreeMap<String, Jinja>,
    wanted: bool,
) -> std::collections::BTreeMap<String, Jinja> {
    if wanted && !context.contains_key(crate::check::ROW) {
        let row = Jinja::from(record_object(record));
        context.insert(crate::check::ROW.to_owned(), row);
    }
    context
}

fn cell_value(cell: &Cell) -> Jinja {
    match cell {
        Cell::Json(json) => Jinja::from(minijinja::value::Serde(json)),
        Cell::Text(text) => Jinja::from(text.as_str()),
    }
}

pub(crate) fn render_map(map: &Map, context: &Jinja) -> Result<String, String> {
    let template = map
        .compiled
        .get_template(Map::TEMPLATE_NAME)
        .map_err(|e| e.to_string())?;
    template
        .render(context)
        .map_err(|e| e.detail().map_or_else(|| e.to_string(), str::to_owned))
}

/// The default of every field that has one, in field order; a param default
/// without a value (no `--set`, no param default) gives none.
fn defaults(template: &Template, params: &ParamValues) -> Vec<(usize, FieldValue)> {
    template
        .fields
        .iter()
        .enumerate()
        .filter_map(|(position, field)| {
            Some((position, default_value(field, &|name| params.get(name).cloned())?))
        })
        .collect()
}

/// The role of every excluded key, field name and key read by a map.
///
/// Precedence as in the rules: `exclude` wins, then a key that is no field
/// is consumed if a map (or a lookup's `from`) reads it, and a field
/// computed by a `map`, `set` or `lookup` ignores its source column. Keys absent from the table are unknown.
fn roles(template: &Template, mapping: &Mapping) -> HashMap<String, Role, FxBuildHasher> {
    let mut roles = HashMap::default();
    for excluded in &mapping.excludes {
        roles.insert(excluded.clone(), Role::Excluded);
    }
    for (position, field) in template.fields.iter().enumerate() {
        let computed = mapping.maps.iter().any(|m| m.field == field.name)
            || mapping.sets.iter().any(|(f, _)| *f == field.name)
            || template.lookups.iter().any(|l| l.field == field.name);
        let role = if computed {
            Role::Overridden
        } else {
            Role::Field(position)
        };
        // The first field of a name wins, as a search from the start would find it.
        roles.entry(field.name.clone()).or_insert(role);
    }
    let lookup_maps = template.lookups.iter().map(|l| &l.from);
    for map in mapping.maps.iter().chain(lookup_maps) {
        for read in &map.reads {
            roles.entry(read.clone()).or_insert(Role::MapInput);
        }
    }
    roles
}

fn position(template: &Template, name: &str) -> Option<usize> {
    template.fields.iter().position(|f| f.name == name)
}

#[cfg(test)]
mod tests {
    use super::key_span;

    fn key_of(raw: &str, value: &str) -> String {
        let start = raw.find(value).expect("value in raw");
        let span = key_span(raw, Some(start..start + value.len())).expect("span");
        raw[span].to_owned()
    }

    #[test]
    fn the_key_span_covers_the_quoted_key_before_the_value() {
        assert_eq!(
            key_of(r#"{"username": "ann", "nickname": "annie"}"#, r#""annie""#),
            r#""nickname""#
        );
        assert_eq!(key_of(r#"{"a":1,"n\"ick" :  "x"}"#, r#""x""#), r#""n\"ick""#);
        assert_eq!(key_of(r#"{"a\\":7}"#, "7"), r#""a\\""#);
    }

    #[test]
    fn a_csv_cell_keeps_its_own_span() {
        assert_eq!(key_of("ann,annie,x", "annie"), "annie");
    }
}
