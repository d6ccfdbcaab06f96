//! The `moodlec` command: parse arguments, run one subcommand, exit with its code.

mod cli;

fn main() -> std::process::ExitCode {
    cli::run()
}
