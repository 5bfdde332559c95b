//! The one place that writes to the terminal: stdout carries data (reports, JSON), stderr
//! carries diagnostics. A closed stdout (`tofu compare … | head`) ends the program quietly.
//!
//! Reports and messages quote strings tofu did not write: a server's error text, a URL, a
//! field of someone else's transcript. Everything written here goes through [`escape`] first,
//! so none of them can move the cursor, recolour the screen, retitle the window or reorder
//! text (bidirectional overrides) on the operator's terminal.

use std::borrow::Cow;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// `--quiet`: notes are not printed; warnings, errors and failures still are.
static QUIET: AtomicBool = AtomicBool::new(false);

/// `-v`: each error is followed by its chain of causes.
static VERBOSE: AtomicBool = AtomicBool::new(false);

/// Turns notes off (`tofu fetch --quiet`), for the rest of the process.
pub fn set_quiet() {
    QUIET.store(true, Ordering::Relaxed);
}

/// Shows the causes under each error (`-v`), for the rest of the process.
pub fn set_verbose() {
    VERBOSE.store(true, Ordering::Relaxed);
}

/// Whether `-v` was given.
pub fn verbose() -> bool {
    VERBOSE.load(Ordering::Relaxed)
}

/// Characters that must not reach a terminal raw: control characters but newline and tab,
/// and the Unicode bidirectional controls.
fn hostile(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every [`hostile`] character written by `write`. Text without any is borrowed
/// unchanged.
fn escape_with(text: &str, write: fn(&mut String, char)) -> Cow<'_, str> {
    if !text.chars().any(hostile) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if hostile(c) {
            write(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `text` with every control character but newline and tab, and every Unicode bidirectional
/// control, written as a Rust escape (`\u{1b}`).
pub fn escape(text: &str) -> Cow<'_, str> {
    escape_with(text, |out, c| out.extend(c.escape_unicode()))
}

/// JSON from serde_json with the same characters as JSON escapes (`\u202e`): serde_json
/// escapes only C0 controls, and in JSON text every other character is inside a string, where
/// the escape means the same character.
fn escape_json(text: &str) -> Cow<'_, str> {
    escape_with(text, |out, c| {
        let mut units = [0u16; 2];
        for unit in c.encode_utf16(&mut units) {
            out.push_str(&format!("\\u{unit:04x}"));
        }
    })
}

/// Writes a JSON document to stdout.
pub fn json(text: &str) {
    write_stdout(&escape_json(text));
}

/// Writes a text report to stdout.
pub fn data(text: &str) {
    write_stdout(&escape(text));
}

fn write_stdout(text: &str) {
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

/// A progress or status line on stderr; `--quiet` silences it.
pub fn note(text: &str) {
    if !QUIET.load(Ordering::Relaxed) {
        failure_note(text);
    }
}

/// A status line on stderr that says something failed: `--quiet` does not silence it.
pub fn failure_note(text: &str) {
    // Every line to stderr goes around the live progress line, never through it.
    crate::progress::suspend(|| {
        let _ = writeln!(std::io::stderr(), "{}", escape(text));
    });
}

/// A warning on stderr.
pub fn warn(text: &str) {
    crate::progress::suspend(|| {
        let _ = writeln!(std::io::stderr(), "warning: {}", escape(text));
    });
}

/// An error, and what to do about it, on stderr.
pub fn error(text: &str, hint: Option<&str>) {
    error_with_causes(text, &[], hint);
}

/// A failure on stderr: `error:` and what happened, with `-v` a `caused by:` line for each
/// cause, then `hint:` and what to do.
pub fn failure(failure: &crate::Failure) {
    error_with_causes(
        &failure.message(),
        &failure.causes(),
        failure.hint.as_deref(),
    );
}

fn error_with_causes(text: &str, causes: &[String], hint: Option<&str>) {
    crate::progress::suspend(|| {
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "error: {}", escape(text));
        if verbose() {
            for cause in causes {
                let _ = writeln!(stderr, "  caused by: {}", escape(cause));
            }
        }
        if let Some(hint) = hint {
            let _ = writeln!(stderr, "hint: {}", escape(hint));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn control_and_bidi_characters_are_escaped_and_lines_kept() {
        assert!(matches!(
            escape("plain\ttext\n"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(
            escape("refused\u{1b}[31m red\r\u{7}\u{202e}gpj.exe"),
            "refused\\u{1b}[31m red\\u{d}\\u{7}\\u{202e}gpj.exe"
        );
        assert_eq!(escape("a\u{9b}b"), "a\\u{9b}b");
    }

    #[test]
    fn json_stays_json_with_the_same_strings() {
        let value = serde_json::json!({"m": "x\u{1b}[2J\u{9b}\u{202e}\u{2069}y\n"});
        let text = serde_json::to_string_pretty(&value).unwrap();
        let escaped = super::escape_json(&text);
        assert!(!escaped.chars().any(super::hostile), "{escaped}");
        let back: serde_json::Value = serde_json::from_str(&escaped).unwrap();
        assert_eq!(back, value);
    }
}
