//! Homebrew bottles: `brew:FORMULA[@TAG]` resolves the formula through the Homebrew JSON API
//! over the run's transport, then checks, link by link, API sha256 ↔ index entry annotations
//! (`sh.brew.bottle.digest`, ref name) ↔ the entry's manifest (one layer, that digest, that
//! size) ↔ the downloaded blob. Homebrew itself checks only the first and last links.

use std::collections::BTreeMap;
use std::path::PathBuf;

use reqwest::header::HeaderMap;
use serde::Deserialize;
use tofu_record::redact::redact_url;
use tofu_record::{Artifact, HomebrewBottle, HomebrewRecord};
use url::Url;

use crate::FetchOptions;
use crate::oci::document::{Descriptor, Expected, Kind};
use crate::oci::{Digest, OciError, Pull, Reference, failed_artifact};
use crate::transport::Client;

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
    pub async fn fetch_homebrew(
        &self,
        id: String,
        target: &BrewTarget,
        api: &Url,
        options: &FetchOptions,
    ) -> Artifact {
        let keep_dir = options.keep_dir.as_ref();
        let api_url = match api.join(&format!("formula/{}.json", target.formula)) {
            Ok(u) => u,
            Err(e) => return failed_artifact(id, &OciError::BadManifest(e.to_string())),
        };
        let (record, reference) = match self.resolve_formula(target, &api_url).await {
            Ok(r) => r,
            Err(e) => return failed_artifact(id, &e),
        };
        let tags: Vec<String> = record.bottles.iter().map(|b| b.tag.clone()).collect();
        let mut record = record;
        let mut pull = match Pull::new(&reference, tags, options.max_size) {
            Ok(pull) => pull,
            Err(e) => return failed_artifact(id, &e),
        };
        let outcome = self.pull_bottles(&mut pull, &mut record, keep_dir).await;
        let mut artifact = pull.into_artifact(id, outcome);
        artifact.homebrew = Some(record);
        artifact
    }

    async fn resolve_formula(
        &self,
        target: &BrewTarget,
        api_url: &Url,
    ) -> Result<(HomebrewRecord, Reference), OciError> {
        let mut hops = Vec::new();
        let (response, _) = self
            .get_following(api_url, &HeaderMap::new(), None, &mut hops)
            .await?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(OciError::Fetch(crate::FetchError::Status {
                status: response.status().as_u16(),
            }));
        }
        let body = crate::oci::read_capped(response, 16 << 20, "Homebrew API answer").await?;
        let formula: Formula = serde_json::from_slice(&body).map_err(|e| {
            OciError::BadManifest(format!("the Homebrew API answer is not a formula: {e}"))
        })?;
        let stable = &formula.bottle.stable;
        let pkg_version = if formula.revision > 0 {
            format!("{}_{}", formula.versions.stable, formula.revision)
        } else {
            formula.versions.stable.clone()
        };
        let image_tag = if stable.rebuild > 0 {
            format!("{pkg_version}-{}", stable.rebuild)
        } else {
            pkg_version.clone()
        };
        let wanted: Vec<&String> = if target.tags.is_empty() {
            stable.files.keys().collect()
        } else {
            target.tags.iter().collect()
        };
        if wanted.is_empty() {
            return Err(OciError::NoBottle(format!(
                "the API lists no bottle of {}",
                target.formula
            )));
        }
        let mut bottles = Vec::new();
        for tag in wanted {
            // Tags become file names: letters, digits and `_` only.
            if tag.is_empty() || !tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(OciError::BadManifest(format!(
                    "the API names a bottle tag {tag:?} tofu does not accept"
                )));
            }
            let file = stable.files.get(tag).ok_or_else(|| {
                OciError::NoBottle(format!(
                    "the API lists no {tag} bottle of {}; it has {}",
                    target.formula,
                    stable.files.keys().cloned().collect::<Vec<_>>().join(", ")
                ))
            })?;
            Digest::parse(&format!("sha256:{}", file.sha256)).map_err(OciError::BadManifest)?;
            let rebuild_suffix = if stable.rebuild > 0 {
                format!(".{}", stable.rebuild)
            } else {
                String::new()
            };
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
        // root_url is https://HOST/v2/ORG/REPO; the image is ORG/REPO/<formula, @ → /, + → x>.
        let root = Url::parse(&stable.root_url)
            .map_err(|e| OciError::BadManifest(format!("bad root_url: {e}")))?;
        let prefix = root
            .path()
            .strip_prefix("/v2/")
            .ok_or_else(|| OciError::BadManifest(format!("root_url {root} is not a /v2/ URL")))?
            .trim_end_matches('/');
        let image = target.formula.replace('@', "/").replace('+', "x");
        let host = match root.port() {
            Some(port) => format!("{}:{port}", root.host_str().unwrap_or_default()),
            None => root.host_str().unwrap_or_default().to_owned(),
        };
        let reference = Reference::parse(&format!("{host}/{prefix}/{image}:{image_tag}"))
            .map_err(OciError::BadManifest)?;
        Ok((
            HomebrewRecord {
                formula: target.formula.clone(),
                api_url: redact_url(api_url),
                version: formula.versions.stable.clone(),
                revision: formula.revision,
                rebuild: stable.rebuild,
                image_tag,
                root_url: stable.root_url.clone(),
                bottles,
            },
            reference,
        ))
    }

    async fn pull_bottles(
        &self,
        pull: &mut Pull<'_>,
        record: &mut HomebrewRecord,
        keep_dir: Option<&PathBuf>,
    ) -> Result<tofu_record::Content, OciError> {
        let (top, content) = self.top_document(pull, keep_dir).await?;
        let Kind::Index(entries) = &top.kind else {
            return Err(mismatch(format!(
                "{} is an image manifest, not a bottle index",
                pull.reference
            )));
        };
        pull.record.index_entries = entries.iter().map(|e| e.record.clone()).collect();
        for bottle in &mut record.bottles {
            let entry = find_entry(entries, bottle)?;
            bottle.manifest = Some(entry.record.digest.clone());
            let child = self
                .manifest(pull, &entry.digest.to_string(), Expected::Described(entry))
                .await?;
            self.keep_document(pull, &child)?;
            let Kind::Manifest { config, layers } = &child.kind else {
                return Err(mismatch(format!(
                    "{} is not an image manifest",
                    entry.record.digest
                )));
            };
            let [layer] = layers.as_slice() else {
                return Err(mismatch(format!(
                    "the {} bottle manifest has {} layers, not one",
                    bottle.tag,
                    layers.len()
                )));
            };
            if layer.record.digest != format!("sha256:{}", bottle.sha256) {
                return Err(mismatch(format!(
                    "the {} bottle manifest's layer is {}, the API says sha256:{}",
                    bottle.tag, layer.record.digest, bottle.sha256
                )));
            }
            let declared_size = entry.record.annotations.get("sh.brew.bottle.size");
            if let Some(size) = declared_size
                && size.parse::<u64>().ok() != Some(layer.record.size)
            {
                return Err(mismatch(format!(
                    "the {} bottle is {} bytes in its manifest, {size} in the index",
                    bottle.tag, layer.record.size
                )));
            }
            pull.record.manifests.push(tofu_record::OciManifest {
                platform: entry.record.platform.clone(),
                document: child.record.clone(),
                config: config.record.clone(),
                layers: vec![layer.record.clone()],
            });
            self.blobs(pull, config, layers).await?;
            if let (Some(layout), Some(dir)) = (&pull.keep, keep_dir) {
                layout
                    .copy_blob_to(&layer.digest, &dir.join(&bottle.file_name))
                    .map_err(OciError::Keep)?;
            }
        }
        if let Some(layout) = &pull.keep {
            layout
                .finish(&top, pull.reference)
                .map_err(OciError::Keep)?;
        }
        Ok(content)
    }
}

/// The index entry of a bottle: its ref name and its bottle digest must both match the API.
fn find_entry<'e>(
    entries: &'e [Descriptor],
    bottle: &HomebrewBottle,
) -> Result<&'e Descriptor, OciError> {
    let by_name = entries.iter().find(|e| {
        e.record
            .annotations
            .get("org.opencontainers.image.ref.name")
            == Some(&bottle.ref_name)
    });
    match by_name {
        None => Err(mismatch(format!(
            "the bottle index has no entry named {}",
            bottle.ref_name
        ))),
        Some(e) if e.record.annotations.get("sh.brew.bottle.digest") != Some(&bottle.sha256) => {
            Err(mismatch(format!(
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

fn mismatch(detail: String) -> OciError {
    OciError::Homebrew(detail)
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
