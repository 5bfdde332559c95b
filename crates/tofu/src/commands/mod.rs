//! One module per subcommand, and what `verify`, `compare` and `status` share: the
//! judgement's options from the command line, the keys it trusts (`trust.rs`), and the
//! loading of the runs. Which runs may be judged, and which count, is tofu-compare's to
//! decide (`tofu_compare::load_runs`).

mod compare;
pub(crate) mod fetch;
mod keygen;
pub(crate) mod log;
mod status;
mod trust;
mod verify;

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::anyhow;
use tofu_compare::{LoadedRuns, Rule};

use crate::cli::{Cli, Command, JudgeArgs};
use crate::failure::Hint;
use crate::{ExitCode, Failure, output};

pub fn dispatch(cli: Cli) -> Result<ExitCode, Failure> {
    match cli.command {
        Command::Fetch(args) => fetch::run(*args, cli.config.as_deref()),
        Command::Verify(args) => verify::run(args),
        Command::Compare(args) => compare::run(args),
        Command::Status(args) => status::run(args),
        Command::Keygen(args) => keygen::run(args),
        Command::Trust(args) => trust::run(args),
        Command::Log(args) => log::run(args),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut crate::command(), "tofu", &mut script);
            output::data(&String::from_utf8_lossy(&script));
            Ok(ExitCode::Success)
        }
    }
}

/// The keys a campaign log's entries are checked with: this machine's and those the user
/// trusts.
pub(crate) fn trust_for_log() -> Result<tofu_compare::Trust, Failure> {
    trust::judgement_trust(&[], false)
}

/// The largest `--min-gap`: ten years, in hours.
const MAX_MIN_GAP_HOURS: f64 = 87_840.0;

/// The options of the judgement, checked before any file is read.
pub fn judge_options(judge: &JudgeArgs) -> Result<tofu_compare::Options, Failure> {
    let require = parse_rules(judge.require.as_deref())?;
    let gap = judge.min_gap;
    // At most ten years: a gap any campaign could meet, and one the clock arithmetic of
    // `status` (when the next run may start) can always hold.
    if !(gap.is_finite() && (0.0..=MAX_MIN_GAP_HOURS).contains(&gap)) {
        return Err(anyhow!(
            "--min-gap {gap} is not a number of hours from 0 to {MAX_MIN_GAP_HOURS}"
        )
        .into());
    }
    Ok(tofu_compare::Options {
        min_runs: usize::try_from(judge.min_runs).unwrap_or(usize::MAX),
        require,
        // 0 asks for nothing beyond distinct dates.
        min_gap_hours: (gap > 0.0).then_some(gap),
        exclusions: exclusions(&judge.exclude)?,
        logs: campaign_logs(&judge.logs)?,
    })
}

/// `--exclude RUN=WHY`, each with a run id (or 8+ of its first digits) and a reason.
fn exclusions(raw: &[String]) -> Result<Vec<tofu_compare::Exclusion>, Failure> {
    raw.iter()
        .map(|given| {
            let (run, reason) = given.split_once('=').unwrap_or((given, ""));
            let run = run.trim().to_ascii_lowercase();
            if run.len() < 8 || run.len() > 32 || !run.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(anyhow!(
                    "--exclude {given:?}: {run:?} is not a run id or its first 8 or more digits"
                ))
                .hint("copy the run id from compare's note on the attempts not given");
            }
            if reason.trim().is_empty() {
                return Err(anyhow!("--exclude {given:?} gives no reason"))
                    .hint("say why the attempt is left out: --exclude RUN=WHY");
            }
            Ok(tofu_compare::Exclusion {
                run,
                reason: reason.trim().to_owned(),
            })
        })
        .collect()
}

/// This machine's campaign log, and the `--log` files, read and checked with the keys the
/// judgement trusts.
fn campaign_logs(files: &[PathBuf]) -> Result<Vec<tofu_compare::HostLog>, Failure> {
    let keys = crate::campaign_log::key_lookup(None)?;
    let mut logs = Vec::new();
    let local = crate::campaign_log::CampaignLog::default_path().ok();
    let this_host = crate::paths::config_dir().ok().and_then(|dir| {
        dir.join(tofu_record::host::SALT_FILE)
            .exists()
            .then(|| tofu_record::host::fingerprint(&dir).ok())
            .flatten()
    });
    for (path, own) in local
        .iter()
        .map(|p| (p, true))
        .chain(files.iter().map(|p| (p, false)))
    {
        if !own && !path.is_file() {
            return Err(anyhow!("--log {}: no such file", path.display()).into());
        }
        let log = crate::campaign_log::CampaignLog::at(path.clone()).read(&keys)?;
        let mut hosts: BTreeSet<String> =
            log.entries.iter().map(|l| l.entry.host.clone()).collect();
        if own {
            hosts.extend(this_host.clone());
        }
        logs.push(tofu_compare::HostLog {
            hosts,
            source: path.display().to_string(),
            log,
        });
    }
    Ok(logs)
}

/// The transcripts the user named: a directory stands for its `*.json` files (as a campaign
/// collects them), a pattern that names no file (`'runs/*.json'`, quoted so the shell left it)
/// for the files it matches, each list in name order; anything else as given. A directory or
/// pattern that yields nothing is refused, never taken as no runs.
pub fn expand_runs(given: &[PathBuf]) -> Result<Vec<PathBuf>, Failure> {
    let mut runs = Vec::new();
    for path in given {
        let text = path.to_string_lossy();
        let found: Vec<PathBuf> = if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| anyhow!("cannot read {}: {e}", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "json"))
                .collect();
            files.sort();
            files
        } else if !path.exists() && text.contains(['*', '?', '[']) {
            let matches =
                glob::glob(&text).map_err(|e| anyhow!("{text:?} is not a usable pattern: {e}"))?;
            let mut files: Vec<PathBuf> = matches
                .filter_map(Result::ok)
                .filter(|p| p.is_file())
                .collect();
            files.sort();
            files
        } else {
            runs.push(path.clone());
            continue;
        };
        if found.is_empty() {
            return Err(anyhow!(
                "{} holds or matches no *.json transcript",
                path.display()
            ))
            .hint("give the transcripts' directory, or the files themselves");
        }
        runs.extend(found);
    }
    Ok(runs)
}

/// Loads the runs of a compare or status (as [`expand_runs`] gave them) under the trust the
/// user chose, and shows the warnings about the runs that were let in.
pub fn load_for_judgement(paths: &[PathBuf], judge: &JudgeArgs) -> Result<LoadedRuns, Failure> {
    let trust = trust::judgement_trust(&judge.trusted_keys, judge.allow_unsigned)?;
    let loaded = tofu_compare::load_runs(paths, &trust, judge.allow_mixed_plans)?;
    for warning in &loaded.warnings {
        output::warn(&warning.to_string());
    }
    Ok(loaded)
}

/// The exit code of a verdict.
pub fn verdict_exit(verdict: tofu_compare::Verdict) -> ExitCode {
    match verdict {
        tofu_compare::Verdict::Agree => ExitCode::Success,
        tofu_compare::Verdict::Disagree => ExitCode::Failure,
        tofu_compare::Verdict::Inconclusive => ExitCode::Inconclusive,
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
        .map_err(|e| anyhow!("--require: {e}").into())
}
