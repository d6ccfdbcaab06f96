//! The JSON Schema `moodlec explain --schema` prints, checked with an
//! independent validator: good records pass, each kind of bad record fails.

use jsonschema::Validator;
use moodlec::builtin;
use moodlec::schema::record_schema;
use serde_json::{json, Value};

use crate::harness::Moodlec;

/// The create_users schema, as the library builds it.
fn create_users_schema() -> Value {
    let template = builtin::catalog()
        .get("create_users")
        .expect("built-in create_users");
    record_schema(template)
}

/// A draft 2020-12 validator that also checks `format` (email, date).
fn validator(schema: &Value) -> Validator {
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(schema)
        .expect("the schema is itself valid")
}

fn good_record() -> Value {
    json!({
        "username": "ann.lee",
        "firstname": "Ann",
        "lastname": "Lee",
        "email": "ann.lee@example.org",
        "country": "CZ",
        "maildisplay": 2,
        "createpassword": true,
        "customfields": [{ "type": "staffno", "value": "F-1204" }]
    })
}

/// Why `record` is rejected, one line per error; empty if it is valid.
fn errors(validator: &Validator, record: &Value) -> Vec<String> {
    validator
        .iter_errors(record)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

#[test]
fn the_schema_is_valid_draft_2020_12() {
    let schema = create_users_schema();
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
    jsonschema::meta::validate(&schema).expect("schema conforms to the meta-schema");
}

#[test]
fn the_cli_prints_the_library_schema() {
    let output = Moodlec::new(["explain", "create_users", "--schema"]).output();
    assert_eq!(output.code, Some(0));
    let printed: Value = serde_json::from_str(&output.stdout).expect("JSON on stdout");
    assert_eq!(printed, create_users_schema());
}

#[test]
fn a_good_record_passes() {
    let validator = validator(&create_users_schema());
    assert_eq!(errors(&validator, &good_record()), Vec::<String>::new());
    let minimal = json!({"username": "b", "firstname": "B", "lastname": "C", "email": "b@example.org"});
    assert_eq!(errors(&validator, &minimal), Vec::<String>::new());
}

#[test]
fn bad_records_fail() {
    let validator = validator(&create_users_schema());
    /// A name and how it spoils the good record.
    type Spoil = (&'static str, fn(&mut Value));
    let cases: &[Spoil] = &[
        ("missing username", |r| {
            r.as_object_mut().expect("object").remove("username");
        }),
        ("unknown key", |r| r["favourite_colour"] = json!("green")),
        ("country not ISO 3166", |r| r["country"] = json!("XX")),
        ("country in lower case", |r| r["country"] = json!("cz")),
        ("maildisplay as a string", |r| r["maildisplay"] = json!("2")),
        ("maildisplay out of one_of", |r| r["maildisplay"] = json!(7)),
        ("username with upper case", |r| r["username"] = json!("Ann.Lee")),
        ("username too long", |r| r["username"] = json!("a".repeat(101))),
        ("email not an address", |r| r["email"] = json!("not an email")),
        ("customfields not a list", |r| {
            r["customfields"] = json!({"type": "x"})
        }),
        ("customfield without value", |r| {
            r["customfields"] = json!([{ "type": "staffno" }])
        }),
    ];
    let mut accepted = Vec::new();
    for (name, spoil) in cases {
        let mut record = good_record();
        spoil(&mut record);
        if validator.is_valid(&record) {
            accepted.push(format!("{name}: {record}"));
        }
    }
    assert!(
        accepted.is_empty(),
        "bad records the schema accepts:\n{}",
        accepted.join("\n")
    );
}

#[test]
fn the_error_names_the_offending_field() {
    let validator = validator(&create_users_schema());
    let mut record = good_record();
    record["country"] = json!("XX");
    let found = errors(&validator, &record);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].ends_with("at /country"), "{found:?}");
}

/// A template of every structure: objects, lists of records, lists of values, nested.
fn shapes_schema() -> Value {
    let text = r#"template shapes "Every shape" {
      function local_x_shapes
      wrap items
      field cohorttype: object {
        field type: enum("id", "idnumber") default "idnumber"
        field value: raw required
      } required
      field userids: list int min 1
      field rows: list { field tags: list text field n: int required }
      field courseid: int required per_call
      field usertype: object { field type: text default "username" field id: int } required
    }"#;
    let compiled = moodlec::check::compile(
        &[moodlec::diagnostic::Source::new("shapes.moodle", text)],
        builtin::catalog(),
    );
    let template = compiled
        .catalog
        .get("shapes")
        .unwrap_or_else(|| panic!("does not compile: {:?}", compiled.diagnostics));
    record_schema(template)
}

#[test]
fn structures_are_nested_schema_objects_and_arrays() {
    let schema = shapes_schema();
    jsonschema::meta::validate(&schema).expect("schema conforms to the meta-schema");
    let properties = &schema["properties"];
    assert_eq!(properties["cohorttype"]["type"], "object");
    assert_eq!(properties["cohorttype"]["required"], json!(["value"]));
    assert_eq!(
        properties["cohorttype"]["properties"]["type"]["default"],
        "idnumber"
    );
    assert_eq!(
        properties["userids"],
        json!({ "type": "array", "items": { "type": "integer", "minimum": 1 } })
    );
    assert_eq!(properties["rows"]["items"]["properties"]["tags"]["type"], "array");
    assert_eq!(
        properties["rows"]["items"]["properties"]["tags"]["items"]["type"],
        "string"
    );
    // `usertype` is built from its fields' defaults when a record lacks it.
    assert_eq!(schema["required"], json!(["cohorttype", "courseid"]));
    assert_eq!(properties["usertype"]["type"], "object");

    let validator = validator(&schema);
    let good = json!({
        "cohorttype": { "value": "C1" },
        "userids": [5, 7],
        "rows": [{ "n": 1, "tags": ["a", "b"] }],
        "courseid": 2
    });
    assert_eq!(errors(&validator, &good), Vec::<String>::new());
    for (bad, path) in [
        (
            json!({ "cohorttype": { "type": "name", "value": "C1" }, "courseid": 2 }),
            "/cohorttype/type",
        ),
        (
            json!({ "cohorttype": { "value": "C1", "colour": "red" }, "courseid": 2 }),
            "/cohorttype",
        ),
        (
            json!({ "cohorttype": { "value": "C1" }, "userids": [5, 0], "courseid": 2 }),
            "/userids/1",
        ),
        (
            json!({ "cohorttype": { "value": "C1" }, "rows": [{ "tags": ["a"] }], "courseid": 2 }),
            "/rows/0",
        ),
        (json!({ "cohorttype": "C1", "courseid": 2 }), "/cohorttype"),
    ] {
        let found = errors(&validator, &bad);
        assert!(
            found.iter().any(|e| e.ends_with(&format!(" at {path}"))),
            "{bad} should fail at {path}: {found:?}"
        );
    }
}
