//! Trust anchors no other run saw. A run whose connection to a server ended at a root that
//! no other run's connection to it ended at may have been intercepted by someone holding a
//! CA the machine trusts, even when the bytes it passed through are right. Roots are told
//! apart by the SHA-256 of their public key (SPKI), which an interceptor cannot copy, not by
//! their names, which it can.

use std::collections::{BTreeMap, BTreeSet};

use tofu_record::{AnchorSource, TlsAnchor, Transcript};

use crate::Input;

/// One run's anchor no other run saw, and where the run met it.
pub(crate) struct Lone<'a> {
    /// The run (1-based).
    pub(crate) run: usize,
    /// What ended at it: `exit lookup URL` or an artifact id.
    pub(crate) seen_by: String,
    pub(crate) anchor: &'a TlsAnchor,
}

impl Lone<'_> {
    /// The anchor for people: subject, SPKI prefix, source.
    pub(crate) fn describe(&self) -> String {
        describe(self.anchor)
    }
}

/// `CN=… (SPKI sha256 0123456789abcdef…, from --ca-cert)`.
pub(crate) fn describe(anchor: &TlsAnchor) -> String {
    let spki = anchor.spki_sha256.get(..16).unwrap_or(&anchor.spki_sha256);
    format!(
        "{} (SPKI sha256 {spki}…, from {})",
        anchor.subject,
        source(anchor)
    )
}

/// Where a trust anchor came from, in words: `the system's trust store` or `--ca-cert`.
pub(crate) fn source(anchor: &TlsAnchor) -> &'static str {
    match anchor.source {
        AnchorSource::Platform => "the system's trust store",
        AnchorSource::CaCert => "--ca-cert",
    }
}

/// The anchors each run's exit lookups (those that got an answer) ended at.
fn lookup_anchors(t: &Transcript) -> Vec<(String, &TlsAnchor)> {
    let before = t.vantage.exit.probes.iter().map(|p| (p, ""));
    let after = t
        .vantage
        .exit_after
        .iter()
        .flat_map(|e| &e.probes)
        .map(|p| (p, " after the downloads"));
    before
        .chain(after)
        .filter(|(p, _)| p.status.is_some())
        .filter_map(|(p, when)| {
            let anchor = p.tls.as_ref()?.anchor.as_ref()?;
            Some((format!("exit lookup{when} {}", p.url), anchor))
        })
        .collect()
}

/// The anchors a run's complete fetches ended at, by artifact id: one pass over its
/// artifacts (a per-id search would be quadratic in the artifacts of a large plan).
fn artifact_anchors(t: &Transcript) -> BTreeMap<&str, Vec<&TlsAnchor>> {
    let mut by_id: BTreeMap<&str, Vec<&TlsAnchor>> = BTreeMap::new();
    for a in &t.artifacts {
        let anchors = a
            .fetches
            .iter()
            .filter(|f| f.content.is_some())
            .filter_map(|f| f.http.as_ref()?.tls.as_ref()?.anchor.as_ref());
        by_id.entry(a.id.as_str()).or_default().extend(anchors);
    }
    by_id
}

/// What one run saw: its number, and each anchor with where the run met it.
type Seen<'a> = (usize, Vec<(String, &'a TlsAnchor)>);

/// Each (run, anchor) whose anchor no other run saw, among what each run saw, when the runs
/// saw more than one anchor in all. Only the runs given (those that count, with their
/// numbers) are looked at: a run nobody vouches for must not hide a counted run's lone root
/// by claiming to have seen it too.
fn lone(per_run: Vec<Seen<'_>>) -> Vec<Lone<'_>> {
    let mut runs_by_spki: BTreeMap<&str, BTreeSet<usize>> = BTreeMap::new();
    for (run, anchors) in &per_run {
        for (_, anchor) in anchors {
            runs_by_spki
                .entry(anchor.spki_sha256.as_str())
                .or_default()
                .insert(*run);
        }
    }
    if runs_by_spki.len() < 2 {
        return Vec::new();
    }
    let mut found = Vec::new();
    let mut named: BTreeSet<(usize, &str)> = BTreeSet::new();
    for (run, anchors) in per_run {
        for (seen_by, anchor) in anchors {
            let only_here = runs_by_spki[anchor.spki_sha256.as_str()].len() == 1;
            if only_here && named.insert((run, anchor.spki_sha256.as_str())) {
                found.push(Lone {
                    run,
                    seen_by,
                    anchor,
                });
            }
        }
    }
    found
}

/// Runs whose exit lookups ended at an anchor no other run's lookup saw.
pub(crate) fn lone_lookups<'a>(inputs: &[(usize, &Input<'a>)]) -> Vec<Lone<'a>> {
    lone(
        inputs
            .iter()
            .map(|(run, i)| (*run, lookup_anchors(i.transcript)))
            .collect(),
    )
}

/// For each artifact id, the runs whose fetch of it ended at an anchor no other run's fetch
/// of it saw.
pub(crate) fn lone_artifact_roots<'a>(
    inputs: &[(usize, &Input<'a>)],
) -> BTreeMap<&'a str, Vec<Lone<'a>>> {
    let per_run: Vec<(usize, BTreeMap<&'a str, Vec<&'a TlsAnchor>>)> = inputs
        .iter()
        .map(|(run, i)| (*run, artifact_anchors(i.transcript)))
        .collect();
    let ids: BTreeSet<&'a str> = per_run
        .iter()
        .flat_map(|(_, by_id)| by_id.iter())
        .filter(|(_, anchors)| !anchors.is_empty())
        .map(|(id, _)| *id)
        .collect();
    ids.into_iter()
        .map(|id| {
            let seen = per_run
                .iter()
                .map(|(run, by_id)| {
                    let anchors = by_id.get(id).into_iter().flatten();
                    (*run, anchors.map(|a| (id.to_owned(), *a)).collect())
                })
                .collect();
            (id, lone(seen))
        })
        .filter(|(_, lone)| !lone.is_empty())
        .collect()
}

/// Why run `t`'s exit evidence cannot count for a diversity rule: one of its lookups ended at
/// a `--ca-cert` root that no other run's lookup saw. A root the user added is the easy way
/// to trust an interceptor, and the interceptor can answer a whoami endpoint itself; a
/// platform root no other run saw is only noted, since endpoints behind CDNs legitimately
/// chain to different public roots.
pub(crate) fn unverified_exit(inputs: &[(usize, &Input<'_>)], t: &Transcript) -> Option<String> {
    let run = inputs
        .iter()
        .find(|(_, i)| std::ptr::eq(i.transcript, t))?
        .0;
    // Not `lone_lookups`: that one stays quiet while the runs saw one anchor in all, and a
    // `--ca-cert` root is suspect even when the other runs' lookups recorded none (older
    // transcripts, plain-http endpoints). With no other run there is nothing to set it against.
    if inputs.len() < 2 {
        return None;
    }
    let seen_elsewhere: BTreeSet<&str> = inputs
        .iter()
        .filter(|(other, _)| *other != run)
        .flat_map(|(_, i)| lookup_anchors(i.transcript))
        .map(|(_, anchor)| anchor.spki_sha256.as_str())
        .collect();
    lookup_anchors(t)
        .into_iter()
        .find(|(_, anchor)| {
            anchor.source == AnchorSource::CaCert
                && !seen_elsewhere.contains(anchor.spki_sha256.as_str())
        })
        .map(|(seen_by, anchor)| {
            format!(
                "its {seen_by} went through a --ca-cert root no other run's lookup saw: {}",
                describe(anchor)
            )
        })
}
