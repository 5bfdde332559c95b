//! Reading an OpenPGP certificate (public key) from an artifact's bytes, armored or binary,
//! with rPGP: the primary key and subkey fingerprints, algorithms, creation and expiry
//! dates, and user IDs — what the manual procedure reads off `gpg --with-fingerprint`.
//! Only small bodies are inspected ([`crate::INSPECT_LIMIT`]); anything that does not parse
//! as a certificate is simply not one.

use chrono::{DateTime, Utc};
use pgp::composed::{Deserializable, SignedPublicKey};
use pgp::packet::Signature;
use pgp::types::KeyDetails;
use tofu_record::{OpenPgpCert, OpenPgpKey};

/// The certificate in `bytes`, when they hold one.
pub(crate) fn inspect(bytes: &[u8]) -> Option<OpenPgpCert> {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace())?;
    let body = &bytes[start..];
    let key = if body.starts_with(b"-----BEGIN PGP PUBLIC KEY BLOCK-----") {
        SignedPublicKey::from_armor_single(body).ok()?.0
    } else if matches!(body[0], 0x98 | 0x99 | 0x9a | 0xc6) {
        // An old- or new-format packet header with tag 6, "public key".
        SignedPublicKey::from_bytes(body).ok()?
    } else {
        return None;
    };
    let primary_sigs = key
        .details
        .direct_signatures
        .iter()
        .chain(key.details.users.iter().flat_map(|u| u.signatures.iter()));
    let primary = describe(&key.primary_key, primary_sigs);
    let subkeys = key
        .public_subkeys
        .iter()
        .map(|s| describe(&s.key, s.signatures.iter()))
        .collect();
    let user_ids = key
        .details
        .users
        .iter()
        .map(|u| String::from_utf8_lossy(u.id.id()).into_owned())
        .collect();
    Some(OpenPgpCert {
        primary,
        subkeys,
        user_ids,
    })
}

fn describe<'a>(
    key: &impl KeyDetails,
    signatures: impl Iterator<Item = &'a Signature>,
) -> OpenPgpKey {
    let created = key.created_at();
    // The newest signature that states a key expiration time decides it (0 means none).
    let expiry = signatures
        .filter_map(|s| Some((s.created()?.as_secs(), s.key_expiration_time()?)))
        .max_by_key(|(at, _)| *at)
        .map(|(_, d)| d.as_secs())
        .filter(|secs| *secs > 0);
    OpenPgpKey {
        fingerprint: format!("{:X}", key.fingerprint()),
        algorithm: format!("{:?}", key.algorithm()),
        created_at: time(created.as_secs()),
        expires_at: expiry.map(|secs| time(created.as_secs().saturating_add(secs))),
    }
}

fn time(secs: u32) -> DateTime<Utc> {
    DateTime::from_timestamp(i64::from(secs), 0).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn non_keys_are_not_certificates() {
        assert!(super::inspect(b"hello").is_none());
        assert!(super::inspect(b"").is_none());
        assert!(super::inspect(b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\ngarbage\n").is_none());
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Bytes that get past `inspect`'s first look: armor around random base64, or a
    /// public-key packet header before random bytes.
    fn near_key() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            "[A-Za-z0-9+/=\n]{0,600}".prop_map(|body| {
                let (begin, end) = ("BEGIN PGP PUBLIC KEY BLOCK", "END PGP PUBLIC KEY BLOCK");
                format!("  -----{begin}-----\n\n{body}\n-----{end}-----\n").into_bytes()
            }),
            (
                proptest::sample::select(vec![0x98u8, 0x99, 0x9a, 0xc6]),
                proptest::collection::vec(any::<u8>(), 0..1024),
            )
                .prop_map(|(tag, rest)| {
                    let mut bytes = vec![tag];
                    bytes.extend(rest);
                    bytes
                }),
            (0u8..=255, proptest::collection::vec(any::<u8>(), 0..64)).prop_map(|(len, rest)| {
                // A new-format public key packet of version 4 or 6, with a plausible header.
                let mut bytes = vec![0xc6, len, 4, 0x5f, 0, 0, 0, 22];
                bytes.extend(rest);
                bytes
            }),
        ]
    }

    proptest! {
        /// `inspect` never panics on any bytes, nor on near-keys, and a certificate it
        /// reports has uppercase hex fingerprints of a v4 (40) or v6 (64) key.
        #[test]
        fn inspect_never_panics(
            bytes in prop_oneof![proptest::collection::vec(any::<u8>(), 0..4096), near_key()],
        ) {
            if let Some(cert) = inspect(&bytes) {
                for key in std::iter::once(&cert.primary).chain(&cert.subkeys) {
                    let fp = &key.fingerprint;
                    prop_assert!(matches!(fp.len(), 40 | 64), "{}", fp);
                    let hex = fp.bytes().all(|b| matches!(b, b'0'..=b'9' | b'A'..=b'F'));
                    prop_assert!(hex, "{}", fp);
                }
            }
        }
    }
}
