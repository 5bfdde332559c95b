//! The `tofu` command line: argv → arguments → capabilities (key, transport) → the library
//! crates. Glue only: no protocol logic lives here.

mod campaign_log;
mod cli;
mod commands;
mod config;
mod documents;
mod exit;
mod failure;
mod journal;
mod output;
mod paths;
mod plan;
mod progress;
mod toml_error;
mod vouch;

use clap::Parser;

pub use exit::ExitCode;
pub use failure::Failure;

/// The command line as clap declares it: for the man pages and shell completions
/// `cargo xtask codegen` writes, and `tofu completions`.
pub fn command() -> clap::Command {
    <cli::Cli as clap::CommandFactory>::command()
}

/// The JSON Schema of every command's `--json` document, as `(file name, schema)`, for
/// `cargo xtask codegen` to write into docs/json/.
pub fn json_schemas() -> Vec<(String, String)> {
    documents::schemas()
}

/// Runs `tofu` with the process's arguments and returns its exit code.
pub fn run() -> std::process::ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                ExitCode::Error
            } else {
                ExitCode::Success
            };
            // clap renders help and usage errors itself, to the right stream.
            let _ = e.print();
            return code.into();
        }
    };
    if cli.verbose {
        output::set_verbose();
    }
    match commands::dispatch(cli) {
        Ok(exit) => exit.into(),
        Err(failure) => {
            output::failure(&failure);
            ExitCode::Error.into()
        }
    }
}
