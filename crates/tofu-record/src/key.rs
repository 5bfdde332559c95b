//! The operator's minisign key pair. The secret key lives in a file readable only by its
//! owner (mode 0600) and never in a `Debug` output, log or transcript.

use std::path::{Path, PathBuf};

pub use minisign::PublicKey;
use minisign::{PublicKeyBox, SecretKey, SecretKeyBox};

use crate::error::KeyError;
use crate::io::write_atomic;

/// The operator's key pair. Deliberately not `Debug` or `Clone`: the secret half must not
/// end up in a log by accident.
pub struct SigningKey {
    secret: SecretKey,
    public: PublicKey,
}

impl SigningKey {
    /// A fresh random key pair.
    pub fn generate() -> Result<SigningKey, KeyError> {
        let pair =
            minisign::KeyPair::generate_unencrypted_keypair().map_err(|e| KeyError::Malformed {
                path: PathBuf::new(),
                message: e.to_string(),
            })?;
        Ok(SigningKey {
            secret: pair.sk,
            public: pair.pk,
        })
    }

    /// Loads an unencrypted minisign secret key and refuses one that others can read.
    pub fn load(path: &Path) -> Result<SigningKey, KeyError> {
        check_private_mode(path)?;
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Io {
            path: path.to_owned(),
            source,
        })?;
        let malformed = |e: minisign::PError| KeyError::Malformed {
            path: path.to_owned(),
            message: e.to_string(),
        };
        let sk_box = SecretKeyBox::from_string(&text).map_err(malformed)?;
        let secret = match sk_box.into_unencrypted_secret_key() {
            Ok(secret) => secret,
            Err(e)
                if matches!(e.kind(), minisign::ErrorKind::EncryptedKey)
                    || e.to_string().to_lowercase().contains("encrypt") =>
            {
                return Err(KeyError::Encrypted(path.to_owned()));
            }
            Err(e) => return Err(malformed(e)),
        };
        if secret.is_encrypted() {
            return Err(KeyError::Encrypted(path.to_owned()));
        }
        let public = PublicKey::from_secret_key(&secret).map_err(malformed)?;
        Ok(SigningKey { secret, public })
    }

    /// Writes the secret key to `path` (mode 0600) and the public key beside it
    /// ([`public_path_for`]); with `force` false an existing key is never replaced.
    /// Returns the public key's path.
    pub fn save(&self, path: &Path, force: bool) -> Result<PathBuf, KeyError> {
        let exists = |p: &Path| p.exists() && !force;
        let pub_path = public_path_for(path);
        for p in [path, pub_path.as_path()] {
            if exists(p) {
                return Err(KeyError::Exists(p.to_owned()));
            }
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir).map_err(|source| KeyError::Io {
                path: dir.to_owned(),
                source,
            })?;
        }
        let comment = format!("tofu secret key {}", self.key_id());
        let sk_text = self
            .secret
            .to_box(Some(&comment))
            .map_err(|e| KeyError::Malformed {
                path: path.to_owned(),
                message: e.to_string(),
            })?
            .into_string();
        // write_atomic's temporary file is created with mode 0600, and the rename keeps it.
        write_atomic(path, sk_text.as_bytes(), force).map_err(|e| write_error(path, e))?;
        let pk_text = format!(
            "untrusted comment: tofu public key {}\n{}\n",
            self.key_id(),
            self.public.to_base64()
        );
        write_atomic(&pub_path, pk_text.as_bytes(), force)
            .map_err(|e| write_error(&pub_path, e))?;
        set_mode(&pub_path, 0o644)?;
        Ok(pub_path)
    }

    /// The public half.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// The key id as minisign prints it (16 uppercase hex digits).
    pub fn key_id(&self) -> String {
        key_id(&self.public)
    }

    pub(crate) fn secret(&self) -> &SecretKey {
        &self.secret
    }
}

/// The key id of a public key as minisign prints it: the 8-byte key number read as a
/// little-endian integer, in uppercase hex.
pub fn key_id(public: &PublicKey) -> String {
    let mut num = [0u8; 8];
    num.copy_from_slice(&public.keynum()[..8]);
    format!("{:016X}", u64::from_le_bytes(num))
}

/// Parses a public key given either as a minisign `.pub` file's text or as its bare base64
/// line.
pub fn parse_public_key(text: &str) -> Result<PublicKey, String> {
    let trimmed = text.trim();
    let result = if trimmed.starts_with("untrusted comment:") {
        PublicKeyBox::from_string(trimmed).and_then(|b| b.into_public_key())
    } else {
        PublicKey::from_base64(trimmed)
    };
    result.map_err(|e| e.to_string())
}

/// Loads a public key file (minisign `.pub` format, or one base64 line).
pub fn load_public_key(path: &Path) -> Result<PublicKey, KeyError> {
    let text = std::fs::read_to_string(path).map_err(|source| KeyError::Io {
        path: path.to_owned(),
        source,
    })?;
    parse_public_key(&text).map_err(|message| KeyError::Malformed {
        path: path.to_owned(),
        message,
    })
}

/// Where the public key of a secret key file lives: `x.key` → `x.pub`, anything else gets
/// `.pub` appended.
pub fn public_path_for(secret: &Path) -> PathBuf {
    if secret.extension().is_some_and(|e| e == "key") {
        secret.with_extension("pub")
    } else {
        let mut s = secret.as_os_str().to_owned();
        s.push(".pub");
        PathBuf::from(s)
    }
}

fn write_error(path: &Path, e: crate::WriteError) -> KeyError {
    match e {
        crate::WriteError::Exists(p) => KeyError::Exists(p),
        crate::WriteError::Io { source, .. } => KeyError::Io {
            path: path.to_owned(),
            source,
        },
    }
}

/// Creates a directory (and parents) that only its owner can enter, when it is missing.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

#[cfg(unix)]
fn check_private_mode(path: &Path) -> Result<(), KeyError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|source| KeyError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::Permissions {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private_mode(_path: &Path) -> Result<(), KeyError> {
    Ok(())
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> Result<(), KeyError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|source| {
        KeyError::Io {
            path: path.to_owned(),
            source,
        }
    })
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> Result<(), KeyError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_key_is_private_and_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/signing.key");
        let key = SigningKey::generate().unwrap();
        let pub_path = key.save(&path, false).unwrap();
        assert_eq!(pub_path, dir.path().join("sub/signing.pub"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let loaded = SigningKey::load(&path).unwrap();
        assert_eq!(loaded.key_id(), key.key_id());
        assert_eq!(load_public_key(&pub_path).unwrap(), *key.public());
        assert!(matches!(key.save(&path, false), Err(KeyError::Exists(_))));
    }

    #[cfg(unix)]
    #[test]
    fn a_world_readable_secret_key_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        SigningKey::generate().unwrap().save(&path, false).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            SigningKey::load(&path),
            Err(KeyError::Permissions { mode: 0o644, .. })
        ));
    }
}
