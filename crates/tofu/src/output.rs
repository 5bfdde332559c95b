//! The one place that writes to the terminal: stdout carries data (reports, JSON), stderr
//! carries diagnostics. A closed stdout (`tofu compare … | head`) ends the program quietly.

use std::io::Write;

/// Writes report data to stdout.
pub fn data(text: &str) {
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        error(&format!("cannot write to stdout: {e}"), None);
    }
}

/// A progress or status line on stderr.
pub fn note(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// A warning on stderr.
pub fn warn(text: &str) {
    let _ = writeln!(std::io::stderr(), "warning: {text}");
}

/// An error, and what to do about it, on stderr.
pub fn error(text: &str, hint: Option<&str>) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "error: {text}");
    if let Some(hint) = hint {
        let _ = writeln!(stderr, "hint: {hint}");
    }
}
