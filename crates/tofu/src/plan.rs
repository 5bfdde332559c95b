//! Plans: a TOML file listing the artifacts of one audit, so the same audit can be repeated
//! on several days with `tofu fetch --plan FILE`. Parsed once, strictly (unknown keys are
//! errors), into typed values; every error names the file and line.
//!
//! ```toml
//! name = "tails-signing-key"
//!
//! [[artifact]]
//! id = "tails-signing-key"
//! urls = ["https://tails.net/tails-signing.key"]  # several URLs are mirrors; all must agree
//! ```

use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;
use tofu_fetch::oci::{Platforms, Reference};
use tofu_fetch::{BrewTarget, Source, Target};
use tofu_record::redact::{redact_text, redact_url};
use toml::Spanned;
use url::Url;

use crate::vouch::{self, Listed, LocalKeyring, Signed, Signer, Vouches, Vouching};

/// The function that turns a place in the plan and a message into an error naming the line.
type At<'a> = dyn Fn(std::ops::Range<usize>, String) -> PlanError + 'a;

/// A plan, parsed and checked.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The plan's name.
    pub name: String,
    /// SHA-256 of the file's bytes.
    pub sha256: String,
    /// The artifacts, in the order they are fetched: file order, except that whatever
    /// vouches for an artifact (its signature, its key, its checksum list) comes before it.
    pub artifacts: Vec<Target>,
    /// How the artifacts vouch for each other, and the key files the user holds.
    pub vouches: Vouches,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlan {
    name: Spanned<String>,
    /// OpenPGP key files the user holds, relative to the plan, for `signed-by`
    /// fingerprints.
    #[serde(default)]
    keyrings: Vec<Spanned<String>>,
    #[serde(default)]
    artifact: Vec<Spanned<RawArtifact>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawArtifact {
    id: Spanned<String>,
    urls: Option<Spanned<Vec<Spanned<String>>>>,
    oci: Option<Spanned<String>>,
    #[serde(default)]
    platforms: Vec<String>,
    homebrew: Option<Spanned<String>>,
    #[serde(default)]
    bottle_tags: Vec<String>,
    signature: Option<Spanned<String>>,
    #[serde(rename = "signed-by")]
    signed_by: Option<Spanned<String>>,
    #[serde(rename = "signed-by-fingerprint")]
    signed_by_fingerprint: Option<Spanned<String>>,
    checksums: Option<Spanned<String>>,
}

/// A problem with a plan file, with its place.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PlanError(pub String);

/// Reads and checks a plan file.
pub fn load(path: &Path) -> Result<Plan, PlanError> {
    let bytes = std::fs::read(path)
        .map_err(|e| PlanError(format!("cannot read plan {}: {e}", path.display())))?;
    let text = String::from_utf8(bytes.clone())
        .map_err(|_| PlanError(format!("{}: the plan is not UTF-8", path.display())))?;
    parse(path, &text, &bytes)
}

fn parse(path: &Path, text: &str, bytes: &[u8]) -> Result<Plan, PlanError> {
    let raw: RawPlan =
        toml::from_str(text).map_err(|e| PlanError(crate::toml_error::describe(path, text, &e)))?;
    let at = |span: std::ops::Range<usize>, message: String| {
        PlanError(format!(
            "{}:{}: {message}",
            path.display(),
            crate::toml_error::line_of(text, span.start)
        ))
    };
    if raw.name.get_ref().trim().is_empty() {
        return Err(at(raw.name.span(), "the plan's name is empty".to_owned()));
    }
    if raw.artifact.is_empty() {
        return Err(PlanError(format!(
            "{}: the plan lists no [[artifact]]",
            path.display()
        )));
    }
    let mut ids = BTreeSet::new();
    let mut artifacts = Vec::new();
    for entry in &raw.artifact {
        let entry = entry.get_ref();
        let id = entry.id.get_ref().trim().to_owned();
        if id.is_empty() {
            return Err(at(entry.id.span(), "an artifact id is empty".to_owned()));
        }
        if !ids.insert(id.clone()) {
            return Err(at(
                entry.id.span(),
                format!("artifact id {id:?} appears twice"),
            ));
        }
        let source = source(&id, entry, &at)?;
        artifacts.push(Target { id, source });
    }
    let keyrings = keyrings(path, &raw.keyrings, &at)?;
    let vouches = vouches(&raw.artifact, &artifacts, keyrings, &at)?;
    let ids: Vec<String> = artifacts.iter().map(|t| t.id.clone()).collect();
    let order = vouch::fetch_order(&ids, &vouches).map_err(|cycle| {
        PlanError(format!(
            "{}: the artifacts vouch for each other in a circle ({cycle}): nothing can be \
             checked first",
            path.display()
        ))
    })?;
    let mut by_id: std::collections::BTreeMap<String, Target> =
        artifacts.into_iter().map(|t| (t.id.clone(), t)).collect();
    let artifacts = order.iter().filter_map(|id| by_id.remove(id)).collect();
    Ok(Plan {
        name: raw.name.into_inner(),
        sha256: tofu_record::digest::sha256_hex(bytes),
        artifacts,
        vouches,
    })
}

/// The plan's `keyrings`: key files read from beside the plan, each holding a certificate.
fn keyrings(
    plan: &Path,
    raw: &[Spanned<String>],
    at: &At<'_>,
) -> Result<Vec<LocalKeyring>, PlanError> {
    let dir = plan.parent().unwrap_or(Path::new("."));
    raw.iter()
        .map(|name| {
            let file = dir.join(name.get_ref());
            let bytes = std::fs::read(&file).map_err(|e| {
                at(
                    name.span(),
                    format!("cannot read key file {}: {e}", file.display()),
                )
            })?;
            let certificates = tofu_fetch::openpgp::verify::certificates(&bytes);
            if certificates.is_empty() {
                return Err(at(
                    name.span(),
                    format!("{} holds no OpenPGP certificate", file.display()),
                ));
            }
            Ok(LocalKeyring {
                sha256: tofu_record::digest::sha256_hex(&bytes),
                certificates,
            })
        })
        .collect()
}

/// Each artifact's `signature`, `signed-by` and `checksums`, checked: they name other file
/// artifacts of the plan (or, for `signed-by`, a certificate of the plan's `keyrings`), and
/// a listed artifact's URLs share one file name.
fn vouches(
    raw: &[Spanned<RawArtifact>],
    targets: &[Target],
    keyrings: Vec<LocalKeyring>,
    at: &At<'_>,
) -> Result<Vouches, PlanError> {
    let mut vouches = Vouches {
        of: std::collections::BTreeMap::new(),
        keyrings,
    };
    for (entry, target) in raw.iter().map(Spanned::get_ref).zip(targets) {
        let id = &target.id;
        let file = |field: &Spanned<String>, what: &str| referenced(id, field, what, targets, at);
        let signature = match (&entry.signature, &entry.signed_by) {
            (None, None) => None,
            (Some(sig), Some(by)) => Some(Signed {
                signature: file(sig, "signature")?,
                by: pinned(
                    id,
                    signer(id, by, targets, &vouches.keyrings, at)?,
                    entry.signed_by_fingerprint.as_ref(),
                    at,
                )?,
            }),
            (Some(sig), None) => {
                return Err(at(
                    sig.span(),
                    format!(
                        "artifact {id:?} has a signature but no signed-by: name the key \
                         artifact or its fingerprint"
                    ),
                ));
            }
            (None, Some(by)) => {
                return Err(at(
                    by.span(),
                    format!("artifact {id:?} has signed-by but no signature artifact"),
                ));
            }
        };
        if let (None, Some(pin)) = (&signature, &entry.signed_by_fingerprint) {
            return Err(at(
                pin.span(),
                format!("artifact {id:?} has signed-by-fingerprint but no signature and signed-by"),
            ));
        }
        let checksums = match &entry.checksums {
            None => None,
            Some(list) => Some(Listed {
                list: file(list, "checksum list")?,
                name: listed_name(id, &target.source, list, at)?,
            }),
        };
        if signature.is_none() && checksums.is_none() {
            continue;
        }
        if !matches!(target.source, Source::Urls(_)) {
            return Err(at(
                entry.id.span(),
                format!("artifact {id:?}: signature and checksums apply to files (urls) only"),
            ));
        }
        let vouching = Vouching {
            signature,
            checksums,
        };
        vouches.of.insert(id.clone(), vouching);
    }
    Ok(vouches)
}

/// The artifact `field` names as artifact `id`'s `what`: another file artifact of the plan.
fn referenced(
    id: &str,
    field: &Spanned<String>,
    what: &str,
    targets: &[Target],
    at: &At<'_>,
) -> Result<String, PlanError> {
    let named = field.get_ref().trim();
    let message = match targets.iter().find(|t| t.id == named) {
        Some(t) if t.id == id => format!("artifact {id:?} names itself as its {what}"),
        Some(t) if matches!(t.source, Source::Urls(_)) => return Ok(t.id.clone()),
        Some(_) => format!("the {what} {named:?} must be a file (urls), not an image or formula"),
        None => format!("artifact {id:?}: {what} {named:?} is no artifact of this plan"),
    };
    Err(at(field.span(), message))
}

/// `signed-by-fingerprint`: the one certificate of `signed-by`'s key artifact that may sign.
fn pinned(
    id: &str,
    signer: Signer,
    pin: Option<&Spanned<String>>,
    at: &At<'_>,
) -> Result<Signer, PlanError> {
    let Some(pin) = pin else {
        return Ok(signer);
    };
    let Signer::Artifact { key, .. } = signer else {
        return Err(at(
            pin.span(),
            format!(
                "artifact {id:?}: signed-by-fingerprint pins a certificate of the key artifact \
                 signed-by names; signed-by is a fingerprint already"
            ),
        ));
    };
    match vouch::parse_fingerprint(pin.get_ref()) {
        Some(fingerprint) => Ok(Signer::Artifact {
            key,
            pin: Some(fingerprint),
        }),
        None => Err(at(
            pin.span(),
            format!(
                "artifact {id:?}: signed-by-fingerprint {:?} is not an OpenPGP fingerprint (40 \
                 or 64 hex digits)",
                redact_text(pin.get_ref())
            ),
        )),
    }
}

/// `signed-by`: a key artifact of the plan, or the fingerprint of a certificate in the
/// plan's `keyrings`.
fn signer(
    id: &str,
    by: &Spanned<String>,
    targets: &[Target],
    keyrings: &[LocalKeyring],
    at: &At<'_>,
) -> Result<Signer, PlanError> {
    if targets.iter().any(|t| t.id == by.get_ref().trim()) {
        return referenced(id, by, "signing key", targets, at)
            .map(|key| Signer::Artifact { key, pin: None });
    }
    let Some(fingerprint) = vouch::parse_fingerprint(by.get_ref()) else {
        return Err(at(
            by.span(),
            format!(
                "artifact {id:?}: signed-by {:?} is neither an artifact of this plan nor an \
                 OpenPGP fingerprint (40 or 64 hex digits)",
                redact_text(by.get_ref())
            ),
        ));
    };
    let held = keyrings.iter().any(|k| {
        k.certificates
            .iter()
            .any(|c| tofu_fetch::openpgp::verify::fingerprint(c) == fingerprint)
    });
    if !held {
        return Err(at(
            by.span(),
            format!(
                "artifact {id:?}: no key file of the plan's keyrings holds certificate \
                 {fingerprint}; add the file that does to `keyrings`"
            ),
        ));
    }
    Ok(Signer::Fingerprint(fingerprint))
}

/// The file name a checksum list knows the artifact by: its URLs' last path segment, the
/// same for every mirror.
fn listed_name(
    id: &str,
    source: &Source,
    list: &Spanned<String>,
    at: &At<'_>,
) -> Result<String, PlanError> {
    let Source::Urls(urls) = source else {
        return Err(at(
            list.span(),
            format!("artifact {id:?}: checksums apply to files (urls) only"),
        ));
    };
    let names: BTreeSet<Option<String>> =
        urls.iter().map(tofu_fetch::checksums::file_name).collect();
    match names.into_iter().collect::<Vec<_>>().as_slice() {
        [Some(name)] => Ok(name.clone()),
        [None] => Err(at(
            list.span(),
            format!("artifact {id:?}: its URL ends in no file name to look up in the list"),
        )),
        _ => Err(at(
            list.span(),
            format!(
                "artifact {id:?}: its URLs end in different file names; a checksum list names \
                 one"
            ),
        )),
    }
}

/// Where a plan entry's artifact comes from: exactly one of `urls`, `oci` or `homebrew`,
/// with only the keys that kind takes.
fn source(id: &str, entry: &RawArtifact, at: &At<'_>) -> Result<Source, PlanError> {
    let refuse = |message: String| Err(at(entry.id.span(), format!("artifact {id:?}{message}")));
    if entry.homebrew.is_none() && !entry.bottle_tags.is_empty() {
        return refuse(": bottle_tags apply to homebrew artifacts only".to_owned());
    }
    match (&entry.urls, &entry.oci, &entry.homebrew) {
        (None, None, Some(formula)) => {
            if !entry.platforms.is_empty() {
                return refuse(": homebrew artifacts take bottle_tags, not platforms".to_owned());
            }
            let mut target =
                BrewTarget::parse(formula.get_ref()).map_err(|e| at(formula.span(), e))?;
            target.tags.extend(entry.bottle_tags.iter().cloned());
            Ok(Source::Homebrew(target))
        }
        (Some(urls), None, None) => {
            if !entry.platforms.is_empty() {
                return refuse(": platforms apply to oci artifacts only".to_owned());
            }
            Ok(Source::Urls(parse_urls(id, urls, at)?))
        }
        (None, Some(oci), None) => {
            let reference = Reference::parse(oci.get_ref()).map_err(|e| at(oci.span(), e))?;
            let platforms = Platforms::parse(&entry.platforms)
                .map_err(|e| at(entry.id.span(), format!("artifact {id:?}: {e}")))?;
            Ok(Source::Oci(reference, platforms))
        }
        _ => refuse(" needs exactly one of urls, oci or homebrew".to_owned()),
    }
}

fn parse_urls(
    id: &str,
    urls: &Spanned<Vec<Spanned<String>>>,
    at: &At<'_>,
) -> Result<Vec<Url>, PlanError> {
    if urls.get_ref().is_empty() {
        return Err(at(
            urls.span(),
            format!("artifact {id:?} has an empty urls list"),
        ));
    }
    let mut parsed: Vec<Url> = Vec::new();
    for raw_url in urls.get_ref() {
        let url = tofu_fetch::http_url(raw_url.get_ref()).ok_or_else(|| {
            at(
                raw_url.span(),
                format!(
                    "{:?} is not an http:// or https:// URL",
                    redact_text(raw_url.get_ref())
                ),
            )
        })?;
        if parsed.contains(&url) {
            return Err(at(
                raw_url.span(),
                format!("{} is listed twice", redact_url(&url)),
            ));
        }
        parsed.push(url);
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Plan, PlanError> {
        parse(Path::new("p.toml"), text, text.as_bytes())
    }

    #[test]
    fn good_plans_parse_and_bad_ones_name_the_line() {
        let plan = parse_str(
            "name = \"x\"\n[[artifact]]\nid = \"a\"\nurls = [\"https://a.example/f\", \"https://b.example/f\"]\n",
        )
        .unwrap();
        assert!(matches!(&plan.artifacts[0].source, Source::Urls(u) if u.len() == 2));
        assert_eq!(plan.sha256.len(), 64);
        let cases = [
            (
                "name = \"x\"\n[[artifact]]\nid = \"a\"\nurl = [\"https://a.example/f\"]\n",
                "p.toml:4:",
            ),
            (
                "name = \"x\"\n[[artifact]]\nid = \"a\"\nurls = []\n",
                "p.toml:4: artifact \"a\" has an empty urls list",
            ),
            (
                "name = \"x\"\n[[artifact]]\nid = \"a\"\nurls = [\"ftp://a.example/f\"]\n",
                "p.toml:4:",
            ),
            ("name = \"x\"\n", "no [[artifact]]"),
            (
                "name = \"x\"\n[[artifact]]\nid = \"a\"\nurls = [\"https://a.example/f\"]\n[[artifact]]\nid = \"a\"\nurls = [\"https://a.example/g\"]\n",
                "p.toml:6: artifact id \"a\" appears twice",
            ),
            ("nmae = \"x\"\n", "p.toml:1:"),
            (
                "name = \"x\"\n[[artifact]]\nid = \"a\"\noci = \"debian\"\nurls = [\"https://a.example/f\"]\n",
                "p.toml:3: artifact \"a\" needs exactly one of urls, oci or homebrew",
            ),
            (
                "name = \"x\"\n[[artifact]]\nid = \"a\"\noci = \"Not An Image\"\n",
                "p.toml:4:",
            ),
            (
                "name = \"x\"\n[[artifact]]\nid = \"a\"\noci = \"debian\"\nplatforms = [\"linux\"]\n",
                "p.toml:3:",
            ),
            (
                "name = \"x\"\n[[artifact]]\nid = \"a\"\nurls = [\"https://a.example/f\"]\nbottle_tags = [\"x\"]\n",
                "bottle_tags apply to homebrew artifacts only",
            ),
        ];
        for (text, want) in cases {
            let err = parse_str(text).unwrap_err().to_string();
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }
}

#[cfg(test)]
mod vouching {
    use super::*;

    fn parse_str(text: &str) -> Result<Plan, PlanError> {
        parse(Path::new("p.toml"), text, text.as_bytes())
    }

    const FILES: &str = "name = \"x\"
[[artifact]]
id = \"iso\"
urls = [\"https://a.example/d/x.iso\", \"https://b.example/e/x.iso\"]
checksums = \"sums\"
[[artifact]]
id = \"sums\"
urls = [\"https://a.example/d/SHA256SUMS\"]
signature = \"sums.sig\"
signed-by = \"key\"
[[artifact]]
id = \"sums.sig\"
urls = [\"https://a.example/d/SHA256SUMS.sign\"]
[[artifact]]
id = \"key\"
urls = [\"https://a.example/key.asc\"]
";

    #[test]
    fn what_vouches_is_fetched_first_and_the_listed_name_is_the_urls_file_name() {
        let plan = parse_str(FILES).unwrap();
        let order: Vec<&str> = plan.artifacts.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(order, ["sums.sig", "key", "sums", "iso"]);
        let iso = &plan.vouches.of["iso"];
        assert_eq!(iso.checksums.as_ref().unwrap().name, "x.iso");
        let sums = plan.vouches.of["sums"].signature.as_ref().unwrap();
        assert_eq!(
            sums.by,
            Signer::Artifact {
                key: "key".to_owned(),
                pin: None
            }
        );

        // The key artifact with one certificate of it pinned, as people write fingerprints.
        let pinned = FILES.replacen(
            "signed-by = \"key\"",
            "signed-by = \"key\"\nsigned-by-fingerprint = \"0xdf9b 9c49 eaa9 2984 3258  9d76 da87 e80d 6294 be9b\"",
            1,
        );
        let plan = parse_str(&pinned).unwrap();
        let sums = plan.vouches.of["sums"].signature.as_ref().unwrap();
        assert_eq!(
            sums.by,
            Signer::Artifact {
                key: "key".to_owned(),
                pin: Some("DF9B9C49EAA9298432589D76DA87E80D6294BE9B".to_owned())
            }
        );
    }

    #[test]
    fn every_wrong_reference_is_named_at_its_line() {
        let cases = [
            (
                "signed-by = \"key\"\n",
                "",
                "p.toml:9: artifact \"sums\" has a signature but no signed-by",
            ),
            (
                "signature = \"sums.sig\"\n",
                "",
                "p.toml:9: artifact \"sums\" has signed-by but no signature",
            ),
            (
                "signature = \"sums.sig\"",
                "signature = \"nope\"",
                "p.toml:9: artifact \"sums\": signature \"nope\" is no artifact of this plan",
            ),
            (
                "signature = \"sums.sig\"",
                "signature = \"sums\"",
                "p.toml:9: artifact \"sums\" names itself as its signature",
            ),
            (
                "signed-by = \"key\"",
                "signed-by = \"the key\"",
                "p.toml:10: artifact \"sums\": signed-by \"the key\" is neither an artifact",
            ),
            (
                "signed-by = \"key\"",
                "signed-by = \"DF9B9C49EAA9298432589D76DA87E80D6294BE9B\"",
                "p.toml:10: artifact \"sums\": no key file of the plan's keyrings holds certificate DF9B9C49EAA9298432589D76DA87E80D6294BE9B",
            ),
            (
                "signed-by = \"key\"",
                "signed-by = \"key\"\nsigned-by-fingerprint = \"DA87E80D6294BE9B\"",
                "p.toml:11: artifact \"sums\": signed-by-fingerprint \"DA87E80D6294BE9B\" is not an OpenPGP fingerprint",
            ),
            (
                "checksums = \"sums\"",
                "checksums = \"sums\"\nsigned-by-fingerprint = \"DF9B9C49EAA9298432589D76DA87E80D6294BE9B\"",
                "p.toml:6: artifact \"iso\" has signed-by-fingerprint but no signature and signed-by",
            ),
            (
                "https://b.example/e/x.iso",
                "https://b.example/e/y.iso",
                "p.toml:5: artifact \"iso\": its URLs end in different file names",
            ),
            (
                "https://b.example/e/x.iso",
                "https://b.example/e/",
                "p.toml:5: artifact \"iso\": its URLs end in different file names",
            ),
            (
                "urls = [\"https://a.example/key.asc\"]",
                "oci = \"debian\"",
                "p.toml:10: the signing key \"key\" must be a file (urls)",
            ),
            (
                "urls = [\"https://a.example/d/SHA256SUMS.sign\"]",
                "urls = [\"https://a.example/d/SHA256SUMS.sign\"]\nchecksums = \"sums\"",
                "the artifacts vouch for each other in a circle (sums → sums.sig → sums)",
            ),
        ];
        for (old, new, want) in cases {
            assert!(FILES.contains(old), "{old}");
            let text = FILES.replacen(old, new, 1);
            let err = parse_str(&text).unwrap_err().to_string();
            assert!(err.contains(want), "{new:?}: {err}");
        }
        let oci = FILES.replacen(
            "urls = [\"https://a.example/d/x.iso\", \"https://b.example/e/x.iso\"]\nchecksums = \"sums\"",
            "oci = \"debian\"\nsignature = \"sums.sig\"\nsigned-by = \"key\"",
            1,
        );
        let err = parse_str(&oci).unwrap_err().to_string();
        assert!(
            err.contains(
                "p.toml:3: artifact \"iso\": signature and checksums apply to files (urls) only"
            ),
            "{err}"
        );
    }
}

#[cfg(test)]
mod configs {
    use super::*;

    /// Every plan shipped in configs/ parses (the example config is not a plan).
    #[test]
    fn every_plan_in_configs_loads() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
        let mut plans = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|x| x != "toml")
                || path.file_name().is_some_and(|n| n == "tofu.example.toml")
            {
                continue;
            }
            let plan = load(&path).unwrap_or_else(|e| panic!("{e}"));
            assert!(!plan.artifacts.is_empty());
            plans += 1;
        }
        assert!(plans >= 2, "configs/ holds {plans} plans");
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn parse_str(text: &str) -> Result<Plan, PlanError> {
        parse(Path::new("p.toml"), text, text.as_bytes())
    }

    /// A value of a plan key: the right shape, the wrong shape, or junk.
    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            "\"[a-z0-9 ._-]{0,12}\"",
            Just("\"https://a.example/f\"".to_owned()),
            Just("[\"https://a.example/f\", \"https://b.example/f\"]".to_owned()),
            Just("[\"https://a.example/f\", \"https://a.example/f\"]".to_owned()),
            Just("[\"ftp://a.example/f\"]".to_owned()),
            Just("[]".to_owned()),
            Just("\"debian:bookworm\"".to_owned()),
            Just("\"Not/An/Image\"".to_owned()),
            Just("\"wget\"".to_owned()),
            Just("[\"linux/amd64\"]".to_owned()),
            Just("[\"linux\"]".to_owned()),
            Just("[\"arm64_sonoma\"]".to_owned()),
            Just("\"a\"".to_owned()),
            Just("\"b\"".to_owned()),
            Just("\"DF9B9C49EAA9298432589D76DA87E80D6294BE9B\"".to_owned()),
            "-?[0-9]{1,4}",
            Just("true".to_owned()),
            Just("{ a = 1 }".to_owned()),
            any::<String>().prop_map(|s| format!("{s:?}")),
        ]
    }

    /// Plan-shaped TOML: a name, then artifacts made of the plan's keys (and a stranger) with
    /// the values above, some lines broken.
    fn plan_text() -> impl Strategy<Value = String> {
        let key = prop_oneof![
            Just("id"),
            Just("urls"),
            Just("oci"),
            Just("platforms"),
            Just("homebrew"),
            Just("bottle_tags"),
            Just("url"),
            Just("signature"),
            Just("signed-by"),
            Just("checksums"),
        ];
        let artifact = proptest::collection::vec((key, value()), 0..5).prop_map(|pairs| {
            let mut out = String::from("[[artifact]]\n");
            for (k, v) in pairs {
                out.push_str(&format!("{k} = {v}\n"));
            }
            out
        });
        (
            proptest::option::of(value()),
            proptest::collection::vec(artifact, 0..4),
            proptest::option::of(any::<String>()),
        )
            .prop_map(|(name, artifacts, noise)| {
                let mut out = name.map(|n| format!("name = {n}\n")).unwrap_or_default();
                out.extend(artifacts);
                if let Some(noise) = noise {
                    out.push_str(&noise);
                }
                out
            })
    }

    proptest! {
        /// Any text at all: a plan or an error that names the file, never a panic.
        #[test]
        fn any_text_is_a_plan_or_an_error_naming_the_file(text in any::<String>()) {
            if let Err(e) = parse_str(&text) {
                prop_assert!(e.0.starts_with("p.toml"), "{}", e.0);
            }
        }

        /// Plan-shaped text: an error names the file and, when it is about a place, the line
        /// (which exists); an accepted plan keeps every promise the type makes.
        #[test]
        fn plan_shaped_text_is_checked_whole(text in plan_text()) {
            match parse_str(&text) {
                Err(e) => {
                    prop_assert!(e.0.starts_with("p.toml"), "{}", e.0);
                    if let Some(line) = e.0
                        .strip_prefix("p.toml:")
                        .and_then(|rest| rest.split(':').next())
                        .and_then(|n| n.parse::<usize>().ok())
                    {
                        prop_assert!(line >= 1 && line <= text.lines().count().max(1) + 1, "{}", e.0);
                    }
                }
                Ok(plan) => {
                    prop_assert!(!plan.name.trim().is_empty());
                    prop_assert!(!plan.artifacts.is_empty());
                    let ids: BTreeSet<&str> = plan.artifacts.iter().map(|a| a.id.as_str()).collect();
                    prop_assert_eq!(ids.len(), plan.artifacts.len());
                    prop_assert_eq!(plan.sha256, tofu_record::digest::sha256_hex(text.as_bytes()));
                    for a in &plan.artifacts {
                        prop_assert!(!a.id.is_empty());
                        if let Source::Urls(urls) = &a.source {
                            prop_assert!(!urls.is_empty());
                            prop_assert!(urls.iter().all(|u| matches!(u.scheme(), "http" | "https")));
                        }
                    }
                }
            }
        }
    }
}
