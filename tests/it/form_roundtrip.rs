//! Form encoding round-trips through a PHP-style parser.
//!
//! PHP fills `$_POST` from the body with `parse_str` rules: split on `&`,
//! split each pair at the first `=`, decode `+` and `%XX`, then read the key
//! as `name[a][b]...`. The parser below follows those rules, so "what PHP
//! sees" is checked rather than "what we meant to send".

use std::collections::BTreeMap;

use moodlec::builtin;
use moodlec::form::FieldValue;
use moodlec::plan::Batch;
use moodlec::render::{request_body, TokenSlot};
use moodlec::template::{FieldType, Template, Value};
use moodlec::validate::ValidRecord;
use proptest::prelude::*;

/// A PHP array: an ordered map of keys to strings or nested arrays.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Php {
    Str(String),
    Array(BTreeMap<String, Php>),
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).expect("valid percent escape"));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).expect("decoded body is UTF-8")
}

/// `name[a][b]` into `["name", "a", "b"]`, as PHP reads keys.
fn key_path(key: &str) -> Vec<String> {
    match key.find('[') {
        None => vec![key.to_owned()],
        Some(open) => {
            let mut path = vec![key[..open].to_owned()];
            let mut rest = &key[open..];
            while let Some(stripped) = rest.strip_prefix('[') {
                let close = stripped.find(']').expect("balanced brackets");
                path.push(stripped[..close].to_owned());
                rest = &stripped[close + 1..];
            }
            path
        }
    }
}

pub(crate) fn php_parse(body: &str) -> BTreeMap<String, Php> {
    let mut root = BTreeMap::new();
    for pair in body.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let path = key_path(&percent_decode(key));
        insert(&mut root, &path, percent_decode(value));
    }
    root
}

fn insert(node: &mut BTreeMap<String, Php>, path: &[String], value: String) {
    if path.len() == 1 {
        node.insert(path[0].clone(), Php::Str(value));
        return;
    }
    let child = node
        .entry(path[0].clone())
        .or_insert_with(|| Php::Array(BTreeMap::new()));
    if let Php::Array(map) = child {
        insert(map, &path[1..], value);
    }
}

/// What PHP should see for a record: the same tree, built from the record itself.
fn expected_record(fields: &[moodlec::template::Field], values: &[(usize, FieldValue)]) -> Php {
    let mut map = BTreeMap::new();
    for (position, value) in values {
        let field = &fields[*position];
        map.insert(field.name.clone(), expected_value(&field.ty, value));
    }
    Php::Array(map)
}

fn expected_value(ty: &FieldType, value: &FieldValue) -> Php {
    let indexed = |items: Vec<Php>| {
        Php::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, p)| (i.to_string(), p))
                .collect(),
        )
    };
    match (value, ty) {
        (FieldValue::Scalar(v), _) => Php::Str(wire(v)),
        (FieldValue::List(elements), FieldType::List(inner)) => {
            indexed(elements.iter().map(|e| expected_record(inner, e)).collect())
        }
        (FieldValue::Object(values), FieldType::Object(inner)) => expected_record(inner, values),
        (FieldValue::Values(items), FieldType::Values(inner)) => {
            indexed(items.iter().map(|item| expected_value(inner, item)).collect())
        }
        (other, ty) => unreachable!("{other:?} is not a value of type {ty}"),
    }
}

fn wire(value: &Value) -> String {
    match value {
        Value::Int(i) => i.to_string(),
        Value::Bool(b) => if *b { "1" } else { "0" }.to_owned(),
        Value::Float(f) => f.to_string(),
        Value::Str(s) => s.clone(),
    }
}

fn create_users() -> &'static Template {
    builtin::catalog().get("create_users").expect("built-in")
}

/// Any text, weighted towards the characters form encoding must get right.
fn tricky_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("&".to_owned()),
            Just("=".to_owned()),
            Just("[".to_owned()),
            Just("]".to_owned()),
            Just("%".to_owned()),
            Just("%25".to_owned()),
            Just("+".to_owned()),
            Just(" ".to_owned()),
            Just("\n".to_owned()),
            Just("\r\n".to_owned()),
            Just("é".to_owned()),
            Just("日本".to_owned()),
            Just("🎓".to_owned()),
            "[a-z0-9]{1,4}",
            any::<char>()
                .prop_filter("no NUL", |c| *c != '\0')
                .prop_map(String::from),
        ],
        0..12,
    )
    .prop_map(|parts| parts.concat())
}

fn record_strategy() -> impl Strategy<Value = Vec<(usize, FieldValue)>> {
    let template = create_users();
    let position = |name: &str| {
        template
            .fields
            .iter()
            .position(|f| f.name == name)
            .expect("field")
    };
    let (username, firstname, description, maildisplay, createpassword, customfields) = (
        position("username"),
        position("firstname"),
        position("description"),
        position("maildisplay"),
        position("createpassword"),
        position("customfields"),
    );
    (
        tricky_text(),
        tricky_text(),
        any::<i64>(),
        any::<bool>(),
        prop::collection::vec((tricky_text(), tricky_text()), 0..3),
    )
        .prop_map(move |(name, text, int, flag, custom)| {
            let elements = custom
                .into_iter()
                .map(|(t, v)| {
                    vec![
                        (0, FieldValue::Scalar(Value::Str(t))),
                        (1, FieldValue::Scalar(Value::Str(v))),
                    ]
                })
                .collect::<Vec<_>>();
            let mut values = vec![
                (createpassword, FieldValue::Scalar(Value::Bool(flag))),
                (username, FieldValue::Scalar(Value::Str(name.clone()))),
                (firstname, FieldValue::Scalar(Value::Str(text.clone()))),
                (maildisplay, FieldValue::Scalar(Value::Int(int))),
                (
                    description,
                    FieldValue::Scalar(Value::Str(format!("{text}{name}"))),
                ),
            ];
            if !elements.is_empty() {
                values.push((customfields, FieldValue::List(elements)));
            }
            values.sort_by_key(|(p, _)| *p);
            values
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Decoding a rendered batch the way PHP does gives back every field of
    /// every record, and nothing else besides the three control parameters.
    #[test]
    fn php_reads_back_exactly_the_records(records in prop::collection::vec(record_strategy(), 1..4)) {
        let template = create_users();
        let batch = Batch {
            number: 1,
            records: records
                .iter()
                .enumerate()
                .map(|(i, values)| ValidRecord { number: i as u64 + 1, line: i as u64 + 1, values: values.clone() })
                .collect(),
            form_fields: 0,
        };
        let body = request_body(template, &batch, TokenSlot::Real("s3cr3t&x=y"));
        let parsed = php_parse(&body);
        prop_assert_eq!(parsed.get("wstoken"), Some(&Php::Str("s3cr3t&x=y".to_owned())));
        prop_assert_eq!(parsed.get("wsfunction"), Some(&Php::Str("core_user_create_users".to_owned())));
        prop_assert_eq!(parsed.get("moodlewsrestformat"), Some(&Php::Str("json".to_owned())));
        let expected: BTreeMap<String, Php> = records
            .iter()
            .enumerate()
            .map(|(i, values)| (i.to_string(), expected_record(&template.fields, values)))
            .collect();
        prop_assert_eq!(parsed.get("users"), Some(&Php::Array(expected)));
        prop_assert_eq!(parsed.len(), 4, "only wstoken, wsfunction, moodlewsrestformat and users");
    }
}

#[test]
fn the_php_parser_follows_php_rules() {
    let parsed = php_parse("a=1+2&b%5B0%5D%5Bx%5D=%26&b[1][x]=%3D");
    assert_eq!(parsed.get("a"), Some(&Php::Str("1 2".to_owned())));
    let Some(Php::Array(b)) = parsed.get("b") else {
        panic!("b is an array: {parsed:?}")
    };
    assert_eq!(b.len(), 2);
}

fn hostile_key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("users[0][auth]".to_owned()),
        Just("users[1][username]".to_owned()),
        Just("wstoken".to_owned()),
        Just("wsfunction".to_owned()),
        Just("moodlewsrestformat".to_owned()),
        Just("username]&users[0][auth]=nologin&x[".to_owned()),
        Just("_".to_owned()),
        Just("customfields[0][type]".to_owned()),
        "[a-z\\[\\]&=%]{1,12}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Keys the template does not declare are reported, and even with
    /// --allow-unknown they never reach the body as parameters.
    #[test]
    fn hostile_keys_never_become_parameters(key in hostile_key(), value in tricky_text()) {
        use moodlec::plan::Batcher;
        use moodlec::record::{from_reader, InputFormat};
        use moodlec::validate::{ValidateOptions, Validator};

        let template = create_users();
        let mut object = serde_json::Map::new();
        for (k, v) in [("username", "jdoe"), ("firstname", "Jo"), ("lastname", "Doe"), ("email", "jo@example.org"), ("password", "Secret-123")] {
            object.insert(k.to_owned(), serde_json::Value::String(v.to_owned()));
        }
        object.insert(key.clone(), serde_json::Value::String(value));
        let line = format!("{}\n", serde_json::Value::Object(object));
        for allow_unknown in [false, true] {
            let params = moodlec::params::resolve(template, &[]).expect("params");
            let mut validator = Validator::new(template, params, ValidateOptions { allow_unknown, strict: false });
            let mut records = from_reader(std::io::Cursor::new(line.clone().into_bytes()), "hostile.ndjson", InputFormat::Ndjson, 1 << 20);
            let record = records.next().expect("one record").expect("readable");
            let verdict = validator.validate(&record);
            let declared = template.fields.iter().any(|f| f.name == key);
            if !declared && !allow_unknown {
                prop_assert!(verdict.outcome.is_err(), "undeclared key {key:?} must be rejected");
                continue;
            }
            if !declared {
                prop_assert!(verdict.outcome.is_ok(), "with --allow-unknown the record stays valid: {:?}", verdict.outcome);
            }
            let Ok(valid) = verdict.outcome else { continue };
            let mut batcher = Batcher::new(template);
            let mut batches = batcher.push(valid).expect("fits");
            batches.extend(batcher.finish());
            let body = request_body(template, &batches[0], TokenSlot::Redacted);
            let parsed = php_parse(&body);
            let names: Vec<&String> = parsed.keys().collect();
            prop_assert_eq!(names, vec!["moodlewsrestformat", "users", "wsfunction", "wstoken"]);
            prop_assert_eq!(parsed.get("wstoken"), Some(&Php::Str("REDACTED".to_owned())));
            let Some(Php::Array(users)) = parsed.get("users") else { panic!("users") };
            prop_assert_eq!(users.len(), 1);
            let Some(Php::Array(user)) = users.get("0") else { panic!("user 0") };
            for field in user.keys() {
                prop_assert!(template.fields.iter().any(|f| &f.name == field), "undeclared field {field:?} in body");
            }
        }
    }
}

/// A nested field type, for templates written by the property test below.
#[derive(Debug, Clone)]
enum Shape {
    Int,
    Text,
    Enum,
    Object(Vec<Shape>),
    Records(Vec<Shape>),
    Values(Box<Shape>),
}

const ENUM_VALUES: [&str; 3] = ["a", "b c", "x&y[0]=1"];

fn shape_strategy() -> impl Strategy<Value = Shape> {
    let leaf = prop_oneof![Just(Shape::Int), Just(Shape::Text), Just(Shape::Enum)];
    leaf.prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..4).prop_map(Shape::Object),
            prop::collection::vec(inner.clone(), 1..4).prop_map(Shape::Records),
            inner.prop_map(|s| Shape::Values(Box::new(s))),
        ]
    })
}

/// The type as a template writes it: `object { field f0: int ... }`, `list int`...
fn type_text(shape: &Shape) -> String {
    let fields = |shapes: &[Shape]| {
        shapes
            .iter()
            .enumerate()
            .map(|(i, s)| format!("field f{i}: {}", type_text(s)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    match shape {
        Shape::Int => "int".to_owned(),
        Shape::Text => "raw".to_owned(),
        Shape::Enum => format!("enum({})", ENUM_VALUES.map(|v| format!("{v:?}")).join(", ")),
        Shape::Object(inner) => format!("object {{ {} }}", fields(inner)),
        Shape::Records(inner) => format!("list {{ {} }}", fields(inner)),
        Shape::Values(inner) => format!("list {}", type_text(inner)),
    }
}

/// Any JSON value of `shape`: fields of structures may be left out, lists may be empty.
fn json_strategy(shape: &Shape) -> BoxedStrategy<serde_json::Value> {
    use serde_json::Value as Json;
    let object = |inner: &[Shape]| {
        let fields: Vec<_> = inner.iter().map(|s| prop::option::of(json_strategy(s))).collect();
        fields
            .prop_map(|values| {
                Json::Object(
                    values
                        .into_iter()
                        .enumerate()
                        .filter_map(|(i, v)| Some((format!("f{i}"), v?)))
                        .collect(),
                )
            })
            .boxed()
    };
    match shape {
        Shape::Int => any::<i64>().prop_map(Json::from).boxed(),
        Shape::Text => tricky_text().prop_map(Json::from).boxed(),
        Shape::Enum => prop::sample::select(ENUM_VALUES.to_vec())
            .prop_map(Json::from)
            .boxed(),
        Shape::Object(inner) => object(inner),
        Shape::Records(inner) => prop::collection::vec(object(inner), 0..3)
            .prop_map(Json::Array)
            .boxed(),
        Shape::Values(inner) => prop::collection::vec(json_strategy(inner), 0..3)
            .prop_map(Json::Array)
            .boxed(),
    }
}

/// What PHP reads for `json` sent in bracket syntax: lists keyed by index,
/// and no trace of an empty list or object (no pair names them).
fn php_of(json: &serde_json::Value) -> Option<Php> {
    use serde_json::Value as Json;
    let array = |entries: Vec<(String, Php)>| {
        (!entries.is_empty()).then(|| Php::Array(entries.into_iter().collect()))
    };
    match json {
        Json::Number(n) => Some(Php::Str(n.to_string())),
        Json::String(s) => Some(Php::Str(s.clone())),
        Json::Array(items) => array(
            items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| Some((i.to_string(), php_of(item)?)))
                .collect(),
        ),
        Json::Object(map) => array(
            map.iter()
                .filter_map(|(k, v)| Some((k.clone(), php_of(v)?)))
                .collect(),
        ),
        Json::Null | Json::Bool(_) => None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any nested structure (objects, lists of records, lists of values, at
    /// any depth) declared in a template, given as JSON, validated, batched
    /// and rendered, is read back by a PHP-style parser as the same structure.
    #[test]
    fn nested_structures_round_trip_through_php_brackets(
        (shape, values) in shape_strategy().prop_flat_map(|shape| {
            let values = prop::collection::vec(json_strategy(&shape), 1..3);
            (Just(shape), values)
        })
    ) {
        use moodlec::plan::Batcher;
        use moodlec::record::{from_reader, InputFormat};
        use moodlec::validate::{ValidateOptions, Validator};

        let text = format!(
            "template shaped \"x\" {{ function local_x_shaped wrap items field v: {} }}",
            type_text(&shape)
        );
        let compiled = moodlec::check::compile(
            &[moodlec::diagnostic::Source::new("shaped.moodle", text.as_str())],
            builtin::catalog(),
        );
        let template = compiled
            .catalog
            .get("shaped")
            .unwrap_or_else(|| panic!("{text} does not compile: {:?}", compiled.diagnostics));
        let lines: String = values.iter().map(|v| format!("{}\n", serde_json::json!({ "v": v }))).collect();
        let params = moodlec::params::resolve(template, &[]).expect("params");
        let mut validator = Validator::new(template, params, ValidateOptions::default());
        let mut batcher = Batcher::new(template);
        let mut batches = Vec::new();
        for record in from_reader(std::io::Cursor::new(lines.into_bytes()), "shaped.ndjson", InputFormat::Ndjson, 1 << 20) {
            let verdict = validator.validate(&record.expect("readable"));
            let valid = verdict.outcome.unwrap_or_else(|v| panic!("{text}: {v:?}"));
            batches.extend(batcher.push(valid).expect("fits"));
        }
        batches.extend(batcher.finish());
        prop_assert_eq!(batches.len(), 1);
        let mut parsed = php_parse(&request_body(template, &batches[0], TokenSlot::Redacted));
        for control in ["wstoken", "wsfunction", "moodlewsrestformat"] {
            prop_assert!(parsed.remove(control).is_some());
        }
        let sent = serde_json::json!({
            "items": values.iter().map(|v| serde_json::json!({ "v": v })).collect::<Vec<_>>()
        });
        let expected = match php_of(&sent) {
            Some(Php::Array(map)) => map,
            _ => BTreeMap::new(),
        };
        prop_assert_eq!(parsed, expected, "template: {}", text);
    }
}
