//! SARIF 2.1.0 (the OASIS standard GitHub code scanning reads): one run of
//! moodlec, a rule per code used, a result per problem located in its
//! template or data file. What ended the command is a result without a
//! location and a failed invocation.

use std::collections::BTreeMap;
use std::io;

use moodlec::diagnostic::{Code, Diagnostic};
use serde_json::{json, Value};

use super::sink::{Destination, Shown, Sink, Summary};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

pub struct Sarif {
    out: Destination,
    results: Vec<Value>,
    rules: BTreeMap<Code, usize>,
    failed: Vec<Value>,
}

impl Sarif {
    pub fn new(out: Destination) -> Sarif {
        Sarif {
            out,
            results: Vec::new(),
            rules: BTreeMap::new(),
            failed: Vec::new(),
        }
    }

    fn rule_index(&mut self, code: Code) -> usize {
        let next = self.rules.len();
        *self.rules.entry(code).or_insert(next)
    }
}

/// A file name as a SARIF artifact URI: a relative reference with `/`
/// separators and the characters a URI cannot hold percent-encoded.
fn artifact_uri(file: &str) -> String {
    let file = file.replace('\\', "/");
    let mut uri = String::new();
    if file.starts_with('/') {
        uri.push_str("file://");
    }
    for byte in file.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                uri.push(byte as char)
            }
            _ => uri.push_str(&format!("%{byte:02X}")),
        }
    }
    uri
}

fn location(d: &Diagnostic) -> Option<Value> {
    let file = d.file.as_ref()?;
    let mut physical = json!({ "artifactLocation": { "uri": artifact_uri(file) } });
    if let Some(at) = &d.location {
        let mut region = json!({
            "startLine": at.line,
            "startColumn": at.column,
            "endLine": at.end_line,
            "endColumn": at.end_column.max(if at.end_line == at.line { at.column } else { 1 }),
        });
        if let Some(bytes) = &at.bytes {
            region["byteOffset"] = json!(bytes.start);
            region["byteLength"] = json!(bytes.end - bytes.start);
        }
        physical["region"] = region;
    }
    Some(json!({ "physicalLocation": physical }))
}

fn message(shown: &Shown<'_>) -> String {
    let d = shown.diagnostic;
    let mut text = match d.record {
        Some(record) => format!("record {record}: {}", d.message),
        None => d.message.clone(),
    };
    if let Some(help) = &d.help {
        text.push_str(&format!(" Help: {help}"));
    }
    if let Some(also) = d.see_also() {
        text.push_str(&format!(" ({also})"));
    }
    if let Some(repeats) = shown.repeats() {
        text.push_str(&format!(" ({repeats})"));
    }
    text
}

impl Sink for Sarif {
    fn diagnostic(&mut self, shown: &Shown<'_>) -> io::Result<()> {
        let d = shown.diagnostic;
        let mut result = json!({
            "ruleId": d.code.as_str(),
            "ruleIndex": self.rule_index(d.code),
            "level": if d.is_error() { "error" } else { "warning" },
            "message": { "text": message(shown) },
        });
        if let Some(location) = location(d) {
            result["locations"] = json!([location]);
        } else {
            self.failed
                .push(json!({ "level": "error", "message": { "text": message(shown) } }));
        }
        let mut properties = serde_json::Map::new();
        if let Some(record) = d.record {
            properties.insert("record".to_owned(), json!(record));
        }
        if let Some(field) = &d.field {
            properties.insert("field".to_owned(), json!(field));
        }
        if shown.count > 1 {
            properties.insert("count".to_owned(), json!(shown.count));
        }
        if !properties.is_empty() {
            result["properties"] = Value::Object(properties);
        }
        self.results.push(result);
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        let mut rules: Vec<(&Code, &usize)> = self.rules.iter().collect();
        rules.sort_by_key(|(_, index)| **index);
        let rules: Vec<Value> = rules
            .into_iter()
            .map(|(code, _)| {
                json!({
                    "id": code.as_str(),
                    "shortDescription": { "text": code.summary() },
                    "properties": { "family": code.family().as_str() },
                })
            })
            .collect();
        let mut invocation = json!({ "executionSuccessful": summary.ended.is_none() });
        if !self.failed.is_empty() {
            invocation["toolExecutionNotifications"] = json!(self.failed);
        }
        let document = json!({
            "$schema": SCHEMA,
            "version": "2.1.0",
            "runs": [{
                "tool": { "driver": {
                    "name": "moodlec",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }},
                "invocations": [invocation],
                "results": self.results,
                "properties": { "command": summary.command, "notShown": summary.not_shown },
            }],
        });
        let text = serde_json::to_string_pretty(&document).map_err(io::Error::other)?;
        self.out.write_str(&format!("{text}\n"))?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_uris_are_relative_references_with_unsafe_bytes_encoded() {
        assert_eq!(artifact_uri("data/staff list.csv"), "data/staff%20list.csv");
        assert_eq!(artifact_uri("/tmp/a#b.csv"), "file:///tmp/a%23b.csv");
        assert_eq!(artifact_uri("dir\\é.csv"), "dir/%C3%A9.csv");
    }
}
