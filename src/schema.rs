//! A JSON Schema (draft 2020-12) for one input record of a template.
//!
//! It describes records as moodlec reads them from JSON: other tools (form
//! builders, pipeline validators) can check data with it before moodlec sees
//! it. Moodle rules a schema cannot say (password policy, rules, uniqueness
//! across records) are left to `moodlec validate`.

use serde_json::{json, Map, Value as Json};

use crate::moodle::country::COUNTRIES;
use crate::template::{Constraints, DefaultValue, Field, FieldType, ScalarType, Template, Value};

/// The schema of one source record of `template`.
pub fn record_schema(template: &Template) -> Json {
    let mut schema = object_schema(&template.fields, Some(template));
    if let Some(mapping) = &template.mapping {
        let properties = schema["properties"]
            .as_object_mut()
            .expect("object schema has properties");
        // Source columns read by maps or dropped by excludes are allowed too.
        for key in mapping
            .maps
            .iter()
            .flat_map(|m| m.reads.iter())
            .chain(&mapping.excludes)
        {
            properties.entry(key.clone()).or_insert_with(|| json!({}));
        }
    }
    let mut root = Map::new();
    root.insert(
        "$schema".into(),
        json!("https://json-schema.org/draft/2020-12/schema"),
    );
    root.insert("title".into(), json!(template.name));
    if !template.doc.is_empty() {
        root.insert("description".into(), json!(template.doc));
    }
    if let Json::Object(body) = schema {
        root.extend(body);
    }
    Json::Object(root)
}

fn object_schema(fields: &[Field], template: Option<&Template>) -> Json {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for field in fields {
        properties.insert(field.name.clone(), field_schema(field));
        if field.required
            && field.default.is_none()
            && !built_from_defaults(field)
            && !template.is_some_and(|t| is_filled_by_mapping(t, &field.name))
        {
            required.push(json!(field.name));
        }
    }
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

/// A `required` object a record may leave out: its fields' defaults build
/// it, every required one included.
fn built_from_defaults(field: &Field) -> bool {
    let FieldType::Object(fields) = &field.ty else {
        return false;
    };
    let filled = |f: &Field| f.default.is_some() || (f.required && built_from_defaults(f));
    field.required && fields.iter().any(filled) && fields.iter().filter(|f| f.required).all(filled)
}

fn is_filled_by_mapping(template: &Template, field: &str) -> bool {
    template.mapping.as_ref().is_some_and(|m| {
        m.maps.iter().any(|map| map.field == field) || m.sets.iter().any(|(f, _)| f == field)
    })
}

fn field_schema(field: &Field) -> Json {
    let mut schema = type_schema(&field.ty, &field.constraints);
    let object = schema.as_object_mut().expect("field schemas are objects");
    if !field.ty.is_structure() {
        add_constraints(object, &field.constraints);
    }
    if !field.doc.is_empty() {
        object.insert("description".into(), json!(field.doc));
    }
    if let Some(DefaultValue::Value(value)) = &field.default {
        object.insert("default".into(), value_json(value));
    }
    schema
}

/// The schema of a type; `constraints` apply to the elements of a `list TYPE`.
fn type_schema(ty: &FieldType, constraints: &Constraints) -> Json {
    match ty {
        FieldType::Scalar(scalar) => scalar_schema(*scalar),
        FieldType::Enum(values) => json!({ "type": "string", "enum": values }),
        FieldType::List(fields) => json!({
            "type": "array",
            "items": object_schema(fields, None),
        }),
        FieldType::Object(fields) => object_schema(fields, None),
        FieldType::Values(inner) => {
            let mut items = type_schema(inner, constraints);
            if !inner.is_structure() {
                if let Some(object) = items.as_object_mut() {
                    add_constraints(object, constraints);
                }
            }
            json!({ "type": "array", "items": items })
        }
    }
}

fn scalar_schema(scalar: ScalarType) -> Json {
    let pattern = |p: &str| json!({ "type": "string", "pattern": p });
    match scalar {
        ScalarType::Int => json!({ "type": "integer" }),
        ScalarType::Float => json!({ "type": "number" }),
        ScalarType::Bool => json!({ "anyOf": [{ "type": "boolean" }, { "enum": [0, 1] }] }),
        ScalarType::Timestamp => json!({ "anyOf": [
            { "type": "integer" },
            { "type": "string", "format": "date" },
            { "type": "string", "format": "date-time" },
        ] }),
        ScalarType::Alpha => pattern("^[A-Za-z]*$"),
        ScalarType::AlphaNum => pattern("^[A-Za-z0-9]*$"),
        ScalarType::AlphaNumExt | ScalarType::SafeDir => pattern("^[A-Za-z0-9_-]*$"),
        ScalarType::Username => pattern("^[a-z0-9.@_-]+$"),
        ScalarType::Lang => pattern("^[a-z0-9_]+$"),
        ScalarType::Plugin | ScalarType::Auth | ScalarType::Theme => pattern("^[a-z][a-z0-9_]*[a-z0-9]$"),
        ScalarType::Country => json!({ "type": "string", "enum": COUNTRIES }),
        ScalarType::Email => json!({ "type": "string", "format": "email" }),
        ScalarType::Timezone => json!({ "type": "string" }),
        ScalarType::Text
        | ScalarType::NoTags
        | ScalarType::Raw
        | ScalarType::RawTrimmed
        | ScalarType::Password => json!({ "type": "string" }),
    }
}

fn add_constraints(object: &mut Map<String, Json>, constraints: &Constraints) {
    if let Some(min) = constraints.min {
        object.insert("minimum".into(), number_json(min));
    }
    if let Some(max) = constraints.max {
        object.insert("maximum".into(), number_json(max));
    }
    if let Some(min) = constraints.min_length {
        object.insert("minLength".into(), json!(min));
    }
    if let Some(max) = constraints.max_length {
        object.insert("maxLength".into(), json!(max));
    }
    if let Some(pattern) = &constraints.pattern {
        // Our patterns match the whole value; JSON Schema's match anywhere.
        object.insert("pattern".into(), json!(format!("^(?:{})$", pattern.source)));
    }
    if !constraints.one_of.is_empty() {
        let values: Vec<Json> = constraints.one_of.iter().map(value_json).collect();
        object.insert("enum".into(), Json::Array(values));
    }
}

fn number_json(n: f64) -> Json {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        // Whole bounds print as integers so `"minimum": 1` reads naturally.
        #[allow(clippy::cast_possible_truncation)]
        return json!(n as i64);
    }
    json!(n)
}

fn value_json(value: &Value) -> Json {
    match value {
        Value::Int(i) => json!(i),
        Value::Float(f) => json!(f),
        Value::Bool(b) => json!(b),
        Value::Str(s) => json!(s),
    }
}
