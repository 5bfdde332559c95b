//! The trusted-keys store: other operators' public keys, added once by name, like ssh's
//! known_hosts. One text file, `NAME KEY` per line (KEY the base64 minisign public key), `#`
//! comments and blank lines allowed and kept when tofu rewrites it.
//!
//! Read strictly: a line that is not a comment or a well-formed entry, a name used twice or a
//! key under two names is an error naming the file and line, never skipped — a store that is
//! read "mostly" would trust less, or more, than its owner wrote. A store that group or others
//! may write is refused too (as ssh's StrictModes): whoever can write it chooses whose runs
//! count.

use std::path::{Path, PathBuf};

use minisign::PublicKey;

use crate::io::write_atomic;
use crate::key::{create_private_dir, key_id};

/// The longest operator name.
pub const MAX_NAME_LEN: usize = 64;

/// Checks an operator name: 1 to 64 of `A-Z a-z 0-9 . _ -`, so that it is one word in the
/// file and safe on any terminal.
pub fn check_name(name: &str) -> Result<(), String> {
    let safe = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if name.is_empty() || name.len() > MAX_NAME_LEN || !name.chars().all(safe) {
        return Err(format!(
            "{name:?} is not a usable name: use 1 to {MAX_NAME_LEN} letters, digits, '.', '_' \
             or '-'"
        ));
    }
    Ok(())
}

/// One trusted operator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedKey {
    /// The name the user gave (checked by [`check_name`]).
    pub name: String,
    /// The operator's public key.
    pub key: PublicKey,
}

impl TrustedKey {
    /// The key id as minisign prints it.
    pub fn key_id(&self) -> String {
        key_id(&self.key)
    }
}

/// A line of the file: kept as written when it is a comment or blank.
#[derive(Clone, Debug)]
enum Line {
    Other(String),
    Key(TrustedKey),
}

/// The store as read from its file (or empty when there is none).
#[derive(Clone, Debug, Default)]
pub struct TrustedKeys {
    lines: Vec<Line>,
}

/// Reading or changing the store failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrustStoreError {
    /// The file exists but cannot be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The store.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// A line is neither a comment nor a usable entry.
    #[error("{path}:{line}: {message}")]
    Malformed {
        /// The store.
        path: PathBuf,
        /// The 1-based line.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// Group or others may write the store, this machine's public key, or the directory
    /// that holds them (and so replace either).
    #[error("{path}: what you trust can be changed by group or others (mode {mode:o})")]
    Permissions {
        /// The file or directory.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A name that does not follow [`check_name`].
    #[error("{0}")]
    BadName(String),
    /// The name is taken.
    #[error("{name} is already trusted (key {key_id})")]
    NameTaken {
        /// The name.
        name: String,
        /// The key it names.
        key_id: String,
    },
    /// The key is already trusted under another name.
    #[error("key {key_id} is already trusted as {name}")]
    KeyTaken {
        /// The name it has.
        name: String,
        /// Its key id.
        key_id: String,
    },
    /// No key has that name.
    #[error("no trusted key is named {0}")]
    UnknownName(String),
    /// Writing the new store failed.
    #[error(transparent)]
    Write(#[from] crate::WriteError),
}

impl TrustedKeys {
    /// Reads the store at `path`; a missing file is an empty store, one that group or
    /// others may write is refused.
    pub fn load(path: &Path) -> Result<TrustedKeys, TrustStoreError> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                check_not_shared(path)?;
                TrustedKeys::parse(path, &text)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(TrustedKeys::default()),
            Err(source) => Err(TrustStoreError::Io {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Parses the text of the store at `path` (named in errors), strictly.
    pub fn parse(path: &Path, text: &str) -> Result<TrustedKeys, TrustStoreError> {
        let mut store = TrustedKeys::default();
        for (n, raw) in text.lines().enumerate() {
            let malformed = |message: String| TrustStoreError::Malformed {
                path: path.to_owned(),
                line: n + 1,
                message,
            };
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                store.lines.push(Line::Other(raw.to_owned()));
                continue;
            }
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [name, key] = fields[..] else {
                return Err(malformed(
                    "expected NAME KEY (a name, then a minisign public key in base64)".to_owned(),
                ));
            };
            check_name(name).map_err(malformed)?;
            let key = PublicKey::from_base64(key)
                .map_err(|e| malformed(format!("not a minisign public key: {e}")))?;
            store.add(name, key).map_err(|e| malformed(e.to_string()))?;
        }
        Ok(store)
    }

    /// The trusted keys, in the file's order.
    pub fn keys(&self) -> impl Iterator<Item = &TrustedKey> {
        self.lines.iter().filter_map(|l| match l {
            Line::Key(k) => Some(k),
            Line::Other(_) => None,
        })
    }

    /// The name `key` is trusted under, if any.
    pub fn name_of(&self, key: &PublicKey) -> Option<&str> {
        self.keys().find(|k| k.key == *key).map(|k| k.name.as_str())
    }

    /// Trusts `key` as `name`; refuses a bad name, a name already used and a key already
    /// trusted under any name.
    pub fn add(&mut self, name: &str, key: PublicKey) -> Result<(), TrustStoreError> {
        check_name(name).map_err(TrustStoreError::BadName)?;
        if let Some(taken) = self.keys().find(|k| k.name == name) {
            return Err(TrustStoreError::NameTaken {
                name: name.to_owned(),
                key_id: taken.key_id(),
            });
        }
        if let Some(taken) = self.name_of(&key) {
            return Err(TrustStoreError::KeyTaken {
                name: taken.to_owned(),
                key_id: key_id(&key),
            });
        }
        self.lines.push(Line::Key(TrustedKey {
            name: name.to_owned(),
            key,
        }));
        Ok(())
    }

    /// Stops trusting the key named `name`, and returns it.
    pub fn remove(&mut self, name: &str) -> Result<TrustedKey, TrustStoreError> {
        let at = self
            .lines
            .iter()
            .position(|l| matches!(l, Line::Key(k) if k.name == name))
            .ok_or_else(|| TrustStoreError::UnknownName(name.to_owned()))?;
        match self.lines.remove(at) {
            Line::Key(k) => Ok(k),
            Line::Other(_) => unreachable!("position() matched a key line"),
        }
    }

    /// The file's text: a header when the store is new, then every line as kept.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        if self.lines.is_empty() || matches!(self.lines.first(), Some(Line::Key(_))) {
            out.push_str(
                "# tofu's trusted keys: one operator per line, NAME then a minisign public key\n\
                 # (base64). Changed with `tofu trust add NAME KEY.pub` and `tofu trust remove NAME`.\n",
            );
        }
        for line in &self.lines {
            match line {
                Line::Other(text) => out.push_str(text),
                Line::Key(k) => {
                    out.push_str(&k.name);
                    out.push(' ');
                    out.push_str(&k.key.to_base64());
                }
            }
            out.push('\n');
        }
        out
    }

    /// Writes the store to `path` atomically (its directory created private if missing).
    pub fn save(&self, path: &Path) -> Result<(), TrustStoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir).map_err(|source| TrustStoreError::Io {
                path: dir.to_owned(),
                source,
            })?;
        }
        write_atomic(path, self.to_text().as_bytes(), true)?;
        Ok(())
    }
}

/// Refuses a file of trust (the store, this machine's public key) that group or others may
/// write, or whose directory they may write: either way they could put their own keys there.
#[cfg(unix)]
pub fn check_not_shared(path: &Path) -> Result<(), TrustStoreError> {
    use std::os::unix::fs::PermissionsExt;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    for p in std::iter::once(path).chain(dir) {
        let meta = std::fs::metadata(p).map_err(|source| TrustStoreError::Io {
            path: p.to_owned(),
            source,
        })?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o022 != 0 {
            return Err(TrustStoreError::Permissions {
                path: p.to_owned(),
                mode,
            });
        }
    }
    Ok(())
}

/// Refuses a file of trust that others may change: see the unix version; elsewhere the
/// platform's access control is not read.
#[cfg(not(unix))]
pub fn check_not_shared(_path: &Path) -> Result<(), TrustStoreError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::SigningKey;

    fn key() -> PublicKey {
        SigningKey::generate().unwrap().public().clone()
    }

    #[test]
    fn a_store_round_trips_with_its_comments() {
        let (a, b) = (key(), key());
        let mut store = TrustedKeys::default();
        store.add("alice", a.clone()).unwrap();
        store.add("bob.laptop_2-x", b.clone()).unwrap();
        let text = format!("# mine\n\n{}", store.to_text());
        let back = TrustedKeys::parse(Path::new("tk"), &text).unwrap();
        assert_eq!(back.name_of(&a), Some("alice"));
        assert_eq!(back.name_of(&b), Some("bob.laptop_2-x"));
        assert!(
            back.to_text()
                .starts_with("# mine\n\n# tofu's trusted keys")
        );
        let mut back = back;
        assert_eq!(back.remove("alice").unwrap().key, a);
        assert_eq!(back.keys().count(), 1);
        assert!(matches!(
            back.remove("alice"),
            Err(TrustStoreError::UnknownName(_))
        ));
    }

    #[test]
    fn names_and_keys_are_unique_and_names_safe() {
        let (a, b) = (key(), key());
        let mut store = TrustedKeys::default();
        store.add("alice", a.clone()).unwrap();
        assert!(matches!(
            store.add("alice", b.clone()),
            Err(TrustStoreError::NameTaken { .. })
        ));
        assert!(matches!(
            store.add("carol", a),
            Err(TrustStoreError::KeyTaken { .. })
        ));
        let long = "x".repeat(MAX_NAME_LEN + 1);
        for bad in ["", "a b", "a\u{1b}[2J", "ü", "a/b", long.as_str()] {
            assert!(
                matches!(store.add(bad, b.clone()), Err(TrustStoreError::BadName(_))),
                "{bad:?}"
            );
        }
        store.add(&"x".repeat(MAX_NAME_LEN), b).unwrap();
    }

    #[test]
    fn a_malformed_line_is_an_error_with_file_and_line() {
        let (k, other) = (key().to_base64(), key().to_base64());
        for (text, said) in [
            (format!("# c\nalice {k}\nbob\n"), "tk:3: expected NAME KEY"),
            (format!("alice {k} extra\n"), "tk:1: expected NAME KEY"),
            (
                "alice RWQnotakey\n".to_owned(),
                "tk:1: not a minisign public key",
            ),
            (
                format!("al/ice {k}\n"),
                "tk:1: \"al/ice\" is not a usable name",
            ),
            (format!("a {k}\nb {k}\n"), "tk:2: key "),
            (format!("a {k}\na {other}\n"), "tk:2: a is already trusted"),
        ] {
            let e = TrustedKeys::parse(Path::new("tk"), &text).unwrap_err();
            assert!(e.to_string().starts_with(said), "{e} / {said}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_store_others_may_write_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/trusted-keys");
        let mut store = TrustedKeys::default();
        store.add("alice", key()).unwrap();
        store.save(&path).unwrap();
        assert_eq!(TrustedKeys::load(&path).unwrap().keys().count(), 1);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(TrustedKeys::load(&path).unwrap().keys().count(), 1);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o664)).unwrap();
        assert!(matches!(
            TrustedKeys::load(&path),
            Err(TrustStoreError::Permissions { mode: 0o664, .. })
        ));
        // A directory others may write lets them replace the file.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let sub = path.parent().unwrap();
        std::fs::set_permissions(sub, std::fs::Permissions::from_mode(0o777)).unwrap();
        match TrustedKeys::load(&path) {
            Err(TrustStoreError::Permissions { path: at, mode }) => {
                assert_eq!((at.as_path(), mode), (sub, 0o777));
            }
            other => panic!("{other:?}"),
        }
        std::fs::set_permissions(sub, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(TrustedKeys::load(&path).unwrap().keys().count(), 1);
        assert_eq!(
            TrustedKeys::load(&dir.path().join("none"))
                .unwrap()
                .keys()
                .count(),
            0
        );
    }
}
