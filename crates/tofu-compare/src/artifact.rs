//! One artifact judged across runs: which fields must match and which are only shown. Must
//! match in every run: size, SHA-256 and SHA-512 of the content, an image's digests at every
//! level, what the Homebrew API declared, OpenPGP fingerprints. Shown, not judged: final URL,
//! redirect hosts, TLS certificates (CDNs legitimately differ), headers and timings.

use std::collections::BTreeMap;

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
/// run saw, the counted runs grouped by what they saw, and where (if anywhere) they part. A
/// run that does not count has its cell shown and takes part in nothing else.
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
    let judged_cells: Vec<(usize, &Cell)> = cells
        .iter()
        .enumerate()
        .filter(|(i, _)| counts.get(*i).copied().unwrap_or(false))
        .map(|(i, c)| (i + 1, c))
        .collect();
    let groups = group_observations(id, by_id, counts);
    let tampered = tampered_runs(&judged_cells);
    let all_ok = judged_cells
        .iter()
        .all(|(_, c)| matches!(c, Cell::Ok { .. }));
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
    } else if all_ok && groups.len() == 1 {
        Judged::plain(ArtifactVerdict::Match)
    } else {
        Judged::plain(ArtifactVerdict::Missing)
    };
    ArtifactReport {
        id: id.to_owned(),
        verdict: judged.verdict,
        cells,
        groups,
        odd_runs: judged.odd_runs,
        level: judged.level,
        diffs: judged.diffs,
    }
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
            tls_root_issuer: tls.and_then(|t| t.chain_root_issuer.clone()),
            openpgp_fingerprints: artifact
                .openpgp
                .iter()
                .flat_map(|c| std::iter::once(&c.primary).chain(&c.subkeys))
                .map(|k| k.fingerprint.clone())
                .collect(),
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

/// The runs grouped by the content they observed, largest group first. Every successful
/// fetch is an observation, so mirrors that disagree inside one run count as a mismatch, not
/// as a mere failure.
fn group_observations(id: &str, by_id: &[ById<'_>], counts: &[bool]) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for (i, artifacts) in by_id.iter().enumerate() {
        if !counts.get(i).copied().unwrap_or(false) {
            continue;
        }
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
        let detail = artifact.homebrew.as_ref().map(homebrew_lines);
        for content in observed {
            let group = match groups
                .iter_mut()
                .position(|g| &g.content == content && g.detail == detail)
            {
                Some(at) => &mut groups[at],
                None => {
                    groups.push(Group {
                        runs: Vec::new(),
                        content: content.clone(),
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
    groups
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
        .and_then(|g| g.runs.first().copied())
        .filter(|r| !odd.contains(r));
    let (mut diffs, mut level) = match reference {
        Some(reference) => diffs_from_reference(id, by_id, reference, &odd, runs),
        None => {
            let diffs = match groups.split_first() {
                Some((first, rest)) => rest.iter().map(|g| diff(first, g, runs)).collect(),
                None => Vec::new(),
            };
            (diffs, None)
        }
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
/// majority), and every tampered run, sorted.
fn odd_runs(groups: &[Group], tampered: &[usize]) -> Vec<usize> {
    let strict_majority = groups.len() < 2 || groups[0].runs.len() > groups[1].runs.len();
    let mut odd: Vec<usize> = if groups.len() < 2 {
        Vec::new()
    } else if strict_majority {
        groups[1..].iter().flat_map(|g| g.runs.clone()).collect()
    } else {
        groups.iter().flat_map(|g| g.runs.clone()).collect()
    };
    odd.extend(tampered);
    odd.sort_unstable();
    odd.dedup();
    odd
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
    let a = view(artifact_of(by_id, id, reference));
    let mut diffs = Vec::new();
    let mut level = None;
    let mut seen_views = Vec::new();
    for &run in odd {
        let b = view(artifact_of(by_id, id, run));
        if seen_views.contains(&b) {
            continue;
        }
        if level.is_none() {
            level = first_difference(&a, &b);
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
fn artifact_of<'a>(by_id: &[ById<'a>], id: &str, run: usize) -> Option<&'a Artifact> {
    by_id[run - 1].get(id).copied()
}

/// The must-match fields of one run's artifact as lines: content digests, then for an image
/// each level (top document, index entries, manifests, configs, layers), then any error.
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
    if let Some(brew) = &artifact.homebrew {
        out.push_str(&homebrew_lines(brew));
    }
    if let Some(oci) = &artifact.oci {
        if !oci.top.digest.is_empty() {
            out.push_str(&format!(
                "tag: {} ({})\n",
                oci.top.digest, oci.top.media_type
            ));
        }
        for e in &oci.index_entries {
            out.push_str(&format!(
                "index entry {}: {} ({} bytes)\n",
                e.platform.as_deref().unwrap_or("-"),
                e.digest,
                e.size
            ));
        }
        for m in &oci.manifests {
            let p = m.platform.as_deref().unwrap_or("-");
            out.push_str(&format!("manifest {p}: {}\n", m.document.digest));
            out.push_str(&format!(
                "config {p}: {} ({} bytes)\n",
                m.config.digest, m.config.size
            ));
            for (i, l) in m.layers.iter().enumerate() {
                out.push_str(&format!(
                    "layer {p} #{}: {} ({} bytes)\n",
                    i + 1,
                    l.digest,
                    l.size
                ));
            }
        }
    }
    if let Some(e) = &artifact.error {
        out.push_str(&format!("error: {}: {}\n", e.code, e.message));
    }
    out
}

/// What the Homebrew API declared, as keyed lines.
fn homebrew_lines(brew: &tofu_record::HomebrewRecord) -> String {
    let mut out = format!(
        "homebrew version: {} revision {} rebuild {} (image tag {})\n",
        brew.version, brew.revision, brew.rebuild, brew.image_tag
    );
    for b in &brew.bottles {
        out.push_str(&format!("homebrew bottle {}: sha256:{}\n", b.tag, b.sha256));
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

/// A diff of two groups' must-match content, for a mismatch where every grouped run is odd.
fn diff(reference: &Group, other: &Group, runs: &[RunSummary]) -> String {
    let a = content_lines(&reference.content);
    let b = content_lines(&other.content);
    TextDiff::from_lines(&a, &b)
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("runs {}", run_list(&reference.runs, runs)),
            &format!("runs {}", run_list(&other.runs, runs)),
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
