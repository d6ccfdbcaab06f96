//! Presentation: command-line parsing and output. The library never prints;
//! this module decides between terminal diagnostics, JSON and CI annotations.

mod args;
mod commands;
mod connect;
mod error;
mod exit;
mod input;
mod load;
mod lock;
mod problems;
mod report;
mod sites;
mod spool;
mod syncing;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use error::Error;
use exit::{ExitClass, Outcome};
use report::DiagnosticFormat;

/// Compile, validate and run declarative Moodle web-service templates.
///
/// A template (a `.moodle` file) names a Moodle web-service function and the
/// fields, types, defaults and rules of the records it takes. Built-in
/// templates cover the writes and reads integrations use most (`moodlec
/// templates` lists them); `moodlec new FUNCTION` writes one for any other of
/// Moodle's functions; `moodlec sync` keeps Moodle equal to a roster.
#[derive(Debug, Parser)]
#[command(name = "moodlec", version, propagate_version = true, max_term_width = 100)]
#[command(
    after_help = "Examples:\n  moodlec templates\n  moodlec new core_group_create_groups > templates/groups.moodle\n  moodlec explain enrol_users --set roleid=teacher\n  moodlec check templates/*.moodle\n  moodlec fmt --check templates/*.moodle\n  moodlec validate -t create_users staff.csv\n  moodlec render -t enrol_users enrolments.ndjson --format curl\n  moodlec login --url https://moodle.example.edu --username sync-bot --service moodlec\n  moodlec run -t create_users staff.csv --url https://moodle.example.edu --results r.ndjson\n  moodlec fetch -t enrolled_users --param courseid=2 --format csv --url https://moodle.example.edu\n  moodlec plan -t staff_sync staff.csv --url https://moodle.example.edu --out plan.json\n  moodlec sync -t staff_sync staff.csv --url https://moodle.example.edu --yes\n\nExit codes: 0 ok, 1 records rejected, 2 usage or template error, 3 server unreachable or refused, 4 changes pending (plan --detailed-exitcode)."
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the templates: built-in ones and those in ./templates/.
    Templates(commands::templates::Args),
    /// Write a ready template for a Moodle web-service function, from Moodle's description of it.
    New(commands::new::Args),
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
    /// Show what a sync would change in Moodle (read only); --out saves the plan.
    Plan(commands::plan::Args),
    /// Apply a saved plan, after checking it against Moodle.
    Apply(commands::apply::Args),
    /// Keep Moodle equal to a roster: plan, show, confirm, apply.
    Sync(commands::sync::Args),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(commands::completions::Args),
    /// Print the man page (roff) of moodlec, or of one command.
    Man(commands::man::Args),
    /// Get a web-service token with a username and password (saved with mode 0600).
    Login(commands::login::Args),
}

/// Parse the command line, run the command, print the error that ended it
/// (if one did) in the command's format, and exit with its class.
pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return match error.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => ExitClass::Ok,
                _ => ExitClass::UsageOrTemplate,
            }
            .into();
        }
    };
    if cli.command.ends_on_closed_output() {
        end_quietly_on_closed_output();
    }
    let format = cli.command.error_format();
    match cli.command.run() {
        Ok(outcome) => outcome.exit_class().into(),
        Err(error) => {
            report::print_error(&error, format);
            error.kind().exit_class().into()
        }
    }
}

impl Command {
    fn run(self) -> Result<Outcome, Error> {
        match self {
            Command::Templates(args) => commands::templates::run(&args),
            Command::New(args) => commands::new::run(&args),
            Command::Check(args) => commands::check::run(&args),
            Command::Explain(args) => commands::explain::run(&args),
            Command::Fmt(args) => commands::fmt::run(&args),
            Command::Validate(args) => commands::validate::run(&args),
            Command::Render(args) => commands::render::run(&args),
            Command::Run(args) => commands::run::run(&args),
            Command::Login(args) => commands::login::run(&args),
            Command::Fetch(args) => commands::fetch::run(&args),
            Command::Plan(args) => commands::plan::run(&args),
            Command::Apply(args) => commands::apply::run(&args),
            Command::Sync(args) => commands::sync::run(&args),
            Command::Completions(args) => commands::completions::run(&args),
            Command::Man(args) => commands::man::run(&args),
        }
    }

    /// How the command prints the error that ends it: as its output is printed.
    fn error_format(&self) -> DiagnosticFormat {
        match self {
            Command::Check(args) => args.error_format(),
            Command::Explain(args) => args.error_format(),
            Command::Templates(args) => args.error_format(),
            Command::Validate(args) => args.error_format(),
            Command::Render(args) => args.error_format(),
            Command::Fetch(args) => args.error_format(),
            Command::Fmt(_)
            | Command::New(_)
            | Command::Run(_)
            | Command::Login(_)
            | Command::Plan(_)
            | Command::Apply(_)
            | Command::Sync(_)
            | Command::Completions(_)
            | Command::Man(_) => DiagnosticFormat::Human,
        }
    }

    /// Whether the command may simply end when its reader goes away, as
    /// `cat` does: all but `run`, which finishes the batch it started
    /// (its writes to a closed stdout or stderr fail and are ignored), so
    /// that every record sent gets its result written.
    fn ends_on_closed_output(&self) -> bool {
        !matches!(self, Command::Run(_) | Command::Apply(_) | Command::Sync(_))
    }
}

/// Die of SIGPIPE, like `cat` and `grep`, when stdout or stderr is a pipe
/// whose reader is gone (`moodlec validate --format json data.csv | head -1`):
/// the shell sees status 141 and nothing is printed. Rust ignores SIGPIPE by
/// default, which makes the write fail with EPIPE instead: an error message
/// for a reader that left on purpose, and an exit code that says "failed".
/// Sockets are not concerned: their writes ask for no signal (MSG_NOSIGNAL
/// on Linux, SO_NOSIGPIPE on macOS, both set by std and mio).
fn end_quietly_on_closed_output() {
    #[cfg(unix)]
    // SAFETY: called before any other thread exists; SIG_DFL is a valid disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
