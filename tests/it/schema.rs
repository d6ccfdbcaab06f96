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
    let minimal = json!({"username": "b", "firstname": "B", "lastname": "C", "email": "b@example.org", "createpassword": 1});
    assert_eq!(errors(&validator, &minimal), Vec::<String>::new());
    // The forms validate coerces: "12" for an int, "true" for a bool, ISO-8601 for a timestamp.
    let coerced = json!({"username": "b", "firstname": "B", "lastname": "C", "email": "b@example.org",
        "createpassword": "true", "maildisplay": "2", "mailformat": 7});
    assert_eq!(errors(&validator, &coerced), Vec::<String>::new());
    // Letters Moodle stores with a warning (issue 12 item 6) are valid records.
    for country in ["XX", "cz", "USA"] {
        let mut record = good_record();
        record["country"] = json!(country);
        assert_eq!(errors(&validator, &record), Vec::<String>::new(), "{country}");
    }
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
        ("country not letters", |r| r["country"] = json!("C1")),
        ("maildisplay not a number", |r| r["maildisplay"] = json!("two")),
        ("maildisplay with a leading zero", |r| {
            r["maildisplay"] = json!("02")
        }),
        ("no password and no createpassword", |r| {
            r.as_object_mut().expect("object").remove("createpassword");
        }),
        ("createpassword false and no password", |r| {
            r["createpassword"] = json!("0")
        }),
        ("firstname blank", |r| r["firstname"] = json!("  ")),
        ("auth mnet", |r| r["auth"] = json!("mnet")),
        // maildisplay 7 is valid (a warning): its one_of is a `warn` constraint, Moodle accepts any int.
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
    record["country"] = json!("C1");
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
    // Optional: null is absent; an int may be written as its decimal text.
    assert_eq!(
        properties["userids"],
        json!({ "anyOf": [{ "type": "null" }, { "type": "array", "items": { "anyOf": [
            { "type": "integer", "minimum": 1, "maximum": i64::MAX },
            { "type": "string", "pattern": "^[1-9][0-9]*$" },
        ] } }] })
    );
    let tags = &properties["rows"]["anyOf"][1]["items"]["properties"]["tags"]["anyOf"][1];
    assert_eq!(tags["type"], "array");
    assert_eq!(tags["items"]["anyOf"][0]["type"], "string");
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
        // Optional fields are `anyOf` null or their schema: the error names
        // the offending value or the optional structure holding it.
        let found = errors(&validator, &bad);
        assert!(
            found.iter().any(|e| e
                .rsplit_once(" at ")
                .is_some_and(|(_, at)| path == at || path.starts_with(&format!("{at}/")))),
            "{bad} should fail at {path}: {found:?}"
        );
    }
}

// ---- schema ⇔ validate, for every built-in write template -------------------------

mod equivalence {
    //! For every built-in write template: a record is valid for the schema
    //! exactly when `moodlec validate` accepts it (warnings allowed).
    //!
    //! Excluded from the claim, and so never generated (each is named in the
    //! schema's `$comment`s):
    //! - rules JSON Schema cannot say: create_courses / update_courses
    //!   `enddate >= startdate` (orders two fields), create_courses `enddate
    //!   == 0 ...` (a timestamp 0 has endless ISO-8601 spellings),
    //!   update_categories `parent != id` (compares two fields): generated
    //!   records leave `enddate` and `parent` out.
    //! - the site password policy: passwords are "" (only where the policy's
    //!   `when` does not apply to it: create_users refuses it by its rule) or
    //!   one that passes the policy.
    //! - uniqueness across records: each record gets a fresh Validator.
    //! - the max_input_vars budget: generated records are small.
    //! - Moodle's finer text checks: timezone names (only valid ones are
    //!   generated), email syntax (one good, one bad address), multilang
    //!   spans in `text`, '__' in plugin names, numbers with a fraction sent
    //!   to text fields (`1.5`) or whole numbers written `1.0`, int texts
    //!   beyond 64 bits, naive date-times on days a month lacks
    //!   (2026-02-30T09:00): none are generated.

    use std::sync::Arc;

    use jsonschema::Validator as SchemaValidator;
    use moodlec::builtin;
    use moodlec::record::{from_reader, InputFormat};
    use moodlec::schema::record_schema;
    use moodlec::template::{Field, FieldType, ScalarType, Template};
    use moodlec::validate::{ValidateOptions, Validator};
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    use serde_json::{json, Map, Value};

    /// Fields left out of generated records: their rules are not in the claim.
    const EXCLUDED_FIELDS: &[(&str, &str, &str)] = &[
        (
            "create_courses",
            "enddate",
            "rules `enddate >= startdate` and `enddate == 0 or startdate != 0`",
        ),
        ("update_courses", "enddate", "rule `enddate >= startdate`"),
        ("update_categories", "parent", "rule `parent != id`"),
    ];

    /// Rules a schema cannot say, by template: each must be named in the
    /// schema's root `$comment`, and its fields are in EXCLUDED_FIELDS.
    const EXCLUDED_RULES: &[(&str, &str)] = &[
        ("create_courses", "enddate >= startdate"),
        ("create_courses", "(startdate is not none and startdate != 0)"),
        ("update_courses", "enddate >= startdate"),
        ("update_categories", "parent != id"),
    ];

    fn write_templates() -> Vec<Arc<Template>> {
        builtin::catalog()
            .iter()
            .filter(|t| !t.is_read())
            .cloned()
            .collect()
    }

    fn strings(items: &[&str]) -> Vec<Value> {
        items.iter().map(|s| json!(s)).collect()
    }

    /// Values to try for a scalar field: good ones, coercible text, bad ones.
    fn scalar_pool(field: &Field, scalar: ScalarType) -> Vec<Value> {
        let mut pool = match scalar {
            ScalarType::Int => vec![
                json!(1),
                json!("2"),
                json!(0),
                json!(5),
                json!(-3),
                json!("12"),
                json!("0"),
                json!("1"),
                json!("-4"),
                json!("007"),
                json!("+5"),
                json!("1.5"),
                json!(1.5),
                json!("abc"),
                json!(""),
                json!(true),
                json!([1]),
            ],
            ScalarType::Float => vec![
                json!(1.5),
                json!("7.5"),
                json!(0),
                json!(-2),
                json!("1.5"),
                json!("7"),
                json!("1e3"),
                json!("abc"),
                json!(""),
                json!(true),
            ],
            ScalarType::Bool => vec![
                json!(true),
                json!(false),
                json!(0),
                json!(1),
                json!(2),
                json!("1"),
                json!("0"),
                json!("true"),
                json!("FALSE"),
                json!("yes"),
                json!(""),
                json!([true]),
            ],
            ScalarType::Timestamp => vec![
                json!(0),
                json!(1_767_225_600),
                json!(-5),
                json!("1767225600"),
                json!("007"),
                json!("2026-01-01"),
                json!("2026-01-01T09:00:00Z"),
                json!("2026-01-01T09:00:00+01:00"),
                json!("2026-01-01 09:00"),
                json!("2026-01-01T09:00"),
                json!("01/02/2026"),
                json!("2026-02-30"),
                json!("yesterday"),
                json!(1.5),
                json!(true),
            ],
            ScalarType::Timezone => vec![json!("Europe/London"), json!("99"), json!(""), json!(99)],
            ScalarType::Email => vec![
                json!("ann.lee@example.org"),
                json!("ann.lee@example.org"),
                json!("not an email"),
                json!(""),
                json!(5),
            ],
            ScalarType::Password => vec![json!("Str0ng!Passw0rd"), json!("Str0ng!Passw0rd"), json!("")],
            ScalarType::Plugin | ScalarType::Auth | ScalarType::Theme => strings(&[
                "manual",
                "ldap",
                "mnet",
                "webservice",
                "email",
                "mod_assign",
                "topics",
                "Bad",
                "x",
                "",
            ]),
            ScalarType::Text | ScalarType::NoTags | ScalarType::Raw | ScalarType::RawTrimmed => {
                let mut pool = strings(&[
                    "Ann", "x1", "", " ", "\t", "a < b", "<b>x</b>", "Zoë", " padded ", "a\nb",
                ]);
                pool.extend([json!(42), json!(-7), json!(0)]);
                pool
            }
            _ => {
                let mut pool = strings(&[
                    "en", "us", "ann.lee", "pt_br", "AB", "CZ", "XX", "a-b", "a b", "Ann", "", "x@y",
                ]);
                pool.extend([json!(5), json!(-5), json!(0)]);
                pool
            }
        };
        if let Some(max) = field.constraints.max_length {
            pool.push(json!("a".repeat(max)));
            pool.push(json!("a".repeat(max + 1)));
        }
        pool.push(json!({ "nested": 1 }));
        pool
    }

    fn value_strategy(field: &Field, depth: u32) -> BoxedStrategy<Value> {
        match &field.ty {
            FieldType::Scalar(scalar) => {
                let pool = scalar_pool(field, *scalar);
                // The pools start with values most fields take.
                let likely: Vec<Value> = pool.iter().take(2).cloned().collect();
                prop_oneof![2 => proptest::sample::select(likely), 1 => proptest::sample::select(pool)]
                    .boxed()
            }
            FieldType::Enum(values) => {
                let mut pool = strings(&values.iter().map(String::as_str).collect::<Vec<_>>());
                pool.extend([json!("bogus"), json!(1)]);
                proptest::sample::select(pool).boxed()
            }
            FieldType::Object(fields) => prop_oneof![
                8 => object_strategy(fields.clone(), depth + 1, None),
                1 => Just(json!("not an object")),
            ]
            .boxed(),
            FieldType::List(fields) => prop_oneof![
                8 => proptest::collection::vec(object_strategy(fields.clone(), depth + 1, None), 0..3)
                    .prop_map(Value::Array),
                1 => Just(json!({ "type": "x" })),
            ]
            .boxed(),
            FieldType::Values(inner) => {
                let element = Field {
                    ty: (**inner).clone(),
                    ..field.clone()
                };
                proptest::collection::vec(value_strategy(&element, depth + 1), 0..3)
                    .prop_map(Value::Array)
                    .boxed()
            }
        }
    }

    /// An object of `fields`: each absent, null or a value; maybe an unknown key.
    fn object_strategy(fields: Vec<Field>, depth: u32, template: Option<&str>) -> BoxedStrategy<Value> {
        let parts: Vec<BoxedStrategy<Option<(String, Value)>>> = fields
            .iter()
            .filter(|f| {
                !template.is_some_and(|t| {
                    EXCLUDED_FIELDS
                        .iter()
                        .any(|(name, field, _)| *name == t && *field == f.name)
                })
            })
            .map(|f| {
                let name = f.name.clone();
                // The password policy is not in the claim: where it applies to
                // every record, only a password that passes it is generated.
                let policy_everywhere = template
                    .and_then(|t| builtin::catalog().get(t))
                    .is_some_and(|t| t.password_policy.is_some() && t.password_policy_when.is_none());
                let value = if policy_everywhere && matches!(f.ty, FieldType::Scalar(ScalarType::Password)) {
                    Just(json!("Str0ng!Passw0rd")).boxed()
                } else {
                    value_strategy(f, depth)
                };
                let (absent, present) = if f.required { (1, 30) } else { (6, 6) };
                prop_oneof![
                    absent => Just(None),
                    absent => Just(Some((name.clone(), Value::Null))),
                    present => value.prop_map(move |v| Some((name.clone(), v))),
                ]
                .boxed()
            })
            .collect();
        (parts, proptest::bool::weighted(0.02))
            .prop_map(|(parts, unknown)| {
                let mut object: Map<String, Value> = parts.into_iter().flatten().collect();
                if unknown {
                    object.insert("favourite_colour".into(), json!("green"));
                }
                Value::Object(object)
            })
            .boxed()
    }

    fn schema_validator(schema: &Value) -> SchemaValidator {
        jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(schema)
            .expect("the schema is itself valid")
    }

    /// `validate`'s verdict on `record`: Ok, or its problems.
    fn validate(template: &Template, record: &Value) -> Result<(), String> {
        let params = moodlec::params::resolve(template, &[]).expect("params");
        let mut validator = Validator::new(template, params, ValidateOptions::default());
        let line = format!("{record}\n");
        let source = from_reader(
            std::io::Cursor::new(line.into_bytes()),
            "r.ndjson",
            InputFormat::Ndjson,
            1 << 20,
        )
        .next()
        .expect("a record")
        .expect("readable");
        validator
            .validate(&source)
            .outcome
            .map(drop)
            .map_err(|v| v.iter().map(|v| v.message.clone()).collect::<Vec<_>>().join("; "))
    }

    #[test]
    fn excluded_rules_are_named_in_the_schema() {
        for (name, rule) in EXCLUDED_RULES {
            let template = builtin::catalog().get(name).expect("built-in");
            let schema = record_schema(template);
            let comment = schema["$comment"].as_str().expect("a root $comment");
            assert!(comment.contains(rule), "{name}: {rule} not named in {comment}");
        }
        // Every other rule of a write built-in is in the schema.
        for template in write_templates() {
            let schema = record_schema(&template);
            let comment = schema["$comment"].as_str().expect("a root $comment");
            for rule in template.rules.iter().filter(|r| !r.advisory) {
                let excluded = EXCLUDED_RULES
                    .iter()
                    .any(|(name, part)| *name == template.name && rule.expr.contains(part));
                let said = schema["allOf"].as_array().is_some_and(|all| {
                    all.iter()
                        .any(|c| c["$comment"] == format!("rule: {}", rule.expr))
                });
                assert_eq!(said, !excluded, "{}: rule {}", template.name, rule.expr);
                assert_eq!(
                    comment.contains(&rule.expr),
                    excluded,
                    "{}: {comment}",
                    template.name
                );
            }
        }
    }

    /// Cases per template; about 20 write templates.
    const CASES: u32 = 200;

    #[test]
    fn schema_validity_is_validate_validity_for_every_write_builtin() {
        let total = std::cell::Cell::new(0_usize);
        let valid = std::cell::Cell::new(0_usize);
        for template in write_templates() {
            let schema = record_schema(&template);
            jsonschema::meta::validate(&schema).expect("meta-schema");
            let checker = schema_validator(&schema);
            let strategy = object_strategy(template.fields.clone(), 0, Some(&template.name));
            let mut runner = TestRunner::new(Config {
                cases: CASES,
                failure_persistence: None,
                ..Config::default()
            });
            let result = runner.run(&strategy, |record| {
                let by_schema = checker.is_valid(&record);
                let by_validate = validate(&template, &record);
                total.set(total.get() + 1);
                valid.set(valid.get() + usize::from(by_schema));
                prop_assert_eq!(
                    by_schema,
                    by_validate.is_ok(),
                    "{}: {} schema errors {:?}, validate {:?}",
                    template.name,
                    record,
                    checker
                        .iter_errors(&record)
                        .map(|e| format!("{e} at {}", e.instance_path))
                        .collect::<Vec<_>>(),
                    by_validate
                );
                Ok(())
            });
            if let Err(failure) = result {
                panic!("{failure}");
            }
        }
        // Both verdicts occur often enough to mean something.
        let (valid, total) = (valid.get(), total.get());
        println!("{total} records, {valid} valid for both");
        assert!(
            valid * 10 > total && valid * 10 < total * 9,
            "{valid} valid of {total}"
        );
    }
}
