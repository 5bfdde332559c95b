//! Attempts a host made that are not among the runs compared. Each transcript names the
//! earlier attempts its host's campaign log holds for the same campaign, and the log of the
//! machine compare runs on (when given) names them all; an attempt left out that saw other
//! bytes than the runs given keeps the verdict from agreeing (it is a vantage point that
//! disagreed), unless the user gives it, or excludes it by run id with a reason. Attempts
//! that failed or were interrupted are shown. A log whose chain or signatures do not hold, or
//! that no longer holds the entry a run recorded as its head, makes the verdict inconclusive.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::Serialize;
use tofu_record::campaign::{Attempt, AttemptOutcome, ReadLog};

use crate::{ArtifactReport, Input};

/// A host's campaign log, read and checked, for compare to set against the runs.
#[derive(Clone, Debug)]
pub struct HostLog {
    /// The host fingerprints whose attempts it holds all of: the machine it was read on
    /// (even when it is empty or gone: a run of that machine must then be in it), and those
    /// its entries name.
    pub hosts: BTreeSet<String>,
    /// Where it was read from, for messages.
    pub source: String,
    /// The log.
    pub log: ReadLog,
}

/// An attempt the user chose to leave out, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exclusion {
    /// The run id, or a prefix of at least 8 of its digits.
    pub run: String,
    /// Why, in the user's words.
    pub reason: String,
}

/// One host's attempts at the campaign the runs are of.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct HostAttempts {
    /// The host fingerprint.
    pub host: String,
    /// The runs given from this host (1-based).
    pub runs: Vec<usize>,
    /// How many attempts it is known to have made, given or not.
    pub made: usize,
    /// The attempts not given, oldest first.
    pub not_given: Vec<MissingAttempt>,
}

/// An attempt not among the runs compared.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct MissingAttempt {
    pub run_id: String,
    /// When it began (RFC 3339).
    pub started_at: String,
    /// Its `--via`.
    pub via: String,
    /// How it ended.
    pub outcome: AttemptOutcome,
    /// Where it saw other bytes than the runs given: one line per artifact.
    pub differs: Vec<String>,
    /// The user's reason for leaving it out, if they gave one.
    pub excluded: Option<String>,
}

/// What the campaign logs add to a comparison.
pub(crate) struct Judged {
    pub(crate) hosts: Vec<HostAttempts>,
    /// Reasons that make the verdict disagree: attempts left out that saw other bytes.
    pub(crate) disagreeing: Vec<String>,
    /// Reasons that make it inconclusive: logs that do not hold.
    pub(crate) broken: Vec<String>,
    /// Shown, not judged.
    pub(crate) notes: Vec<String>,
}

/// Sets the counted runs' campaign records and `logs` against the runs given.
pub(crate) fn judge(
    counted: &[(usize, &Input<'_>)],
    all: &[Input<'_>],
    artifacts: &[ArtifactReport],
    logs: &[HostLog],
    exclusions: &[Exclusion],
) -> Judged {
    let given: BTreeSet<&str> = all.iter().map(|i| i.transcript.run.id.as_str()).collect();
    let mut judged = Judged {
        hosts: Vec::new(),
        disagreeing: Vec::new(),
        broken: Vec::new(),
        notes: Vec::new(),
    };
    for log in logs {
        for problem in &log.log.problems {
            judged
                .broken
                .push(format!("the campaign log {}: {problem}", log.source));
        }
    }
    let mut used = BTreeSet::new();
    for ((host, _), (runs, attempts)) in known_attempts(counted, logs, &mut judged.broken) {
        let mut ids: BTreeSet<String> = attempts.keys().cloned().collect();
        ids.extend(runs.iter().map(|r| counted_id(counted, *r)));
        let made = ids.len();
        let mut not_given = Vec::new();
        for a in attempts
            .values()
            .filter(|a| !given.contains(a.run_id.as_str()))
        {
            let excluded = exclusions
                .iter()
                .find(|e| matches(&e.run, &a.run_id))
                .map(|e| {
                    used.insert(e.run.clone());
                    e.reason.clone()
                });
            not_given.push(MissingAttempt {
                run_id: a.run_id.clone(),
                started_at: a
                    .started_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                via: a.via.clone(),
                outcome: a.outcome,
                differs: differences(a, artifacts),
                excluded,
            });
        }
        not_given.sort_by(|a, b| a.started_at.cmp(&b.started_at));
        let host_attempts = HostAttempts {
            host: host.to_owned(),
            runs,
            made,
            not_given,
        };
        tell(&host_attempts, &mut judged);
        judged.hosts.push(host_attempts);
    }
    for e in exclusions.iter().filter(|e| !used.contains(&e.run)) {
        judged.notes.push(format!(
            "--exclude {}: no attempt left out has this run id",
            e.run
        ));
    }
    judged
}

/// The runs given and the attempts known, by host and campaign.
type Known<'a> = BTreeMap<(&'a str, &'a str), (Vec<usize>, BTreeMap<String, Attempt>)>;

/// The runs given and the attempts known, by host and campaign: from each counted run's
/// record and from the logs that hold that host's attempts, whose heads are checked on the
/// way (a problem goes to `broken`).
fn known_attempts<'a>(
    counted: &[(usize, &Input<'a>)],
    logs: &[HostLog],
    broken: &mut Vec<String>,
) -> Known<'a> {
    let mut known: Known<'a> = BTreeMap::new();
    for &(index, input) in counted {
        let t: &'a tofu_record::Transcript = input.transcript;
        let Some(record) = &t.campaign else { continue };
        let host = t.run.host.fingerprint.as_str();
        let (runs, attempts) = known.entry((host, record.campaign.as_str())).or_default();
        runs.push(index);
        for a in &record.attempts {
            attempts.insert(a.run_id.clone(), a.clone());
        }
        for log in logs.iter().filter(|l| l.hosts.contains(host)) {
            broken.extend(head_problem(index, record, log));
            for a in log.log.attempts(&record.campaign, host) {
                attempts.insert(a.run_id.clone(), a);
            }
        }
    }
    known
}

/// The run id of counted run `index`.
fn counted_id(counted: &[(usize, &Input<'_>)], index: usize) -> String {
    counted
        .iter()
        .find(|(i, _)| *i == index)
        .map(|(_, input)| input.transcript.run.id.clone())
        .unwrap_or_default()
}

/// A run recorded the log's head when it ended: the log must still hold that entry.
fn head_problem(
    index: usize,
    record: &tofu_record::campaign::CampaignRecord,
    log: &HostLog,
) -> Option<String> {
    match log.log.hash_of(record.log_seq) {
        Some(hash) if hash == record.log_head => None,
        Some(_) => Some(format!(
            "run #{index} recorded entry {} of the campaign log {}, which now holds another \
             entry there: the log was rewritten since",
            record.log_seq, log.source
        )),
        None => Some(format!(
            "run #{index} recorded entry {} of the campaign log {}, which no longer holds it: \
             the log was cut or replaced since",
            record.log_seq, log.source
        )),
    }
}

/// `--exclude` names run `id`: all of it, or a prefix of at least 8 digits.
fn matches(given: &str, id: &str) -> bool {
    let given = given.to_ascii_lowercase();
    given.len() >= 8 && id.starts_with(&given)
}

/// Where attempt `a` saw other bytes than the largest group of the runs given.
fn differences(a: &Attempt, artifacts: &[ArtifactReport]) -> Vec<String> {
    a.artifacts
        .iter()
        .filter_map(|seen| {
            let sha256 = seen.sha256.as_ref()?;
            let report = artifacts.iter().find(|r| r.id == seen.id)?;
            let majority = report.groups.first()?.content.as_ref()?;
            (majority.sha256 != *sha256).then(|| {
                format!(
                    "{}: sha256 {} where the runs given saw {}",
                    seen.id, sha256, majority.sha256
                )
            })
        })
        .collect()
}

/// The host's note, and a reason for each attempt left out that saw other bytes.
fn tell(h: &HostAttempts, judged: &mut Judged) {
    if h.not_given.is_empty() {
        return;
    }
    let runs: Vec<String> = h.runs.iter().map(|r| format!("#{r}")).collect();
    let short = &h.host[..h.host.len().min(12)];
    let mut told = Vec::new();
    for m in &h.not_given {
        let id = &m.run_id[..m.run_id.len().min(12)];
        let what = match (m.differs.is_empty(), m.outcome) {
            (false, _) => format!("disagreed ({})", m.differs.join("; ")),
            (true, AttemptOutcome::Complete) => "agreed".to_owned(),
            (true, outcome) => outcome.as_str().replace('-', " "),
        };
        let excluded = m
            .excluded
            .as_ref()
            .map(|why| format!(", excluded by you: {why}"))
            .unwrap_or_default();
        told.push(format!(
            "run {id} ({}, via {}) {what}{excluded}",
            m.started_at, m.via
        ));
        if !m.differs.is_empty() && m.excluded.is_none() {
            judged.disagreeing.push(format!(
                "host {short} made an attempt that is not given and saw other bytes: run {} \
                 ({}): {}; give its transcript, or leave it out on purpose with --exclude {}=WHY",
                m.run_id,
                m.started_at,
                m.differs.join("; "),
                id
            ));
        }
    }
    judged.notes.push(format!(
        "host {short} (run(s) {}) made {} attempt(s) at this campaign; {} not given: {}",
        runs.join(", "),
        h.made,
        h.not_given.len(),
        told.join("; ")
    ));
}
