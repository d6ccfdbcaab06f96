//! Presentation: command-line parsing and output. The library never prints;
//! this module decides between terminal diagnostics, JSON and CI annotations.

mod commands;
mod connect;
mod exit;
mod input;
mod load;
mod problems;
mod report;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Compile, validate and run declarative Moodle web-service templates.
///
/// A template (a `.moodle` file) names a Moodle web-service function and the
/// fields, types, defaults and rules of the records it takes. Five built-in
/// templates cover the common writes: create_users, update_users,
/// enrol_users, unenrol_users and create_courses.
#[derive(Debug, Parser)]
#[command(name = "moodlec", version, propagate_version = true, max_term_width = 100)]
#[command(
    after_help = "Examples:\n  moodlec templates\n  moodlec explain enrol_users --set roleid=teacher\n  moodlec check templates/*.moodle\n  moodlec fmt --check templates/*.moodle\n  moodlec validate -t create_users staff.csv\n  moodlec render -t enrol_users enrolments.ndjson --format curl\n  moodlec login --url https://moodle.example.edu --username sync-bot --service moodlec\n  moodlec run -t create_users staff.csv --url https://moodle.example.edu --results r.ndjson\n  moodlec fetch -t enrolled_users --param courseid=2 --format csv --url https://moodle.example.edu\n\nExit codes: 0 ok, 1 records rejected, 2 usage or template error, 3 server unreachable or refused."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the templates: built-in ones and those in ./templates/.
    Templates(commands::templates::Args),
    /// Compile template files and report every problem (exit 2 on errors).
    Check(commands::check::Args),
    /// Show a template's fields, types, defaults, constraints, params and batch rules.
    Explain(commands::explain::Args),
    /// Rewrite template files in canonical form (--check only reports).
    Fmt(commands::fmt::Args),
    /// Validate data records (NDJSON, JSON array, CSV) against a template.
    Validate(commands::validate::Args),
    /// Show the exact requests that would be sent, without sending (a dry run).
    Render(commands::render::Args),
    /// Send records to Moodle: validate, batch, send, and report one result per record.
    Run(commands::run::Args),
    /// Fetch data out of Moodle with a read template (NDJSON, JSON or CSV).
    Fetch(commands::fetch::Args),
    /// Get a web-service token with a username and password (saved with mode 0600).
    Login(commands::login::Args),
}

/// Parse the command line and run the command.
pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return match error.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    exit::code(exit::OK)
                }
                _ => exit::code(exit::USAGE_OR_TEMPLATE),
            };
        }
    };
    let class = match cli.command {
        Command::Templates(args) => commands::templates::run(&args),
        Command::Check(args) => commands::check::run(&args),
        Command::Explain(args) => commands::explain::run(&args),
        Command::Fmt(args) => commands::fmt::run(&args),
        Command::Validate(args) => commands::validate::run(&args),
        Command::Render(args) => commands::render::run(&args),
        Command::Run(args) => commands::run::run(&args),
        Command::Login(args) => commands::login::run(&args),
        Command::Fetch(args) => commands::fetch::run(&args),
    };
    exit::code(class)
}
