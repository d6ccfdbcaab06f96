//! `moodlec man [COMMAND]`: the roff man page, generated from the command definitions.

use clap_mangen::roff::{roman, Roff};
use clap_mangen::Man;

use crate::cli::error::Error;
use crate::cli::exit::Outcome;

/// Print moodlec's man page (roff), or one command's.
///
/// The page is made from the same definitions as `--help`, so it never
/// drifts: moodlec's own page lists the commands (SUBCOMMANDS); each has a
/// page of its own (`moodlec man run`, shown as moodlec-run(1)).
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  moodlec man | man -l -\n  moodlec man run | man -l -\n  moodlec man > ~/.local/share/man/man1/moodlec.1\n  moodlec man run > ~/.local/share/man/man1/moodlec-run.1"
)]
pub struct Args {
    /// A command whose page to print instead (`run` gives moodlec-run(1)).
    #[arg(value_name = "COMMAND")]
    command: Option<String>,
}

pub fn run(args: &Args) -> Result<Outcome, Error> {
    let page = page(args.command.as_deref())?;
    crate::cli::report::stdout(&page)?;
    Ok(Outcome::Ok)
}

/// The roff text of moodlec's page, or of command `name`'s.
///
/// # Errors
/// There is no command `name`.
pub fn page(name: Option<&str>) -> Result<String, Error> {
    let mut root = crate::cli::command();
    // Built, subcommands get their display names (moodlec-run) and usage.
    root.build();
    let command = match name {
        None => root,
        Some(name) => root
            .get_subcommands()
            .find(|c| c.get_name() == name && !c.is_hide_set())
            .cloned()
            .ok_or_else(|| {
                let names: Vec<&str> = root
                    .get_subcommands()
                    .filter(|c| !c.is_hide_set() && c.get_name() != "help")
                    .map(clap::Command::get_name)
                    .collect();
                Error::usage(format!("no command `{name}`"))
                    .with_help(format!("one of: {}", names.join(", ")))
            })?,
    };
    render(command).map_err(|e| Error::usage(format!("cannot render the man page: {e}")))
}

/// clap_mangen's page, with the text after the options (`after_help`: the
/// examples, the exit codes) rendered as sections of its own, examples
/// unfilled so that each stays one line to copy.
fn render(command: clap::Command) -> std::io::Result<String> {
    let after = command
        .get_after_long_help()
        .or_else(|| command.get_after_help())
        .map(ToString::to_string);
    let man = Man::new(command.clone()).manual("User Commands");
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    // No hyphenation: a flag broken at the end of a line cannot be copied.
    out.extend_from_slice(b".nh\n");
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    if command.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut out)?;
    }
    if command.get_subcommands().any(|c| !c.is_hide_set()) {
        man.render_subcommands_section(&mut out)?;
    }
    if let Some(after) = after {
        after_help(&after).to_writer(&mut out)?;
    }
    if command.get_version().is_some() {
        man.render_version_section(&mut out)?;
    }
    let page = String::from_utf8(out).map_err(std::io::Error::other)?;
    Ok(once_preamble(&page))
}

/// The page with roff's preamble (the apostrophe string) once, at the top:
/// each part rendered on its own starts with it.
fn once_preamble(page: &str) -> String {
    const PREAMBLE: &str = ".ie \\n(.g .ds Aq \\(aq\n.el .ds Aq '\n";
    match page.split_once(PREAMBLE) {
        Some((before, after)) => format!("{before}{PREAMBLE}{}", after.replace(PREAMBLE, "")),
        None => page.to_owned(),
    }
}

/// `after_help` as man sections: a paragraph headed `Examples:` is the
/// EXAMPLES section, one headed `Exit codes:` EXIT STATUS, others NOTES.
/// Lines indented by two spaces are shown as they are (no filling).
fn after_help(text: &str) -> Roff {
    let mut roff = Roff::default();
    let mut section = "";
    for paragraph in text.split("\n\n") {
        let (heading, body) = match paragraph.split_once('\n') {
            Some(("Examples:", rest)) => ("EXAMPLES", rest),
            _ if paragraph.starts_with("Exit codes:") => ("EXIT STATUS", paragraph),
            _ => ("NOTES", paragraph),
        };
        if heading == section {
            roff.control("PP", []);
        } else {
            roff.control("SH", [heading]);
            section = heading;
        }
        let mut unfilled = false;
        for line in body.lines() {
            let indented = line.starts_with("  ");
            if indented != unfilled {
                if indented {
                    roff.control("RS", ["4"]).control("nf", []);
                } else {
                    roff.control("fi", []).control("RE", []);
                }
                unfilled = indented;
            }
            roff.text([roman(if indented { line.trim_start() } else { line })]);
        }
        if unfilled {
            roff.control("fi", []).control("RE", []);
        }
    }
    roff
}
