//! Parameter descriptions and `external_api::validate_parameters`
//! (moodle-ws.md 1.5, 1.6): the whole request is checked against the
//! function's declared structure before the function runs.
//!
//! Scalar checks reuse moodlec's own port of Moodle's PARAM cleaning
//! (`moodlec::moodle::params`). That port is also what the code under test
//! uses to pre-validate records, so a bug in it would be shared by client
//! and simulator and go unnoticed here; the behaviour tests pin the
//! important cases against moodle-ws.md instead.

use moodlec::moodle::params;

use super::config::SiteConfig;
use super::php_input::{Key, PhpArray, PhpValue};

/// The PARAM_* types the simulated functions declare. The name is the
/// constant's string value, as shown in debuginfo (1.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamType {
    Int,
    Bool,
    Float,
    Component,
    Raw,
    RawTrimmed,
    Text,
    Notags,
    Alpha,
    Alphanum,
    Alphanumext,
    Safedir,
    Sequence,
    Plugin,
    Username,
    Auth,
    Lang,
    Theme,
    Timezone,
}

impl ParamType {
    pub fn name(self) -> &'static str {
        match self {
            ParamType::Int => "int",
            ParamType::Bool => "bool",
            ParamType::Float => "float",
            ParamType::Component => "component",
            ParamType::Raw => "raw",
            ParamType::RawTrimmed => "raw_trimmed",
            ParamType::Text => "text",
            ParamType::Notags => "notags",
            ParamType::Alpha => "alpha",
            ParamType::Alphanum => "alphanum",
            ParamType::Alphanumext => "alphanumext",
            ParamType::Safedir => "safedir",
            ParamType::Sequence => "sequence",
            ParamType::Plugin => "plugin",
            ParamType::Username => "username",
            ParamType::Auth => "auth",
            ParamType::Lang => "lang",
            ParamType::Theme => "theme",
            ParamType::Timezone => "timezone",
        }
    }

    /// Strict validation: the value is already what cleaning would make of
    /// it (3.1). Site-dependent types (auth, lang, theme) clean anything not
    /// installed to '', so they accept '' and the installed names.
    pub fn accepts(self, s: &str, site: &SiteConfig) -> bool {
        let installed = |list: &[String]| s.is_empty() || list.iter().any(|x| x == s);
        match self {
            ParamType::Int => params::int(s).is_ok(),
            // validate_parameters special-cases PARAM_BOOL: only 0/1 (1.2).
            ParamType::Bool => s == "0" || s == "1",
            ParamType::Float => params::float(s).is_ok(),
            ParamType::Component => is_component(s),
            ParamType::Raw => params::raw(s).is_ok(),
            ParamType::RawTrimmed => params::raw_trimmed(s).is_ok(),
            ParamType::Text => params::text(s).is_ok(),
            ParamType::Notags => params::notags(s).is_ok(),
            ParamType::Alpha => params::alpha(s).is_ok(),
            ParamType::Alphanum => params::alphanum(s).is_ok(),
            ParamType::Alphanumext => params::alphanumext(s).is_ok(),
            ParamType::Safedir => params::safedir(s).is_ok(),
            ParamType::Sequence => params::sequence(s).is_ok(),
            ParamType::Plugin => params::plugin(s).is_ok(),
            // Strict PARAM_USERNAME only asks that cleaning (trim, lowercase,
            // drop characters outside [-.@_a-z0-9]) changes nothing, so ''
            // and overlong names pass here; create_users rejects a blank
            // name and the database an overlong one (2.1). moodlec's
            // params::username adds those two rules, so it is not used here.
            ParamType::Username => s.chars().all(is_username_char),
            ParamType::Auth => installed(&site.auth_plugins),
            ParamType::Lang => installed(&site.langs),
            ParamType::Theme => installed(&site.themes),
            ParamType::Timezone => params::timezone(s).is_ok(),
        }
    }
}

/// PARAM_COMPONENT: `type_name` frankenstyle (`mod_assign`, `core`,
/// `core_grades`): lowercase letters, digits and underscores, starting with
/// a letter, no double underscore, not ending with one ('' is accepted).
fn is_component(s: &str) -> bool {
    s.is_empty()
        || (s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && !s.contains("__")
            && !s.ends_with('_'))
}

/// Characters PARAM_USERNAME keeps with `extendedusernamechars` off (3.3).
pub fn is_username_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.' | '@' | '_')
}

/// `external_value`, `external_single_structure`, `external_multiple_structure`.
#[derive(Clone, Debug)]
pub enum Desc {
    Value(ParamType),
    Single(Vec<Field>),
    Multiple(Box<Desc>),
}

/// VALUE_REQUIRED, VALUE_OPTIONAL or VALUE_DEFAULT.
#[derive(Clone, Debug)]
pub enum Presence {
    Required,
    Optional,
    /// A scalar default, itself validated when used.
    Default(String),
    /// A list defaulting to `[]`.
    DefaultEmpty,
}

#[derive(Clone, Debug)]
pub struct Field {
    pub name: &'static str,
    pub desc: Desc,
    pub presence: Presence,
}

pub fn value(t: ParamType) -> Desc {
    Desc::Value(t)
}

pub fn single(fields: Vec<Field>) -> Desc {
    Desc::Single(fields)
}

pub fn list(content: Desc) -> Desc {
    Desc::Multiple(Box::new(content))
}

pub fn required(name: &'static str, desc: Desc) -> Field {
    Field {
        name,
        desc,
        presence: Presence::Required,
    }
}

pub fn optional(name: &'static str, desc: Desc) -> Field {
    Field {
        name,
        desc,
        presence: Presence::Optional,
    }
}

pub fn default(name: &'static str, desc: Desc, default: &str) -> Field {
    Field {
        name,
        desc,
        presence: Presence::Default(default.to_string()),
    }
}

pub fn default_empty(name: &'static str, desc: Desc) -> Field {
    Field {
        name,
        desc,
        presence: Presence::DefaultEmpty,
    }
}

/// `validate_parameters`: the cleaned value (declared keys only, defaults
/// filled in), or the debuginfo of the invalid_parameter_exception.
pub fn validate(desc: &Desc, value: &PhpValue, site: &SiteConfig) -> Result<PhpValue, String> {
    match desc {
        Desc::Value(t) => validate_scalar(*t, value, site),
        Desc::Single(fields) => validate_single(fields, value, site),
        Desc::Multiple(content) => {
            let items = expect_array(value)?;
            let mut result = PhpArray::new();
            for item in items.values() {
                result.push(validate(content, item, site)?);
            }
            Ok(PhpValue::Array(result))
        }
    }
}

fn validate_scalar(t: ParamType, value: &PhpValue, site: &SiteConfig) -> Result<PhpValue, String> {
    let accepted = match value {
        PhpValue::Array(_) => return Err("Scalar type expected, array or object received.".to_string()),
        PhpValue::Str(s) => t.accepts(s, site),
        // Not UTF-8: fix_utf8 would change it, so no type accepts it.
        PhpValue::Bytes(_) => false,
    };
    if accepted {
        Ok(value.clone())
    } else {
        Err(format!(
            "Invalid external api parameter: the value is \"{}\", the server was expecting \"{}\" type",
            value.display(),
            t.name()
        ))
    }
}

fn validate_single(fields: &[Field], value: &PhpValue, site: &SiteConfig) -> Result<PhpValue, String> {
    let given = expect_array(value)?;
    let mut result = PhpArray::new();
    for field in fields {
        let checked = match (given.get(field.name), &field.presence) {
            (Some(v), _) => validate(&field.desc, v, site),
            (None, Presence::Required) => {
                return Err(format!(
                    "Missing required key in single structure: {}",
                    field.name
                ))
            }
            (None, Presence::Optional) => continue,
            (None, Presence::Default(d)) => validate(&field.desc, &PhpValue::Str(d.clone()), site),
            (None, Presence::DefaultEmpty) => validate(&field.desc, &PhpValue::Array(PhpArray::new()), site),
        };
        // Each enclosing structure prefixes the key and the generic message (1.6).
        let checked = checked
            .map_err(|inner| format!("{} => Invalid parameter value detected: {inner}", field.name))?;
        result.insert(Key::Str(field.name.to_string()), checked);
    }
    let unexpected: Vec<String> = given
        .iter()
        .map(|(k, _)| k)
        .filter(|k| !fields.iter().any(|f| Key::from_name(f.name) == **k))
        .map(Key::to_string)
        .collect();
    if !unexpected.is_empty() {
        return Err(format!(
            "Unexpected keys ({}) detected in parameter array.",
            unexpected.join(", ")
        ));
    }
    Ok(PhpValue::Array(result))
}

fn expect_array(value: &PhpValue) -> Result<&PhpArray, String> {
    value
        .as_array()
        .ok_or_else(|| format!("Only arrays accepted. The bad value is: '{}'", value.display()))
}

/// Read access to a validated structure.
#[derive(Clone, Copy, Debug)]
pub struct Rec<'a>(pub &'a PhpArray);

impl<'a> Rec<'a> {
    pub fn str(self, name: &str) -> Option<&'a str> {
        self.0.get(name).and_then(PhpValue::as_str)
    }

    /// A declared-required or defaulted string: present after validation.
    pub fn text(self, name: &str) -> &'a str {
        self.str(name).unwrap_or_default()
    }

    /// An INT field (validated, so it parses).
    pub fn int(self, name: &str) -> Option<i64> {
        self.str(name).and_then(|s| s.parse().ok())
    }

    /// A BOOL field: "1" is true.
    pub fn flag(self, name: &str) -> bool {
        self.str(name) == Some("1")
    }

    /// The structures of a list field (empty when absent).
    pub fn list(self, name: &str) -> Vec<Rec<'a>> {
        self.0
            .get(name)
            .and_then(PhpValue::as_array)
            .map(|a| a.values().filter_map(PhpValue::as_array).map(Rec).collect())
            .unwrap_or_default()
    }

    /// The scalars of a list field.
    pub fn strings(self, name: &str) -> Vec<&'a str> {
        self.0
            .get(name)
            .and_then(PhpValue::as_array)
            .map(|a| a.values().filter_map(PhpValue::as_str).collect())
            .unwrap_or_default()
    }

    /// `{type|name|shortname, value}` pairs of customfields/preferences.
    pub fn pairs(self, name: &str, key: &str) -> Vec<(String, String)> {
        self.list(name)
            .into_iter()
            .map(|r| (r.text(key).to_string(), r.text("value").to_string()))
            .collect()
    }
}
