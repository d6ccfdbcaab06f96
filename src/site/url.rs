//! The site's address: parsed once, HTTPS unless the site is on this machine.

use std::fmt;

use reqwest::Url;

use crate::moodle::ws::{LOGIN_PATH, REST_PATH};

/// A Moodle site's wwwroot, checked.
#[derive(Clone, PartialEq, Eq)]
pub struct SiteUrl(Url);

/// Why a site URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SiteUrlError {
    /// Not a URL at all.
    #[error("`{url}` is not a URL: {reason}")]
    Malformed {
        /// As given.
        url: String,
        /// What the URL parser said.
        reason: String,
    },
    /// Not http or https.
    #[error("`{url}` is not an http(s) URL")]
    Scheme {
        /// As given.
        url: String,
    },
    /// Plain HTTP to another machine would send the token in clear text.
    #[error("`{url}` uses plain HTTP: the token would cross the network unencrypted")]
    Insecure {
        /// As given.
        url: String,
    },
    /// Query strings and fragments have no place in a wwwroot.
    #[error("`{url}` has a query or fragment; give the site's address (its wwwroot) only")]
    Extra {
        /// As given, without its query or fragment.
        url: String,
    },
    /// `user:password@` in the URL: moodlec authenticates with the token only.
    #[error("`{url}` carries a user name or password; give the site's address without them")]
    Credentials {
        /// As given, without the credentials.
        url: String,
    },
}

impl SiteUrlError {
    /// How to fix it.
    pub fn help(&self) -> &'static str {
        match self {
            SiteUrlError::Credentials { .. } => {
                "moodlec authenticates with the token (MOODLE_TOKEN, --token-file or `moodlec login`), never with credentials in --url"
            }
            SiteUrlError::Malformed { .. } | SiteUrlError::Scheme { .. } | SiteUrlError::Extra { .. } => {
                "give the address you open Moodle at, e.g. https://moodle.example.edu or https://example.edu/moodle"
            }
            SiteUrlError::Insecure { .. } => {
                "use https://, or pass --allow-http if the network between you and the site is trusted"
            }
        }
    }
}

impl SiteUrl {
    /// Parse `url`. Plain `http` is accepted only for loopback hosts
    /// (localhost, 127.0.0.0/8, ::1) or when `allow_http` is set.
    ///
    /// # Errors
    /// Why the URL cannot be used.
    /// Errors quote the URL without credentials, query or fragment (a
    /// `?wstoken=` must not be echoed).
    pub fn parse(url: &str, allow_http: bool) -> Result<SiteUrl, SiteUrlError> {
        let given = shown(url);
        let parsed = Url::parse(url.trim()).map_err(|e| SiteUrlError::Malformed {
            url: given.clone(),
            reason: e.to_string(),
        })?;
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(SiteUrlError::Credentials { url: given });
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(SiteUrlError::Extra { url: given });
        }
        match parsed.scheme() {
            "https" => {}
            "http" if allow_http || is_loopback(&parsed) => {}
            "http" => return Err(SiteUrlError::Insecure { url: given }),
            _ => return Err(SiteUrlError::Scheme { url: given }),
        }
        if parsed.host().is_none() {
            return Err(SiteUrlError::Scheme { url: given });
        }
        Ok(SiteUrl(parsed))
    }

    /// The REST endpoint, `{site}/webservice/rest/server.php`.
    pub fn rest_endpoint(&self) -> Url {
        self.join(REST_PATH)
    }

    /// The token endpoint, `{site}/login/token.php`.
    pub fn login_endpoint(&self) -> Url {
        self.join(LOGIN_PATH)
    }

    fn join(&self, path: &str) -> Url {
        let mut url = self.0.clone();
        let base = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{base}{path}"));
        url
    }

    /// The wwwroot without a trailing slash.
    pub fn as_str(&self) -> &str {
        self.0.as_str().trim_end_matches('/')
    }
}

impl fmt::Display for SiteUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for SiteUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SiteUrl({})", self.as_str())
    }
}

/// `url` as it may be quoted in a message: without `user:password@`, query
/// or fragment, whether or not it parses.
fn shown(url: &str) -> String {
    let url = url.trim();
    let url = url.split(['?', '#']).next().unwrap_or_default();
    let (scheme, rest) = match url.find("://") {
        Some(at) => (&url[..at + 3], &url[at + 3..]),
        None => ("", url),
    };
    // A password may hold a `/`: everything up to the last `@` goes.
    let rest = rest.rsplit('@').next().unwrap_or_default();
    format!("{scheme}{rest}")
}

fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => bare.eq_ignore_ascii_case("localhost"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_http_only_on_loopback() {
        assert!(SiteUrl::parse("https://moodle.example.edu", false).is_ok());
        assert!(SiteUrl::parse("http://127.0.0.1:8080", false).is_ok());
        assert!(SiteUrl::parse("http://[::1]:8080/", false).is_ok());
        assert!(SiteUrl::parse("http://localhost/moodle", false).is_ok());
        assert!(matches!(
            SiteUrl::parse("http://moodle.example.edu", false),
            Err(SiteUrlError::Insecure { .. })
        ));
        assert!(SiteUrl::parse("http://moodle.example.edu", true).is_ok());
        assert!(matches!(
            SiteUrl::parse("ftp://x.org", true),
            Err(SiteUrlError::Scheme { .. })
        ));
        assert!(matches!(
            SiteUrl::parse("moodle", true),
            Err(SiteUrlError::Malformed { .. })
        ));
        assert!(matches!(
            SiteUrl::parse("https://x.org/?wstoken=1", true),
            Err(SiteUrlError::Extra { .. })
        ));
    }

    #[test]
    fn credentials_and_queries_are_refused_and_never_echoed() {
        let error = SiteUrl::parse("https://admin:s3cret@x.org/moodle", false).unwrap_err();
        assert!(matches!(error, SiteUrlError::Credentials { .. }));
        assert!(!error.to_string().contains("s3cret"), "{error}");
        assert!(error.to_string().contains("https://x.org/moodle"), "{error}");
        let error = SiteUrl::parse("https://x.org/?wstoken=abc%2Bdef", false).unwrap_err();
        assert!(!error.to_string().contains("abc"), "{error}");
        let error = SiteUrl::parse("https://u:p@[bad/?wstoken=abc", false).unwrap_err();
        assert!(matches!(error, SiteUrlError::Malformed { .. }));
        let text = error.to_string();
        assert!(!text.contains("abc") && !text.contains("u:p"), "{text}");
        let error = SiteUrl::parse("http://u:Ab3+x/Y=z&Q9@127.0.0.1:1/", false).unwrap_err();
        assert!(matches!(error, SiteUrlError::Malformed { .. }));
        let text = error.to_string();
        assert!(!text.contains("Ab3") && !text.contains("Y=z"), "{text}");
    }

    #[test]
    fn endpoints_keep_the_site_path() {
        let site = SiteUrl::parse("https://example.edu/moodle/", false).unwrap();
        assert_eq!(
            site.rest_endpoint().as_str(),
            "https://example.edu/moodle/webservice/rest/server.php"
        );
        assert_eq!(
            site.login_endpoint().as_str(),
            "https://example.edu/moodle/login/token.php"
        );
        assert_eq!(site.as_str(), "https://example.edu/moodle");
        let root = SiteUrl::parse("https://example.edu", false).unwrap();
        assert_eq!(
            root.rest_endpoint().as_str(),
            "https://example.edu/webservice/rest/server.php"
        );
    }
}
