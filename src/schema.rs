//! A JSON Schema (draft 2020-12) for one input record of a template.
//!
//! It describes records as moodlec reads them from JSON: other tools (form
//! builders, pipeline validators) can check data with it before moodlec sees
//! it. It takes the value forms `moodlec validate` coerces (`"12"` for an
//! int, `"true"`/1 for a bool, ISO-8601 for a timestamp) and says the
//! template's `rule`s where JSON Schema can (`allOf` of `anyOf`/`not`
//! conditions); `warn` constraints and `warn rule`s are not schema
//! constraints (Moodle accepts such records). What it cannot say (rules
//! comparing two fields, the password policy, uniqueness across records) is
//! named in the root `$comment` and left to `moodlec validate`.

use serde_json::{json, Map, Value as Json};

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
    let (conditions, left) = rules_schema(template);
    if !conditions.is_empty() {
        root.insert("allOf".into(), Json::Array(conditions));
    }
    root.insert(
        "$comment".into(),
        json!(format!(
            "Values may be written as validate reads them (\"12\" for an int, \"true\" or 1 for a bool, ISO-8601 for a timestamp); null is absent. Left to moodlec validate: {}.",
            left.join("; ")
        )),
    );
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
    let mut schema = type_schema(&field.ty, &field.constraints, field.required);
    if !field.required || field.default.is_some() {
        // JSON null counts as absent: the field's default (if any) stands in.
        schema = json!({ "anyOf": [{ "type": "null" }, schema] });
    }
    let object = schema.as_object_mut().expect("field schemas are objects");
    if !field.doc.is_empty() {
        object.insert("description".into(), json!(field.doc));
    }
    if let Some(DefaultValue::Value(value)) = &field.default {
        object.insert("default".into(), value_json(value));
    }
    schema
}

/// The schema of a type with its (error, not `warn`) constraints; for a
/// `list TYPE` they apply to the elements. `required` structures must not be
/// empty: an empty one sends nothing, and Moodle finds the key missing.
fn type_schema(ty: &FieldType, constraints: &Constraints, required: bool) -> Json {
    match ty {
        FieldType::Scalar(scalar) => scalar_schema(*scalar, constraints),
        FieldType::Enum(values) => json!({ "type": "string", "enum": values }),
        FieldType::List(fields) => {
            let mut schema = json!({ "type": "array", "items": object_schema(fields, None) });
            if required {
                schema["minItems"] = json!(1);
            }
            schema
        }
        FieldType::Object(fields) => object_schema(fields, None),
        FieldType::Values(inner) => {
            let items = type_schema(inner, constraints, false);
            let mut schema = json!({ "type": "array", "items": items });
            if required {
                schema["minItems"] = json!(1);
            }
            schema
        }
    }
}

/// `^(0|-?[1-9][0-9]*)$`: the decimal texts Moodle's PARAM_INT accepts.
const INT_TEXT: &str = "^(0|-?[1-9][0-9]*)$";

/// What JSON numbers a textual type takes (moodlec sends their decimal text).
#[derive(Clone, Copy, PartialEq)]
enum Numbers {
    None,
    NonNegative,
    Any,
}

/// A scalar as validate reads it from JSON: its own JSON type, or the text
/// forms validate coerces (`"12"` for an int, `"true"` for a bool, ISO-8601
/// for a timestamp), with Moodle's checks and the field's constraints.
fn scalar_schema(scalar: ScalarType, constraints: &Constraints) -> Json {
    match scalar {
        ScalarType::Int => int_schema(constraints),
        ScalarType::Float => {
            let mut number = json!({ "type": "number" });
            add_number_constraints(&mut number, constraints);
            json!({ "anyOf": [
                number,
                { "type": "string", "pattern": "^[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]+)?$" },
            ], "$comment": "a number, or its decimal text; text bounds are not checked here" })
        }
        ScalarType::Bool => json!({ "anyOf": [
            { "type": "boolean" },
            { "enum": [0, 1] },
            { "type": "string", "pattern": "^([01]|[Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])$" },
        ] }),
        ScalarType::Timestamp => json!({ "anyOf": [
            { "type": "integer", "minimum": i64::MIN, "maximum": i64::MAX },
            { "type": "string", "pattern": INT_TEXT },
            { "type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$" },
            { "type": "string", "format": "date-time" },
            { "type": "string", "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$" },
        ], "$comment": "unix seconds, as a number or text; or an ISO-8601 date (midnight UTC) or date-time (UTC without an offset)" }),
        _ => textual_schema(scalar, constraints),
    }
}

fn int_schema(constraints: &Constraints) -> Json {
    let mut number = json!({ "type": "integer", "minimum": i64::MIN, "maximum": i64::MAX });
    add_number_constraints(&mut number, constraints);
    let text = if constraints.one_of.is_empty() {
        let pattern = match (constraints.min, constraints.max) {
            (None, None) => Some(INT_TEXT),
            (Some(0.0), None) => Some("^(0|[1-9][0-9]*)$"),
            (Some(1.0), None) => Some("^[1-9][0-9]*$"),
            _ => None,
        };
        match pattern {
            Some(p) => json!({ "type": "string", "pattern": p }),
            None => json!({ "type": "string", "pattern": INT_TEXT,
                "$comment": "the bounds are not checked for an int given as text" }),
        }
    } else {
        let texts: Vec<Json> = constraints
            .one_of
            .iter()
            .filter_map(|v| match v {
                Value::Int(i) => Some(json!(i.to_string())),
                _ => None,
            })
            .collect();
        json!({ "type": "string", "enum": texts })
    };
    json!({ "anyOf": [number, text] })
}

fn add_number_constraints(schema: &mut Json, constraints: &Constraints) {
    let object = schema.as_object_mut().expect("an object");
    if let Some(min) = constraints.min {
        object.insert("minimum".into(), number_json(min));
    }
    if let Some(max) = constraints.max {
        object.insert("maximum".into(), number_json(max));
    }
    if !constraints.one_of.is_empty() {
        let values: Vec<Json> = constraints.one_of.iter().map(value_json).collect();
        object.insert("enum".into(), Json::Array(values));
    }
}

/// Text types: a string passing Moodle's check for the type, or a JSON
/// number whose decimal text does.
fn textual_schema(scalar: ScalarType, constraints: &Constraints) -> Json {
    const PLUGIN: &str = "^([a-z][a-z0-9_]*[a-z0-9])?$";
    let (pattern, numbers, format): (Option<&str>, Numbers, Option<&str>) = match scalar {
        ScalarType::Alpha | ScalarType::Country => (Some("^[A-Za-z]*$"), Numbers::None, None),
        ScalarType::AlphaNum => (Some("^[A-Za-z0-9]*$"), Numbers::NonNegative, None),
        ScalarType::AlphaNumExt | ScalarType::SafeDir => (Some("^[A-Za-z0-9_-]*$"), Numbers::Any, None),
        ScalarType::Username => (Some("^[a-z0-9.@_-]+$"), Numbers::Any, None),
        ScalarType::Lang => (Some("^[a-z0-9_-]*$"), Numbers::Any, None),
        ScalarType::Plugin | ScalarType::Auth | ScalarType::Theme => (Some(PLUGIN), Numbers::None, None),
        ScalarType::Email => (None, Numbers::None, Some("email")),
        // PHP's trim(): no leading or trailing space, tab, line break, NUL, vertical tab.
        ScalarType::RawTrimmed => (
            Some("^([^ \\t\\n\\r\\x00\\x0B]([\\s\\S]*[^ \\t\\n\\r\\x00\\x0B])?)?$"),
            Numbers::Any,
            None,
        ),
        // Moodle strips tags: a '<' not followed by white space starts one.
        ScalarType::Text | ScalarType::NoTags => (Some("^([^<]|<\\s)*$"), Numbers::Any, None),
        ScalarType::Timezone | ScalarType::Raw | ScalarType::Password => (None, Numbers::Any, None),
        ScalarType::Int | ScalarType::Float | ScalarType::Bool | ScalarType::Timestamp => {
            unreachable!("not textual")
        }
    };
    let mut text = Map::new();
    text.insert("type".into(), json!("string"));
    if let Some(p) = pattern {
        text.insert("pattern".into(), json!(p));
    }
    if let Some(f) = format {
        text.insert("format".into(), json!(f));
    }
    add_text_constraints(&mut text, constraints);
    let numbers = if constraints.pattern.is_some()
        || !constraints.one_of.is_empty()
        || constraints.min_length.is_some_and(|m| m > 1)
    {
        Numbers::None
    } else {
        numbers
    };
    let mut schema = if numbers == Numbers::None {
        Json::Object(text)
    } else {
        // A JSON integer is sent as its decimal text: at most max_length characters.
        let digits = constraints.max_length.unwrap_or(usize::MAX).min(19);
        let mut integer = json!({ "type": "integer" });
        if digits < 19 {
            #[allow(clippy::cast_possible_truncation)]
            let largest = 10_i64.pow(digits as u32) - 1;
            integer["maximum"] = json!(largest);
            integer["minimum"] = match numbers {
                Numbers::Any if digits > 1 => json!(-(largest / 10)),
                _ => json!(0),
            };
        } else if numbers == Numbers::NonNegative {
            integer["minimum"] = json!(0);
        }
        json!({ "anyOf": [Json::Object(text), integer] })
    };
    if let Some(comment) = scalar_comment(scalar) {
        schema["$comment"] = json!(comment);
    }
    schema
}

/// What this schema leaves to `moodlec validate` for a scalar type.
fn scalar_comment(scalar: ScalarType) -> Option<&'static str> {
    Some(match scalar {
        ScalarType::Country => {
            "two letters from ISO 3166 are expected; Moodle accepts any letters (validate warns)"
        }
        ScalarType::Timezone => {
            "zone names (Europe/London), 99 and hour offsets are checked by moodlec validate only"
        }
        ScalarType::Email => {
            "Moodle's own address check (validate_email) is stricter than format email in places"
        }
        ScalarType::Text => {
            "well-formed multilang spans, which Moodle keeps, are accepted by validate but not here"
        }
        ScalarType::Plugin | ScalarType::Auth | ScalarType::Theme => {
            "plugin names: validate also refuses '__' inside the name"
        }
        ScalarType::Password => "the site password policy is checked by moodlec validate only",
        _ => return None,
    })
}

fn add_text_constraints(object: &mut Map<String, Json>, constraints: &Constraints) {
    if let Some(min) = constraints.min_length {
        object.insert("minLength".into(), json!(min));
    }
    if let Some(max) = constraints.max_length {
        object.insert("maxLength".into(), json!(max));
    }
    if let Some(pattern) = &constraints.pattern {
        // Our patterns match the whole value; JSON Schema's match anywhere.
        let full = format!("^(?:{})$", pattern.source);
        match object.get("pattern") {
            Some(existing) => {
                let type_pattern = existing.clone();
                object.insert(
                    "allOf".into(),
                    json!([{ "pattern": type_pattern }, { "pattern": full }]),
                );
                object.remove("pattern");
            }
            None => {
                object.insert("pattern".into(), json!(full));
            }
        }
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

/// The template's `rule`s as schema conditions (`allOf`), and a comment
/// naming those it cannot say and everything else left to `moodlec validate`.
fn rules_schema(template: &Template) -> (Vec<Json>, Vec<String>) {
    let mut conditions = Vec::new();
    let mut left = Vec::new();
    for rule in &template.rules {
        if rule.advisory {
            // A `warn rule`: Moodle accepts a record breaking it.
            continue;
        }
        match rule_condition(template, &rule.expr) {
            Ok(mut condition) => {
                condition["$comment"] = json!(format!("rule: {}", rule.expr));
                conditions.push(condition);
            }
            Err(why) => left.push(format!("rule `{}` ({why})", rule.expr)),
        }
    }
    if template.password_policy.is_some() {
        left.push("the site password policy".to_owned());
    }
    if !template.unique.is_empty() {
        left.push("unique keys across records".to_owned());
    }
    left.push("the max_input_vars budget of one record".to_owned());
    (conditions, left)
}

/// An untranslatable rule: why.
type Untranslatable = &'static str;

/// `expr` (a rule, true for a good record) as a schema over the record.
pub fn rule_condition(template: &Template, expr: &str) -> Result<Json, Untranslatable> {
    let tokens = tokenize(expr)?;
    let mut parser = RuleParser {
        template,
        tokens: &tokens,
        at: 0,
    };
    let condition = parser.or()?;
    if parser.at != tokens.len() {
        return Err("not a form the schema can say");
    }
    Ok(condition)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Int(i64),
    Punct(&'static str),
}

fn tokenize(expr: &str) -> Result<Vec<Tok>, Untranslatable> {
    let mut tokens = Vec::new();
    let mut chars = expr.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '(' | ')' | '[' | ']' | ',' | '|' => tokens.push(Tok::Punct(match c {
                '(' => "(",
                ')' => ")",
                '[' => "[",
                ']' => "]",
                ',' => ",",
                _ => "|",
            })),
            '=' | '!' => {
                if chars.next_if(|(_, n)| *n == '=').is_none() {
                    return Err("an operator the schema cannot say");
                }
                tokens.push(Tok::Punct(if c == '=' { "==" } else { "!=" }));
            }
            '\'' | '"' => {
                let mut text = String::new();
                loop {
                    match chars.next() {
                        Some((_, q)) if q == c => break,
                        Some((_, '\\')) | None => return Err("a string the schema cannot say"),
                        Some((_, other)) => text.push(other),
                    }
                }
                tokens.push(Tok::Str(text));
            }
            c if c.is_ascii_digit() => {
                let mut end = i + 1;
                while let Some((j, _)) = chars.next_if(|(_, d)| d.is_ascii_digit()) {
                    end = j + 1;
                }
                tokens.push(Tok::Int(expr[i..end].parse().map_err(|_| "a number too large")?));
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut end = i + 1;
                while let Some((j, _)) = chars.next_if(|(_, d)| d.is_ascii_alphanumeric() || *d == '_') {
                    end = j + 1;
                }
                tokens.push(Tok::Word(expr[i..end].to_owned()));
            }
            '<' | '>' => return Err("it orders two values (< >), which JSON Schema cannot say"),
            _ => return Err("an operator the schema cannot say"),
        }
    }
    Ok(tokens)
}

struct RuleParser<'a> {
    template: &'a Template,
    tokens: &'a [Tok],
    at: usize,
}

/// What an atom tests on one field's value.
enum Test {
    /// `is none` (negated: `is not none`).
    IsNone,
    /// `== literal`.
    Equals(Tok),
    /// `in [...]`.
    In(Vec<Tok>),
    /// `(F | trim) == ''`.
    Blank,
    /// The value as a condition.
    Truthy,
}

impl RuleParser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.at)
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        if self.peek() == Some(tok) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn word(&mut self, word: &str) -> bool {
        self.eat(&Tok::Word(word.to_owned()))
    }

    fn or(&mut self) -> Result<Json, Untranslatable> {
        let mut terms = vec![self.and()?];
        while self.word("or") {
            terms.push(self.and()?);
        }
        Ok(if terms.len() == 1 {
            terms.swap_remove(0)
        } else {
            json!({ "anyOf": terms })
        })
    }

    fn and(&mut self) -> Result<Json, Untranslatable> {
        let mut terms = vec![self.unary()?];
        while self.word("and") {
            terms.push(self.unary()?);
        }
        Ok(if terms.len() == 1 {
            terms.swap_remove(0)
        } else {
            json!({ "allOf": terms })
        })
    }

    fn unary(&mut self) -> Result<Json, Untranslatable> {
        if self.peek() == Some(&Tok::Word("not".to_owned())) {
            // A rule that cannot be evaluated (`none | trim`) fails, negated or
            // not: only the atoms below say it; `not` over them would not.
            return Err("a `not` before an expression (write the negated test, e.g. `is not none`)");
        }
        // `(F | trim) ==/!= ''`
        if let [Tok::Punct("("), Tok::Word(name), Tok::Punct("|"), Tok::Word(filter), Tok::Punct(")"), Tok::Punct(op @ ("==" | "!=")), Tok::Str(empty), ..] =
            &self.tokens[self.at..]
        {
            if filter != "trim" || !empty.is_empty() {
                return Err("a filter the schema cannot say");
            }
            let (name, negated) = (name.clone(), *op == "!=");
            self.at += 7;
            return self.atom(&name, &Test::Blank, negated);
        }
        if self.eat(&Tok::Punct("(")) {
            let inner = self.or()?;
            if !self.eat(&Tok::Punct(")")) {
                return Err("unbalanced parentheses");
            }
            return Ok(inner);
        }
        let Some(Tok::Word(name)) = self.peek().cloned() else {
            return Err("not a form the schema can say");
        };
        self.at += 1;
        if self.word("is") {
            let negated = self.word("not");
            if !self.word("none") {
                return Err("a test the schema cannot say");
            }
            return self.atom(&name, &Test::IsNone, negated);
        }
        let negated = self.word("not");
        if self.word("in") {
            if !self.eat(&Tok::Punct("[")) {
                return Err("`in` something other than a list");
            }
            let mut items = Vec::new();
            while !self.eat(&Tok::Punct("]")) {
                match self.peek().cloned() {
                    Some(item @ (Tok::Str(_) | Tok::Int(_))) => items.push(item),
                    _ => return Err("a list the schema cannot say"),
                }
                self.at += 1;
                self.eat(&Tok::Punct(","));
            }
            return self.atom(&name, &Test::In(items), negated);
        }
        if negated {
            return Err("not a form the schema can say");
        }
        match self.peek().cloned() {
            Some(Tok::Punct(op @ ("==" | "!="))) => {
                self.at += 1;
                match self.peek().cloned() {
                    Some(literal @ (Tok::Str(_) | Tok::Int(_))) => {
                        self.at += 1;
                        self.atom(&name, &Test::Equals(literal), op == "!=")
                    }
                    _ => Err("a comparison of two fields, which JSON Schema cannot say"),
                }
            }
            _ => self.atom(&name, &Test::Truthy, false),
        }
    }

    /// `test` on field `name` as a schema over the record: either the field
    /// is absent (its default, or none, decides) or present and its raw JSON
    /// value passes.
    fn atom(&self, name: &str, test: &Test, negated: bool) -> Result<Json, Untranslatable> {
        let field = self
            .template
            .fields
            .iter()
            .find(|f| f.name == name)
            .ok_or("it reads something other than the record's fields")?;
        let default = match &field.default {
            None => None,
            Some(DefaultValue::Value(value)) => Some(value),
            Some(DefaultValue::Param(_)) => return Err("it reads a field whose default is a param"),
        };
        // When absent: a required field without a default makes the record
        // invalid anyway, so the rule's answer does not matter.
        // A test that cannot be evaluated (`none | trim`) fails the rule.
        let when_absent = match default {
            _ if default.is_none() && field.required => false,
            value => static_test(test, value).is_some_and(|passed| passed != negated),
        };
        let present = match (present_test(&field.ty, test)?, negated) {
            (Json::Bool(passed), negated) => Json::Bool(passed != negated),
            (present, true) => json!({ "not": present }),
            (present, false) => present,
        };
        let present = json!({
            "required": [name],
            "properties": { name: { "allOf": [{ "not": { "type": "null" } }, present] } },
        });
        Ok(if when_absent {
            json!({ "anyOf": [
                { "not": { "required": [name], "properties": { name: { "not": { "type": "null" } } } } },
                present,
            ] })
        } else {
            present
        })
    }
}

/// The test on a value known when the schema is built (a default, or none);
/// `None` where minijinja cannot evaluate it (`none | trim`).
fn static_test(test: &Test, value: Option<&Value>) -> Option<bool> {
    let literal = |tok: &Tok| match tok {
        Tok::Str(s) => Some(Value::Str(s.clone())),
        Tok::Int(i) => Some(Value::Int(*i)),
        _ => None,
    };
    Some(match (test, value) {
        (Test::IsNone, value) => value.is_none(),
        (Test::Equals(tok), value) => value.is_some() && value.cloned() == literal(tok),
        (Test::In(items), Some(value)) => items.iter().any(|t| literal(t).as_ref() == Some(value)),
        (Test::In(_), None) => false,
        (Test::Truthy, None) => false,
        (Test::Truthy, Some(value)) => match value {
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
        },
        (Test::Blank, Some(Value::Str(s))) => s.trim().is_empty(),
        (Test::Blank, _) => return None,
    })
}

/// The test on a present value, as a schema on the field's raw JSON value
/// (which the field's own schema has already checked).
fn present_test(ty: &FieldType, test: &Test) -> Result<Json, Untranslatable> {
    let textual = matches!(ty, FieldType::Enum(_)) || matches!(ty, FieldType::Scalar(s) if s.is_textual());
    let int = matches!(ty, FieldType::Scalar(ScalarType::Int));
    // The raw JSON forms of one literal for this field's type.
    let forms = |tok: &Tok| -> Result<Vec<Json>, Untranslatable> {
        match (tok, textual, int) {
            // A number sent to a text field becomes its decimal text.
            (Tok::Str(s), true, _) => Ok(match s.parse::<i64>() {
                Ok(n) if n.to_string() == *s => vec![json!(s), json!(n)],
                _ => vec![json!(s)],
            }),
            (Tok::Int(i), false, true) => Ok(vec![json!(i), json!(i.to_string())]),
            _ => Err(
                "it compares a value the schema cannot match in all its written forms (a timestamp, a float)",
            ),
        }
    };
    Ok(match test {
        Test::IsNone => json!(false),
        Test::Equals(tok) => json!({ "enum": forms(tok)? }),
        Test::In(items) => {
            let mut all = Vec::new();
            for item in items {
                all.extend(forms(item)?);
            }
            json!({ "enum": all })
        }
        Test::Blank if textual => json!({ "type": "string", "pattern": "^\\s*$" }),
        Test::Blank => return Err("it trims a value that is not text"),
        Test::Truthy => match ty {
            FieldType::Scalar(ScalarType::Bool) => json!({ "anyOf": [
                { "const": true },
                { "const": 1 },
                { "type": "string", "pattern": "^(1|[Tt][Rr][Uu][Ee])$" },
            ] }),
            _ if textual => json!({ "not": { "const": "" } }),
            _ => {
                return Err("it tests the truth of a value the schema cannot match in all its written forms")
            }
        },
    })
}
