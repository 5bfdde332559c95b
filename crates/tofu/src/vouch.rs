//! How the artifacts of a plan vouch for each other, and the run's check of it: a detached
//! OpenPGP signature over an artifact (`signature`, with the keys it must be made by in
//! `signed-by`), and a checksum list that must name its digest (`checksums`).
//!
//! The plan is fetched in an order where whatever vouches for an artifact comes before it:
//! its signature and key are in hand when its body starts, so the signature is checked
//! while the body streams (an ISO is never held), and the small files others are checked
//! with (lists, signatures, keys) are held, up to [`tofu_fetch::HOLD_LIMIT`], until the
//! run ends.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use tofu_fetch::openpgp::verify::{self, Certificate, Check, Signatures};
use tofu_fetch::{Fetched, TooLarge, Watch};
use tofu_record::{
    ChecksumListing, ChecksumRecord, ListingOutcome, SignatureCheck, SignatureRecord, SignedBy,
};

/// What vouches for one artifact.
#[derive(Clone, Debug, Default)]
pub struct Vouching {
    /// A detached signature over it.
    pub signature: Option<Signed>,
    /// A checksum list that must name its digest.
    pub checksums: Option<Listed>,
}

/// `signature` and `signed-by`.
#[derive(Clone, Debug)]
pub struct Signed {
    /// The id of the signature's artifact.
    pub signature: String,
    /// The keys it must be made by.
    pub by: Signer,
}

/// `signed-by`: a key artifact of the plan (with `signed-by-fingerprint`, only its
/// certificate of that fingerprint), or a certificate of a key file the user holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signer {
    Artifact { key: String, pin: Option<String> },
    Fingerprint(String),
}

/// `checksums`, and the name the list knows the artifact by.
#[derive(Clone, Debug)]
pub struct Listed {
    /// The id of the list's artifact.
    pub list: String,
    /// The artifact's file name: the last segment of its URLs' paths.
    pub name: String,
}

/// A key file the user holds, named by the plan's `keyrings`.
#[derive(Clone)]
pub struct LocalKeyring {
    /// SHA-256 of its bytes.
    pub sha256: String,
    /// The certificates it holds.
    pub certificates: Vec<Certificate>,
}

impl std::fmt::Debug for LocalKeyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalKeyring")
            .field("sha256", &self.sha256)
            .field("certificates", &self.certificates.len())
            .finish()
    }
}

/// Every vouching of a plan.
#[derive(Clone, Debug, Default)]
pub struct Vouches {
    /// By the id of the artifact vouched for.
    pub of: BTreeMap<String, Vouching>,
    /// The plan's `keyrings`, in order.
    pub keyrings: Vec<LocalKeyring>,
}

impl Vouching {
    /// The ids of the artifacts this one is checked with.
    pub fn depends_on(&self) -> Vec<&str> {
        let mut ids = Vec::new();
        if let Some(signed) = &self.signature {
            ids.push(signed.signature.as_str());
            if let Signer::Artifact { key, .. } = &signed.by {
                ids.push(key.as_str());
            }
        }
        if let Some(listed) = &self.checksums {
            ids.push(listed.list.as_str());
        }
        ids
    }
}

/// `signed-by` as a fingerprint: 40 (v4) or 64 (v6) hex digits, spaces and a leading `0x`
/// allowed; uppercase. None when it is not one.
pub fn parse_fingerprint(raw: &str) -> Option<String> {
    let compact: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    let hex = compact
        .strip_prefix("0x")
        .or_else(|| compact.strip_prefix("0X"))
        .unwrap_or(&compact);
    (matches!(hex.len(), 40 | 64) && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| hex.to_ascii_uppercase())
}

/// `ids` (in plan order) so that whatever vouches for an artifact comes before it, else
/// plan order; or the cycle that makes that impossible.
pub fn fetch_order(ids: &[String], vouches: &Vouches) -> Result<Vec<String>, String> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        id: &str,
        vouches: &Vouches,
        marks: &mut BTreeMap<String, Mark>,
        path: &mut Vec<String>,
        order: &mut Vec<String>,
    ) -> Result<(), String> {
        match marks.get(id) {
            Some(Mark::Done) => return Ok(()),
            Some(Mark::Open) => {
                path.push(id.to_owned());
                let start = path.iter().position(|p| p == id).unwrap_or(0);
                return Err(path[start..].join(" → "));
            }
            None => {}
        }
        marks.insert(id.to_owned(), Mark::Open);
        path.push(id.to_owned());
        if let Some(v) = vouches.of.get(id) {
            for dep in v.depends_on() {
                visit(dep, vouches, marks, path, order)?;
            }
        }
        path.pop();
        marks.insert(id.to_owned(), Mark::Done);
        order.push(id.to_owned());
        Ok(())
    }
    let mut marks = BTreeMap::new();
    let mut order = Vec::with_capacity(ids.len());
    for id in ids {
        visit(id, vouches, &mut marks, &mut Vec::new(), &mut order)?;
    }
    Ok(order)
}

/// Why a body others are checked with is not held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unheld {
    /// It is larger than [`tofu_fetch::HOLD_LIMIT`].
    TooLarge,
    /// It was fetched before an interruption, but not kept beside the journal, or changed
    /// there since: the resumed run has nothing it can trust to check with.
    Lost,
}

/// A run's checks: the bodies held for others, and what each artifact's vouchers say.
pub struct Checker<'a> {
    vouches: &'a Vouches,
    /// The ids some artifact is checked with: their bodies are held.
    needed: BTreeSet<String>,
    /// Held bodies by id, or why one is not. An id not here was not fetched completely.
    held: BTreeMap<String, Result<Vec<u8>, Unheld>>,
}

/// What a signature check waits for while its artifact downloads.
pub struct Pending {
    record: SignatureRecord,
}

impl<'a> Checker<'a> {
    /// A run's checker, with the bodies an interrupted run had held.
    pub fn new(
        vouches: &'a Vouches,
        held: BTreeMap<String, Result<Vec<u8>, Unheld>>,
    ) -> Checker<'a> {
        let needed = vouches
            .of
            .values()
            .flat_map(Vouching::depends_on)
            .map(str::to_owned)
            .collect();
        Checker {
            vouches,
            needed,
            held,
        }
    }

    /// What to read of artifact `id`'s body as it arrives: held when others are checked with
    /// it; its signature checked as it streams, when it has one and all it needs is here.
    pub fn watch(&self, id: &str) -> (Watch, Option<Pending>) {
        let mut watch = Watch {
            hold: self.needed.contains(id),
            signatures: None,
        };
        let pending = self
            .vouches
            .of
            .get(id)
            .and_then(|v| v.signature.as_ref())
            .map(|signed| {
                let (record, signatures) = self.prepare(signed);
                watch.signatures = signatures;
                Pending { record }
            });
        (watch, pending)
    }

    /// The record of `signed`'s check, not yet made, and the signatures to check; or the
    /// record saying why they cannot be.
    fn prepare(&self, signed: &Signed) -> (SignatureRecord, Option<Arc<Signatures>>) {
        let mut record = SignatureRecord {
            signature: signed.signature.clone(),
            signature_sha256: None,
            signed_by: SignedBy {
                artifact: None,
                fingerprint: None,
                key_file_sha256: None,
            },
            checks: Vec::new(),
            unchecked: None,
        };
        let keys = match &signed.by {
            Signer::Artifact { key, pin } => {
                record.signed_by.artifact = Some(key.clone());
                record.signed_by.fingerprint.clone_from(pin);
                self.body(key, "key").map(|bytes| {
                    record.signed_by.key_file_sha256 = Some(sha256(bytes));
                    let mut certificates = verify::certificates(bytes);
                    // Pinned: no other certificate of the file may sign. A file without the
                    // pinned one then leaves every signature by a stranger's key.
                    if let Some(pin) = pin {
                        certificates.retain(|c| verify::fingerprint(c) == *pin);
                    }
                    certificates
                })
            }
            Signer::Fingerprint(fingerprint) => {
                record.signed_by.fingerprint = Some(fingerprint.clone());
                let found = self.vouches.keyrings.iter().find_map(|k| {
                    let certs: Vec<Certificate> = k
                        .certificates
                        .iter()
                        .filter(|c| verify::fingerprint(c) == *fingerprint)
                        .cloned()
                        .collect();
                    (!certs.is_empty()).then(|| (k.sha256.clone(), certs))
                });
                match found {
                    Some((file, certs)) => {
                        record.signed_by.key_file_sha256 = Some(file);
                        Ok(certs)
                    }
                    None => Err(format!(
                        "no key file of the plan's keyrings holds certificate {fingerprint}"
                    )),
                }
            }
        };
        let signature = self
            .body(&signed.signature, "signature")
            .inspect(|bytes| record.signature_sha256 = Some(sha256(bytes)));
        match (signature, keys) {
            (Ok(signature), Ok(keys)) => {
                let checks = Signatures::new(signature, keys, chrono::Utc::now());
                (record, Some(Arc::new(checks)))
            }
            (Err(why), _) | (_, Err(why)) => {
                record.unchecked = Some(why);
                (record, None)
            }
        }
    }

    /// The held body of `id`, or why there is none.
    fn body(&self, id: &str, what: &str) -> Result<&[u8], String> {
        match self.held.get(id) {
            Some(Ok(bytes)) => Ok(bytes),
            Some(Err(Unheld::TooLarge)) => Err(format!(
                "the {what} {id:?} is larger than the {} MiB tofu holds to check with",
                tofu_fetch::HOLD_LIMIT >> 20
            )),
            Some(Err(Unheld::Lost)) => Err(format!(
                "the {what} {id:?} was fetched before the interruption, but not kept beside \
                 the journal (or changed there since), so the resumed run cannot check with \
                 it; fetch again without --resume"
            )),
            None => Err(format!("the {what} {id:?} was not fetched completely")),
        }
    }

    /// Records in `fetched.artifact` what vouches for it, and holds its body when others are
    /// checked with it; returns the body held, for the journal.
    pub fn record(
        &mut self,
        fetched: &mut Fetched,
        pending: Option<Pending>,
    ) -> Option<Result<&[u8], TooLarge>> {
        let artifact = &mut fetched.artifact;
        if let Some(Pending { mut record }) = pending {
            match fetched.watched.signatures.take() {
                Some(checks) if record.unchecked.is_none() => {
                    record.checks = checks.into_iter().map(signature_check).collect();
                }
                _ if record.unchecked.is_none() => {
                    record.unchecked =
                        Some("the artifact itself was not fetched completely".to_owned());
                }
                _ => {}
            }
            artifact.signature = Some(record);
        }
        if let Some(listed) = self
            .vouches
            .of
            .get(&artifact.id)
            .and_then(|v| v.checksums.as_ref())
        {
            artifact.checksums = Some(self.listing(listed, artifact.ok_content()));
        }
        let held = fetched.watched.held.take()?;
        let kept = self
            .held
            .entry(artifact.id.clone())
            .insert_entry(held.map_err(|TooLarge| Unheld::TooLarge));
        // A body fetched now is held, or too large: never lost.
        Some(kept.into_mut().as_deref().map_err(|_| TooLarge))
    }

    /// What the list says of the artifact whose content is `content`.
    fn listing(&self, listed: &Listed, content: Option<&tofu_record::Content>) -> ChecksumRecord {
        let mut record = ChecksumRecord {
            checksums: listed.list.clone(),
            checksums_sha256: None,
            name: listed.name.clone(),
            listing: None,
            unchecked: None,
        };
        let list = match (self.body(&listed.list, "checksum list"), content) {
            (Ok(list), Some(content)) => {
                record.checksums_sha256 = Some(sha256(list));
                (list, content)
            }
            (Err(why), _) => {
                record.unchecked = Some(why);
                return record;
            }
            (_, None) => {
                record.unchecked =
                    Some("the artifact itself was not fetched completely".to_owned());
                return record;
            }
        };
        let (list, content) = list;
        let file = tofu_fetch::checksums::ChecksumFile::parse(list);
        let listing = file.listing(&listed.name, &content.sha256, &content.sha512);
        use tofu_fetch::checksums::Listing;
        record.listing = Some(match listing {
            Listing::Matches(line) | Listing::Differs(line) => ChecksumListing {
                outcome: if matches!(listing, Listing::Matches(_)) {
                    ListingOutcome::Listed
                } else {
                    ListingOutcome::Differs
                },
                line: Some(line.line),
                algorithm: Some(line.algorithm.to_owned()),
                digest: Some(line.digest.clone()),
            },
            Listing::Absent => ChecksumListing {
                outcome: ListingOutcome::Absent,
                line: None,
                algorithm: None,
                digest: None,
            },
        });
        record
    }
}

/// Whether something the plan names as vouching for `artifact` does not (it contradicts
/// it, or could not be checked).
pub fn not_vouched(artifact: &tofu_record::Artifact) -> bool {
    describe(artifact).iter().any(Result::is_err)
}

/// What vouches for `artifact`, a line each, for the run's report on stderr: `Ok` when it
/// vouches, `Err` when it contradicts or could not be checked.
pub fn describe(artifact: &tofu_record::Artifact) -> Vec<Result<String, String>> {
    use tofu_record::Vouches as V;
    let mut lines = Vec::new();
    if let Some(record) = &artifact.signature {
        let what = format!("signature {}", record.signature);
        lines.push(match record.holds() {
            V::Yes => Ok(format!("{what}: valid, by {}", record.signers().join(", "))),
            V::Contradicts(why) => Err(format!("{what}: DOES NOT VOUCH: {why}")),
            V::Unchecked(why) => Err(format!("{what}: not checked: {why}")),
        });
    }
    if let Some(record) = &artifact.checksums {
        let what = format!("checksum list {}", record.checksums);
        lines.push(match record.holds() {
            V::Yes => Ok(format!(
                "{what}: lists {:?} with this digest (line {})",
                record.name,
                record.listing.as_ref().and_then(|l| l.line).unwrap_or(0)
            )),
            V::Contradicts(why) => Err(format!("{what}: DOES NOT VOUCH: {why}")),
            V::Unchecked(why) => Err(format!("{what}: not checked: {why}")),
        });
    }
    lines
}

fn sha256(bytes: &[u8]) -> String {
    tofu_record::digest::sha256_hex(bytes)
}

/// A check as the transcript records it: the library's message bounded.
fn signature_check(mut check: Check) -> SignatureCheck {
    check.detail = check.detail.map(|d| bounded(&d));
    check
}

/// A message from a library, cut to 1,024 characters.
fn bounded(text: &str) -> String {
    match text.char_indices().nth(1024) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vouches(pairs: &[(&str, &[&str])]) -> Vouches {
        let mut v = Vouches::default();
        for (id, deps) in pairs {
            let vouching = Vouching {
                signature: deps.first().map(|s| Signed {
                    signature: (*s).to_owned(),
                    by: Signer::Artifact {
                        key: deps[1].to_owned(),
                        pin: None,
                    },
                }),
                checksums: deps.get(2).map(|l| Listed {
                    list: (*l).to_owned(),
                    name: "f".to_owned(),
                }),
            };
            v.of.insert((*id).to_owned(), vouching);
        }
        v
    }

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn vouchers_come_first_and_cycles_are_named() {
        let v = vouches(&[
            ("iso", &["sig", "key", "sums"]),
            ("sums", &["sums.sig", "key"]),
        ]);
        let order = fetch_order(&ids(&["iso", "sums", "sig", "sums.sig", "key"]), &v).unwrap();
        assert_eq!(order, ids(&["sig", "key", "sums.sig", "sums", "iso"]));

        let v = vouches(&[("a", &["b", "k"]), ("b", &["c", "k"]), ("c", &["a", "k"])]);
        let err = fetch_order(&ids(&["a", "b", "c", "k"]), &v).unwrap_err();
        assert_eq!(err, "a → b → c → a");
    }

    /// A list that a resumed run could not get back from beside the journal is said to be
    /// lost, not too large, and not "not fetched": each has its own remedy.
    #[test]
    fn a_list_not_held_says_why() {
        let v = vouches(&[("iso", &[])]);
        let listed = Listed {
            list: "sums".to_owned(),
            name: "file.iso".to_owned(),
        };
        let content = tofu_record::Content {
            size: 3,
            sha256: "ab".repeat(32),
            sha512: "cd".repeat(64),
        };
        let said = |held: Option<Unheld>| {
            let held = held
                .map(|why| ("sums".to_owned(), Err(why)))
                .into_iter()
                .collect();
            let checker = Checker::new(&v, held);
            checker.listing(&listed, Some(&content)).unchecked.unwrap()
        };
        assert!(said(Some(Unheld::Lost)).contains("not kept beside the journal"));
        assert!(said(Some(Unheld::TooLarge)).contains("larger than the 16 MiB"));
        assert!(said(None).contains("was not fetched completely"));
    }

    #[test]
    fn fingerprints_are_read_as_people_write_them() {
        let fpr = "DF9B9C49EAA9298432589D76DA87E80D6294BE9B";
        assert_eq!(parse_fingerprint(fpr).as_deref(), Some(fpr));
        assert_eq!(
            parse_fingerprint("0xdf9b 9c49 eaa9 2984 3258  9d76 da87 e80d 6294 be9b").as_deref(),
            Some(fpr)
        );
        assert_eq!(parse_fingerprint("DA87E80D6294BE9B"), None);
        assert_eq!(parse_fingerprint("debian-cd-key"), None);
    }
}
