//! `map`, `set` and `exclude`: how source records become Moodle records.

use std::collections::HashMap;

use super::expr::check_map;
use super::fields::bad_literal;
use super::literal::literal_value;
use super::names::unknown_field;
use super::Diagnostics;
use crate::diagnostic::Code;
use crate::span::Span;
use crate::syntax::ast::{self, Item};
use crate::template::{Mapping, Template};

/// The template's mapping: the base's, with this declaration's statements
/// replacing those for the same fields. `None` when there is none at all.
pub(super) fn check_mapping(
    decl: &ast::TemplateDecl,
    template: &Template,
    diags: &mut Diagnostics,
) -> Option<Mapping> {
    let mut mapping = template.mapping.clone().unwrap_or_default();
    let mut targets: HashMap<&str, (Span, &'static str)> = HashMap::new();
    for item in &decl.items {
        match item {
            Item::Map(map) => add_map(map, template, &mut targets, &mut mapping, diags),
            Item::Set(set) => add_set(set, template, &mut targets, &mut mapping, diags),
            Item::Exclude(exclude) => {
                for key in &exclude.keys {
                    if !mapping.excludes.contains(&key.name) {
                        mapping.excludes.push(key.name.clone());
                    }
                }
            }
            _ => {}
        }
    }
    let empty = mapping.maps.is_empty() && mapping.sets.is_empty() && mapping.excludes.is_empty();
    (!empty).then_some(mapping)
}

fn add_map<'d>(
    map: &'d ast::MapDecl,
    template: &Template,
    targets: &mut HashMap<&'d str, (Span, &'static str)>,
    mapping: &mut Mapping,
    diags: &mut Diagnostics,
) {
    if !claim(targets, &map.field, "map", diags) || !target_field(template, &map.field, "map", diags) {
        return;
    }
    let params: Vec<&str> = template.params.iter().map(|p| p.name.as_str()).collect();
    if let Some(checked) = check_map(map, Some(&params), diags) {
        mapping.maps.retain(|m| m.field != checked.field);
        mapping.sets.retain(|(f, _)| *f != checked.field);
        mapping.maps.push(checked);
    }
}

fn add_set<'d>(
    set: &'d ast::SetDecl,
    template: &Template,
    targets: &mut HashMap<&'d str, (Span, &'static str)>,
    mapping: &mut Mapping,
    diags: &mut Diagnostics,
) {
    if claim(targets, &set.field, "set", diags) && target_field(template, &set.field, "set", diags) {
        check_set(set, template, mapping, diags);
    }
}

/// Record that `field` is computed by `how`; false (and a diagnostic) if it already is.
fn claim<'d>(
    targets: &mut HashMap<&'d str, (Span, &'static str)>,
    field: &'d ast::Ident,
    how: &'static str,
    diags: &mut Diagnostics,
) -> bool {
    if let Some((first, first_how)) = targets.get(field.name.as_str()) {
        diags.push(
            diags
                .error(
                    Code::ConflictingMapping,
                    field.span,
                    format!("`{}` is given a value twice", field.name),
                )
                .label(format!("{} here", past(how)))
                .related(*first, format!("already {} here", past(first_how)))
                .help("each field gets one `map` or one `set`"),
        );
        return false;
    }
    targets.insert(&field.name, (field.span, how));
    true
}

/// `map` -> `mapped`, `set` -> `set`, for labels.
fn past(how: &str) -> &str {
    match how {
        "map" => "mapped",
        other => other,
    }
}

fn target_field(template: &Template, field: &ast::Ident, how: &str, diags: &mut Diagnostics) -> bool {
    match template.field(&field.name) {
        // A `map` may build a structure: its text is read as JSON.
        Some(f) if f.ty.is_structure() && how != "map" => {
            diags.push(
                diags
                    .error(
                        Code::NotScalar,
                        field.span,
                        format!("`{how}` cannot fill the {} field `{}`", f.ty, field.name),
                    )
                    .label(format!("a field of type `{}`", f.ty))
                    .help("structures come from the data, or from a `map` whose text is JSON"),
            );
            false
        }
        Some(_) => true,
        None => {
            diags.push(unknown_field(template, field, how, diags));
            false
        }
    }
}

fn check_set(
    set: &ast::SetDecl,
    template: &Template,
    mapping: &mut crate::template::Mapping,
    diags: &mut Diagnostics,
) {
    let Some(field) = template.field(&set.field.name) else {
        return;
    };
    let value = match literal_value(&set.value, &field.ty) {
        Ok(value) => value,
        Err(error) => {
            diags.push(bad_literal(
                Code::BadDefault,
                &field.name,
                "set value",
                set.value.span,
                &error,
                diags,
            ));
            return;
        }
    };
    if let Some(why) = field.constraints.violation(&value) {
        diags.push(
            diags
                .error(
                    Code::BadDefault,
                    set.value.span,
                    format!("the value set for `{}` breaks its constraints", field.name),
                )
                .label(why)
                .help("set a value the field accepts, or redeclare the field with other constraints"),
        );
        return;
    }
    mapping.maps.retain(|m| m.field != field.name);
    mapping.sets.retain(|(f, _)| *f != field.name);
    mapping.sets.push((field.name.clone(), value));
}
