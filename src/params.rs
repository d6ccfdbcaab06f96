//! Endpoint-level params: template defaults overridden by `--set NAME=VALUE`.

use std::fmt;

use crate::check::{resolve_param_value, suggestion};
use crate::syntax::ast::LiteralValue;
use crate::template::{Template, Value};

/// The value of every param of a template that has one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParamValues {
    values: Vec<(String, Value)>,
}

impl ParamValues {
    /// The value of param `name`, if set or defaulted.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// All values, in declaration order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.values.iter().map(|(n, v)| (n.as_str(), v))
    }
}

/// A `--set` that cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError {
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParamError {}

/// Split `NAME=VALUE` from the command line.
///
/// # Errors
/// When there is no `=` or the name is empty.
pub fn parse_assignment(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => Ok((name.trim().to_owned(), value.to_owned())),
        _ => Err(format!("expected NAME=VALUE, found {text:?}")),
    }
}

/// The params of `template` with `overrides` applied over their defaults.
///
/// # Errors
/// An override naming no param, or a value that does not fit the param's type.
pub fn resolve(template: &Template, overrides: &[(String, String)]) -> Result<ParamValues, ParamError> {
    let mut values: Vec<(String, Value)> = template
        .params
        .iter()
        .filter_map(|p| p.default.clone().map(|v| (p.name.clone(), v)))
        .collect();
    for (name, text) in overrides {
        let Some(param) = template.param(name) else {
            let names: Vec<&str> = template.params.iter().map(|p| p.name.as_str()).collect();
            return Err(ParamError {
                message: format!("template `{}` has no param `{name}`", template.name),
                help: suggestion(name, &names).or_else(|| Some("it has no params".to_owned())),
            });
        };
        let literal = if text.parse::<f64>().is_ok() {
            LiteralValue::Number(text.clone())
        } else {
            LiteralValue::Str(text.clone())
        };
        let value = resolve_param_value(param.ty, &literal).map_err(|(_, label, help)| ParamError {
            message: format!("--set {name}={text}: {label}"),
            help: Some(help),
        })?;
        values.retain(|(n, _)| n != name);
        values.push((name.clone(), value));
    }
    Ok(ParamValues { values })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin;

    fn enrol() -> &'static Template {
        builtin::catalog()
            .get("enrol_users")
            .expect("built-in enrol_users")
    }

    #[test]
    fn roleid_defaults_to_student() {
        let values = resolve(enrol(), &[]).unwrap();
        assert_eq!(values.get("roleid"), Some(&Value::Int(5)));
    }

    #[test]
    fn roles_are_set_by_name_or_id() {
        let set = |v: &str| resolve(enrol(), &[("roleid".to_owned(), v.to_owned())]);
        assert_eq!(set("teacher").unwrap().get("roleid"), Some(&Value::Int(4)));
        assert_eq!(set("3").unwrap().get("roleid"), Some(&Value::Int(3)));
        assert!(set("headmaster").is_err());
    }

    #[test]
    fn noneditingteacher_is_moodles_teacher_never_the_editing_one() {
        let set = |v: &str| resolve(enrol(), &[("roleid".to_owned(), v.to_owned())]);
        assert_eq!(
            set("noneditingteacher").unwrap().get("roleid"),
            Some(&Value::Int(4))
        );
        assert_eq!(
            set("Non-editing teacher").unwrap().get("roleid"),
            Some(&Value::Int(4))
        );
        assert_eq!(set("editingteacher").unwrap().get("roleid"), Some(&Value::Int(3)));
        let typo = set("noneditngteacher").unwrap_err();
        let help = typo.help.unwrap_or_default();
        assert!(help.starts_with("did you mean `teacher`?"), "{help}");
    }

    #[test]
    fn unknown_params_are_errors_with_suggestions() {
        let error = resolve(enrol(), &[("rolid".to_owned(), "5".to_owned())]).unwrap_err();
        assert_eq!(error.help.as_deref(), Some("did you mean `roleid`?"));
    }
}
