//! Which fields must match and which are only shown. Must match in every run: size, SHA-256
//! and SHA-512 of the content. Shown, not judged: final URL, redirect hosts, TLS certificates
//! (CDNs legitimately differ), headers and timings.

use similar::TextDiff;
use tofu_record::Content;

use crate::{ArtifactReport, ArtifactVerdict, Cell, Group, Input, RunSummary};

pub(crate) fn compare_artifact(
    id: &str,
    inputs: &[Input<'_>],
    runs: &[RunSummary],
) -> ArtifactReport {
    let cells: Vec<Cell> = inputs
        .iter()
        .map(
            |input| match input.transcript.artifacts.iter().find(|a| a.id == id) {
                None => Cell::Absent,
                Some(artifact) => {
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
                            code: e.code.clone(),
                            message: e.message.clone(),
                        },
                        // check() makes this impossible; treat it as a failure, never as content.
                        (None, None) => Cell::Failed {
                            code: "invalid".to_owned(),
                            message: "neither content nor error".to_owned(),
                        },
                    }
                }
            },
        )
        .collect();

    // Every successful fetch is an observation, so mirrors that disagree inside one run
    // count as a mismatch, not as a mere failure.
    let mut groups: Vec<Group> = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let Some(artifact) = input.transcript.artifacts.iter().find(|a| a.id == id) else {
            continue;
        };
        for content in artifact.fetches.iter().filter_map(|f| f.content.as_ref()) {
            let group = match groups.iter_mut().position(|g| &g.content == content) {
                Some(at) => &mut groups[at],
                None => {
                    groups.push(Group {
                        runs: Vec::new(),
                        content: content.clone(),
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

    let all_ok = cells.iter().all(|c| matches!(c, Cell::Ok { .. }));
    let (verdict, odd_runs, diffs) = if groups.len() > 1 {
        let strict_majority = groups[0].runs.len() > groups[1].runs.len();
        let mut odd: Vec<usize> = if strict_majority {
            groups[1..].iter().flat_map(|g| g.runs.clone()).collect()
        } else {
            groups.iter().flat_map(|g| g.runs.clone()).collect()
        };
        odd.sort_unstable();
        odd.dedup();
        let diffs = groups[1..]
            .iter()
            .map(|g| diff(&groups[0], g, runs))
            .collect();
        (ArtifactVerdict::Mismatch, odd, diffs)
    } else if let Some(diff) = fingerprint_mismatch(&cells) {
        // Same bytes cannot give other fingerprints; if they ever do, it is a mismatch.
        let odd = (1..=cells.len()).collect();
        (ArtifactVerdict::Mismatch, odd, vec![diff])
    } else if all_ok && groups.len() == 1 {
        (ArtifactVerdict::Match, Vec::new(), Vec::new())
    } else {
        (ArtifactVerdict::Missing, Vec::new(), Vec::new())
    };
    ArtifactReport {
        id: id.to_owned(),
        verdict,
        cells,
        groups,
        odd_runs,
        diffs,
    }
}

/// A diff of the OpenPGP fingerprints when two complete runs disagree on them.
fn fingerprint_mismatch(cells: &[Cell]) -> Option<String> {
    let lists: Vec<&Vec<String>> = cells
        .iter()
        .filter_map(|c| match c {
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
