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
        .map(|input| {
            match input.transcript.artifacts.iter().find(|a| a.id == id) {
                None => Cell::Absent,
                Some(artifact) => match (artifact.ok_content(), &artifact.error) {
                    (Some(content), _) => Cell::Ok {
                        content: content.clone(),
                        final_url: artifact.http.as_ref().map(|h| h.final_url.clone()),
                        tls_leaf_sha256: artifact
                            .http
                            .as_ref()
                            .and_then(|h| h.tls.as_ref())
                            .and_then(|t| t.leaf_cert_sha256.clone()),
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
                },
            }
        })
        .collect();

    let mut groups: Vec<Group> = Vec::new();
    for (i, cell) in cells.iter().enumerate() {
        if let Cell::Ok { content, .. } = cell {
            match groups.iter_mut().find(|g| &g.content == content) {
                Some(g) => g.runs.push(i + 1),
                None => groups.push(Group {
                    runs: vec![i + 1],
                    content: content.clone(),
                }),
            }
        }
    }
    // Largest first; ties keep first-seen order (sort is stable).
    groups.sort_by_key(|g| std::cmp::Reverse(g.runs.len()));

    let all_ok = cells.iter().all(|c| matches!(c, Cell::Ok { .. }));
    let (verdict, odd_runs, diffs) = if groups.len() > 1 {
        let strict_majority = groups[0].runs.len() > groups[1].runs.len();
        let odd: Vec<usize> = if strict_majority {
            groups[1..].iter().flat_map(|g| g.runs.clone()).collect()
        } else {
            groups.iter().flat_map(|g| g.runs.clone()).collect()
        };
        let mut odd = odd;
        odd.sort_unstable();
        let diffs = groups[1..]
            .iter()
            .map(|g| diff(&groups[0], g, runs))
            .collect();
        (ArtifactVerdict::Mismatch, odd, diffs)
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
