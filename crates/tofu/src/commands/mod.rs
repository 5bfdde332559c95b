//! One module per subcommand, and what `verify`, `compare` and `status` share: the
//! judgement's options from the command line, and how a refused run is told to the user.
//! Which runs may be judged is tofu-compare's to decide (`tofu_compare::load_runs`).

mod compare;
pub(crate) mod fetch;
mod keygen;
mod status;
mod verify;

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::anyhow;
use tofu_compare::{LoadError, LoadedRuns, Rule, Trust};

use crate::cli::{Cli, Command, JudgeArgs};
use crate::{Exit, Failure, output};

pub fn dispatch(cli: Cli) -> Result<Exit, Failure> {
    match cli.command {
        Command::Fetch(args) => fetch::run(*args, cli.config.as_deref()),
        Command::Verify(args) => verify::run(args),
        Command::Compare(args) => compare::run(args),
        Command::Status(args) => status::run(args),
        Command::Keygen(args) => keygen::run(args),
    }
}

/// The options of the judgement, checked before any file is read.
pub fn judge_options(judge: &JudgeArgs) -> Result<tofu_compare::Options, Failure> {
    let require = parse_rules(judge.require.as_deref())?;
    if let Some(gap) = judge.min_gap
        && !(gap.is_finite() && gap >= 0.0)
    {
        return Err(Failure::new(
            anyhow!("--min-gap {gap} is not a number of hours"),
            None,
        ));
    }
    Ok(tofu_compare::Options {
        min_runs: usize::try_from(judge.min_runs).unwrap_or(usize::MAX),
        require,
        min_gap_hours: judge.min_gap,
    })
}

/// Loads the runs of a compare or status under the trust the user chose, and shows the
/// warnings about the runs that were let in.
pub fn load_for_judgement(paths: &[PathBuf], judge: &JudgeArgs) -> Result<LoadedRuns, Failure> {
    let trust = Trust::load(&judge.trusted_keys, judge.allow_unsigned).map_err(refused)?;
    let loaded =
        tofu_compare::load_runs(paths, &trust, judge.allow_mixed_plans).map_err(refused)?;
    for warning in &loaded.warnings {
        output::warn(&warning.to_string());
    }
    Ok(loaded)
}

/// A run (or a pinned key) that cannot be used, with what to do about it.
pub fn refused(error: LoadError) -> Failure {
    let hint = match &error {
        LoadError::TrustedKey(_) => "give the operator's minisign public key file (signing.pub)",
        LoadError::Read(_) => "give a transcript written by `tofu fetch`, unmodified",
        LoadError::SignerKey { .. } => "the transcript was altered or not written by tofu",
        LoadError::Untrusted { .. } => {
            "add that operator's public key with --trusted-key, or drop the run"
        }
        LoadError::Unsigned { .. } => {
            "keep RUN.json.minisig beside RUN.json, or pass --allow-unsigned to accept an \
             unsigned run"
        }
        LoadError::BadSignature { .. } => {
            "the transcript or its signature was changed after signing; do not trust this run"
        }
        LoadError::SameRun { .. } => {
            "the same run given twice is not a second vantage point; give each run once"
        }
        LoadError::MixedPlans { .. } => {
            "compare runs of the same plan file, or pass --allow-mixed-plans"
        }
        // A refusal this binary does not know yet: still refused, without advice.
        _ => return Failure::new(error, None),
    };
    Failure::new(error, hint.to_owned())
}

/// The exit code of a verdict.
pub fn verdict_exit(verdict: tofu_compare::Verdict) -> Exit {
    match verdict {
        tofu_compare::Verdict::Agree => Exit::Success,
        tofu_compare::Verdict::Disagree => Exit::Failure,
        tofu_compare::Verdict::Inconclusive => Exit::Inconclusive,
    }
}

/// `--require`: comma-separated rules, `none`, or (absent) all of them.
fn parse_rules(text: Option<&str>) -> Result<BTreeSet<Rule>, Failure> {
    let Some(text) = text else {
        return Ok(Rule::ALL.into_iter().collect());
    };
    if text.trim() == "none" {
        return Ok(BTreeSet::new());
    }
    text.split(',')
        .map(|r| r.trim().parse::<Rule>())
        .collect::<Result<_, _>>()
        .map_err(|e| Failure::new(anyhow!("--require: {e}"), None))
}
