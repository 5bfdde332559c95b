//! The campaign log: every `tofu fetch` a host makes — complete, failed or interrupted —
//! appends entries to one append-only file in its data directory, each signed with the run's
//! key and chained to the one before by its SHA-256. A transcript records where the log stood
//! when its run ended and the earlier attempts the host made for the same targets, so that a
//! run left out of a comparison stays visible: 3TOFU's one remaining trick, running until
//! three runs agree and forgetting the one that did not, is named.
//!
//! A line of the log is `{"entry": "<the entry's JSON>", "signature": "<minisign>"}`; the
//! entry's `prev` is the SHA-256 of the previous line's bytes (64 zeros for the first).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use minisign::PublicKey;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The log format.
pub const LOG_FORMAT: &str = "tofu-log/1";

/// The `prev` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The largest log read; a longer one is a problem named, never read in part silently.
pub const MAX_LOG: u64 = 64 << 20;

/// One entry of the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogEntry {
    /// Always [`LOG_FORMAT`].
    pub format: String,
    /// Its place in the log, from 1.
    pub seq: u64,
    /// SHA-256 of the previous line, [`GENESIS`] for the first.
    pub prev: String,
    /// When it was written.
    pub at: DateTime<Utc>,
    /// The host fingerprint of the machine that wrote it.
    pub host: String,
    /// The run it is of.
    pub run_id: String,
    /// What the run fetched: `plan:<sha256 of the plan>` or `targets:<sha256 of the target
    /// list>`; attempts at the same campaign share it.
    pub campaign: String,
    /// The plan's name, or the first target, for people.
    pub name: String,
    /// `--via`, redacted.
    pub via: String,
    /// What happened.
    pub event: LogEvent,
    /// For `finished`: how the run ended.
    pub outcome: Option<AttemptOutcome>,
    /// For `finished`: each artifact's SHA-256, or its error code.
    pub artifacts: Vec<AttemptArtifact>,
    /// The key that signed the line.
    pub key_id: String,
}

/// What an entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LogEvent {
    /// A run began.
    Started,
    /// An interrupted run continued (`--resume`).
    Resumed,
    /// A run ended, with or without its transcript.
    Finished,
}

/// How an attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AttemptOutcome {
    /// Every artifact fetched and vouched for.
    Complete,
    /// Some artifact failed.
    Failed,
    /// Every artifact fetched, but what should vouch for one did not.
    NotVouched,
    /// The run stopped with an error before its transcript (it may be resumed).
    Error,
    /// Begun and never finished: killed, crashed, or still running.
    Interrupted,
}

impl AttemptOutcome {
    /// As the log spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptOutcome::Complete => "complete",
            AttemptOutcome::Failed => "failed",
            AttemptOutcome::NotVouched => "not-vouched",
            AttemptOutcome::Error => "error",
            AttemptOutcome::Interrupted => "interrupted",
        }
    }
}

/// One artifact of an attempt: its content's SHA-256, or the code of its error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttemptArtifact {
    pub id: String,
    pub sha256: Option<String>,
    pub error: Option<String>,
}

/// One line of the log file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogLine {
    /// The entry's JSON, exactly as signed.
    pub entry: String,
    /// Its minisign signature, with the trusted comment [`trusted_comment`].
    pub signature: String,
}

/// The trusted comment an entry's signature carries.
pub fn trusted_comment(entry: &LogEntry) -> String {
    format!("{LOG_FORMAT} seq:{} run:{}", entry.seq, entry.run_id)
}

/// What a transcript records of the campaign log: where it stood when the run ended, and
/// the host's earlier attempts at the same campaign.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignRecord {
    /// `plan:<sha256>` or `targets:<sha256>`.
    pub campaign: String,
    /// The `seq` of this run's `finished` entry.
    pub log_seq: u64,
    /// SHA-256 of that line: the log's head when the run ended.
    pub log_head: String,
    /// Every earlier attempt this host's log holds for the same campaign, oldest first (this
    /// run excluded).
    pub attempts: Vec<Attempt>,
}

/// One attempt at a campaign, as the log tells it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Attempt {
    pub run_id: String,
    /// When it began.
    pub started_at: DateTime<Utc>,
    /// `--via`, redacted.
    pub via: String,
    /// How it ended (its last `finished` entry), or `interrupted`.
    pub outcome: AttemptOutcome,
    /// What its last `finished` entry recorded.
    pub artifacts: Vec<AttemptArtifact>,
}

/// An entry read from the log.
#[derive(Clone, Debug)]
pub struct Logged {
    pub entry: LogEntry,
    /// SHA-256 of its line.
    pub hash: String,
    /// Its signature verified with a key known: only such an entry is evidence of an
    /// attempt.
    pub verified: bool,
}

/// A log read and checked.
#[derive(Clone, Debug, Default)]
pub struct ReadLog {
    /// The entries that parsed, in file order.
    pub entries: Vec<Logged>,
    /// What is wrong with it, each naming the entry: a line that does not parse, a
    /// signature that does not verify, a chain that breaks (an entry removed or changed).
    pub problems: Vec<String>,
}

impl ReadLog {
    /// Reads `bytes` as a log, checking each line's signature with the key its entry names
    /// (`key` looks it up; None for a key not known) and the chain from line to line.
    pub fn check(bytes: &[u8], key: &dyn Fn(&str) -> Option<PublicKey>) -> ReadLog {
        let mut log = ReadLog::default();
        let mut prev = GENESIS.to_owned();
        for (index, raw) in bytes.split(|b| *b == b'\n').enumerate() {
            if raw.is_empty() {
                continue;
            }
            let place = index as u64 + 1;
            let hash = crate::digest::sha256_hex(raw);
            let Some((line, entry)) = parse_line(raw) else {
                log.problems
                    .push(format!("line {place} of the log is not a log entry"));
                prev = hash;
                continue;
            };
            let expected = log.entries.last().map_or(1, |l| l.entry.seq + 1);
            if entry.seq != expected || entry.prev != prev {
                log.problems.push(format!(
                    "entry {} does not follow entry {}: an entry before it was removed or \
                     changed",
                    entry.seq,
                    expected - 1
                ));
            }
            let mut verified = false;
            match key(&entry.key_id) {
                None => log.problems.push(format!(
                    "entry {} is signed by key {}, which is neither this machine's nor one \
                     you trust",
                    entry.seq, entry.key_id
                )),
                Some(public) => {
                    let trusted = trusted_comment(&entry);
                    if let Err(e) = crate::sign::verify_bytes(
                        &public,
                        line.entry.as_bytes(),
                        &line.signature,
                        &trusted,
                    ) {
                        log.problems.push(format!(
                            "entry {} was changed: its signature does not verify ({e})",
                            entry.seq
                        ));
                    } else {
                        verified = true;
                    }
                }
            }
            prev = hash.clone();
            log.entries.push(Logged {
                entry,
                hash,
                verified,
            });
        }
        log
    }

    /// The attempts host `host` made at `campaign`, oldest first, from the entries whose
    /// signatures verified.
    pub fn attempts(&self, campaign: &str, host: &str) -> Vec<Attempt> {
        let mut by_run: BTreeMap<&str, Attempt> = BTreeMap::new();
        let mut order = Vec::new();
        let ours = |l: &&Logged| l.verified && l.entry.campaign == campaign && l.entry.host == host;
        for entry in self.entries.iter().filter(ours).map(|l| &l.entry) {
            let attempt = by_run.entry(&entry.run_id).or_insert_with(|| {
                order.push(entry.run_id.clone());
                Attempt {
                    run_id: entry.run_id.clone(),
                    started_at: entry.at,
                    via: entry.via.clone(),
                    outcome: AttemptOutcome::Interrupted,
                    artifacts: Vec::new(),
                }
            });
            match entry.event {
                LogEvent::Started | LogEvent::Resumed => {
                    attempt.outcome = AttemptOutcome::Interrupted;
                }
                LogEvent::Finished => {
                    attempt.outcome = entry.outcome.unwrap_or(AttemptOutcome::Error);
                    attempt.artifacts = entry.artifacts.clone();
                }
            }
        }
        order
            .iter()
            .filter_map(|id| by_run.remove(id.as_str()))
            .collect()
    }

    /// The SHA-256 of entry `seq`'s line, if the log holds it.
    pub fn hash_of(&self, seq: u64) -> Option<&str> {
        self.entries
            .iter()
            .find(|l| l.entry.seq == seq)
            .map(|l| l.hash.as_str())
    }
}

fn parse_line(raw: &[u8]) -> Option<(LogLine, LogEntry)> {
    let line: LogLine = serde_json::from_slice(raw).ok()?;
    let entry: LogEntry = serde_json::from_str(&line.entry).ok()?;
    (entry.format == LOG_FORMAT).then_some((line, entry))
}
