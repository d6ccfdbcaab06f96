//! Statements that name a field of the template (`unique`, `batch ... group_by`,
//! `map`, `exclude`, `keep`): finding it, or saying why it cannot be used.
//! Shared by the statement checkers, so that none of them imports another.

use super::suggest::suggestion;
use super::Diagnostics;
use crate::diagnostic::{Code, TemplateDiagnostic};
use crate::syntax::ast;
use crate::template::{Field, FieldType, Template};

/// The scalar field `ident` names, or a diagnostic saying why not.
pub(super) fn scalar_field<'t>(
    template: &'t Template,
    ident: &ast::Ident,
    what: &str,
    diags: &mut Diagnostics,
) -> Option<&'t Field> {
    match template.field(&ident.name) {
        Some(field) if field.ty.is_structure() => {
            let kind = match field.ty {
                FieldType::Object(_) => "object",
                _ => "list",
            };
            diags.push(
                diags
                    .error(
                        Code::NotScalar,
                        ident.span,
                        format!("`{what}` cannot use the {kind} field `{}`", ident.name),
                    )
                    .label(format!(
                        "a{} {kind} field",
                        if kind == "object" { "n" } else { "" }
                    ))
                    .help(format!("`{what}` compares single values; name a scalar field")),
            );
            None
        }
        Some(field) => Some(field),
        None => {
            diags.push(unknown_field(template, ident, what, diags));
            None
        }
    }
}

/// A diagnostic for a statement naming a field the template does not have.
pub(super) fn unknown_field(
    template: &Template,
    ident: &ast::Ident,
    what: &str,
    diags: &Diagnostics,
) -> TemplateDiagnostic {
    let names: Vec<&str> = template.fields.iter().map(|f| f.name.as_str()).collect();
    let mut diag = diags
        .error(
            Code::UnknownField,
            ident.span,
            format!(
                "`{what}` names `{}`, which is not a field of `{}`",
                ident.name, template.name
            ),
        )
        .label("unknown field");
    if let Some(help) = suggestion(&ident.name, &names) {
        diag = diag.help(help);
    }
    diag
}
