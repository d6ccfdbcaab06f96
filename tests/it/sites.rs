//! `moodlec login` and the tokens it stores: one per site, only ever sent to
//! the site it was issued for; named sites of the config file (`--site`,
//! MOODLEC_SITE); the token file written without following symlinks; the
//! password scrubbed from whatever login prints.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::fixtures;
use crate::harness::{self, Moodlec, Output};
use crate::simulator::{Simulator, SiteConfig, ADMIN_PASSWORD, TOKEN};

fn scratch(name: &str) -> PathBuf {
    harness::scratch(&format!("sites-{name}"))
}

/// `moodlec ARGS` in `dir` with `dir/config` as XDG_CONFIG_HOME and no MOODLE_TOKEN.
fn moodlec(dir: &Path, args: &[&str]) -> Moodlec {
    Moodlec::new(args)
        .current_dir(dir)
        .config_home(dir.join("config"))
}

fn login(dir: &Path, site: &[&str]) -> Output {
    moodlec(dir, &["login", "--username", "admin", "--service", "moodlec"])
        .args(site)
        .env("MOODLE_PASSWORD", ADMIN_PASSWORD)
        .output()
}

fn site_info(dir: &Path, site: &[&str]) -> Moodlec {
    moodlec(dir, &["fetch", "-t", "site_info", "-q"]).args(site)
}

fn stored_tokens(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir.join("config/moodlec/tokens")) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
    paths.sort();
    paths
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// After `login` to site A, a fetch from site B must not send A's token:
/// it is refused before any request, saying how to log in to B; A still works.
#[test]
fn a_stored_token_is_only_sent_to_its_own_site() {
    let a = Simulator::start(SiteConfig::default());
    let b = Simulator::start(SiteConfig::default());
    let dir = scratch("own-site");
    login(&dir, &["--url", a.url()])
        .code(0)
        .stderr_has("only ever sent to this site");
    let stored = stored_tokens(&dir);
    assert_eq!(stored.len(), 1, "{stored:?}");
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&stored[0]).unwrap()).unwrap();
    assert_eq!(json["url"], a.url());
    assert_eq!(json["service"], "moodlec");
    assert_eq!(json["token"], TOKEN);
    #[cfg(unix)]
    assert_eq!(mode(&stored[0]), 0o600);

    let out = site_info(&dir, &["--url", b.url()]).output();
    out.code(2)
        .stderr_has(&format!("no web-service token for {}", b.url()))
        .stderr_has(&format!("moodlec login --url {}", b.url()))
        .stderr_has(a.url());
    assert!(b.calls().is_empty(), "B was sent something: {:?}", b.calls());

    site_info(&dir, &["--url", a.url()])
        .output()
        .code(0)
        .stdout_has("\"username\":\"admin\"");
    assert!(!a.calls().is_empty());

    // MOODLE_TOKEN is an explicit choice: it goes to whatever site is named.
    site_info(&dir, &["--url", b.url()])
        .env("MOODLE_TOKEN", TOKEN)
        .output()
        .code(0);
}

/// Two named sites side by side, each with its token: --site and
/// MOODLEC_SITE pick one, `default` applies when nothing is named.
#[test]
fn named_sites_of_the_config_file_each_use_their_own_token() {
    let a = Simulator::start(SiteConfig::default());
    let b = Simulator::start(SiteConfig::default());
    let dir = scratch("profiles");
    std::fs::create_dir_all(dir.join("config/moodlec")).unwrap();
    std::fs::write(
        dir.join("config/moodlec/config.toml"),
        format!(
            "default = \"a\"\n\n[site.a]\nurl = \"{}\"\nservice = \"moodlec\"\n\n[site.b]\nurl = \"{}\"\n",
            a.url(),
            b.url()
        ),
    )
    .unwrap();
    // login takes the service of the named site.
    moodlec(&dir, &["login", "--username", "admin", "--site", "a"])
        .env("MOODLE_PASSWORD", ADMIN_PASSWORD)
        .output()
        .code(0)
        .stderr_has("service `moodlec`");
    login(&dir, &["--site", "b"]).code(0);
    assert_eq!(stored_tokens(&dir).len(), 2);

    site_info(&dir, &["--site", "b"]).output().code(0);
    assert!(a.calls().is_empty() && !b.calls().is_empty());
    let b_calls = b.calls().len();
    site_info(&dir, &[]).env("MOODLEC_SITE", "a").output().code(0);
    assert!(!a.calls().is_empty());
    assert_eq!(b.calls().len(), b_calls);
    let a_calls = a.calls().len();
    site_info(&dir, &[]).output().code(0);
    assert!(a.calls().len() > a_calls, "the default site is a");
    // A flag beats a variable: --site b over MOODLE_URL.
    site_info(&dir, &["--site", "b"])
        .env("MOODLE_URL", a.url())
        .output()
        .code(0);
    assert!(b.calls().len() > b_calls);

    site_info(&dir, &["--site", "staging"])
        .output()
        .code(2)
        .stderr_has("`staging`")
        .stderr_has("a, b");
    site_info(&dir, &["--site", "a", "--url", b.url()])
        .output()
        .code(2)
        .stderr_has("--url and --site");
}

/// `login --token-file` replaces a symlink planted there instead of
/// writing through it, and the file it writes is private.
#[cfg(unix)]
#[test]
fn login_never_writes_through_a_symlink_at_the_token_file() {
    let sim = Simulator::start(SiteConfig::default());
    let dir = scratch("symlink");
    std::fs::write(dir.join("victim"), "keep me\n").unwrap();
    std::os::unix::fs::symlink(dir.join("victim"), dir.join("token")).unwrap();
    login(&dir, &["--url", sim.url(), "--token-file", "token"]).code(0);
    assert_eq!(std::fs::read_to_string(dir.join("victim")).unwrap(), "keep me\n");
    let meta = std::fs::symlink_metadata(dir.join("token")).unwrap();
    assert!(meta.file_type().is_file(), "token is still a symlink");
    assert_eq!(std::fs::read_to_string(dir.join("token")).unwrap().trim(), TOKEN);
    assert_eq!(mode(&dir.join("token")), 0o600);
    // An existing file of another mode is replaced by a private one.
    std::fs::write(dir.join("open"), "old").unwrap();
    login(&dir, &["--url", sim.url(), "--token-file", "open"]).code(0);
    assert_eq!(mode(&dir.join("open")), 0o600);
    site_info(&dir, &["--url", sim.url(), "--token-file", "open"])
        .output()
        .code(0);
}

/// A token file of an older moodlec says no site: it is not sent anywhere.
#[test]
fn an_unbound_token_file_of_an_older_login_is_not_used() {
    let sim = Simulator::start(SiteConfig::default());
    let dir = scratch("legacy");
    std::fs::create_dir_all(dir.join("config/moodlec")).unwrap();
    std::fs::write(dir.join("config/moodlec/token"), format!("{TOKEN}\n")).unwrap();
    site_info(&dir, &["--url", sim.url()])
        .output()
        .code(2)
        .stderr_has("does not say which site");
    assert!(sim.calls().is_empty());
}

/// A site (or a proxy) that echoes the password, as typed or form-encoded,
/// in an error or in a page that is not JSON: login never prints it.
#[test]
fn login_never_prints_the_password_a_site_echoes() {
    let password = "Tr0ub4dor&3 horse";
    let encoded = "Tr0ub4dor%263+horse";
    let dir = scratch("echo");
    let refusal = serde_json::json!({
        "error": format!("Invalid login {password} / {encoded}"),
        "errorcode": "invalidlogin",
    });
    let refusal = refusal.to_string();
    let json_site = fixtures::answering_server(move |_| ("application/json", refusal.clone()));
    let page = format!(
        "<html><body>{}password={encoded} {password}</body></html>",
        "x".repeat(150)
    );
    let html_site = fixtures::answering_server(move |_| ("text/html", page.clone()));
    for site in [&json_site, &html_site] {
        let out = moodlec(
            &dir,
            &["login", "--url", site, "--username", "ana", "--token-file", "t"],
        )
        .stdin(format!("{password}\n"))
        .output();
        out.code(3).stderr_has("REDACTED");
        for secret in [password, encoded, "Tr0ub4dor"] {
            assert!(!out.all().contains(secret), "the password leaked: {}", out.all());
        }
    }
}

/// The config file's `default` site is for commands that need a site:
/// `validate` (online only when asked) never reads it.
#[test]
fn the_default_site_is_not_used_by_validate() {
    let dir = scratch("default-offline");
    std::fs::create_dir_all(dir.join("config/moodlec")).unwrap();
    std::fs::write(dir.join("config/moodlec/config.toml"), "default = \"nope\"\n").unwrap();
    std::fs::write(
        dir.join("users.ndjson"),
        "{\"username\":\"ana\",\"firstname\":\"A\",\"lastname\":\"B\",\"email\":\"ana@example.org\",\"createpassword\":1}\n",
    )
    .unwrap();
    moodlec(&dir, &["validate", "-t", "create_users", "users.ndjson"])
        .output()
        .code(0);
    site_info(&dir, &[])
        .output()
        .code(2)
        .stderr_has("no site named `nope`");
}
