//! This host's campaign log, `${XDG_DATA_HOME:-~/.local/share}/tofu/campaign.log`: one
//! signed, hash-chained line per event of every `tofu fetch` (begun, resumed, ended), so that
//! no attempt can be left out of a comparison unseen (see `tofu_record::campaign`). Lines are
//! appended under an exclusive lock on the file, so runs at the same time never interleave or
//! share a place in the chain.

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, anyhow};
use chrono::Utc;
use tofu_record::Transcript;
use tofu_record::campaign::{
    Attempt, GENESIS, LOG_FORMAT, LogEntry, LogEvent, LogLine, MAX_LOG, ReadLog, trusted_comment,
};
use tofu_record::campaign::{AttemptArtifact, AttemptOutcome, CampaignRecord};
use tofu_record::key::{PublicKey, SigningKey};

use crate::Failure;
use crate::failure::Hint;

/// The log's file name in the data directory.
pub const FILE: &str = "campaign.log";

/// What a run appends, beyond the chain's own fields.
pub struct Event<'a> {
    pub run_id: &'a str,
    pub host: &'a str,
    pub campaign: &'a str,
    pub name: &'a str,
    pub via: &'a str,
    pub event: LogEvent,
    pub outcome: Option<tofu_record::campaign::AttemptOutcome>,
    pub artifacts: Vec<tofu_record::campaign::AttemptArtifact>,
}

/// The log at `path`.
pub struct CampaignLog {
    path: PathBuf,
}

impl CampaignLog {
    /// This host's log.
    pub fn default_path() -> Result<PathBuf, crate::Failure> {
        Ok(crate::paths::data_dir()?.join(FILE))
    }

    pub fn at(path: PathBuf) -> CampaignLog {
        CampaignLog { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `event`, signed with `key`, after the last line; returns the new entry's
    /// `seq` and the SHA-256 of its line.
    pub fn append(&self, key: &SigningKey, event: Event<'_>) -> anyhow::Result<(u64, String)> {
        if let Some(dir) = self.path.parent() {
            tofu_record::key::create_private_dir(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&self.path)
            .with_context(|| format!("cannot open {}", self.path.display()))?;
        file.lock()
            .with_context(|| format!("cannot lock {}", self.path.display()))?;
        let (seq, prev) = last_line(&mut file, &self.path)?;
        let entry = LogEntry {
            format: LOG_FORMAT.to_owned(),
            seq,
            prev,
            at: Utc::now(),
            host: event.host.to_owned(),
            run_id: event.run_id.to_owned(),
            campaign: event.campaign.to_owned(),
            name: event.name.to_owned(),
            via: event.via.to_owned(),
            event: event.event,
            outcome: event.outcome,
            artifacts: event.artifacts,
            key_id: key.key_id(),
        };
        let text = serde_json::to_string(&entry).context("cannot serialise a log entry")?;
        let signature =
            tofu_record::sign::sign_bytes(key, text.as_bytes(), &trusted_comment(&entry))?;
        let line = serde_json::to_string(&LogLine {
            entry: text,
            signature,
        })
        .context("cannot serialise a log entry")?;
        let mut bytes = line.clone().into_bytes();
        bytes.push(b'\n');
        file.write_all(&bytes)
            .and_then(|()| file.sync_data())
            .with_context(|| format!("cannot append to {}", self.path.display()))?;
        Ok((seq, tofu_record::digest::sha256_hex(line.as_bytes())))
    }

    /// Reads and checks the log, each entry's signature with the key `key` finds by key id;
    /// an empty log when there is none yet.
    pub fn read(&self, key: &KeyLookup) -> anyhow::Result<ReadLog> {
        let bytes = match std::fs::metadata(&self.path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ReadLog::default()),
            Ok(m) if m.len() > MAX_LOG => {
                return Err(anyhow!(
                    "{} is larger than {} MiB",
                    self.path.display(),
                    MAX_LOG >> 20
                ));
            }
            _ => std::fs::read(&self.path)
                .with_context(|| format!("cannot read {}", self.path.display()))?,
        };
        Ok(ReadLog::check(&bytes, key))
    }
}

/// The `seq` the next entry takes and the `prev` it chains to: after the last line of the
/// file (read under the lock). A last line that does not parse still takes its place: the
/// next entry counts it, and reading the log names it.
fn last_line(file: &mut std::fs::File, path: &Path) -> anyhow::Result<(u64, String)> {
    let length = file.metadata()?.len();
    if length > MAX_LOG {
        return Err(anyhow!(
            "{} is larger than {} MiB; move it aside to start a new log",
            path.display(),
            MAX_LOG >> 20
        ));
    }
    file.rewind()?;
    let mut bytes = Vec::with_capacity(usize::try_from(length).unwrap_or(0));
    file.read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let lines: Vec<&[u8]> = bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let Some(last) = lines.last() else {
        return Ok((1, GENESIS.to_owned()));
    };
    let seq = serde_json::from_slice::<LogLine>(last)
        .ok()
        .and_then(|l| serde_json::from_str::<LogEntry>(&l.entry).ok())
        .map_or(lines.len() as u64, |e| e.seq);
    Ok((seq + 1, tofu_record::digest::sha256_hex(last)))
}

/// The keys a log's entries may be signed with: this machine's, those the user trusts,
/// and `extra` (the run's own `--key`).
pub fn key_lookup(
    extra: Option<&PublicKey>,
) -> Result<impl Fn(&str) -> Option<PublicKey> + use<>, Failure> {
    let trust = crate::commands::trust_for_log()?;
    let extra = extra.cloned();
    Ok(move |id: &str| {
        extra
            .iter()
            .find(|k| tofu_record::key::key_id(k) == id)
            .cloned()
            .or_else(|| trust.key_by_id(id))
    })
}

/// The earlier attempts host `host` made at `campaign` in `log`, without `run_id`'s own.
pub fn earlier(log: &ReadLog, campaign: &str, host: &str, run_id: &str) -> Vec<Attempt> {
    log.attempts(campaign, host)
        .into_iter()
        .filter(|a| a.run_id != run_id)
        .collect()
}

/// Finds the public key of a key id, for checking the log's entries.
type KeyLookup = dyn Fn(&str) -> Option<PublicKey>;

/// What a run's entries say of it beyond their event.
pub struct Run {
    pub run_id: String,
    pub host: String,
    pub campaign: String,
    pub name: String,
    pub via: String,
}

/// One run's entries in this host's log: begun (or resumed) before anything is fetched,
/// finished with its outcome and digests before its transcript is written.
pub struct RunLog {
    log: CampaignLog,
    key: Arc<SigningKey>,
    /// The keys the log's entries are checked with, found before the run fetches anything.
    keys: Box<KeyLookup>,
    run: Run,
}

/// What to do when the log cannot be written.
const HINT: &str = "tofu logs every attempt; check that its data directory is writable";

impl RunLog {
    /// Appends the run's `started` (or, continued, `resumed`) entry; a run that cannot be
    /// logged does not start.
    pub fn begin(key: Arc<SigningKey>, run: Run, resumed: bool) -> Result<RunLog, Failure> {
        let keys = Box::new(key_lookup(Some(key.public()))?);
        let log = RunLog {
            log: CampaignLog::at(CampaignLog::default_path()?),
            key,
            keys,
            run,
        };
        let event = if resumed {
            LogEvent::Resumed
        } else {
            LogEvent::Started
        };
        log.append(event, None, Vec::new()).hint(HINT)?;
        Ok(log)
    }

    fn append(
        &self,
        event: LogEvent,
        outcome: Option<AttemptOutcome>,
        artifacts: Vec<AttemptArtifact>,
    ) -> anyhow::Result<(u64, String)> {
        let run = &self.run;
        let event = Event {
            run_id: &run.run_id,
            host: &run.host,
            campaign: &run.campaign,
            name: &run.name,
            via: &run.via,
            event,
            outcome,
            artifacts,
        };
        self.log.append(&self.key, event)
    }

    /// The run stopped before its transcript: said in the log (best effort: the error that
    /// stopped it is what the user must see).
    pub fn ended_early(&self) {
        if let Err(e) = self.append(LogEvent::Finished, Some(AttemptOutcome::Error), Vec::new()) {
            crate::output::warn(&format!("cannot log the end of this run: {e:#}"));
        }
    }

    /// Appends the run's `finished` entry and returns what the transcript records: the
    /// log's head, and the host's earlier attempts at the same campaign.
    pub fn finish(&self, transcript: &Transcript) -> Result<CampaignRecord, Failure> {
        let artifacts: Vec<AttemptArtifact> = transcript
            .artifacts
            .iter()
            .map(|a| AttemptArtifact {
                id: a.id.clone(),
                sha256: a.ok_content().map(|c| c.sha256.clone()),
                error: a.error.as_ref().map(|e| e.code.as_str().to_owned()),
            })
            .collect();
        let outcome = if transcript.artifacts.iter().any(|a| a.error.is_some()) {
            AttemptOutcome::Failed
        } else if transcript.artifacts.iter().any(crate::vouch::not_vouched) {
            AttemptOutcome::NotVouched
        } else {
            AttemptOutcome::Complete
        };
        let hint = format!("{HINT}, then run the same command with --resume");
        let (log_seq, log_head) = self
            .append(LogEvent::Finished, Some(outcome), artifacts)
            .hint(hint.clone())?;
        let read = self.log.read(&self.keys).hint(hint)?;
        for problem in &read.problems {
            crate::output::warn(&format!(
                "campaign log {}: {problem}",
                self.log.path().display()
            ));
        }
        let run = &self.run;
        Ok(CampaignRecord {
            campaign: run.campaign.clone(),
            log_seq,
            log_head,
            attempts: earlier(&read, &run.campaign, &run.host, &run.run_id),
        })
    }
}
