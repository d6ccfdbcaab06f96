//! Constants written in templates (defaults, `set`, `one_of`, params), typed.

use crate::syntax::ast::{Literal, LiteralValue};
use crate::template::{FieldType, ScalarType, Value};
use crate::value::check_scalar_text;

/// Why a literal does not fit a type.
#[derive(Debug)]
pub(crate) struct LiteralError {
    pub(crate) message: String,
    pub(crate) help: Option<String>,
}

impl LiteralError {
    fn new(message: impl Into<String>) -> Self {
        LiteralError {
            message: message.into(),
            help: None,
        }
    }

    fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// The typed value of `lit` for a field of type `ty`.
pub(crate) fn literal_value(lit: &Literal, ty: &FieldType) -> Result<Value, LiteralError> {
    match ty {
        FieldType::Scalar(scalar) => scalar_value(&lit.value, *scalar),
        FieldType::Enum(values) => {
            let text = text_of(&lit.value).ok_or_else(|| {
                LiteralError::new(format!(
                    "expected one of the enum's values, found {}",
                    kind(&lit.value)
                ))
                .help(format!("allowed: {}", values.join(", ")))
            })?;
            if values.iter().any(|v| v == text) {
                Ok(Value::Str(text.to_owned()))
            } else {
                Err(
                    LiteralError::new(format!("{text:?} is not one of the enum's values"))
                        .help(format!("allowed: {}", values.join(", "))),
                )
            }
        }
        FieldType::List(_) | FieldType::Object(_) | FieldType::Values(_) => Err(LiteralError::new(format!(
            "a field of type `{ty}` cannot have a constant value"
        ))
        .help("structures come from the data (or a map giving JSON); defaults go on the fields inside an object")),
    }
}

/// The typed value of a literal for a scalar type.
pub(crate) fn scalar_value(lit: &LiteralValue, ty: ScalarType) -> Result<Value, LiteralError> {
    match ty {
        ScalarType::Int | ScalarType::Timestamp => match lit {
            LiteralValue::Number(n) => n.parse::<i64>().map(Value::Int).map_err(|_| {
                LiteralError::new(format!("{n} is not a whole number that fits 64 bits")).help(format!(
                    "`{}` takes whole numbers from {} to {}",
                    ty.name(),
                    i64::MIN,
                    i64::MAX
                ))
            }),
            _ => Err(
                LiteralError::new(format!("expected a whole number, found {}", kind(lit))).help(format!(
                    "`{}` takes a whole number without quotes, e.g. 0 or 1",
                    ty.name()
                )),
            ),
        },
        ScalarType::Float => match lit {
            LiteralValue::Number(n) => n
                .parse::<f64>()
                .map(Value::Float)
                .map_err(|_| LiteralError::new(format!("{n} is not a number"))),
            _ => Err(
                LiteralError::new(format!("expected a number, found {}", kind(lit)))
                    .help("`float` takes a number without quotes, e.g. 2.5"),
            ),
        },
        ScalarType::Bool => match lit {
            LiteralValue::Bool(b) => Ok(Value::Bool(*b)),
            LiteralValue::Number(n) if n == "0" || n == "1" => Ok(Value::Bool(n == "1")),
            _ => Err(
                LiteralError::new(format!("expected true or false, found {}", kind(lit)))
                    .help("`bool` takes `true` or `false` (or 1 or 0), without quotes"),
            ),
        },
        _ => {
            let text = match lit {
                LiteralValue::Str(s) | LiteralValue::Word(s) | LiteralValue::Number(s) => s.clone(),
                LiteralValue::Bool(_) => {
                    return Err(LiteralError::new(format!(
                        "expected text for type {}, found a boolean",
                        ty.name()
                    ))
                    .help("put text in double quotes: \"true\""))
                }
            };
            match check_scalar_text(ty, &text) {
                Ok(()) => Ok(Value::Str(text)),
                Err(rejection) => {
                    let error = LiteralError::new(rejection.message);
                    Err(match rejection.cleaned {
                        Some(cleaned) => error.help(format!("Moodle would accept {cleaned:?}")),
                        None => error.help(format!("`{}`: {}", ty.name(), ty.description())),
                    })
                }
            }
        }
    }
}

/// A literal used as a numeric bound.
pub(crate) fn number(lit: &Literal) -> Result<f64, LiteralError> {
    match &lit.value {
        LiteralValue::Number(n) => n
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .ok_or_else(|| LiteralError::new(format!("{n} is not a usable number"))),
        other => Err(LiteralError::new(format!(
            "expected a number, found {}",
            kind(other)
        ))),
    }
}

fn text_of(lit: &LiteralValue) -> Option<&str> {
    match lit {
        LiteralValue::Str(s) | LiteralValue::Word(s) => Some(s),
        _ => None,
    }
}

fn kind(lit: &LiteralValue) -> String {
    match lit {
        LiteralValue::Str(s) => format!("the string {s:?}"),
        LiteralValue::Number(n) => format!("the number {n}"),
        LiteralValue::Bool(b) => format!("`{b}`"),
        LiteralValue::Word(w) => format!("the word `{w}`"),
    }
}
