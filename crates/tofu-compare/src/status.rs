//! Where a campaign stands and what the next run must differ in, derived from a [`Report`]
//! and the runs' evidence.

use std::collections::BTreeSet;

use crate::rules::run_exits;
use crate::{ArtifactVerdict, Input, Options, Report, Rule, RuleStatus, Verdict};
use schemars::JsonSchema;
use serde::Serialize;

/// What the next run must be like for the campaign to move towards agreement.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct NextRun {
    /// Runs still needed to reach `--min-runs`.
    pub runs_needed: usize,
    /// distinct-days: a UTC date after this one.
    pub day_after: Option<String>,
    /// --min-gap: not before this time (RFC 3339).
    pub not_before: Option<String>,
    /// distinct-hosts: another machine than these (host fingerprints).
    pub other_host_than: Vec<String>,
    /// distinct-networks: an exit network other than these.
    pub other_network_than: Vec<String>,
    /// distinct-countries: an exit country other than these.
    pub other_country_than: Vec<String>,
    /// The same advice as sentences.
    pub advice: Vec<String>,
}

/// The campaign's status.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct Status {
    /// The comparison of the runs so far.
    pub report: Report,
    /// What the next run must differ in (empty advice when the campaign is complete).
    pub next_run: NextRun,
}

/// The status of a campaign from its runs so far.
pub fn status(inputs: &[Input<'_>], options: &Options) -> Status {
    let report = crate::compare(inputs, options);
    let mut next_run = next_run_evidence(inputs, options);
    next_run.advice = advice(&report, options, &next_run);
    Status { next_run, report }
}

/// What the next run must differ in, from the counted runs' evidence, for every required
/// rule (the advice is left empty).
fn next_run_evidence(inputs: &[Input<'_>], options: &Options) -> NextRun {
    let counted = crate::counted(inputs);
    let inputs: Vec<&Input<'_>> = counted.iter().map(|(_, i)| *i).collect();
    let distinct_runs: BTreeSet<&str> = inputs
        .iter()
        .map(|i| i.transcript.run.id.as_str())
        .collect();
    let required = |rule: Rule| options.require.contains(&rule);
    let latest_start = inputs.iter().map(|i| i.transcript.run.started_at).max();
    let day_after = latest_start
        .filter(|_| required(Rule::DistinctDays))
        .map(|t| t.date_naive().to_string());
    let not_before = match (required(Rule::DistinctDays), options.min_gap_hours) {
        (true, Some(hours)) => latest_start.map(|t| {
            (t + chrono::Duration::seconds((hours * 3600.0) as i64))
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        }),
        _ => None,
    };
    let hosts = |i: &Input<'_>| BTreeSet::from([i.transcript.run.host.fingerprint.clone()]);
    let seen = |rule: Rule, f: &dyn Fn(&Input<'_>) -> BTreeSet<String>| -> Vec<String> {
        if !required(rule) {
            return Vec::new();
        }
        let set: BTreeSet<String> = inputs.iter().flat_map(|i| f(i)).collect();
        set.into_iter().collect()
    };
    NextRun {
        runs_needed: options.min_runs.saturating_sub(distinct_runs.len()),
        day_after,
        not_before,
        other_host_than: seen(Rule::DistinctHosts, &hosts),
        other_network_than: seen(Rule::DistinctNetworks, &|i| {
            run_exits(i.transcript).networks
        }),
        other_country_than: seen(Rule::DistinctCountries, &|i| {
            run_exits(i.transcript).countries
        }),
        advice: Vec::new(),
    }
}

/// The advice as sentences: stop on a disagreement; else what the next run must differ in,
/// which rules lack evidence or need a run replaced, which artifacts to fetch again. Nothing
/// once the campaign agrees.
fn advice(report: &Report, options: &Options, next: &NextRun) -> Vec<String> {
    match report.verdict {
        Verdict::Agree => Vec::new(),
        Verdict::Disagree => {
            let mut advice = vec![
                "stop: the runs disagree — do not trust the artifact; find out which vantage \
                 point was lied to (see the odd runs)"
                    .to_owned(),
            ];
            advice.extend(disagreement_advice(report));
            advice
        }
        Verdict::Inconclusive => {
            let mut advice: Vec<String> = report
                .runs
                .iter()
                .filter(|r| !r.signer.counts())
                .map(|r| {
                    format!(
                        "run #{} ({}) is not counted: {}; {}",
                        r.index,
                        r.name,
                        r.signer,
                        crate::TRUST_ADVICE
                    )
                })
                .collect();
            if next.runs_needed > 0 {
                advice.push(format!(
                    "make {} more run(s) (--min-runs {})",
                    next.runs_needed, options.min_runs
                ));
            }
            let needs_more = next.runs_needed > 0
                || report
                    .rules
                    .iter()
                    .any(|r| r.required && r.status != RuleStatus::Met);
            if needs_more {
                advice.extend(next_run_advice(next));
            }
            advice.extend(rule_advice(report, next.runs_needed));
            advice.extend(missing_advice(report));
            advice
        }
    }
}

/// Per differing artifact: which runs disagree and at what level; a run that failed after
/// verifying the differing value disagreed, and fetching it again would not undo that.
fn disagreement_advice(report: &Report) -> Vec<String> {
    let mut advice = Vec::new();
    for a in report
        .artifacts
        .iter()
        .filter(|a| a.verdict == ArtifactVerdict::Mismatch)
    {
        let list = |runs: &[usize]| {
            runs.iter()
                .map(|r| format!("#{r}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let level = a
            .level
            .as_ref()
            .map(|l| format!(" at {l}"))
            .unwrap_or_default();
        advice.push(format!(
            "{}: run(s) {} disagree with the others{level}",
            a.id,
            list(&a.odd_runs)
        ));
        let failed = crate::failed_odd_runs(a);
        if !failed.is_empty() {
            advice.push(format!(
                "{}: run(s) {} failed, but only after verifying a value the other runs do not \
                 share: that run disagreed; fetching again from that vantage point does not \
                 undo it",
                a.id,
                list(&failed)
            ));
        }
    }
    advice
}

/// Per missing artifact: pull the same platforms (bottle tags) everywhere, or fetch it again
/// where it is absent or failed.
fn missing_advice(report: &Report) -> Vec<String> {
    let mut advice = Vec::new();
    for a in report
        .artifacts
        .iter()
        .filter(|a| a.verdict == ArtifactVerdict::Missing)
    {
        if let Some(platforms) = &a.platform_sets {
            advice.push(format!("{}: {platforms}", a.id));
        }
        // Only the runs that count: an untrusted run's gap is not the campaign's.
        let gap = a
            .cells
            .iter()
            .zip(&report.runs)
            .any(|(c, r)| r.signer.counts() && !matches!(c, crate::Cell::Ok { .. }));
        if gap {
            advice.push(format!(
                "{}: absent or failed in some run; fetch it again from that vantage point",
                a.id
            ));
        }
    }
    advice
}

/// `next run: …`: the day, time, machine, network and country the next run must differ in.
fn next_run_advice(next: &NextRun) -> Vec<String> {
    let mut advice = Vec::new();
    if let Some(day) = &next.day_after {
        advice.push(format!("next run: on a UTC day after {day}"));
    }
    if let Some(t) = &next.not_before {
        advice.push(format!("next run: not before {t} (--min-gap)"));
    }
    if !next.other_host_than.is_empty() {
        advice.push(format!(
            "next run: from another machine (or user) than the {} host(s) so far",
            next.other_host_than.len()
        ));
    }
    if !next.other_network_than.is_empty() {
        advice.push(format!(
            "next run: from a network other than {}",
            next.other_network_than.join(", ")
        ));
    }
    if !next.other_country_than.is_empty() {
        advice.push(format!(
            "next run: from a country other than {}",
            next.other_country_than.join(", ")
        ));
    }
    advice
}

/// For each required rule that fails: re-run without evidence, or (with enough runs) replace
/// a run by one that differs.
fn rule_advice(report: &Report, runs_needed: usize) -> Vec<String> {
    let mut advice = Vec::new();
    for rule in report.rules.iter().filter(|r| r.required) {
        if rule.status == RuleStatus::NoEvidence {
            advice.push(format!(
                "{} lacks evidence ({}); re-run those vantage points with a working \
                 --whoami endpoint",
                rule.rule, rule.message
            ));
        } else if rule.status == RuleStatus::Unmet && runs_needed == 0 {
            advice.push(format!(
                "{} is unmet ({}): replace one of those runs by one that differs",
                rule.rule, rule.message
            ));
        }
    }
    advice
}
