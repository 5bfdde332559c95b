//! Renderers, one file per report: `report.rs` for a comparison (runs, a runs × artifacts
//! table, rules, notes, failures, unified diffs, the verdict), `status.rs` for a campaign's
//! status. Each report is also JSON for machines.

mod report;
mod status;

use serde::Serialize;

use crate::RuleStatus;

pub use report::render_text;
pub use status::render_status;

/// The report as pretty JSON.
pub fn render_json(report: &crate::Report) -> String {
    pretty_json(report)
}

/// The status as pretty JSON.
pub fn render_status_json(status: &crate::Status) -> String {
    pretty_json(status)
}

/// Pretty JSON with a final newline.
fn pretty_json(value: &impl Serialize) -> String {
    let mut s =
        serde_json::to_string_pretty(value).expect("a report is plain data and always serializes");
    s.push('\n');
    s
}

/// How a rule's status reads in a table.
fn rule_status(status: RuleStatus) -> &'static str {
    match status {
        RuleStatus::Met => "met",
        RuleStatus::Unmet => "UNMET",
        RuleStatus::NoEvidence => "NO EVIDENCE",
    }
}
