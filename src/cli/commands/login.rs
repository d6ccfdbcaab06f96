//! `moodlec login`: exchange a username and password for a token, saved to a file only you can read.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use moodlec::site::login::{login, LoginError, MOBILE_SERVICE};
use moodlec::site::token::Token;

use crate::cli::args::SiteArgs;
use crate::cli::connect::default_token_file;
use crate::cli::error::Error;
use crate::cli::exit::Outcome;
use crate::cli::report;

/// Get a web-service token with a username and password (login/token.php).
///
/// The password is read from MOODLE_PASSWORD, else from standard input. The
/// token is written to --token-file (default: moodlec's config folder) with
/// permissions 0600 and never printed; `moodlec run` reads it from there.
/// Site administrators cannot get tokens for custom services this way:
/// create those in Site administration > Server > Web services > Manage tokens.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  moodlec login --url https://moodle.example.edu --username sync-bot --service moodlec\n  MOODLE_PASSWORD=... moodlec login --url https://moodle.example.edu --username sync-bot --token-file ./token"
)]
// The site flags are shared; login needs the site, and gives up on it sooner.
#[command(mut_arg("url", |url| url.required(true).help("The Moodle site (its wwwroot)")))]
#[command(mut_arg("timeout", |timeout| timeout
    .default_value("60")
    .value_name("SECONDS")
    .help("Seconds to wait for the site")))]
pub struct Args {
    #[command(flatten)]
    site: SiteArgs,
    /// The Moodle username.
    #[arg(long)]
    username: String,
    /// Short name of the external service the token is for.
    #[arg(long, default_value = MOBILE_SERVICE)]
    service: String,
    /// Where to write the token (mode 0600).
    #[arg(long, value_name = "PATH")]
    token_file: Option<PathBuf>,
}

pub fn run(args: &Args) -> Result<Outcome, Error> {
    let site = args.site.required_site("login")?;
    let path = args
        .token_file
        .clone()
        .or_else(default_token_file)
        .ok_or_else(|| Error::usage("no place to save the token").with_help("pass --token-file PATH"))?;
    let password = password().map_err(|message| {
        Error::usage(message).with_help("set MOODLE_PASSWORD or pipe the password on standard input")
    })?;
    let runtime = crate::cli::connect::runtime()?;
    let asked = login(&site, &args.username, &password, &args.service, args.site.timeout);
    let token = runtime.block_on(asked).map_err(refused)?;
    save(&path, &token).map_err(|error| Error::usage(format!("cannot write {}: {error}", path.display())))?;
    report::note(&format!(
        "token for service `{}` at {site} saved to {} (mode 0600)",
        args.service,
        path.display()
    ));
    Ok(Outcome::Ok)
}

/// The site did not give a token (exit 3), with Moodle's error code when it sent one.
fn refused(error: LoginError) -> Error {
    let message = match &error.errorcode {
        Some(code) => format!("{} ({code})", error.message),
        None => error.message.clone(),
    };
    Error::server(message).with_help(error.help)
}

/// MOODLE_PASSWORD, else the first line of standard input (not echoed on a terminal).
fn password() -> Result<String, String> {
    if let Some(password) = std::env::var_os("MOODLE_PASSWORD") {
        return password
            .into_string()
            .map_err(|_| "MOODLE_PASSWORD is not valid UTF-8".to_owned());
    }
    let stdin = std::io::stdin();
    let terminal = stdin.is_terminal();
    if terminal {
        let mut stderr = std::io::stderr();
        let _ = stderr.write_all(b"Password: ").and_then(|()| stderr.flush());
        set_echo(false);
    }
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    if terminal {
        set_echo(true);
        report::note("");
    }
    read.map_err(|e| format!("cannot read the password: {e}"))?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        return Err("no password given".to_owned());
    }
    Ok(password)
}

/// Turn terminal echo off or on with `stty` (best effort; nothing to do off Unix terminals).
fn set_echo(on: bool) {
    let _ = std::process::Command::new("stty")
        .arg(if on { "echo" } else { "-echo" })
        .stdin(std::process::Stdio::inherit())
        .status();
}

/// Write the token to `path`, readable by its owner only.
fn save(path: &Path, token: &Token) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let mut file = options.open(path)?;
        // An existing file keeps its mode when opened: set it.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        writeln!(file, "{}", token.expose())?;
        file.sync_all()
    }
    #[cfg(not(unix))]
    {
        let mut file = options.open(path)?;
        writeln!(file, "{}", token.expose())?;
        file.sync_all()
    }
}
