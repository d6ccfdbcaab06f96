//! `moodlec new FUNCTION`: a ready template for any function of Moodle's catalogue.

use std::path::PathBuf;

use moodlec::catalogue::{self, generate};
use moodlec::check::suggestion;

use crate::cli::error::Error;
use crate::cli::exit::Outcome;
use crate::cli::report;

/// Write a template for a Moodle web-service function, from Moodle's own
/// description of it.
///
/// The template declares every parameter the function takes: its type (the
/// moodlec type of Moodle's PARAM type), `required` where Moodle requires it,
/// Moodle's `default`, nested lists, `wrap` for the function's list of
/// records (or `collect` for a list of plain values), and `returns`; for a
/// read function answering records, a read template (`emits`) for `fetch`. It is
/// formatted and passes `moodlec check`; keep the fields your data has, then
/// map your columns onto them with a template that `extends` it.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The web-service function, e.g. core_group_create_groups.
    function: String,
    /// Write the template to this file (refused if it exists) instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// The text after the options, with the catalogue's size counted (set by
/// `cli::command`, which help and the man page come from).
pub fn after_help() -> String {
    format!(
        "Examples:\n  moodlec new core_cohort_add_cohort_members > cohort_members.moodle\n  moodlec new core_group_create_groups -o templates/groups.moodle\n  moodlec new core_cohort   # not a function: lists those it starts\n\nThe catalogue is Moodle {}'s {} web-service functions (standard plugins). A plugin's own function is not in it: write its template by hand (`moodlec check` then warns that it cannot compare it with Moodle's description).",
        catalogue::MOODLE_RELEASE,
        catalogue::functions().len()
    )
}

pub fn run(args: &Args) -> Result<Outcome, Error> {
    let Some(function) = catalogue::function(&args.function) else {
        return Err(unknown(&args.function));
    };
    let text = generate::template(function).map_err(|unsupported| {
        Error::usage(format!(
            "moodlec cannot write a template for {} yet",
            function.name
        ))
        .with_help(unsupported.reasons.join("; "))
    })?;
    match &args.output {
        None => report::stdout(&text)?,
        Some(path) => {
            use std::io::Write as _;
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
                .map_err(|e| Error::usage(format!("cannot create {}: {e}", path.display())))?;
            file.write_all(text.as_bytes())
                .map_err(|e| Error::usage(format!("cannot write {}: {e}", path.display())))?;
            report::stdout(&format!("wrote {} ({})\n", path.display(), function.name))?;
        }
    }
    Ok(Outcome::Ok)
}

/// An unknown function: the closest name, or the functions it starts.
fn unknown(name: &str) -> Error {
    let names = catalogue::names();
    let error = Error::usage(format!(
        "`{name}` is not a web-service function of Moodle {}",
        catalogue::MOODLE_RELEASE
    ));
    let starting: Vec<&str> = names.iter().copied().filter(|n| n.starts_with(name)).collect();
    if starting.len() < 2 {
        if let Some(help) = suggestion(name, &names).filter(|h| h.starts_with("did you mean")) {
            return error.with_help(help);
        }
    }
    let help = match starting.len() {
        0 => "the catalogue holds Moodle's standard functions, named component_verb_object (core_user_create_users); a plugin's own function needs a template written by hand".to_owned(),
        1..=30 => format!("functions starting `{name}`: {}", starting.join(", ")),
        n => format!(
            "{n} functions start `{name}`, e.g. {}; give more of the name",
            starting[..10].join(", ")
        ),
    };
    error.with_help(help)
}
