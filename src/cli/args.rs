//! Flags that several commands share, declared once.

use std::path::PathBuf;

/// How to reach the site: `--url`, `--allow-http`, `--timeout` (fetch,
/// validate, run, login). A command that needs the site makes `--url`
/// required, or says so itself (see `SiteArgs::required_site`).
#[derive(Debug, Clone, clap::Args)]
pub struct SiteArgs {
    /// The Moodle site (its wwwroot), e.g. https://moodle.example.edu.
    #[arg(long, env = "MOODLE_URL")]
    pub url: Option<String>,
    /// Allow plain http:// to a host other than this machine.
    #[arg(long)]
    pub allow_http: bool,
    /// Seconds to wait for each answer.
    #[arg(long, default_value_t = 300.0, value_name = "S", value_parser = positive)]
    pub timeout: f64,
}

/// The token and how hard to try: `--token-file`, `--retries`, `--rate`
/// (the commands that call web-service functions with a token).
#[derive(Debug, Clone, clap::Args)]
pub struct TokenArgs {
    /// Read the token from this file (else MOODLE_TOKEN, else the file `moodlec login` wrote).
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
    /// Retries of a read call that got no answer, a 5xx or a 429.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub retries: u32,
    /// First retry delay in milliseconds; it doubles each time (for tests).
    #[arg(long, default_value_t = 250, value_name = "MS", hide = true)]
    pub retry_base_ms: u64,
    /// At most R requests per second.
    #[arg(long, value_name = "R", value_parser = positive)]
    pub rate: Option<f64>,
}

/// A positive, finite number (of requests per second).
pub fn positive(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if value > 0.0 && value.is_finite() => Ok(value),
        _ => Err(format!("`{text}` is not a positive number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positive_refuses_zero_negative_and_non_finite() {
        assert_eq!(positive("2.5"), Ok(2.5));
        for text in ["0", "-1", "NaN", "inf", ""] {
            assert!(positive(text).is_err(), "{text:?}");
        }
    }
}
