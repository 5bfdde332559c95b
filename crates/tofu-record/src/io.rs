//! Canonical bytes and atomic files. A transcript is pretty JSON with sorted keys, so that
//! the same record always gives the same bytes and two runs diff cleanly with any text tool.
//! Files are written to a temporary name in the same directory, fsynced, then renamed: no
//! partial file ever stands under the final name.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{ReadError, WriteError};
use crate::transcript::{FORMAT, Transcript};

/// The canonical bytes of a transcript: pretty-printed, keys sorted, newline-terminated.
pub fn to_canonical_json(transcript: &Transcript) -> Vec<u8> {
    // serde_json's Map is a BTreeMap (the `preserve_order` feature is off), so going through
    // a Value sorts every object's keys.
    let value = serde_json::to_value(transcript).expect("a transcript always serializes");
    let mut bytes = serde_json::to_vec_pretty(&value).expect("a Value always serializes");
    bytes.push(b'\n');
    bytes
}

/// Parses transcript bytes strictly: JSON syntax, then the format id, then the shape (no
/// unknown fields), then the rules in [`Transcript::check`].
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Transcript, ReadError> {
    let malformed = |e: serde_json::Error| ReadError::Malformed {
        path: path.to_owned(),
        line: e.line(),
        column: e.column(),
        message: strip_position(&e.to_string()),
    };
    // First only the format id (the rest is skipped, not built), so an unknown version gets
    // its own clear error rather than a shape error; syntax errors surface here too.
    #[derive(serde::Deserialize)]
    struct FormatOnly {
        format: Option<serde_json::Value>,
    }
    let probe: FormatOnly = serde_json::from_slice(bytes).map_err(malformed)?;
    match probe.format.as_ref().and_then(|f| f.as_str()) {
        Some(FORMAT) => {}
        Some(other) => {
            return Err(ReadError::UnknownFormat {
                path: path.to_owned(),
                found: other.to_owned(),
                expected: FORMAT,
            });
        }
        None => {
            return Err(ReadError::Malformed {
                path: path.to_owned(),
                line: 1,
                column: 1,
                message: "no \"format\" field: this is not a tofu transcript".to_owned(),
            });
        }
    }
    // Then the whole shape, from the bytes, so that shape errors keep their position.
    let transcript: Transcript = serde_json::from_slice(bytes).map_err(malformed)?;
    transcript.check().map_err(|e| ReadError::Invalid {
        path: path.to_owned(),
        reason: e.0,
    })?;
    Ok(transcript)
}

/// Reads and parses a transcript file; returns it with the exact bytes read, which are what
/// the signature covers.
pub fn read(path: &Path) -> Result<(Transcript, Vec<u8>), ReadError> {
    let bytes = std::fs::read(path).map_err(|source| ReadError::Io {
        path: path.to_owned(),
        source,
    })?;
    let transcript = parse(path, &bytes)?;
    Ok((transcript, bytes))
}

/// serde_json appends " at line L column C"; we print the position up front instead.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, fsync, rename, fsync of
/// the directory. With `overwrite` false an existing file is never replaced.
pub fn write_atomic(path: &Path, bytes: &[u8], overwrite: bool) -> Result<(), WriteError> {
    // The error of the OS, without the name of the temporary file (tempfile words it as
    // `{error} at path {temporary file:?}`): the user asked for `path`, the file the error
    // names.
    let io = |source: std::io::Error| {
        let text = source.to_string();
        let source = match text.split_once(" at path ") {
            Some((error, _)) if source.raw_os_error().is_none() => {
                std::io::Error::new(source.kind(), error.to_owned())
            }
            _ => source,
        };
        WriteError::Io {
            path: path.to_owned(),
            source,
        }
    };
    let dir = parent_dir(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".part")
        .tempfile_in(&dir)
        .map_err(io)?;
    tmp.write_all(bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    if overwrite {
        tmp.persist(path).map_err(|e| io(e.error))?;
    } else {
        tmp.persist_noclobber(path).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                WriteError::Exists(path.to_owned())
            } else {
                io(e.error)
            }
        })?;
    }
    sync_dir(&dir).map_err(io)
}

/// The directory a path lives in (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// Makes a rename durable by syncing its directory.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_error_names_the_file_asked_for_not_the_temporary_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing/run.json");
        let e = write_atomic(&path, b"one", false).unwrap_err();
        let said = crate::error_chain(&e);
        assert!(said.contains("missing/run.json"), "{said}");
        assert!(
            !said.contains(".part") && !said.contains("at path"),
            "{said}"
        );
    }

    #[test]
    fn write_atomic_refuses_to_clobber_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.json");
        write_atomic(&path, b"one", false).unwrap();
        let err = write_atomic(&path, b"two", false).unwrap_err();
        assert!(matches!(err, WriteError::Exists(_)), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        write_atomic(&path, b"three", true).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"three");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("run.json")]);
    }

    #[test]
    fn malformed_json_reports_line_and_column() {
        let err = parse(Path::new("x.json"), b"{\n  \"format\": \n}").unwrap_err();
        match err {
            ReadError::Malformed { line, column, .. } => assert_eq!((line, column), (3, 1)),
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn unknown_format_is_named() {
        let err = parse(Path::new("x.json"), br#"{"format": "tofu-transcript/9"}"#).unwrap_err();
        assert!(err.to_string().contains("tofu-transcript/9"), "{err}");
        assert!(matches!(err, ReadError::UnknownFormat { .. }));
    }
}
