//! Renderers, one file per report: `report.rs` for a comparison (runs, a runs × artifacts
//! table, rules, notes, failures, unified diffs, the verdict), `html.rs` for the same
//! comparison as one self-contained HTML page, `status.rs` for a campaign's status. Each
//! report is also JSON for machines.

mod html;
mod report;
mod status;

use serde::Serialize;

use crate::{RuleStatus, Verdict};

pub use html::render_html;
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

/// Text from a transcript, or built from one, kept on its line: a newline or carriage return
/// in it is shown escaped (`\n`), so a hostile field cannot start a line of its own (a fake
/// `verdict: AGREE` above the real one). Other control characters are the output layer's to
/// escape. Padding (`{:<20}`) applies to the escaped text.
struct OneLine<'a>(&'a str);

impl std::fmt::Display for OneLine<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.0.contains(['\n', '\r']) {
            return f.pad(self.0);
        }
        f.pad(&self.0.replace('\n', "\\n").replace('\r', "\\r"))
    }
}

/// How a rule's status reads in a table.
fn rule_status(status: RuleStatus) -> &'static str {
    match status {
        RuleStatus::Met => "met",
        RuleStatus::Unmet => "UNMET",
        RuleStatus::NoEvidence => "NO EVIDENCE",
    }
}

/// How the overall verdict reads: `AGREE`, `DISAGREE`, `INCONCLUSIVE`.
fn verdict_word(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Agree => "AGREE",
        Verdict::Disagree => "DISAGREE",
        Verdict::Inconclusive => "INCONCLUSIVE",
    }
}
