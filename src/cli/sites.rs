//! Named sites and stored tokens, side by side (as kubectl contexts or AWS
//! profiles).
//!
//! - Profiles: `$XDG_CONFIG_HOME/moodlec/config.toml` (else
//!   `~/.config/moodlec/config.toml`), one `[site.NAME]` table each with a
//!   `url` and, optionally, the `service` `moodlec login` asks a token for
//!   and `allow_http`. A top-level `default = "NAME"` is used when neither
//!   `--url`, `--site` nor their variables name a site.
//! - Tokens: `moodlec login` stores one per site in `tokens/` next to it,
//!   a JSON file `{"url", "service", "token"}` of mode 0600, named after the
//!   site. A stored token is only ever read for the exact site it names.

use std::io::Write;
use std::path::{Path, PathBuf};

use moodlec::site::token::Token;
use moodlec::site::SiteUrl;
use serde_json::{json, Value as Json};

use crate::cli::error::Error;

/// moodlec's config folder: `$XDG_CONFIG_HOME/moodlec`, else `~/.config/moodlec`.
pub fn config_dir() -> Option<PathBuf> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))?;
    Some(config.join("moodlec"))
}

/// The config file of named sites.
pub fn config_file() -> Option<PathBuf> {
    config_dir().map(|dir| dir.join("config.toml"))
}

/// A named site of the config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// Its name, `[site.NAME]`.
    pub name: String,
    /// The site's address.
    pub url: String,
    /// The external service `moodlec login` asks a token for.
    pub service: Option<String>,
    /// Plain http:// to a host other than this machine.
    pub allow_http: bool,
    /// Facts no web-service function reveals (`langs`, `themes`, `auths`, `roles`).
    pub facts: SiteFacts,
}

/// What a site profile says about the site that no web-service function
/// reveals, each `None` when the profile does not say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SiteFacts {
    /// Installed language packs, `langs = ["en", "cs"]`.
    pub langs: Option<Vec<String>>,
    /// Installed themes, `themes = ["boost"]`.
    pub themes: Option<Vec<String>>,
    /// Enabled authentication plugins, `auths = ["manual", "ldap"]`.
    pub auths: Option<Vec<String>>,
    /// Role ids beyond the standard course roles that may be assigned in courses, `roles = [9]`.
    pub roles: Option<Vec<i64>>,
}

impl SiteFacts {
    /// The keys of `other` where these have none.
    #[must_use]
    pub fn or(self, other: SiteFacts) -> SiteFacts {
        SiteFacts {
            langs: self.langs.or(other.langs),
            themes: self.themes.or(other.themes),
            auths: self.auths.or(other.auths),
            roles: self.roles.or(other.roles),
        }
    }

    /// Whether it says anything.
    pub fn is_empty(&self) -> bool {
        self == &SiteFacts::default()
    }
}

/// The site facts of a table (`[site.NAME]`, or a whole `site.toml`); `place` names it in errors.
fn site_facts(table: &dyn toml_edit::TableLike, place: &str) -> Result<SiteFacts, String> {
    let strings = |key: &str| -> Result<Option<Vec<String>>, String> {
        let Some(item) = table.get(key) else {
            return Ok(None);
        };
        let not = || format!("{place} {key} is not a list of strings, e.g. {key} = [\"a\", \"b\"]");
        let array = item.as_array().ok_or_else(not)?;
        array
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or_else(not))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    };
    let roles = match table.get("roles") {
        None => None,
        Some(item) => {
            let not = || format!("{place} roles is not a list of role ids, e.g. roles = [9, 10]");
            let array = item.as_array().ok_or_else(not)?;
            Some(
                array
                    .iter()
                    .map(|v| v.as_integer().ok_or_else(not))
                    .collect::<Result<Vec<_>, _>>()?,
            )
        }
    };
    Ok(SiteFacts {
        langs: strings("langs")?,
        themes: strings("themes")?,
        auths: strings("auths")?,
        roles,
    })
}

/// The site facts of a `site.toml` file's text (the keys at its top level).
///
/// # Errors
/// Not TOML, or a key of the wrong kind.
pub fn parse_site_facts(text: &str, place: &str) -> Result<SiteFacts, String> {
    let document: toml_edit::DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| e.to_string())?;
    site_facts(document.as_table(), place)
}

/// The profile `name`, or (`name` is `None`) the config file's `default`
/// one, if it names one.
///
/// # Errors
/// No config file or no such site when one is asked for by name, or the
/// file is not valid (exit 2).
pub fn profile(name: Option<&str>) -> Result<Option<Profile>, Error> {
    let Some(path) = config_file() else {
        return match name {
            Some(name) => Err(Error::usage(format!("no site named `{name}`: no config folder"))
                .with_help("set XDG_CONFIG_HOME or HOME")),
            None => Ok(None),
        };
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return match name {
                Some(name) => Err(Error::usage(format!(
                    "no site named `{name}`: there is no {}",
                    path.display()
                ))
                .with_help(format!(
                    "create it with\n  [site.{name}]\n  url = \"https://moodle.example.edu\""
                ))),
                None => Ok(None),
            };
        }
        Err(error) => return Err(Error::usage(format!("cannot read {}: {error}", path.display()))),
    };
    parse_profile(&text, name).map_err(|message| {
        Error::usage(format!("{}: {message}", path.display())).with_help(
            "each site is a table: [site.NAME] with url = \"https://...\" (and optionally service = \"...\")",
        )
    })
}

/// The profile `name` (else the `default` one) of a config file's text.
fn parse_profile(text: &str, name: Option<&str>) -> Result<Option<Profile>, String> {
    let document: toml_edit::DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| e.to_string())?;
    let sites = document.get("site").and_then(toml_edit::Item::as_table_like);
    let name = match name {
        Some(name) => name.to_owned(),
        None => match document.get("default") {
            None => return Ok(None),
            Some(item) => item.as_str().ok_or("`default` is not a site name")?.to_owned(),
        },
    };
    let known = || {
        let names: Vec<&str> = sites
            .map(|s| s.iter().map(|(k, _)| k).collect())
            .unwrap_or_default();
        if names.is_empty() {
            "it names no site".to_owned()
        } else {
            format!("it names {}", names.join(", "))
        }
    };
    let table = sites
        .and_then(|s| s.get(&name))
        .and_then(toml_edit::Item::as_table_like)
        .ok_or_else(|| format!("no site named `{name}` ({})", known()))?;
    let url = table
        .get("url")
        .and_then(toml_edit::Item::as_str)
        .ok_or_else(|| format!("[site.{name}] has no url = \"...\""))?
        .to_owned();
    let service = match table.get("service") {
        None => None,
        Some(item) => Some(
            item.as_str()
                .ok_or_else(|| format!("[site.{name}] service is not a string"))?
                .to_owned(),
        ),
    };
    let allow_http = match table.get("allow_http") {
        None => false,
        Some(item) => item
            .as_bool()
            .ok_or_else(|| format!("[site.{name}] allow_http is not true or false"))?,
    };
    let facts = site_facts(table, &format!("[site.{name}]"))?;
    Ok(Some(Profile {
        name,
        url,
        service,
        allow_http,
        facts,
    }))
}

/// A token `moodlec login` stored, with the site and service it was issued for.
#[derive(Debug, Clone)]
pub struct StoredToken {
    /// The site (its wwwroot, as `SiteUrl` prints it).
    pub url: String,
    /// The external service.
    pub service: String,
    /// The secret.
    pub token: Token,
}

/// The folder of stored tokens.
fn tokens_dir() -> Option<PathBuf> {
    config_dir().map(|dir| dir.join("tokens"))
}

/// The stored token file of `site`.
pub fn token_path(site: &SiteUrl) -> Option<PathBuf> {
    tokens_dir().map(|dir| dir.join(format!("{}.json", site_stem(site))))
}

/// A file name stem for what belongs to `site`: its host and a hash of its
/// whole address (scheme, port and path tell sites on one host apart).
pub fn site_stem(site: &SiteUrl) -> String {
    let url = site.as_str();
    let host: String = url
        .split("://")
        .nth(1)
        .unwrap_or(url)
        .split(['/', ':'])
        .next()
        .unwrap_or("")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    // FNV-1a: stable across versions and machines, unlike std's hasher.
    let hash = url.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    format!("{host}-{hash:016x}")
}

/// The token stored for exactly `site`, if any.
///
/// # Errors
/// The file is there but unreadable or not a stored token (exit 2).
pub fn stored_token(site: &SiteUrl) -> Result<Option<StoredToken>, Error> {
    let Some(path) = token_path(site) else {
        return Ok(None);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(Error::usage(format!(
                "cannot read the token file {}: {error}",
                path.display()
            )))
        }
    };
    let stored = parse_stored(&text).ok_or_else(|| {
        Error::usage(format!(
            "{} is not a token stored by `moodlec login`",
            path.display()
        ))
        .with_help(format!(
            "delete it and run `moodlec login --url {site} --username USER`"
        ))
    })?;
    // The name is a hash: only a token that says it is for this very site is used.
    Ok((stored.url == site.as_str()).then_some(stored))
}

fn parse_stored(text: &str) -> Option<StoredToken> {
    let json: Json = serde_json::from_str(text).ok()?;
    let field = |key: &str| json.get(key).and_then(Json::as_str);
    Some(StoredToken {
        url: field("url")?.to_owned(),
        service: field("service")?.to_owned(),
        token: Token::new(field("token")?)?,
    })
}

/// The sites tokens are stored for (for a message that says where you are logged in).
pub fn stored_sites() -> Vec<String> {
    let Some(entries) = tokens_dir().and_then(|dir| std::fs::read_dir(dir).ok()) else {
        return Vec::new();
    };
    let mut sites: Vec<String> = entries
        .flatten()
        .filter_map(|entry| std::fs::read_to_string(entry.path()).ok())
        .filter_map(|text| parse_stored(&text))
        .map(|stored| format!("{} (service `{}`)", stored.url, stored.service))
        .collect();
    sites.sort();
    sites
}

/// Store `token` for `site` and `service`, replacing the site's earlier one.
///
/// # Errors
/// No config folder, or the file cannot be written.
pub fn store_token(site: &SiteUrl, service: &str, token: &Token) -> std::io::Result<PathBuf> {
    let path = token_path(site)
        .ok_or_else(|| std::io::Error::other("no config folder (set XDG_CONFIG_HOME or HOME)"))?;
    let text = json!({ "url": site.as_str(), "service": service, "token": token.expose() });
    write_private(&path, format!("{text}\n").as_bytes())?;
    Ok(path)
}

/// Write `bytes` to `path`, readable by its owner only, without ever
/// following a symlink or writing into an existing file: a new file (mode
/// 0600, exclusive, random name) in the same folder, renamed over `path`.
/// A symlink at `path` is replaced, its target left alone.
///
/// # Errors
/// The folder or the file cannot be created or written.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    create_private_dir(parent)?;
    // tempfile creates with O_CREAT|O_EXCL and mode 0600.
    let mut file = tempfile::Builder::new().prefix(".moodlec-").tempfile_in(parent)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// `dir` and its missing parents; the ones created here are private (0700).
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"
default = "prod"

[site.prod]
url = "https://moodle.example.edu"
service = "moodlec"

[site.test]
url = "http://moodle-test.internal"
allow_http = true
"#;

    #[test]
    fn site_facts_of_a_profile_and_of_a_site_toml() {
        let text = "[site.prod]\nurl = \"https://m.example.edu\"\nlangs = [\"en\", \"cs\"]\nroles = [9]\n";
        let prod = parse_profile(text, Some("prod")).unwrap().unwrap();
        assert_eq!(prod.facts.langs, Some(vec!["en".to_owned(), "cs".to_owned()]));
        assert_eq!(prod.facts.roles, Some(vec![9]));
        assert_eq!(prod.facts.themes, None);
        let bad = "[site.prod]\nurl = \"https://m.example.edu\"\nlangs = \"cs\"\n";
        assert!(parse_profile(bad, Some("prod"))
            .unwrap_err()
            .contains("[site.prod] langs is not a list of strings"));
        let beside = parse_site_facts("themes = [\"boost\"]\nauths = [1]\n", "site.toml").unwrap_err();
        assert!(
            beside.contains("site.toml auths is not a list of strings"),
            "{beside}"
        );
        let file = parse_site_facts("themes = [\"boost\"]\n", "site.toml").unwrap();
        assert_eq!(prod.facts.clone().or(file).themes, Some(vec!["boost".to_owned()]));
    }

    #[test]
    fn profiles_by_name_and_by_default() {
        let test = parse_profile(CONFIG, Some("test")).unwrap().unwrap();
        assert_eq!(test.url, "http://moodle-test.internal");
        assert_eq!(test.service, None);
        assert!(test.allow_http);
        let default = parse_profile(CONFIG, None).unwrap().unwrap();
        assert_eq!(default.name, "prod");
        assert_eq!(default.service.as_deref(), Some("moodlec"));
        assert_eq!(parse_profile("[site.a]\nurl = \"https://a\"\n", None), Ok(None));
    }

    #[test]
    fn unknown_sites_and_bad_tables_say_what_is_there() {
        let missing = parse_profile(CONFIG, Some("staging")).unwrap_err();
        assert!(
            missing.contains("`staging`") && missing.contains("prod, test"),
            "{missing}"
        );
        let no_url = parse_profile("[site.a]\nservice = \"x\"\n", Some("a")).unwrap_err();
        assert!(no_url.contains("no url"), "{no_url}");
        assert!(parse_profile("[site.a\n", Some("a")).is_err());
        assert!(parse_profile("[site.a]\nurl = \"https://a\"\nallow_http = \"yes\"\n", Some("a")).is_err());
    }

    #[test]
    fn sites_on_one_host_get_different_token_files() {
        let paths: Vec<PathBuf> = [
            "https://example.edu",
            "https://example.edu/moodle",
            "https://example.edu:8443",
            "http://example.edu",
        ]
        .iter()
        .map(|url| token_path(&SiteUrl::parse(url, true).unwrap()).unwrap())
        .collect();
        for (i, a) in paths.iter().enumerate() {
            assert!(a
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("example.edu-"));
            for b in &paths[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn stored_tokens_need_every_field() {
        let stored = parse_stored(r#"{"url":"https://a","service":"s","token":"abc"}"#).unwrap();
        assert_eq!((stored.url.as_str(), stored.service.as_str()), ("https://a", "s"));
        assert_eq!(stored.token.expose(), "abc");
        assert!(parse_stored(r#"{"url":"https://a","token":"abc"}"#).is_none());
        assert!(parse_stored("abc").is_none());
    }
}
