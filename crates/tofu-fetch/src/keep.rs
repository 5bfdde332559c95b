//! `--keep DIR`: payloads written under a temporary name and renamed only when complete, so
//! no partial file ever looks like a finished download. Names come from the URL path, made
//! safe; a server-sent name (Content-Disposition) is never used.

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
    pub(crate) fn create(dir: &Path, url: &Url) -> Result<Keeper, FetchError> {
        let name = safe_file_name(url);
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

    pub(crate) fn write(&mut self, bytes: &[u8]) -> Result<(), FetchError> {
        self.file.write_all(bytes).map_err(|e| self.error(e))
    }

    fn error(&self, source: std::io::Error) -> FetchError {
        FetchError::Keep {
            dir: self.dir.clone(),
            source,
        }
    }

    /// Flushes to disk and renames to the final name, never over an existing file: a second
    /// payload of the same name becomes `name.1`, `name.2`, …. Returns the name used.
    pub(crate) fn finish(self) -> Result<String, FetchError> {
        let dir = self.dir.clone();
        self.persist()
            .map_err(|source| FetchError::Keep { dir, source })
    }

    fn persist(self) -> std::io::Result<String> {
        self.file.as_file().sync_all()?;
        let mut file = self.file;
        for n in 0..1000 {
            let candidate = if n == 0 {
                self.name.clone()
            } else {
                format!("{}.{n}", self.name)
            };
            match file.persist_noclobber(self.dir.join(&candidate)) {
                Ok(_) => {
                    tofu_record::io::sync_dir(&self.dir)?;
                    return Ok(candidate);
                }
                Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => file = e.file,
                Err(e) => return Err(e.error),
            }
        }
        Err(std::io::Error::other(format!(
            "a thousand files named {}.N already exist",
            self.name
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
