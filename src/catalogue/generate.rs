//! `moodlec new FUNCTION`: a ready template for a catalogued function.
//!
//! The template declares every parameter the function takes, with its type,
//! `required` or `default`, and nesting (`object { }`, `list { }`, `list
//! TYPE`); `returns` from the answer's shape. A read function answering
//! records gets a read template (`emits list` or `emits object`, one call per
//! input record, for `fetch`). A write template wraps the function's one list
//! of records (`wrap`, the other parameters `per_call`) or collects its one
//! list of plain values (`collect`); without one, or with several, each
//! record is one call. The text is in `fmt`'s canonical form.

use std::fmt::Write as _;

use super::{Function, FunctionKind, ObjectShape, Presence, Shape, ValueShape};
use crate::diagnostic::Source;
use crate::moodle::ws::CONTROL_FIELDS;
use crate::template::{BatchRule, ScalarType};
use crate::value::check_scalar_text;

/// Why a function's template cannot be written in today's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    /// The function.
    pub function: String,
    /// One sentence per parameter that cannot be expressed.
    pub reasons: Vec<String>,
}

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.function, self.reasons.join("; "))
    }
}

/// How a generated template sends its records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Carrier {
    /// One call per record, each field a parameter.
    TopLevel,
    /// A read template (`emits list` or `emits object`): one call per input
    /// record, each field a parameter; the answer's items become output records.
    Read(Emit),
    /// `wrap NAME`: records are the elements of the one list of records.
    Wrap(String),
    /// `collect FIELD into NAME`: each record gives one element of the one list of values.
    Collect {
        /// The record field.
        field: String,
        /// The list parameter.
        into: String,
    },
}

/// What a generated read template emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emit {
    /// `emits list`: each record of the answer's list.
    List,
    /// `emits object`: the answer itself.
    Object,
}

/// The moodlec type a template declares for a Moodle PARAM type, and whether
/// moodlec checks values as Moodle does (`false`: moodlec has no type of its
/// own for it and declares `raw`; Moodle checks the value when it arrives).
pub fn scalar_for_param(param: &str) -> (ScalarType, bool) {
    let exact = match param {
        "int" => ScalarType::Int,
        "bool" => ScalarType::Bool,
        "float" => ScalarType::Float,
        "text" => ScalarType::Text,
        "notags" => ScalarType::NoTags,
        "raw" => ScalarType::Raw,
        "raw_trimmed" => ScalarType::RawTrimmed,
        "alpha" => ScalarType::Alpha,
        "alphanum" => ScalarType::AlphaNum,
        "alphanumext" => ScalarType::AlphaNumExt,
        "safedir" => ScalarType::SafeDir,
        "plugin" => ScalarType::Plugin,
        "auth" => ScalarType::Auth,
        "theme" => ScalarType::Theme,
        "username" => ScalarType::Username,
        "email" => ScalarType::Email,
        "lang" => ScalarType::Lang,
        "timezone" => ScalarType::Timezone,
        _ => return (ScalarType::Raw, false),
    };
    (exact, true)
}

/// The type for a field called `name` of PARAM type `param`: the
/// refinements moodlec has for well-known fields (`email` is checked with
/// Moodle's validate_email(), `password` against the password policy).
pub fn refined_type(name: &str, param: &str) -> (ScalarType, bool) {
    match (name, param) {
        ("email", "raw_trimmed" | "raw") => (ScalarType::Email, true),
        ("password", "raw") => (ScalarType::Password, true),
        _ => scalar_for_param(param),
    }
}

/// How a generated template for `function` sends its records.
///
/// The function's one list parameter (of records: `wrap`; of plain values:
/// `collect`) carries the records, and its other parameters are `per_call`.
/// Without a list, or with several, each record is one call and every
/// parameter a field, nested as Moodle nests it.
///
/// # Errors
/// None today: every catalogued shape is expressible (kept for shapes the
/// language may not have).
pub fn carrier(function: &Function) -> Result<Carrier, Unsupported> {
    let params = function.parameters();
    if function.kind == FunctionKind::Read {
        match &function.returns {
            Some(Shape::Object(_)) => return Ok(Carrier::Read(Emit::Object)),
            Some(Shape::List(list)) if matches!(*list.content, Shape::Object(_)) => {
                return Ok(Carrier::Read(Emit::List))
            }
            // An answer that is not records: a template that calls it and keeps nothing.
            _ => {}
        }
    }
    let lists: Vec<(&String, &Shape)> = params
        .iter()
        .filter_map(|(name, shape)| match shape {
            Shape::List(list) => Some((name, &*list.content)),
            Shape::Value(_) | Shape::Object(_) => None,
        })
        .collect();
    Ok(match lists.as_slice() {
        // A record's keys and the call's other parameters share one record:
        // a name in both (`name` beside `formvalues[i][name]`) cannot be wrapped.
        [(name, Shape::Object(object))]
            if !object
                .keys
                .iter()
                .any(|(key, _)| params.iter().any(|(other, _)| other == key)) =>
        {
            Carrier::Wrap((*name).clone())
        }
        [(name, Shape::Value(_))] => {
            let mut field = singular(name);
            if params.iter().any(|(other, _)| *other == field) {
                field = format!("{name}_value");
            }
            Carrier::Collect {
                field,
                into: (*name).clone(),
            }
        }
        _ => Carrier::TopLevel,
    })
}

/// The record field a collected list's values come from: `userids` → `userid`.
fn singular(list: &str) -> String {
    match list.strip_suffix('s') {
        Some(one) if !one.is_empty() && one != list => one.to_owned(),
        _ => format!("{list}_value"),
    }
}

/// The template text for `function`, formatted.
///
/// # Errors
/// The function needs a shape the language cannot express yet.
pub fn template(function: &Function) -> Result<String, Unsupported> {
    let carrier = carrier(function)?;
    let mut out = String::new();
    let kind = match function.kind {
        FunctionKind::Read => "read",
        FunctionKind::Write => "write",
    };
    let _ = writeln!(
        out,
        "# Written by `moodlec new {}` from Moodle {}'s description of the function ({kind}).",
        function.name,
        super::MOODLE_RELEASE
    );
    out.push_str("# Keep the fields your data has; `required` ones Moodle needs in every record.\n");
    let _ = writeln!(
        out,
        "template {} \"{} (Moodle {})\" {{",
        function.name,
        function.name,
        super::MOODLE_RELEASE
    );
    let _ = writeln!(out, "  function {}", function.name);
    let per_call: Vec<(String, Shape)> = match &carrier {
        Carrier::TopLevel | Carrier::Read(_) => Vec::new(),
        Carrier::Wrap(list) | Carrier::Collect { into: list, .. } => function
            .parameters()
            .iter()
            .filter(|(name, _)| name != list)
            .cloned()
            .collect(),
    };
    let record_fields: Vec<(String, Shape)> = match &carrier {
        Carrier::TopLevel | Carrier::Read(_) => function.parameters().to_vec(),
        Carrier::Wrap(name) => {
            let _ = writeln!(out, "  wrap {name}");
            match function.parameter(name) {
                Some(Shape::List(list)) => match &*list.content {
                    Shape::Object(object) => object.keys.clone(),
                    _ => Vec::new(),
                },
                _ => Vec::new(),
            }
        }
        Carrier::Collect { field, into } => match function.parameter(into) {
            Some(Shape::List(list)) => vec![(field.clone(), (*list.content).clone())],
            _ => Vec::new(),
        },
    };
    out.push('\n');
    for (name, shape) in &per_call {
        write_field(&mut out, name, shape, 1, Place::PerCall);
    }
    for (name, shape) in &record_fields {
        // The collected value is always there: each record gives one.
        let shape = match (&carrier, shape) {
            (Carrier::Collect { .. }, Shape::Value(value)) => Shape::Value(ValueShape {
                required: Presence::Required,
                ..value.clone()
            }),
            _ => shape.clone(),
        };
        write_field(&mut out, name, &shape, 1, Place::Input);
    }
    let per_record = record_fields
        .iter()
        .filter(|(_, s)| match s {
            Shape::Value(v) => v.required != Presence::Optional,
            _ => false,
        })
        .count()
        .max(1);
    let per_call_fields = per_call
        .iter()
        .filter(|(_, s)| matches!(s, Shape::Value(v) if v.required != Presence::Optional))
        .count();
    match &carrier {
        Carrier::TopLevel => {}
        Carrier::Read(Emit::List) => out.push_str("\n  emits list\n"),
        Carrier::Read(Emit::Object) => out.push_str("\n  emits object\n"),
        Carrier::Wrap(_) => {
            let budget = BatchRule::DEFAULT_MAX_INPUT_VARS.saturating_sub(CONTROL_FIELDS + per_call_fields);
            let size = (budget / per_record).clamp(1, BatchRule::DEFAULT_SIZE);
            let _ = writeln!(out, "\n  batch size {size}");
        }
        Carrier::Collect { field, into } => {
            let _ = writeln!(
                out,
                "\n  batch size {} collect {field} into {into}",
                BatchRule::DEFAULT_SIZE
            );
        }
    }
    write_returns(&mut out, function.returns.as_ref());
    out.push_str("}\n");
    let source = Source::new(format!("{}.moodle", function.name), out.as_str());
    // The text is built to be canonical already; formatting it proves it parses.
    Ok(crate::fmt::format_source(&source).unwrap_or(out))
}

/// Where a field is declared: what options it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// A field of the records (or of a structure in them).
    Input,
    /// A top-level parameter beside the record list.
    PerCall,
    /// A field of Moodle's answer: no options.
    Returns,
}

/// One `field` line (or block, for a structure), at `depth` levels of indent.
fn write_field(out: &mut String, name: &str, shape: &Shape, depth: usize, place: Place) {
    let indent = "  ".repeat(depth);
    if !is_ident(name) {
        // Only in answers (`types[1]`): a template names fields with identifiers.
        let _ = writeln!(
            out,
            "{indent}# {name}: {} (not a name a template can declare)",
            shape.describe()
        );
        return;
    }
    let _ = write!(out, "{indent}field {name}: ");
    write_type(out, name, shape, depth, place);
    if place != Place::Returns {
        match shape {
            Shape::Value(value) => write_presence(out, value, refined_type(name, &value.ty).0),
            Shape::Object(_) | Shape::List(_) => {
                if shape.presence().is_required() {
                    out.push_str(" required");
                }
            }
        }
        if place == Place::PerCall {
            out.push_str(" per_call");
        }
    }
    if let Shape::Value(value) = shape {
        if !scalar_for_param(&value.ty).1 {
            let _ = write!(
                out,
                " \"PARAM_{}: moodlec does not check it; Moodle does\"",
                value.ty.to_uppercase()
            );
        }
    }
    out.push('\n');
}

/// Whether `name` can name a field: a letter or `_`, then letters, digits or `_`.
fn is_ident(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The type expression of `shape`: a type name, `object { ... }`, `list { ... }` or `list TYPE`.
fn write_type(out: &mut String, name: &str, shape: &Shape, depth: usize, place: Place) {
    let indent = "  ".repeat(depth);
    let inner = if place == Place::Returns {
        Place::Returns
    } else {
        Place::Input
    };
    match shape {
        Shape::Value(value) => out.push_str(refined_type(name, &value.ty).0.name()),
        Shape::Object(object) => {
            out.push_str("object {\n");
            for (key, shape) in &object.keys {
                write_field(out, key, shape, depth + 1, inner);
            }
            let _ = write!(out, "{indent}}}");
        }
        Shape::List(list) => match &*list.content {
            Shape::Object(object) => {
                out.push_str("list {\n");
                for (key, shape) in &object.keys {
                    write_field(out, key, shape, depth + 1, inner);
                }
                let _ = write!(out, "{indent}}}");
            }
            other => {
                out.push_str("list ");
                write_type(out, name, other, depth, place);
            }
        },
    }
}

/// ` required` or ` default VALUE` for a value Moodle requires or defaults.
fn write_presence(out: &mut String, value: &ValueShape, ty: ScalarType) {
    match value.required {
        Presence::Required => out.push_str(" required"),
        Presence::Optional => {}
        Presence::Default => {
            if let Some(literal) = value.default.as_ref().and_then(|d| default_literal(d, ty)) {
                let _ = write!(out, " default {literal}");
            }
        }
    }
}

/// A Moodle default as a template literal of type `ty`, when it is one moodlec accepts.
fn default_literal(default: &serde_json::Value, ty: ScalarType) -> Option<String> {
    use serde_json::Value as J;
    let literal = match (default, ty) {
        (J::Null | J::Array(_) | J::Object(_), _) => return None,
        (J::Bool(b), ScalarType::Bool) => b.to_string(),
        (J::Number(n), ScalarType::Bool) => match n.as_i64() {
            Some(0) => "false".to_owned(),
            Some(1) => "true".to_owned(),
            _ => return None,
        },
        (J::String(s), ScalarType::Bool) => match s.as_str() {
            "0" | "" => "false".to_owned(),
            "1" => "true".to_owned(),
            _ => return None,
        },
        (J::Bool(b), ScalarType::Int | ScalarType::Timestamp) => u8::from(*b).to_string(),
        (J::Number(n), ScalarType::Int | ScalarType::Timestamp) => n.as_i64()?.to_string(),
        (J::String(s), ScalarType::Int | ScalarType::Timestamp) => s.parse::<i64>().ok()?.to_string(),
        (J::Number(n), ScalarType::Float) => {
            let x = n.as_f64()?;
            if x.fract() == 0.0 && x.abs() < 1e15 {
                format!("{x:.1}")
            } else {
                format!("{x}")
            }
        }
        (J::String(s), ScalarType::Float) => {
            s.parse::<f64>().ok().filter(|x| x.is_finite())?;
            s.clone()
        }
        (J::Bool(_), _) => return None,
        (J::Number(n), _) => {
            let text = n.to_string();
            check_scalar_text(ty, &text).ok()?;
            quote(&text)
        }
        (J::String(s), _) => {
            check_scalar_text(ty, s).ok()?;
            quote(s)
        }
    };
    Some(literal)
}

/// A template string literal.
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `returns ...` from the answer's shape.
fn write_returns(out: &mut String, returns: Option<&Shape>) {
    let fields = |out: &mut String, object: &ObjectShape| {
        for (key, shape) in &object.keys {
            write_field(out, key, shape, 2, Place::Returns);
        }
    };
    match returns {
        None => out.push_str("  returns nothing\n"),
        Some(Shape::Object(object)) => {
            out.push_str("  returns object {\n");
            fields(out, object);
            out.push_str("  }\n");
        }
        Some(Shape::List(list)) => match &*list.content {
            Shape::Object(object) => {
                out.push_str("  returns list {\n");
                fields(out, object);
                out.push_str("  }\n");
            }
            other => {
                let _ = writeln!(out, "  # Moodle answers a list of {}", describe_element(other));
                out.push_str("  returns nothing\n");
            }
        },
        Some(other) => {
            let _ = writeln!(out, "  # Moodle answers {}", other.describe());
            out.push_str("  returns nothing\n");
        }
    }
}

fn describe_element(shape: &Shape) -> String {
    match shape {
        Shape::Value(v) => format!("plain values (PARAM_{})", v.ty.to_uppercase()),
        Shape::Object(_) => "records".to_owned(),
        Shape::List(_) => "lists".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::function;

    #[test]
    fn create_users_wraps_users_with_nested_lists() {
        let text = template(function("core_user_create_users").unwrap()).unwrap();
        assert!(text.contains("  wrap users\n"), "{text}");
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(text.contains("field username: username required"), "{text}");
        assert!(text.contains("field email: email required"), "{text}");
        assert!(text.contains("field auth: auth default \"manual\""), "{text}");
        assert!(text.contains("field customfields: list {"), "{text}");
    }

    #[test]
    fn a_list_of_plain_values_is_collected() {
        let text = template(function("core_user_delete_users").unwrap()).unwrap();
        assert!(text.contains("field userid: int required"), "{text}");
        assert!(text.contains("collect userid into userids"), "{text}");
    }
}
