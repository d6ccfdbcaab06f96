//! The site, the token and the clients built from the flags of `cli::args`,
//! shared by every command that talks to Moodle (`run`, `fetch`,
//! `validate --url`, `login`).

use std::path::{Path, PathBuf};

use moodlec::site::retry::RetryPolicy;
use moodlec::site::token::Token;
use moodlec::site::{Session, Settings, SiteUrl};

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

    /// A session with `site`, with the token and retries of `token`.
    ///
    /// # Errors
    /// No token, or the HTTP client cannot be built (exit 2).
    pub fn session(&self, token: &TokenArgs, site: &SiteUrl) -> Result<Session, Error> {
        let secret = read_token(token.token_file.as_deref())?;
        open_session(site, secret, self.settings(token))
    }

    /// How a session with the site behaves: --timeout, --retries, --rate.
    pub fn settings(&self, token: &TokenArgs) -> Settings {
        Settings {
            timeout: self.timeout,
            retry: token.retry_policy(),
            rate: token.rate,
        }
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

/// A session with `site`.
///
/// # Errors
/// The HTTP client cannot be built (exit 2).
pub fn open_session(site: &SiteUrl, token: Token, settings: Settings) -> Result<Session, Error> {
    Session::open(site.clone(), token, settings).map_err(Error::usage)
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

/// `$XDG_CONFIG_HOME/moodlec/token`, else `~/.config/moodlec/token`.
pub fn default_token_file() -> Option<PathBuf> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))?;
    Some(config.join("moodlec").join("token"))
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
    match default_token_file().filter(|p| p.exists()) {
        Some(path) => from_file(&path),
        None => Err(Error::usage("no web-service token").with_help(help)),
    }
}
