//! `moodlec templates`: what templates there are.

use moodlec::template::{Kind, Template};
use serde_json::json;

use crate::cli::error::Error;
use crate::cli::exit::Outcome;
use crate::cli::load::Local;
use crate::cli::output::Format;
use crate::cli::report;

/// List the built-in templates and those in ./templates/: writes, then reads,
/// then syncs, each with the Moodle function it calls.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "With --json, an error that ends the command is one JSON object on standard output:\n  {\"severity\":\"error\",\"code\":\"moodlec::usage\",\"message\":\"...\",\"help\":...}"
)]
pub struct Args {
    /// Print one JSON object per template instead of a table.
    #[arg(long)]
    json: bool,
}

impl Args {
    /// JSON errors with --json.
    pub fn error_format(&self) -> Format {
        if self.json {
            Format::Json
        } else {
            Format::Human
        }
    }
}

pub fn run(args: &Args) -> Result<Outcome, Error> {
    // A broken local file leaves out its own templates; the others are listed.
    let local = Local::load();
    local.warn();
    let mut templates: Vec<&Template> = local.compiled.catalog.iter().map(AsRef::as_ref).collect();
    // Grouped: writes (`run`), then reads (`fetch`), then syncs, each by name.
    templates.sort_by(|a, b| (group(a), &a.name).cmp(&(group(b), &b.name)));
    if args.json {
        print_json(&templates)?;
    } else {
        print_table(&templates)?;
    }
    Ok(Outcome::Ok)
}

/// `read` (has `emits`: `fetch`) or `write` (`run`, `render`).
fn kind(t: &Template) -> &'static str {
    match t.kind {
        Kind::Read(_) => "read",
        Kind::Write => "write",
        Kind::Steps(_) => "sync",
    }
}

/// The listing's order of kinds: write, read, sync.
fn group(t: &Template) -> u8 {
    match t.kind {
        Kind::Write => 0,
        Kind::Read(_) => 1,
        Kind::Steps(_) => 2,
    }
}

/// `built-in`, or the local file that declares it.
fn origin(t: &Template) -> &str {
    let source = t.origin.source.name.as_str();
    if source.starts_with("builtin:") {
        "built-in"
    } else {
        source
    }
}

fn print_json(templates: &[&Template]) -> Result<(), Error> {
    let mut out = String::new();
    for t in templates {
        let line = json!({
            "name": t.name,
            "kind": kind(t),
            "function": t.function,
            "doc": t.doc,
            "origin": origin(t),
            "source": t.origin.source.name,
            "extends": t.base,
        });
        out.push_str(&format!("{line}\n"));
    }
    report::stdout(&out)
}

fn print_table(templates: &[&Template]) -> Result<(), Error> {
    let width = |column: &dyn Fn(&Template) -> usize, header: &str| {
        templates
            .iter()
            .map(|t| column(t))
            .max()
            .unwrap_or(0)
            .max(header.len())
    };
    let name_width = width(&|t| t.name.len(), "NAME");
    let function_width = width(&|t| t.function.len(), "FUNCTION");
    let origin_width = width(&|t| origin(t).len(), "ORIGIN");
    let mut out = format!(
        "{:name_width$}  {:5}  {:function_width$}  {:origin_width$}  DESCRIPTION\n",
        "NAME", "KIND", "FUNCTION", "ORIGIN"
    );
    for t in templates {
        out.push_str(&format!(
            "{:name_width$}  {:5}  {:function_width$}  {:origin_width$}  {}\n",
            t.name,
            kind(t),
            t.function,
            origin(t),
            first_sentence(&t.doc)
        ));
    }
    report::stdout(&out)
}

/// The doc up to its first line break, for a one-line listing.
fn first_sentence(doc: &str) -> &str {
    doc.lines().next().unwrap_or("")
}
