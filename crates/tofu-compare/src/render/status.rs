//! A campaign's status as text for people: the runs so far, the required rules, the verdict
//! so far and what to do next.

use std::fmt::Write;

use super::{OneLine, rule_status};
use crate::{ArtifactVerdict, Status, Verdict};

/// The status as text for people.
pub fn render_status(status: &Status) -> String {
    let report = &status.report;
    let mut out = String::new();
    let count = |v: ArtifactVerdict| report.artifacts.iter().filter(|a| a.verdict == v).count();
    let _ = writeln!(
        out,
        "campaign: {} run(s); artifacts: {} agree so far, {} differ, {} missing",
        report.runs.len(),
        count(ArtifactVerdict::Match),
        count(ArtifactVerdict::Mismatch),
        count(ArtifactVerdict::Missing)
    );
    for r in &report.runs {
        let _ = writeln!(
            out,
            "  #{} {}  {}  via {}  exit {} {}  {}",
            r.index,
            OneLine(&r.name),
            r.started_at,
            OneLine(&r.vantage),
            OneLine(r.exit_network.as_deref().unwrap_or("unknown")),
            OneLine(r.exit_country.as_deref().unwrap_or("??")),
            OneLine(&super::report::signer(r))
        );
    }
    let _ = writeln!(out, "rules");
    for rule in report.rules.iter().filter(|r| r.required) {
        let _ = writeln!(
            out,
            "  {:<19} {}: {}",
            rule.rule.name(),
            rule_status(rule.status),
            OneLine(&rule.message)
        );
    }
    let verdict = match report.verdict {
        Verdict::Agree => "AGREE: the campaign is complete",
        Verdict::Disagree => "DISAGREE",
        Verdict::Inconclusive => "INCONCLUSIVE so far",
    };
    let _ = writeln!(
        out,
        "verdict: {verdict}{}",
        super::report::unsigned_counted(report)
    );
    if !status.next_run.advice.is_empty() {
        let _ = writeln!(out, "what to do next");
        for line in &status.next_run.advice {
            let _ = writeln!(out, "  - {}", OneLine(line));
        }
    }
    out
}
