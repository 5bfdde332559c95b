//! The sign-off: a detached minisign signature `<transcript>.minisig`, verifiable with the
//! standard `minisign -V`. Its trusted comment names the run, so a signature cannot be moved
//! to another run's transcript unnoticed.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use minisign::{PublicKey, SignatureBox};

use crate::error::{SignError, VerifyError};
use crate::io::write_atomic;
use crate::key::{SigningKey, key_id, parse_public_key};
use crate::transcript::{FORMAT, Transcript};

/// The signature file of a transcript: the same path with `.minisig` appended.
pub fn signature_path(transcript: &Path) -> PathBuf {
    let mut s = transcript.as_os_str().to_owned();
    s.push(".minisig");
    PathBuf::from(s)
}

/// The trusted comment of a run's signature.
pub fn trusted_comment(transcript: &Transcript) -> String {
    format!(
        "{FORMAT} run:{} started:{}",
        transcript.run.id,
        transcript
            .run
            .started_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )
}

/// Signs the transcript bytes and returns the text of the `.minisig` file.
pub fn sign(key: &SigningKey, transcript: &Transcript, bytes: &[u8]) -> Result<String, SignError> {
    sign_bytes(key, bytes, &trusted_comment(transcript))
}

/// Signs `bytes` with `trusted` as the trusted comment; returns the minisign signature text.
pub fn sign_bytes(key: &SigningKey, bytes: &[u8], trusted: &str) -> Result<String, SignError> {
    let untrusted = format!("signature from tofu key {}", key.key_id());
    let sig = minisign::sign(
        Some(key.public()),
        key.secret(),
        Cursor::new(bytes),
        Some(trusted),
        Some(&untrusted),
    )
    .map_err(|e| SignError::Minisign(e.to_string()))?;
    Ok(sig.into_string())
}

/// Checks a [`sign_bytes`] signature: made by `key`, over `bytes`, with exactly the trusted
/// comment `trusted`.
pub fn verify_bytes(
    key: &PublicKey,
    bytes: &[u8],
    signature_text: &str,
    trusted: &str,
) -> Result<(), String> {
    let sig = SignatureBox::from_string(signature_text).map_err(|e| e.to_string())?;
    minisign::verify(key, &sig, Cursor::new(bytes), true, false, false)
        .map_err(|e| e.to_string())?;
    match sig.trusted_comment() {
        Ok(comment) if comment == trusted => Ok(()),
        Ok(comment) => Err(format!("it is signed for {comment:?}, not {trusted:?}")),
        Err(e) => Err(e.to_string()),
    }
}

/// Signs and writes `<path>.minisig` atomically.
pub fn sign_file(
    key: &SigningKey,
    transcript: &Transcript,
    path: &Path,
    bytes: &[u8],
    overwrite: bool,
) -> Result<PathBuf, SignError> {
    let text = sign(key, transcript, bytes)?;
    let sig_path = signature_path(path);
    write_atomic(&sig_path, text.as_bytes(), overwrite)?;
    Ok(sig_path)
}

/// A signature that verified.
#[derive(Clone, Debug)]
pub struct Verified {
    /// The key id that made it.
    pub key_id: String,
    /// Its trusted comment.
    pub trusted_comment: String,
}

/// The public key a transcript names as its signer.
pub fn signer_key(transcript: &Transcript) -> Result<PublicKey, VerifyError> {
    let key = parse_public_key(&transcript.signer.public_key).map_err(VerifyError::BadSignerKey)?;
    let id = key_id(&key);
    if id != transcript.signer.key_id {
        return Err(VerifyError::BadSignerKey(format!(
            "key_id {} does not belong to the public key (whose id is {id})",
            transcript.signer.key_id
        )));
    }
    Ok(key)
}

/// Checks `signature_text` over `bytes` with `key`, and that the trusted comment names the
/// transcript's run.
pub fn verify(
    transcript: &Transcript,
    bytes: &[u8],
    signature_text: &str,
    key: &PublicKey,
) -> Result<Verified, VerifyError> {
    let sig = SignatureBox::from_string(signature_text).map_err(|e| VerifyError::Unreadable {
        path: PathBuf::new(),
        message: e.to_string(),
    })?;
    let mut sig_num = [0u8; 8];
    sig_num.copy_from_slice(&sig.keynum()[..8]);
    let sig_id = format!("{:016X}", u64::from_le_bytes(sig_num));
    if sig_id != key_id(key) {
        return Err(VerifyError::WrongKey {
            found: sig_id,
            expected: key_id(key),
        });
    }
    minisign::verify(key, &sig, Cursor::new(bytes), true, false, false)
        .map_err(|e| VerifyError::Bad(e.to_string()))?;
    let comment = sig
        .trusted_comment()
        .map_err(|e| VerifyError::Bad(e.to_string()))?;
    if comment != trusted_comment(transcript) {
        return Err(VerifyError::CommentMismatch {
            comment,
            run_id: transcript.run.id.clone(),
        });
    }
    Ok(Verified {
        key_id: sig_id,
        trusted_comment: comment,
    })
}

/// Reads `<path>.minisig` and verifies it with `key`.
pub fn verify_file(
    transcript: &Transcript,
    path: &Path,
    bytes: &[u8],
    key: &PublicKey,
) -> Result<Verified, VerifyError> {
    let sig_path = signature_path(path);
    let text = match std::fs::read_to_string(&sig_path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(VerifyError::Missing(sig_path));
        }
        Err(e) => {
            return Err(VerifyError::Unreadable {
                path: sig_path,
                message: e.to_string(),
            });
        }
    };
    verify(transcript, bytes, &text, key).map_err(|e| match e {
        VerifyError::Unreadable { message, .. } => VerifyError::Unreadable {
            path: sig_path,
            message,
        },
        other => other,
    })
}
