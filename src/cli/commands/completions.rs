//! `moodlec completions SHELL`: a completion script, generated from the command definitions.

use crate::cli::error::Error;
use crate::cli::exit::Outcome;

/// Print a shell completion script for moodlec's commands and flags.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  moodlec completions bash > ~/.local/share/bash-completion/completions/moodlec\n  moodlec completions zsh > ~/.zfunc/_moodlec\n  moodlec completions fish > ~/.config/fish/completions/moodlec.fish\n  moodlec completions powershell >> $PROFILE"
)]
pub struct Args {
    /// The shell.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

pub fn run(args: &Args) -> Result<Outcome, Error> {
    let mut command = crate::cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut command, "moodlec", &mut out);
    crate::cli::report::stdout(&String::from_utf8_lossy(&out))?;
    Ok(Outcome::Ok)
}
