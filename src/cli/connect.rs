//! The site, the token and the client settings shared by every command that
//! talks to Moodle (`run`, `fetch`, `validate --url`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use moodlec::site::retry::RetryPolicy;
use moodlec::site::token::Token;
use moodlec::site::{Session, Settings, SiteUrl};

use crate::cli::exit;
use crate::cli::report;

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
    /// The URL is not acceptable (exit 2, reported).
    pub fn site(&self) -> Result<Option<SiteUrl>, u8> {
        let Some(url) = &self.url else {
            return Ok(None);
        };
        SiteUrl::parse(url, self.allow_http).map(Some).map_err(|error| {
            report::error(&error.to_string(), Some(error.help()));
            exit::USAGE_OR_TEMPLATE
        })
    }

    /// A session with `site`, with this token and these settings.
    ///
    /// # Errors
    /// No token, or the HTTP client cannot be built (exit 2, reported).
    pub fn session(&self, site: &SiteUrl) -> Result<Session, u8> {
        let token = read_token(self.token_file.as_deref())?;
        let settings = Settings {
            timeout: Duration::from_secs_f64(self.timeout),
            retry: RetryPolicy {
                retries: self.retries,
                ..RetryPolicy::default()
            },
            rate: self.rate,
        };
        open_session(site, token, settings)
    }
}

/// A session with `site` (exit 2, reported, if the HTTP client cannot be built).
pub fn open_session(site: &SiteUrl, token: Token, settings: Settings) -> Result<Session, u8> {
    Session::open(site.clone(), token, settings).map_err(|message| {
        report::error(&message, None);
        exit::USAGE_OR_TEMPLATE
    })
}

/// The one current-thread runtime a command runs its calls on.
///
/// # Errors
/// The runtime cannot be built (exit 2, reported).
pub fn runtime() -> Result<tokio::runtime::Runtime, u8> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| {
            report::error(&format!("cannot start the runtime: {error}"), None);
            exit::USAGE_OR_TEMPLATE
        })
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
/// None found, or the file is unreadable or empty (exit 2, reported).
pub fn read_token(token_file: Option<&Path>) -> Result<Token, u8> {
    let help = "set MOODLE_TOKEN, pass --token-file PATH, or run `moodlec login`";
    let from_file = |path: &Path| -> Result<Token, u8> {
        let text = std::fs::read_to_string(path).map_err(|error| {
            report::error(
                &format!("cannot read the token file {}: {error}", path.display()),
                Some(help),
            );
            exit::USAGE_OR_TEMPLATE
        })?;
        Token::new(&text).ok_or_else(|| {
            report::error(&format!("the token file {} is empty", path.display()), Some(help));
            exit::USAGE_OR_TEMPLATE
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
        None => {
            report::error("no web-service token", Some(help));
            Err(exit::USAGE_OR_TEMPLATE)
        }
    }
}
