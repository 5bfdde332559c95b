//! The trust policy: which transcripts may be judged at all, and whose runs count. A run is
//! read strictly and its signature checked with the key the transcript names; the run counts
//! only if that key is one the user trusts (their own, one added with `tofu trust add`, or a
//! `--trusted-key`). A run signed by any other key is loaded as [`Signature::Untrusted`]: it
//! is shown, never counted. A missing signature is let in only when unsigned runs are
//! allowed, a bad one never. A campaign also refuses the same run twice and, unless allowed,
//! runs of different plans.
//!
//! The one module of this crate that reads files, and only through tofu-record. What the user
//! should hear about a run that was let in comes back as [`Warning`]s; nothing is printed here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::Serialize;
use tofu_record::key::{self, PublicKey};
use tofu_record::{KeyError, PlanRef, ReadError, Transcript, VerifyError, io, sign};

use crate::Input;

/// Whose signatures count, each under the name the report shows, and whether a run without
/// a signature may be judged.
#[derive(Clone, Debug, Default)]
pub struct Trust {
    /// The trusted keys and their display names, first name first.
    keys: Vec<(String, PublicKey)>,
    /// Let in a run that has no signature file (a bad signature is still refused).
    pub allow_unsigned: bool,
}

impl Trust {
    /// Trusts nobody yet.
    pub fn new(allow_unsigned: bool) -> Trust {
        Trust {
            keys: Vec::new(),
            allow_unsigned,
        }
    }

    /// Trusts `key`, shown as `name`; a key trusted already keeps its first name.
    pub fn trust(&mut self, name: impl Into<String>, key: PublicKey) {
        if self.name_of(&key).is_none() {
            self.keys.push((name.into(), key));
        }
    }

    /// Trusts the public keys in these files (`--trusted-key`: minisign `.pub` files), each
    /// named by its file's stem; the first unusable file is refused.
    pub fn trust_files(&mut self, key_files: &[PathBuf]) -> Result<(), LoadError> {
        for path in key_files {
            let key = key::load_public_key(path)?;
            let stem = path.file_stem().unwrap_or(path.as_os_str());
            self.trust(stem.to_string_lossy(), key);
        }
        Ok(())
    }

    /// The trusted key with minisign key id `key_id`, if there is one.
    pub fn key_by_id(&self, key_id: &str) -> Option<PublicKey> {
        self.keys
            .iter()
            .find(|(_, k)| key::key_id(k) == key_id)
            .map(|(_, k)| k.clone())
    }

    /// The name `key` is trusted under, if it is.
    pub fn name_of(&self, key: &PublicKey) -> Option<&str> {
        self.keys
            .iter()
            .find(|(_, k)| k == key)
            .map(|(name, _)| name.as_str())
    }
}

/// Who signed a run, as far as the user can tell.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(tag = "trust", rename_all = "kebab-case")]
pub enum Signature {
    /// Verified with a key the user trusts: the file is unchanged since that operator
    /// signed it. The run counts.
    Trusted {
        /// The name the user trusts the key under.
        name: String,
        /// The signer's key id.
        key_id: String,
    },
    /// Verified with the key the transcript names, which the user does not trust: the file
    /// is unchanged since that key signed it, but anyone could have made the key. The run is
    /// shown, never counted.
    Untrusted {
        /// The signer's key id.
        key_id: String,
    },
    /// No signature file; let in because unsigned runs were allowed. It counts, and the
    /// verdict says so; the key the transcript names is not shown, as nothing proves it.
    Unsigned {
        /// The signature file that is missing.
        #[serde(skip)]
        missing: PathBuf,
    },
}

impl Signature {
    /// Whether the run counts towards agreement: signed by a trusted key, or unsigned and
    /// allowed.
    pub fn counts(&self) -> bool {
        !matches!(self, Signature::Untrusted { .. })
    }
}

impl std::fmt::Display for Signature {
    /// `signed by NAME (key ID)`, `signed by UNTRUSTED key ID`, or `UNSIGNED`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Signature::Trusted { name, key_id } => write!(f, "signed by {name} (key {key_id})"),
            Signature::Untrusted { key_id } => write!(f, "signed by UNTRUSTED key {key_id}"),
            Signature::Unsigned { .. } => f.write_str("UNSIGNED"),
        }
    }
}

/// A transcript read strictly, with the result of its signature check.
#[derive(Clone, Debug)]
pub struct LoadedRun {
    /// The file, as the user named it.
    pub path: PathBuf,
    /// The transcript.
    pub transcript: Transcript,
    /// Its signature.
    pub signature: Signature,
}

impl LoadedRun {
    /// The run as [`crate::compare`] takes it, named by its path.
    pub fn input(&self) -> Input<'_> {
        Input {
            name: self.path.display().to_string(),
            transcript: &self.transcript,
            signature: self.signature.clone(),
        }
    }

    /// The run, if a trusted key signed it; else [`LoadError::Untrusted`] (`tofu verify`).
    pub fn trusted(self) -> Result<LoadedRun, LoadError> {
        match self.signature {
            Signature::Trusted { .. } => Ok(self),
            Signature::Untrusted { key_id } => Err(LoadError::Untrusted {
                path: self.path,
                key_id,
            }),
            Signature::Unsigned { missing } => Err(LoadError::Unsigned {
                path: self.path,
                error: VerifyError::Missing(missing),
            }),
        }
    }
}

/// Runs that may be judged together, and what the user should hear about them.
#[derive(Clone, Debug)]
pub struct LoadedRuns {
    /// The runs, in the order given.
    pub runs: Vec<LoadedRun>,
    /// Warnings to show before the judgement, in the order of the runs.
    pub warnings: Vec<Warning>,
}

impl LoadedRuns {
    /// The runs as [`crate::compare`] and [`crate::status`] take them.
    pub fn inputs(&self) -> Vec<Input<'_>> {
        self.runs.iter().map(LoadedRun::input).collect()
    }
}

/// The advice for a run signed by a key the user does not trust: where the key must come
/// from, and the command that trusts it.
pub const TRUST_ADVICE: &str = "if it is the run of an operator you know, get their public key \
     file (signing.pub) from them, never from the transcript, and run `tofu trust add NAME \
     KEY.pub`";

/// Something the user should know about runs that were let in.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Warning {
    /// A run without a signature file, let in because unsigned runs were allowed.
    Unsigned {
        /// The transcript.
        path: PathBuf,
        /// Its missing signature file.
        missing: PathBuf,
    },
    /// A run signed by a key the user does not trust: shown, not counted.
    Untrusted {
        /// The transcript.
        path: PathBuf,
        /// The signer's key id.
        key_id: String,
    },
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Warning::Unsigned { path, missing } => write!(
                f,
                "{}: no signature ({} is missing); counted because of --allow-unsigned, though \
                 nothing shows who made it",
                path.display(),
                missing.display()
            ),
            Warning::Untrusted { path, key_id } => write!(
                f,
                "{}: signed by key {key_id}, which you do not trust: the run is shown, not \
                 counted; {TRUST_ADVICE}",
                path.display()
            ),
        }
    }
}

/// Why runs cannot be judged. Each message names the file; what to do about it is the
/// caller's to say, by variant.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// A pinned public key file is unreadable or not a minisign public key.
    #[error(transparent)]
    TrustedKey(#[from] KeyError),
    /// The transcript is unreadable, malformed, of an unknown format or invalid.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The transcript names a signer key that is malformed or not the key of its key id.
    // The VerifyError's text is part of this message, so it is not also a `source` (a
    // report of the chain would say it twice).
    #[error("{}: {error}", path.display())]
    SignerKey {
        /// The transcript.
        path: PathBuf,
        /// What is wrong with the key it names.
        error: VerifyError,
    },
    /// The run was signed off by a key the user does not trust (`tofu verify`; compare
    /// shows such a run without counting it).
    #[error("{}: signed off by key {key_id}, which you do not trust", path.display())]
    Untrusted {
        /// The transcript.
        path: PathBuf,
        /// The key id the transcript names.
        key_id: String,
    },
    /// There is no signature file, and unsigned runs were not allowed.
    #[error("{}: {error}", path.display())]
    Unsigned {
        /// The transcript.
        path: PathBuf,
        /// [`VerifyError::Missing`], naming the signature file.
        error: VerifyError,
    },
    /// The signature is unreadable, by another key, or does not match the file or the run:
    /// the transcript or its signature was changed after signing.
    #[error("{}: {error}", path.display())]
    BadSignature {
        /// The transcript.
        path: PathBuf,
        /// What the check found.
        error: VerifyError,
    },
    /// The same run was given twice (under one name or two).
    #[error("{} and {} are the same run ({run_id})", first.display(), second.display())]
    SameRun {
        /// Where it was given first.
        first: PathBuf,
        /// Where it was given again.
        second: PathBuf,
        /// The run id they share.
        run_id: String,
    },
    /// Two runs followed different plans (or one a plan and the other none).
    #[error(
        "the runs are not of one audit: {} followed {}, but {} followed {}",
        first.display(),
        describe_plan(first_plan.as_deref()),
        other.display(),
        describe_plan(other_plan.as_deref())
    )]
    MixedPlans {
        /// The first run.
        first: PathBuf,
        /// Its plan (boxed, so that every `Result` that may hold a `LoadError` stays small).
        first_plan: Option<Box<PlanRef>>,
        /// The first run whose plan differs.
        other: PathBuf,
        /// That run's plan.
        other_plan: Option<Box<PlanRef>>,
    },
}

/// Reads a transcript and checks its signature with the key the transcript names; the
/// signature is [`Signature::Trusted`] only when `trust` holds that key. A missing signature
/// is let in only when `trust` allows unsigned runs; a bad one never is.
pub fn load_run(path: &Path, trust: &Trust) -> Result<LoadedRun, LoadError> {
    let (transcript, bytes) = io::read(path)?;
    let named = sign::signer_key(&transcript).map_err(|error| LoadError::SignerKey {
        path: path.to_owned(),
        error,
    })?;
    let signature = match sign::verify_file(&transcript, path, &bytes, &named) {
        Ok(verified) => match trust.name_of(&named) {
            Some(name) => Signature::Trusted {
                name: name.to_owned(),
                key_id: verified.key_id,
            },
            None => Signature::Untrusted {
                key_id: verified.key_id,
            },
        },
        Err(VerifyError::Missing(missing)) if trust.allow_unsigned => {
            Signature::Unsigned { missing }
        }
        Err(error @ VerifyError::Missing(_)) => {
            return Err(LoadError::Unsigned {
                path: path.to_owned(),
                error,
            });
        }
        Err(error) => {
            return Err(LoadError::BadSignature {
                path: path.to_owned(),
                error,
            });
        }
    };
    Ok(LoadedRun {
        path: path.to_owned(),
        transcript,
        signature,
    })
}

/// Loads every run of a campaign with [`load_run`], then refuses the same run twice and,
/// unless `allow_mixed_plans`, runs of different plans. The first failure in the order of
/// `paths` is the one reported.
pub fn load_runs(
    paths: &[PathBuf],
    trust: &Trust,
    allow_mixed_plans: bool,
) -> Result<LoadedRuns, LoadError> {
    let runs = load_in_parallel(paths, trust)?;
    // Only the runs that count: a forged file (a copied run id, another plan) signed by a key
    // nobody trusts is shown, not judged, and must not stop the judgement either.
    let counted: Vec<&LoadedRun> = runs.iter().filter(|r| r.signature.counts()).collect();
    refuse_same_run_twice(&counted)?;
    if !allow_mixed_plans {
        check_same_plan(&counted)?;
    }
    let warnings: Vec<Warning> = runs
        .iter()
        .filter_map(|run| match &run.signature {
            Signature::Unsigned { missing } => Some(Warning::Unsigned {
                path: run.path.clone(),
                missing: missing.clone(),
            }),
            Signature::Untrusted { key_id } => Some(Warning::Untrusted {
                path: run.path.clone(),
                key_id: key_id.clone(),
            }),
            Signature::Trusted { .. } => None,
        })
        .collect();
    Ok(LoadedRuns { runs, warnings })
}

/// Reads and verifies the runs in parallel (parsing dominates for large transcripts), then
/// reports the first failure in command-line order.
fn load_in_parallel(paths: &[PathBuf], trust: &Trust) -> Result<Vec<LoadedRun>, LoadError> {
    let loaded: Vec<Result<LoadedRun, LoadError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = paths
            .iter()
            .map(|path| scope.spawn(|| load_run(path, trust)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    loaded.into_iter().collect()
}

/// The same run given twice is not a second vantage point.
fn refuse_same_run_twice(runs: &[&LoadedRun]) -> Result<(), LoadError> {
    let mut by_id: BTreeMap<&str, &Path> = BTreeMap::new();
    for run in runs {
        if let Some(first) = by_id.insert(&run.transcript.run.id, &run.path) {
            return Err(LoadError::SameRun {
                first: first.to_owned(),
                second: run.path.clone(),
                run_id: run.transcript.run.id.clone(),
            });
        }
    }
    Ok(())
}

/// Refuses to line up runs of different plans (or plan runs with ad-hoc runs): their
/// artifacts are not the same audit.
fn check_same_plan(runs: &[&LoadedRun]) -> Result<(), LoadError> {
    let Some((first, rest)) = runs.split_first() else {
        return Ok(());
    };
    match rest
        .iter()
        .find(|other| other.transcript.plan != first.transcript.plan)
    {
        None => Ok(()),
        Some(other) => Err(LoadError::MixedPlans {
            first: first.path.clone(),
            first_plan: first.transcript.plan.clone().map(Box::new),
            other: other.path.clone(),
            other_plan: other.transcript.plan.clone().map(Box::new),
        }),
    }
}

/// `plan "NAME" (sha256 PREFIX)`, or `no plan`.
fn describe_plan(plan: Option<&PlanRef>) -> String {
    match plan {
        Some(p) => format!(
            "plan {:?} (sha256 {})",
            p.name,
            p.sha256.get(..12).unwrap_or(&p.sha256)
        ),
        None => "no plan".to_owned(),
    }
}
