//! Renderers: a readable text report (runs, a runs × artifacts table, rules, the verdict and
//! unified diffs of what differs) and JSON for machines.

use std::fmt::Write;

use crate::{ArtifactVerdict, Cell, Report, RuleStatus, Verdict};

/// The report as pretty JSON.
pub fn render_json(report: &Report) -> String {
    let mut s = serde_json::to_string_pretty(report).expect("a report always serializes");
    s.push('\n');
    s
}

/// The report as text for people.
pub fn render_text(report: &Report) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_text(&mut out, report);
    out
}

fn write_text(out: &mut String, report: &Report) -> std::fmt::Result {
    writeln!(out, "runs")?;
    for r in &report.runs {
        let signer = match &r.signed_by {
            Some(k) => format!("key {k}"),
            None => "UNSIGNED".to_owned(),
        };
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
            "  #{:<2} {}  {}  via {}  {exit}{claimed}  host {}  {}{}",
            r.index,
            r.name,
            r.started_at,
            r.vantage,
            short(&r.host, 12),
            signer,
            label
        )?;
    }

    writeln!(out)?;
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
        write!(out, "{:<id_width$}", a.id)?;
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

    writeln!(out)?;
    writeln!(out, "diversity")?;
    for rule in &report.rules {
        let status = match rule.status {
            RuleStatus::Met => "met",
            RuleStatus::Unmet => "UNMET",
            RuleStatus::NoEvidence => "NO EVIDENCE",
        };
        let required = if rule.required { "" } else { " (not required)" };
        writeln!(
            out,
            "  {:<19} {status}{required}: {}",
            rule.rule.name(),
            rule.message
        )?;
    }

    if !report.notes.is_empty() {
        writeln!(out)?;
        writeln!(out, "notes (shown, not judged)")?;
        for note in &report.notes {
            writeln!(out, "  - {note}")?;
        }
    }

    let failures: Vec<(String, usize, &Cell)> = report
        .artifacts
        .iter()
        .flat_map(|a| {
            a.cells
                .iter()
                .enumerate()
                .filter(|(_, c)| matches!(c, Cell::Failed { .. }))
                .map(|(i, c)| (a.id.clone(), i + 1, c))
        })
        .collect();
    if !failures.is_empty() {
        writeln!(out)?;
        writeln!(out, "failures")?;
        for (id, run, cell) in failures {
            if let Cell::Failed { code, message } = cell {
                writeln!(out, "  #{run} {id}: {code}: {message}")?;
            }
        }
    }

    for a in report.artifacts.iter().filter(|a| !a.diffs.is_empty()) {
        writeln!(out)?;
        writeln!(out, "differences in {}", a.id)?;
        for d in &a.diffs {
            out.push_str(d);
        }
    }

    writeln!(out)?;
    let verdict = match report.verdict {
        Verdict::Agree => "AGREE",
        Verdict::Disagree => "DISAGREE",
        Verdict::Inconclusive => "INCONCLUSIVE",
    };
    writeln!(out, "verdict: {verdict}")?;
    for reason in &report.reasons {
        writeln!(out, "  - {reason}")?;
    }
    Ok(())
}

fn short(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}
