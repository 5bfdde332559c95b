//! Diversity rules, judged only from recorded evidence. A rule without the evidence to judge
//! it is unmet, never met.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::Input;

/// A diversity rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// Every run started on a different UTC date.
    DistinctDays,
    /// Every run came from a different host (by host fingerprint).
    DistinctHosts,
    /// Every run left from a different network (observed exit IP prefix).
    DistinctNetworks,
    /// Every run left from a different country (observed).
    DistinctCountries,
}

impl Rule {
    /// Every rule, in the order reports show them.
    pub const ALL: [Rule; 4] = [
        Rule::DistinctDays,
        Rule::DistinctHosts,
        Rule::DistinctNetworks,
        Rule::DistinctCountries,
    ];

    /// The kebab-case name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Rule::DistinctDays => "distinct-days",
            Rule::DistinctHosts => "distinct-hosts",
            Rule::DistinctNetworks => "distinct-networks",
            Rule::DistinctCountries => "distinct-countries",
        }
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Rule {
    type Err = String;

    fn from_str(s: &str) -> Result<Rule, String> {
        Rule::ALL
            .into_iter()
            .find(|r| r.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown rule {s:?}; the rules are {}, or none",
                    Rule::ALL.map(Rule::name).join(", ")
                )
            })
    }
}

/// Whether a rule holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleStatus {
    /// The evidence shows it holds.
    Met,
    /// The evidence shows it does not hold.
    Unmet,
    /// The transcripts lack the evidence to judge it; counts as unmet.
    NoEvidence,
}

/// The judgement of one rule.
#[derive(Clone, Debug, Serialize)]
pub struct RuleReport {
    /// The rule.
    pub rule: Rule,
    /// Whether the verdict depends on it.
    pub required: bool,
    /// The judgement.
    pub status: RuleStatus,
    /// What the evidence shows: which runs share which value, or what is missing.
    pub message: String,
}

pub(crate) fn judge(inputs: &[Input<'_>], required: &BTreeSet<Rule>) -> Vec<RuleReport> {
    Rule::ALL
        .into_iter()
        .map(|rule| {
            let (status, message) = match rule {
                Rule::DistinctDays => distinct(inputs, "UTC date", |i| {
                    Some(i.transcript.run.started_at.date_naive().to_string())
                }),
                Rule::DistinctHosts => distinct(inputs, "host fingerprint", |i| {
                    Some(i.transcript.run.host.fingerprint.clone())
                }),
                // Format tofu-transcript/1 records no observed exit address or country yet,
                // so these rules cannot be judged: unmet, never met.
                Rule::DistinctNetworks => (
                    RuleStatus::NoEvidence,
                    "no run records an observed exit IP address, so distinct networks cannot \
                     be shown"
                        .to_owned(),
                ),
                Rule::DistinctCountries => (
                    RuleStatus::NoEvidence,
                    "no run records an observed exit country, so distinct countries cannot \
                     be shown"
                        .to_owned(),
                ),
            };
            RuleReport {
                rule,
                required: required.contains(&rule),
                status,
                message,
            }
        })
        .collect()
}

/// Met when every run has a value and no two runs share one.
fn distinct(
    inputs: &[Input<'_>],
    what: &str,
    value: impl Fn(&Input<'_>) -> Option<String>,
) -> (RuleStatus, String) {
    let mut by_value: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut missing = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        match value(input) {
            Some(v) => by_value.entry(v).or_default().push(i + 1),
            None => missing.push(format!("#{}", i + 1)),
        }
    }
    if !missing.is_empty() {
        return (
            RuleStatus::NoEvidence,
            format!("run(s) {} record no {what}", missing.join(", ")),
        );
    }
    let shared: Vec<String> = by_value
        .iter()
        .filter(|(_, runs)| runs.len() > 1)
        .map(|(v, runs)| {
            let runs: Vec<String> = runs.iter().map(|r| format!("#{r}")).collect();
            format!("runs {} share the {what} {v}", runs.join(", "))
        })
        .collect();
    if shared.is_empty() {
        (RuleStatus::Met, format!("every run has its own {what}"))
    } else {
        (RuleStatus::Unmet, shared.join("; "))
    }
}
