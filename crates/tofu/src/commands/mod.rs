//! One module per subcommand, and the loading of signed runs that `verify` and `compare`
//! share.

mod compare;
pub(crate) mod fetch;
mod keygen;
mod status;
mod verify;

use std::path::{Path, PathBuf};

use anyhow::anyhow;
use tofu_record::{Transcript, VerifyError, io, key, sign};

use crate::cli::{Cli, Command, JudgeArgs};
use crate::{Exit, Failure};

pub fn dispatch(cli: Cli) -> Result<Exit, Failure> {
    match cli.command {
        Command::Fetch(args) => fetch::run(*args, cli.config.as_deref()),
        Command::Verify(args) => verify::run(args),
        Command::Compare(args) => compare::run(args),
        Command::Status(args) => status::run(args),
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

/// Loads and verifies every run for compare or status, refuses the same run twice and (unless
/// allowed) runs of different plans, and builds the options of the judgement.
pub fn load_for_judgement(
    paths: &[PathBuf],
    judge: &JudgeArgs,
) -> Result<(Vec<LoadedRun>, tofu_compare::Options), Failure> {
    let require = parse_rules(judge.require.as_deref())?;
    if let Some(gap) = judge.min_gap
        && !(gap.is_finite() && gap >= 0.0)
    {
        return Err(Failure::new(
            anyhow!("--min-gap {gap} is not a number of hours"),
            None,
        ));
    }
    let trusted = load_trusted_keys(&judge.trusted_keys)?;
    // Parsing dominates for large transcripts: read and verify the runs in parallel, then
    // report the first failure in command-line order.
    let loaded: Vec<Result<LoadedRun, Failure>> = std::thread::scope(|scope| {
        let handles: Vec<_> = paths
            .iter()
            .map(|path| scope.spawn(|| load_run(path, &trusted, judge.allow_unsigned)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let runs = loaded.into_iter().collect::<Result<Vec<_>, _>>()?;
    let mut by_id: std::collections::BTreeMap<&str, &Path> = std::collections::BTreeMap::new();
    for run in &runs {
        if let Some(first) = by_id.insert(&run.transcript.run.id, &run.path) {
            return Err(Failure::new(
                anyhow!(
                    "{} and {} are the same run ({})",
                    first.display(),
                    run.path.display(),
                    run.transcript.run.id
                ),
                "the same run given twice is not a second vantage point; give each run once"
                    .to_owned(),
            ));
        }
    }
    if !judge.allow_mixed_plans {
        tofu_compare::check_same_plan(&inputs(&runs)).map_err(|e| {
            Failure::new(
                anyhow!("the runs are not of one audit: {e}"),
                "compare runs of the same plan file, or pass --allow-mixed-plans".to_owned(),
            )
        })?;
    }
    if trusted.is_empty() && runs.iter().any(|r| r.signed_by.is_some()) {
        crate::output::warn(
            "signatures were checked against the keys the transcripts name: they show the \
             files are unchanged, not who made them; pin operators with --trusted-key",
        );
    }
    let options = tofu_compare::Options {
        min_runs: usize::try_from(judge.min_runs).unwrap_or(usize::MAX),
        require,
        min_gap_hours: judge.min_gap,
    };
    Ok((runs, options))
}

/// The runs as tofu-compare inputs.
pub fn inputs(runs: &[LoadedRun]) -> Vec<tofu_compare::Input<'_>> {
    runs.iter()
        .map(|r| tofu_compare::Input {
            name: r.path.display().to_string(),
            transcript: &r.transcript,
            signed_by: r.signed_by.clone(),
        })
        .collect()
}

/// The exit code of a verdict.
pub fn verdict_exit(verdict: tofu_compare::Verdict) -> Exit {
    match verdict {
        tofu_compare::Verdict::Agree => Exit::Success,
        tofu_compare::Verdict::Disagree => Exit::Failure,
        tofu_compare::Verdict::Inconclusive => Exit::Inconclusive,
    }
}

fn parse_rules(
    text: Option<&str>,
) -> Result<std::collections::BTreeSet<tofu_compare::Rule>, Failure> {
    use tofu_compare::Rule;
    let Some(text) = text else {
        return Ok(Rule::ALL.into_iter().collect());
    };
    if text.trim() == "none" {
        return Ok(std::collections::BTreeSet::new());
    }
    text.split(',')
        .map(|r| r.trim().parse::<Rule>())
        .collect::<Result<_, _>>()
        .map_err(|e| Failure::new(anyhow!("--require: {e}"), None))
}
