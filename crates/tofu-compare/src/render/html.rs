//! A comparison as one self-contained HTML page (`tofu compare --html`): the verdict and its
//! reasons, the runs × artifacts matrix, each run's vantage, the diversity rules with their
//! evidence, the notes, and per artifact what each group of runs saw, what was only shown,
//! where the copies part and the diffs. It is drawn from the same [`Report`] as the text and
//! JSON; nothing is judged here.
//!
//! Every string from a transcript is hostile: a label, an artifact id, an error message or a
//! URL may hold markup. The page is built through [`Page`], whose only way to add markup is a
//! `&'static str` ([`Page::raw`]); everything else goes through [`escape`]. The page loads
//! nothing (inline CSS only, no script at all) and says so in a Content-Security-Policy, so even
//! a mistake here could not run a script or call home when the page is opened.

use std::borrow::Cow;
use std::fmt::Display;

use super::report::{short, signer, unsigned_counted};
use super::{rule_status, verdict_word};
use crate::{
    ArtifactReport, ArtifactVerdict, Cell, Report, RuleReport, RuleStatus, RunSummary, Signature,
    Verdict, VouchKind, VouchStatus,
};

/// The page's style: light, dark (`prefers-color-scheme`) and print.
const CSS: &str = include_str!("report.css");

/// No fetch of any kind, no script, no form target, no `<base>`: inline style and data: images
/// only.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
                   base-uri 'none'; form-action 'none'";

/// The report as one self-contained HTML page.
pub fn render_html(report: &Report) -> String {
    let mut page = Page::default();
    head(&mut page, report);
    verdict(&mut page, report);
    matrix(&mut page, report);
    runs(&mut page, &report.runs);
    rules(&mut page, &report.rules);
    notes(&mut page, &report.notes);
    attempts(&mut page, &report.attempts);
    artifacts(&mut page, report);
    footer(&mut page, report);
    page.out
}

/// The sections of one artifact, in page order: one function each, so a new kind of fact
/// (signatures, checksum files) is one more function in this list.
const ARTIFACT_SECTIONS: &[fn(&mut Page, &ArtifactReport, &Report)] = &[
    artifact_summary,
    artifact_vouches,
    artifact_groups,
    artifact_runs,
    artifact_platforms,
    artifact_first_difference,
    artifact_diffs,
];

/// An HTML page being written. Markup enters only as `&'static str` ([`Page::raw`]); text
/// enters only escaped ([`Page::text`], [`Page::block`]), so no string from a transcript can
/// become markup.
#[derive(Default)]
struct Page {
    out: String,
}

impl Page {
    /// Markup written by this file.
    fn raw(&mut self, markup: &'static str) {
        self.out.push_str(markup);
    }

    /// Text on one line, escaped (a newline in it is shown as `\n`).
    fn text(&mut self, text: &str) {
        self.out.push_str(&escape(text));
    }

    /// Anything displayable, escaped as [`Page::text`].
    fn show(&mut self, value: impl Display) {
        self.text(&value.to_string());
    }

    /// Text whose newlines are kept (a `<pre>`), escaped.
    fn block(&mut self, text: &str) {
        self.out.push_str(&escape_block(text));
    }

    /// `open`, the escaped text, `close`: `<td>`, `text`, `</td>`.
    fn wrap(&mut self, open: &'static str, text: &str, close: &'static str) {
        self.raw(open);
        self.text(text);
        self.raw(close);
    }
}

/// `text` safe anywhere in an HTML page, inside an element or a quoted attribute, kept on one
/// line: `&`, `<`, `>`, `"` and `'` as character references; a newline or carriage return,
/// every other control character and every Unicode bidirectional control shown as an escape
/// (`\n`, `\u{1b}`, `\u{202e}`), as the terminal output shows them, so a hostile field can
/// neither become markup nor fake a line or reorder the text around it.
pub fn escape(text: &str) -> Cow<'_, str> {
    escape_with(text, false)
}

/// As [`escape`], but newlines are kept (for a `<pre>` block such as a diff).
pub fn escape_block(text: &str) -> Cow<'_, str> {
    escape_with(text, true)
}

fn escape_with(text: &str, keep_newlines: bool) -> Cow<'_, str> {
    let special = |c: char| {
        matches!(c, '&' | '<' | '>' | '"' | '\'') || (hidden(c) && !(keep_newlines && c == '\n'))
    };
    if !text.chars().any(special) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' if keep_newlines => out.push('\n'),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if hidden(c) => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Characters that must not reach the page raw: control characters but tab (HTML drops some
/// and reads others as line breaks), and the Unicode bidirectional controls (they reorder
/// what a reader sees).
fn hidden(c: char) -> bool {
    (c.is_control() && c != '\t')
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `<!DOCTYPE html>`, the head with its policy and style, and the page's title.
fn head(page: &mut Page, report: &Report) {
    page.raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    page.raw("<meta http-equiv=\"Content-Security-Policy\" content=\"");
    page.raw(CSP);
    page.raw("\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    page.raw("<meta name=\"color-scheme\" content=\"light dark\">\n");
    page.raw("<title>tofu compare: ");
    page.text(verdict_word(report.verdict));
    page.raw("</title>\n<style>\n");
    page.raw(CSS);
    page.raw("</style>\n</head>\n<body>\n<header><h1>tofu compare</h1><p class=\"sub\">");
    page.show(format_args!(
        "{} run(s), {} artifact(s); an agreement needs at least {} counted run(s), every \
         artifact identical in every run and every required diversity rule met.",
        report.runs.len(),
        report.artifacts.len(),
        report.min_runs
    ));
    page.raw("</p></header>\n");
}

/// The verdict, first: its word and symbol, how many unsigned runs it counted, and why it is
/// not agreement.
fn verdict(page: &mut Page, report: &Report) {
    page.raw(match report.verdict {
        Verdict::Agree => "<section class=\"verdict agree\">",
        Verdict::Disagree => "<section class=\"verdict differ\">",
        Verdict::Inconclusive => "<section class=\"verdict missing\">",
    });
    page.raw(match report.verdict {
        Verdict::Agree => "<h2 id=\"verdict\">\u{2713} Verdict: ",
        Verdict::Disagree => "<h2 id=\"verdict\">\u{2717} Verdict: ",
        Verdict::Inconclusive => "<h2 id=\"verdict\">? Verdict: ",
    });
    page.text(verdict_word(report.verdict));
    page.raw("</h2>\n");
    let unsigned = unsigned_counted(report);
    if !unsigned.is_empty() {
        page.wrap("<p>", unsigned.trim(), "</p>\n");
    }
    if !report.reasons.is_empty() {
        page.raw("<ul>\n");
        for reason in &report.reasons {
            page.wrap("<li>", reason, "</li>\n");
        }
        page.raw("</ul>\n");
    }
    page.raw("</section>\n");
}

/// How one run's cell of one artifact reads: agrees, differs, missing, or not counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mark {
    /// Complete, and not among the odd runs.
    Agrees,
    /// Among the odd runs: what it saw (or verified before failing) differs.
    Differs,
    /// Absent, or failed before verifying anything that differs.
    Missing,
    /// The run is signed by a key the user does not trust: shown, not judged.
    NotCounted,
}

impl Mark {
    /// The mark of run `run` (1-based) for artifact `a`, from the report's own judgement.
    fn of(a: &ArtifactReport, run: &RunSummary, cell: &Cell) -> Mark {
        if !run.signer.counts() {
            Mark::NotCounted
        } else if a.odd_runs.contains(&run.index) {
            Mark::Differs
        } else if matches!(cell, Cell::Ok { .. }) {
            Mark::Agrees
        } else {
            Mark::Missing
        }
    }

    /// The cell's opening tag and its symbol and word: never colour alone.
    fn open(self) -> &'static str {
        match self {
            Mark::Agrees => "<td class=\"agree\">\u{2713} agrees",
            Mark::Differs => "<td class=\"differ\">\u{2717} differs",
            Mark::Missing => "<td class=\"missing\">\u{2205} missing",
            Mark::NotCounted => "<td class=\"uncounted\">\u{2298} not counted",
        }
    }
}

/// The name of group `i` (0-based): `A`, `B`, … then `G27`, ….
fn group_name(i: usize) -> String {
    match u8::try_from(i) {
        Ok(n) if n < 26 => char::from(b'A' + n).to_string(),
        _ => format!("G{}", i + 1),
    }
}

/// The group run `run` belongs to for artifact `a`, by name.
fn group_of(a: &ArtifactReport, run: usize) -> Option<String> {
    a.groups
        .iter()
        .position(|g| g.members().any(|r| r == run))
        .map(group_name)
}

/// The runs × artifacts matrix: one row per artifact, one cell per run, and the verdict.
fn matrix(page: &mut Page, report: &Report) {
    page.raw("<section id=\"matrix\"><h2>Runs \u{d7} artifacts</h2>\n");
    page.raw(
        "<p class=\"legend\"><span class=\"agree\">\u{2713} agrees</span>\
         <span class=\"differ\">\u{2717} differs</span>\
         <span class=\"missing\">\u{2205} missing or failed</span>\
         <span class=\"uncounted\">\u{2298} not counted (untrusted signer)</span> \
         Letters name the groups of runs that saw the same content.</p>\n",
    );
    page.raw("<div class=\"scroll\"><table>\n<thead><tr><th>artifact</th>");
    for r in &report.runs {
        page.raw("<th>#");
        page.show(r.index);
        page.wrap("<span class=\"detail muted\"> ", &r.vantage, "</span></th>");
    }
    page.raw("<th>verdict</th></tr></thead>\n<tbody>\n");
    for (i, a) in report.artifacts.iter().enumerate() {
        page.raw("<tr><th scope=\"row\"><a href=\"#artifact-");
        page.show(i + 1);
        page.raw("\"><code>");
        page.text(&a.id);
        page.raw("</code></a></th>");
        for (cell, run) in a.cells.iter().zip(&report.runs) {
            matrix_cell(page, a, run, cell);
        }
        artifact_verdict(page, a);
        page.raw("</tr>\n");
    }
    page.raw("</tbody></table></div></section>\n");
}

/// One cell: its mark, its group, and what the run saw (a digest prefix or an error code).
fn matrix_cell(page: &mut Page, a: &ArtifactReport, run: &RunSummary, cell: &Cell) {
    let mark = Mark::of(a, run, cell);
    page.raw(mark.open());
    if let Some(group) = group_of(a, run.index) {
        page.wrap(" <span class=\"badge\">", &group, "</span>");
    }
    match cell {
        Cell::Ok { content, .. } => {
            page.wrap(
                "<span class=\"hash\">sha256:",
                short(&content.sha256, 16),
                "\u{2026}</span>",
            );
        }
        Cell::Failed { code, .. } => {
            page.wrap("<span class=\"detail\">failed: ", code.as_str(), "</span>");
        }
        Cell::Absent => page.raw("<span class=\"detail\">not in this run</span>"),
    }
    page.raw("</td>");
}

/// The verdict on one artifact, with the odd runs of a mismatch.
fn artifact_verdict(page: &mut Page, a: &ArtifactReport) {
    match a.verdict {
        ArtifactVerdict::Match => page.raw("<td class=\"agree\">\u{2713} match</td>"),
        ArtifactVerdict::Missing => page.raw("<td class=\"missing\">\u{2205} MISSING</td>"),
        ArtifactVerdict::Mismatch => {
            page.raw("<td class=\"differ\">\u{2717} MISMATCH<span class=\"detail\">odd: ");
            page.text(&run_numbers(&a.odd_runs));
            page.raw("</span></td>");
        }
    }
}

/// `#1 #3`.
fn run_numbers(runs: &[usize]) -> String {
    runs.iter()
        .map(|r| format!("#{r}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Each run's vantage: when, transport, exit, country, host, signer, label.
fn runs(page: &mut Page, runs: &[RunSummary]) {
    page.raw("<section id=\"runs\"><h2>Runs and their vantage points</h2>\n");
    page.raw(
        "<div class=\"scroll\"><table>\n<thead><tr><th>run</th><th>file</th>\
         <th>started (UTC)</th><th>transport</th><th>exit address (network)</th>\
         <th>exit country</th><th>host</th><th>signed by</th><th>label</th></tr></thead>\n\
         <tbody>\n",
    );
    for r in runs {
        page.raw("<tr><th scope=\"row\">#");
        page.show(r.index);
        page.raw("</th>");
        page.wrap("<td><code>", &r.name, "</code>");
        page.wrap(
            "<span class=\"detail hash muted\">run ",
            &r.run_id,
            "</span></td>",
        );
        page.wrap("<td class=\"mono nowrap\">", &r.started_at, "</td>");
        page.wrap("<td><code>", &r.vantage, "</code></td>");
        let exit = match (&r.exit_ip, &r.exit_network) {
            (Some(ip), Some(net)) => format!("{ip} ({net})"),
            (Some(ip), None) => ip.clone(),
            _ => "unknown".to_owned(),
        };
        page.wrap("<td class=\"mono\">", &exit, "</td>");
        let country = r.exit_country.as_deref().unwrap_or("unknown");
        page.wrap("<td>", country, "");
        if let Some(claimed) = &r.claimed_country {
            page.wrap("<span class=\"detail muted\">claimed ", claimed, "</span>");
        }
        page.raw("</td>");
        page.wrap("<td class=\"hash\">", short(&r.host, 12), "</td>");
        run_signer(page, r);
        page.wrap("<td>", r.label.as_deref().unwrap_or(""), "</td></tr>\n");
    }
    page.raw("</tbody></table></div></section>\n");
}

/// Who signed a run, marked by whether it counts.
fn run_signer(page: &mut Page, r: &RunSummary) {
    page.raw(match r.signer {
        Signature::Trusted { .. } => "<td class=\"agree\">\u{2713} ",
        Signature::Untrusted { .. } => "<td class=\"uncounted\">\u{2298} ",
        Signature::Unsigned { .. } => "<td class=\"missing\">! ",
    });
    page.text(&signer(r));
    page.raw("</td>");
}

/// Every diversity rule, required or not, with the evidence that met or missed it.
fn rules(page: &mut Page, rules: &[RuleReport]) {
    page.raw("<section id=\"rules\"><h2>Diversity rules</h2>\n");
    page.raw(
        "<div class=\"scroll\"><table>\n<thead><tr><th>rule</th><th>required</th>\
         <th>status</th><th>evidence</th></tr></thead>\n<tbody>\n",
    );
    for rule in rules {
        page.wrap(
            "<tr><th scope=\"row\"><code>",
            rule.rule.name(),
            "</code></th>",
        );
        page.raw(if rule.required {
            "<td>required</td>"
        } else {
            "<td class=\"muted\">not required</td>"
        });
        page.raw(match rule.status {
            RuleStatus::Met => "<td class=\"agree\">\u{2713} ",
            RuleStatus::Unmet => "<td class=\"differ\">\u{2717} ",
            RuleStatus::NoEvidence => "<td class=\"missing\">? ",
        });
        page.text(rule_status(rule.status));
        page.wrap("</td><td class=\"wide\">", &rule.message, "</td></tr>\n");
    }
    page.raw("</tbody></table></div></section>\n");
}

/// Findings shown but not judged, when there are any.
fn notes(page: &mut Page, notes: &[String]) {
    if notes.is_empty() {
        return;
    }
    page.raw("<section id=\"notes\"><h2>Notes (shown, not judged)</h2>\n<ul class=\"notes\">\n");
    for note in notes {
        page.wrap("<li>", note, "</li>\n");
    }
    page.raw("</ul></section>\n");
}

/// The attempts the campaign logs name that are not among the runs, per host: each with how
/// it ended, what it saw that the runs given did not, and why it was left out, if the user
/// said. Absent when every attempt known was given.
fn attempts(page: &mut Page, hosts: &[crate::HostAttempts]) {
    if hosts.iter().all(|h| h.not_given.is_empty()) {
        return;
    }
    page.raw(
        "<section id=\"attempts\"><h2>Attempts not given</h2>\n<div class=\"scroll\"><table>\n\
         <thead><tr><th>host</th><th>run</th><th>started</th><th>via</th><th>outcome</th>\
         <th>what it saw</th></tr></thead>\n<tbody>\n",
    );
    for host in hosts {
        for a in &host.not_given {
            page.raw("<tr><td><code>");
            page.text(short(&host.host, 12));
            page.raw("</code><br><span class=\"muted\">");
            page.show(format_args!(
                "{} attempt(s); given: {}",
                host.made,
                if host.runs.is_empty() {
                    "none".to_owned()
                } else {
                    run_numbers(&host.runs)
                }
            ));
            page.wrap(
                "</span></td><td><code>",
                short(&a.run_id, 12),
                "</code></td>",
            );
            page.wrap("<td>", &a.started_at, "</td>");
            page.wrap("<td>", &a.via, "</td>");
            page.wrap("<td>", a.outcome.as_str(), "</td>");
            page.raw(if a.differs.is_empty() || a.excluded.is_some() {
                "<td class=\"wide\">"
            } else {
                "<td class=\"wide differ\">"
            });
            if a.differs.is_empty() {
                page.raw("<span class=\"muted\">nothing that differs</span>");
            }
            // Digests: monospace, and broken anywhere rather than widening the table.
            for line in &a.differs {
                page.wrap("<div class=\"hash\">", line, "</div>");
            }
            if let Some(why) = &a.excluded {
                page.wrap("<div class=\"muted\">left out on purpose: ", why, "</div>");
            }
            page.raw("</td></tr>\n");
        }
    }
    page.raw("</tbody></table></div></section>\n");
}

/// One article per artifact, made of [`ARTIFACT_SECTIONS`].
fn artifacts(page: &mut Page, report: &Report) {
    page.raw("<section id=\"artifacts\"><h2>Artifacts</h2>\n");
    for (i, a) in report.artifacts.iter().enumerate() {
        page.raw("<article id=\"artifact-");
        page.show(i + 1);
        page.raw("\">\n");
        for section in ARTIFACT_SECTIONS {
            section(page, a, report);
        }
        page.raw("</article>\n");
    }
    page.raw("</section>\n");
}

/// The artifact's id and verdict, and for a mismatch where the runs part and who is odd.
fn artifact_summary(page: &mut Page, a: &ArtifactReport, report: &Report) {
    page.wrap("<h3><code>", &a.id, "</code> ");
    page.raw(match a.verdict {
        ArtifactVerdict::Match => "<span class=\"badge agree\">\u{2713} match</span>",
        ArtifactVerdict::Mismatch => "<span class=\"badge differ\">\u{2717} MISMATCH</span>",
        ArtifactVerdict::Missing => "<span class=\"badge missing\">\u{2205} MISSING</span>",
    });
    page.raw("</h3>\n");
    if a.verdict != ArtifactVerdict::Mismatch {
        return;
    }
    if let Some(level) = &a.level {
        page.wrap("<p>The runs part at <strong>", level, "</strong>.</p>\n");
    }
    page.wrap(
        "<p>Odd run(s), the suspicious vantage points: ",
        &crate::artifact::run_list(&a.odd_runs, &report.runs),
        "</p>\n",
    );
}

/// What vouches for the artifact (its signature, its checksum list): the sentence beside
/// the verdict, then what each run recorded.
fn artifact_vouches(page: &mut Page, a: &ArtifactReport, report: &Report) {
    if a.vouches.is_empty() {
        return;
    }
    page.raw("<h4>Signatures and checksums</h4>\n<ul>\n");
    for v in &a.vouches {
        page.raw("<li>");
        page.raw(match v.status {
            VouchStatus::Holds => "<span class=\"badge agree\">\u{2713} vouches</span> ",
            VouchStatus::Contradicted => {
                "<span class=\"badge differ\">\u{2717} DOES NOT VOUCH</span> "
            }
            VouchStatus::Unchecked => "<span class=\"badge missing\">\u{2205} unchecked</span> ",
        });
        page.raw(match v.kind {
            VouchKind::Signature => "signature: ",
            VouchKind::Checksums => "checksum list: ",
        });
        page.text(&v.summary);
        page.raw("\n<ul>\n");
        for (cell, run) in v.cells.iter().zip(&report.runs) {
            page.raw("<li>#");
            page.show(run.index);
            page.raw(": ");
            match cell {
                Some(cell) => page.text(&cell.message),
                None => page.raw("<span class=\"muted\">no record</span>"),
            }
            page.raw("</li>\n");
        }
        page.raw("</ul></li>\n");
    }
    page.raw("</ul>\n");
}

/// What each group of runs saw: the must-match fields.
fn artifact_groups(page: &mut Page, a: &ArtifactReport, _report: &Report) {
    if a.groups.is_empty() {
        return;
    }
    page.raw("<h4>What each group of runs saw (must match)</h4>\n");
    page.raw(
        "<div class=\"scroll\"><table>\n<thead><tr><th>group</th><th>runs</th><th>size (bytes)</th>\
         <th>SHA-256</th><th>SHA-512</th></tr></thead>\n<tbody>\n",
    );
    for (i, g) in a.groups.iter().enumerate() {
        page.wrap("<tr><th scope=\"row\">", &group_name(i), "</th>");
        let mut runs = run_numbers(&g.runs);
        if !g.failed_runs.is_empty() {
            let failed = run_numbers(&g.failed_runs);
            runs = format!("{runs} {failed} (failed later)").trim().to_owned();
        }
        page.wrap("<td>", &runs, "</td>");
        match &g.content {
            Some(c) => {
                page.raw("<td class=\"mono nowrap\">");
                page.text(&crate::chunks::grouped(c.size));
                page.raw("</td>");
                page.wrap("<td class=\"hash\">", &c.sha256, "</td>");
                page.wrap("<td class=\"hash\">", &c.sha512, "</td>");
            }
            None => page.raw(
                "<td colspan=\"3\" class=\"muted\">no complete copy: the facts these runs \
                 verified before failing</td>",
            ),
        }
        page.raw("</tr>\n");
        if let Some(detail) = &g.detail {
            page.raw("<tr><td></td><td colspan=\"4\"><pre class=\"diff\">");
            page.block(detail);
            page.raw("</pre></td></tr>\n");
        }
    }
    page.raw("</tbody></table></div>\n");
}

/// What each run saw that is shown, not judged: where the bytes came from, the TLS
/// certificate and root, OpenPGP fingerprints, or the failure.
fn artifact_runs(page: &mut Page, a: &ArtifactReport, report: &Report) {
    page.raw("<h4>Each run (shown, not judged)</h4>\n");
    page.raw(
        "<div class=\"scroll\"><table>\n<thead><tr><th>run</th><th>final URL</th>\
         <th>TLS leaf (SHA-256)</th><th>TLS root</th><th>OpenPGP</th></tr></thead>\n<tbody>\n",
    );
    for (cell, run) in a.cells.iter().zip(&report.runs) {
        page.raw("<tr><th scope=\"row\">#");
        page.show(run.index);
        page.raw("</th>");
        match cell {
            Cell::Ok {
                final_url,
                tls_leaf_sha256,
                tls_anchor,
                openpgp_fingerprints,
                ..
            } => {
                let none = "\u{2014}";
                page.wrap(
                    "<td class=\"hash\">",
                    final_url.as_deref().unwrap_or(none),
                    "</td>",
                );
                let leaf = tls_leaf_sha256.as_deref().unwrap_or(none);
                page.wrap("<td class=\"hash\">", leaf, "</td>");
                let anchor = tls_anchor.as_ref().map_or_else(
                    || none.to_owned(),
                    |t| {
                        format!(
                            "{} ({}; SPKI {})",
                            t.subject,
                            crate::anchors::source(t),
                            t.spki_sha256
                        )
                    },
                );
                page.wrap("<td class=\"hash\">", &anchor, "</td>");
                let pgp = fingerprint_list(openpgp_fingerprints);
                page.wrap(
                    "<td class=\"hash\">",
                    if pgp.is_empty() { none } else { &pgp },
                    "</td>",
                );
            }
            Cell::Failed { code, message } => {
                page.wrap(
                    "<td colspan=\"4\" class=\"missing\">failed: <code>",
                    code.as_str(),
                    "",
                );
                page.wrap("</code>: ", message, "</td>");
            }
            Cell::Absent => {
                page.raw("<td colspan=\"4\" class=\"missing\">not in this run's transcript</td>");
            }
        }
        page.raw("</tr>\n");
    }
    page.raw("</tbody></table></div>\n");
}

/// A key file's fingerprints for a table cell: all of a few, else how many and the first
/// ones (Debian's keyring holds thousands of keys).
fn fingerprint_list(fingerprints: &[String]) -> String {
    const SHOWN: usize = 6;
    if fingerprints.len() <= SHOWN {
        return fingerprints.join(", ");
    }
    format!(
        "{} entries; the first: {}, \u{2026}",
        fingerprints.len(),
        fingerprints[..SHOWN].join(", ")
    )
}

/// When runs pulled different platform sets or bottle tags: which run asked for which.
fn artifact_platforms(page: &mut Page, a: &ArtifactReport, _report: &Report) {
    if let Some(sets) = &a.platform_sets {
        page.wrap("<h4>Platforms</h4>\n<p>", sets, "</p>\n");
    }
}

/// Where each odd run's copy first parts from the reference's, from the chunk digests.
fn artifact_first_difference(page: &mut Page, a: &ArtifactReport, _report: &Report) {
    if a.chunk_diffs.is_empty() {
        return;
    }
    page.raw("<h4>Where the copies differ</h4>\n<ul class=\"ranges\">\n");
    for c in &a.chunk_diffs {
        page.raw("<li>");
        page.show(format_args!(
            "run #{} against run #{}: ",
            c.run, c.reference
        ));
        if let Some([first, last]) = c.first_range {
            page.raw("first differing bytes <strong class=\"nowrap\">");
            page.show(format_args!(
                "{}\u{2013}{}",
                crate::chunks::grouped(first),
                crate::chunks::grouped(last)
            ));
            page.raw("</strong>; ");
        }
        page.wrap("", &c.message, "</li>\n");
    }
    page.raw("</ul>\n");
}

/// The unified diffs of the must-match fields, line by line (`-`, `+` and `@@` lines kept as
/// they are, so the diff reads without its colours).
fn artifact_diffs(page: &mut Page, a: &ArtifactReport, _report: &Report) {
    if a.diffs.is_empty() {
        return;
    }
    page.raw("<h4>Diff of the must-match fields</h4>\n");
    for diff in &a.diffs {
        page.raw("<pre class=\"diff\">");
        for line in diff.lines() {
            page.raw(if line.starts_with("---") || line.starts_with("+++") {
                "<span class=\"file\">"
            } else if line.starts_with('-') {
                "<span class=\"del\">"
            } else if line.starts_with('+') {
                "<span class=\"add\">"
            } else if line.starts_with("@@") {
                "<span class=\"hunk\">"
            } else {
                "<span>"
            });
            page.text(line);
            page.raw("</span>\n");
        }
        page.raw("</pre>\n");
    }
}

/// What the page is and where it came from.
fn footer(page: &mut Page, report: &Report) {
    page.raw("<footer><p>Written by <code>tofu compare --html</code>: the same report as its ");
    page.raw("text and <code>--json</code> output");
    page.show(format_args!(
        ", from {} transcript(s). Colours only repeat what the symbols and words say.",
        report.runs.len()
    ));
    page.raw("</p></footer>\n</body>\n</html>\n");
}

#[cfg(test)]
mod tests {
    use super::{escape, escape_block};

    #[test]
    fn markup_and_quotes_become_character_references() {
        assert_eq!(
            escape("<script>alert(\"x\")</script>"),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"
        );
        assert_eq!(escape("a & b; &amp;"), "a &amp; b; &amp;amp;");
        // Either quote cannot close an attribute.
        assert_eq!(
            escape("\" onmouseover='x'"),
            "&quot; onmouseover=&#39;x&#39;"
        );
        // Plain text is borrowed unchanged, whatever its script.
        assert!(matches!(
            escape("plain text, tabs\tand ünïcödé ✓"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn control_and_bidi_characters_are_shown_not_obeyed() {
        assert_eq!(
            escape("a\u{1b}[31mred\u{0}\u{7f}\u{9b}b"),
            "a\\u{1b}[31mred\\u{0}\\u{7f}\\u{9b}b"
        );
        // A right-to-left override would show `exe.gpj` as `jpg.exe`.
        assert_eq!(escape("x\u{202e}gpj.exe"), "x\\u{202e}gpj.exe");
        // On one line a newline cannot start a fake line of its own.
        assert_eq!(escape("x\nverdict: AGREE\r\n"), "x\\nverdict: AGREE\\r\\n");
        // In a block, newlines are kept and a carriage return is still shown.
        assert_eq!(escape_block("-a\n+<b>\r\n"), "-a\n+&lt;b&gt;\\r\n");
    }

    #[test]
    fn escaped_text_holds_no_markup_character() {
        let all: String = (0..0x3000u32).filter_map(char::from_u32).collect();
        let escaped = escape(&all);
        assert!(!escaped.contains(['<', '>', '"', '\'']), "{escaped}");
        assert!(!escaped.chars().any(super::hidden));
        // Every `&` starts a reference this function wrote.
        for (i, _) in escaped.match_indices('&') {
            let rest = &escaped[i..];
            assert!(
                ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"]
                    .iter()
                    .any(|r| rest.starts_with(r)),
                "{}",
                &rest[..rest.len().min(8)]
            );
        }
    }
}
