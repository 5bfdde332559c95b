//! The trust policy: which transcripts may be judged at all. A run is read strictly and its
//! signature checked (against the pinned keys, else the key it names); a missing signature is
//! let in only when unsigned runs are allowed, a bad one never. A campaign also refuses the
//! same run twice and, unless allowed, runs of different plans.
//!
//! The one module of this crate that reads files, and only through tofu-record. What the user
//! should hear about a run that was let in comes back as [`Warning`]s; nothing is printed here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tofu_record::key::{self, PublicKey};
use tofu_record::{KeyError, PlanRef, ReadError, Transcript, VerifyError, io, sign};

use crate::Input;

/// Whose signatures count, and whether a run without one may be judged.
#[derive(Clone, Debug, Default)]
pub struct Trust {
    /// The keys the user pinned. When empty, each run is checked against the key its
    /// transcript names, which proves the file is unchanged but not who made it.
    pub keys: Vec<PublicKey>,
    /// Let in a run that has no signature file (a bad signature is still refused).
    pub allow_unsigned: bool,
}

impl Trust {
    /// Loads the pinned public keys (minisign `.pub` files), the first unusable one refused.
    pub fn load(key_files: &[PathBuf], allow_unsigned: bool) -> Result<Trust, LoadError> {
        let keys = key_files
            .iter()
            .map(|path| key::load_public_key(path))
            .collect::<Result<_, _>>()?;
        Ok(Trust {
            keys,
            allow_unsigned,
        })
    }
}

/// How a run's signature was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signature {
    /// Verified with one of the pinned keys.
    Pinned {
        /// The signer's key id.
        key_id: String,
    },
    /// Verified with the key the transcript names: the file is unchanged since signing, but
    /// anyone could have signed it.
    SelfNamed {
        /// The signer's key id.
        key_id: String,
    },
    /// No signature file; let in because unsigned runs were allowed.
    Unsigned {
        /// The signature file that is missing.
        missing: PathBuf,
    },
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
    /// The key id of the verified signer; None for an unsigned run.
    pub fn signed_by(&self) -> Option<&str> {
        match &self.signature {
            Signature::Pinned { key_id } | Signature::SelfNamed { key_id } => Some(key_id),
            Signature::Unsigned { .. } => None,
        }
    }

    /// The run as [`crate::compare`] takes it, named by its path.
    pub fn input(&self) -> Input<'_> {
        Input {
            name: self.path.display().to_string(),
            transcript: &self.transcript,
            signed_by: self.signed_by().map(str::to_owned),
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
    /// No key was pinned, and signatures were checked against the keys the transcripts name.
    SelfNamedKeys,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Warning::Unsigned { path, missing } => write!(
                f,
                "{}: no signature ({} is missing); accepted because of --allow-unsigned",
                path.display(),
                missing.display()
            ),
            Warning::SelfNamedKeys => f.write_str(
                "signatures were checked against the keys the transcripts name: they show the \
                 files are unchanged, not who made them; pin operators with --trusted-key",
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
    /// The run was signed off by a key that is not pinned.
    #[error("{}: signed off by key {key_id}, which is not a --trusted-key", path.display())]
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

/// Reads a transcript and checks its signature: with a pinned key when `trust` has any (the
/// run must be signed by one of them), else with the key the transcript names. A missing
/// signature is let in only when `trust` allows unsigned runs; a bad one never is.
pub fn load_run(path: &Path, trust: &Trust) -> Result<LoadedRun, LoadError> {
    let (transcript, bytes) = io::read(path)?;
    let key = signing_key(path, &transcript, trust)?;
    let signature = match sign::verify_file(&transcript, path, &bytes, &key) {
        Ok(verified) if trust.keys.is_empty() => Signature::SelfNamed {
            key_id: verified.key_id,
        },
        Ok(verified) => Signature::Pinned {
            key_id: verified.key_id,
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

/// The key to check a run's signature with: the pinned key that is the one the transcript
/// names, or with nothing pinned the named key itself.
fn signing_key(
    path: &Path,
    transcript: &Transcript,
    trust: &Trust,
) -> Result<PublicKey, LoadError> {
    let named = sign::signer_key(transcript).map_err(|error| LoadError::SignerKey {
        path: path.to_owned(),
        error,
    })?;
    if trust.keys.is_empty() {
        return Ok(named);
    }
    trust
        .keys
        .iter()
        .find(|k| **k == named)
        .cloned()
        .ok_or_else(|| LoadError::Untrusted {
            path: path.to_owned(),
            key_id: transcript.signer.key_id.clone(),
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
    refuse_same_run_twice(&runs)?;
    if !allow_mixed_plans {
        check_same_plan(&runs)?;
    }
    let mut warnings: Vec<Warning> = runs
        .iter()
        .filter_map(|run| match &run.signature {
            Signature::Unsigned { missing } => Some(Warning::Unsigned {
                path: run.path.clone(),
                missing: missing.clone(),
            }),
            Signature::Pinned { .. } | Signature::SelfNamed { .. } => None,
        })
        .collect();
    if runs
        .iter()
        .any(|r| matches!(r.signature, Signature::SelfNamed { .. }))
    {
        warnings.push(Warning::SelfNamedKeys);
    }
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
fn refuse_same_run_twice(runs: &[LoadedRun]) -> Result<(), LoadError> {
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
fn check_same_plan(runs: &[LoadedRun]) -> Result<(), LoadError> {
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
