//! Typed errors, one per operation: reading, writing, signing, verifying, keys; and how any
//! error is told in one line.

use std::path::PathBuf;

/// Reading a transcript failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not JSON, or not a transcript; line and column point at the problem.
    #[error("{path}:{line}:{column}: not a valid transcript: {message}")]
    Malformed {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// The file is a transcript of a format this version does not know.
    #[error("{path}: unknown transcript format {found:?} (this tofu reads {expected:?})")]
    UnknownFormat {
        path: PathBuf,
        found: String,
        expected: &'static str,
    },
    /// The file parsed but breaks a rule the types cannot express.
    #[error("{path}: invalid transcript: {reason}")]
    Invalid { path: PathBuf, reason: String },
}

/// Writing a file atomically failed; nothing was left under the final name.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The destination already exists and overwriting was not asked for.
    #[error("{0} already exists")]
    Exists(PathBuf),
    /// An I/O step failed.
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Making a signature failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The minisign library refused.
    #[error("signing failed: {0}")]
    Minisign(String),
    /// The signature could not be written.
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// Checking a transcript's signature failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// There is no `.minisig` beside the transcript.
    #[error("{0}: no signature file")]
    Missing(PathBuf),
    /// The signature file could not be read or parsed.
    #[error("{path}: unreadable signature: {message}")]
    Unreadable { path: PathBuf, message: String },
    /// The signature was made by a key other than the one expected.
    #[error("signed by key {found}, expected {expected}")]
    WrongKey { found: String, expected: String },
    /// The signature does not match the bytes: the file was changed after signing.
    #[error("bad signature: {0}")]
    Bad(String),
    /// The signature is valid but its trusted comment names another run.
    #[error("the signature's trusted comment {comment:?} does not name run {run_id}")]
    CommentMismatch { comment: String, run_id: String },
    /// The public key in the transcript is not a valid minisign key.
    #[error("the transcript's signer key is malformed: {0}")]
    BadSignerKey(String),
}

/// Loading or creating a signing key failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// An I/O step failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not a minisign key of the expected kind.
    #[error("{path}: not a usable minisign key: {message}")]
    Malformed { path: PathBuf, message: String },
    /// The secret key is password-protected; tofu signs unattended.
    #[error("{0}: the key is password-protected; tofu needs an unencrypted key")]
    Encrypted(PathBuf),
    /// A key already exists where one was to be created.
    #[error("{0} already exists")]
    Exists(PathBuf),
    /// The secret key file can be read by others.
    #[error("{path}: the secret key is readable by group or others (mode {mode:o})")]
    Permissions { path: PathBuf, mode: u32 },
}

/// An error with its causes, as one line (`cannot write run.json: disk full`), for a
/// transcript's messages and the terminal alike. A cause whose text the line already holds is
/// not repeated: many errors write their source into their own message.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    error_causes(e).join(": ")
}

/// An error and its causes, outermost first, one text each; a cause whose text an earlier one
/// already holds is left out.
pub fn error_causes(e: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut out: Vec<String> = vec![e.to_string()];
    for cause in std::iter::successors(e.source(), |c| c.source()) {
        let text = cause.to_string();
        if !out.iter().any(|seen| seen.contains(&text)) {
            out.push(text);
        }
    }
    out
}
