//! Stage 7: the only layer that talks to Moodle.
//!
//! A [`Session`] holds what a conversation with one site needs: the site's
//! URL ([`url`]), the token ([`token`], scrubbed here from every answer and
//! error before it leaves), the HTTP client (`client`, private: nothing above sees reqwest), and the one retry
//! loop with a policy for reads and one for writes ([`retry`]). On top of it:
//! the preflight that asks the site about the token and its service
//! ([`preflight`]), login for a token ([`login`]), the one find-by-field
//! service ([`find`]), webhooks ([`webhook`]), and how many requests go at
//! once ([`limit`]: fixed, or adaptive to how the site answers).
//!
//! `run`, `fetch`, lookups and `login` get what they need from here and never
//! see reqwest, `Retry-After` or the token.

mod client;
pub mod facts;
pub mod find;
pub mod limit;
pub mod login;
pub mod preflight;
pub mod reply;
pub mod retry;
mod session;
pub mod token;
pub mod url;
pub mod webhook;

pub use limit::{Concurrency, Limiter};
pub use reply::{CallError, MoodleError, Reply};
pub use session::{Counts, ReadError, Session, Settings};
pub use url::SiteUrl;
