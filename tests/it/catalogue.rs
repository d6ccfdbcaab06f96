//! Every function of the catalogue (Moodle 4.5's 757 web-service functions)
//! as a template: `moodlec new` writes it, `check` compiles it without a
//! diagnostic, a sample record built from the catalogue's shape validates
//! and renders, and PHP's reading of the rendered body (`parse_str` rules,
//! the parser of form_roundtrip) is exactly the structure the catalogue
//! describes: the same keys, the same nesting, lists where Moodle has lists.
//!
//! A function whose shape the language cannot express yet is a failure
//! with its reason, never skipped.

use std::collections::BTreeMap;

use moodlec::catalogue::generate::{self, refined_type, Carrier};
use moodlec::catalogue::{self, Function, Shape};
use moodlec::check::{compile, Catalog};
use moodlec::diagnostic::Source;
use moodlec::plan::Batcher;
use moodlec::record::{from_reader, InputFormat};
use moodlec::render::{request_body, TokenSlot};
use moodlec::template::ScalarType;
use moodlec::validate::{ValidateOptions, Validator};
use serde_json::{json, Value as Json};

use crate::form_roundtrip::{php_parse, Php};

/// A value of PARAM type `param` that moodlec and Moodle both take, for a
/// field called `name`, as JSON and as PHP reads it from the form.
fn sample_value(name: &str, param: &str) -> (Json, Php) {
    let (json, wire) = match refined_type(name, param).0 {
        ScalarType::Int | ScalarType::Timestamp => (json!(2), "2"),
        ScalarType::Bool => (json!(true), "1"),
        ScalarType::Float => (json!(1.5), "1.5"),
        ScalarType::Alpha => (json!("abc"), "abc"),
        ScalarType::AlphaNum => (json!("abc1"), "abc1"),
        ScalarType::AlphaNumExt | ScalarType::SafeDir => (json!("abc_1"), "abc_1"),
        ScalarType::Plugin | ScalarType::Auth => (json!("manual"), "manual"),
        ScalarType::Theme => (json!("boost"), "boost"),
        ScalarType::Username => (json!("sample.user"), "sample.user"),
        ScalarType::Email => (json!("sample@example.com"), "sample@example.com"),
        ScalarType::Password => (json!("Sample-Passw0rd"), "Sample-Passw0rd"),
        ScalarType::Lang => (json!("en"), "en"),
        ScalarType::Country => (json!("GB"), "GB"),
        ScalarType::Timezone => (json!("Europe/London"), "Europe/London"),
        ScalarType::Text | ScalarType::NoTags | ScalarType::Raw | ScalarType::RawTrimmed => {
            (json!("sample text"), "sample text")
        }
    };
    (json, Php::Str(wire.to_owned()))
}

/// One sample of `shape` (every key present, one element per list), as the
/// JSON a record carries and as PHP reads it back. `None` for a structure
/// without keys: a form cannot carry an empty array, so it is left out.
fn sample(name: &str, shape: &Shape) -> Option<(Json, Php)> {
    match shape {
        Shape::Value(value) => Some(sample_value(name, &value.ty)),
        Shape::Object(object) => sample_object(&object.keys),
        Shape::List(list) => {
            let (json, php) = sample(name, &list.content)?;
            Some((
                Json::Array(vec![json]),
                Php::Array(BTreeMap::from([("0".to_owned(), php)])),
            ))
        }
    }
}

fn sample_object(keys: &[(String, Shape)]) -> Option<(Json, Php)> {
    let (json, php) = sample_keys(keys);
    (!json.is_empty()).then(|| (Json::Object(json), Php::Array(php)))
}

/// A sample of each key (those that can be sent).
fn sample_keys(keys: &[(String, Shape)]) -> (serde_json::Map<String, Json>, BTreeMap<String, Php>) {
    let mut json = serde_json::Map::new();
    let mut php = BTreeMap::new();
    for (key, shape) in keys {
        if let Some((j, p)) = sample(key, shape) {
            json.insert(key.clone(), j);
            php.insert(key.clone(), p);
        }
    }
    (json, php)
}

/// The input record for `function`'s template and what PHP must read from the call.
fn sample_call(function: &Function, carrier: &Carrier) -> (Json, BTreeMap<String, Php>) {
    let top = match &function.params {
        Shape::Object(object) => object,
        _ => unreachable!("the parameters are an object"),
    };
    let (list, others): (Option<&str>, Vec<(String, Shape)>) = match carrier {
        Carrier::TopLevel | Carrier::Read(_) => (None, top.keys.clone()),
        Carrier::Wrap(list) | Carrier::Collect { into: list, .. } => (
            Some(list.as_str()),
            top.keys.iter().filter(|(n, _)| n != list).cloned().collect(),
        ),
    };
    // Top-level parameters (per_call ones beside a list) are record fields too.
    let (mut record, mut expected) = sample_keys(&others);
    if let Some(list) = list {
        let Some(Shape::List(shape)) = top.key(list) else {
            unreachable!()
        };
        if let Some((json, php)) = sample(list, &shape.content) {
            match carrier {
                Carrier::Wrap(_) => {
                    let Json::Object(fields) = json else {
                        unreachable!("records are objects")
                    };
                    record.extend(fields);
                }
                Carrier::Collect { field, .. } => {
                    record.insert(field.clone(), json);
                }
                Carrier::TopLevel | Carrier::Read(_) => unreachable!(),
            }
            expected.insert(
                list.to_owned(),
                Php::Array(BTreeMap::from([("0".to_owned(), php)])),
            );
        }
    }
    (Json::Object(record), expected)
}

/// Generate, check, validate, render and parse back one function: why it fails, if it does.
fn round_trip(function: &Function) -> Result<(), String> {
    let text =
        generate::template(function).map_err(|u| format!("not expressible: {}", u.reasons.join("; ")))?;
    let compiled = compile(
        &[Source::new(format!("{}.moodle", function.name), text.as_str())],
        &Catalog::default(),
    );
    if let Some(d) = compiled.diagnostics.first() {
        return Err(format!("check: {} {}\n{text}", d.code.as_str(), d.message));
    }
    let read = matches!(generate::carrier(function), Ok(Carrier::Read(_)));
    if read != compiled.catalog.get(&function.name).is_some_and(|t| t.is_read()) {
        return Err(format!("a read template expected: {read}\n{text}"));
    }
    let template = compiled.catalog.get(&function.name).ok_or("not compiled")?;
    let carrier = generate::carrier(function).map_err(|u| u.to_string())?;
    let (record, expected) = sample_call(function, &carrier);
    let line = format!("{record}\n");
    let params = moodlec::params::resolve(template, &[]).map_err(|e| format!("params: {e:?}"))?;
    let mut validator = Validator::new(template, params, ValidateOptions::default());
    let mut records = from_reader(
        std::io::Cursor::new(line.into_bytes()),
        "sample.ndjson",
        InputFormat::Ndjson,
        1 << 20,
    );
    let source = records.next().ok_or("no record")?.map_err(|e| e.message)?;
    let valid = validator
        .validate(&source)
        .outcome
        .map_err(|e| format!("the sample {record} is invalid: {e:?}"))?;
    let body = if template.is_read() {
        // A read template: the call `fetch` makes for the input record.
        let mut calls = moodlec::fetch::request::Calls::new(template);
        let mut made = calls.push(valid);
        made.extend(calls.flush());
        moodlec::form::encode(&made.first().ok_or("no call")?.params)
    } else {
        let mut batcher = Batcher::new(template);
        let mut batches = batcher.push(valid).map_err(|e| format!("too large: {e:?}"))?;
        batches.extend(batcher.finish());
        request_body(template, batches.first().ok_or("no batch")?, TokenSlot::Redacted)
    };
    let mut parsed = php_parse(&body);
    for control in ["wstoken", "wsfunction", "moodlewsrestformat"] {
        parsed.remove(control);
    }
    if parsed != expected {
        return Err(format!(
            "PHP reads {parsed:?}\nexpected {expected:?}\nbody {body}"
        ));
    }
    Ok(())
}

#[test]
fn every_catalogued_function_generates_checks_renders_and_parses_back() {
    let functions = catalogue::functions();
    assert_eq!(functions.len(), 757);
    let failures: Vec<String> = functions
        .iter()
        .filter_map(|f| round_trip(f).err().map(|why| format!("{}: {why}", f.name)))
        .collect();
    let passed = functions.len() - failures.len();
    let reads = functions
        .iter()
        .filter(|f| matches!(generate::carrier(f), Ok(Carrier::Read(_))))
        .count();
    eprintln!(
        "catalogue round trip: {passed}/{} functions ({reads} as read templates)",
        functions.len()
    );
    assert!(
        failures.is_empty(),
        "{passed}/{} functions round-trip; {} fail:\n{}",
        functions.len(),
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn new_writes_a_template_that_check_and_fmt_accept() {
    use crate::harness::{self, Moodlec};

    let dir = harness::scratch("catalogue-new");
    Moodlec::new(["new", "core_cohort_add_cohort_members", "-o", "members.moodle"])
        .current_dir(&dir)
        .output()
        .code(0)
        .stdout_has("wrote members.moodle");
    let text = std::fs::read_to_string(dir.join("members.moodle")).expect("written");
    for line in [
        "wrap members",
        "field cohorttype: object {",
        "field usertype: object {",
    ] {
        assert!(text.contains(line), "no {line:?} in\n{text}");
    }
    Moodlec::new(["check", "members.moodle"])
        .current_dir(&dir)
        .output()
        .code(0)
        .stderr_has("1 template(s) compiled: no errors");
    Moodlec::new(["fmt", "--check", "members.moodle"])
        .current_dir(&dir)
        .output()
        .code(0);
    // An existing file is never overwritten.
    Moodlec::new(["new", "core_user_delete_users", "-o", "members.moodle"])
        .current_dir(&dir)
        .output()
        .code(2)
        .stderr_has("cannot create members.moodle");
    Moodlec::new(["new", "core_user_delete_users"])
        .current_dir(&dir)
        .output()
        .code(0)
        .stdout_has("collect userid into userids");
}

#[test]
fn new_suggests_the_function_meant() {
    use crate::harness::Moodlec;

    Moodlec::new(["new", "core_grop_create_groups"])
        .output()
        .code(2)
        .stderr_has("did you mean `core_group_create_groups`?");
    Moodlec::new(["new", "core_cohort"])
        .output()
        .code(2)
        .stderr_has("functions starting `core_cohort`: core_cohort_add_cohort_members");
    Moodlec::new(["new", "--help"])
        .output()
        .code(0)
        .stdout_has("Examples:")
        .stdout_has("moodlec new core_cohort_add_cohort_members");
}
