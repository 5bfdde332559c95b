//! The journal of a run in progress: `RUN.json.resume`, beside the transcript the run will
//! become. It holds what an interrupted `tofu fetch` (Ctrl-C, a kill, a crash, a closed lid)
//! had observed — the run id, the exit lookup, every artifact done, and a checkpoint of the
//! body being kept — so `tofu fetch --resume` with the same arguments continues the same run
//! instead of starting over. It is never a transcript and never looks like one.
//!
//! The journal is signed with the run's own key and checked on resume: what it says ends up
//! in a signed transcript, so a journal someone else wrote must not be able to add an
//! artifact the run never fetched. It names no URL (a signed URL is a secret) and no
//! credentials; the command is recorded only as a digest, to refuse a resume with other
//! arguments.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, anyhow};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tofu_fetch::{Partial, TooLarge};
use tofu_record::key::SigningKey;
use tofu_record::{Artifact, ExitEvidence, Interruption, io, sign};

use crate::failure::Hint;
use crate::vouch::Unheld;
use crate::{Failure, output};

/// The journal format.
const FORMAT: &str = "tofu-resume/1";

/// The largest journal read back: a run of many artifacts, each with its records.
const MAX_JOURNAL: u64 = 256 << 20;

/// What the interrupted run had observed.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    format: String,
    /// The run's id and start: the resumed run keeps both.
    pub run_id: String,
    pub started_at: DateTime<Utc>,
    /// SHA-256 of the arguments that decide what the run fetches and how.
    command: String,
    /// The first invocation's exit lookup.
    pub exit: Option<ExitEvidence>,
    /// Earlier interruptions, each with its continuation's exit lookup.
    pub interruptions: Vec<Interruption>,
    /// The artifacts done, in order.
    pub done: Vec<Artifact>,
    /// The body being kept when the journal was last saved, and its artifact's index.
    pub partial: Option<(usize, Partial)>,
    /// When the journal was last saved.
    pub saved_at: DateTime<Utc>,
    /// The bodies held for other artifacts to be checked with, by artifact id: the SHA-256
    /// of the file that holds each beside the journal, or null for one too large to hold.
    #[serde(default)]
    pub held: BTreeMap<String, Option<String>>,
    /// The bodies that were held for others but could not be kept beside the journal: a
    /// resumed run cannot check with them, and says so.
    #[serde(default)]
    pub not_kept: BTreeSet<String>,
}

/// The file on disk: the state's exact bytes and their minisign signature.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Signed {
    state: String,
    signature: String,
}

/// The journal of this run, saved after every change.
pub struct Journal {
    path: PathBuf,
    key: std::sync::Arc<SigningKey>,
    state: Mutex<State>,
    /// A save failed once already: said once, not on every checkpoint.
    warned: std::sync::atomic::AtomicBool,
}

/// The journal path of the transcript at `output`.
pub fn path_for(output: &Path) -> PathBuf {
    let mut s = output.as_os_str().to_owned();
    s.push(".resume");
    PathBuf::from(s)
}

fn trusted_comment(run_id: &str) -> String {
    format!("{FORMAT} run:{run_id}")
}

impl Journal {
    /// A fresh journal for a new run; nothing is written until [`Journal::save`].
    pub fn new(
        path: PathBuf,
        key: std::sync::Arc<SigningKey>,
        command: String,
        run_id: String,
    ) -> Journal {
        let now = Utc::now();
        Journal::with_state(
            path,
            key,
            State {
                format: FORMAT.to_owned(),
                run_id,
                started_at: now,
                command,
                exit: None,
                interruptions: Vec::new(),
                done: Vec::new(),
                partial: None,
                saved_at: now,
                held: BTreeMap::new(),
                not_kept: BTreeSet::new(),
            },
        )
    }

    fn with_state(path: PathBuf, key: std::sync::Arc<SigningKey>, state: State) -> Journal {
        Journal {
            path,
            key,
            state: Mutex::new(state),
            warned: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The journal an interrupted run left at `path`, checked: signed by this run's key for
    /// the run it names, and made by the same command.
    pub fn resume(
        path: PathBuf,
        key: std::sync::Arc<SigningKey>,
        command: &str,
    ) -> Result<Journal, Failure> {
        let state = read(&path, &key, command)?;
        Ok(Journal::with_state(path, key, state))
    }

    /// A copy of the state.
    pub fn state(&self) -> State {
        lock(&self.state).clone()
    }

    /// Changes the state and saves it.
    pub fn update(&self, change: impl FnOnce(&mut State)) {
        let mut state = lock(&self.state);
        change(&mut state);
        state.saved_at = Utc::now();
        if let Err(e) = self.write(&state)
            && !self.warned.swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            output::warn(&format!(
                "cannot save the journal {}: {e:#}; if this run is interrupted, it cannot be \
                 resumed",
                self.path.display()
            ));
        }
    }

    fn write(&self, state: &State) -> anyhow::Result<()> {
        let text = serde_json::to_string(state).context("cannot serialise the journal")?;
        let signature =
            sign::sign_bytes(&self.key, text.as_bytes(), &trusted_comment(&state.run_id))?;
        let signed = serde_json::to_vec(&Signed {
            state: text,
            signature,
        })
        .context("cannot serialise the journal")?;
        io::write_atomic(&self.path, &signed, true)?;
        Ok(())
    }

    /// Where the bodies held for others are kept while the run lasts.
    fn held_dir(&self) -> PathBuf {
        let mut s = self.path.as_os_str().to_owned();
        s.push(".held");
        PathBuf::from(s)
    }

    /// Marks the artifact done, with the body held for others (if any), which goes in a
    /// file of its own beside the journal.
    pub fn done(&self, artifact: Artifact, held: Option<Result<&[u8], TooLarge>>) {
        // The entry of `held`: the digest of the file kept, or null for one too large; or
        // `Err` for a body that could not be kept.
        let entry = held.map(|held| match held {
            Ok(bytes) => self.keep_held(bytes).map(Some).ok_or(()),
            Err(TooLarge) => Ok(None),
        });
        self.update(|s| {
            match entry {
                Some(Ok(digest)) => {
                    s.held.insert(artifact.id.clone(), digest);
                }
                Some(Err(())) => {
                    s.not_kept.insert(artifact.id.clone());
                }
                None => {}
            }
            s.done.push(artifact);
            s.partial = None;
        });
    }

    /// Writes a held body beside the journal; its SHA-256, or None when it cannot be kept
    /// (a resumed run then cannot check with it, and says so).
    fn keep_held(&self, bytes: &[u8]) -> Option<String> {
        let sha256 = tofu_record::digest::sha256_hex(bytes);
        let dir = self.held_dir();
        let written = std::fs::create_dir_all(&dir)
            .map_err(anyhow::Error::from)
            .and_then(|()| Ok(io::write_atomic(&dir.join(&sha256), bytes, true)?));
        match written {
            Ok(()) => Some(sha256),
            Err(e) => {
                output::warn(&format!(
                    "cannot keep a body for checks beside the journal in {}: {e:#}; if this \
                     run is interrupted, the resumed run cannot check with it",
                    dir.display()
                ));
                None
            }
        }
    }

    /// The bodies an interrupted run held: each read back and checked against the digest
    /// the signed journal names; one that is gone or changed, or was never kept, is
    /// [`Unheld::Lost`].
    pub fn held(&self) -> BTreeMap<String, Result<Vec<u8>, Unheld>> {
        let dir = self.held_dir();
        let state = lock(&self.state);
        let kept = state.held.iter().map(|(id, sha256)| {
            let Some(sha256) = sha256 else {
                return (id.clone(), Err(Unheld::TooLarge));
            };
            let bytes = std::fs::read(dir.join(sha256))
                .ok()
                .filter(|bytes| tofu_record::digest::sha256_hex(bytes) == *sha256);
            (id.clone(), bytes.ok_or(Unheld::Lost))
        });
        let lost = state
            .not_kept
            .iter()
            .map(|id| (id.clone(), Err(Unheld::Lost)));
        kept.chain(lost).collect()
    }

    /// The run is written: its journal goes.
    pub fn remove(&self) {
        if let Err(e) = std::fs::remove_dir_all(self.held_dir())
            && e.kind() != std::io::ErrorKind::NotFound
        {
            output::warn(&format!("cannot remove {}: {e}", self.held_dir().display()));
        }
        if let Err(e) = std::fs::remove_file(&self.path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            output::warn(&format!(
                "cannot remove the journal {}: {e}",
                self.path.display()
            ));
        }
    }
}

impl tofu_fetch::Checkpoints for Journal {
    fn save(&self, partial: &Partial) {
        let partial = partial.clone();
        self.update(|state| state.partial = Some((state.done.len(), partial)));
    }
}

/// Reads and checks the journal at `path`.
fn read(path: &Path, key: &SigningKey, command: &str) -> Result<State, Failure> {
    let hint = "run the same `tofu fetch` command without --resume to start a new run";
    let bytes = match std::fs::metadata(path) {
        Ok(m) if m.len() > MAX_JOURNAL => {
            return Err(anyhow!(
                "{}: the journal is larger than 256 MiB",
                path.display()
            ))
            .hint(hint);
        }
        Ok(_) => std::fs::read(path),
        Err(e) => Err(e),
    };
    let bytes = match bytes {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(anyhow!(
                "--resume: no interrupted run to continue ({} does not exist)",
                path.display()
            ))
            .hint(hint);
        }
        Err(e) => return Err(anyhow!("cannot read {}: {e}", path.display()).into()),
    };
    let signed: Signed = serde_json::from_slice(&bytes)
        .map_err(|e| anyhow!("{} is not a tofu journal: {e}", path.display()))
        .hint(hint)?;
    let state: State = serde_json::from_str(&signed.state)
        .map_err(|e| anyhow!("{} is not a tofu journal: {e}", path.display()))
        .hint(hint)?;
    sign::verify_bytes(
        key.public(),
        signed.state.as_bytes(),
        &signed.signature,
        &trusted_comment(&state.run_id),
    )
    .map_err(|e| {
        anyhow!(
            "{}: the journal's signature does not verify with this machine's key ({e}); it \
             was not written by this tofu, or was changed since",
            path.display()
        )
    })
    .hint(hint)?;
    if state.format != FORMAT {
        return Err(anyhow!(
            "{}: unknown journal format {:?}",
            path.display(),
            state.format
        ))
        .hint(hint);
    }
    if state.command != command {
        return Err(anyhow!(
            "--resume: the interrupted run at {} was made with other targets, plan, \
             transport or --keep directory",
            path.display()
        ))
        .hint(
            "give the same arguments as the interrupted run, or start a new run without --resume",
        );
    }
    Ok(state)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// An artifact done, as the journal keeps it (what is in it does not matter here).
    fn artifact(id: &str) -> Artifact {
        serde_json::from_value(serde_json::json!({
            "id": id, "content": null, "fetches": [], "openpgp": null, "oci": null,
            "homebrew": null, "error": {"code": "connect", "message": "refused"},
        }))
        .unwrap()
    }

    fn journal(dir: &Path) -> Journal {
        let key = Arc::new(SigningKey::generate().unwrap());
        Journal::new(
            path_for(&dir.join("run.json")),
            key,
            "command".to_owned(),
            "00112233445566778899aabbccddeeff".to_owned(),
        )
    }

    /// A body held for others comes back from the journal's files only as it was; one too
    /// large, one that could not be kept and one changed since each say why they are not.
    #[test]
    fn held_bodies_come_back_as_kept_or_say_why_not() {
        let dir = tempfile::tempdir().unwrap();
        let journal = journal(dir.path());
        journal.done(artifact("sums"), Some(Ok(b"abc  file.iso\n")));
        journal.done(artifact("big"), Some(Err(TooLarge)));
        journal.done(artifact("iso"), None);
        let held = journal.held();
        assert_eq!(held["sums"], Ok(b"abc  file.iso\n".to_vec()));
        assert_eq!(held["big"], Err(Unheld::TooLarge));
        assert!(!held.contains_key("iso"));

        // Changed beside the journal: not trusted, and not taken for too large.
        let file = journal
            .held_dir()
            .join(tofu_record::digest::sha256_hex(b"abc  file.iso\n"));
        std::fs::write(&file, b"abd  file.iso\n").unwrap();
        assert_eq!(journal.held()["sums"], Err(Unheld::Lost));
    }

    /// Where the held bodies' directory cannot be made, the body is recorded as not kept, so
    /// a resumed run says so instead of calling it too large.
    #[test]
    fn a_body_that_cannot_be_kept_is_lost_not_too_large() {
        let dir = tempfile::tempdir().unwrap();
        let journal = journal(dir.path());
        std::fs::write(journal.held_dir(), b"a file where the directory should be").unwrap();
        journal.done(artifact("sig"), Some(Ok(b"signature")));
        assert_eq!(journal.state().not_kept, BTreeSet::from(["sig".to_owned()]));
        assert!(journal.state().held.is_empty());
        assert_eq!(journal.held()["sig"], Err(Unheld::Lost));
        // The signed journal on disk says it too.
        let resumed = Journal::resume(journal.path.clone(), Arc::clone(&journal.key), "command")
            .unwrap_or_else(|f| panic!("{}", f.message()));
        assert_eq!(resumed.held()["sig"], Err(Unheld::Lost));
    }
}
