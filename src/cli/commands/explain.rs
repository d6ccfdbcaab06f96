//! `moodlec explain`: a template described for people, or as JSON Schema.

use std::fmt::Write as _;

use moodlec::moodle::ws::STANDARD_ROLES;
use moodlec::params::{self, ParamValues};
use moodlec::schema::record_schema;
use moodlec::template::{
    Constraints, DefaultValue, Field, FieldType, Kind, Missing, ParamType, PasswordPolicy, Returns,
    ScopeRule, SyncObject, Template, Value,
};

use crate::cli::error::Error;
use crate::cli::exit::Outcome;
use crate::cli::load;
use crate::cli::output::Format;
use crate::cli::report;

/// Show what a template sends: fields, types, defaults, constraints, params,
/// rules and batching.
///
/// --set shows the template as it would run with those params. --schema
/// prints a JSON Schema for one input record, for other tools to validate
/// data with.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "With --json or --schema, an error that ends the command is one JSON object on standard output:\n  {\"severity\":\"error\",\"code\":\"moodlec::usage\",\"message\":\"...\",\"help\":...}"
)]
pub struct Args {
    /// A built-in template name, a template in ./templates/, or a path to a .moodle file.
    template: String,
    /// Set an endpoint-level param, e.g. --set roleid=teacher.
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = params::parse_assignment)]
    set: Vec<(String, String)>,
    /// Print a JSON Schema (draft 2020-12) for one input record.
    #[arg(long, conflicts_with = "json")]
    schema: bool,
    /// Print the compiled template as JSON.
    #[arg(long)]
    json: bool,
}

impl Args {
    /// JSON errors when the output is JSON.
    pub fn error_format(&self) -> Format {
        if self.json || self.schema {
            Format::Json
        } else {
            Format::Human
        }
    }
}

pub fn run(args: &Args) -> Result<Outcome, Error> {
    let template = load::template(&args.template)?;
    let values = params::resolve(&template, &args.set)?;
    let text = if args.schema {
        format!("{}\n", pretty(&record_schema(&template)))
    } else if args.json {
        let mut json = serde_json::to_value(&*template).unwrap_or_default();
        // `read` is null for a steps template as for any write template; say what it runs.
        if let (Kind::Steps(steps), Some(object)) = (&template.kind, json.as_object_mut()) {
            object.insert("steps".to_owned(), serde_json::json!(steps));
        }
        format!("{}\n", pretty(&json))
    } else {
        describe(&template, &values)
    };
    report::stdout(&text)?;
    Ok(Outcome::Ok)
}

fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

fn describe(template: &Template, values: &ParamValues) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}: {}", template.name, template.doc);
    if let Kind::Steps(steps) = &template.kind {
        let _ = writeln!(out, "  source    {}", template.origin.source.name);
        let _ = writeln!(out, "\nSteps (sync templates run in this order on one source):");
        for (number, step) in steps.iter().enumerate() {
            let _ = writeln!(out, "  {}. {step}", number + 1);
        }
        return out;
    }
    let _ = writeln!(out, "  function  {}", template.function);
    match (&template.wrap, &template.batch.collect) {
        (Some(wrap), _) => {
            let _ = writeln!(out, "  records   {wrap}[i][field]");
        }
        (None, Some(collect)) if !template.is_read() => {
            let _ = writeln!(
                out,
                "  records   {}[i] (each record's `{}`)",
                collect.into, collect.field
            );
        }
        _ if !template.is_read() => {
            let _ = writeln!(out, "  records   one per call, fields as top-level parameters");
        }
        _ => {}
    }
    let per_call: Vec<&str> = (template.fields.iter())
        .filter(|f| f.per_call)
        .map(|f| f.name.as_str())
        .collect();
    if !per_call.is_empty() {
        let _ = writeln!(
            out,
            "  per call  {} (once per call, beside the records)",
            per_call.join(", ")
        );
    }
    if let Some(base) = &template.base {
        let _ = writeln!(out, "  extends   {base}");
    }
    let _ = writeln!(out, "  source    {}", template.origin.source.name);
    describe_params(&mut out, template, values);
    let heading = if template.is_read() { "Inputs" } else { "Fields" };
    let _ = writeln!(out, "\n{heading}:");
    describe_fields(&mut out, &template.fields, template, values, 1);
    if template.is_read() {
        describe_read(&mut out, template);
        return out;
    }
    describe_mapping(&mut out, template);
    describe_lookups(&mut out, template);
    describe_sync(&mut out, template);
    describe_checks(&mut out, template);
    out
}

/// What a sync template keeps equal to the roster, and how.
fn describe_sync(out: &mut String, template: &Template) {
    let Some(sync) = &template.sync else { return };
    let _ = writeln!(out, "\nSync (moodlec plan / sync):");
    let matched = match (&sync.key, sync.object) {
        (Some(key), _) => format!("by {key}"),
        (None, SyncObject::Enrolments) => {
            let key = |field: &str| {
                template
                    .lookups
                    .iter()
                    .find(|l| l.field == field)
                    .map_or_else(|| field.to_owned(), |l| format!("{} {}", l.kind.name(), l.key))
            };
            format!("by {} and {}", key("userid"), key("courseid"))
        }
        (None, _) => "by nothing".to_owned(),
    };
    let _ = writeln!(
        out,
        "  keeps     Moodle's {}, matched {matched}",
        sync.object.name()
    );
    let updates = match &sync.update {
        None if sync.object == SyncObject::Enrolments => "the role".to_owned(),
        None => "every field sent that Moodle returns".to_owned(),
        Some(fields) if fields.is_empty() => "nothing (adds new ones only)".to_owned(),
        Some(fields) => fields.join(", "),
    };
    let _ = writeln!(out, "  updates   {updates}");
    let creates = if sync.create {
        "what Moodle lacks"
    } else {
        "nothing (updates only)"
    };
    let _ = writeln!(out, "  creates   {creates}");
    let scope = if sync.scope.is_empty() {
        match sync.object {
            SyncObject::Enrolments => "the courses the roster names".to_owned(),
            _ => format!("every {}", sync.object.name()),
        }
    } else {
        sync.scope
            .iter()
            .map(|rule| match rule {
                ScopeRule::Equals { field, value } => format!("{field} = {value:?}"),
                ScopeRule::Like { field, pattern } => format!("{field} like {pattern:?}"),
                ScopeRule::Courses(courses) => format!("courses {}", courses.join(", ")),
            })
            .collect::<Vec<_>>()
            .join(" and ")
    };
    let _ = writeln!(out, "  owns      {scope}");
    let missing = match sync.missing {
        Missing::Keep => "kept",
        Missing::Suspend => "suspended",
        Missing::Delete => "deleted (needs --allow-delete)",
        Missing::Unenrol => "unenrolled",
    };
    let _ = writeln!(out, "  missing   in scope but not in the roster: {missing}");
}

/// How a read template calls Moodle and what it outputs.
fn describe_read(out: &mut String, template: &Template) {
    let Some(read) = template.read_spec() else { return };
    if let Some(options) = &read.options {
        let _ = writeln!(
            out,
            "\nOptions (sent as {0}[i][{1}], {0}[i][{2}]): {3}",
            options.list,
            options.key,
            options.value,
            options.fields.join(", ")
        );
    }
    let calls = match &template.batch.collect {
        Some(collect) => format!(
            "up to {} input records per call, their `{}` values in {}[i]",
            template.batch.size, collect.field, collect.into
        ),
        None => "one per input record (or one with --param only)".to_owned(),
    };
    let _ = writeln!(out, "\nCalls: {calls}");
    for join in &read.joins {
        let take = if join.take.is_empty() {
            "every field".to_owned()
        } else {
            join.take.join(", ")
        };
        let _ = writeln!(
            out,
            "Joins {} on {} = {}: {take}",
            join.template, join.local, join.remote
        );
    }
    for keep in &read.keep {
        let _ = writeln!(out, "Keeps records where: {}", keep.expr);
    }
    let columns = moodlec::fetch::shape::columns(template, &|_| Vec::new());
    let _ = writeln!(out, "Output records: {}", columns.join(", "));
}

/// `lookup` fields of a write template.
fn describe_lookups(out: &mut String, template: &Template) {
    if template.lookups.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nLookups (need --url):");
    for lookup in &template.lookups {
        let _ = writeln!(
            out,
            "  {} = the {} whose {} is {} ({})",
            lookup.field,
            lookup.kind.name(),
            lookup.key,
            lookup.from.template,
            lookup.kind.function()
        );
    }
}

fn describe_params(out: &mut String, template: &Template, values: &ParamValues) {
    if template.params.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nParams (set with --set NAME=VALUE):");
    for param in &template.params {
        let value = values
            .get(&param.name)
            .map_or_else(|| "(not set)".to_owned(), |v| show_param(param.ty, v));
        let _ = writeln!(out, "  {} : {} = {value}", param.name, param.ty.name());
        if !param.doc.is_empty() {
            let _ = writeln!(out, "      {}", param.doc);
        }
    }
}

fn show_param(ty: ParamType, value: &Value) -> String {
    match (ty, value) {
        (ParamType::Role, Value::Int(id)) => match STANDARD_ROLES.iter().find(|(_, r)| r == id) {
            Some((name, _)) => format!("{name} ({id})"),
            None => format!("role id {id}"),
        },
        _ => value.to_string(),
    }
}

fn describe_fields(
    out: &mut String,
    fields: &[Field],
    template: &Template,
    values: &ParamValues,
    depth: usize,
) {
    let indent = "  ".repeat(depth);
    let width = fields.iter().map(|f| f.name.len()).max().unwrap_or(0);
    for field in fields {
        let presence = match (field.required, field.per_call) {
            (true, true) => "required, per call",
            (false, true) => "optional, per call",
            (true, false) => "required",
            (false, false) => "optional",
        };
        let mut line = format!(
            "{indent}{:width$}  {:12} {presence}",
            field.name,
            field.ty.to_string()
        );
        if let Some(default) = &field.default {
            let _ = write!(line, "  default {}", show_default(default, template, values));
        }
        let constraints = show_constraints(&field.constraints);
        if !constraints.is_empty() {
            let _ = write!(line, "  {constraints}");
        }
        let _ = writeln!(out, "{}", line.trim_end());
        if !field.doc.is_empty() {
            let _ = writeln!(out, "{indent}    {}", field.doc);
        }
        describe_structure(out, &field.ty, template, values, depth);
    }
}

/// The fields inside a structure type, under its field: `fields:` of an
/// object, `each element:` of a list, at any depth.
fn describe_structure(
    out: &mut String,
    ty: &FieldType,
    template: &Template,
    values: &ParamValues,
    depth: usize,
) {
    let indent = "  ".repeat(depth);
    match ty {
        FieldType::List(inner) => {
            let _ = writeln!(out, "{indent}    each element:");
            describe_fields(out, inner, template, values, depth + 3);
        }
        FieldType::Object(inner) => {
            let _ = writeln!(out, "{indent}    fields:");
            describe_fields(out, inner, template, values, depth + 3);
        }
        FieldType::Values(inner) if inner.is_structure() => {
            let _ = writeln!(out, "{indent}    each element, a {inner}:");
            describe_structure(out, inner, template, values, depth + 2);
        }
        FieldType::Values(_) | FieldType::Scalar(_) | FieldType::Enum(_) => {}
    }
}

fn show_default(default: &DefaultValue, template: &Template, values: &ParamValues) -> String {
    match default {
        DefaultValue::Value(value) => value.to_string(),
        DefaultValue::Param(name) => {
            let ty = template.param(name).map_or(ParamType::Role, |p| p.ty);
            match values.get(name) {
                Some(value) => format!("param.{name} = {}", show_param(ty, value)),
                None => format!("param.{name} (not set)"),
            }
        }
    }
}

fn show_constraints(c: &Constraints) -> String {
    let mut parts = Vec::new();
    if let Some(min) = c.min {
        parts.push(format!("min {min}"));
    }
    if let Some(max) = c.max {
        parts.push(format!("max {max}"));
    }
    match (c.min_length, c.max_length) {
        (None, None) => {}
        (lo, hi) => parts.push(format!(
            "length {}..{}",
            lo.map(|n| n.to_string()).unwrap_or_default(),
            hi.map(|n| n.to_string()).unwrap_or_default()
        )),
    }
    if let Some(pattern) = &c.pattern {
        parts.push(format!("pattern {:?}", pattern.source));
    }
    if !c.one_of.is_empty() {
        let values: Vec<String> = c.one_of.iter().map(ToString::to_string).collect();
        parts.push(format!("one of [{}]", values.join(", ")));
    }
    // `warn` constraints: Moodle accepts a value breaking them (a warning).
    if let Some(advisory) = &c.advisory {
        parts.push(format!("warn {}", show_constraints(advisory)));
    }
    parts.join(", ")
}

fn describe_mapping(out: &mut String, template: &Template) {
    let Some(mapping) = &template.mapping else {
        return;
    };
    let _ = writeln!(out, "\nFrom source records:");
    for map in &mapping.maps {
        let _ = writeln!(out, "  {} = {:?}", map.field, map.template);
    }
    for (field, value) in &mapping.sets {
        let _ = writeln!(out, "  {field} = {value} (always)");
    }
    if !mapping.excludes.is_empty() {
        let _ = writeln!(out, "  dropped: {}", mapping.excludes.join(", "));
    }
}

fn describe_checks(out: &mut String, template: &Template) {
    if !template.rules.is_empty() {
        let _ = writeln!(out, "\nRules:");
        for rule in &template.rules {
            let warn = if rule.advisory { " (warning only)" } else { "" };
            let _ = writeln!(out, "  {}{warn}\n      {}", rule.message, rule.expr);
        }
    }
    if !template.unique.is_empty() {
        let _ = writeln!(out, "\nUnique across the dataset:");
        for unique in &template.unique {
            let case = if unique.ignore_case {
                " (ignoring case)"
            } else {
                ""
            };
            let _ = writeln!(out, "  {}{case}", unique.fields.join(" + "));
        }
    }
    if let Some(policy) = &template.password_policy {
        let _ = writeln!(out, "\nPassword policy: {}", show_policy(policy));
    }
    let batch = &template.batch;
    let mut grouping = batch
        .group_by
        .as_ref()
        .map(|g| format!(", grouped by {g}"))
        .unwrap_or_default();
    if template.fields.iter().any(|f| f.per_call) {
        grouping.push_str(", records with equal per-call values together");
    }
    let collected = batch
        .collect
        .as_ref()
        .map(|c| format!(", their {} values sent as {}[i]", c.field, c.into))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "\nBatches: up to {} records per call{grouping}{collected}, under max_input_vars {}",
        batch.size, batch.max_input_vars
    );
    let _ = writeln!(out, "Returns: {}", show_returns(&template.returns));
}

fn show_policy(p: &PasswordPolicy) -> String {
    let mut parts = vec![format!("at least {} characters", p.min_length)];
    for (n, what) in [
        (p.min_digits, "digit"),
        (p.min_lower, "lower case letter"),
        (p.min_upper, "upper case letter"),
        (p.min_nonalphanum, "special character"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {what}(s)"));
        }
    }
    if p.max_consecutive_identical > 0 {
        parts.push(format!(
            "at most {} identical characters in a row",
            p.max_consecutive_identical
        ));
    }
    parts.join(", ")
}

fn show_returns(returns: &Returns) -> String {
    let fields = |fields: &[Field]| {
        fields
            .iter()
            .map(|f| format!("{}: {}", f.name, f.ty))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match returns {
        Returns::Nothing => "nothing (null)".to_owned(),
        Returns::List(f) => format!("a list of {{ {} }}, one per record", fields(f)),
        Returns::Object(f) => format!("{{ {} }}", fields(f)),
        Returns::Value { ty, ok: Some(ok) } => {
            format!(
                "a single {} ({} means applied; any other answer, nothing was)",
                ty.name(),
                ok
            )
        }
        Returns::Value { ty, ok: None } => format!("a single {}", ty.name()),
    }
}
