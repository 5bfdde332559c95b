//! Findings that are shown, not judged: they do not change the verdict, but a careful user
//! wants to see them. A clock skewed by minutes, a TLS chain leading to a root CA that no
//! other run saw (the mark of an interception, even when the payload is passed through), exit
//! endpoints that disagree, a claimed country unlike the observed one.

use std::collections::BTreeMap;

use tofu_record::evidence::{MAX_CLOCK_SKEW_SECONDS, clock_skew_seconds};

use crate::{ArtifactReport, Cell, Input};

pub(crate) fn collect(inputs: &[Input<'_>], artifacts: &[ArtifactReport]) -> Vec<String> {
    let mut notes = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let run = i + 1;
        let t = input.transcript;
        let exit = &t.vantage.exit;
        if exit.conflict {
            let seen: Vec<String> = exit
                .probes
                .iter()
                .filter(|p| p.ip.is_some())
                .map(|p| {
                    format!(
                        "{} says {} {}",
                        p.url,
                        p.ip.as_deref().unwrap_or("?"),
                        p.country.as_deref().unwrap_or("??")
                    )
                })
                .collect();
            notes.push(format!(
                "run #{run}: exit endpoints disagree: {}",
                seen.join("; ")
            ));
        }
        if let (Some(claimed), Some(observed)) = (&t.vantage.claimed_country, &exit.country)
            && !claimed.eq_ignore_ascii_case(observed)
        {
            notes.push(format!(
                "run #{run}: the operator claimed country {claimed}, the exit was observed in {observed}"
            ));
        }
        let mut skews: Vec<i64> = exit
            .probes
            .iter()
            .filter_map(|p| clock_skew_seconds(p.server_date.as_deref(), p.response_at))
            .collect();
        for artifact in &t.artifacts {
            for fetch in &artifact.fetches {
                if let Some(http) = &fetch.http {
                    skews.extend(clock_skew_seconds(
                        http.headers.get("date").map(String::as_str),
                        http.response_at,
                    ));
                }
            }
        }
        if let Some(worst) = skews.iter().copied().max_by_key(|s| s.abs())
            && worst.abs() > MAX_CLOCK_SKEW_SECONDS
        {
            notes.push(format!(
                "run #{run}: the local clock is {} s {} the servers' (more than {} s): its \
                 dates may be wrong",
                worst.abs(),
                if worst > 0 { "behind" } else { "ahead of" },
                MAX_CLOCK_SKEW_SECONDS
            ));
        }
    }
    for artifact in artifacts {
        let mut by_root: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, cell) in artifact.cells.iter().enumerate() {
            if let Cell::Ok {
                tls_root_issuer: Some(root),
                ..
            } = cell
            {
                by_root.entry(root).or_default().push(i + 1);
            }
        }
        if by_root.len() > 1 {
            for (root, runs) in &by_root {
                if let [only] = runs.as_slice() {
                    notes.push(format!(
                        "{}: run #{only}'s TLS chain leads to a root no other run saw: {root}",
                        artifact.id
                    ));
                }
            }
        }
    }
    notes
}
