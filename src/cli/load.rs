//! Finding templates: built-ins, `./templates/*.moodle`, or a path.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use moodlec::builtin;
use moodlec::check::{compile, suggestion, Compiled};
use moodlec::diagnostic::Source;
use moodlec::template::{ReadTemplate, Template, WriteTemplate};

use super::error::Error;

/// The folder searched for the user's own templates.
pub const LOCAL_DIR: &str = "templates";

/// Read template files.
///
/// # Errors
/// The first file that cannot be read, as a printable message.
pub fn read_sources(paths: &[PathBuf]) -> Result<Vec<Source>, String> {
    paths
        .iter()
        .map(|path| {
            std::fs::read_to_string(path)
                .map(|text| Source::new(path.display().to_string(), text))
                .map_err(|e| format!("cannot read {}: {e}", path.display()))
        })
        .collect()
}

/// `./templates/*.moodle`, sorted, if the folder exists.
pub fn local_template_files() -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(LOCAL_DIR) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|ext| ext == "moodle"))
        .collect();
    files.sort();
    files
}

/// Compile the built-ins plus `extra` files on top of them.
///
/// # Errors
/// A file cannot be read (exit 2).
pub fn catalog_with(extra: &[PathBuf]) -> Result<Compiled, Error> {
    let sources = read_sources(extra).map_err(Error::usage)?;
    Ok(compile(&sources, builtin::catalog()))
}

/// Resolve `-t NAME|PATH`: a path to a `.moodle` file (its only or named
/// template), else a template of `./templates/`, else a built-in.
///
/// # Errors
/// No such template, or it does not compile (exit 2).
pub fn template(spec: &str) -> Result<Arc<Template>, Error> {
    template_with_catalog(spec).map(|(template, _)| template)
}

/// [`template`], with the catalog it was found in (for the templates it joins).
///
/// # Errors
/// No such template, or it does not compile (exit 2).
pub fn template_with_catalog(spec: &str) -> Result<(Arc<Template>, moodlec::check::Catalog), Error> {
    let path = Path::new(spec);
    let is_path = spec.ends_with(".moodle") || spec.contains('/') || spec.contains('\\');
    let files = if is_path {
        vec![path.to_path_buf()]
    } else {
        local_template_files()
    };
    let compiled = catalog_with(&files)?;
    if compiled.has_errors() {
        return Err(Error::template(compiled.diagnostics));
    }
    let name = if is_path {
        only_template_name(&compiled, spec)?
    } else {
        spec.to_owned()
    };
    let template = compiled.catalog.get(&name).cloned().ok_or_else(|| {
        let names = compiled.catalog.names();
        let help = suggestion(&name, &names).unwrap_or_else(|| "`moodlec templates` lists them".to_owned());
        Error::usage(format!("no template named `{name}`")).with_help(help)
    })?;
    Ok((template, compiled.catalog))
}

/// The template a file declares, when it declares exactly one.
fn only_template_name(compiled: &Compiled, path: &str) -> Result<String, Error> {
    let declared: Vec<&Arc<Template>> = compiled
        .catalog
        .iter()
        .filter(|t| t.origin.source.name == path)
        .collect();
    match declared.as_slice() {
        [one] => Ok(one.name.clone()),
        [] => Err(Error::usage(format!("{path} declares no template"))),
        many => {
            let names: Vec<&str> = many.iter().map(|t| t.name.as_str()).collect();
            Err(
                Error::usage(format!("{path} declares several templates: {}", names.join(", ")))
                    .with_help("put the file in ./templates/ and name the template with -t NAME"),
            )
        }
    }
}

/// The template as a write template, for `command` (a write command); a
/// read template is refused, saying to use `fetch`.
///
/// # Errors
/// The template has `emits` (exit 2).
pub fn write_template(template: Arc<Template>, command: &str) -> Result<WriteTemplate, Error> {
    WriteTemplate::new(template).map_err(|template| {
        Error::usage(format!(
            "`{}` is a read template: `{command}` sends records to a write function",
            template.name
        ))
        .with_help(format!(
            "fetch its records with `moodlec fetch -t {}`",
            template.name
        ))
    })
}

/// The template as a read template, for `fetch`; a write template is refused.
///
/// # Errors
/// The template has no `emits` (exit 2).
pub fn read_template(template: Arc<Template>) -> Result<ReadTemplate, Error> {
    ReadTemplate::new(template).map_err(|template| {
        Error::usage(format!(
            "`{}` is a write template: fetch needs a read template (one with `emits`)",
            template.name
        ))
        .with_help("send records with `moodlec run`; `moodlec templates` lists the read templates")
    })
}
