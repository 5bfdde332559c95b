//! The host fingerprint: stable per machine and user, revealing nothing. It is the SHA-256
//! of a random salt kept in tofu's config directory and the machine id, so two transcripts
//! from one machine share it, yet it cannot be turned back into a hostname or machine id.

use std::path::Path;

use std::path::PathBuf;

use crate::io::write_atomic;
use crate::key::create_private_dir;

/// The salt file's name in the config directory.
pub const SALT_FILE: &str = "host-salt";

/// The host fingerprint cannot be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HostError {
    /// The salt (or the directory holding it) cannot be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The salt file is too short to be one tofu wrote.
    #[error("{0}: the host salt is shorter than 32 bytes; delete it to make a new one")]
    ShortSalt(PathBuf),
}

/// The fingerprint for this machine, creating the salt in `config_dir` on first use.
pub fn fingerprint(config_dir: &Path) -> Result<String, HostError> {
    let salt_path = config_dir.join(SALT_FILE);
    let salt = match std::fs::read(&salt_path) {
        Ok(salt) if salt.len() >= 32 => salt,
        Ok(_) => {
            return Err(HostError::ShortSalt(salt_path));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            create_private_dir(config_dir).map_err(|source| HostError::Io {
                path: config_dir.to_owned(),
                source,
            })?;
            let mut salt = vec![0u8; 32];
            getrandom::fill(&mut salt).map_err(|e| HostError::Io {
                path: salt_path.clone(),
                source: std::io::Error::other(e.to_string()),
            })?;
            match write_atomic(&salt_path, &salt, false) {
                Ok(()) => salt,
                // Another tofu made it first: use theirs.
                Err(crate::WriteError::Exists(_)) => {
                    std::fs::read(&salt_path).map_err(|source| HostError::Io {
                        path: salt_path.clone(),
                        source,
                    })?
                }
                Err(crate::WriteError::Io { source, .. }) => {
                    return Err(HostError::Io {
                        path: salt_path,
                        source,
                    });
                }
            }
        }
        Err(source) => {
            return Err(HostError::Io {
                path: salt_path,
                source,
            });
        }
    };
    let machine = ["/etc/machine-id", "/var/lib/dbus/machine-id"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default();
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(b"tofu-host-fingerprint/1\0");
    ctx.update(&salt);
    ctx.update(machine.trim().as_bytes());
    Ok(hex::encode(ctx.finish()))
}
