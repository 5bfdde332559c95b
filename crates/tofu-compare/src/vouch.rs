//! What vouches for an artifact across the runs: the publisher's signature over it and the
//! checksum list that names it, as each run checked them. They stand beside 3TOFU's verdict:
//! identical bytes with a bad signature, or a list that names another digest, is a finding
//! that prevents agreement (a contradiction, like a mismatch); a check a counted run could not
//! make leaves the verdict inconclusive.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::Serialize;
use tofu_record::{Artifact, Vouches};

use crate::artifact::{ById, artifact_of};
use crate::{ArtifactReport, ArtifactVerdict, Cell, RunSummary};

/// What vouches for one artifact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum VouchKind {
    /// A detached OpenPGP signature over it.
    Signature,
    /// A checksum list that names its digest.
    Checksums,
}

/// How a voucher fared, in one run or over all counted runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum VouchStatus {
    /// It vouches.
    Holds,
    /// It contradicts the artifact: a bad signature, a list naming another digest or not
    /// naming the file, or runs that saw different signers.
    Contradicted,
    /// It could not be checked.
    Unchecked,
}

/// One run's word on a voucher.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct VouchCell {
    /// How it fared in this run.
    pub status: VouchStatus,
    /// What the run recorded, for people: the signers, or the line, or why not.
    pub message: String,
}

/// A voucher of one artifact across the runs.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct VouchReport {
    /// A signature or a checksum list.
    pub kind: VouchKind,
    /// The artifact that vouches: the signature's or the list's id.
    pub by: String,
    /// For a signature: the key artifact it was checked with, if the plan named one.
    pub key_artifact: Option<String>,
    /// For a signature: the certificate the plan pinned, if it pinned one.
    pub pinned: Option<String>,
    /// One cell per run, in run order; null where the run has no such record.
    pub cells: Vec<Option<VouchCell>>,
    /// For a signature: the primary fingerprints of the certificates that made valid
    /// signatures in the counted runs.
    pub signers: Vec<String>,
    /// For a checksum list: the line numbers that listed the artifact in the counted runs.
    pub lines: Vec<u64>,
    /// Over the counted runs that fetched the artifact.
    pub status: VouchStatus,
    /// Why it does not hold, one line per problem.
    pub problems: Vec<String>,
    /// The sentence that stands beside the verdict.
    pub summary: String,
}

/// The vouchers of artifact `id` in the runs (`counts[i]` for run `i + 1`): every signature
/// and checksum record any run holds, each judged over the counted runs that fetched the
/// artifact completely (a run that did not is already a gap of the artifact's own).
pub(crate) fn judge(
    id: &str,
    by_id: &[ById<'_>],
    cells: &[Cell],
    counts: &[bool],
    runs: &[RunSummary],
) -> Vec<VouchReport> {
    let mut reports = Vec::new();
    for kind in [VouchKind::Signature, VouchKind::Checksums] {
        let records: Vec<Option<Record<'_>>> = (1..=runs.len())
            .map(|run| artifact_of(by_id, id, run).and_then(|a| Record::of(a, kind)))
            .collect();
        let Some(first) = records.iter().flatten().next() else {
            continue;
        };
        let mut report = VouchReport {
            kind,
            by: first.by().to_owned(),
            key_artifact: first.key_artifact(),
            pinned: first.pinned(),
            cells: records
                .iter()
                .map(|r| r.as_ref().map(Record::cell))
                .collect(),
            signers: Vec::new(),
            lines: Vec::new(),
            status: VouchStatus::Holds,
            problems: Vec::new(),
            summary: String::new(),
        };
        let judged = (0..runs.len())
            .filter(|&i| counts[i] && matches!(cells[i], Cell::Ok { .. }))
            .map(|i| (runs[i].index, records[i].as_ref()));
        judge_runs(&mut report, judged);
        reports.push(report);
    }
    reports
}

/// Judges the counted runs that fetched the artifact: each must hold a record that vouches,
/// naming the same voucher, and all must agree on who signed.
fn judge_runs<'r>(
    report: &mut VouchReport,
    judged: impl Iterator<Item = (usize, Option<&'r Record<'r>>)>,
) {
    let mut signer_sets = BTreeSet::new();
    let mut contradicted = Problems::default();
    let mut unchecked = Problems::default();
    for (run, record) in judged {
        let Some(record) = record else {
            unchecked.add(run, "did not check it".to_owned());
            continue;
        };
        if record.by() != report.by {
            contradicted.add(
                run,
                format!("checked it with {:?}, not {:?}", record.by(), report.by),
            );
            continue;
        }
        // Runs of different plans (--allow-mixed-plans) may name other keys for the same
        // signature: a valid signature under other keys is no agreement on who may sign.
        let keys = (record.key_artifact(), record.pinned());
        if keys != (report.key_artifact.clone(), report.pinned.clone()) {
            contradicted.add(
                run,
                format!(
                    "checked it with {}, not {}",
                    keys_named(&keys.0, &keys.1),
                    keys_named(&report.key_artifact, &report.pinned)
                ),
            );
            continue;
        }
        match record.holds() {
            Vouches::Yes => {}
            Vouches::Contradicts(why) => contradicted.add(run, why),
            Vouches::Unchecked(why) => unchecked.add(run, why),
        }
        match record {
            Record::Signature(s) => {
                let signers: Vec<String> = s.signers().into_iter().map(str::to_owned).collect();
                if !signers.is_empty() {
                    report.signers.extend(signers.iter().cloned());
                    signer_sets.insert(signers);
                }
            }
            Record::Checksums(c) => {
                if matches!(c.holds(), Vouches::Yes) {
                    report.lines.extend(c.listing.as_ref().and_then(|l| l.line));
                }
            }
        }
    }
    report.signers.sort();
    report.signers.dedup();
    report.lines.sort_unstable();
    report.lines.dedup();
    let mut problems = contradicted.lines();
    if signer_sets.len() > 1 {
        problems.push(format!(
            "the runs' valid signatures are by different certificates: {}",
            report.signers.join(", ")
        ));
    }
    (report.status, report.problems) = if !problems.is_empty() {
        (VouchStatus::Contradicted, problems)
    } else if !unchecked.0.is_empty() {
        (VouchStatus::Unchecked, unchecked.lines())
    } else {
        (VouchStatus::Holds, Vec::new())
    };
}

/// The keys a signature was checked with, as a sentence names them.
fn keys_named(artifact: &Option<String>, pinned: &Option<String>) -> String {
    match (artifact, pinned) {
        (Some(key), Some(pin)) => format!("certificate {pin} of {key:?}"),
        (Some(key), None) => format!("the keys of {key:?}"),
        (None, Some(pin)) => format!("certificate {pin} of the user's key files"),
        (None, None) => "no keys recorded".to_owned(),
    }
}

/// Problems, each with the runs that met it, in first-met order.
#[derive(Default)]
struct Problems(Vec<(String, Vec<usize>)>);

impl Problems {
    fn add(&mut self, run: usize, why: String) {
        match self.0.iter_mut().find(|(w, _)| *w == why) {
            Some((_, runs)) => runs.push(run),
            None => self.0.push((why, vec![run])),
        }
    }

    /// "run #1: why", "runs #1, #2: why".
    fn lines(self) -> Vec<String> {
        self.0
            .into_iter()
            .map(|(why, runs)| {
                let list: Vec<String> = runs.iter().map(|r| format!("#{r}")).collect();
                let word = if runs.len() == 1 { "run" } else { "runs" };
                format!("{word} {}: {why}", list.join(", "))
            })
            .collect()
    }
}

/// A run's record of one kind.
enum Record<'a> {
    Signature(&'a tofu_record::SignatureRecord),
    Checksums(&'a tofu_record::ChecksumRecord),
}

impl<'a> Record<'a> {
    fn of(artifact: &'a Artifact, kind: VouchKind) -> Option<Record<'a>> {
        match kind {
            VouchKind::Signature => artifact.signature.as_ref().map(Record::Signature),
            VouchKind::Checksums => artifact.checksums.as_ref().map(Record::Checksums),
        }
    }

    fn by(&self) -> &'a str {
        match self {
            Record::Signature(s) => &s.signature,
            Record::Checksums(c) => &c.checksums,
        }
    }

    fn key_artifact(&self) -> Option<String> {
        match self {
            Record::Signature(s) => s.signed_by.artifact.clone(),
            Record::Checksums(_) => None,
        }
    }

    fn pinned(&self) -> Option<String> {
        match self {
            Record::Signature(s) => s.signed_by.fingerprint.clone(),
            Record::Checksums(_) => None,
        }
    }

    fn holds(&self) -> Vouches {
        match self {
            Record::Signature(s) => s.holds(),
            Record::Checksums(c) => c.holds(),
        }
    }

    fn cell(&self) -> VouchCell {
        let (status, message) = match self.holds() {
            Vouches::Yes => (
                VouchStatus::Holds,
                match self {
                    Record::Signature(s) => format!("valid, by {}", s.signers().join(", ")),
                    Record::Checksums(c) => format!(
                        "listed on line {}",
                        c.listing.as_ref().and_then(|l| l.line).unwrap_or(0)
                    ),
                },
            ),
            Vouches::Contradicts(why) => (VouchStatus::Contradicted, why),
            Vouches::Unchecked(why) => (VouchStatus::Unchecked, format!("not checked: {why}")),
        };
        VouchCell { status, message }
    }
}

/// Writes each voucher's sentence, once every artifact is judged: "signed by … (keys from
/// K, itself identical in 3 runs)", "listed in SHA256SUMS (line 12), itself signed by …".
pub(crate) fn summarize(artifacts: &mut [ArtifactReport]) {
    let sentences: Vec<Vec<String>> = artifacts
        .iter()
        .map(|a| a.vouches.iter().map(|v| sentence(v, artifacts)).collect())
        .collect();
    for (artifact, sentences) in artifacts.iter_mut().zip(sentences) {
        for (vouch, sentence) in artifact.vouches.iter_mut().zip(sentences) {
            vouch.summary = sentence;
        }
    }
}

fn sentence(v: &VouchReport, artifacts: &[ArtifactReport]) -> String {
    match (v.status, v.kind) {
        (VouchStatus::Holds, VouchKind::Signature) => {
            let keys = match (&v.key_artifact, &v.pinned) {
                (Some(key), Some(pinned)) => format!(
                    "certificate {pinned}, pinned in the plan, from {key}, {}",
                    standing(key, artifacts)
                ),
                (Some(key), None) => format!("keys from {key}, {}", standing(key, artifacts)),
                (None, Some(pinned)) => {
                    format!(
                        "certificate {pinned}, pinned in the plan from a key file the user holds"
                    )
                }
                (None, None) => "keys not recorded".to_owned(),
            };
            format!("signed ({}) by {} ({keys})", v.by, v.signers.join(", "))
        }
        (VouchStatus::Holds, VouchKind::Checksums) => {
            let lines: Vec<String> = v.lines.iter().map(u64::to_string).collect();
            let list_signature = artifacts
                .iter()
                .find(|a| a.id == v.by)
                .and_then(|list| list.vouches.iter().find(|l| l.kind == VouchKind::Signature));
            let list_signed = match list_signature.map(|s| (s.status, s)) {
                Some((VouchStatus::Holds, s)) => {
                    format!(", which is signed by {}", s.signers.join(", "))
                }
                Some((VouchStatus::Contradicted, s)) => {
                    format!(", whose signature {} DOES NOT VOUCH for it", s.by)
                }
                Some((VouchStatus::Unchecked, s)) => {
                    format!(", whose signature {} could not be checked", s.by)
                }
                None => ", which is not signed".to_owned(),
            };
            format!(
                "listed in {} (line {}), {}{list_signed}",
                v.by,
                lines.join(", "),
                standing(&v.by, artifacts)
            )
        }
        (VouchStatus::Contradicted, _) => {
            format!("{} DOES NOT VOUCH: {}", v.by, v.problems.join("; "))
        }
        (VouchStatus::Unchecked, _) => {
            format!("{} could not be checked: {}", v.by, v.problems.join("; "))
        }
    }
}

/// How the artifact `id` itself fared across the runs: "itself identical in 3 runs".
fn standing(id: &str, artifacts: &[ArtifactReport]) -> String {
    match artifacts.iter().find(|a| a.id == id) {
        Some(a) if a.verdict == ArtifactVerdict::Match => {
            let runs = a.groups.first().map_or(0, |g| g.runs.len());
            format!("itself identical in {runs} runs")
        }
        Some(a) if a.verdict == ArtifactVerdict::Mismatch => {
            "itself NOT identical across the runs".to_owned()
        }
        Some(_) => "itself missing in some runs".to_owned(),
        None => "itself not in the runs".to_owned(),
    }
}
