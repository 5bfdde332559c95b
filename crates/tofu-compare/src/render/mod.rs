//! Renderers, one file per report: `report.rs` for a comparison (runs, a runs × artifacts
//! table, rules, notes, failures, unified diffs, the verdict), `html.rs` for the same
//! comparison as one self-contained HTML page, `status.rs` for a campaign's status. Each
//! report is also JSON for machines.

mod html;
mod report;
mod status;

use crate::{RuleStatus, Verdict};

pub use html::render_html;
pub use report::render_text;
pub use status::render_status;

/// The report as pretty JSON: the `tofu-compare-report/1` document.
pub fn render_json(report: &crate::Report) -> String {
    tofu_record::document::to_json(report)
}

/// The status as pretty JSON: the `tofu-status-report/1` document.
pub fn render_status_json(status: &crate::Status) -> String {
    tofu_record::document::to_json(status)
}

impl tofu_record::document::Document for crate::Report {
    const FORMAT: &'static str = "tofu-compare-report/1";
    const SCHEMA_FILE: &'static str = "compare";
}

impl tofu_record::document::Document for crate::Status {
    const FORMAT: &'static str = "tofu-status-report/1";
    const SCHEMA_FILE: &'static str = "status";
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
