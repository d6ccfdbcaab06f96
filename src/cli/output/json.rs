//! One JSON document per command, written as problems come (a million
//! records never sit in memory):
//!
//! ```text
//! {"version":1,"tool":"moodlec","command":"validate","diagnostics":[
//! {"code":"wrong_type","severity":"error",...},
//! ...
//! ],"summary":{"files":1,"records":3,...}}
//! ```
//!
//! The shape is docs/diagnostics.schema.json; a test holds real output to it.

use std::io;

use moodlec::diagnostic::Diagnostic;
use serde_json::{json, Value};

use super::sink::{Destination, Shown, Sink, Summary};

/// The version of the document's shape; a change that could break a reader raises it.
pub const VERSION: u64 = 1;

pub struct Json {
    out: Destination,
    command: &'static str,
    started: bool,
    any: bool,
}

impl Json {
    pub fn new(out: Destination, command: &'static str) -> Json {
        Json {
            out,
            command,
            started: false,
            any: false,
        }
    }

    fn start(&mut self) -> io::Result<()> {
        if !self.started {
            self.started = true;
            let head = json!({ "version": VERSION, "tool": "moodlec", "tool_version": env!("CARGO_PKG_VERSION"), "command": self.command });
            let head = head.to_string();
            // The head object, left open for the diagnostics array.
            self.out
                .write_str(&format!("{},\"diagnostics\":[", &head[..head.len() - 1]))?;
        }
        Ok(())
    }
}

/// The JSON object of one problem (folded ones carry `repeated`).
pub fn diagnostic_json(shown: &Shown<'_>) -> Value {
    let d: &Diagnostic = shown.diagnostic;
    let mut object = json!({
        "code": d.code.as_str(),
        "family": d.code.family().as_str(),
        "severity": d.severity.as_str(),
        "message": d.message,
        "help": d.help,
        "file": d.file,
        "span": d.location.as_ref().map(|at| json!({
            "line": at.line,
            "column": at.column,
            "end_line": at.end_line,
            "end_column": at.end_column,
            "start": at.bytes.as_ref().map(|b| b.start),
            "end": at.bytes.as_ref().map(|b| b.end),
        })),
        "record": d.record,
        "field": d.field,
        "template": d.template,
        "related": d.related.as_ref().map(|r| json!({ "file": r.file, "record": r.record })),
    });
    if shown.count > 1 {
        object["repeated"] = json!({ "count": shown.count, "records": shown.records });
    }
    object
}

impl Sink for Json {
    fn diagnostic(&mut self, shown: &Shown<'_>) -> io::Result<()> {
        self.start()?;
        let separator = if self.any { "," } else { "" };
        self.any = true;
        self.out
            .write_str(&format!("{separator}\n{}", diagnostic_json(shown)))
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        self.start()?;
        let mut counts = serde_json::to_value(summary).unwrap_or_else(|_| json!({}));
        counts["files"] = json!(summary.file_count());
        counts["ok"] = json!(summary.errors == 0 && summary.ended.is_none());
        self.out.write_str(&format!("\n],\"summary\":{counts}}}\n"))?;
        self.out.flush()
    }
}
