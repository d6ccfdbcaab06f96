//! The site, the token and the clients built from the flags of `cli::args`,
//! shared by every command that talks to Moodle (`run`, `fetch`,
//! `validate --url`, `login`).

use std::path::Path;

use moodlec::site::retry::RetryPolicy;
use moodlec::site::token::Token;
use moodlec::site::{Session, Settings, SiteUrl};

use crate::cli::args::{SiteArgs, TokenArgs};
use crate::cli::error::Error;
use crate::cli::sites::{self, Profile};

impl SiteArgs {
    /// The site, when `--url`, `--site` (or MOODLE_URL, MOODLEC_SITE) names
    /// one. The config file's `default` is not used here: a command for
    /// which the site is optional (`validate`) stays offline unless asked.
    ///
    /// # Errors
    /// The URL is not acceptable, or the named site is not in the config file (exit 2).
    pub fn site(&self) -> Result<Option<SiteUrl>, Error> {
        Ok(self.target(false)?.map(|(site, _)| site))
    }

    /// The site and, when it is a named one, its profile. A flag beats an
    /// environment variable: `--site` beats MOODLE_URL, `--url` beats
    /// MOODLEC_SITE; two of a kind naming the site are refused. With
    /// `default`, the config file's `default` site when nothing names one.
    ///
    /// # Errors
    /// As [`SiteArgs::site`].
    pub fn target(&self, default: bool) -> Result<Option<(SiteUrl, Option<Profile>)>, Error> {
        let from_env = |value: &str, var: &str| std::env::var(var).is_ok_and(|v| v == value);
        let url = self.url.as_deref().map(|u| (u, from_env(u, "MOODLE_URL")));
        let name = self
            .site_name
            .as_deref()
            .map(|n| (n, from_env(n, "MOODLEC_SITE")));
        let use_profile = match (url, name) {
            (Some((_, url_env)), Some((_, site_env))) if url_env == site_env => {
                let (a, b) = if url_env {
                    ("MOODLE_URL", "MOODLEC_SITE")
                } else {
                    ("--url", "--site")
                };
                return Err(
                    Error::usage(format!("{a} and {b} both name the site")).with_help("give one of them")
                );
            }
            (Some((_, url_env)), Some(_)) => url_env,
            (None, Some(_)) => true,
            (_, None) => false,
        };
        if use_profile {
            return match sites::profile(self.site_name.as_deref())? {
                Some(profile) => self.profile_target(profile).map(Some),
                None => Ok(None),
            };
        }
        if let Some(url) = &self.url {
            return Ok(Some((SiteUrl::parse(url, self.allow_http)?, None)));
        }
        if !default {
            return Ok(None);
        }
        match sites::profile(None)? {
            Some(profile) => self.profile_target(profile).map(Some),
            None => Ok(None),
        }
    }

    fn profile_target(&self, profile: Profile) -> Result<(SiteUrl, Option<Profile>), Error> {
        let site = SiteUrl::parse(&profile.url, self.allow_http || profile.allow_http).map_err(|error| {
            Error::usage(format!("site `{}` of the config file: {error}", profile.name))
                .with_help(error.help())
        })?;
        Ok((site, Some(profile)))
    }

    /// The site, which `command` cannot do without: named, else the config
    /// file's `default` one.
    ///
    /// # Errors
    /// No site, or not an acceptable one (exit 2).
    pub fn required_site(&self, command: &str) -> Result<SiteUrl, Error> {
        self.target(true)?.map(|(site, _)| site).ok_or_else(|| {
            Error::usage(format!("{command} needs the site"))
                .with_help("pass --url https://moodle.example.edu or --site NAME (a [site.NAME] of the config file), or set MOODLE_URL")
        })
    }

    /// A session with `site`, with the token and retries of `token`.
    ///
    /// # Errors
    /// No token, or the HTTP client cannot be built (exit 2).
    pub fn session(&self, token: &TokenArgs, site: &SiteUrl) -> Result<Session, Error> {
        let secret = read_token(token.token_file.as_deref(), site)?;
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

/// The token: `token_file`, else MOODLE_TOKEN (both explicit choices, sent
/// to whatever site is asked), else the token `moodlec login` stored for
/// exactly `site`. A token stored for another site is never sent.
///
/// # Errors
/// None for this site, or the file is unreadable or empty (exit 2).
pub fn read_token(token_file: Option<&Path>, site: &SiteUrl) -> Result<Token, Error> {
    let login = format!("run `moodlec login --url {site} --username USER`");
    let help = format!("{login}, set MOODLE_TOKEN, or pass --token-file PATH");
    if let Some(path) = token_file {
        let text = std::fs::read_to_string(path).map_err(|error| {
            Error::usage(format!("cannot read the token file {}: {error}", path.display())).with_help(&help)
        })?;
        return Token::new(&text).ok_or_else(|| {
            Error::usage(format!("the token file {} is empty", path.display())).with_help(&help)
        });
    }
    if let Some(token) = std::env::var("MOODLE_TOKEN").ok().as_deref().and_then(Token::new) {
        return Ok(token);
    }
    if let Some(stored) = sites::stored_token(site)? {
        return Ok(stored.token);
    }
    let elsewhere = sites::stored_sites();
    let legacy = sites::config_dir()
        .map(|dir| dir.join("token"))
        .filter(|p| p.exists());
    let mut message = format!("no web-service token for {site}");
    if !elsewhere.is_empty() {
        message.push_str(&format!(
            " (moodlec login stored tokens for {} only: a token is only sent to the site it was issued for)",
            elsewhere.join(", ")
        ));
    }
    let help = match legacy {
        Some(path) => format!(
            "{help}; {} was saved by an older moodlec and does not say which site it is for: it is no longer used (log in again, then delete it)",
            path.display()
        ),
        None => help,
    };
    Err(Error::usage(message).with_help(help))
}
