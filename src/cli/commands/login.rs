//! `moodlec login`: exchange a username and password for a token, saved to a file only you can read.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use moodlec::site::login::{login, scrub_password, LoginError, MOBILE_SERVICE};

use crate::cli::args::SiteArgs;
use crate::cli::error::Error;
use crate::cli::exit::Outcome;
use crate::cli::report;
use crate::cli::sites;

/// Get a web-service token with a username and password (login/token.php).
///
/// The password is read from MOODLE_PASSWORD, else from standard input. The
/// token is stored for this site only, in moodlec's config folder
/// (tokens/, mode 0600), and never printed: run, fetch and validate use it
/// for this site and no other. --token-file writes it to a file of your
/// choice instead (replaced, never written through a symlink).
/// Site administrators cannot get tokens for custom services this way:
/// create those in Site administration > Server > Web services > Manage tokens.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  moodlec login --url https://lms.example.edu --username sync-bot\n  moodlec login --url https://lms.example.edu --username bot --service moodlec\n  MOODLE_PASSWORD=... moodlec login --site prod --username sync-bot\n  moodlec login --site prod --username sync-bot --token-file ./token"
)]
// The site flags are shared; login needs the site, and gives up on it sooner.
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
    /// Short name of the external service the token is for (default: the
    /// named site's `service`, else moodle_mobile_app).
    #[arg(long)]
    service: Option<String>,
    /// Write the token to this file (mode 0600) instead of storing it for the site.
    #[arg(long, value_name = "PATH")]
    token_file: Option<PathBuf>,
}

pub fn run(args: &Args) -> Result<Outcome, Error> {
    let (site, profile) = args.site.target(true)?.ok_or_else(|| {
        Error::usage("login needs the site").with_help(
            "pass --url https://moodle.example.edu or --site NAME (a [site.NAME] of the config file)",
        )
    })?;
    let service = args
        .service
        .clone()
        .or_else(|| profile.and_then(|p| p.service))
        .unwrap_or_else(|| MOBILE_SERVICE.to_owned());
    if args.token_file.is_none() && sites::config_dir().is_none() {
        return Err(Error::usage("no place to save the token").with_help("pass --token-file PATH"));
    }
    let password = password().map_err(|message| {
        Error::usage(message).with_help("set MOODLE_PASSWORD or pipe the password on standard input")
    })?;
    let runtime = crate::cli::connect::runtime()?;
    let asked = login(&site, &args.username, &password, &service, args.site.timeout);
    let token = runtime
        .block_on(asked)
        .map_err(|error| refused(error, &password))?;
    let saved = match &args.token_file {
        Some(path) => {
            sites::write_private(path, format!("{}\n", token.expose()).as_bytes()).map(|()| path.clone())
        }
        None => sites::store_token(&site, &service, &token),
    };
    let path = saved.map_err(|error| {
        let path = args
            .token_file
            .clone()
            .or_else(|| sites::token_path(&site))
            .unwrap_or_default();
        Error::usage(format!("cannot write {}: {error}", path.display()))
    })?;
    report::note(&format!(
        "token for service `{service}` at {site} saved to {} (mode 0600){}",
        path.display(),
        if args.token_file.is_some() {
            ""
        } else {
            "; it is only ever sent to this site"
        }
    ));
    Ok(Outcome::Ok)
}

/// The site did not give a token (exit 3), with Moodle's error code when it sent one.
/// Anything the site said is scrubbed of the password (the library already
/// does; this holds for every message, whatever its origin).
fn refused(error: LoginError, password: &str) -> Error {
    let message = match &error.errorcode {
        Some(code) => format!("{} ({code})", error.message),
        None => error.message.clone(),
    };
    Error::server(scrub_password(&message, password)).with_help(scrub_password(&error.help, password))
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
