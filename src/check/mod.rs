//! Stage 2: syntax trees to checked, immutable templates.
//!
//! [`compile`] parses every source, orders templates so a base is checked
//! before the templates that extend it (reporting unknown bases and cycles),
//! and checks each one. Every problem in every file is collected; a template
//! with an error is left out of the resulting [`Catalog`].

mod batch;
mod catalogue;
mod expr;
mod fields;
mod literal;
mod mapping;
mod names;
mod read;
mod statements;
mod suggest;
mod sync;

use std::collections::HashMap;
use std::sync::Arc;

use crate::diagnostic::{Code, Source, TemplateDiagnostic};
use crate::span::Span;
use crate::syntax::{self, ast};
use crate::template::Template;

pub use batch::min_form_fields;
pub use expr::ROW;
pub use read::emitted_fields;
pub(crate) use statements::resolve_param_value;
pub use suggest::suggestion;

/// Compiled templates, looked up by name.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    templates: Vec<Arc<Template>>,
}

impl Catalog {
    /// The template called `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<Template>> {
        self.templates.iter().find(|t| t.name == name)
    }

    /// All templates, in the order they were compiled.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Template>> {
        self.templates.iter()
    }

    /// Template names, for suggestions.
    pub fn names(&self) -> Vec<&str> {
        self.templates.iter().map(|t| t.name.as_str()).collect()
    }

    /// Add or replace (by name) a template.
    fn insert(&mut self, template: Arc<Template>) {
        self.templates.retain(|t| t.name != template.name);
        self.templates.push(template);
    }
}

/// What [`compile`] produces: the templates that checked clean, and every problem found.
#[derive(Debug, Default)]
pub struct Compiled {
    /// Templates without errors, including those of the base catalog.
    pub catalog: Catalog,
    /// Errors and warnings, by file and position.
    pub diagnostics: Vec<TemplateDiagnostic>,
}

impl Compiled {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(TemplateDiagnostic::is_error)
    }
}

/// Compile template sources on top of `base` (usually the built-ins).
///
/// Templates in `sources` may extend each other or any template in `base`,
/// and replace a `base` template of the same name.
pub fn compile(sources: &[Source], base: &Catalog) -> Compiled {
    let mut diagnostics = Vec::new();
    let mut decls: Vec<(usize, ast::TemplateDecl)> = Vec::new();
    for (index, source) in sources.iter().enumerate() {
        match syntax::parse(source) {
            Ok(file) => decls.extend(file.templates.into_iter().map(|t| (index, t))),
            Err(error) => diagnostics.push(error),
        }
    }
    let mut resolver = Resolver {
        sources,
        decls: &decls,
        by_name: HashMap::new(),
        state: vec![State::Pending; decls.len()],
        catalog: base.clone(),
        diagnostics,
        deferred: Vec::new(),
    };
    resolver.index_names();
    resolver.limit_depth();
    for index in 0..decls.len() {
        resolver.resolve(index, &mut Vec::new());
    }
    resolver.report_shadowing(base);
    resolver.report_catalogue();
    let mut diagnostics = resolver.diagnostics;
    diagnostics.sort_by(|a, b| (a.source_name(), a.span.start).cmp(&(b.source_name(), b.span.start)));
    Compiled {
        catalog: resolver.catalog,
        diagnostics,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Pending,
    Visiting,
    Done,
    Failed,
}

/// The most `extends` levels above a template: a chain of 64 templates on
/// top of one that extends nothing. Deeper chains are refused, so that
/// checking them (which recurses once per level) stays bounded.
pub const MAX_EXTENDS_DEPTH: usize = 64;

/// Checks templates in dependency order.
struct Resolver<'a> {
    sources: &'a [Source],
    decls: &'a [(usize, ast::TemplateDecl)],
    by_name: HashMap<&'a str, usize>,
    state: Vec<State>,
    catalog: Catalog,
    diagnostics: Vec<TemplateDiagnostic>,
    /// What comparing each compiled template with Moodle's description of
    /// its function found: (source, template, diagnostics).
    deferred: Vec<(usize, String, Vec<TemplateDiagnostic>)>,
}

impl<'a> Resolver<'a> {
    /// Report what the comparison with the catalogue found, for the files
    /// whose templates checked clean on their own (in a file with other
    /// errors it waits until they are fixed: those come first). A template
    /// with such an error is left out of the catalog, with the templates
    /// that extend it.
    fn report_catalogue(&mut self) {
        let failed_sources: Vec<&str> = self
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .filter_map(TemplateDiagnostic::source_name)
            .collect();
        let clean = |source: usize| !failed_sources.contains(&self.sources[source].name.as_str());
        let deferred = std::mem::take(&mut self.deferred);
        let mut refused: Vec<String> = Vec::new();
        let mut reported = Vec::new();
        for (source, name, diagnostics) in deferred {
            if !clean(source) {
                continue;
            }
            if diagnostics.iter().any(TemplateDiagnostic::is_error) {
                refused.push(name);
            }
            reported.extend(diagnostics);
        }
        self.diagnostics.extend(reported);
        // Then those built on a refused one, from these sources.
        while !refused.is_empty() {
            self.catalog.templates.retain(|t| !refused.contains(&t.name));
            let local: Vec<&str> = self.decls.iter().map(|(_, d)| d.name.name.as_str()).collect();
            refused = self
                .catalog
                .templates
                .iter()
                .filter(|t| local.contains(&t.name.as_str()))
                .filter(|t| t.base.as_ref().is_some_and(|b| self.catalog.get(b).is_none()))
                .map(|t| t.name.clone())
                .collect();
        }
    }

    fn index_names(&mut self) {
        for (index, (source, decl)) in self.decls.iter().enumerate() {
            let name = decl.name.name.as_str();
            if let Some(&first) = self.by_name.get(name) {
                let (first_source, first_decl) = &self.decls[first];
                let mut diag = TemplateDiagnostic::error(
                    Code::DuplicateTemplate,
                    decl.name.span,
                    format!("template `{name}` is declared twice"),
                )
                .label("declared again here")
                .in_source(&self.sources[*source]);
                diag = if first_source == source {
                    diag.related(first_decl.name.span, "first declared here")
                        .help("templates are found by name; rename one of them")
                } else {
                    diag.help(format!(
                        "it is also declared in {}",
                        self.sources[*first_source].name
                    ))
                };
                self.diagnostics.push(diag);
                self.state[index] = State::Failed;
            } else {
                self.by_name.insert(name, index);
            }
        }
    }

    /// Before any template is checked, without recursion: report cycles, and
    /// refuse templates more than [`MAX_EXTENDS_DEPTH`] levels of `extends`
    /// deep. The recursion of [`Resolver::resolve`] then never goes deeper
    /// than that.
    fn limit_depth(&mut self) {
        // Levels of `extends` above each template; `None` until known.
        let mut depth: Vec<Option<usize>> = vec![None; self.decls.len()];
        for start in 0..self.decls.len() {
            let mut path: Vec<usize> = Vec::new();
            let mut on_path = std::collections::HashSet::new();
            let mut current = start;
            // The depth of the template below the last one on the path.
            let mut below = loop {
                if let Some(known) = depth[current] {
                    break known;
                }
                if self.state[current] == State::Failed {
                    break 0;
                }
                if !on_path.insert(current) {
                    // A cycle: report it once; its templates fail, and count as depth 0.
                    self.report_cycle(current, &path);
                    let from = path.iter().position(|&i| i == current).unwrap_or(0);
                    for &i in &path[from..] {
                        depth[i] = Some(0);
                    }
                    path.truncate(from);
                    break 0;
                }
                path.push(current);
                let Some(base) = &self.decls[current].1.base else {
                    depth[current] = Some(0);
                    path.pop();
                    break 0;
                };
                match self.by_name.get(base.name.as_str()) {
                    Some(&next) => current = next,
                    // A base of the catalog (or unknown: reported later): the
                    // walk stops at it, `current` being one level above it.
                    None => break self.catalog_depth(&base.name),
                }
            };
            // Unwind: each template on the path is one level above the next.
            while let Some(index) = path.pop() {
                below += 1;
                depth[index] = Some(below);
                if below == MAX_EXTENDS_DEPTH + 1 {
                    self.report_too_deep(index);
                }
                if below > MAX_EXTENDS_DEPTH {
                    self.state[index] = State::Failed;
                }
            }
        }
    }

    /// Levels of `extends` above a template of the base catalog (bounded:
    /// past the limit the count stops).
    fn catalog_depth(&self, name: &str) -> usize {
        let mut levels = 0;
        let mut current = self.catalog.get(name);
        while let Some(template) = current {
            let Some(base) = &template.base else { break };
            levels += 1;
            if levels > MAX_EXTENDS_DEPTH {
                break;
            }
            current = self.catalog.get(base);
        }
        levels
    }

    fn report_too_deep(&mut self, index: usize) {
        let (source, decl) = &self.decls[index];
        let span = decl.base.as_ref().map_or(decl.name.span, |b| b.span);
        self.diagnostics.push(
            TemplateDiagnostic::error(
                Code::ExtendsTooDeep,
                span,
                format!(
                    "`{}` is more than {MAX_EXTENDS_DEPTH} levels of `extends` deep",
                    decl.name.name
                ),
            )
            .label(format!("the {}th level of `extends`", MAX_EXTENDS_DEPTH + 1))
            .help(format!(
                "a template can build on at most {MAX_EXTENDS_DEPTH} others; extend a template nearer the top of the chain, or merge some of them (templates extending this one fail with it)"
            ))
            .in_source(&self.sources[*source]),
        );
    }

    /// Warn about each template that replaces one of `base` by name (a local
    /// `create_users` replaces the built-in), naming both files and, when
    /// they differ, both functions.
    fn report_shadowing(&mut self, base: &Catalog) {
        for (index, (source, decl)) in self.decls.iter().enumerate() {
            let name = decl.name.name.as_str();
            let Some(replaced) = base.get(name) else {
                continue;
            };
            if self.by_name.get(name) != Some(&index) {
                continue; // a duplicate, reported as such
            }
            if *replaced.origin.source.text == *self.sources[*source].text {
                continue; // the very same file (moodlec run from its own repository)
            }
            let mut help = format!(
                "`-t {name}` now means this template, not the one in {}; rename it to keep both",
                replaced.origin.source.name
            );
            if self.state[index] == State::Done {
                if let Some(this) = self.catalog.get(name).filter(|t| t.function != replaced.function) {
                    help = format!(
                        "this one calls {} where the replaced one calls {}; {help}",
                        this.function, replaced.function
                    );
                }
            }
            self.diagnostics.push(
                TemplateDiagnostic::warning(
                    Code::ShadowsBuiltin,
                    decl.name.span,
                    format!(
                        "`{name}` in {} replaces the template `{name}` of {}",
                        self.sources[*source].name, replaced.origin.source.name
                    ),
                )
                .label("replaces a built-in template")
                .help(help)
                .in_source(&self.sources[*source]),
            );
        }
    }

    /// Check template `index` after its base; `chain` is the extends path so far.
    fn resolve(&mut self, index: usize, chain: &mut Vec<usize>) -> bool {
        match self.state[index] {
            State::Done => return true,
            State::Failed => return false,
            State::Visiting => {
                self.report_cycle(index, chain);
                return false;
            }
            State::Pending => {}
        }
        self.state[index] = State::Visiting;
        chain.push(index);
        let (source_index, decl) = &self.decls[index];
        if is_steps(decl) {
            let checked = self.resolve_steps(decl, *source_index, chain);
            chain.pop();
            return self.finish(index, checked);
        }
        let base = match &decl.base {
            None => Some(None),
            Some(base_name) => self.resolve_base(base_name, *source_index, chain),
        };
        chain.pop();
        let checked = base.and_then(|base| {
            let source = &self.sources[*source_index];
            let mut diags = Diagnostics::new(source);
            let template = statements::check_template(decl, base.as_deref(), &mut diags);
            self.diagnostics.append(&mut diags.items);
            // The embedded built-ins are compared by a test
            // (check::catalogue::tests), not again by every command that loads them.
            let builtin = source.name.starts_with("builtin:");
            if let (Some(template), false) = (&template, builtin) {
                let mut against = Diagnostics::new(source);
                catalogue::check(decl, template, &mut against);
                if !against.items.is_empty() {
                    self.deferred
                        .push((*source_index, template.name.clone(), against.items));
                }
            }
            template
        });
        self.finish(index, checked)
    }

    /// Record the outcome of checking template `index`.
    fn finish(&mut self, index: usize, checked: Option<Template>) -> bool {
        match checked {
            Some(template) => {
                self.catalog.insert(Arc::new(template));
                self.state[index] = State::Done;
                true
            }
            None => {
                // A cycle found deeper may already have marked this one.
                self.state[index] = State::Failed;
                false
            }
        }
    }

    /// A `steps` template: the templates it names are checked first.
    fn resolve_steps(
        &mut self,
        decl: &ast::TemplateDecl,
        source_index: usize,
        chain: &mut Vec<usize>,
    ) -> Option<Template> {
        for name in step_names(decl) {
            if let Some(&i) = self.by_name.get(name.as_str()) {
                if !is_steps(&self.decls[i].1) {
                    self.resolve(i, chain);
                }
            }
        }
        let targets = |name: &str| {
            if let Some(&i) = self.by_name.get(name) {
                if is_steps(&self.decls[i].1) {
                    return sync::StepTarget::Steps(step_names(&self.decls[i].1));
                }
                if self.state[i] != State::Done {
                    return sync::StepTarget::Broken;
                }
            }
            match self.catalog.get(name) {
                Some(template) => sync::StepTarget::Found(Arc::clone(template)),
                None => sync::StepTarget::Unknown,
            }
        };
        let mut known = self.catalog.names();
        known.extend(self.by_name.keys().copied());
        known.sort_unstable();
        known.dedup();
        let mut diags = Diagnostics::new(&self.sources[source_index]);
        let checked = sync::check_steps(decl, &targets, &known, &mut diags);
        self.diagnostics.append(&mut diags.items);
        checked
    }

    /// The base template, checked; `None` when it is unknown or broken.
    fn resolve_base(
        &mut self,
        base: &ast::Ident,
        source: usize,
        chain: &mut Vec<usize>,
    ) -> Option<Option<Arc<Template>>> {
        if let Some(&base_index) = self.by_name.get(base.name.as_str()) {
            if !self.resolve(base_index, chain) {
                return None;
            }
        } else if self.catalog.get(&base.name).is_none() {
            let mut names = self.catalog.names();
            names.extend(self.by_name.keys().copied());
            let mut diag = TemplateDiagnostic::error(
                Code::UnknownBase,
                base.span,
                format!("there is no template `{}` to extend", base.name),
            )
            .label("unknown template")
            .in_source(&self.sources[source]);
            if let Some(help) = suggestion(&base.name, &names) {
                diag = diag.help(help);
            }
            self.diagnostics.push(diag);
            return None;
        }
        self.catalog.get(&base.name).cloned().map(Some)
    }

    fn report_cycle(&mut self, index: usize, chain: &[usize]) {
        let start = chain.iter().position(|&i| i == index).unwrap_or(0);
        let names: Vec<&str> = chain[start..]
            .iter()
            .chain(std::iter::once(&index))
            .map(|&i| self.decls[i].1.name.name.as_str())
            .collect();
        let (source, decl) = &self.decls[index];
        let span = decl.base.as_ref().map_or(decl.name.span, |b| b.span);
        self.diagnostics.push(
            TemplateDiagnostic::error(
                Code::ExtendsCycle,
                span,
                format!("templates extend each other in a cycle: {}", names.join(" -> ")),
            )
            .label("this extends starts the cycle")
            .help("a template can only extend one that does not, directly or not, extend it back")
            .in_source(&self.sources[*source]),
        );
        for &i in &chain[start..] {
            self.state[i] = State::Failed;
        }
    }
}

/// Whether a template declaration is a `steps` template.
fn is_steps(decl: &ast::TemplateDecl) -> bool {
    decl.items.iter().any(|item| matches!(item, ast::Item::Steps(_)))
}

/// The templates a `steps` template names.
fn step_names(decl: &ast::TemplateDecl) -> Vec<String> {
    decl.items
        .iter()
        .filter_map(|item| match item {
            ast::Item::Steps(list) => Some(list.names.iter().map(|n| n.name.clone())),
            _ => None,
        })
        .flatten()
        .collect()
}

/// Diagnostics for one source, with a shorthand to make errors in it.
pub(crate) struct Diagnostics<'s> {
    source: &'s Source,
    items: Vec<TemplateDiagnostic>,
    errors: usize,
}

impl<'s> Diagnostics<'s> {
    fn new(source: &'s Source) -> Self {
        Diagnostics {
            source,
            items: Vec::new(),
            errors: 0,
        }
    }

    /// An error in this source.
    pub(crate) fn error(&self, code: Code, span: Span, message: impl Into<String>) -> TemplateDiagnostic {
        TemplateDiagnostic::error(code, span, message).in_source(self.source)
    }

    /// Record a diagnostic.
    pub(crate) fn push(&mut self, diagnostic: TemplateDiagnostic) {
        if diagnostic.is_error() {
            self.errors += 1;
        }
        self.items.push(diagnostic);
    }

    /// Errors recorded so far.
    pub(crate) fn error_count(&self) -> usize {
        self.errors
    }

    /// The source being checked.
    pub(crate) fn source(&self) -> &Source {
        self.source
    }
}
