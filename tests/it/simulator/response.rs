//! What Moodle's REST server sends back (moodle-ws.md 1.3, 1.4): HTTP 200
//! for successes and errors alike; errors as `{exception, errorcode,
//! message, debuginfo}` with `debuginfo` only when debugging is on; bodies
//! encoded the way PHP's `json_encode` does it (`\/`, `\uXXXX`).

use serde_json::{Map, Value};

/// The class names Moodle 4.5 reports (observed, moodle-ws.md 6): core
/// exceptions are namespaced since 4.4, the web-service and DML ones not.
pub mod class {
    pub const MOODLE: &str = "core\\exception\\moodle_exception";
    pub const INVALID_PARAMETER: &str = "core\\exception\\invalid_parameter_exception";
    pub const INVALID_RESPONSE: &str = "core\\exception\\invalid_response_exception";
    pub const CODING: &str = "core\\exception\\coding_exception";
    pub const ACCESS: &str = "webservice_access_exception";
    pub const MISSING_RECORD: &str = "dml_missing_record_exception";
    pub const WRITE: &str = "dml_write_exception";
    pub const TYPE_ERROR: &str = "TypeError";
}

/// A PHP exception as the REST server reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct WsError {
    pub exception: &'static str,
    /// `None` for PHP errors such as TypeError, which have no errorcode.
    pub errorcode: Option<String>,
    pub message: String,
    pub debuginfo: Option<String>,
}

impl WsError {
    pub fn new(exception: &'static str, errorcode: &str, message: &str, debuginfo: Option<String>) -> Self {
        WsError {
            exception,
            errorcode: Some(errorcode.to_string()),
            message: message.to_string(),
            debuginfo,
        }
    }

    /// `moodle_exception` with a language string.
    pub fn moodle(errorcode: &str, message: &str) -> Self {
        WsError::new(class::MOODLE, errorcode, message, None)
    }

    /// `invalid_parameter_exception`: the reason is only in debuginfo.
    pub fn invalid_parameter(debuginfo: impl Into<String>) -> Self {
        WsError::new(
            class::INVALID_PARAMETER,
            "invalidparameter",
            "Invalid parameter value detected",
            Some(debuginfo.into()),
        )
    }

    /// `invalid_response_exception` (1.3): the function ran, its return
    /// value did not fit its description.
    pub fn invalid_response(debuginfo: impl Into<String>) -> Self {
        WsError::new(
            class::INVALID_RESPONSE,
            "invalidresponse",
            "Invalid response value detected",
            Some(debuginfo.into()),
        )
    }

    /// `webservice_access_exception`.
    pub fn access(debuginfo: impl Into<String>) -> Self {
        WsError::new(
            class::ACCESS,
            "accessexception",
            "Access control exception",
            Some(debuginfo.into()),
        )
    }

    /// `dml_missing_record_exception` for a `get_record(..., MUST_EXIST)`.
    pub fn missing_record(errorcode: &str, message: &str, sql: String) -> Self {
        WsError::new(class::MISSING_RECORD, errorcode, message, Some(sql))
    }

    /// `dml_write_exception`, e.g. a value longer than its column.
    pub fn write(debuginfo: impl Into<String>) -> Self {
        WsError::new(
            class::WRITE,
            "dmlwriteexception",
            "Error writing to database",
            Some(debuginfo.into()),
        )
    }

    /// A PHP `TypeError`: `exception` and `message`, no errorcode (observed
    /// on 4.5 for an enrolment of a user id that does not exist, 6).
    pub fn type_error(message: impl Into<String>) -> Self {
        WsError {
            exception: class::TYPE_ERROR,
            errorcode: None,
            message: message.into(),
            debuginfo: None,
        }
    }

    /// The JSON object of `webservice_rest_server::generate_error`.
    pub fn to_json(&self, debug: bool) -> Value {
        let mut object = Map::new();
        object.insert("exception".into(), Value::from(self.exception));
        if let Some(code) = &self.errorcode {
            object.insert("errorcode".into(), Value::from(code.as_str()));
        }
        object.insert("message".into(), Value::from(self.message.as_str()));
        if let (true, Some(info)) = (debug, &self.debuginfo) {
            object.insert("debuginfo".into(), Value::from(info.as_str()));
        }
        Value::Object(object)
    }

    /// The XML of `generate_error` for any format but json.
    pub fn to_xml(&self, debug: bool) -> String {
        let mut xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<EXCEPTION class=\"{}\">\n",
            escape_xml(self.exception)
        );
        if let Some(code) = &self.errorcode {
            xml += &format!("<ERRORCODE>{}</ERRORCODE>\n", escape_xml(code));
        }
        xml += &format!("<MESSAGE>{}</MESSAGE>\n", escape_xml(&self.message));
        if let (true, Some(info)) = (debug, &self.debuginfo) {
            xml += &format!("<DEBUGINFO>{}</DEBUGINFO>\n", escape_xml(info));
        }
        xml + "</EXCEPTION>\n"
    }
}

/// PHP's `json_encode` with default flags: '/' escaped as `\/` and every
/// non-ASCII character as `\uXXXX` (UTF-16 units).
pub fn php_json(value: &Value) -> String {
    let mut out = String::new();
    write_json(&mut out, value);
    out
}

fn write_json(out: &mut String, value: &Value) {
    match value {
        Value::Null | Value::Bool(_) | Value::Number(_) => out.push_str(&value.to_string()),
        Value::String(s) => write_json_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(out, key);
                out.push(':');
                write_json(out, item);
            }
            out.push('}');
        }
    }
}

fn write_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' => out.push_str("\\/"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}

/// A success value in Moodle's REST XML (`<RESPONSE>` with `<MULTIPLE>`,
/// `<SINGLE>`, `<KEY>` and `<VALUE>`).
pub fn xml_response(value: &Value) -> String {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<RESPONSE>\n");
    if !value.is_null() {
        write_xml(&mut xml, value);
    }
    xml + "</RESPONSE>\n"
}

fn write_xml(xml: &mut String, value: &Value) {
    match value {
        Value::Null => xml.push_str("<VALUE null=\"null\"/>\n"),
        Value::Bool(b) => xml.push_str(&format!("<VALUE>{}</VALUE>\n", u8::from(*b))),
        Value::Number(n) => xml.push_str(&format!("<VALUE>{n}</VALUE>\n")),
        Value::String(s) => xml.push_str(&format!("<VALUE>{}</VALUE>\n", escape_xml(s))),
        Value::Array(items) => {
            xml.push_str("<MULTIPLE>\n");
            items.iter().for_each(|item| write_xml(xml, item));
            xml.push_str("</MULTIPLE>\n");
        }
        Value::Object(map) => {
            xml.push_str("<SINGLE>\n");
            for (key, item) in map {
                xml.push_str(&format!("<KEY name=\"{}\">", escape_xml(key)));
                write_xml(xml, item);
                xml.push_str("</KEY>\n");
            }
            xml.push_str("</SINGLE>\n");
        }
    }
}

fn escape_xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
