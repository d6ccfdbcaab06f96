//! Flags that several commands share, declared once, and the parsers of
//! numeric values that must never reach a panic further on.

use std::path::PathBuf;
use std::time::Duration;

use moodlec::site::Concurrency;

/// How to reach the site: `--url`, `--allow-http`, `--timeout` (fetch,
/// validate, run, login). A command that needs the site makes `--url`
/// required, or says so itself (see `SiteArgs::required_site`).
#[derive(Debug, Clone, clap::Args)]
pub struct SiteArgs {
    /// The Moodle site (its wwwroot), e.g. https://moodle.example.edu.
    #[arg(long, env = "MOODLE_URL")]
    pub url: Option<String>,
    /// A named site of the config file ($XDG_CONFIG_HOME/moodlec/config.toml, `[site.NAME]`).
    #[arg(long = "site", env = "MOODLEC_SITE", value_name = "NAME")]
    pub site_name: Option<String>,
    /// Allow plain http:// to a host other than this machine.
    #[arg(long)]
    pub allow_http: bool,
    /// Seconds to wait for each answer.
    #[arg(long, default_value = "300", value_name = "S", value_parser = seconds)]
    pub timeout: Duration,
}

/// The token and how hard to try: `--token-file`, `--retries`, `--rate`
/// (the commands that call web-service functions with a token).
#[derive(Debug, Clone, clap::Args)]
pub struct TokenArgs {
    /// Read the token from this file (else MOODLE_TOKEN, else the token `moodlec login` stored for the site).
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

/// How many requests go at once: `--concurrency`, `--max-concurrency` (run, fetch).
#[derive(Debug, Clone, clap::Args)]
pub struct ConcurrencyArgs {
    /// Requests in flight at once: `auto` starts at 1 and adds one while the site answers as fast
    /// as before, and halves on a timeout, a 5xx, a 429 or answers slowing down; a number fixes it.
    #[arg(long, default_value = "auto", value_name = "auto|N", value_parser = concurrency)]
    pub concurrency: ConcurrencyArg,
    /// The most requests in flight at once with `--concurrency auto`.
    #[arg(long, default_value_t = 8, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub max_concurrency: u16,
}

impl ConcurrencyArgs {
    /// What the flags ask for.
    pub fn concurrency(&self) -> Concurrency {
        match self.concurrency {
            ConcurrencyArg::Fixed(n) => Concurrency::Fixed(usize::from(n)),
            ConcurrencyArg::Auto => Concurrency::Auto {
                max: usize::from(self.max_concurrency),
            },
        }
    }
}

/// The value of `--concurrency`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConcurrencyArg {
    /// Adaptive.
    Auto,
    /// This many.
    Fixed(u16),
}

/// `auto` or a number of requests from 1 to 64.
pub fn concurrency(text: &str) -> Result<ConcurrencyArg, String> {
    if text.eq_ignore_ascii_case("auto") {
        return Ok(ConcurrencyArg::Auto);
    }
    match text.parse::<u16>() {
        Ok(n @ 1..=64) => Ok(ConcurrencyArg::Fixed(n)),
        _ => Err(format!("`{text}` is not `auto` or a number from 1 to 64")),
    }
}

/// A positive, finite number (of requests per second).
pub fn positive(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if value > 0.0 && value.is_finite() => Ok(value),
        _ => Err(format!("`{text}` is not a positive number")),
    }
}

/// A number of seconds, as the `Duration` it stands for.
///
/// Refused here, with a message, rather than panicking where the duration is
/// made: what is not a number, not more than zero, infinite, longer than a
/// `Duration` holds (about 584 billion years), or shorter than a nanosecond.
pub fn seconds(text: &str) -> Result<Duration, String> {
    let value = match text.parse::<f64>() {
        Ok(value) if !value.is_nan() => value,
        _ => return Err(format!("`{text}` is not a number of seconds")),
    };
    if value <= 0.0 {
        return Err(format!("`{text}` is not a positive number of seconds"));
    }
    if value.is_infinite() {
        return Err(format!("`{text}` is not a finite number of seconds"));
    }
    match Duration::try_from_secs_f64(value) {
        Ok(duration) if duration.is_zero() => Err(format!("`{text}` seconds is less than a nanosecond")),
        Ok(duration) => Ok(duration),
        Err(_) => Err(format!(
            "`{text}` seconds is longer than any wait can be (at most {} seconds)",
            Duration::MAX.as_secs()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_take_fractions_and_exponents() {
        assert_eq!(seconds("300"), Ok(Duration::from_secs(300)));
        assert_eq!(seconds("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(seconds("1e3"), Ok(Duration::from_secs(1000)));
    }

    #[test]
    fn seconds_refuse_what_no_duration_holds() {
        for text in [
            "",
            "x",
            "NaN",
            "-1",
            "0",
            "-0",
            "inf",
            "-inf",
            "1e30",
            "18446744073709551616",
            "1e-10",
        ] {
            let refused = seconds(text);
            assert!(refused.is_err(), "{text:?} gave {refused:?}");
            assert!(refused.unwrap_err().contains(&format!("`{text}`")), "{text:?}");
        }
    }

    #[test]
    fn concurrency_is_auto_or_a_small_number() {
        assert_eq!(concurrency("auto"), Ok(ConcurrencyArg::Auto));
        assert_eq!(concurrency("AUTO"), Ok(ConcurrencyArg::Auto));
        assert_eq!(concurrency("1"), Ok(ConcurrencyArg::Fixed(1)));
        assert_eq!(concurrency("64"), Ok(ConcurrencyArg::Fixed(64)));
        for text in ["0", "65", "-1", "", "fast", "2.5"] {
            assert!(concurrency(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn positive_refuses_zero_negative_and_non_finite() {
        assert_eq!(positive("2.5"), Ok(2.5));
        for text in ["0", "-1", "NaN", "inf", ""] {
            assert!(positive(text).is_err(), "{text:?}");
        }
    }
}
