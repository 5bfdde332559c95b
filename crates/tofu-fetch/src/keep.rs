//! `--keep DIR`: payloads written under a temporary name and renamed only once their
//! artifact is complete and verified, so no partial, failed or disputed file ever looks like
//! a finished download. The name comes from the URL the user asked for (never from where a
//! server redirected it, nor from a server-sent name such as Content-Disposition), made
//! safe; an existing file is never replaced: the payload takes the next free `NAME.N`, and
//! the transcript's `kept_as` says which.

use std::io::Write;
use std::path::{Path, PathBuf};

use url::Url;

use crate::error::FetchError;

/// A payload being written into the keep directory.
pub(crate) struct Keeper {
    dir: PathBuf,
    name: String,
    file: tempfile::NamedTempFile,
}

impl Keeper {
    /// Starts keeping the payload of `asked`, the URL the user gave: a redirect must not
    /// choose the name, or a server could steer it onto another artifact's.
    pub(crate) fn create(dir: &Path, asked: &Url) -> Result<Keeper, FetchError> {
        let name = safe_file_name(asked);
        let file = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".part")
            .tempfile_in(dir)
            .map_err(|source| FetchError::Keep {
                dir: dir.to_owned(),
                source,
            })?;
        Ok(Keeper {
            dir: dir.to_owned(),
            name,
            file,
        })
    }

    /// Continues the payload an interrupted run left in `dir` under the temporary name
    /// `file` (one [`Keeper::create`] made: `.NAME.XXXXXX.part`, nothing else is opened), for
    /// the URL `asked`. Its bytes are the caller's to check.
    pub(crate) fn reopen(dir: &Path, file: &str, asked: &Url) -> Result<Keeper, FetchError> {
        let name = safe_file_name(asked);
        let error = |source| FetchError::Keep {
            dir: dir.to_owned(),
            source,
        };
        let ours = file.starts_with(&format!(".{name}."))
            && file.ends_with(".part")
            && !file.contains(['/', '\\'])
            && file.len() <= 255;
        if !ours {
            return Err(error(std::io::Error::other(format!(
                "{file:?} is not a partial payload tofu would have written for {name}"
            ))));
        }
        let path = dir.join(file);
        let handle = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(error)?;
        Ok(Keeper {
            dir: dir.to_owned(),
            name,
            file: tempfile::NamedTempFile::from_parts(
                handle,
                tempfile::TempPath::try_from_path(path).map_err(error)?,
            ),
        })
    }

    /// The temporary file's name in the keep directory.
    pub(crate) fn file_name(&self) -> String {
        self.file
            .path()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// Makes the bytes written so far durable, before a checkpoint vouches for them.
    pub(crate) fn sync(&self) -> Result<(), FetchError> {
        self.file.as_file().sync_data().map_err(|e| self.error(e))
    }

    pub(crate) fn write(&mut self, bytes: &[u8]) -> Result<(), FetchError> {
        self.file.write_all(bytes).map_err(|e| self.error(e))
    }

    /// Throws away what was written: the download starts over from byte 0, so nothing of
    /// another version of the file stays in front of the new bytes.
    pub(crate) fn restart(&mut self) -> Result<(), FetchError> {
        self.truncate_to(0)
    }

    /// Cuts the file to its first `len` bytes; writing continues after them.
    pub(crate) fn truncate_to(&mut self, len: u64) -> Result<(), FetchError> {
        use std::io::Seek;
        let file = self.file.as_file_mut();
        file.set_len(len)
            .and_then(|()| file.seek(std::io::SeekFrom::Start(len)).map(drop))
            .map_err(|e| self.error(e))
    }

    /// Feeds the first `len` bytes of the file (fewer when it is shorter) to `take`, piece by
    /// piece; returns how many there were.
    pub(crate) fn read_prefix(
        &mut self,
        len: u64,
        mut take: impl FnMut(&[u8]),
    ) -> Result<u64, FetchError> {
        use std::io::{Read, Seek};
        let file = self.file.as_file_mut();
        let mut read = 0;
        let mut buf = vec![0u8; 1 << 20];
        let result = file.seek(std::io::SeekFrom::Start(0)).and_then(|_| {
            while read < len {
                let want = usize::try_from(len - read).map_or(buf.len(), |l| l.min(buf.len()));
                let n = file.read(&mut buf[..want])?;
                if n == 0 {
                    break;
                }
                take(&buf[..n]);
                read += n as u64;
            }
            Ok(read)
        });
        result.map_err(|e| self.error(e))
    }

    fn error(&self, source: std::io::Error) -> FetchError {
        FetchError::Keep {
            dir: self.dir.clone(),
            source,
        }
    }

    /// The whole body is in: flushed to disk, still under its temporary name. It gets its
    /// final name only from [`Kept::place`], once the artifact is known good.
    pub(crate) fn finish(self) -> Result<Kept, FetchError> {
        self.file.as_file().sync_all().map_err(|e| self.error(e))?;
        Ok(Kept(self))
    }
}

/// A complete body under its temporary name. Dropped unplaced (the artifact failed), its
/// file is removed: a failed payload is not kept at all, under any name.
pub(crate) struct Kept(Keeper);

impl Kept {
    /// The keep directory.
    pub(crate) fn dir(&self) -> &Path {
        &self.0.dir
    }

    /// Renames to the final name, never over an existing file: when the name is taken the
    /// payload becomes `name.1`, `name.2`, …. Returns the name used.
    pub(crate) fn place(self) -> Result<String, FetchError> {
        let dir = self.0.dir.clone();
        self.persist()
            .map_err(|source| FetchError::Keep { dir, source })
    }

    fn persist(self) -> std::io::Result<String> {
        let Keeper { dir, name, file } = self.0;
        let mut file = file;
        for n in 0..1000 {
            let candidate = if n == 0 {
                name.clone()
            } else {
                format!("{name}.{n}")
            };
            match file.persist_noclobber(dir.join(&candidate)) {
                Ok(_) => {
                    tofu_record::io::sync_dir(&dir)?;
                    return Ok(candidate);
                }
                Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => file = e.file,
                Err(e) => return Err(e.error),
            }
        }
        Err(std::io::Error::other(format!(
            "a thousand files named {name}.N already exist"
        )))
    }
}

/// A file name from the last segment of the URL path: ASCII letters, digits, `.`, `-`, `_`
/// and `+` only, no leading dot, at most 120 bytes; `download` when nothing is left.
pub(crate) fn safe_file_name(url: &Url) -> String {
    let last = url
        .path_segments()
        .and_then(|mut s| s.next_back())
        .unwrap_or("");
    let mut name: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+') {
                c
            } else {
                '_'
            }
        })
        .collect();
    name = name.trim_start_matches('.').to_owned();
    name.truncate(120);
    if name.is_empty() || name.chars().all(|c| c == '_') {
        "download".to_owned()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_safe() {
        let cases = [
            (
                "https://e.example/a/b/tails-signing.key",
                "tails-signing.key",
            ),
            (
                "https://e.example/a/%2e%2e%2fetc%2fpasswd",
                "_2e_2e_2fetc_2fpasswd",
            ),
            ("https://e.example/", "download"),
            ("https://e.example/..", "download"),
            ("https://e.example/.bashrc", "bashrc"),
            ("https://e.example/x?y=../../z", "x"),
        ];
        for (url, want) in cases {
            assert_eq!(safe_file_name(&Url::parse(url).unwrap()), want, "{url}");
        }
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever path a URL (or a redirect's `Location` resolved against it) has, the
        /// kept file's name is one safe component: 1 to 120 bytes of `[A-Za-z0-9._+-]`,
        /// not starting with `.`.
        #[test]
        fn names_are_always_safe(
            location in prop_oneof![
                any::<String>(),
                "(/|\\.\\./|%2[eEfF]|%00|\\\\|[a-z.]{0,4}|\\?|#|;)*",
                "[ -~]{0,200}",
            ],
        ) {
            let base = Url::parse("https://e.example/dir/file.iso").unwrap();
            if let Ok(url) = base.join(&location) {
                let name = safe_file_name(&url);
                prop_assert!(!name.is_empty() && name.len() <= 120, "{:?}", name);
                prop_assert!(!name.starts_with('.'), "{:?}", name);
                prop_assert!(
                    name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._+-".contains(&b)),
                    "{:?}",
                    name
                );
            }
        }

        /// A last path segment that is already a safe name is kept as it is.
        #[test]
        fn safe_names_are_kept(
            dir in "(/[a-z0-9%]{1,6}){0,3}",
            name in "[A-Za-z0-9+-][A-Za-z0-9._+-]{0,119}",
            query in "(\\?[a-z]=[./a-z]{0,6})?",
        ) {
            prop_assume!(!name.bytes().all(|b| b == b'_'));
            let url = Url::parse(&format!("https://e.example{dir}/{name}{query}")).unwrap();
            prop_assert_eq!(safe_file_name(&url), name);
        }
    }
}
