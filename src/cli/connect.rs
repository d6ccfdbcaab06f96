//! The site, the token and the client settings shared by every command that
//! talks to Moodle (`run`, `fetch`, `validate --url`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use moodlec::read::Reader;
use moodlec::run::client::Client;
use moodlec::run::retry::RetryPolicy;
use moodlec::run::site::SiteUrl;
use moodlec::run::token::Token;

use crate::cli::error::Error;

/// How to reach the site: `--url`, the token and the client's patience.
#[derive(Debug, Clone, clap::Args)]
pub struct SiteArgs {
    /// The Moodle site (its wwwroot), e.g. https://moodle.example.edu.
    #[arg(long, env = "MOODLE_URL")]
    pub url: Option<String>,
    /// Read the token from this file (else MOODLE_TOKEN, else the file `moodlec login` wrote).
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
    /// Allow plain http:// to a host other than this machine.
    #[arg(long)]
    pub allow_http: bool,
    /// Seconds to wait for each answer.
    #[arg(long, default_value_t = 300.0, value_name = "S", value_parser = positive)]
    pub timeout: f64,
    /// Retries of a read call that got no answer, a 5xx or a 429.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub retries: u32,
    /// At most R requests per second.
    #[arg(long, value_name = "R", value_parser = positive)]
    pub rate: Option<f64>,
}

/// A positive, finite number of seconds or requests.
pub fn positive(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if value > 0.0 && value.is_finite() => Ok(value),
        _ => Err(format!("`{text}` is not a positive number")),
    }
}

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

    /// A reader for `site`, with this token and these settings.
    ///
    /// # Errors
    /// No token, or the HTTP client cannot be built (exit 2).
    pub fn reader(&self, site: &SiteUrl) -> Result<Reader, Error> {
        let token = read_token(self.token_file.as_deref())?;
        let client = Client::new(site, token, Duration::from_secs_f64(self.timeout)).map_err(Error::usage)?;
        Ok(Reader::new(client, self.retry_policy(), self.rate))
    }

    /// --retries, for read calls.
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            retries: self.retries,
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
