//! The catalogue of Moodle 4.5's web-service functions: the shape of every
//! function's parameters and answer, as Moodle describes them.
//!
//! Pure data: the catalogue file (`moodle-4.5-functions.ndjson`, see the
//! README beside it) is embedded at build time and parsed once, on first use.
//! It holds shapes only (kinds, PARAM types, required, defaults), never
//! Moodle's description strings. `check` compares templates with it and
//! [`generate`] writes a template from it (`moodlec new`).

pub mod generate;

use std::fmt;
use std::sync::LazyLock;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

/// The embedded catalogue, one JSON object per line.
const CATALOGUE: &str = include_str!("moodle-4.5-functions.ndjson");

/// The Moodle release the catalogue describes.
pub const MOODLE_RELEASE: &str = "4.5";

static FUNCTIONS: LazyLock<Vec<Function>> = LazyLock::new(|| {
    CATALOGUE
        .lines()
        .filter(|line| !line.trim().is_empty())
        // The file is part of the build and a test parses every line: a bad
        // line is a bug in the repository, not an input error.
        .map(|line| serde_json::from_str(line).expect("the embedded catalogue parses"))
        .collect()
});

/// Every catalogued function, sorted by name.
pub fn functions() -> &'static [Function] {
    &FUNCTIONS
}

/// The function called `name`.
pub fn function(name: &str) -> Option<&'static Function> {
    let all = functions();
    all.binary_search_by(|f| f.name.as_str().cmp(name))
        .ok()
        .map(|i| &all[i])
}

/// Every function name, for suggestions.
pub fn names() -> Vec<&'static str> {
    functions().iter().map(|f| f.name.as_str()).collect()
}

/// One web-service function.
#[derive(Debug, Clone, Deserialize)]
pub struct Function {
    /// `core_user_create_users`
    pub name: String,
    /// The component it belongs to (`moodle` for core).
    pub component: String,
    /// Whether it reads or writes.
    #[serde(rename = "type")]
    pub kind: FunctionKind,
    /// Its parameters: always an object whose keys are the parameters.
    pub params: Shape,
    /// Its answer; `None` when it answers `null`.
    pub returns: Option<Shape>,
}

impl Function {
    /// The parameters, in Moodle's order.
    pub fn parameters(&self) -> &[(String, Shape)] {
        match &self.params {
            Shape::Object(object) => &object.keys,
            Shape::Value(_) | Shape::List(_) => &[],
        }
    }

    /// The parameter called `name`.
    pub fn parameter(&self, name: &str) -> Option<&Shape> {
        self.parameters().iter().find(|(n, _)| n == name).map(|(_, s)| s)
    }
}

/// Read or write (Moodle's `type` of the function).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FunctionKind {
    /// Reads only.
    Read,
    /// Changes the site.
    Write,
}

/// Whether a key must be given: Moodle's `VALUE_*` constant.
///
/// Moodle defines (lib/external/classes/external_value.php, lib/externallib.php):
/// `VALUE_REQUIRED = 1`, `VALUE_OPTIONAL = 2`, `VALUE_DEFAULT = 0`. The catalogue
/// holds those numbers as they are (moodle-ws.md §7 has the last two swapped:
/// the catalogue's own data, such as `auth` of core_user_create_users being `0`
/// with the default `"manual"`, shows Moodle's meaning).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// `VALUE_REQUIRED` (1): a call without it is refused.
    Required,
    /// `VALUE_OPTIONAL` (2): may be left out.
    Optional,
    /// `VALUE_DEFAULT` (0): may be left out; Moodle then uses the default.
    Default,
}

impl Presence {
    fn from_constant(value: i64) -> Option<Presence> {
        match value {
            1 => Some(Presence::Required),
            2 => Some(Presence::Optional),
            0 => Some(Presence::Default),
            _ => None,
        }
    }

    /// Whether a call must carry the key.
    pub fn is_required(self) -> bool {
        self == Presence::Required
    }
}

impl<'de> Deserialize<'de> for Presence {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = i64::deserialize(deserializer)?;
        Presence::from_constant(value)
            .ok_or_else(|| de::Error::custom(format!("unknown VALUE_* constant {value}")))
    }
}

/// A shape of Moodle's parameter or return description.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Shape {
    /// `external_value`: one scalar.
    Value(ValueShape),
    /// `external_single_structure`: named keys.
    Object(ObjectShape),
    /// `external_multiple_structure`: a list of one shape.
    List(ListShape),
}

impl Shape {
    /// Whether the key must be given.
    pub fn presence(&self) -> Presence {
        match self {
            Shape::Value(v) => v.required,
            Shape::Object(o) => o.required,
            Shape::List(l) => l.required,
        }
    }

    /// `value`, `object` or `list`, as the catalogue names kinds.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Shape::Value(_) => "value",
            Shape::Object(_) => "object",
            Shape::List(_) => "list",
        }
    }

    /// The shape in words, for messages: `a value (PARAM_INT)`, `a list of records`.
    pub fn describe(&self) -> String {
        match self {
            Shape::Value(v) => format!("a single value (PARAM_{})", v.ty.to_uppercase()),
            Shape::Object(_) => "a single structure (object)".to_owned(),
            Shape::List(list) => match &*list.content {
                Shape::Value(v) => format!("a list of plain values (PARAM_{})", v.ty.to_uppercase()),
                Shape::Object(_) => "a list of records".to_owned(),
                Shape::List(_) => "a list of lists".to_owned(),
            },
        }
    }
}

/// `external_value`.
#[derive(Debug, Clone, Deserialize)]
pub struct ValueShape {
    /// The PARAM type in lower case: `int`, `raw`, `alphanumext`, ...
    #[serde(rename = "type")]
    pub ty: String,
    /// Required, optional or defaulted.
    pub required: Presence,
    /// The default (with [`Presence::Default`]).
    #[serde(default)]
    pub default: Option<serde_json::Value>,
    /// Whether `null` is accepted.
    #[serde(default)]
    pub allownull: bool,
}

/// `external_single_structure`.
#[derive(Debug, Clone, Deserialize)]
pub struct ObjectShape {
    /// Required, optional or defaulted.
    pub required: Presence,
    /// Its keys, in Moodle's order.
    #[serde(deserialize_with = "ordered_keys")]
    pub keys: Vec<(String, Shape)>,
}

impl ObjectShape {
    /// The key called `name`.
    pub fn key(&self, name: &str) -> Option<&Shape> {
        self.keys.iter().find(|(n, _)| n == name).map(|(_, s)| s)
    }
}

/// `external_multiple_structure`.
#[derive(Debug, Clone, Deserialize)]
pub struct ListShape {
    /// Required, optional or defaulted.
    pub required: Presence,
    /// The shape of each element.
    pub content: Box<Shape>,
}

/// An object's keys in file order; PHP writes an empty one as `[]`.
fn ordered_keys<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<(String, Shape)>, D::Error> {
    struct Keys;
    impl<'de> Visitor<'de> for Keys {
        type Value = Vec<(String, Shape)>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an object of shapes (or [] for none)")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut keys = Vec::new();
            while let Some((name, shape)) = map.next_entry::<String, Shape>()? {
                keys.push((name, shape));
            }
            Ok(keys)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            match seq.next_element::<serde_json::Value>()? {
                None => Ok(Vec::new()),
                Some(_) => Err(de::Error::custom("a non-empty list where keys were expected")),
            }
        }
    }
    deserializer.deserialize_any(Keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_parses_and_names_are_sorted_and_unique() {
        let all = functions();
        assert_eq!(all.len(), 757);
        assert!(all.windows(2).all(|w| w[0].name < w[1].name));
        assert_eq!(all.iter().filter(|f| f.kind == FunctionKind::Write).count(), 372);
        assert!(all.iter().all(|f| matches!(f.params, Shape::Object(_))));
    }

    #[test]
    fn presence_follows_moodles_constants() {
        let create = function("core_user_create_users").unwrap();
        let Some(Shape::List(users)) = create.parameter("users") else {
            panic!("users is a list")
        };
        let Shape::Object(user) = &*users.content else {
            panic!("of records")
        };
        let value = |name: &str| match user.key(name) {
            Some(Shape::Value(v)) => v.clone(),
            other => panic!("{name}: {other:?}"),
        };
        assert_eq!(value("username").required, Presence::Required);
        assert_eq!(value("auth").required, Presence::Default);
        assert_eq!(value("auth").default, Some(serde_json::json!("manual")));
        assert_eq!(value("password").required, Presence::Optional);
        assert!(function("local_nothing_here").is_none());
    }
}
