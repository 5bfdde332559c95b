//! Exit codes: one typed enum, documented in the README and tested end to end. Nothing that
//! failed exits 0, and a usage error never looks like a finding.

/// How `tofu` exits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitCode {
    /// `fetch`: every target fetched; `verify`: every file verified and signed by a trusted
    /// key; `compare`: agree; `trust`, `keygen`: done.
    Success = 0,
    /// `fetch`: at least one target failed (and is recorded); `compare`: disagree.
    Failure = 1,
    /// Unusable input or a usage error: bad arguments, unreadable or tampered transcript,
    /// bad signature, unknown format, a malformed trusted-keys store; for `verify`, a
    /// signature by a key the user does not trust.
    Error = 2,
    /// `compare`: nothing differs, but something is missing (a run, an artifact, evidence),
    /// or a run is signed by a key the user does not trust.
    Inconclusive = 3,
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(exit: ExitCode) -> Self {
        std::process::ExitCode::from(exit as u8)
    }
}
