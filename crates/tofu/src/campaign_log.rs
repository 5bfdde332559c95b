//! This host's campaign log, `${XDG_DATA_HOME:-~/.local/share}/tofu/campaign.log`: one
//! signed, hash-chained line per event of every `tofu fetch` (begun, resumed, ended), so that
//! no attempt can be left out of a comparison unseen (see `tofu_record::campaign`). Lines are
//! appended under an exclusive lock on the file, so runs at the same time never interleave or
//! share a place in the chain.

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use chrono::Utc;
use tofu_record::campaign::{
    Attempt, GENESIS, LOG_FORMAT, LogEntry, LogEvent, LogLine, MAX_LOG, ReadLog, trusted_comment,
};
use tofu_record::key::SigningKey;

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
    pub fn read(
        &self,
        key: &dyn Fn(&str) -> Option<tofu_record::key::PublicKey>,
    ) -> anyhow::Result<ReadLog> {
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
    extra: Option<&tofu_record::key::PublicKey>,
) -> Result<impl Fn(&str) -> Option<tofu_record::key::PublicKey> + use<>, crate::Failure> {
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
