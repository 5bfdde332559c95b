//! Findings that are shown, not judged: they do not change the verdict, but a careful user
//! wants to see them. A clock skewed by minutes, a TLS connection (a download's or an exit
//! lookup's) verified through a trust anchor that no other run's saw (the mark of an
//! interception, even when the payload is passed through), exit endpoints that disagree, an
//! exit that changed during the run, an exit that rests on one endpoint's word, a claimed
//! country unlike the observed one. (A lookup's lone `--ca-cert` anchor also stops its run's
//! exit evidence from counting: see `anchors` and `rules`.)

use tofu_record::evidence::{MAX_CLOCK_SKEW_SECONDS, clock_skew_seconds};

use tofu_record::{ExitEvidence, Transcript, Vantage};

use crate::anchors::{self, Lone};
use crate::{ArtifactReport, Input};

/// Every note: per run (exit endpoints, claimed country, clock), then, among the runs that
/// count, the exit lookups' TLS anchors and each artifact's (a run nobody vouches for must
/// not hide a counted run's lone root by claiming to have seen it too).
pub(crate) fn collect(inputs: &[Input<'_>], artifacts: &[ArtifactReport]) -> Vec<String> {
    let counted = crate::counted(inputs);
    let mut notes = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let run = i + 1;
        let t = input.transcript;
        notes.extend(exit_conflict(run, &t.vantage.exit));
        if let Some(after) = &t.vantage.exit_after {
            notes.extend(exit_conflict(run, after).map(|n| format!("{n} (after the downloads)")));
        }
        notes.extend(exit_moved(run, &t.vantage));
        notes.extend(interrupted(run, t));
        notes.extend(lone_endpoint(run, &t.vantage));
        notes.extend(claimed_country(run, t));
        notes.extend(clock_skew(run, t));
    }
    notes.extend(anchors::lone_lookups(&counted).iter().map(|lone| {
        format!(
            "run #{}'s {} went through a TLS root no other run's lookup saw: {}",
            lone.run,
            lone.seen_by,
            lone.describe()
        )
    }));
    let lone_roots = anchors::lone_artifact_roots(&counted);
    for artifact in artifacts {
        notes.extend(lone_root_notes(&lone_roots, artifact));
    }
    notes
}

/// The run was interrupted and continued (`tofu fetch --resume`): when, and where each
/// continuation's lookup saw the exit.
fn interrupted(run: usize, t: &Transcript) -> impl Iterator<Item = String> + '_ {
    t.run.interruptions.iter().map(move |i| {
        let seen = match (&i.exit.ip, &i.exit.country) {
            (Some(ip), Some(cc)) => format!("{ip} {cc}"),
            (Some(ip), None) => format!("{ip}, no country"),
            _ => "no exit".to_owned(),
        };
        format!(
            "run #{run} was interrupted after {} and continued at {}; its exit then: {seen}",
            i.saved_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            i.resumed_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        )
    })
}

/// The whoami endpoints disagreed on the run's exit: what each said.
fn exit_conflict(run: usize, exit: &ExitEvidence) -> Option<String> {
    if !exit.conflict {
        return None;
    }
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
    Some(format!(
        "run #{run}: exit endpoints disagree: {}",
        seen.join("; ")
    ))
}

/// The exit changed between the lookups before and after the downloads: what each saw.
fn exit_moved(run: usize, vantage: &Vantage) -> Option<String> {
    let after = vantage
        .exit_after
        .as_ref()
        .filter(|_| vantage.exit_changed)?;
    Some(format!(
        "run #{run}: the exit changed during the run: before the downloads {}, after them \
         {}; the run counts as leaving through both",
        answers(&vantage.exit),
        answers(after)
    ))
}

/// Every answer of a lookup: `IP CC (URL)`, joined.
fn answers(exit: &ExitEvidence) -> String {
    let seen: Vec<String> = exit
        .probes
        .iter()
        .filter_map(|p| {
            Some(format!(
                "{} {} ({})",
                p.ip.as_deref()?,
                p.country.as_deref().unwrap_or("??"),
                p.url
            ))
        })
        .collect();
    seen.join(", ")
}

/// The run's exit rests on one endpoint's answer: one operator, or whoever can answer in
/// its name, decides the run's network and country.
fn lone_endpoint(run: usize, vantage: &Vantage) -> Option<String> {
    let lone = [Some(&vantage.exit), vantage.exit_after.as_ref()]
        .into_iter()
        .flatten()
        .find_map(
            |exit| match exit.probes.iter().filter(|p| p.ip.is_some()).count() {
                1 => exit.probes.iter().find(|p| p.ip.is_some()),
                _ => None,
            },
        )?;
    Some(format!(
        "run #{run}: its exit rests on one endpoint's answer ({}): weak evidence; give \
         [vantage] whoami two or more endpoints run by different operators",
        lone.url
    ))
}

/// The operator claimed another country than the one the exit was observed in.
fn claimed_country(run: usize, t: &Transcript) -> Option<String> {
    let claimed = t.vantage.claimed_country.as_ref()?;
    let observed = t.vantage.exit.country.as_ref()?;
    (!claimed.eq_ignore_ascii_case(observed)).then(|| {
        format!(
            "run #{run}: the operator claimed country {claimed}, the exit was observed in {observed}"
        )
    })
}

/// The worst skew between the local clock and a server's `Date` (exit probes and downloads),
/// when it is beyond what network delays explain.
fn clock_skew(run: usize, t: &Transcript) -> Option<String> {
    let probes = t
        .vantage
        .exit
        .probes
        .iter()
        .filter_map(|p| clock_skew_seconds(p.server_date.as_deref(), p.response_at));
    let downloads = t
        .artifacts
        .iter()
        .flat_map(|a| &a.fetches)
        .filter_map(|f| f.http.as_ref())
        .filter_map(|http| {
            clock_skew_seconds(
                http.headers.get("date").map(String::as_str),
                http.response_at,
            )
        });
    let worst = probes.chain(downloads).max_by_key(|s| s.abs())?;
    (worst.abs() > MAX_CLOCK_SKEW_SECONDS).then(|| {
        format!(
            "run #{run}: the local clock is {} s {} the servers' (more than {} s): its \
             dates may be wrong",
            worst.abs(),
            if worst > 0 { "behind" } else { "ahead of" },
            MAX_CLOCK_SKEW_SECONDS
        )
    })
}

/// Each run whose download of the artifact went through a TLS root no other run's saw, when
/// the runs saw more than one root.
fn lone_root_notes(
    lone_roots: &std::collections::BTreeMap<&str, Vec<Lone<'_>>>,
    artifact: &ArtifactReport,
) -> Vec<String> {
    lone_roots
        .get(artifact.id.as_str())
        .into_iter()
        .flatten()
        .map(|lone: &Lone<'_>| {
            format!(
                "{}: run #{}'s TLS chain leads to a root no other run saw: {}",
                artifact.id,
                lone.run,
                lone.describe()
            )
        })
        .collect()
}
