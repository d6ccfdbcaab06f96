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
mod output;
mod problems;
mod progress;
mod report;
mod sites;
mod spool;
mod syncing;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use moodlec::template::{Kind, Template};

use error::Error;
use exit::{ExitClass, Outcome};
use output::Format;

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
    after_help = "Examples:\n  moodlec templates\n  moodlec new core_group_create_groups > templates/groups.moodle\n  moodlec explain enrol_users --set roleid=teacher\n  moodlec check templates/*.moodle\n  moodlec fmt --check templates/*.moodle\n  moodlec validate -t create_users staff.csv\n  moodlec render -t enrol_users enrolments.ndjson --format curl\n  moodlec login --url https://lms.example.edu --username sync-bot\n  moodlec run -t create_users staff.csv --url https://lms.example.edu --test\n  moodlec run -t create_users staff.csv --site prod --results r.ndjson\n  moodlec fetch -t enrolled_users --param courseid=2 --format csv\n  moodlec plan -t staff_sync staff.csv --site prod --out plan.json\n  moodlec sync -t staff_sync staff.csv --site prod --yes\n  moodlec man | man -l -\n\nThe site comes from --url, MOODLE_URL or --site NAME (a site of the config file); the token from MOODLE_TOKEN, --token-file or `moodlec login`.\n\nExit codes: 0 ok, 1 records rejected, 2 usage or template error, 3 server unreachable or refused, 4 changes pending (plan --detailed-exitcode)."
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
            let error = with_full_help(error);
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
    let name = cli.command.name();
    match cli.command.run() {
        Ok(outcome) => outcome.exit_class().into(),
        Err(error) => {
            let class = error.kind().exit_class();
            output::print_error(name, error, format);
            class.into()
        }
    }
}

/// The command definitions with what only the built-in templates and the
/// catalogue know: the built-in templates each `-t` takes (in its --help),
/// how many functions `moodlec new` knows. Help, the man page and the
/// completions come from this, so they never drift from the built-ins; a
/// plain parse does without (compiling the built-ins takes a moment).
///
/// # Panics
/// A command named here lost its `template` argument (a test builds this).
pub(crate) fn command() -> clap::Command {
    let mut command = Cli::command();
    for (name, kind, takes) in TEMPLATE_ARGS {
        let Some(help) = builtin_templates_help(kind, takes) else {
            continue;
        };
        command = command.mut_subcommand(name, |sub| {
            sub.mut_arg("template", |arg| {
                let short = arg.get_help().map(ToString::to_string).unwrap_or_default();
                arg.long_help(format!("{short}\n\n{help}"))
            })
        });
    }
    command.mut_subcommand("new", |sub| sub.after_help(commands::new::after_help()))
}

/// The commands with a `template` argument, the kind of template each
/// takes (in words), and which built-ins those are.
const TEMPLATE_ARGS: [(&str, &str, Takes); 7] = [
    ("explain", "", |_| true),
    ("validate", "write ", is_write),
    ("render", "write ", is_write),
    ("run", "write ", is_write),
    ("fetch", "read ", |t| matches!(t.kind, Kind::Read(_))),
    ("plan", "sync ", is_sync),
    ("sync", "sync ", is_sync),
];

/// Which built-in templates a command takes.
type Takes = fn(&Template) -> bool;

fn is_write(template: &Template) -> bool {
    matches!(template.kind, Kind::Write)
}

fn is_sync(template: &Template) -> bool {
    template.sync.is_some() || matches!(template.kind, Kind::Steps(_))
}

/// `Built-in write templates: a, b, c.`, from the built-ins; `None` if none fits.
fn builtin_templates_help(kind: &str, takes: Takes) -> Option<String> {
    let mut names: Vec<&str> = moodlec::builtin::catalog()
        .iter()
        .filter(|t| takes(t))
        .map(|t| t.name.as_str())
        .collect();
    if names.is_empty() {
        return None;
    }
    names.sort_unstable();
    Some(format!(
        "Built-in {kind}templates: {} (`moodlec templates` lists them with those of ./templates/).",
        names.join(", ")
    ))
}

/// A parse that ends in help shows the help of [`command`]: parsed again
/// with it, which ends in the same help with the built-ins filled in.
fn with_full_help(error: clap::Error) -> clap::Error {
    use clap::error::ErrorKind::{DisplayHelp, DisplayHelpOnMissingArgumentOrSubcommand};
    if !matches!(
        error.kind(),
        DisplayHelp | DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        return error;
    }
    command().try_get_matches().err().unwrap_or(error)
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
    /// The command's name, as typed: `validate`.
    fn name(&self) -> &'static str {
        match self {
            Command::Templates(_) => "templates",
            Command::New(_) => "new",
            Command::Check(_) => "check",
            Command::Explain(_) => "explain",
            Command::Fmt(_) => "fmt",
            Command::Validate(_) => "validate",
            Command::Render(_) => "render",
            Command::Run(_) => "run",
            Command::Login(_) => "login",
            Command::Fetch(_) => "fetch",
            Command::Plan(_) => "plan",
            Command::Apply(_) => "apply",
            Command::Sync(_) => "sync",
            Command::Completions(_) => "completions",
            Command::Man(_) => "man",
        }
    }

    fn error_format(&self) -> Format {
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
            | Command::Man(_) => Format::Human,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every command's definition, the root's first, with its name.
    fn commands() -> Vec<(String, clap::Command)> {
        let mut root = command();
        root.build();
        let mut all = vec![("moodlec".to_owned(), root.clone())];
        all.extend(
            root.get_subcommands()
                .map(|sub| (format!("moodlec {}", sub.get_name()), sub.clone())),
        );
        all
    }

    fn after_help(command: &clap::Command) -> String {
        command
            .get_after_long_help()
            .or_else(|| command.get_after_help())
            .map(ToString::to_string)
            .unwrap_or_default()
    }

    /// The example lines of a help text: every line of an `Examples:`
    /// paragraph, and any other indented line that runs moodlec.
    fn example_lines(text: &str) -> Vec<String> {
        let mut lines = Vec::new();
        for paragraph in text.split("\n\n") {
            let in_examples = paragraph.starts_with("Examples:\n");
            for line in paragraph.lines().skip(usize::from(in_examples)) {
                if in_examples || line.starts_with("  moodlec ") {
                    lines.push(line.to_owned());
                }
            }
        }
        lines
    }

    /// The arguments of the moodlec command an example line runs: from the
    /// word `moodlec` (after a pipe or an environment assignment), without
    /// a `# comment`, up to a redirection or pipe.
    fn example_args(line: &str) -> Option<Vec<String>> {
        let line = line.split(" #").next().unwrap_or(line);
        let words: Vec<&str> = line.split_whitespace().collect();
        let start = words.iter().position(|w| *w == "moodlec")?;
        Some(
            words[start..]
                .iter()
                .take_while(|w| !w.starts_with(['>', '<', '|']))
                .map(|w| (*w).to_owned())
                .collect(),
        )
    }

    #[test]
    fn every_example_in_help_is_one_line_that_parses() {
        let mut checked = 0;
        let mut problems = Vec::new();
        for (name, command) in commands() {
            for line in example_lines(&after_help(&command)) {
                let Some(args) = example_args(&line) else {
                    problems.push(format!(
                        "{name}: an example line that runs no moodlec (a wrapped one?): {line:?}"
                    ));
                    continue;
                };
                if !line.starts_with("  ") {
                    problems.push(format!("{name}: example not indented by two spaces: {line:?}"));
                }
                if let Err(error) = Cli::try_parse_from(&args) {
                    problems.push(format!("{name}: {line:?} does not parse:\n{error}"));
                }
                checked += 1;
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        assert!(checked >= 30, "only {checked} examples found");
    }

    /// Examples are at most 79 columns, so that `--help` on an 80-column
    /// terminal shows each whole, ready to copy: clap wraps help text at the
    /// terminal's width (up to 100), examples too, and has no way to keep a
    /// line as it is. (Narrower terminals do wrap them.)
    #[test]
    fn examples_are_not_wrapped_on_an_80_column_terminal() {
        let mut problems = Vec::new();
        for (name, command) in commands() {
            let examples = example_lines(&after_help(&command));
            let help = command.clone().term_width(80).render_long_help().to_string();
            let shown: Vec<&str> = help.lines().collect();
            for line in examples {
                if line.chars().count() > 79 {
                    problems.push(format!("{name}: {} columns: {line:?}", line.chars().count()));
                }
                if !shown.contains(&line.as_str()) {
                    problems.push(format!(
                        "{name}: --help at 80 columns does not show {line:?} whole"
                    ));
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn template_help_lists_the_builtins_each_command_takes() {
        let long_help = |name: &str| -> String {
            let command = command();
            let sub = command.find_subcommand(name).expect(name);
            let arg = sub
                .get_arguments()
                .find(|a| a.get_id() == "template")
                .expect("template");
            arg.get_long_help().map(ToString::to_string).unwrap_or_default()
        };
        let catalog = moodlec::builtin::catalog();
        for name in ["validate", "render", "run"] {
            let help = long_help(name);
            for template in catalog.iter() {
                let listed = help.contains(&format!(" {},", template.name))
                    || help.contains(&format!(" {} (", template.name));
                assert_eq!(listed, is_write(template), "{name}: {} in {help}", template.name);
            }
        }
        let fetch = long_help("fetch");
        assert!(
            fetch.contains("Built-in read templates: ") && fetch.contains(" users_by_field"),
            "{fetch}"
        );
        assert!(!fetch.contains("create_users"), "{fetch}");
        let explain = long_help("explain");
        assert!(
            explain.contains("create_users") && explain.contains("users_by_field"),
            "{explain}"
        );
        let new = after_help(command().find_subcommand("new").expect("new"));
        let count = moodlec::catalogue::functions().len().to_string();
        assert!(new.contains(&format!("{count} web-service functions")), "{new}");
    }
}
