//! A comparison as text for people: the runs, a runs × artifacts table, the diversity rules,
//! notes, failures, unified diffs of what differs, and the verdict with its reasons. One
//! writer per section, in the order they are printed.

use std::fmt::Write;

use super::{OneLine, rule_status, verdict_word};
use crate::{ArtifactReport, ArtifactVerdict, Cell, Report, RunSummary};

/// The report as text for people.
pub fn render_text(report: &Report) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_text(&mut out, report);
    out
}

fn write_text(out: &mut String, report: &Report) -> std::fmt::Result {
    write_runs(out, &report.runs)?;
    writeln!(out)?;
    write_table(out, report)?;
    writeln!(out)?;
    write_vouches(out, &report.artifacts)?;
    write_rules(out, report)?;
    write_notes(out, &report.notes)?;
    write_failures(out, &report.artifacts)?;
    write_diffs(out, &report.artifacts)?;
    writeln!(out)?;
    write_verdict(out, report)
}

/// `runs`: one line per run with its vantage, exit, host and signer.
fn write_runs(out: &mut String, runs: &[RunSummary]) -> std::fmt::Result {
    writeln!(out, "runs")?;
    for r in runs {
        let signer = signer(r);
        let label = r
            .label
            .as_ref()
            .map(|l| format!("  {l:?}"))
            .unwrap_or_default();
        let exit = match (&r.exit_ip, &r.exit_network) {
            (Some(ip), Some(net)) => format!(
                "exit {ip} ({net}, {})",
                r.exit_country.as_deref().unwrap_or("country unknown")
            ),
            _ => "exit unknown".to_owned(),
        };
        let claimed = r
            .claimed_country
            .as_ref()
            .map(|c| format!(" (claimed {c})"))
            .unwrap_or_default();
        writeln!(
            out,
            "  #{:<2} {}  {}  via {}  {}{}  host {}  {}{}",
            r.index,
            OneLine(&r.name),
            r.started_at,
            OneLine(&r.vantage),
            OneLine(&exit),
            OneLine(&claimed),
            OneLine(short(&r.host, 12)),
            OneLine(&signer),
            label
        )?;
    }
    Ok(())
}

/// Who signed a run, and `(not counted)` when nobody the user trusts did.
pub(super) fn signer(run: &RunSummary) -> String {
    if run.signer.counts() {
        run.signer.to_string()
    } else {
        format!("{} (not counted)", run.signer)
    }
}

/// The runs × artifacts table: what each run saw of each artifact, and the verdict on it.
fn write_table(out: &mut String, report: &Report) -> std::fmt::Result {
    let id_width = report
        .artifacts
        .iter()
        .map(|a| a.id.chars().count())
        .max()
        .unwrap_or(8)
        .clamp(8, 72);
    write!(out, "{:<id_width$}", "artifact")?;
    for r in &report.runs {
        write!(out, "  {:<20}", format!("#{}", r.index))?;
    }
    writeln!(out, "  verdict")?;
    for a in &report.artifacts {
        write!(out, "{:<id_width$}", OneLine(&a.id))?;
        for cell in &a.cells {
            let text = match cell {
                Cell::Ok { content, .. } => format!("sha256:{}", short(&content.sha256, 12)),
                Cell::Failed { code, .. } => format!("FAILED({code})"),
                Cell::Absent => "absent".to_owned(),
            };
            write!(out, "  {text:<20}")?;
        }
        let verdict = match a.verdict {
            ArtifactVerdict::Match => "match".to_owned(),
            ArtifactVerdict::Missing => "MISSING".to_owned(),
            ArtifactVerdict::Mismatch => {
                let odd: Vec<String> = a.odd_runs.iter().map(|r| format!("#{r}")).collect();
                format!("MISMATCH  odd: {}", odd.join(" "))
            }
        };
        writeln!(out, "  {verdict}")?;
    }
    Ok(())
}

/// `signatures and checksums`: for each artifact something vouches for, how it fared
/// across the runs and what vouches for it, when any does.
fn write_vouches(out: &mut String, artifacts: &[ArtifactReport]) -> std::fmt::Result {
    let vouched: Vec<&ArtifactReport> =
        artifacts.iter().filter(|a| !a.vouches.is_empty()).collect();
    if vouched.is_empty() {
        return Ok(());
    }
    writeln!(out, "signatures and checksums")?;
    for a in vouched {
        let standing = match a.verdict {
            ArtifactVerdict::Match => format!(
                "identical in {} runs",
                a.groups.first().map_or(0, |g| g.runs.len())
            ),
            ArtifactVerdict::Mismatch => "NOT identical across the runs".to_owned(),
            ArtifactVerdict::Missing => "missing in some runs".to_owned(),
        };
        writeln!(out, "  {}: {standing}", OneLine(&a.id))?;
        for v in &a.vouches {
            writeln!(out, "    - {}", OneLine(&v.summary))?;
        }
    }
    writeln!(out)
}

/// `diversity`: every rule, required or not, with what the evidence showed.
fn write_rules(out: &mut String, report: &Report) -> std::fmt::Result {
    writeln!(out, "diversity")?;
    for rule in &report.rules {
        let required = if rule.required { "" } else { " (not required)" };
        writeln!(
            out,
            "  {:<19} {}{required}: {}",
            rule.rule.name(),
            rule_status(rule.status),
            OneLine(&rule.message)
        )?;
    }
    Ok(())
}

/// `notes (shown, not judged)`, when there are any.
fn write_notes(out: &mut String, notes: &[String]) -> std::fmt::Result {
    if notes.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "notes (shown, not judged)")?;
    for note in notes {
        writeln!(out, "  - {}", OneLine(note))?;
    }
    Ok(())
}

/// `failures`: each failed artifact of each run with its code and message, when any failed.
fn write_failures(out: &mut String, artifacts: &[ArtifactReport]) -> std::fmt::Result {
    let failures: Vec<(&str, usize, &str, &str)> = artifacts
        .iter()
        .flat_map(|a| {
            a.cells
                .iter()
                .enumerate()
                .filter_map(move |(i, c)| match c {
                    Cell::Failed { code, message } => {
                        Some((a.id.as_str(), i + 1, code.as_str(), &**message))
                    }
                    Cell::Ok { .. } | Cell::Absent => None,
                })
        })
        .collect();
    if failures.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "failures")?;
    for (id, run, code, message) in failures {
        writeln!(
            out,
            "  #{run} {}: {code}: {}",
            OneLine(id),
            OneLine(message)
        )?;
    }
    Ok(())
}

/// `differences in ID`: the unified diffs of each artifact that differs, then where each odd
/// run's copy parts from the reference's, chunk by chunk.
fn write_diffs(out: &mut String, artifacts: &[ArtifactReport]) -> std::fmt::Result {
    for a in artifacts
        .iter()
        .filter(|a| !a.diffs.is_empty() || !a.chunk_diffs.is_empty())
    {
        writeln!(out)?;
        writeln!(out, "differences in {}", OneLine(&a.id))?;
        for d in &a.diffs {
            out.push_str(d);
        }
        for c in &a.chunk_diffs {
            writeln!(
                out,
                "chunks of run #{} against run #{}: {}",
                c.run,
                c.reference,
                OneLine(&c.message)
            )?;
        }
    }
    Ok(())
}

/// `verdict: …`, how many unsigned runs it counted, and why it is not agreement.
fn write_verdict(out: &mut String, report: &Report) -> std::fmt::Result {
    let verdict = verdict_word(report.verdict);
    writeln!(out, "verdict: {verdict}{}", unsigned_counted(report))?;
    for reason in &report.reasons {
        writeln!(out, "  - {}", OneLine(reason))?;
    }
    Ok(())
}

/// ` (N unsigned run(s) counted because of --allow-unsigned)`, or nothing.
pub(super) fn unsigned_counted(report: &Report) -> String {
    match report.unsigned_counted {
        0 => String::new(),
        n => format!(" ({n} unsigned run(s) counted because of --allow-unsigned)"),
    }
}

/// The first `n` characters of `s` (a digest or fingerprint prefix for the table).
pub(super) fn short(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}
