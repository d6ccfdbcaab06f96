//! `moodlec templates`: what templates there are.

use moodlec::template::Template;
use serde_json::json;

use crate::cli::exit;
use crate::cli::load::{catalog_with, local_template_files};
use crate::cli::report::{self, DiagnosticFormat};

/// List the built-in templates and those in ./templates/.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print one JSON object per template instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &Args) -> u8 {
    let compiled = match catalog_with(&local_template_files()) {
        Ok(compiled) => compiled,
        Err(class) => return class,
    };
    if compiled.has_errors() {
        report::print_diagnostics(&compiled.diagnostics, DiagnosticFormat::Human);
    }
    let mut templates: Vec<&Template> = compiled.catalog.iter().map(AsRef::as_ref).collect();
    templates.sort_by(|a, b| a.name.cmp(&b.name));
    if args.json {
        for t in templates {
            let line = json!({ "name": t.name, "function": t.function, "doc": t.doc, "source": t.origin.source.name, "extends": t.base });
            println!("{line}");
        }
    } else {
        print_table(&templates);
    }
    if compiled.has_errors() {
        exit::USAGE_OR_TEMPLATE
    } else {
        exit::OK
    }
}

fn print_table(templates: &[&Template]) {
    let name_width = templates.iter().map(|t| t.name.len()).max().unwrap_or(0).max(4);
    let function_width = templates
        .iter()
        .map(|t| t.function.len())
        .max()
        .unwrap_or(0)
        .max(8);
    println!(
        "{:name_width$}  {:function_width$}  DESCRIPTION",
        "NAME", "FUNCTION"
    );
    for t in templates {
        println!(
            "{:name_width$}  {:function_width$}  {}",
            t.name,
            t.function,
            first_sentence(&t.doc)
        );
    }
}

/// The doc up to its first line break, for a one-line listing.
fn first_sentence(doc: &str) -> &str {
    doc.lines().next().unwrap_or("")
}
