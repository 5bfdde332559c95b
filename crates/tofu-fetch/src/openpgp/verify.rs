//! Checking a detached OpenPGP signature (`.sig`, `.asc`, `.sign`) with rPGP, as
//! `gpg --verify` would: the signature is over the bytes given, by a key of the
//! certificates given that could sign then (the primary key, or a subkey bound for signing
//! with a back-signature), not revoked and not expired when it signed, and the signature
//! itself not expired. No gpg at run time.

use std::io::{self, Read};

use chrono::{DateTime, Utc};
use pgp::composed::{Deserializable, DetachedSignature, SignedPublicKey};
use pgp::packet::{Signature, SignatureType};
use pgp::types::KeyDetails;

use super::Start;
use super::cert;
use super::split::Kind;

/// How one signature fared, and one signature checked: as the transcript records them.
pub use tofu_record::{SignatureCheck as Check, SignatureOutcome as Outcome};

/// A check that failed before it could name a signer.
fn failed(outcome: Outcome, detail: String) -> Check {
    Check {
        outcome,
        signer: None,
        key: None,
        created_at: None,
        hash: None,
        detail: Some(detail),
    }
}

/// A signature file read, and the certificates and time to check its signatures with.
pub struct Signatures {
    /// The file's signatures, or why it holds none that can be read.
    read: Result<Vec<DetachedSignature>, String>,
    keys: Vec<SignedPublicKey>,
    now: DateTime<Utc>,
}

/// The most signatures of one file checked while a body streams (a reading thread each);
/// a file of more is unreadable.
const MAX_STREAMED: usize = 16;

impl Signatures {
    /// Reads `signature_file`, to check with the certificates of `keys` at time `now`.
    pub fn new(signature_file: &[u8], keys: Vec<SignedPublicKey>, now: DateTime<Utc>) -> Self {
        let read = match read_signatures(signature_file) {
            Ok(s) if s.is_empty() => Err("no signature in the file".into()),
            Ok(s) if s.len() > MAX_STREAMED => Err(format!(
                "the file holds {} signatures, more than the {MAX_STREAMED} tofu checks",
                s.len()
            )),
            other => other,
        };
        Signatures { read, keys, now }
    }

    /// Checks every signature against the bytes `data` opens (a fresh reader for each).
    pub fn check(&self, data: &mut dyn FnMut() -> io::Result<Box<dyn Read>>) -> Vec<Check> {
        match &self.read {
            Ok(signatures) => signatures
                .iter()
                .map(|s| check(s, &self.keys, data, self.now))
                .collect(),
            Err(why) => vec![failed(Outcome::Unreadable, why.clone())],
        }
    }

    /// How many signatures there are to check (none when the file could not be read).
    fn count(&self) -> usize {
        self.read.as_ref().map_or(0, Vec::len)
    }
}

/// Checks signatures over a body while it downloads: each signature on a thread of its own,
/// reading the pieces the download hands over (shared, not copied).
pub(crate) struct Streamed {
    signatures: std::sync::Arc<Signatures>,
    readers: Vec<(super::stream::Feeder, std::thread::JoinHandle<Check>)>,
}

impl Streamed {
    /// Starts a reading thread per signature. A signature whose thread cannot start is
    /// checked as unreadable.
    pub(crate) fn start(signatures: std::sync::Arc<Signatures>) -> Streamed {
        let mut readers = Vec::new();
        for index in 0..signatures.count() {
            let (feeder, pieces) = super::stream::channel();
            let mine = std::sync::Arc::clone(&signatures);
            let thread = std::thread::Builder::new()
                .name("tofu-signature".to_owned())
                .spawn(move || {
                    let Ok(all) = &mine.read else {
                        unreachable!("only a file that was read has signatures to count")
                    };
                    let mut pieces = Some(pieces);
                    let mut data = || -> io::Result<Box<dyn Read>> {
                        pieces
                            .take()
                            .map(|p| Box::new(p) as Box<dyn Read>)
                            .ok_or_else(|| io::Error::other("the body streams once"))
                    };
                    check(&all[index], &mine.keys, &mut data, mine.now)
                });
            match thread {
                Ok(thread) => readers.push((feeder, thread)),
                Err(e) => {
                    feeder.stop();
                    for (started, _) in &readers {
                        started.stop();
                    }
                    return Streamed::failed(signatures, format!("no thread to check on: {e}"));
                }
            }
        }
        Streamed {
            signatures,
            readers,
        }
    }

    fn failed(signatures: std::sync::Arc<Signatures>, why: String) -> Streamed {
        Streamed {
            signatures: std::sync::Arc::new(Signatures {
                read: Err(why),
                keys: Vec::new(),
                now: signatures.now,
            }),
            readers: Vec::new(),
        }
    }

    /// Hands the next piece of the body to every signature's thread.
    pub(crate) fn feed(&mut self, piece: &bytes::Bytes) {
        for (feeder, _) in &mut self.readers {
            feeder.send(piece.clone());
        }
    }

    /// The checks, once the whole body was fed.
    pub(crate) fn finish(self) -> Vec<Check> {
        let mut this = self;
        let readers = std::mem::take(&mut this.readers);
        if readers.is_empty() {
            return this
                .signatures
                .check(&mut || Err(io::Error::other("no body")));
        }
        readers
            .into_iter()
            .map(|(feeder, thread)| {
                drop(feeder);
                thread.join().unwrap_or_else(|_| {
                    failed(
                        Outcome::Unreadable,
                        "the OpenPGP reader failed on this signature".into(),
                    )
                })
            })
            .collect()
    }
}

impl Drop for Streamed {
    fn drop(&mut self) {
        // A body thrown away (the download restarted, or failed): each thread stops at its
        // next read.
        for (feeder, _) in &self.readers {
            feeder.stop();
        }
    }
}

/// A certificate read for checking signatures.
pub use pgp::composed::SignedPublicKey as Certificate;

/// The primary key fingerprint of a certificate, uppercase hex (as the keyring record and
/// [`Check::signer`] spell it).
pub fn fingerprint(certificate: &Certificate) -> String {
    format!("{:X}", certificate.primary_key.fingerprint())
}

/// The certificates in the key file `key_file` that rPGP reads, for [`Signatures`];
/// parts that are not one are left out (the keyring record names them).
pub fn certificates(key_file: &[u8]) -> Vec<SignedPublicKey> {
    let mut keys = Vec::new();
    let mut take = |part: super::split::Part| {
        if let (Kind::Public, None, Some(bytes)) = (part.kind, &part.broken, &part.bytes)
            && let Ok(key) = cert::parse(bytes)
        {
            keys.push(key);
        }
    };
    let input = io::Cursor::new(key_file.to_vec());
    // Reading from memory cannot fail; what does not parse is simply not a certificate.
    let _ = match super::start(key_file, true) {
        Start::Binary => super::split::split(input, &mut take),
        Start::Armor => super::read_armor(Box::new(input), &mut Vec::new(), &mut |_, part| {
            take(part);
            None
        }),
        Start::Unknown | Start::Other => Ok(()),
    };
    keys
}

fn read_signatures(file: &[u8]) -> Result<Vec<DetachedSignature>, String> {
    let text_start = file
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(0);
    let parsed: Vec<_> = if file[text_start..].starts_with(b"-----BEGIN PGP SIGNATURE-----") {
        DetachedSignature::from_armor_many(&file[text_start..])
            .map_err(|e| format!("the signature's armor does not read: {e}"))?
            .0
            .collect()
    } else {
        DetachedSignature::from_bytes_many(file)
            .map_err(|e| format!("not an OpenPGP signature: {e}"))?
            .collect()
    };
    parsed
        .into_iter()
        .map(|s| s.map_err(|e| format!("a signature does not read: {e}")))
        .collect()
}

fn check(
    detached: &DetachedSignature,
    keys: &[SignedPublicKey],
    data: &mut dyn FnMut() -> io::Result<Box<dyn Read>>,
    now: DateTime<Utc>,
) -> Check {
    let signature = &detached.signature;
    let created_at = signature.created().map(|t| time(t.as_secs()));
    let mut result = Check {
        outcome: Outcome::Unreadable,
        signer: None,
        key: None,
        created_at,
        hash: signature.hash_alg().map(|h| h.to_string()),
        detail: None,
    };
    if !matches!(
        signature.typ(),
        Some(SignatureType::Binary | SignatureType::Text)
    ) {
        result.detail = Some(format!(
            "a signature of type {:?}, not of data",
            signature.typ()
        ));
        return result;
    }
    let Some((cert, key)) = find_key(signature, keys) else {
        result.outcome = Outcome::NoKey;
        // The issuer's fingerprint when the signature names it, else its key id.
        let mut issuers: Vec<String> = signature
            .issuer_fingerprint()
            .iter()
            .map(|f| format!("{f:X}"))
            .collect();
        if issuers.is_empty() {
            issuers = signature
                .issuer_key_id()
                .iter()
                .map(|k| hex::encode_upper(k.as_ref()))
                .collect();
        }
        result.detail = Some(format!(
            "made by {}, none of the keys given",
            issuers.join(", ")
        ));
        return result;
    };
    result.signer = Some(format!("{:X}", cert.primary_key.fingerprint()));
    result.key = Some(format!("{:X}", key.fingerprint()));
    let reader = match data() {
        Ok(reader) => reader,
        Err(e) => {
            result.detail = Some(format!("the signed bytes could not be read: {e}"));
            return result;
        }
    };
    let verified = match &key {
        SigningKey::Primary(k) => signature.verify(*k, reader),
        SigningKey::Sub(k) => signature.verify(*k, reader),
    };
    if let Err(e) = verified {
        // rPGP's message ends with what failed ("invalid signed hash value"); what comes
        // before it is its own assertion's detail.
        let why = e.to_string();
        let why = why.rsplit(": ").next().unwrap_or(&why).trim().to_owned();
        result.outcome = Outcome::Bad;
        result.detail = Some(format!("it does not verify over these bytes ({why})"));
        return result;
    }
    (result.outcome, result.detail) = match usable(cert, &key, signature, created_at, now) {
        Ok(()) => (Outcome::Valid, None),
        Err((outcome, why)) => (outcome, Some(why)),
    };
    result
}

enum SigningKey<'a> {
    Primary(&'a pgp::packet::PublicKey),
    Sub(&'a pgp::packet::PublicSubkey),
}

impl SigningKey<'_> {
    fn fingerprint(&self) -> pgp::types::Fingerprint {
        match self {
            SigningKey::Primary(k) => k.fingerprint(),
            SigningKey::Sub(k) => k.fingerprint(),
        }
    }
}

/// The certificate and key a signature names as its issuer.
fn find_key<'a>(
    signature: &Signature,
    keys: &'a [SignedPublicKey],
) -> Option<(&'a SignedPublicKey, SigningKey<'a>)> {
    let names = |fingerprint: pgp::types::Fingerprint, id: pgp::types::KeyId| {
        signature
            .issuer_fingerprint()
            .into_iter()
            .any(|f| *f == fingerprint)
            || signature.issuer_key_id().into_iter().any(|k| *k == id)
    };
    keys.iter().find_map(|cert| {
        let primary = &cert.primary_key;
        if names(primary.fingerprint(), primary.legacy_key_id()) {
            return Some((cert, SigningKey::Primary(primary)));
        }
        cert.public_subkeys
            .iter()
            .find(|s| names(s.key.fingerprint(), s.key.legacy_key_id()))
            .map(|s| (cert, SigningKey::Sub(&s.key)))
    })
}

/// Whether `key` could make `signature` when it did: as its certificate's self-signatures
/// say (the same reading as the keyring record), and for a subkey, a binding that grants
/// signing and a back-signature from the subkey.
fn usable(
    cert: &SignedPublicKey,
    key: &SigningKey<'_>,
    signature: &Signature,
    created_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), (Outcome, String)> {
    let unusable = |why: String| Err((Outcome::UnusableKey, why));
    let Some(signed_at) = created_at else {
        return Err((
            Outcome::Unreadable,
            "the signature states no creation time".into(),
        ));
    };
    if let Some(after) = signature.signature_expiration_time()
        && after.as_secs() > 0
        && signed_at + chrono::Duration::seconds(i64::from(after.as_secs())) <= now
    {
        return Err((Outcome::Expired, "the signature has expired".into()));
    }
    let record = cert::describe(cert, None);
    let fingerprint = format!("{:X}", key.fingerprint());
    let Some(facts) = std::iter::once(&record.primary)
        .chain(&record.subkeys)
        .find(|k| k.fingerprint == fingerprint)
    else {
        return unusable("the key is not in its certificate's record".into());
    };
    if facts.created_at > signed_at {
        return unusable(format!(
            "the key was made after the signature ({})",
            facts.created_at
        ));
    }
    if facts.expires_at.is_some_and(|at| at <= signed_at) {
        return unusable("the key had expired when it signed".into());
    }
    if record.primary.revoked.is_some() || facts.revoked.is_some() {
        return unusable("the key is revoked".into());
    }
    if let SigningKey::Sub(sub) = key {
        if facts.unbound {
            return unusable("the subkey is not bound to its certificate".into());
        }
        if !signing_subkey(cert, sub) {
            return unusable("the subkey is not bound for signing, with a back-signature".into());
        }
    }
    Ok(())
}

/// Whether a verifying binding of `sub` grants signing and carries a back-signature the
/// subkey made.
fn signing_subkey(cert: &SignedPublicKey, sub: &pgp::packet::PublicSubkey) -> bool {
    let primary = &cert.primary_key;
    let Some(signed) = cert
        .public_subkeys
        .iter()
        .find(|s| s.key.fingerprint() == sub.fingerprint())
    else {
        return false;
    };
    signed.signatures.iter().any(|binding| {
        binding.typ() == Some(SignatureType::SubkeyBinding)
            && binding.key_flags().sign()
            && binding.verify_subkey_binding(primary, sub).is_ok()
            && binding
                .embedded_signature()
                .is_some_and(|back| back.verify_primary_key_binding(sub, primary).is_ok())
    })
}

fn time(secs: u32) -> DateTime<Utc> {
    DateTime::from_timestamp(i64::from(secs), 0).unwrap_or_default()
}

/// Every outcome against `gpg --verify`'s status on the same files: signatures made with
/// gpg by a primary key and by a signing subkey, checked with the right key, with another
/// key, over other bytes, by a key that expired after signing, and by a revoked key.
#[cfg(test)]
mod tests {
    use std::path::Path;

    use tofu_testkit::Gpg;

    use super::*;

    fn ours(signature: &Path, data: &Path, key_file: &[u8]) -> Check {
        let keys = certificates(key_file);
        let sig = std::fs::read(signature).unwrap();
        let path = data.to_owned();
        let mut open =
            || -> io::Result<Box<dyn Read>> { Ok(Box::new(std::fs::File::open(&path)?)) };
        let mut checks = Signatures::new(&sig, keys, Utc::now()).check(&mut open);
        assert_eq!(checks.len(), 1, "{checks:?}");
        checks.remove(0)
    }

    #[test]
    fn signatures_are_judged_as_gpg_judges_them() {
        let dir = tempfile::tempdir().unwrap();
        let signer = Gpg::new(dir.path(), "signer");
        let fpr = signer.generate("Release <release@example.invalid>", "2y", &[]);
        let data = dir.path().join("SHA256SUMS");
        std::fs::write(&data, b"0000  file.iso\n").unwrap();
        let sig = dir.path().join("SHA256SUMS.sign");
        signer.sign(&fpr, &data, &sig, &["--armor"]);
        let key = signer.run(&["--export", &fpr]);

        // Good, by the primary key.
        let check = ours(&sig, &data, &key);
        assert_eq!(
            (check.outcome, signer.status(&sig, &data).as_str()),
            (Outcome::Valid, "GOODSIG")
        );
        assert_eq!(check.signer.as_deref(), Some(fpr.as_str()));
        assert_eq!(check.key, check.signer);

        // Over other bytes.
        let other = dir.path().join("other");
        std::fs::write(&other, b"1111  file.iso\n").unwrap();
        let check = ours(&sig, &other, &key);
        assert_eq!(
            (check.outcome, signer.status(&sig, &other).as_str()),
            (Outcome::Bad, "BADSIG")
        );

        // With another key only.
        let stranger = Gpg::new(dir.path(), "stranger");
        let theirs = stranger.generate("Stranger <stranger@example.invalid>", "2y", &[]);
        let check = ours(&sig, &data, &stranger.run(&["--export", &theirs]));
        assert_eq!(
            (check.outcome, stranger.status(&sig, &data).as_str()),
            (Outcome::NoKey, "ERRSIG")
        );

        // By a signing subkey, which gpg prefers once there is one.
        signer.run(&["--quick-add-key", &fpr, "ed25519", "sign", "1y"]);
        let by_sub = dir.path().join("by-sub.sig");
        signer.sign(&fpr, &data, &by_sub, &[]);
        let key = signer.run(&["--export", &fpr]);
        let check = ours(&by_sub, &data, &key);
        assert_eq!(
            (check.outcome, signer.status(&by_sub, &data).as_str()),
            (Outcome::Valid, "GOODSIG")
        );
        assert_eq!(check.signer.as_deref(), Some(fpr.as_str()));
        assert_ne!(check.key, check.signer);

        // The key revoked since: gpg still says the signature is good, with a warning
        // (REVKEYSIG); tofu counts it unusable.
        signer.revoke(&fpr);
        let key = signer.run(&["--export", &fpr]);
        let check = ours(&sig, &data, &key);
        assert_eq!(
            (check.outcome, signer.status(&sig, &data).as_str()),
            (Outcome::UnusableKey, "REVKEYSIG")
        );
    }

    #[test]
    fn a_signature_made_before_its_key_expired_is_valid_as_gpg_says() {
        let dir = tempfile::tempdir().unwrap();
        let signer = Gpg::new(dir.path(), "signer");
        // A key made ten days ago that expired after one, and a signature from its first day.
        let then = (Utc::now() - chrono::Duration::days(10))
            .format("%Y%m%dT%H%M%S")
            .to_string();
        let faked = ["--faked-system-time", then.as_str()];
        let fpr = signer.generate("Short <short@example.invalid>", "1d", &faked);
        let data = dir.path().join("data");
        std::fs::write(&data, b"payload").unwrap();
        let sig = dir.path().join("data.sig");
        signer.sign(&fpr, &data, &sig, &faked);
        let key = signer.run(&["--export", &fpr]);
        let check = ours(&sig, &data, &key);
        assert_eq!(
            (check.outcome, signer.status(&sig, &data).as_str()),
            (Outcome::Valid, "EXPKEYSIG")
        );
    }

    #[test]
    fn what_is_not_a_data_signature_is_unreadable() {
        let none = |bytes: &[u8]| {
            let mut open = || -> io::Result<Box<dyn Read>> { Ok(Box::new(io::empty())) };
            Signatures::new(bytes, Vec::new(), Utc::now()).check(&mut open)
        };
        assert_eq!(none(b"")[0].outcome, Outcome::Unreadable);
        assert_eq!(none(b"hello")[0].outcome, Outcome::Unreadable);
        let armor = b"-----BEGIN PGP SIGNATURE-----\n\n!!!\n-----END PGP SIGNATURE-----\n";
        assert_eq!(none(armor)[0].outcome, Outcome::Unreadable);
    }
}
