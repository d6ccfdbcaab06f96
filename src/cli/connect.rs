//! The site, the token and the clients built from the flags of `cli::args`,
//! shared by every command that talks to Moodle (`run`, `fetch`,
//! `validate --url`, `login`).

use std::path::Path;

use moodlec::read::Reader;
use moodlec::run::client::Client;
use moodlec::run::retry::RetryPolicy;
use moodlec::run::site::SiteUrl;
use moodlec::run::token::Token;

use crate::cli::args::{SiteArgs, TokenArgs};
use crate::cli::error::Error;

impl SiteArgs {
    /// The site, when `--url` (or MOODLE_URL) is given.
    ///
    /// # Errors
    /// The URL is not acceptable (exit 2).
    pub fn site(&self) -> Result<Option<SiteUrl>, Error> {
        let Some(url) = &self.url else {
            return Ok(None);
        };
        Ok(Some(SiteUrl::parse(url, self.allow_http)?))
    }

    /// The site, which `command` cannot do without.
    ///
    /// # Errors
    /// No `--url` nor MOODLE_URL, or not an acceptable one (exit 2).
    pub fn required_site(&self, command: &str) -> Result<SiteUrl, Error> {
        self.site()?.ok_or_else(|| {
            Error::usage(format!("{command} needs the site"))
                .with_help("pass --url https://moodle.example.edu or set MOODLE_URL")
        })
    }

    /// A reader for `site`, with the token and retries of `token`.
    ///
    /// # Errors
    /// No token, or the HTTP client cannot be built (exit 2).
    pub fn reader(&self, token: &TokenArgs, site: &SiteUrl) -> Result<Reader, Error> {
        let client = self.client(site, read_token(token.token_file.as_deref())?)?;
        Ok(Reader::new(client, token.retry_policy(), token.rate))
    }

    /// The HTTP client for `site`, giving up on a call after --timeout.
    ///
    /// # Errors
    /// The HTTP client cannot be built (exit 2).
    pub fn client(&self, site: &SiteUrl, token: Token) -> Result<Client, Error> {
        Client::new(site, token, self.timeout).map_err(Error::usage)
    }
}

impl TokenArgs {
    /// --retries and the (hidden) first retry delay.
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            retries: self.retries,
            base: std::time::Duration::from_millis(self.retry_base_ms),
            ..RetryPolicy::default()
        }
    }
}

/// The one current-thread runtime a command runs its calls on.
///
/// # Errors
/// The runtime cannot be built (exit 2).
pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| Error::usage(format!("cannot start the runtime: {error}")))
}

/// The token: `token_file`, else MOODLE_TOKEN, else the file `moodlec login` wrote.
///
/// # Errors
/// None found, or the file is unreadable or empty (exit 2).
pub fn read_token(token_file: Option<&Path>) -> Result<Token, Error> {
    let help = "set MOODLE_TOKEN, pass --token-file PATH, or run `moodlec login`";
    let from_file = |path: &Path| -> Result<Token, Error> {
        let text = std::fs::read_to_string(path).map_err(|error| {
            Error::usage(format!("cannot read the token file {}: {error}", path.display())).with_help(help)
        })?;
        Token::new(&text).ok_or_else(|| {
            Error::usage(format!("the token file {} is empty", path.display())).with_help(help)
        })
    };
    if let Some(path) = token_file {
        return from_file(path);
    }
    if let Some(token) = std::env::var("MOODLE_TOKEN").ok().as_deref().and_then(Token::new) {
        return Ok(token);
    }
    match super::commands::login::default_token_file().filter(|p| p.exists()) {
        Some(path) => from_file(&path),
        None => Err(Error::usage("no web-service token").with_help(help)),
    }
}
