//! Finding templates: built-ins, `./templates/*.moodle`, or a path.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use moodlec::builtin;
use moodlec::check::{compile, suggestion, Compiled};
use moodlec::diagnostic::{Source, TemplateDiagnostic};
use moodlec::template::{ReadTemplate, Template, WriteTemplate};

use super::error::Error;
use super::output;
use super::report;

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

/// The built-ins plus the templates of `./templates/`, and which local files
/// are broken: one broken file leaves out its own templates (and those that
/// extend them), not the others.
pub struct Local {
    /// Everything that compiled, and every diagnostic.
    pub compiled: Compiled,
    /// Local files that cannot be read or have an error, with what is wrong
    /// and the template names they declare (as far as they can be told).
    pub broken: Vec<Broken>,
    /// The names declared in all the local files.
    pub declared: Vec<String>,
}

/// A file of `./templates/` that cannot be used.
pub struct Broken {
    /// Its path, as diagnostics name it.
    pub path: String,
    /// Why: "cannot read ...: ..." or "2 errors".
    pub why: String,
    /// The templates it declares (all the names after `template`, even in a
    /// file that does not parse).
    pub declares: Vec<String>,
}

impl Local {
    /// The errors among the local files' diagnostics.
    fn errors(&self) -> Vec<TemplateDiagnostic> {
        self.compiled
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .cloned()
            .collect()
    }

    /// Compile `./templates/*.moodle` on top of the built-ins; never fails.
    pub fn load() -> Local {
        let mut sources = Vec::new();
        let mut broken = Vec::new();
        for path in local_template_files() {
            match std::fs::read_to_string(&path) {
                Ok(text) => sources.push(Source::new(path.display().to_string(), text)),
                Err(e) => broken.push(Broken {
                    path: path.display().to_string(),
                    why: format!("cannot read it: {e}"),
                    declares: Vec::new(),
                }),
            }
        }
        let compiled = compile(&sources, builtin::catalog());
        let mut declared = Vec::new();
        for source in &sources {
            declared.extend(declared_names(&source.text));
            let errors = compiled
                .diagnostics
                .iter()
                .filter(|d| d.is_error() && d.source_name() == Some(source.name.as_str()))
                .count();
            if errors > 0 {
                broken.push(Broken {
                    path: source.name.clone(),
                    why: if errors == 1 {
                        "1 error".to_owned()
                    } else {
                        format!("{errors} errors")
                    },
                    declares: declared_names(&source.text),
                });
            }
        }
        Local {
            compiled,
            broken,
            declared,
        }
    }

    /// The broken file that declares `name`, if any.
    pub fn broken_declaring(&self, name: &str) -> Option<&Broken> {
        self.broken.iter().find(|b| b.declares.iter().any(|d| d == name))
    }

    /// Say on stderr which local files are left out, and print the warnings
    /// of the files that compiled (a local template replacing a built-in).
    pub fn warn(&self) {
        let warnings: Vec<TemplateDiagnostic> = self
            .compiled
            .diagnostics
            .iter()
            .filter(|d| !d.is_error())
            .cloned()
            .collect();
        output::eprint_templates(&warnings);
        for broken in &self.broken {
            report::note(&format!(
                "warning: {} is left out ({}): its templates cannot be used; `moodlec check {}` shows why",
                broken.path, broken.why, broken.path
            ));
        }
    }
}

/// The names after `template` in a template file's text, outside comments
/// and strings: what a file declares even when it does not parse.
fn declared_names(text: &str) -> Vec<String> {
    if let Ok(file) = moodlec::syntax::parse(&Source::new("", text)) {
        return file.templates.into_iter().map(|t| t.name.name).collect();
    }
    let mut names = Vec::new();
    for line in text.lines() {
        let code = line.split('#').next().unwrap_or("");
        let mut words = code.split(|c: char| !(c.is_alphanumeric() || c == '_'));
        while let Some(word) = words.next() {
            if word == "template" {
                if let Some(name) = words.find(|w| !w.is_empty()) {
                    names.push(name.to_owned());
                }
            }
        }
    }
    names
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
    let compiled = if is_path {
        let compiled = catalog_with(&[path.to_path_buf()])?;
        if compiled.has_errors() {
            return Err(Error::template(compiled.diagnostics));
        }
        // No errors: these are warnings.
        output::eprint_templates(&compiled.diagnostics);
        compiled
    } else {
        let local = Local::load();
        if let Some(broken) = local.broken_declaring(spec) {
            let errors = local.errors();
            if errors.is_empty() {
                return Err(Error::usage(format!(
                    "template `{spec}` is declared in {}, which is broken ({})",
                    broken.path, broken.why
                )));
            }
            return Err(Error::template(errors));
        }
        if local.compiled.catalog.get(spec).is_none() && local.declared.iter().any(|d| d == spec) {
            // Declared but left out: it extends a template of a broken file.
            let errors = local.errors();
            if !errors.is_empty() {
                return Err(Error::template(errors));
            }
        }
        local.warn();
        local.compiled
    };
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
    // A file that holds a sync and its steps is named by its steps template.
    let steps: Vec<&&Arc<Template>> = declared
        .iter()
        .filter(|t| matches!(t.kind, moodlec::template::Kind::Steps(_)))
        .collect();
    if let [one] = steps.as_slice() {
        return Ok(one.name.clone());
    }
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
