//! What other artifacts of a plan say of an artifact, as the run checked it: a publisher's
//! detached OpenPGP signature over it, and a checksum list (`SHA256SUMS`) naming its digest.
//! Each record says what was checked with what, and the outcome; [`SignatureRecord::holds`]
//! and [`ChecksumRecord::holds`] are the one reading of whether it vouches, which compare
//! uses.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A detached signature over the artifact, checked by the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SignatureRecord {
    /// The id of the artifact holding the signature (`.sig`, `.asc`, `.sign`).
    pub signature: String,
    /// SHA-256 of the signature file checked; null when it was not had.
    pub signature_sha256: Option<String>,
    /// The keys it was checked with.
    pub signed_by: SignedBy,
    /// One check per signature the file holds, in file order; empty when not checked.
    pub checks: Vec<SignatureCheck>,
    /// Why nothing was checked (the signature, the key or the artifact itself was not had
    /// complete), or null.
    pub unchecked: Option<String>,
}

/// The keys a signature must be made by, as the plan names them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SignedBy {
    /// A key artifact of the same run (itself compared across runs): any certificate it
    /// holds may sign, or only the one `fingerprint` pins.
    pub artifact: Option<String>,
    /// A certificate's primary fingerprint, uppercase hex: only that certificate may sign.
    /// Alone, the certificate is from a key file the user holds (the plan's `keyrings`);
    /// with `artifact`, from the key artifact (the plan's `signed-by-fingerprint`).
    pub fingerprint: Option<String>,
    /// SHA-256 of the key file the certificates were read from; null when it was not had.
    pub key_file_sha256: Option<String>,
}

/// One signature of a signature file, checked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SignatureCheck {
    /// How it fared.
    pub outcome: SignatureOutcome,
    /// Primary fingerprint of the certificate whose key made it.
    pub signer: Option<String>,
    /// Fingerprint of the key that made it (the primary or a subkey).
    pub key: Option<String>,
    /// When it says it was made.
    pub created_at: Option<DateTime<Utc>>,
    /// Its hash algorithm, e.g. `SHA256`.
    pub hash: Option<String>,
    /// Why, for anything but valid.
    pub detail: Option<String>,
}

/// How one signature fared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureOutcome {
    /// Made over the artifact's bytes by a key that could sign at the time.
    Valid,
    /// Not over these bytes.
    Bad,
    /// Made by none of the keys given.
    NoKey,
    /// Made by a key given that could not sign then: revoked, expired, made after it, or a
    /// subkey not bound for signing.
    UnusableKey,
    /// The signature's own expiry has passed.
    Expired,
    /// Not a signature of data that could be read.
    Unreadable,
}

impl SignatureOutcome {
    /// The outcome as the transcript spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureOutcome::Valid => "valid",
            SignatureOutcome::Bad => "bad",
            SignatureOutcome::NoKey => "no-key",
            SignatureOutcome::UnusableKey => "unusable-key",
            SignatureOutcome::Expired => "expired",
            SignatureOutcome::Unreadable => "unreadable",
        }
    }
}

/// Whether a record vouches, and if not, whether it contradicts the bytes or only could not
/// tell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Vouches {
    /// It vouches.
    Yes,
    /// It contradicts the artifact (a bad signature, a list that names another digest or
    /// not the file): why.
    Contradicts(String),
    /// Nothing could be checked: why.
    Unchecked(String),
}

impl SignatureRecord {
    /// Whether the signature vouches for the artifact. It does when at least one signature
    /// is valid (by the pinned certificate, when a fingerprint is pinned) and every other
    /// is valid too or made by a key the plan does not name (a file several parties
    /// signed). Any bad, expired, unreadable signature, or one by a key given that could not
    /// sign, contradicts.
    pub fn holds(&self) -> Vouches {
        if let Some(why) = &self.unchecked {
            return Vouches::Unchecked(why.clone());
        }
        let mut valid = false;
        for (n, check) in self.checks.iter().enumerate() {
            let detail = check.detail.as_deref().unwrap_or("");
            match check.outcome {
                SignatureOutcome::Valid => {
                    let pinned = self.signed_by.fingerprint.as_deref();
                    if pinned.is_some_and(|p| check.signer.as_deref() != Some(p)) {
                        return Vouches::Contradicts(format!(
                            "signature {} is by {}, not the certificate the plan pins",
                            n + 1,
                            check.signer.as_deref().unwrap_or("an unknown key")
                        ));
                    }
                    valid = true;
                }
                SignatureOutcome::NoKey => {}
                outcome => {
                    return Vouches::Contradicts(format!(
                        "signature {} is {}: {detail}",
                        n + 1,
                        outcome.as_str()
                    ));
                }
            }
        }
        if valid {
            Vouches::Yes
        } else {
            let detail = self
                .checks
                .iter()
                .find_map(|c| c.detail.as_deref())
                .unwrap_or("the file holds no signature");
            Vouches::Contradicts(format!("no valid signature by the keys named: {detail}"))
        }
    }

    /// The primary fingerprints of the certificates that made valid signatures.
    pub fn signers(&self) -> Vec<&str> {
        let mut signers: Vec<&str> = self
            .checks
            .iter()
            .filter(|c| c.outcome == SignatureOutcome::Valid)
            .filter_map(|c| c.signer.as_deref())
            .collect();
        signers.sort_unstable();
        signers.dedup();
        signers
    }
}

/// A checksum list's word on the artifact, checked by the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChecksumRecord {
    /// The id of the artifact holding the list (`SHA256SUMS`, `SHA512SUMS`).
    pub checksums: String,
    /// SHA-256 of the list checked; null when it was not had.
    pub checksums_sha256: Option<String>,
    /// The file name looked up: the last segment of the artifact's URL path, decoded.
    pub name: String,
    /// What the list says of that name; null when not checked.
    pub listing: Option<ChecksumListing>,
    /// Why nothing was checked, or null.
    pub unchecked: Option<String>,
}

/// What a checksum list says of one file name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChecksumListing {
    /// `listed` (with the artifact's digest), `differs` (with another digest) or `absent`.
    pub outcome: ListingOutcome,
    /// The line that decided, from 1; null when absent.
    pub line: Option<u64>,
    /// `sha256` or `sha512`; null when absent.
    pub algorithm: Option<String>,
    /// The digest that line lists, lowercase hex; null when absent.
    pub digest: Option<String>,
}

/// What a checksum list says of one file name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ListingOutcome {
    /// Listed with the artifact's digest.
    Listed,
    /// Listed with another digest.
    Differs,
    /// Not listed.
    Absent,
}

impl ChecksumRecord {
    /// Whether the list vouches for the artifact: it names the file with its digest, and
    /// with no other.
    pub fn holds(&self) -> Vouches {
        if let Some(why) = &self.unchecked {
            return Vouches::Unchecked(why.clone());
        }
        match &self.listing {
            None => Vouches::Unchecked("not checked".to_owned()),
            Some(l) => match l.outcome {
                ListingOutcome::Listed => Vouches::Yes,
                ListingOutcome::Differs => Vouches::Contradicts(format!(
                    "{} lists {:?} with another {} digest on line {}",
                    self.checksums,
                    self.name,
                    l.algorithm.as_deref().unwrap_or("?"),
                    l.line.unwrap_or(0)
                )),
                ListingOutcome::Absent => Vouches::Contradicts(format!(
                    "{} does not list {:?}",
                    self.checksums, self.name
                )),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(outcome: SignatureOutcome, signer: &str) -> SignatureCheck {
        SignatureCheck {
            outcome,
            signer: Some(signer.to_owned()),
            key: Some(signer.to_owned()),
            created_at: None,
            hash: None,
            detail: Some("why".to_owned()),
        }
    }

    fn record(pinned: Option<&str>, checks: Vec<SignatureCheck>) -> SignatureRecord {
        SignatureRecord {
            signature: "sig".to_owned(),
            signature_sha256: None,
            signed_by: SignedBy {
                artifact: None,
                fingerprint: pinned.map(str::to_owned),
                key_file_sha256: None,
            },
            checks,
            unchecked: None,
        }
    }

    #[test]
    fn a_signature_vouches_only_when_nothing_in_it_speaks_against() {
        use SignatureOutcome::*;
        let holds = |pinned, checks| record(pinned, checks).holds();
        assert_eq!(holds(None, vec![check(Valid, "A")]), Vouches::Yes);
        // Another party's signature beside a valid one: a file several signed.
        assert_eq!(
            holds(None, vec![check(NoKey, "B"), check(Valid, "A")]),
            Vouches::Yes
        );
        assert!(matches!(
            holds(None, vec![check(NoKey, "B")]),
            Vouches::Contradicts(_)
        ));
        assert!(matches!(holds(None, vec![]), Vouches::Contradicts(_)));
        for bad in [Bad, UnusableKey, Expired, Unreadable] {
            let v = holds(None, vec![check(Valid, "A"), check(bad, "A")]);
            assert!(
                matches!(v, Vouches::Contradicts(ref why) if why.contains(bad.as_str())),
                "{v:?}"
            );
        }
        assert_eq!(holds(Some("A"), vec![check(Valid, "A")]), Vouches::Yes);
        assert!(matches!(
            holds(Some("A"), vec![check(Valid, "B")]),
            Vouches::Contradicts(_)
        ));
        let mut unchecked = record(None, vec![check(Valid, "A")]);
        unchecked.unchecked = Some("not fetched".to_owned());
        assert_eq!(
            unchecked.holds(),
            Vouches::Unchecked("not fetched".to_owned())
        );
    }
}
