//! `tofu log`: the campaign log, checked, by campaign: every attempt with its outcome and
//! digests. A log whose chain or signatures do not hold is named entry by entry, and the
//! command fails.

use std::collections::BTreeMap;

use anyhow::anyhow;
use schemars::JsonSchema;
use serde::Serialize;
use tofu_record::campaign::{Attempt, ReadLog};
use tofu_record::document::Document;

use crate::campaign_log::{CampaignLog, key_lookup};
use crate::cli::LogArgs;
use crate::failure::Hint;
use crate::{ExitCode, Failure, output};

/// `tofu log --json`: the log, checked, by campaign.
#[derive(Serialize, JsonSchema)]
pub(crate) struct Listing {
    /// The log file read.
    log: String,
    /// How many entries it holds.
    entries: usize,
    /// What is wrong with the log, each naming an entry; empty when it holds.
    problems: Vec<String>,
    campaigns: Vec<Campaign>,
}

impl Document for Listing {
    const FORMAT: &'static str = "tofu-log-listing/1";
    const SCHEMA_FILE: &'static str = "log";
}

/// One host's attempts at one campaign.
#[derive(Serialize, JsonSchema)]
struct Campaign {
    /// The campaign: `plan:SHA256` of the plan file, or `targets:SHA256` of the targets.
    campaign: String,
    /// Its name for people: the plan's, or its first target.
    name: String,
    /// The host fingerprint.
    host: String,
    /// Its attempts, in the order they were made.
    attempts: Vec<Attempt>,
}

pub fn run(args: LogArgs) -> Result<ExitCode, Failure> {
    let path = match args.file {
        Some(file) if !file.is_file() => {
            return Err(anyhow!("--file {}: no such file", file.display()).into());
        }
        Some(file) => file,
        None => CampaignLog::default_path()?,
    };
    let keys = key_lookup(None)?;
    let log = CampaignLog::at(path.clone()).read(&keys)?;
    let listing = Listing {
        log: path.display().to_string(),
        entries: log.entries.len(),
        problems: log.problems.clone(),
        campaigns: campaigns(&log),
    };
    if args.json {
        crate::documents::print(&listing);
    } else {
        output::data(&render(&listing));
    }
    if listing.problems.is_empty() {
        return Ok(ExitCode::Success);
    }
    Err(anyhow!(
        "the campaign log {} does not hold: {}",
        listing.log,
        listing.problems.join("; ")
    ))
    .hint(
        "an entry was removed or changed, or signed by a key you do not trust; keep the file \
         as evidence, and compare will not count on it",
    )
}

/// Each host's attempts at each campaign, in the order the log first names them.
fn campaigns(log: &ReadLog) -> Vec<Campaign> {
    let mut seen: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut order = Vec::new();
    for entry in log.entries.iter().map(|l| &l.entry) {
        let key = (entry.campaign.clone(), entry.host.clone());
        if !seen.contains_key(&key) {
            order.push(key.clone());
        }
        seen.insert(key, entry.name.clone());
    }
    order
        .into_iter()
        .map(|(campaign, host)| Campaign {
            attempts: log.attempts(&campaign, &host),
            name: seen[&(campaign.clone(), host.clone())].clone(),
            campaign,
            host,
        })
        .collect()
}

/// A field of the log on one line: a tampered log must not be able to fake lines.
fn one_line(s: &str) -> String {
    s.replace('\n', "\\n").replace('\r', "\\r")
}

fn render(listing: &Listing) -> String {
    let mut out = format!(
        "campaign log {}: {} entries, {}\n",
        listing.log,
        listing.entries,
        if listing.problems.is_empty() {
            "every signature and link of the chain holds".to_owned()
        } else {
            format!("{} PROBLEM(S)", listing.problems.len())
        }
    );
    for problem in &listing.problems {
        out.push_str(&format!("  ! {}\n", one_line(problem)));
    }
    for c in &listing.campaigns {
        let short = |s: &str, n: usize| s.chars().take(n).collect::<String>();
        out.push_str(&format!(
            "\n{} ({}…, host {}…): {} attempt(s)\n",
            one_line(&c.name),
            short(&c.campaign, 20),
            short(&c.host, 12),
            c.attempts.len()
        ));
        for a in &c.attempts {
            let artifacts: Vec<String> = a
                .artifacts
                .iter()
                .map(|x| match (&x.sha256, &x.error) {
                    (Some(sha), _) => format!("{} sha256:{}", one_line(&x.id), short(sha, 12)),
                    (None, Some(code)) => format!("{} FAILED({})", one_line(&x.id), one_line(code)),
                    (None, None) => one_line(&x.id),
                })
                .collect();
            out.push_str(&format!(
                "  {}  run {}  {:<12} via {}  {}\n",
                a.started_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                one_line(&a.run_id),
                a.outcome.as_str(),
                one_line(&a.via),
                artifacts.join(", ")
            ));
        }
    }
    out
}
