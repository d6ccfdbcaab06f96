//! `moodlec templates`: what templates there are.

use moodlec::template::Template;
use serde_json::json;

use crate::cli::error::{Error, ErrorKind};
use crate::cli::exit::Outcome;
use crate::cli::load::{catalog_with, local_template_files};
use crate::cli::report::{self, DiagnosticFormat};

/// List the built-in templates and those in ./templates/.
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
    pub fn error_format(&self) -> DiagnosticFormat {
        if self.json {
            DiagnosticFormat::Json
        } else {
            DiagnosticFormat::Human
        }
    }
}

pub fn run(args: &Args) -> Result<Outcome, Error> {
    let compiled = catalog_with(&local_template_files())?;
    // The templates that compile are still listed.
    if compiled.has_errors() {
        report::print_diagnostics(&compiled.diagnostics, DiagnosticFormat::Human);
    }
    let mut templates: Vec<&Template> = compiled.catalog.iter().map(AsRef::as_ref).collect();
    templates.sort_by(|a, b| a.name.cmp(&b.name));
    if args.json {
        print_json(&templates)?;
    } else {
        print_table(&templates)?;
    }
    if compiled.has_errors() {
        return Err(Error::already_shown(ErrorKind::Usage));
    }
    Ok(Outcome::Ok)
}

fn print_json(templates: &[&Template]) -> Result<(), Error> {
    let mut out = String::new();
    for t in templates {
        let line = json!({ "name": t.name, "function": t.function, "doc": t.doc, "source": t.origin.source.name, "extends": t.base });
        out.push_str(&format!("{line}\n"));
    }
    report::stdout(&out)
}

fn print_table(templates: &[&Template]) -> Result<(), Error> {
    let name_width = templates.iter().map(|t| t.name.len()).max().unwrap_or(0).max(4);
    let function_width = templates
        .iter()
        .map(|t| t.function.len())
        .max()
        .unwrap_or(0)
        .max(8);
    let mut out = format!(
        "{:name_width$}  {:function_width$}  DESCRIPTION\n",
        "NAME", "FUNCTION"
    );
    for t in templates {
        out.push_str(&format!(
            "{:name_width$}  {:function_width$}  {}\n",
            t.name,
            t.function,
            first_sentence(&t.doc)
        ));
    }
    report::stdout(&out)
}

/// The doc up to its first line break, for a one-line listing.
fn first_sentence(doc: &str) -> &str {
    doc.lines().next().unwrap_or("")
}
