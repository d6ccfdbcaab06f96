//! One read call, end to end: call Moodle, find the output records, annotate,
//! keep, join, and shape them.

use super::extract::{self, Output, ShapeError};
use super::join::{enrich, JoinCache};
use super::request::Call;
use super::shape;
use crate::check::Catalog;
use crate::site::{ReadError, Session};
use crate::template::ReadTemplate;

/// Why a call produced no records.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FetchError {
    /// Moodle refused the call, or it got no answer.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The answer is not shaped as the template declares.
    #[error(transparent)]
    Shape(#[from] ShapeError),
    /// A record could not be shaped (a `keep` or `map` failed, a join input was invalid).
    #[error("{0}")]
    Record(String),
}

impl FetchError {
    /// Whether the site could not be reached (as opposed to refusing this call).
    pub fn is_transport(&self) -> bool {
        matches!(self, FetchError::Read(ReadError::Transport(_)))
    }
}

/// Runs calls of one read template, sharing a join cache.
pub struct Fetcher<'a> {
    template: &'a ReadTemplate,
    catalog: &'a Catalog,
    session: &'a Session,
    cache: JoinCache,
}

impl<'a> Fetcher<'a> {
    /// A fetcher for `template`; joined templates are found in `catalog`.
    pub fn new(template: &'a ReadTemplate, catalog: &'a Catalog, session: &'a Session) -> Self {
        Fetcher {
            template,
            catalog,
            session,
            cache: JoinCache::default(),
        }
    }

    /// The joined templates, or the name of one that is missing or not a read template.
    ///
    /// # Errors
    /// A joined template is unknown or writes.
    pub fn joined(template: &ReadTemplate, catalog: &Catalog) -> Result<Vec<ReadTemplate>, String> {
        template
            .spec()
            .joins
            .iter()
            .map(
                |join| match catalog.get(&join.template).cloned().map(ReadTemplate::new) {
                    Some(Ok(joined)) => Ok(joined),
                    Some(Err(_)) => Err(format!(
                        "`{}` joins `{}`, which is not a read template (it has no `emits`)",
                        template.name, join.template
                    )),
                    None => Err(format!(
                        "`{}` joins `{}`, which is not a known template",
                        template.name, join.template
                    )),
                },
            )
            .collect()
    }

    /// The output records of one call.
    ///
    /// # Errors
    /// See [`FetchError`].
    pub async fn call(&self, call: &Call) -> Result<Vec<Output>, FetchError> {
        let answer = self.session.read(&self.template.function, &call.params).await?;
        let mut records = extract::records(self.template, &answer)?;
        let read = self.template.spec();
        if let Some(first) = call.inputs.first() {
            for record in &mut records {
                shape::annotate(self.template, first, record);
            }
        }
        let mut kept = Vec::with_capacity(records.len());
        for record in records {
            if shape::keep(read, &record).map_err(FetchError::Record)? {
                kept.push(record);
            }
        }
        for join in &read.joins {
            let joined = self
                .catalog
                .get(&join.template)
                .and_then(|t| ReadTemplate::new(t.clone()).ok())
                .ok_or_else(|| FetchError::Record(format!("no read template `{}` to join", join.template)))?;
            enrich(join, &joined, &mut kept, self.session, &self.cache).await?;
        }
        kept.into_iter()
            .map(|record| shape::finish(read, record).map_err(FetchError::Record))
            .collect()
    }
}
