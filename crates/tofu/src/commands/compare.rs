//! `tofu compare`: load and verify every run, then hand them to tofu-compare.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::anyhow;
use tofu_compare::{Input, Options, Rule, Verdict};

use crate::cli::CompareArgs;
use crate::commands::{load_run, load_trusted_keys};
use crate::{Exit, Failure, output};

pub fn run(args: CompareArgs) -> Result<Exit, Failure> {
    let require = parse_rules(args.require.as_deref())?;
    let trusted = load_trusted_keys(&args.trusted_keys)?;
    let mut runs = Vec::new();
    for path in &args.runs {
        runs.push(load_run(path, &trusted, args.allow_unsigned)?);
    }
    let mut by_id: BTreeMap<&str, &std::path::Path> = BTreeMap::new();
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
    if trusted.is_empty() && runs.iter().any(|r| r.signed_by.is_some()) {
        output::warn(
            "signatures were checked against the keys the transcripts name: they show the \
             files are unchanged, not who made them; pin operators with --trusted-key",
        );
    }
    let inputs: Vec<Input<'_>> = runs
        .iter()
        .map(|r| Input {
            name: r.path.display().to_string(),
            transcript: &r.transcript,
            signed_by: r.signed_by.clone(),
        })
        .collect();
    let options = Options {
        min_runs: usize::try_from(args.min_runs).unwrap_or(usize::MAX),
        require,
    };
    let report = tofu_compare::compare(&inputs, &options);
    if args.json {
        output::data(&tofu_compare::render_json(&report));
    } else {
        output::data(&tofu_compare::render_text(&report));
    }
    Ok(match report.verdict {
        Verdict::Agree => Exit::Success,
        Verdict::Disagree => Exit::Failure,
        Verdict::Inconclusive => Exit::Inconclusive,
    })
}

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
