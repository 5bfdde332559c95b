//! One artifact judged across runs: which fields must match and which are only shown. Must
//! match in every run: size, SHA-256 and SHA-512 of the content, an image's digests at every
//! level, what the Homebrew API declared, OpenPGP fingerprints. Shown, not judged: final URL,
//! redirect hosts, TLS certificates (CDNs legitimately differ), headers and timings.
//!
//! A run that failed still counts for what it verified before failing (a tag's document, a
//! checked manifest, what the Homebrew API declared): set against another run's record at the
//! levels both hold, a different value is a mismatch, an equal one leaves the artifact missing.

use std::collections::{BTreeMap, BTreeSet};

use similar::TextDiff;
use tofu_record::{Artifact, Content};

use crate::{ArtifactReport, ArtifactVerdict, Cell, Group, Input, RunSummary};

/// Each run's artifacts by id, built once per comparison (a lookup per artifact and run
/// would make comparing large transcripts quadratic).
pub(crate) type ById<'a> = BTreeMap<&'a str, &'a Artifact>;

/// Each run's artifacts by id.
pub(crate) fn index<'a>(inputs: &[Input<'a>]) -> Vec<ById<'a>> {
    inputs
        .iter()
        .map(|input| {
            input
                .transcript
                .artifacts
                .iter()
                .map(|a| (a.id.as_str(), a))
                .collect()
        })
        .collect()
}

/// Judges one artifact across the runs that count (`counts[i]` for run `i + 1`): what each
/// run saw, the counted runs grouped by what they saw (or, for a failed run, verified before
/// failing), and where (if anywhere) they part. A run that does not count has its cell shown
/// and takes part in nothing else.
pub(crate) fn compare_artifact(
    id: &str,
    by_id: &[ById<'_>],
    counts: &[bool],
    runs: &[RunSummary],
) -> ArtifactReport {
    let cells: Vec<Cell> = by_id
        .iter()
        .map(|artifacts| cell(artifacts.get(id).copied()))
        .collect();
    let full = by_id;
    // From here on, a run that does not count holds nothing of this artifact.
    let by_id = &counted(id, by_id, counts);
    let judged_cells: Vec<(usize, &Cell)> = cells
        .iter()
        .enumerate()
        .filter(|(i, _)| counts.get(*i).copied().unwrap_or(false))
        .map(|(i, c)| (i + 1, c))
        .collect();
    let groups = group_observations(id, by_id);
    let tampered = tampered_runs(&judged_cells);
    let all_ok = judged_cells
        .iter()
        .all(|(_, c)| matches!(c, Cell::Ok { .. }));
    let platform_sets = platform_sets(id, by_id);
    let judged = if groups.len() > 1 || !tampered.is_empty() {
        mismatch(id, by_id, &groups, &tampered, runs)
    } else if let Some(diff) = fingerprint_mismatch(&judged_cells) {
        // Same bytes cannot give other fingerprints; if they ever do, it is a mismatch.
        Judged {
            verdict: ArtifactVerdict::Mismatch,
            odd_runs: judged_cells.iter().map(|(run, _)| *run).collect(),
            diffs: vec![diff],
            level: Some("openpgp".to_owned()),
        }
    } else if all_ok && groups.len() == 1 && platform_sets.is_none() {
        Judged::plain(ArtifactVerdict::Match)
    } else {
        Judged::plain(ArtifactVerdict::Missing)
    };
    let chunk_diffs = match judged.verdict {
        ArtifactVerdict::Mismatch => {
            crate::chunks::chunk_diffs(id, by_id, &groups, &judged.odd_runs)
        }
        ArtifactVerdict::Match | ArtifactVerdict::Missing => Vec::new(),
    };
    let vouches = crate::vouch::judge(id, full, &cells, counts, runs);
    ArtifactReport {
        id: id.to_owned(),
        verdict: judged.verdict,
        vouches,
        cells,
        groups,
        odd_runs: judged.odd_runs,
        level: judged.level,
        diffs: judged.diffs,
        platform_sets,
        chunk_diffs,
    }
}

/// Each run's view of artifact `id` alone, empty for a run that does not count: what every
/// judgement below reads (one entry per run, so building it per artifact stays linear).
fn counted<'a>(id: &str, by_id: &[ById<'a>], counts: &[bool]) -> Vec<ById<'a>> {
    by_id
        .iter()
        .enumerate()
        .map(|(i, artifacts)| {
            let mut one = ById::new();
            if counts.get(i).copied().unwrap_or(false)
                && let Some(artifact) = artifacts.get(id).copied()
            {
                one.insert(artifact.id.as_str(), artifact);
            }
            one
        })
        .collect()
}

/// When image runs asked for different platforms, which run asked for which: such runs did
/// not pull one artifact (an image pulled for linux/amd64 proves nothing of its arm64
/// manifest), so they never match, whatever their shared levels say.
fn platform_sets(id: &str, by_id: &[ById<'_>]) -> Option<String> {
    let sets: Vec<(usize, BTreeSet<&str>)> = by_id
        .iter()
        .enumerate()
        .filter_map(|(i, artifacts)| {
            let oci = artifacts.get(id)?.oci.as_ref()?;
            Some((i + 1, oci.platforms.iter().map(String::as_str).collect()))
        })
        .collect();
    let distinct: BTreeSet<&BTreeSet<&str>> = sets.iter().map(|(_, set)| set).collect();
    if distinct.len() < 2 {
        return None;
    }
    let each: Vec<String> = sets
        .iter()
        .map(|(run, set)| {
            let set: Vec<&str> = set.iter().copied().collect();
            format!("#{run} {}", set.join("+"))
        })
        .collect();
    // A formula's platforms are the bottle tags it pulled.
    let formula = by_id
        .iter()
        .any(|artifacts| artifacts.get(id).is_some_and(|a| a.homebrew.is_some()));
    Some(if formula {
        format!(
            "runs pulled different bottle tags: {}; fetch the same brew:FORMULA[@TAG] in \
             every run",
            each.join(", ")
        )
    } else {
        format!(
            "runs pulled different platform sets: {}; pull the same --platform in every run",
            each.join(", ")
        )
    })
}

/// The verdict on an artifact and, on a mismatch, where the runs part.
struct Judged {
    verdict: ArtifactVerdict,
    odd_runs: Vec<usize>,
    diffs: Vec<String>,
    level: Option<String>,
}

impl Judged {
    /// A verdict with no odd run to show.
    fn plain(verdict: ArtifactVerdict) -> Judged {
        Judged {
            verdict,
            odd_runs: Vec::new(),
            diffs: Vec::new(),
            level: None,
        }
    }
}

/// What one run saw of the artifact: its content and the fields shown beside it, its
/// failure, or nothing.
fn cell(artifact: Option<&Artifact>) -> Cell {
    let Some(artifact) = artifact else {
        return Cell::Absent;
    };
    let first = artifact.fetches.first();
    let http = first.and_then(|f| f.http.as_ref());
    let tls = http.and_then(|h| h.tls.as_ref());
    match (artifact.ok_content(), &artifact.error) {
        (Some(content), _) => Cell::Ok {
            content: content.clone(),
            final_url: http.map(|h| h.final_url.clone()),
            tls_leaf_sha256: tls.and_then(|t| t.leaf_cert_sha256.clone()),
            tls_anchor: tls.and_then(|t| t.anchor.clone()),
            openpgp_fingerprints: openpgp_fingerprints(artifact),
        },
        (None, Some(e)) => Cell::Failed {
            code: e.code,
            message: e.message.clone(),
        },
        // check() makes this impossible; were it to happen, the run counts as not having
        // the artifact: never as content, so never as agreement.
        (None, None) => Cell::Absent,
    }
}

/// The runs grouped by the content they observed, largest group first, then each failed run
/// placed by what it verified before failing. Every successful fetch is an observation, so
/// mirrors that disagree inside one run count as a mismatch, not as a mere failure.
fn group_observations(id: &str, by_id: &[ById<'_>]) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for (i, artifacts) in by_id.iter().enumerate() {
        let Some(artifact) = artifacts.get(id).copied() else {
            continue;
        };
        // An image has no fetches: its observation is the top document it resolved to.
        let observed: Vec<&Content> = if artifact.fetches.is_empty() {
            artifact.content.iter().collect()
        } else {
            artifact
                .fetches
                .iter()
                .filter_map(|f| f.content.as_ref())
                .collect()
        };
        // What the Homebrew API declared must match too, not only the bytes.
        let detail = artifact.homebrew.as_deref().map(homebrew_lines);
        let declared = artifact.homebrew.as_deref().map(homebrew_facts);
        for content in observed {
            let group = match groups.iter().position(|g| {
                g.content.as_ref() == Some(content)
                    && declarations_agree(g, declared.as_ref(), id, by_id)
            }) {
                Some(at) => &mut groups[at],
                None => {
                    groups.push(Group {
                        runs: Vec::new(),
                        failed_runs: Vec::new(),
                        content: Some(content.clone()),
                        detail: detail.clone(),
                    });
                    groups.last_mut().expect("just pushed")
                }
            };
            if !group.runs.contains(&(i + 1)) {
                group.runs.push(i + 1);
            }
        }
    }
    // Largest first; ties keep first-seen order (sort is stable).
    groups.sort_by_key(|g| std::cmp::Reverse(g.runs.len()));
    place_failed_runs(id, by_id, &mut groups);
    groups.sort_by_key(|g| std::cmp::Reverse(g.members().count()));
    groups
}

/// Whether a run's Homebrew declaration fits a group's: equal on the version and on every
/// bottle both hold. Runs that asked for other bottle tags hold other bottles; that makes the
/// artifact inconclusive (its platform sets differ), not a mismatch.
fn declarations_agree(
    group: &Group,
    declared: Option<&Facts>,
    id: &str,
    by_id: &[ById<'_>],
) -> bool {
    let theirs = group
        .representative()
        .and_then(|run| artifact_of(by_id, id, run))
        .and_then(|a| a.homebrew.as_deref())
        .map(homebrew_facts);
    match (theirs, declared) {
        (None, None) => true,
        (Some(theirs), Some(mine)) => relate(&theirs, mine) == Relation::Same,
        (Some(_), None) | (None, Some(_)) => false,
    }
}

/// Places each run that failed without any complete observation by the facts it verified:
/// into the one group they agree with; into a group of its own when they contradict a group
/// and agree with none (or no group exists yet): that is a difference, not a gap. A run whose
/// facts agree with several groups, or share no level with any group, stays out (the
/// artifact is missing in it) unless they contradict some other run's facts.
fn place_failed_runs(id: &str, by_id: &[ById<'_>], groups: &mut Vec<Group>) {
    let mut unplaced = Vec::new();
    for (i, artifacts) in by_id.iter().enumerate() {
        let run = i + 1;
        let Some(artifact) = artifacts.get(id).copied() else {
            continue;
        };
        if artifact.ok_content().is_some() || groups.iter().any(|g| g.runs.contains(&run)) {
            continue;
        }
        let verified = facts(artifact);
        if verified.is_empty() {
            continue;
        }
        let relations: Vec<Relation> = groups
            .iter()
            .map(|g| relate_to_group(&verified, g, id, by_id))
            .collect();
        let agreeing: Vec<usize> = (0..groups.len())
            .filter(|&g| relations[g] == Relation::Same)
            .collect();
        let contradicts = relations.iter().any(|r| matches!(r, Relation::Differs(_)));
        match agreeing.as_slice() {
            [one] => groups[*one].failed_runs.push(run),
            [] if contradicts || groups.is_empty() => groups.push(failed_group(run, artifact)),
            _ => unplaced.push((run, artifact, verified)),
        }
    }
    // Whatever the order the runs came in, two runs whose facts differ are never one view.
    for (run, artifact, verified) in unplaced {
        let differs = by_id.iter().enumerate().any(|(j, other)| {
            j + 1 != run
                && other
                    .get(id)
                    .is_some_and(|o| matches!(relate(&verified, &facts(o)), Relation::Differs(_)))
        });
        if differs {
            groups.push(failed_group(run, artifact));
        }
    }
}

/// A group of one failed run, standing for the facts it verified.
fn failed_group(run: usize, artifact: &Artifact) -> Group {
    Group {
        runs: Vec::new(),
        failed_runs: vec![run],
        content: None,
        detail: artifact.homebrew.as_deref().map(homebrew_lines),
    }
}

/// How one run's verified facts stand to another's, at the levels both hold.
#[derive(Debug, PartialEq, Eq)]
enum Relation {
    /// At least one shared level, all equal.
    Same,
    /// This level (the first in the first run's order) holds different values.
    Differs(String),
    /// No level in common.
    Unrelated,
}

/// Compares two runs' facts at the levels both hold: a run that saw less is not different
/// by what it did not see.
fn relate(a: &Facts, b: &Facts) -> Relation {
    let b: BTreeMap<&str, &str> = b.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut shared = false;
    for (key, value) in a {
        match b.get(key.as_str()) {
            Some(other) if *other != value => return Relation::Differs(key.clone()),
            Some(_) => shared = true,
            None => {}
        }
    }
    if shared {
        Relation::Same
    } else {
        Relation::Unrelated
    }
}

/// How a failed run's facts stand to a group's: different from any member's is a
/// difference; otherwise the same when they share a level with some member.
fn relate_to_group(verified: &Facts, group: &Group, id: &str, by_id: &[ById<'_>]) -> Relation {
    let mut same = false;
    for run in group.members() {
        let Some(artifact) = artifact_of(by_id, id, run) else {
            continue;
        };
        match relate(verified, &facts(artifact)) {
            Relation::Differs(level) => return Relation::Differs(level),
            Relation::Same => same = true,
            Relation::Unrelated => {}
        }
    }
    if same {
        Relation::Same
    } else {
        Relation::Unrelated
    }
}

/// Runs whose bytes contradicted their own digests, sizes or media types. Such a run was lied
/// to: that is a disagreement, not a gap.
fn tampered_runs(cells: &[(usize, &Cell)]) -> Vec<usize> {
    cells
        .iter()
        .filter(|(_, c)| matches!(c, Cell::Failed { code, .. } if code.is_integrity()))
        .map(|(run, _)| *run)
        .collect()
}

/// A mismatch: the odd runs, and the diffs and level that show where they part.
fn mismatch(
    id: &str,
    by_id: &[ById<'_>],
    groups: &[Group],
    tampered: &[usize],
    runs: &[RunSummary],
) -> Judged {
    let odd = odd_runs(groups, tampered);
    // Diff the first run of the majority (or first) group against each odd run's view.
    let reference = groups
        .first()
        .and_then(Group::representative)
        .filter(|r| !odd.contains(r));
    let (mut diffs, mut level) = match reference {
        Some(reference) => diffs_from_reference(id, by_id, reference, &odd, runs),
        None => match groups.split_first() {
            Some((first, rest)) => {
                let diffs = rest
                    .iter()
                    .map(|g| diff(id, by_id, first, g, runs))
                    .collect();
                let level = rest.iter().find_map(|g| group_level(id, by_id, first, g));
                (diffs, level)
            }
            None => (Vec::new(), None),
        },
    };
    // No run saw content to set against a lied-to run (it may be the only run that holds the
    // artifact): show what each such run recorded, on its own.
    if diffs.is_empty() {
        let (lone, lone_level) = lone_views(id, by_id, &odd, runs);
        diffs = lone;
        level = level.or(lone_level);
    }
    Judged {
        verdict: ArtifactVerdict::Mismatch,
        odd_runs: odd,
        diffs,
        level,
    }
}

/// The runs outside the majority group (every grouped run when no group is a strict
/// majority), and every tampered run, sorted. A failed run counts in the group whose facts
/// it verified.
fn odd_runs(groups: &[Group], tampered: &[usize]) -> Vec<usize> {
    let size = |g: &Group| g.members().count();
    let strict_majority = groups.len() < 2 || size(&groups[0]) > size(&groups[1]);
    let mut odd: Vec<usize> = if groups.len() < 2 {
        Vec::new()
    } else if strict_majority {
        groups[1..].iter().flat_map(Group::members).collect()
    } else {
        groups.iter().flat_map(Group::members).collect()
    };
    odd.extend(tampered);
    odd.sort_unstable();
    odd.dedup();
    odd
}

/// The first level where two groups' first runs hold different verified facts.
fn group_level(id: &str, by_id: &[ById<'_>], a: &Group, b: &Group) -> Option<String> {
    let facts_of = |g: &Group| {
        g.representative()
            .and_then(|run| artifact_of(by_id, id, run))
            .map(facts)
    };
    match relate(&facts_of(a)?, &facts_of(b)?) {
        Relation::Differs(level) => Some(level),
        Relation::Same | Relation::Unrelated => None,
    }
}

/// Diffs of the reference run's view against each odd run's (one per distinct view), and the
/// level of the first difference.
fn diffs_from_reference(
    id: &str,
    by_id: &[ById<'_>],
    reference: usize,
    odd: &[usize],
    runs: &[RunSummary],
) -> (Vec<String>, Option<String>) {
    let reference_record = artifact_of(by_id, id, reference);
    let a = view(reference_record);
    let mut diffs = Vec::new();
    let mut level = None;
    let mut seen_views = Vec::new();
    for &run in odd {
        let record = artifact_of(by_id, id, run);
        let b = view(record);
        if seen_views.contains(&b) {
            continue;
        }
        if level.is_none() {
            // The verified facts name the level even when the views do not line up (a run
            // that failed early records fewer levels).
            level = match (reference_record, record) {
                (Some(x), Some(y)) => match relate(&facts(x), &facts(y)) {
                    Relation::Differs(level) => Some(level),
                    Relation::Same | Relation::Unrelated => None,
                },
                _ => None,
            }
            .or_else(|| first_difference(&a, &b));
        }
        diffs.push(
            TextDiff::from_lines(&a, &b)
                .unified_diff()
                .context_radius(2)
                .header(
                    &format!("run {}", run_list(&[reference], runs)),
                    &format!("run {}", run_list(&[run], runs)),
                )
                .to_string(),
        );
        seen_views.push(b);
    }
    (diffs, level)
}

/// What each odd run recorded, diffed against nothing, and the level of the first one.
fn lone_views(
    id: &str,
    by_id: &[ById<'_>],
    odd: &[usize],
    runs: &[RunSummary],
) -> (Vec<String>, Option<String>) {
    let mut diffs = Vec::new();
    let mut level = None;
    for &run in odd {
        let b = view(artifact_of(by_id, id, run));
        if level.is_none() {
            level = first_difference("", &b);
        }
        diffs.push(
            TextDiff::from_lines("", &b)
                .unified_diff()
                .header(
                    "no run with verified content",
                    &format!("run {}", run_list(&[run], runs)),
                )
                .to_string(),
        );
    }
    (diffs, level)
}

/// Run `run`'s (1-based) record of the artifact, if it has one.
pub(crate) fn artifact_of<'a>(by_id: &[ById<'a>], id: &str, run: usize) -> Option<&'a Artifact> {
    by_id[run - 1].get(id).copied()
}

/// The must-match fields of one run's artifact as lines: content digests, then what it
/// verified (what the Homebrew API declared, each level of an image), then any error.
/// Lines are keyed, so the first differing key names the level where runs part.
fn view(artifact: Option<&Artifact>) -> String {
    let Some(artifact) = artifact else {
        return "absent\n".to_owned();
    };
    let mut out = String::new();
    // An image's content is its top document, which the `tag` line shows.
    if let (Some(c), None) = (&artifact.content, &artifact.oci) {
        out.push_str(&content_lines(c));
    }
    for f in &artifact.fetches {
        if let Some(c) = &f.content {
            out.push_str(&format!(
                "fetch {}: {} bytes, sha256 {}\n",
                f.url, c.size, c.sha256
            ));
        }
    }
    for (key, value) in facts(artifact) {
        out.push_str(&format!("{key}: {value}\n"));
    }
    if let Some(e) = &artifact.error {
        out.push_str(&format!("error: {}: {}\n", e.code, e.message));
    }
    out
}

/// What a run verified of an image or a Homebrew formula, as (level, value) in record order.
/// The fetch side records a level only once it is checked (the top document hashed to its
/// digest, a manifest against its index entry, blobs' descriptors from a checked manifest;
/// the API's answer as it came over TLS), so a failed run's facts are evidence too.
type Facts = Vec<(String, String)>;

/// The facts of one run's record; a level that repeats (two index entries without a
/// platform) is numbered, so every key names one value.
fn facts(artifact: &Artifact) -> Facts {
    let mut raw: Facts = Vec::new();
    if let Some(brew) = &artifact.homebrew {
        raw.extend(homebrew_facts(brew));
    }
    if let Some(oci) = &artifact.oci {
        raw.extend(oci_facts(oci));
    }
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    raw.into_iter()
        .map(|(key, value)| {
            let n = seen.entry(key.clone()).or_insert(0);
            *n += 1;
            match *n {
                1 => (key, value),
                n => (format!("{key} ({n})"), value),
            }
        })
        .collect()
}

/// An image's levels: the top document, index entries, manifests, configs, layers.
fn oci_facts(oci: &tofu_record::OciRecord) -> Facts {
    let mut out = Facts::new();
    if !oci.top.digest.is_empty() {
        out.push((
            "tag".to_owned(),
            format!("{} ({})", oci.top.digest, oci.top.media_type),
        ));
    }
    for e in &oci.index_entries {
        out.push((
            format!("index entry {}", e.platform.as_deref().unwrap_or("-")),
            format!("{} ({} bytes)", e.digest, e.size),
        ));
    }
    for m in &oci.manifests {
        let p = m.platform.as_deref().unwrap_or("-");
        out.push((format!("manifest {p}"), m.document.digest.clone()));
        out.push((
            format!("config {p}"),
            format!("{} ({} bytes)", m.config.digest, m.config.size),
        ));
        for (i, l) in m.layers.iter().enumerate() {
            out.push((
                format!("layer {p} #{}", i + 1),
                format!("{} ({} bytes)", l.digest, l.size),
            ));
        }
    }
    out
}

/// What the Homebrew API declared, as keyed lines.
fn homebrew_lines(brew: &tofu_record::HomebrewRecord) -> String {
    homebrew_facts(brew)
        .into_iter()
        .map(|(key, value)| format!("{key}: {value}\n"))
        .collect()
}

/// What the Homebrew API declared: the version, then each bottle's digest.
fn homebrew_facts(brew: &tofu_record::HomebrewRecord) -> Facts {
    let mut out = vec![(
        "homebrew version".to_owned(),
        format!(
            "{} revision {} rebuild {} (image tag {})",
            brew.version, brew.revision, brew.rebuild, brew.image_tag
        ),
    )];
    for b in &brew.bottles {
        out.push((
            format!("homebrew bottle {}", b.tag),
            format!("sha256:{}", b.sha256),
        ));
    }
    out
}

/// The key (`tag …`, `manifest linux/amd64`, `layer linux/amd64 #2`, `error`, …) of the
/// first line where two views part.
fn first_difference(a: &str, b: &str) -> Option<String> {
    let key = |line: &str| line.split(": ").next().unwrap_or(line).to_owned();
    let mut left = a.lines();
    let mut right = b.lines();
    loop {
        match (left.next(), right.next()) {
            (Some(x), Some(y)) if x == y => continue,
            (Some(x), Some(y)) => {
                let (kx, ky) = (key(x), key(y));
                return Some(if kx == ky { kx } else { format!("{kx} / {ky}") });
            }
            (Some(x), None) => return Some(key(x)),
            (None, Some(y)) => return Some(key(y)),
            (None, None) => return None,
        }
    }
}

/// What the content was read as, when it is a key file: each certificate's fingerprints
/// (primary first), and for each part that is not one, its digest. From an older
/// transcript, the one certificate it recorded.
fn openpgp_fingerprints(artifact: &tofu_record::Artifact) -> Vec<String> {
    let keys = |c: &tofu_record::OpenPgpCert| {
        std::iter::once(&c.primary)
            .chain(&c.subkeys)
            .map(|k| k.fingerprint.clone())
            .collect::<Vec<_>>()
    };
    match &artifact.keyring {
        Some(keyring) => keyring
            .parts
            .iter()
            .flat_map(|part| match &part.certificate {
                Some(cert) => keys(cert),
                None => vec![format!("unread:{}", part.sha256)],
            })
            .collect(),
        None => artifact.openpgp.iter().flat_map(keys).collect(),
    }
}

/// A diff of the OpenPGP fingerprints when two complete runs disagree on them.
fn fingerprint_mismatch(cells: &[(usize, &Cell)]) -> Option<String> {
    let lists: Vec<&Vec<String>> = cells
        .iter()
        .filter_map(|(_, c)| match c {
            Cell::Ok {
                openpgp_fingerprints,
                ..
            } => Some(openpgp_fingerprints),
            _ => None,
        })
        .collect();
    let first = lists.first()?;
    let other = lists.iter().find(|l| l != &first)?;
    let a = format!("openpgp: {}\n", first.join(" "));
    let b = format!("openpgp: {}\n", other.join(" "));
    Some(TextDiff::from_lines(&a, &b).unified_diff().to_string())
}

/// The must-match fields as lines, for diffs.
fn content_lines(content: &Content) -> String {
    format!(
        "size: {}\nsha256: {}\nsha512: {}\n",
        content.size, content.sha256, content.sha512
    )
}

/// A diff of two groups, for a mismatch where every grouped run is odd: their content and
/// what the Homebrew API declared, or for a group of failed runs what its first run verified.
fn diff(
    id: &str,
    by_id: &[ById<'_>],
    reference: &Group,
    other: &Group,
    runs: &[RunSummary],
) -> String {
    let text = |g: &Group| match &g.content {
        Some(content) => content_lines(content) + g.detail.as_deref().unwrap_or(""),
        None => view(
            g.representative()
                .and_then(|run| artifact_of(by_id, id, run)),
        ),
    };
    let members = |g: &Group| g.members().collect::<Vec<_>>();
    TextDiff::from_lines(&text(reference), &text(other))
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("runs {}", run_list(&members(reference), runs)),
            &format!("runs {}", run_list(&members(other), runs)),
        )
        .to_string()
}

/// `#1 (run1.json, direct), #3 (run3.json, socks5h://127.0.0.1:1080)`.
pub(crate) fn run_list(indexes: &[usize], runs: &[RunSummary]) -> String {
    indexes
        .iter()
        .map(|&i| match runs.get(i - 1) {
            Some(r) => format!("#{i} ({}, {})", r.name, r.vantage),
            None => format!("#{i}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}
