//! Reading what a finished process said: its exit code and both streams, for assertions
//! that print everything when they fail; and [`run_ok`], for a tool a test or service needs
//! to succeed (skopeo, gpg, mount, ip, tor, …).

use std::process::{Command, Output};

/// The exit code; panics when the process was ended by a signal.
pub fn code(out: &Output) -> i32 {
    out.status.code().expect("the process exited by a signal")
}

/// Standard output, as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Standard error, as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts the exit code, printing both streams when it is wrong.
#[track_caller]
pub fn assert_exit(out: &Output, want: i32) {
    assert_eq!(
        code(out),
        want,
        "exit code\n--- stdout\n{}\n--- stderr\n{}",
        stdout(out),
        stderr(out)
    );
}

/// How much of a failed tool's standard error a panic shows: the end, where a tool says why
/// it stopped; a tool that loops on warnings must not bury the test's own message.
const STDERR_SHOWN: usize = 4096;

/// Runs `cmd` to the end and returns what it said. When it cannot start or fails, panics
/// with the program, its arguments, the exit status and (the end of) its standard error.
#[track_caller]
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", command_line(cmd)));
    assert!(
        out.status.success(),
        "{} failed ({}):\n{}",
        command_line(cmd),
        out.status,
        tail(&out.stderr)
    );
    out
}

/// The program and its arguments, as one would type them.
fn command_line(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The last [`STDERR_SHOWN`] bytes of `bytes`, as text (lossy), marked when cut.
fn tail(bytes: &[u8]) -> String {
    let start = bytes.len().saturating_sub(STDERR_SHOWN);
    let text = String::from_utf8_lossy(&bytes[start..]);
    if start > 0 {
        format!("…{text}")
    } else {
        text.into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The message `run_ok` panics with for `sh -c SCRIPT`.
    fn failure(script: &str) -> String {
        let err = std::panic::catch_unwind(|| run_ok(Command::new("sh").arg("-c").arg(script)))
            .expect_err("the command fails");
        err.downcast_ref::<String>().cloned().unwrap_or_default()
    }

    #[test]
    fn a_success_returns_the_output() {
        let out = run_ok(Command::new("sh").args(["-c", "printf 'it worked'"]));
        assert_eq!(stdout(&out), "it worked");
    }

    #[test]
    fn a_failure_names_the_command_its_status_and_its_stderr() {
        let message = failure("echo 'no such key' >&2; exit 3");
        assert_eq!(
            message,
            "sh -c echo 'no such key' >&2; exit 3 failed (exit status: 3):\nno such key\n"
        );
    }

    #[test]
    fn a_long_stderr_shows_its_end() {
        let message =
            failure("head -c 10000 /dev/zero | tr '\\0' x >&2; echo ' the reason' >&2; exit 1");
        assert!(message.ends_with("xxx the reason\n"), "{message}");
        assert!(message.contains("(exit status: 1):\n…xxx"), "{message}");
        assert!(
            message.len() < STDERR_SHOWN + 200,
            "{} bytes",
            message.len()
        );
    }

    #[test]
    fn a_missing_program_says_so() {
        let err = std::panic::catch_unwind(|| run_ok(&mut Command::new("/nonexistent/tool")))
            .expect_err("the command cannot start");
        let message = err.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(
            message.starts_with("cannot start /nonexistent/tool: "),
            "{message}"
        );
    }
}
