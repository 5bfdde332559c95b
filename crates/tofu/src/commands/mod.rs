//! One module per subcommand, and the loading of signed runs that `verify` and `compare`
//! share.

mod compare;
mod fetch;
mod keygen;
mod verify;

use std::path::{Path, PathBuf};

use anyhow::anyhow;
use tofu_record::{Transcript, VerifyError, io, key, sign};

use crate::cli::{Cli, Command};
use crate::{Exit, Failure};

pub fn dispatch(cli: Cli) -> Result<Exit, Failure> {
    match cli.command {
        Command::Fetch(args) => fetch::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Compare(args) => compare::run(args),
        Command::Keygen(args) => keygen::run(args),
    }
}

/// A transcript read strictly, with the result of its signature check.
pub struct LoadedRun {
    pub path: PathBuf,
    pub transcript: Transcript,
    /// Key id of the verified signer; None when unsigned runs were allowed and this one has
    /// no signature file.
    pub signed_by: Option<String>,
    /// True when the signer is one of the --trusted-key keys.
    pub pinned: bool,
}

/// Public keys the user trusts, loaded once.
pub fn load_trusted_keys(paths: &[PathBuf]) -> Result<Vec<key::PublicKey>, Failure> {
    paths
        .iter()
        .map(|p| {
            key::load_public_key(p).map_err(|e| {
                Failure::new(
                    e,
                    "give the operator's minisign public key file (signing.pub)".to_owned(),
                )
            })
        })
        .collect()
}

/// Reads a transcript and checks its signature. The signature is checked with the pinned
/// key when `trusted` is not empty, else with the key the transcript names. A missing
/// signature is accepted only with `allow_unsigned`; a bad one never is.
pub fn load_run(
    path: &Path,
    trusted: &[key::PublicKey],
    allow_unsigned: bool,
) -> Result<LoadedRun, Failure> {
    let (transcript, bytes) = io::read(path).map_err(|e| {
        Failure::new(
            e,
            "give a transcript written by `tofu fetch`, unmodified".to_owned(),
        )
    })?;
    let named = sign::signer_key(&transcript).map_err(|e| {
        Failure::new(
            anyhow!("{}: {e}", path.display()),
            "the transcript was altered or not written by tofu".to_owned(),
        )
    })?;
    let key = if trusted.is_empty() {
        named
    } else {
        match trusted.iter().find(|k| **k == named) {
            Some(k) => k.clone(),
            None => {
                return Err(Failure::new(
                    anyhow!(
                        "{}: signed off by key {}, which is not a --trusted-key",
                        path.display(),
                        transcript.signer.key_id
                    ),
                    "add that operator's public key with --trusted-key, or drop the run".to_owned(),
                ));
            }
        }
    };
    match sign::verify_file(&transcript, path, &bytes, &key) {
        Ok(verified) => Ok(LoadedRun {
            path: path.to_owned(),
            transcript,
            signed_by: Some(verified.key_id),
            pinned: !trusted.is_empty(),
        }),
        Err(VerifyError::Missing(sig)) if allow_unsigned => {
            crate::output::warn(&format!(
                "{}: no signature ({} is missing); accepted because of --allow-unsigned",
                path.display(),
                sig.display()
            ));
            Ok(LoadedRun {
                path: path.to_owned(),
                transcript,
                signed_by: None,
                pinned: false,
            })
        }
        Err(e @ VerifyError::Missing(_)) => Err(Failure::new(
            anyhow!("{}: {e}", path.display()),
            "keep RUN.json.minisig beside RUN.json, or pass --allow-unsigned to accept an \
             unsigned run"
                .to_owned(),
        )),
        Err(e) => Err(Failure::new(
            anyhow!("{}: {e}", path.display()),
            "the transcript or its signature was changed after signing; do not trust this run"
                .to_owned(),
        )),
    }
}
