//! What `fetch`, `verify`, `keygen`, `trust` and `log` print with `--json`: one
//! document a command, versioned by its `format` field (`tofu_record::document`). compare's
//! and status's documents are tofu-compare's own reports. stdout carries only the document;
//! everything for people goes to stderr.

use std::path::Path;

use schemars::JsonSchema;
use serde::Serialize;
use tofu_record::document::{Document, schema};
use tofu_record::{ArtifactError, ChecksumRecord, Content, SignatureRecord, Transcript, Transport};

/// `tofu fetch --json`: the transcript written, and how each target went.
#[derive(Serialize, JsonSchema)]
pub struct FetchSummary {
    /// The transcript written, as given to --output.
    pub transcript: String,
    /// Its minisign signature, beside it.
    pub signature: String,
    /// The run's id.
    pub run_id: String,
    /// The id of the key that signed it.
    pub key_id: String,
    /// How the network was reached, as the transcript records it (credentials redacted).
    pub transport: Transport,
    /// The exit address the whoami endpoints agreed on, if they did.
    pub exit_ip: Option<String>,
    /// The exit country they agreed on, if they did.
    pub exit_country: Option<String>,
    /// Targets fetched completely.
    pub fetched: usize,
    /// Targets that failed.
    pub failed: usize,
    /// Targets fetched that are not vouched for as the plan says (a signature or checksum
    /// list that contradicts them, or could not be checked). The exit status is 1 when this
    /// or `failed` is not 0.
    pub not_vouched: usize,
    /// Every target, in the transcript's order.
    pub artifacts: Vec<ArtifactSummary>,
}

/// How one target went.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Fetched completely, and vouched for when the plan asks for it.
    Fetched,
    /// Fetched completely, but what should vouch for it did not.
    NotVouched,
    /// Failed; `error` says why.
    Failed,
}

/// One target of `tofu fetch --json`.
#[derive(Serialize, JsonSchema)]
pub struct ArtifactSummary {
    /// The artifact id (the plan's, or the target as given).
    pub id: String,
    /// How it went.
    pub outcome: Outcome,
    /// The URL first asked for (redacted as in the transcript); null for an image or a
    /// Homebrew formula.
    pub url: Option<String>,
    /// Size and digests of what was fetched (for an image, of its top manifest or index).
    pub content: Option<Content>,
    /// For an image: the digest of the document its reference resolved to, `sha256:…`.
    pub image_digest: Option<String>,
    /// Why it failed, with the transcript's stable error code.
    pub error: Option<ArtifactError>,
    /// Where --keep stored each body, relative to the --keep directory.
    pub kept_as: Vec<String>,
    /// The publisher's signature over it, as checked (as in the transcript).
    pub signature: Option<SignatureRecord>,
    /// The checksum list that names it, as checked (as in the transcript).
    pub checksums: Option<ChecksumRecord>,
}

impl Document for FetchSummary {
    const FORMAT: &'static str = "tofu-fetch-summary/1";
    const SCHEMA_FILE: &'static str = "fetch";
}

impl FetchSummary {
    /// The summary of the transcript written at `path`.
    pub fn new(path: &Path, transcript: &Transcript) -> FetchSummary {
        let artifacts: Vec<ArtifactSummary> = transcript
            .artifacts
            .iter()
            .map(|a| ArtifactSummary {
                id: a.id.clone(),
                outcome: if a.error.is_some() {
                    Outcome::Failed
                } else if crate::vouch::not_vouched(a) {
                    Outcome::NotVouched
                } else {
                    Outcome::Fetched
                },
                url: a.fetches.first().map(|f| f.url.clone()),
                content: a.content.clone(),
                // Already `sha256:…`; empty when the pull failed before the top document.
                image_digest: a
                    .oci
                    .as_ref()
                    .map(|o| o.top.digest.clone())
                    .filter(|d| !d.is_empty()),
                error: a.error.clone(),
                kept_as: a.fetches.iter().filter_map(|f| f.kept_as.clone()).collect(),
                signature: a.signature.clone(),
                checksums: a.checksums.clone(),
            })
            .collect();
        let count = |o: fn(&Outcome) -> bool| artifacts.iter().filter(|a| o(&a.outcome)).count();
        FetchSummary {
            transcript: path.display().to_string(),
            signature: tofu_record::sign::signature_path(path)
                .display()
                .to_string(),
            run_id: transcript.run.id.clone(),
            key_id: transcript.signer.key_id.clone(),
            transport: transcript.vantage.transport.clone(),
            exit_ip: transcript.vantage.exit.ip.clone(),
            exit_country: transcript.vantage.exit.country.clone(),
            fetched: count(|o| matches!(o, Outcome::Fetched | Outcome::NotVouched)),
            failed: count(|o| matches!(o, Outcome::Failed)),
            not_vouched: count(|o| matches!(o, Outcome::NotVouched)),
            artifacts,
        }
    }
}

/// `tofu verify --json`: one entry per file, in the order given.
#[derive(Serialize, JsonSchema)]
pub struct VerifyReport {
    /// Every file checked. The exit status is 0 only when every one is `ok`.
    pub files: Vec<VerifiedFile>,
}

/// One file of `tofu verify --json`.
#[derive(Serialize, JsonSchema)]
pub struct VerifiedFile {
    /// The file, as given (or as found in a directory given).
    pub path: String,
    /// Well formed, and signed by a key you trust.
    pub ok: bool,
    /// The run, when it is `ok` (its fields are absent otherwise).
    #[serde(flatten)]
    pub run: Option<VerifiedRun>,
    /// Why it is not `ok`: what happened, and what to do.
    pub error: Option<Problem>,
}

/// What `tofu verify` says of a file that verified.
#[derive(Serialize, JsonSchema)]
pub struct VerifiedRun {
    /// Who signed it.
    pub signer: tofu_compare::Signature,
    /// The run's id.
    pub run_id: String,
    /// When the run started (RFC 3339, UTC).
    pub started_at: String,
    /// Its artifacts.
    pub artifacts: usize,
    /// How many of them failed.
    pub failed: usize,
}

impl VerifiedRun {
    /// What verify says of `run`.
    pub fn of(run: &tofu_compare::LoadedRun) -> VerifiedRun {
        let t = &run.transcript;
        VerifiedRun {
            signer: run.signature.clone(),
            run_id: t.run.id.clone(),
            started_at: t
                .run
                .started_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            artifacts: t.artifacts.len(),
            failed: t.artifacts.iter().filter(|a| a.error.is_some()).count(),
        }
    }
}

/// A failure as a person reads it on stderr: the message, and the hint.
#[derive(Serialize, JsonSchema)]
pub struct Problem {
    /// What happened.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
}

impl Document for VerifyReport {
    const FORMAT: &'static str = "tofu-verify-report/1";
    const SCHEMA_FILE: &'static str = "verify";
}

/// `tofu keygen --json`: the key made.
#[derive(Serialize, JsonSchema)]
pub struct KeygenResult {
    /// The secret key file (mode 0600).
    pub key: String,
    /// The public key file beside it: the one to give other operators.
    pub public_key_file: String,
    /// The public key, base64, as in the file's second line.
    pub public_key: String,
    /// Its key id, as transcripts and `tofu trust list` show it.
    pub key_id: String,
}

impl Document for KeygenResult {
    const FORMAT: &'static str = "tofu-keygen-result/1";
    const SCHEMA_FILE: &'static str = "keygen";
}

/// `tofu trust list --json`: the keys whose runs count.
#[derive(Serialize, JsonSchema)]
pub struct TrustList {
    /// This machine's own key first (when it has no name of its own), then the store's, in
    /// its order.
    pub keys: Vec<TrustedKey>,
}

/// One trusted key.
#[derive(Serialize, JsonSchema)]
pub struct TrustedKey {
    /// The name it is trusted under (`this machine` for this machine's own key).
    pub name: String,
    /// Its key id.
    pub key_id: String,
    /// The public key, base64.
    pub public_key: String,
    /// This machine's own signing key.
    pub own: bool,
}

impl Document for TrustList {
    const FORMAT: &'static str = "tofu-trust-list/1";
    const SCHEMA_FILE: &'static str = "trust-list";
}

/// `tofu trust add --json` and `tofu trust remove --json`: the key whose trust changed.
#[derive(Serialize, JsonSchema)]
pub struct TrustChange {
    /// What changed.
    pub change: Change,
    /// The name it is (or was) trusted under.
    pub name: String,
    /// Its key id.
    pub key_id: String,
    /// The public key, base64.
    pub public_key: String,
}

/// What `tofu trust` changed.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    /// The key is trusted now: runs it signed count.
    Added,
    /// The key is no longer trusted: runs it signed are shown, not counted.
    Removed,
}

impl Document for TrustChange {
    const FORMAT: &'static str = "tofu-trust-change/1";
    const SCHEMA_FILE: &'static str = "trust-change";
}

/// Every command's document schema: `(file name in docs/json/, schema)`.
pub fn schemas() -> Vec<(String, String)> {
    fn one<T: Document>() -> (String, String) {
        (format!("{}.schema.json", T::SCHEMA_FILE), schema::<T>())
    }
    vec![
        one::<FetchSummary>(),
        one::<VerifyReport>(),
        one::<tofu_compare::Report>(),
        one::<tofu_compare::Status>(),
        one::<KeygenResult>(),
        one::<TrustList>(),
        one::<TrustChange>(),
        one::<crate::commands::log::Listing>(),
    ]
}

/// Prints `document` on stdout.
pub fn print<T: Document>(document: &T) {
    crate::output::json(&tofu_record::document::to_json(document));
}
