//! Homebrew bottles: `brew:FORMULA[@TAG]` resolves the formula through the Homebrew JSON API
//! over the run's transport, then checks, link by link, API sha256 ↔ index entry annotations
//! (`sh.brew.bottle.digest`, ref name) ↔ the entry's manifest (one layer, that digest, that
//! size) ↔ the downloaded blob. Homebrew itself checks only the first and last links.

use std::collections::BTreeMap;
use std::path::Path;

use reqwest::header::HeaderMap;
use serde::Deserialize;
use tofu_record::redact::redact_url;
use tofu_record::{Artifact, ArtifactError, Content, ErrorCode, HomebrewBottle, HomebrewRecord};
use url::Url;

use crate::FetchOptions;
use crate::error::FetchError;
use crate::oci::{Descriptor, Digest, Manifest, OciError, Pull, Reference, failed_artifact};
use crate::transport::Client;

/// Why a formula's bottles could not be resolved or pulled, with the stable codes recorded
/// in transcripts. A registry failure keeps its OCI code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HomebrewError {
    /// The HTTP exchange with the Homebrew API failed (its own codes: `http-status` …).
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The configured API URL cannot name the formula's document.
    #[error("no formula URL under the Homebrew API {api}: {why}")]
    BadApiUrl { api: String, why: String },
    /// The API's answer is larger than its limit.
    #[error("the Homebrew API answer exceeds {limit} bytes")]
    TooLarge { limit: usize },
    /// The API's answer is not a formula tofu can use: not JSON of a formula, a bottle tag
    /// or digest tofu does not accept, a `root_url` that names no registry image.
    #[error("the Homebrew API answer is not a usable formula: {0}")]
    BadFormula(String),
    /// The API lists no bottle for a tag asked for, or none at all.
    #[error("{0}")]
    NoBottle(String),
    /// The API, the bottle index and the bottles disagree: evidence of tampering.
    #[error("Homebrew API and registry disagree: {0}")]
    Mismatch(String),
    /// The registry pull failed (OCI's codes: `digest-mismatch`, `bad-manifest` …).
    #[error(transparent)]
    Oci(#[from] OciError),
}

impl HomebrewError {
    /// The stable code recorded in transcripts.
    pub fn code(&self) -> ErrorCode {
        match self {
            HomebrewError::Fetch(e) => e.code(),
            HomebrewError::BadApiUrl { .. } => ErrorCode::BadApiUrl,
            HomebrewError::TooLarge { .. } => ErrorCode::SizeLimit,
            HomebrewError::BadFormula(_) => ErrorCode::BadFormula,
            HomebrewError::NoBottle(_) => ErrorCode::NoSuchBottle,
            HomebrewError::Mismatch(_) => ErrorCode::HomebrewMismatch,
            HomebrewError::Oci(e) => e.code(),
        }
    }
}

/// The error as a transcript records it: the stable code and the message.
impl From<&HomebrewError> for ArtifactError {
    fn from(e: &HomebrewError) -> Self {
        match e {
            HomebrewError::Oci(oci) => ArtifactError::from(oci),
            _ => ArtifactError {
                code: e.code(),
                message: e.to_string(),
                causes: match e {
                    HomebrewError::Fetch(fetch) => fetch.causes().to_vec(),
                    _ => Vec::new(),
                },
            },
        }
    }
}

/// The most of a Homebrew API answer tofu reads (it is read whole, then parsed).
const MAX_API_ANSWER: usize = 16 << 20;

/// The formula API document, the fields tofu reads.
#[derive(Deserialize)]
struct Formula {
    versions: Versions,
    #[serde(default)]
    revision: u64,
    bottle: Bottles,
}

#[derive(Deserialize)]
struct Versions {
    stable: String,
}

#[derive(Deserialize)]
struct Bottles {
    stable: StableBottles,
}

#[derive(Deserialize)]
struct StableBottles {
    #[serde(default)]
    rebuild: u64,
    root_url: String,
    files: BTreeMap<String, BottleFile>,
}

#[derive(Deserialize)]
struct BottleFile {
    sha256: String,
}

/// What `brew:` asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrewTarget {
    /// The formula name.
    pub formula: String,
    /// Bottle tags; empty means every bottle the API lists.
    pub tags: Vec<String>,
}

impl BrewTarget {
    /// Parses `brew:FORMULA[@TAG]` (the `brew:` prefix already removed). A formula name may
    /// itself hold `@` (`openssl@3`), so the tag is what follows the last `@` only when it looks
    /// like a bottle tag (it contains `_` or is `all`).
    pub fn parse(spec: &str) -> Result<BrewTarget, String> {
        let (formula, tags) = match spec.rsplit_once('@') {
            Some((f, t)) if t.contains('_') || t == "all" => (f, vec![t.to_owned()]),
            _ => (spec, Vec::new()),
        };
        let valid = !formula.is_empty()
            && formula
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"@+-._".contains(&b));
        if !valid {
            return Err(format!("{formula:?} is not a Homebrew formula name"));
        }
        let tags = tags.into_iter().filter(|t| t != "all").collect();
        Ok(BrewTarget {
            formula: formula.to_owned(),
            tags,
        })
    }
}

impl Client {
    /// Resolves and pulls a formula's bottles. Never fails: failures are in the artifact.
    pub(crate) async fn fetch_homebrew(
        &self,
        id: String,
        target: &BrewTarget,
        options: &FetchOptions,
    ) -> Artifact {
        let api = &options.homebrew_api;
        let (mut record, reference) = match self.resolve_formula(target, api).await {
            Ok(r) => r,
            Err(e) => return failed_artifact(id, ArtifactError::from(&e)),
        };
        let tags: Vec<String> = record.bottles.iter().map(|b| b.tag.clone()).collect();
        let mut pull = match Pull::new(&reference, tags, options) {
            Ok(pull) => pull,
            Err(e) => {
                // What the API declared was verified (it came over TLS) and must be compared
                // even though no registry was asked.
                let mut artifact = failed_artifact(id, ArtifactError::from(&e));
                artifact.homebrew = Some(Box::new(record));
                return artifact;
            }
        };
        let outcome = self
            .pull_bottles(&mut pull, &mut record, options.keep_dir.as_deref())
            .await;
        let mut artifact = pull.into_artifact(id, outcome.map_err(|e| ArtifactError::from(&e)));
        artifact.homebrew = Some(Box::new(record));
        artifact
    }

    /// Asks the API at `api` for the formula's document and reads it.
    async fn resolve_formula(
        &self,
        target: &BrewTarget,
        api: &Url,
    ) -> Result<(HomebrewRecord, Reference), HomebrewError> {
        let api_url = api
            .join(&format!("formula/{}.json", target.formula))
            .map_err(|e| HomebrewError::BadApiUrl {
                api: redact_url(api),
                why: e.to_string(),
            })?;
        let mut hops = Vec::new();
        let (response, _) = self
            .get_following(&api_url, &HeaderMap::new(), None, &mut hops)
            .await?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(HomebrewError::Fetch(FetchError::Status {
                status: response.status().as_u16(),
            }));
        }
        let body = self
            .read_capped(response, MAX_API_ANSWER, |limit| HomebrewError::TooLarge {
                limit,
            })
            .await?;
        parse_formula(&body, target, &api_url)
    }

    /// The bottle index, then each bottle link by link: its index entry (by ref name and
    /// bottle digest), its manifest (one layer, the API's digest and the index's size),
    /// its blob; with `--keep`, once every bottle is verified, each is also kept under its
    /// Homebrew file name.
    async fn pull_bottles(
        &self,
        pull: &mut Pull<'_>,
        record: &mut HomebrewRecord,
        keep_dir: Option<&Path>,
    ) -> Result<Content, HomebrewError> {
        let top = self.open(pull, keep_dir).await?;
        let Some(entries) = top.entries() else {
            return Err(HomebrewError::Mismatch(format!(
                "{} is an image manifest, not a bottle index",
                pull.reference()
            )));
        };
        let mut layers = Vec::with_capacity(record.bottles.len());
        for bottle in &mut record.bottles {
            let entry = find_entry(entries, bottle)?;
            bottle.manifest = Some(entry.record.digest.clone());
            // Only an image manifest can hold a bottle; nothing else is asked for.
            if !entry.is_image_manifest() {
                return Err(HomebrewError::Mismatch(format!(
                    "{} is not an image manifest",
                    entry.record.digest
                )));
            }
            let layer = self
                .pull_image(pull, entry, |manifest| {
                    check_bottle(bottle, entry, manifest)
                })
                .await?;
            layers.push(layer);
        }
        pull.finish(&top)?;
        if let Some(dir) = keep_dir {
            copy_bottles(pull, &record.bottles, &layers, dir)?;
        }
        Ok(top.content)
    }
}

/// Copies each verified bottle out of the kept layout under its Homebrew file name. None
/// replaces an existing file; when one cannot be copied, those already copied are removed
/// again, so a failed artifact leaves no bottle under its final name.
fn copy_bottles(
    pull: &Pull<'_>,
    bottles: &[HomebrewBottle],
    layers: &[Digest],
    dir: &Path,
) -> Result<(), HomebrewError> {
    let mut copied = Vec::new();
    for (bottle, layer) in bottles.iter().zip(layers) {
        let dest = dir.join(&bottle.file_name);
        if let Err(e) = pull.copy_kept_blob(layer, &dest) {
            for path in copied {
                // Best effort: the error below already fails the artifact.
                let _ = std::fs::remove_file(path);
            }
            return Err(e.into());
        }
        copied.push(dest);
    }
    Ok(())
}

/// A bottle's manifest, before its blobs are asked for: exactly one layer, whose digest is
/// the API's and whose size is the index entry's `sh.brew.bottle.size` (when given).
/// Returns the layer's digest.
fn check_bottle(
    bottle: &HomebrewBottle,
    entry: &Descriptor,
    manifest: &Manifest,
) -> Result<Digest, HomebrewError> {
    let [layer] = manifest.layers.as_slice() else {
        return Err(HomebrewError::Mismatch(format!(
            "the {} bottle manifest has {} layers, not one",
            bottle.tag,
            manifest.layers.len()
        )));
    };
    if layer.record.digest != format!("sha256:{}", bottle.sha256) {
        return Err(HomebrewError::Mismatch(format!(
            "the {} bottle manifest's layer is {}, the API says sha256:{}",
            bottle.tag, layer.record.digest, bottle.sha256
        )));
    }
    let declared_size = entry.record.annotations.get("sh.brew.bottle.size");
    if let Some(size) = declared_size
        && size.parse::<u64>().ok() != Some(layer.record.size)
    {
        return Err(HomebrewError::Mismatch(format!(
            "the {} bottle is {} bytes in its manifest, {size} in the index",
            bottle.tag, layer.record.size
        )));
    }
    Ok(layer.digest.clone())
}

/// Reads the formula API document `body` (untrusted) for `target`: the bottles asked for,
/// their API digests and names, and the bottle image's reference, built from `root_url`.
fn parse_formula(
    body: &[u8],
    target: &BrewTarget,
    api_url: &Url,
) -> Result<(HomebrewRecord, Reference), HomebrewError> {
    let formula: Formula =
        serde_json::from_slice(body).map_err(|e| HomebrewError::BadFormula(e.to_string()))?;
    let stable = &formula.bottle.stable;
    let names = Names::of(&formula);
    let bottles = bottles(stable, target, &names)?;
    let reference = bottle_image(&stable.root_url, &target.formula, &names.image_tag)?;
    Ok((
        HomebrewRecord {
            formula: target.formula.clone(),
            api_url: redact_url(api_url),
            version: formula.versions.stable.clone(),
            revision: formula.revision,
            rebuild: stable.rebuild,
            image_tag: names.image_tag,
            root_url: stable.root_url.clone(),
            bottles,
        },
        reference,
    ))
}

/// The names Homebrew derives from a formula's version, revision and rebuild.
struct Names {
    /// `version[_revision]`.
    pkg_version: String,
    /// The bottle index's tag: `pkg_version[-rebuild]`.
    image_tag: String,
    /// `.rebuild` in ref and file names, or nothing.
    rebuild_suffix: String,
}

impl Names {
    fn of(formula: &Formula) -> Names {
        let rebuild = formula.bottle.stable.rebuild;
        let pkg_version = if formula.revision > 0 {
            format!("{}_{}", formula.versions.stable, formula.revision)
        } else {
            formula.versions.stable.clone()
        };
        let (image_tag, rebuild_suffix) = if rebuild > 0 {
            (format!("{pkg_version}-{rebuild}"), format!(".{rebuild}"))
        } else {
            (pkg_version.clone(), String::new())
        };
        Names {
            pkg_version,
            image_tag,
            rebuild_suffix,
        }
    }
}

/// The bottles `target` asks for (every one the API lists when it names no tag), each with
/// the API's digest, the index entry's ref name and the Homebrew file name.
fn bottles(
    stable: &StableBottles,
    target: &BrewTarget,
    names: &Names,
) -> Result<Vec<HomebrewBottle>, HomebrewError> {
    let wanted: Vec<&String> = if target.tags.is_empty() {
        stable.files.keys().collect()
    } else {
        target.tags.iter().collect()
    };
    if wanted.is_empty() {
        return Err(HomebrewError::NoBottle(format!(
            "the API lists no bottle of {}",
            target.formula
        )));
    }
    let Names {
        pkg_version,
        rebuild_suffix,
        ..
    } = names;
    let mut bottles = Vec::new();
    for tag in wanted {
        // Tags become file names: letters, digits and `_` only.
        if tag.is_empty() || !tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(HomebrewError::BadFormula(format!(
                "it names a bottle tag {tag:?} tofu does not accept"
            )));
        }
        let file = stable.files.get(tag).ok_or_else(|| {
            HomebrewError::NoBottle(format!(
                "the API lists no {tag} bottle of {}; it has {}",
                target.formula,
                stable.files.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })?;
        Digest::parse(&format!("sha256:{}", file.sha256)).map_err(HomebrewError::BadFormula)?;
        bottles.push(HomebrewBottle {
            tag: tag.clone(),
            sha256: file.sha256.clone(),
            ref_name: format!("{pkg_version}.{tag}{rebuild_suffix}"),
            manifest: None,
            file_name: format!(
                "{}--{pkg_version}.{tag}.bottle{rebuild_suffix}.tar.gz",
                target.formula
            ),
        });
    }
    Ok(bottles)
}

/// The bottle index's reference: `root_url` is `https://HOST/v2/ORG/REPO`; the image is
/// `ORG/REPO/<formula, @ → /, + → x>`, tagged `image_tag`, on that host and no other.
fn bottle_image(
    root_url: &str,
    formula: &str,
    image_tag: &str,
) -> Result<Reference, HomebrewError> {
    let root = Url::parse(root_url)
        .map_err(|e| HomebrewError::BadFormula(format!("bad root_url: {e}")))?;
    let prefix = root
        .path()
        .strip_prefix("/v2/")
        .ok_or_else(|| {
            HomebrewError::BadFormula(format!("root_url {} is not a /v2/ URL", redact_url(&root)))
        })?
        .trim_end_matches('/');
    let image = formula.replace('@', "/").replace('+', "x");
    let host = match root.port() {
        Some(port) => format!("{}:{port}", root.host_str().unwrap_or_default()),
        None => root.host_str().unwrap_or_default().to_owned(),
    };
    let reference = Reference::parse(&format!("{host}/{prefix}/{image}:{image_tag}"))
        .map_err(HomebrewError::BadFormula)?;
    // A host that does not read as a registry name (no `.` or `:`, not `localhost`) would
    // become a Docker Hub path: the image must be on root_url's own host.
    if reference.registry != crate::oci::reference::canonical_registry(&host) {
        return Err(HomebrewError::BadFormula(format!(
            "root_url names the host {host:?}, which does not read as a registry name"
        )));
    }
    Ok(reference)
}

/// The index entry of a bottle: its ref name and its bottle digest must both match the API.
fn find_entry<'e>(
    entries: &'e [Descriptor],
    bottle: &HomebrewBottle,
) -> Result<&'e Descriptor, HomebrewError> {
    let by_name = entries.iter().find(|e| {
        e.record
            .annotations
            .get("org.opencontainers.image.ref.name")
            == Some(&bottle.ref_name)
    });
    match by_name {
        None => Err(HomebrewError::Mismatch(format!(
            "the bottle index has no entry named {}",
            bottle.ref_name
        ))),
        Some(e) if e.record.annotations.get("sh.brew.bottle.digest") != Some(&bottle.sha256) => {
            Err(HomebrewError::Mismatch(format!(
                "index entry {} says bottle digest {}, the API says {}",
                bottle.ref_name,
                e.record
                    .annotations
                    .get("sh.brew.bottle.digest")
                    .map_or("nothing", String::as_str),
                bottle.sha256
            )))
        }
        Some(e) => Ok(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brew_targets() {
        assert_eq!(
            BrewTarget::parse("wget").unwrap(),
            BrewTarget {
                formula: "wget".into(),
                tags: vec![]
            }
        );
        assert_eq!(
            BrewTarget::parse("wget@arm64_sonoma").unwrap().tags,
            vec!["arm64_sonoma".to_owned()]
        );
        assert_eq!(BrewTarget::parse("openssl@3").unwrap().formula, "openssl@3");
        assert_eq!(
            BrewTarget::parse("openssl@3@x86_64_linux").unwrap().formula,
            "openssl@3"
        );
        assert!(BrewTarget::parse("Wget").is_err());
        assert!(BrewTarget::parse("../x").is_err());
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use crate::json_mutation::mutate;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    const FORMULA_CHARS: &str = "abcdefghijklmnopqrstuvwxyz0123456789@+-._";

    /// `brew:` specs: formula-like names, maybe `@` and a tag, a few wrong characters.
    fn near_spec() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z0-9][a-z0-9+._-]{0,10}(@[0-9.]{1,3})?",
            (
                "[a-z0-9][a-z0-9+._-]{0,10}(@[0-9.]{1,3})?",
                "@([a-z0-9]{1,6}_[a-z0-9_]{1,8}|all|[a-z0-9]{1,4})",
            )
                .prop_map(|(formula, tag)| formula + &tag),
            "[a-zA-Z0-9@+._/ -]{0,16}",
            "(@|@@|@all|@_|\\.\\.|\\.\\./x|x@all@all|x@a_b@c_d)",
        ]
    }

    /// A formula name like Homebrew's (`wget`, `gtk+3`, `openssl@3`, `python@3.12`): its
    /// `@` suffix, if any, does not look like a bottle tag.
    fn formula_name() -> impl Strategy<Value = String> {
        "[a-z0-9]([a-z0-9+]|[.-][a-z0-9]){0,8}(@[0-9]{1,2}([.][0-9]{1,2})?)?"
    }

    /// The API host, port and path of a bottle image.
    fn root_url() -> impl Strategy<Value = String> {
        (
            proptest::sample::select(vec![
                "ghcr.io",
                "127.0.0.1:5000",
                "localhost:5000",
                "[::1]:5000",
                "registry.example",
            ]),
            "[a-z0-9]{1,8}(/[a-z0-9]{1,8}){0,2}",
        )
            .prop_map(|(host, path)| format!("https://{host}/v2/{path}"))
    }

    /// A formula API document (the fields tofu reads, and some it ignores), and the
    /// bottle tags it lists.
    fn formula_json() -> impl Strategy<Value = (Value, Vec<String>)> {
        (
            "[0-9]{1,2}(\\.[0-9]{1,3}){0,2}[a-z]?",
            0u64..3,
            0u64..3,
            root_url(),
            proptest::collection::btree_map(
                "(arm64|x86_64)_[a-z]{3,8}",
                any::<[u8; 32]>().prop_map(hex::encode),
                1..4,
            ),
        )
            .prop_map(|(version, revision, rebuild, root_url, files)| {
                let tags: Vec<String> = files.keys().cloned().collect();
                let files: serde_json::Map<String, Value> = files
                    .into_iter()
                    .map(|(tag, sha)| {
                        let url = "https://x.example/b";
                        let file = json!({"cellar": ":any", "url": url, "sha256": sha});
                        (tag, file)
                    })
                    .collect();
                let doc = json!({
                    "name": "x",
                    "versions": {"stable": version, "head": "HEAD", "bottle": true},
                    "revision": revision,
                    "bottle": {
                        "stable": {"rebuild": rebuild, "root_url": root_url, "files": files},
                    },
                });
                (doc, tags)
            })
    }

    /// Replacement values: wrong types, path tricks, hosts a registry name cannot be.
    fn junk() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            Just(json!("")),
            Just(json!(-1)),
            Just(json!(u64::MAX)),
            Just(json!({})),
            Just(json!("../../etc/x")),
            Just(json!("1.0/../../x")),
            Just(json!("A".repeat(64))),
            Just(json!("https://ghcr/v2/homebrew/core")),
            Just(json!("https://user:pw@ghcr.io/v2/x")),
            Just(json!("http://ghcr.io/v2/homebrew/core/")),
            Just(json!("https://ghcr.io/v1/x")),
            Just(json!("https://index.docker.io/v2/homebrew")),
            "[ -~]{0,12}".prop_map(|t| json!(t)),
        ]
    }

    /// A formula document with up to three fields removed or replaced.
    fn mutated_formula() -> impl Strategy<Value = (Vec<u8>, Vec<String>)> {
        (
            formula_json(),
            proptest::collection::vec((any::<usize>(), proptest::option::of(junk())), 1..4),
        )
            .prop_map(|((mut doc, tags), edits)| {
                for (pick, replacement) in edits {
                    mutate(&mut doc, pick, replacement);
                }
                (serde_json::to_vec(&doc).unwrap(), tags)
            })
    }

    fn api() -> Url {
        Url::parse("https://formulae.brew.sh/api/formula/x.json").unwrap()
    }

    /// What every accepted formula satisfies: safe names, API digests, and a reference at
    /// `root_url`'s host with the image tag.
    fn assert_sound(body: &[u8], target: &BrewTarget, record: &HomebrewRecord, r: &Reference) {
        let json: Value = serde_json::from_slice(body).unwrap();
        assert!(!record.bottles.is_empty());
        for b in &record.bottles {
            assert!(
                !b.tag.is_empty()
                    && b.tag
                        .bytes()
                        .all(|c| c.is_ascii_alphanumeric() || c == b'_')
            );
            assert!(
                b.sha256.len() == 64
                    && b.sha256
                        .bytes()
                        .all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
            );
            assert_eq!(
                json["bottle"]["stable"]["files"][&b.tag]["sha256"],
                json!(b.sha256)
            );
            let name = &b.file_name;
            assert!(
                !name.contains(['/', '\\', '\0']) && name != "." && name != "..",
                "file name {name:?}"
            );
            assert!(name.starts_with(&format!("{}--", target.formula)));
        }
        let root = Url::parse(json["bottle"]["stable"]["root_url"].as_str().unwrap()).unwrap();
        let host = match root.port() {
            Some(port) => format!("{}:{port}", root.host_str().unwrap()),
            None => root.host_str().unwrap().to_owned(),
        };
        let same = r.registry == host || (host == "index.docker.io" && r.registry == "docker.io");
        assert!(same, "root_url {root} became registry {}", r.registry);
        assert_eq!(r.tag.as_deref(), Some(record.image_tag.as_str()));
        assert!(
            r.repository
                .ends_with(&target.formula.replace('@', "/").replace('+', "x"))
        );
    }

    proptest! {
        /// `BrewTarget::parse` never panics; what it accepts is a non-empty name of
        /// `[a-z0-9@+._-]` with at most one tag, which contains `_` (`all` means every tag).
        #[test]
        fn target_acceptance_is_sound(spec in prop_oneof![any::<String>(), near_spec()]) {
            if let Ok(t) = BrewTarget::parse(&spec) {
                prop_assert!(!t.formula.is_empty());
                let allowed = t.formula.chars().all(|c| FORMULA_CHARS.contains(c));
                prop_assert!(allowed, "{:?}", t.formula);
                prop_assert!(t.tags.len() <= 1);
                prop_assert!(t.tags.iter().all(|tag| tag.contains('_')));
                let printed = match t.tags.first() {
                    Some(tag) => format!("{}@{tag}", t.formula),
                    None => t.formula.clone(),
                };
                let all = format!("{}@all", t.formula);
                prop_assert!(printed == spec || spec == all, "{:?} read as {:?}", spec, t);
            }
        }

        /// `FORMULA@TAG` splits at the last `@` when TAG holds `_`, so versioned formulas
        /// (`openssl@3`) keep their `@`; `FORMULA@all` asks for every tag.
        #[test]
        fn targets_compose(formula in formula_name(), tag in "[a-z0-9]{1,6}_[a-z0-9_]{1,8}") {
            prop_assert_eq!(
                BrewTarget::parse(&formula).unwrap(),
                BrewTarget { formula: formula.clone(), tags: vec![] }
            );
            prop_assert_eq!(
                BrewTarget::parse(&format!("{formula}@{tag}")).unwrap(),
                BrewTarget { formula: formula.clone(), tags: vec![tag] }
            );
            prop_assert_eq!(
                BrewTarget::parse(&format!("{formula}@all")).unwrap(),
                BrewTarget { formula, tags: vec![] }
            );
        }

        /// `parse_formula` never panics on any bytes, and refuses non-JSON as `BadFormula`
        /// with serde_json's line and column.
        #[test]
        fn formula_parsing_never_panics(body in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let target = BrewTarget { formula: "x".into(), tags: vec![] };
            match parse_formula(&body, &target, &api()) {
                Ok((record, r)) => assert_sound(&body, &target, &record, &r),
                Err(HomebrewError::BadFormula(m))
                    if serde_json::from_slice::<Value>(&body).is_err() =>
                {
                    prop_assert!(m.contains(" line ") && m.contains(" column "), "{}", m);
                }
                Err(_) => {}
            }
        }

        /// A valid formula document gives every bottle asked for, named from the version,
        /// revision and rebuild, and the image at `root_url` tagged with the package version.
        #[test]
        fn valid_formulas_are_read(
            (doc, tags) in formula_json(),
            formula in formula_name(),
            one in proptest::option::of(any::<prop::sample::Index>()),
        ) {
            let body = serde_json::to_vec(&doc).unwrap();
            let asked: Vec<String> = one.map(|i| i.get(&tags).clone()).into_iter().collect();
            let target = BrewTarget { formula, tags: asked.clone() };
            let (record, r) = parse_formula(&body, &target, &api())
                .unwrap_or_else(|e| panic!("{e}: {doc}"));
            assert_sound(&body, &target, &record, &r);
            let want = if asked.is_empty() { &tags } else { &asked };
            let want: Vec<&String> = want.iter().collect();
            let got: Vec<&String> = record.bottles.iter().map(|b| &b.tag).collect();
            prop_assert_eq!(got, want);
            let version = doc["versions"]["stable"].as_str().unwrap();
            let revision = doc["revision"].as_u64().unwrap();
            let rebuild = doc["bottle"]["stable"]["rebuild"].as_u64().unwrap();
            let pkg = if revision > 0 {
                format!("{version}_{revision}")
            } else {
                version.to_owned()
            };
            let image_tag = if rebuild > 0 { format!("{pkg}-{rebuild}") } else { pkg.clone() };
            prop_assert_eq!(&record.image_tag, &image_tag);
            for b in &record.bottles {
                let suffix = if rebuild > 0 { format!(".{rebuild}") } else { String::new() };
                prop_assert_eq!(&b.ref_name, &format!("{pkg}.{}{suffix}", b.tag));
            }
        }

        /// Whatever host `root_url` names, the image is looked for there or nowhere: a host
        /// that does not read as a registry name (`ghcr`, `mirror`) is refused, never
        /// replaced by Docker Hub.
        #[test]
        fn the_image_is_on_root_url_host(
            (mut doc, _) in formula_json(),
            host in "[a-z][a-z0-9-]{0,8}(\\.[a-z]{2,4})?(:[0-9]{2,5})?",
            path in "[a-z0-9]{1,8}(/[a-z0-9]{1,8}){0,2}",
        ) {
            doc["bottle"]["stable"]["root_url"] = json!(format!("https://{host}/v2/{path}"));
            let body = serde_json::to_vec(&doc).unwrap();
            let target = BrewTarget { formula: "x".into(), tags: vec![] };
            if let Ok((record, r)) = parse_formula(&body, &target, &api()) {
                assert_sound(&body, &target, &record, &r);
            }
        }

        /// Near-valid formula documents (fields dropped or replaced) never panic, and what is
        /// accepted is sound: bottle tags and file names safe, digests 64 lowercase hex, the
        /// image on `root_url`'s own host.
        #[test]
        fn mutated_formulas_are_sound((body, tags) in mutated_formula(), all in any::<bool>()) {
            let target = BrewTarget { formula: "x".into(), tags: if all { vec![] } else { tags } };
            if let Ok((record, r)) = parse_formula(&body, &target, &api()) {
                assert_sound(&body, &target, &record, &r);
            }
        }
    }
}
