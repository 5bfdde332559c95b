//! OCI registry pulls over the run's transport, verified strictly and recorded level by
//! level: the reference resolves to a top document (index or manifest); an index's entries
//! are all recorded and the selected platforms' manifests fetched by digest and checked
//! against their descriptors (digest, size, media type); every config and layer blob is
//! streamed with a size cap and checked against its descriptor. `Authorization` never leaves
//! the registry's origin, and descriptor `urls` are never followed.

mod auth;
pub(crate) mod blob;
pub(crate) mod document;
mod error;
pub mod reference;

use std::collections::BTreeSet;
use std::path::PathBuf;

use futures_util::{StreamExt, TryStreamExt};
use reqwest::header::{self, HeaderMap, HeaderValue};
use tofu_record::redact::redact_url;
use tofu_record::{Artifact, ArtifactError, OciManifest, OciRecord};
use url::Url;

pub use error::OciError;
pub use reference::{Digest, Reference};

use crate::FetchOptions;
use crate::transport::Client;
use document::{Descriptor, Document, Expected, Kind};

/// Which platforms of an index to pull.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Platforms {
    /// Every entry (attestation manifests excepted).
    All,
    /// These `os/arch[/variant]` values.
    Only(Vec<String>),
}

impl Platforms {
    /// The default when the user names none: linux/amd64, the same on every machine, so runs
    /// from different hosts line up.
    pub fn default_selection() -> Platforms {
        Platforms::Only(vec!["linux/amd64".to_owned()])
    }

    fn describe(&self) -> Vec<String> {
        match self {
            Platforms::All => vec!["all".to_owned()],
            Platforms::Only(list) => list.clone(),
        }
    }

    /// Attestation manifests are never images; `os/arch` without a variant matches every
    /// variant of it (`linux/arm64` takes `linux/arm64/v8`).
    fn selects(&self, descriptor: &Descriptor) -> bool {
        // The image-spec: an index entry of a media type the implementation does not know
        // MUST be ignored. It is recorded with the other entries, never fetched.
        if !matches!(
            descriptor.record.media_type.as_str(),
            document::OCI_MANIFEST | document::DOCKER_MANIFEST
        ) {
            return false;
        }
        let annotations = &descriptor.record.annotations;
        if annotations
            .get("vnd.docker.reference.type")
            .map(String::as_str)
            == Some("attestation-manifest")
        {
            return false;
        }
        match self {
            Platforms::All => true,
            Platforms::Only(list) => descriptor.record.platform.as_ref().is_some_and(|p| {
                list.iter().any(|want| {
                    p == want
                        || (want.matches('/').count() == 1 && p.starts_with(&format!("{want}/")))
                })
            }),
        }
    }
}

/// Blobs fetched at once for one image.
const BLOB_CONCURRENCY: usize = 4;

/// State of one pull: where the registry is, its token, what was seen.
pub(crate) struct Pull<'a> {
    pub(crate) reference: &'a Reference,
    pub(crate) base: Url,
    pub(crate) token: Option<HeaderValue>,
    pub(crate) record: OciRecord,
    pub(crate) redirect_hosts: BTreeSet<String>,
    pub(crate) keep: Option<blob::Layout>,
    /// `--max-size`: no blob larger than this is asked for, whatever its descriptor says.
    pub(crate) max_size: u64,
}

impl<'a> Pull<'a> {
    /// A pull of `reference` from its registry's API base URL.
    pub(crate) fn new(
        reference: &'a Reference,
        platforms: Vec<String>,
        max_size: u64,
    ) -> Result<Pull<'a>, OciError> {
        let base = Url::parse(&format!(
            "https://{}/v2/{}/",
            reference.api_host(),
            reference.repository
        ))
        .map_err(|e| OciError::BadManifest(format!("no registry URL for {reference}: {e}")))?;
        Ok(Pull {
            reference,
            record: OciRecord {
                reference: reference.to_string(),
                registry_host: base.host_str().unwrap_or_default().to_owned(),
                accept: document::ACCEPT.to_owned(),
                token_realm: None,
                platforms,
                top: tofu_record::OciDocument {
                    digest: String::new(),
                    size: 0,
                    media_type: String::new(),
                    docker_content_digest: None,
                },
                index_entries: Vec::new(),
                manifests: Vec::new(),
                redirect_hosts: Vec::new(),
            },
            base,
            token: None,
            redirect_hosts: BTreeSet::new(),
            keep: None,
            max_size,
        })
    }

    /// The artifact: the top document's content on success, the error otherwise, and every
    /// level seen either way.
    pub(crate) fn into_artifact(
        mut self,
        id: String,
        outcome: Result<tofu_record::Content, OciError>,
    ) -> Artifact {
        self.record.redirect_hosts = self.redirect_hosts.iter().cloned().collect();
        let (content, error) = match outcome {
            Ok(content) => (Some(content), None),
            Err(e) => (None, Some(ArtifactError::from(&e))),
        };
        Artifact {
            tor_exits: Vec::new(),
            id,
            content,
            fetches: Vec::new(),
            openpgp: None,
            oci: Some(self.record),
            homebrew: None,
            error,
        }
    }
}

/// An artifact that failed before anything was asked.
pub(crate) fn failed_artifact(id: String, e: &OciError) -> Artifact {
    Artifact {
        tor_exits: Vec::new(),
        id,
        content: None,
        fetches: Vec::new(),
        openpgp: None,
        oci: None,
        homebrew: None,
        error: Some(ArtifactError::from(e)),
    }
}

impl Client {
    /// Pulls an image and returns what was observed as a transcript artifact. Never fails: a
    /// failure is recorded in the artifact's `error`, with every level seen before it.
    pub async fn fetch_oci(
        &self,
        id: String,
        reference: &Reference,
        platforms: &Platforms,
        options: &FetchOptions,
    ) -> Artifact {
        let mut pull = match Pull::new(reference, platforms.describe(), options.max_size) {
            Ok(pull) => pull,
            Err(e) => return failed_artifact(id, &e),
        };
        let outcome = self
            .pull(&mut pull, platforms, options.keep_dir.as_ref())
            .await;
        pull.into_artifact(id, outcome)
    }

    async fn pull(
        &self,
        pull: &mut Pull<'_>,
        platforms: &Platforms,
        keep_dir: Option<&PathBuf>,
    ) -> Result<tofu_record::Content, OciError> {
        let (top, content) = self.top_document(pull, keep_dir).await?;
        match &top.kind {
            Kind::Manifest { config, layers } => {
                let manifest = OciManifest {
                    platform: None,
                    document: top.record.clone(),
                    config: config.record.clone(),
                    layers: layers.iter().map(|l| l.record.clone()).collect(),
                };
                pull.record.manifests.push(manifest);
                self.blobs(pull, config, layers).await?;
            }
            Kind::Index(entries) => {
                pull.record.index_entries = entries.iter().map(|e| e.record.clone()).collect();
                let selected: Vec<&Descriptor> =
                    entries.iter().filter(|e| platforms.selects(e)).collect();
                if selected.is_empty() {
                    let offered: Vec<String> = entries
                        .iter()
                        .filter_map(|e| e.record.platform.clone())
                        .collect();
                    return Err(OciError::NoPlatform {
                        wanted: platforms.describe().join(", "),
                        offered: offered.join(", "),
                    });
                }
                for entry in selected {
                    let child = self
                        .manifest(pull, &entry.digest.to_string(), Expected::Described(entry))
                        .await?;
                    self.keep_document(pull, &child)?;
                    let Kind::Manifest { config, layers } = &child.kind else {
                        return Err(OciError::BadManifest(format!(
                            "index entry {} is itself an index",
                            entry.record.digest
                        )));
                    };
                    pull.record.manifests.push(OciManifest {
                        platform: entry.record.platform.clone(),
                        document: child.record.clone(),
                        config: config.record.clone(),
                        layers: layers.iter().map(|l| l.record.clone()).collect(),
                    });
                    self.blobs(pull, config, layers).await?;
                }
            }
        }
        if let Some(layout) = &pull.keep {
            layout
                .finish(&top, pull.reference)
                .map_err(OciError::Keep)?;
        }
        Ok(content)
    }

    /// Starts a pull: the keep layout (with `--keep`), then the document the reference
    /// resolves to (checked against the pinned digest, if any), recorded and kept. Returns it
    /// and the artifact's content (its bytes' digests).
    pub(crate) async fn top_document(
        &self,
        pull: &mut Pull<'_>,
        keep_dir: Option<&PathBuf>,
    ) -> Result<(Document, tofu_record::Content), OciError> {
        if let Some(dir) = keep_dir {
            pull.keep = Some(blob::Layout::create(dir, pull.reference).map_err(OciError::Keep)?);
        }
        let expected = match &pull.reference.digest {
            Some(d) => Expected::Pinned(d),
            None => Expected::Nothing,
        };
        let top = self
            .manifest(pull, &pull.reference.manifest_ref(), expected)
            .await?;
        pull.record.top = top.record.clone();
        self.keep_document(pull, &top)?;
        let content = tofu_record::digest::content_of(&top.raw);
        Ok((top, content))
    }

    pub(crate) fn keep_document(&self, pull: &Pull<'_>, doc: &Document) -> Result<(), OciError> {
        match &pull.keep {
            Some(layout) => layout
                .put_bytes(&Digest::sha256_of(&doc.raw), &doc.raw)
                .map_err(OciError::Keep),
            None => Ok(()),
        }
    }

    /// Fetches and checks a manifest or index.
    pub(crate) async fn manifest(
        &self,
        pull: &mut Pull<'_>,
        reference: &str,
        expected: Expected<'_>,
    ) -> Result<Document, OciError> {
        let url = pull
            .base
            .join(&format!("manifests/{reference}"))
            .map_err(|e| OciError::BadManifest(e.to_string()))?;
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static(document::ACCEPT));
        let response = self.registry_get(pull, &url, &headers).await?;
        let content_type = header_str(response.headers(), header::CONTENT_TYPE);
        let dcd = header_str(response.headers(), "docker-content-digest");
        if let Some(len) = response.content_length()
            && len > document::MAX_MANIFEST as u64
        {
            return Err(OciError::ManifestTooLarge {
                limit: document::MAX_MANIFEST,
            });
        }
        let raw = self
            .read_capped(response, document::MAX_MANIFEST, "manifest")
            .await?;
        document::check(raw, content_type.as_deref(), dcd.as_deref(), expected)
    }

    /// Fetches the config and layers with bounded concurrency, each verified.
    pub(crate) async fn blobs(
        &self,
        pull: &mut Pull<'_>,
        config: &Descriptor,
        layers: &[Descriptor],
    ) -> Result<(), OciError> {
        // Descriptor `urls` (foreign layers) are recorded, never followed: the registry must
        // serve every blob itself.
        let all: Vec<&Descriptor> = std::iter::once(config).chain(layers).collect();
        if let Some(big) = all.iter().find(|d| d.record.size > pull.max_size) {
            return Err(OciError::BlobTooLarge {
                digest: big.record.digest.clone(),
                size: big.record.size,
                limit: pull.max_size,
            });
        }
        let token = pull.token.clone();
        let base = pull.base.clone();
        let keep = pull.keep.as_ref();
        // The first failure stops the pull: the blobs still in flight are dropped.
        let hosts: Vec<Vec<String>> = futures_util::stream::iter(all)
            .map(|d| self.blob(&base, token.as_ref(), d, keep))
            .buffer_unordered(BLOB_CONCURRENCY)
            .try_collect()
            .await?;
        pull.redirect_hosts.extend(hosts.into_iter().flatten());
        Ok(())
    }

    /// A GET to the registry with its token; on a first 401, the token dance, then once more.
    async fn registry_get(
        &self,
        pull: &mut Pull<'_>,
        url: &Url,
        headers: &HeaderMap,
    ) -> Result<reqwest::Response, OciError> {
        let mut hops = Vec::new();
        let (response, _) = self
            .get_following(url, headers, pull.token.as_ref(), &mut hops)
            .await?;
        if response.status() == reqwest::StatusCode::UNAUTHORIZED && pull.token.is_none() {
            let challenge = auth::bearer_challenge(&auth::challenges(response.headers()))?;
            auth::check_realm(&challenge.realm, &pull.base)?;
            pull.record.token_realm = Some(redact_url(&challenge.realm));
            let token = self
                .bearer_token(&challenge, &pull.reference.repository)
                .await?;
            pull.token = Some(token);
            let (response, _) = self
                .get_following(url, headers, pull.token.as_ref(), &mut hops)
                .await?;
            return ok_status(response);
        }
        ok_status(response)
    }
}

fn ok_status(response: reqwest::Response) -> Result<reqwest::Response, OciError> {
    match response.status() {
        reqwest::StatusCode::OK => Ok(response),
        reqwest::StatusCode::UNAUTHORIZED => Err(OciError::Auth(
            "the registry refused the anonymous token".to_owned(),
        )),
        status => Err(OciError::Fetch(crate::FetchError::Status {
            status: status.as_u16(),
        })),
    }
}

fn header_str(headers: &HeaderMap, name: impl header::AsHeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

impl Client {
    /// Reads a whole body, refusing more than `cap` bytes and a transfer below the speed
    /// limit; `what` names it in the error.
    pub(crate) async fn read_capped(
        &self,
        mut response: reqwest::Response,
        cap: usize,
        what: &'static str,
    ) -> Result<Vec<u8>, OciError> {
        let mut pace = self.pace();
        let mut body = Vec::new();
        while let Some(chunk) = pace
            .chunk(&mut response)
            .await
            .map_err(OciError::Fetch)?
            .map_err(|e| OciError::Fetch(crate::FetchError::from_reqwest(e)))?
        {
            if body.len() + chunk.len() > cap {
                return Err(if what == "manifest" {
                    OciError::ManifestTooLarge { limit: cap }
                } else {
                    OciError::TooLarge { what, limit: cap }
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}
