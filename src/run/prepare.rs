//! Before a run sends anything: the site must know the token and let it call
//! the template's function (and its lookup functions); the template's applied
//! check must be usable with that service.

use crate::site::preflight::{site_info, Refusal, SiteInfo};
use crate::site::Session;
use crate::template::{AppliedCheck, Template};
use crate::validate::keys;

/// The checks passed: what the run may rely on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cleared {
    /// The site.
    pub info: SiteInfo,
    /// The template's applied check, as the service allows it: a lookup
    /// function missing from the service makes it `Unknown`.
    pub applied: AppliedCheck,
    /// Things to tell the user that do not stop the run.
    pub warnings: Vec<String>,
}

/// Check the token and the service against `template`: its function, and
/// the functions of its lookups.
///
/// # Errors
/// Why the run cannot start.
pub async fn preflight(session: &Session, template: &Template) -> Result<Cleared, Refusal> {
    let info = site_info(session, &template.function).await?;
    let cleared = clear(info, template)?;
    cleared.info.require(
        &keys::functions(template),
        &format!("which the lookups of template `{}` need", template.name),
    )?;
    Ok(cleared)
}

/// The checks on a site's answer, for `template`.
///
/// # Errors
/// The service lacks the template's function.
pub fn clear(info: SiteInfo, template: &Template) -> Result<Cleared, Refusal> {
    info.require(
        &[template.function.as_str()],
        &format!("the function of template `{}`", template.name),
    )?;
    let mut warnings = Vec::new();
    let applied = match &template.applied {
        AppliedCheck::Lookup { function, .. } if !info.has(function) => {
            warnings.push(format!(
                "the token's service does not include {function}: after a timeout, moodlec cannot check whether records were applied and reports them as failed with an unknown outcome (add {function} to the service to fix this)"
            ));
            AppliedCheck::Unknown
        }
        other => other.clone(),
    };
    Ok(Cleared {
        info,
        applied,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin;
    use crate::moodle::ws::SITE_INFO;

    fn info(functions: &[&str]) -> SiteInfo {
        SiteInfo {
            sitename: "S".into(),
            release: Some("4.5".into()),
            username: "admin".into(),
            functions: functions.iter().map(|f| (*f).to_owned()).collect(),
        }
    }

    #[test]
    fn the_function_must_be_in_the_service() {
        let template = builtin::catalog().get("create_users").unwrap();
        let refusal = clear(info(&[SITE_INFO]), template).unwrap_err();
        assert!(refusal.message.contains("core_user_create_users"));
        assert!(refusal.help.contains("Add functions"));
        let cleared = clear(info(&["core_user_create_users"]), template).unwrap();
        assert_eq!(cleared.applied, AppliedCheck::Unknown);
        assert_eq!(cleared.warnings.len(), 1);
        let cleared = clear(
            info(&["core_user_create_users", "core_user_get_users_by_field"]),
            template,
        )
        .unwrap();
        assert_eq!(cleared.applied, template.applied);
        assert!(cleared.warnings.is_empty());
    }
}
