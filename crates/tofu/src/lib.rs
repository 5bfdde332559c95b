//! The `tofu` command line: argv → arguments → capabilities (key, transport) → the library
//! crates. Glue only: no protocol logic lives here.

mod cli;
mod commands;
mod config;
mod exit;
mod output;
mod paths;
mod plan;

use clap::Parser;

pub use exit::Exit;

/// A failure the user must act on: what happened, and what to do next.
#[derive(Debug)]
pub struct Failure {
    /// What happened (rendered with its causes).
    pub error: anyhow::Error,
    /// What to do about it.
    pub hint: Option<String>,
    /// How to exit.
    pub exit: Exit,
}

impl Failure {
    /// A usage or input error (exit 2).
    pub fn new(error: impl Into<anyhow::Error>, hint: impl Into<Option<String>>) -> Failure {
        Failure {
            error: error.into(),
            hint: hint.into(),
            exit: Exit::Error,
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Failure {
        Failure::new(error, None)
    }
}

/// Runs `tofu` with the process's arguments and returns its exit code.
pub fn run() -> std::process::ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                Exit::Error
            } else {
                Exit::Success
            };
            // clap renders help and usage errors itself, to the right stream.
            let _ = e.print();
            return code.into();
        }
    };
    match commands::dispatch(cli) {
        Ok(exit) => exit.into(),
        Err(failure) => {
            output::error(&format!("{:#}", failure.error), failure.hint.as_deref());
            failure.exit.into()
        }
    }
}
