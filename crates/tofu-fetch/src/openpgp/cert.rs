//! Reading one certificate (a part cut by [`super::split`]) with rPGP: the primary key and
//! subkey fingerprints, algorithms, creation and expiry dates, revocations, and user IDs —
//! what the manual procedure reads off `gpg --with-fingerprint`. Dates and revocations come
//! from self-signatures that verify; a third party's certification says nothing about them.

use chrono::{DateTime, Utc};
use pgp::composed::{Deserializable, SignedPublicKey, SignedPublicSubKey};
use pgp::packet::{PublicKey, Signature, SignatureType};
use pgp::types::{KeyDetails, SignedUser, Tag};
use tofu_record::{OpenPgpCert, OpenPgpKey, OpenPgpPart, OpenPgpRevocation};

use super::split::{Kind, MAX_PART, Part};

/// The longest user ID or revocation reason kept, in characters.
const MAX_TEXT: usize = 1024;

/// The record of one part of a key file, in armor block `block` (null for binary).
pub(crate) fn record(block: Option<u64>, part: Part) -> OpenPgpPart {
    let (certificate, error) = match (&part.kind, &part.broken, &part.bytes) {
        (Kind::Secret, _, _) => (
            None,
            Some("a secret key: private key material, not a certificate".to_owned()),
        ),
        (Kind::Stray, _, _) => (None, Some("packets before the first key".to_owned())),
        (Kind::Unframed, why, _) => (None, why.clone()),
        (Kind::Public, Some(why), _) => (None, Some(why.clone())),
        (Kind::Public, None, None) => (
            None,
            Some(format!(
                "a certificate larger than {} MiB is not read",
                MAX_PART >> 20
            )),
        ),
        (Kind::Public, None, Some(bytes)) => match read(bytes, &part) {
            Ok(cert) => (Some(cert), None),
            Err(why) => (None, Some(why)),
        },
    };
    OpenPgpPart {
        block,
        offset: part.offset,
        length: part.length,
        sha256: part.sha256,
        certificate,
        error,
    }
}

/// The certificate in `bytes`, or why rPGP could not read it.
fn read(bytes: &[u8], part: &Part) -> Result<OpenPgpCert, String> {
    Ok(describe(&parse(bytes)?, Some(part)))
}

/// rPGP's reading of one certificate's bytes, or why it could not read them.
pub(crate) fn parse(bytes: &[u8]) -> Result<SignedPublicKey, String> {
    // rPGP is written not to panic on hostile input; if it ever does, this part is the one
    // that could not be read, and the others still are.
    let parsed = std::panic::catch_unwind(|| SignedPublicKey::from_bytes(bytes))
        .map_err(|_| "the OpenPGP reader failed on these bytes".to_owned())?;
    parsed.map_err(|e| bounded(&e.to_string()))
}

pub(crate) fn describe(key: &SignedPublicKey, part: Option<&Part>) -> OpenPgpCert {
    let revoked_ids = revoked_user_ids(key);
    OpenPgpCert {
        primary: primary(key, &revoked_ids),
        subkeys: key
            .public_subkeys
            .iter()
            .map(|sub| subkey(&key.primary_key, sub))
            .collect(),
        user_ids: key.details.users.iter().map(|u| text(u.id.id())).collect(),
        revoked_user_ids: revoked_ids.iter().map(|u| text(u.id.id())).collect(),
        unread: part.and_then(|p| unread(key, p)),
    }
}

/// The primary key: its expiry comes from the newest verifying self-certification (0x10 to
/// 0x13) of a user ID it did not revoke, as with gpg (a newer revocation of one user ID does
/// not end the key's dates), else from its newest verifying direct self-signature.
fn primary(key: &SignedPublicKey, revoked_ids: &[&SignedUser]) -> OpenPgpKey {
    let primary = &key.primary_key;
    let mut certified: Vec<(&Signature, Verify<'_>)> = Vec::new();
    for user in &key.details.users {
        if revoked_ids.iter().any(|r| std::ptr::eq(*r, user)) {
            continue;
        }
        let certifications = user.signatures.iter().filter(|s| s.is_certification());
        certified.extend(
            certifications
                .filter(|s| issued_by(s, primary))
                .map(|s| (s, Verify::UserId(&user.id))),
        );
    }
    let direct: Vec<(&Signature, Verify<'_>)> = key
        .details
        .direct_signatures
        .iter()
        .filter(|s| issued_by(s, primary))
        .map(|s| (s, Verify::Direct))
        .collect();
    let expires = expiry(newest_valid(primary, &certified))
        .or_else(|| expiry(newest_valid(primary, &direct)));
    let mut record = key_record(primary, expires);
    record.revoked = key
        .details
        .revocation_signatures
        .iter()
        .filter(|s| issued_by(s, primary))
        .find(|s| s.verify_key(primary).is_ok())
        .map(revocation);
    record
}

/// A subkey: its dates from its binding signatures (0x18), its revocation (0x28).
fn subkey(primary: &PublicKey, sub: &SignedPublicSubKey) -> OpenPgpKey {
    let signed: Vec<(&Signature, Verify<'_>)> = sub
        .signatures
        .iter()
        .filter(|s| issued_by(s, primary))
        .map(|s| (s, Verify::Subkey(&sub.key)))
        .collect();
    let of_type = |typ: SignatureType| -> Vec<(&Signature, Verify<'_>)> {
        let matching = signed.iter().filter(|(s, _)| s.typ() == Some(typ));
        matching
            .map(|(s, _)| (*s, Verify::Subkey(&sub.key)))
            .collect()
    };
    let bindings = of_type(SignatureType::SubkeyBinding);
    let binding = newest_valid(primary, &bindings);
    let mut record = key_record(&sub.key, expiry(binding));
    record.unbound = binding.is_none();
    // As with gpg, a revocation that verifies stands, whatever bindings came after it.
    record.revoked = of_type(SignatureType::SubkeyRevocation)
        .into_iter()
        .find(|(s, _)| s.verify_subkey_binding(primary, &sub.key).is_ok())
        .map(|(s, _)| revocation(s));
    record
}

/// The user IDs the key revoked itself (a certification revocation, 0x30, that verifies).
fn revoked_user_ids(key: &SignedPublicKey) -> Vec<&SignedUser> {
    let primary = &key.primary_key;
    key.details
        .users
        .iter()
        .filter(|u| {
            // As with gpg, the newest of its self-certifications and revocations decides.
            let signed: Vec<(&Signature, Verify<'_>)> = u
                .signatures
                .iter()
                .filter(|s| s.is_certification() || s.typ() == Some(SignatureType::CertRevocation))
                .filter(|s| issued_by(s, primary))
                .map(|s| (s, Verify::UserId(&u.id)))
                .collect();
            newest_valid(primary, &signed)
                .is_some_and(|s| s.typ() == Some(SignatureType::CertRevocation))
        })
        .collect()
}

/// How a self-signature is checked.
enum Verify<'a> {
    Direct,
    UserId(&'a pgp::packet::UserId),
    Subkey(&'a pgp::packet::PublicSubkey),
}

/// Whether `signature` names `primary` as its issuer (by fingerprint or key ID).
fn issued_by(signature: &Signature, primary: &PublicKey) -> bool {
    let fingerprint = primary.fingerprint();
    let key_id = primary.legacy_key_id();
    signature
        .issuer_fingerprint()
        .into_iter()
        .any(|f| *f == fingerprint)
        || signature.issuer_key_id().into_iter().any(|k| *k == key_id)
}

/// The newest of `signatures` (by creation time) that verifies with `primary`.
fn newest_valid<'s>(
    primary: &PublicKey,
    signatures: &[(&'s Signature, Verify<'_>)],
) -> Option<&'s Signature> {
    let mut newest: Vec<&(&Signature, Verify<'_>)> = signatures
        .iter()
        .filter(|(s, _)| s.created().is_some())
        .collect();
    newest.sort_by_key(|(s, _)| std::cmp::Reverse(s.created().map(|t| t.as_secs())));
    let (signature, _) = newest.into_iter().find(|(s, how)| {
        match how {
            Verify::Direct => s.verify_key(primary),
            Verify::UserId(id) => s.verify_certification(primary, Tag::UserId, *id),
            Verify::Subkey(sub) => s.verify_subkey_binding(primary, *sub),
        }
        .is_ok()
    })?;
    Some(signature)
}

/// The key expiry `signature` states, in seconds after the key's creation (none, or 0,
/// means the key does not expire).
fn expiry(signature: Option<&Signature>) -> Option<u32> {
    signature?
        .key_expiration_time()
        .map(|d| d.as_secs())
        .filter(|secs| *secs > 0)
}

fn key_record(key: &impl KeyDetails, expires_after: Option<u32>) -> OpenPgpKey {
    let created = key.created_at().as_secs();
    OpenPgpKey {
        fingerprint: format!("{:X}", key.fingerprint()),
        algorithm: format!("{:?}", key.algorithm()),
        created_at: time(created),
        expires_at: expires_after.map(|secs| time(created.saturating_add(secs))),
        revoked: None,
        unbound: false,
    }
}

fn revocation(signature: &Signature) -> OpenPgpRevocation {
    OpenPgpRevocation {
        created_at: signature.created().map(|t| time(t.as_secs())),
        reason_code: signature.revocation_reason_code().map(|c| u8::from(*c)),
        reason: signature.revocation_reason_string().map(|r| text(r)),
    }
}

/// What rPGP skipped of the part's packets, as a sentence, or None.
fn unread(key: &SignedPublicKey, part: &Part) -> Option<String> {
    let d = &key.details;
    let users = (d.users.len() + d.user_attributes.len()) as u32;
    let subkeys = key.public_subkeys.len() as u32;
    let signatures = (d.revocation_signatures.len()
        + d.direct_signatures.len()
        + d.users.iter().map(|u| u.signatures.len()).sum::<usize>()
        + d.user_attributes
            .iter()
            .map(|u| u.signatures.len())
            .sum::<usize>()
        + key
            .public_subkeys
            .iter()
            .map(|s| s.signatures.len())
            .sum::<usize>()) as u32;
    let missed: Vec<String> = [
        ("subkeys", part.subkeys, subkeys),
        ("user IDs", part.user_ids, users),
        ("signatures", part.signatures, signatures),
    ]
    .into_iter()
    .filter(|(_, there, read)| read < there)
    .map(|(what, there, read)| format!("{} of {there} {what}", there - read))
    .collect();
    (!missed.is_empty()).then(|| format!("{} could not be read", missed.join(", ")))
}

/// Bytes from the file as text, at most [`MAX_TEXT`] characters.
fn text(bytes: &[u8]) -> String {
    bounded(&String::from_utf8_lossy(bytes))
}

fn bounded(text: &str) -> String {
    match text.char_indices().nth(MAX_TEXT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

fn time(secs: u32) -> DateTime<Utc> {
    DateTime::from_timestamp(i64::from(secs), 0).unwrap_or_default()
}
