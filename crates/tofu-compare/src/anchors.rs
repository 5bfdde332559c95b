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
    let source = match anchor.source {
        AnchorSource::Platform => "from the system's trust store",
        AnchorSource::CaCert => "from --ca-cert",
    };
    let spki = anchor.spki_sha256.get(..16).unwrap_or(&anchor.spki_sha256);
    format!("{} (SPKI sha256 {spki}…, {source})", anchor.subject)
}

/// The anchors each run's exit lookups (those that got an answer) ended at.
fn lookup_anchors(t: &Transcript) -> Vec<(String, &TlsAnchor)> {
    t.vantage
        .exit
        .probes
        .iter()
        .filter(|p| p.status.is_some())
        .filter_map(|p| {
            let anchor = p.tls.as_ref()?.anchor.as_ref()?;
            Some((format!("exit lookup {}", p.url), anchor))
        })
        .collect()
}

/// The anchors each run's complete fetches of artifact `id` ended at.
fn artifact_anchors<'a>(t: &'a Transcript, id: &str) -> Vec<(String, &'a TlsAnchor)> {
    t.artifacts
        .iter()
        .filter(|a| a.id == id)
        .flat_map(|a| &a.fetches)
        .filter(|f| f.content.is_some())
        .filter_map(|f| f.http.as_ref()?.tls.as_ref()?.anchor.as_ref())
        .map(|anchor| (id.to_owned(), anchor))
        .collect()
}

/// Each (run, anchor) whose anchor no other run saw, among what `seen` gives per run, when
/// the runs saw more than one anchor in all.
fn lone<'a>(
    inputs: &[Input<'a>],
    seen: impl Fn(&'a Transcript) -> Vec<(String, &'a TlsAnchor)>,
) -> Vec<Lone<'a>> {
    let per_run: Vec<Vec<(String, &TlsAnchor)>> =
        inputs.iter().map(|i| seen(i.transcript)).collect();
    let mut runs_by_spki: BTreeMap<&str, BTreeSet<usize>> = BTreeMap::new();
    for (i, anchors) in per_run.iter().enumerate() {
        for (_, anchor) in anchors {
            runs_by_spki
                .entry(anchor.spki_sha256.as_str())
                .or_default()
                .insert(i + 1);
        }
    }
    if runs_by_spki.len() < 2 {
        return Vec::new();
    }
    let mut found = Vec::new();
    let mut named: BTreeSet<(usize, &str)> = BTreeSet::new();
    for (i, anchors) in per_run.into_iter().enumerate() {
        for (seen_by, anchor) in anchors {
            let only_here = runs_by_spki[anchor.spki_sha256.as_str()].len() == 1;
            if only_here && named.insert((i + 1, anchor.spki_sha256.as_str())) {
                found.push(Lone {
                    run: i + 1,
                    seen_by,
                    anchor,
                });
            }
        }
    }
    found
}

/// Runs whose exit lookups ended at an anchor no other run's lookup saw.
pub(crate) fn lone_lookups<'a>(inputs: &[Input<'a>]) -> Vec<Lone<'a>> {
    lone(inputs, lookup_anchors)
}

/// Runs whose fetch of artifact `id` ended at an anchor no other run's fetch of it saw.
pub(crate) fn lone_artifact_roots<'a>(inputs: &[Input<'a>], id: &str) -> Vec<Lone<'a>> {
    lone(inputs, |t| artifact_anchors(t, id))
}

/// Why run `t`'s exit evidence cannot count for a diversity rule: one of its lookups ended at
/// a `--ca-cert` root that no other run's lookup saw. A root the user added is the easy way
/// to trust an interceptor, and the interceptor can answer a whoami endpoint itself; a
/// platform root no other run saw is only noted, since endpoints behind CDNs legitimately
/// chain to different public roots.
pub(crate) fn unverified_exit(inputs: &[Input<'_>], t: &Transcript) -> Option<String> {
    let run = inputs.iter().position(|i| std::ptr::eq(i.transcript, t))? + 1;
    lone_lookups(inputs)
        .into_iter()
        .find(|l| l.run == run && l.anchor.source == AnchorSource::CaCert)
        .map(|l| {
            format!(
                "its {} went through a --ca-cert root no other run's lookup saw: {}",
                l.seen_by,
                l.describe()
            )
        })
}
