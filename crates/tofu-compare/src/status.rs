//! Where a campaign stands and what the next run must differ in, derived from a [`Report`]
//! and the runs' evidence.

use std::collections::BTreeSet;

use crate::rules::{RunExits, run_exits};
use crate::{ArtifactVerdict, Input, Options, Report, Rule, RuleStatus, Verdict};
use serde::Serialize;

/// What the next run must be like for the campaign to move towards agreement.
#[derive(Clone, Debug, Serialize)]
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
#[derive(Clone, Debug, Serialize)]
pub struct Status {
    /// The comparison of the runs so far.
    pub report: Report,
    /// What the next run must differ in (empty advice when the campaign is complete).
    pub next_run: NextRun,
}

/// The status of a campaign from its runs so far.
pub fn status(inputs: &[Input<'_>], options: &Options) -> Status {
    let report = crate::compare(inputs, options);
    let distinct_runs: BTreeSet<&str> = inputs
        .iter()
        .map(|i| i.transcript.run.id.as_str())
        .collect();
    let runs_needed = options.min_runs.saturating_sub(distinct_runs.len());
    let required = |rule: Rule| options.require.contains(&rule);

    let day_after = required(Rule::DistinctDays).then(|| {
        inputs
            .iter()
            .map(|i| i.transcript.run.started_at.date_naive())
            .max()
            .map(|d| d.to_string())
    });
    let not_before = match (required(Rule::DistinctDays), options.min_gap_hours) {
        (true, Some(hours)) => inputs
            .iter()
            .map(|i| i.transcript.run.started_at)
            .max()
            .map(|t| {
                (t + chrono::Duration::seconds((hours * 3600.0) as i64))
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            }),
        _ => None,
    };
    let collect = |rule: Rule, f: &dyn Fn(&Input<'_>) -> Option<String>| -> Vec<String> {
        if !required(rule) {
            return Vec::new();
        }
        let set: BTreeSet<String> = inputs.iter().filter_map(f).collect();
        set.into_iter().collect()
    };
    let other_host_than = collect(Rule::DistinctHosts, &|i| {
        Some(i.transcript.run.host.fingerprint.clone())
    });
    let collect_sets = |rule: Rule, f: &dyn Fn(RunExits) -> BTreeSet<String>| -> Vec<String> {
        if !required(rule) {
            return Vec::new();
        }
        let set: BTreeSet<String> = inputs
            .iter()
            .flat_map(|i| f(run_exits(i.transcript)))
            .collect();
        set.into_iter().collect()
    };
    let other_network_than = collect_sets(Rule::DistinctNetworks, &|e| e.networks);
    let other_country_than = collect_sets(Rule::DistinctCountries, &|e| e.countries);

    let mut advice = Vec::new();
    if report.verdict == Verdict::Disagree {
        advice.push(
            "stop: the runs disagree — do not trust the artifact; find out which vantage point \
             was lied to (see the odd runs)"
                .to_owned(),
        );
    } else if report.verdict != Verdict::Agree {
        if runs_needed > 0 {
            advice.push(format!(
                "make {runs_needed} more run(s) (--min-runs {})",
                options.min_runs
            ));
        }
        let needs_more = runs_needed > 0
            || report
                .rules
                .iter()
                .any(|r| r.required && r.status != RuleStatus::Met);
        if needs_more {
            if let Some(Some(day)) = &day_after {
                advice.push(format!("next run: on a UTC day after {day}"));
            }
            if let Some(t) = &not_before {
                advice.push(format!("next run: not before {t} (--min-gap)"));
            }
            if !other_host_than.is_empty() {
                advice.push(format!(
                    "next run: from another machine (or user) than the {} host(s) so far",
                    other_host_than.len()
                ));
            }
            if !other_network_than.is_empty() {
                advice.push(format!(
                    "next run: from a network other than {}",
                    other_network_than.join(", ")
                ));
            }
            if !other_country_than.is_empty() {
                advice.push(format!(
                    "next run: from a country other than {}",
                    other_country_than.join(", ")
                ));
            }
        }
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
        for a in report
            .artifacts
            .iter()
            .filter(|a| a.verdict == ArtifactVerdict::Missing)
        {
            advice.push(format!(
                "{}: absent or failed in some run; fetch it again from that vantage point",
                a.id
            ));
        }
    }
    Status {
        next_run: NextRun {
            runs_needed,
            day_after: day_after.flatten(),
            not_before,
            other_host_than,
            other_network_than,
            other_country_than,
            advice,
        },
        report,
    }
}
