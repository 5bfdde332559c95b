//! Reading what a finished process said: its exit code and both streams, for assertions
//! that print everything when they fail.

use std::process::Output;

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
