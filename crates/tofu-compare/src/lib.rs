//! Compares N transcripts: per-artifact verdicts, diversity rules, and one overall verdict.
//! Pure: the caller reads and verifies the files; this crate opens no file and no socket.
//!
//! A failure is never agreement: an artifact that is absent or failed in any run makes the
//! verdict inconclusive at best, and so does a diversity rule without the evidence to judge it.

mod fields;
mod render;
mod rules;

use std::collections::BTreeSet;

use serde::Serialize;
use tofu_record::{Content, Transcript, Transport};

pub use render::{render_json, render_text};
pub use rules::{Rule, RuleReport, RuleStatus};

/// One run handed to [`compare`]: a parsed transcript whose signature the caller checked.
#[derive(Clone, Debug)]
pub struct Input<'a> {
    /// How the user named it (the file path).
    pub name: String,
    /// The transcript.
    pub transcript: &'a Transcript,
    /// Key id of the verified signer, or None when the user allowed an unsigned run.
    pub signed_by: Option<String>,
}

/// What a comparison requires.
#[derive(Clone, Debug)]
pub struct Options {
    /// Fewest runs for an agreement.
    pub min_runs: usize,
    /// Diversity rules that must hold for an agreement.
    pub require: BTreeSet<Rule>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            min_runs: 3,
            require: Rule::ALL.into_iter().collect(),
        }
    }
}

/// The overall verdict. Its exit code is part of the CLI contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Enough runs, every artifact identical in every run, every required rule met.
    Agree,
    /// Some must-match field differs between runs.
    Disagree,
    /// Nothing differs, but something is missing: a run, an artifact, or evidence.
    Inconclusive,
}

/// The verdict on one artifact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArtifactVerdict {
    /// Every run fetched it and all agree.
    Match,
    /// At least two runs fetched different bytes.
    Mismatch,
    /// No two runs differ, but it is absent or failed in at least one run.
    Missing,
}

/// One run as the report shows it.
#[derive(Clone, Debug, Serialize)]
pub struct RunSummary {
    /// 1-based position on the command line: `#1`, `#2`, ….
    pub index: usize,
    /// The file name the user gave.
    pub name: String,
    /// The run id.
    pub run_id: String,
    /// The operator's label.
    pub label: Option<String>,
    /// When it started (RFC 3339, UTC).
    pub started_at: String,
    /// The transport, for display.
    pub vantage: String,
    /// The host fingerprint.
    pub host: String,
    /// Key id of the verified signer; null for an allowed unsigned run.
    pub signed_by: Option<String>,
}

/// What one run saw of one artifact.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Cell {
    /// Fetched completely.
    Ok {
        /// The must-match fields.
        content: Content,
        /// Shown, not judged: where the bytes came from.
        final_url: Option<String>,
        /// Shown, not judged: the TLS leaf certificate.
        tls_leaf_sha256: Option<String>,
    },
    /// Recorded as failed.
    Failed {
        /// The stable error code.
        code: String,
        /// The message.
        message: String,
    },
    /// Not in this run's transcript.
    Absent,
}

/// Runs that saw the same content.
#[derive(Clone, Debug, Serialize)]
pub struct Group {
    /// Run indexes (1-based).
    pub runs: Vec<usize>,
    /// What they saw.
    pub content: Content,
}

/// The comparison of one artifact across runs.
#[derive(Clone, Debug, Serialize)]
pub struct ArtifactReport {
    /// The artifact id.
    pub id: String,
    /// The verdict.
    pub verdict: ArtifactVerdict,
    /// One cell per run, in run order.
    pub cells: Vec<Cell>,
    /// Runs grouped by the content they saw, largest group first.
    pub groups: Vec<Group>,
    /// On a mismatch, the runs outside the majority group: their vantage points are the
    /// suspicious ones. With no strict majority, every run that fetched it.
    pub odd_runs: Vec<usize>,
    /// Unified diffs of the must-match fields: the majority (or first) group against each
    /// other group.
    pub diffs: Vec<String>,
}

/// The whole comparison.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The overall verdict.
    pub verdict: Verdict,
    /// Why the verdict is not `agree`, one line per reason.
    pub reasons: Vec<String>,
    /// The runs, in the order given.
    pub runs: Vec<RunSummary>,
    /// Every artifact id seen in any run, in first-seen order.
    pub artifacts: Vec<ArtifactReport>,
    /// Every diversity rule, required or not.
    pub rules: Vec<RuleReport>,
    /// The options the verdict was reached under.
    pub min_runs: usize,
}

/// Compares the runs. Callers must refuse duplicate runs before this (the same run given
/// twice is not a second vantage point); this function also refuses to count them.
pub fn compare(inputs: &[Input<'_>], options: &Options) -> Report {
    let runs: Vec<RunSummary> = inputs
        .iter()
        .enumerate()
        .map(|(i, input)| summarize(i + 1, input))
        .collect();

    let mut ids: Vec<&str> = Vec::new();
    let mut seen = BTreeSet::new();
    for input in inputs {
        for artifact in &input.transcript.artifacts {
            if seen.insert(artifact.id.as_str()) {
                ids.push(&artifact.id);
            }
        }
    }
    let artifacts: Vec<ArtifactReport> = ids
        .iter()
        .map(|id| fields::compare_artifact(id, inputs, &runs))
        .collect();
    let rules = rules::judge(inputs, &options.require);

    let mut reasons = Vec::new();
    let distinct_runs: BTreeSet<&str> = inputs
        .iter()
        .map(|i| i.transcript.run.id.as_str())
        .collect();
    if distinct_runs.len() < inputs.len() {
        reasons.push("the same run was given more than once; it counts once".to_owned());
    }
    if distinct_runs.len() < options.min_runs {
        reasons.push(format!(
            "only {} distinct run(s); at least {} are required (--min-runs)",
            distinct_runs.len(),
            options.min_runs
        ));
    }
    if artifacts.is_empty() {
        reasons.push("no artifact to compare".to_owned());
    }
    let mut disagree = false;
    for a in &artifacts {
        match a.verdict {
            ArtifactVerdict::Match => {}
            ArtifactVerdict::Mismatch => {
                disagree = true;
                reasons.push(format!(
                    "{}: differs; odd run(s) {}",
                    a.id,
                    fields::run_list(&a.odd_runs, &runs)
                ));
            }
            ArtifactVerdict::Missing => {
                let which: Vec<usize> = a
                    .cells
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| !matches!(c, Cell::Ok { .. }))
                    .map(|(i, _)| i + 1)
                    .collect();
                reasons.push(format!(
                    "{}: absent or failed in run(s) {}",
                    a.id,
                    fields::run_list(&which, &runs)
                ));
            }
        }
    }
    for rule in &rules {
        if rule.required && rule.status != RuleStatus::Met {
            reasons.push(format!("{} is unmet: {}", rule.rule, rule.message));
        }
    }
    let verdict = if disagree {
        Verdict::Disagree
    } else if reasons.is_empty() {
        Verdict::Agree
    } else {
        Verdict::Inconclusive
    };
    Report {
        verdict,
        reasons,
        runs,
        artifacts,
        rules,
        min_runs: options.min_runs,
    }
}

fn summarize(index: usize, input: &Input<'_>) -> RunSummary {
    let t = input.transcript;
    RunSummary {
        index,
        name: input.name.clone(),
        run_id: t.run.id.clone(),
        label: t.run.label.clone(),
        started_at: t
            .run
            .started_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        vantage: describe_transport(&t.vantage.transport),
        host: t.run.host.fingerprint.clone(),
        signed_by: input.signed_by.clone(),
    }
}

/// A one-line description of a transport.
pub fn describe_transport(transport: &Transport) -> String {
    match transport {
        Transport::Direct => "direct".to_owned(),
        Transport::Socks5 { proxy, .. } => proxy.clone(),
        Transport::Interface { name } => format!("iface:{name}"),
    }
}
