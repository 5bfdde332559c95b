//! OCI registry pulls over the run's transport, verified strictly and recorded level by
//! level: the reference resolves to a top document (index or manifest); an index's entries
//! are all recorded and the selected platforms' manifests fetched by digest and checked
//! against their descriptors (digest, size, media type); every config and layer blob is
//! streamed with a size cap and checked against its descriptor. `Authorization` never leaves
//! the registry's origin, and descriptor `urls` are never followed.
//!
//! Another client of a registry (Homebrew) uses this surface and nothing else of the module:
//! `Pull` (one pull's state and record: `new`, `reference`, `copy_kept_blob`, `finish`,
//! `into_artifact`), `Client::open` (the top document, as a `Top`), `Client::pull_image` (an
//! index entry's manifest and its blobs, verified, with the caller's own check of the manifest
//! before any blob is asked for), and what they hand out: `Descriptor`, `Manifest`, `Digest`,
//! `Reference`, `OciError`.

mod auth;
mod blob;
mod document;
mod error;
pub mod reference;

use std::collections::BTreeSet;
use std::path::Path;

use futures_util::{StreamExt, TryStreamExt};
use reqwest::header::{self, HeaderMap, HeaderValue};
use tofu_record::redact::redact_url;
use tofu_record::{Artifact, ArtifactError, Content, OciDocument, OciManifest, OciRecord};
use url::Url;

pub(crate) use document::{Descriptor, Manifest};
pub use error::OciError;
pub use reference::{Digest, Reference};

use crate::error::FetchError;
use crate::transport::Client;
use crate::{FetchOptions, ProgressSink};
use document::{Document, Expected, Kind};

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
        // An entry of a media type tofu does not know is recorded with the others, never
        // fetched.
        if !descriptor.is_image_manifest() {
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

    /// The entries of an index to pull; none is an error that names what the index offers.
    fn select<'e>(&self, entries: &'e [Descriptor]) -> Result<Vec<&'e Descriptor>, OciError> {
        let selected: Vec<&Descriptor> = entries.iter().filter(|e| self.selects(e)).collect();
        if selected.is_empty() {
            let offered: Vec<String> = entries
                .iter()
                .filter_map(|e| e.record.platform.clone())
                .collect();
            return Err(OciError::NoPlatform {
                wanted: self.describe().join(", "),
                offered: offered.join(", "),
            });
        }
        Ok(selected)
    }
}

/// Blobs fetched at once for one image.
const BLOB_CONCURRENCY: usize = 4;

/// State of one pull: where the registry is, its token, what was seen. Its fields are this
/// module's: a client outside it goes through the methods.
pub(crate) struct Pull<'a> {
    reference: &'a Reference,
    base: Url,
    token: Option<HeaderValue>,
    record: OciRecord,
    redirect_hosts: BTreeSet<String>,
    keep: Option<blob::Layout>,
    /// `--max-size`: no blob larger than this is asked for, whatever its descriptor says.
    max_size: u64,
    /// Where the blobs of each image report their progress, as one body.
    progress: Option<ProgressSink>,
}

impl<'a> Pull<'a> {
    /// A pull of `reference` from its registry's API base URL, within the limits of
    /// `options`; `platforms` is what the record says was asked for.
    pub(crate) fn new(
        reference: &'a Reference,
        platforms: Vec<String>,
        options: &FetchOptions,
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
                top: OciDocument {
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
            max_size: options.max_size,
            progress: options.progress.clone(),
        })
    }

    /// The image being pulled.
    pub(crate) fn reference(&self) -> &Reference {
        self.reference
    }

    /// With `--keep`, copies a verified blob of this pull out of its image layout to `dest`
    /// (a temporary name, then a rename, never over an existing file); without, does
    /// nothing.
    pub(crate) fn copy_kept_blob(&self, digest: &Digest, dest: &Path) -> Result<(), OciError> {
        match &self.keep {
            Some(layout) => layout.copy_blob_to(digest, dest).map_err(OciError::Keep),
            None => Ok(()),
        }
    }

    /// With `--keep`, completes the image layout, naming `top`; call it once every image
    /// is pulled.
    pub(crate) fn finish(&self, top: &Top) -> Result<(), OciError> {
        match &self.keep {
            Some(layout) => layout
                .finish(&top.document, self.reference)
                .map_err(OciError::Keep),
            None => Ok(()),
        }
    }

    /// The artifact: the top document's content on success, the error otherwise, and every
    /// level seen either way. A failed pull's layout is removed: a failed artifact keeps
    /// nothing.
    pub(crate) fn into_artifact(
        mut self,
        id: String,
        outcome: Result<Content, ArtifactError>,
    ) -> Artifact {
        if let (Err(_), Some(layout)) = (&outcome, &self.keep) {
            layout.discard();
        }
        self.record.redirect_hosts = self.redirect_hosts.iter().cloned().collect();
        let (content, error) = match outcome {
            Ok(content) => (Some(content), None),
            Err(e) => (None, Some(e)),
        };
        Artifact {
            tor_exits: Vec::new(),
            id,
            content,
            fetches: Vec::new(),
            openpgp: None,
            keyring: None,
            signature: None,
            checksums: None,
            oci: Some(Box::new(self.record)),
            homebrew: None,
            error,
        }
    }
}

/// The document a reference resolved to, checked, recorded and kept.
pub(crate) struct Top {
    document: Document,
    /// Its bytes' digests: the artifact's content.
    pub(crate) content: Content,
}

impl Top {
    /// The entries, when it is an index; `None` for an image manifest.
    pub(crate) fn entries(&self) -> Option<&[Descriptor]> {
        match &self.document.kind {
            Kind::Index(entries) => Some(entries),
            Kind::Manifest(_) => None,
        }
    }
}

/// An artifact that failed before anything was asked (of a registry, or of the Homebrew
/// API).
pub(crate) fn failed_artifact(id: String, error: ArtifactError) -> Artifact {
    Artifact {
        tor_exits: Vec::new(),
        id,
        content: None,
        fetches: Vec::new(),
        openpgp: None,
        keyring: None,
        signature: None,
        checksums: None,
        oci: None,
        homebrew: None,
        error: Some(error),
    }
}

impl Client {
    /// Pulls an image and returns what was observed as a transcript artifact. Never fails: a
    /// failure is recorded in the artifact's `error`, with every level seen before it.
    pub(crate) async fn fetch_oci(
        &self,
        id: String,
        reference: &Reference,
        platforms: &Platforms,
        options: &FetchOptions,
    ) -> Artifact {
        let mut pull = match Pull::new(reference, platforms.describe(), options) {
            Ok(pull) => pull,
            Err(e) => return failed_artifact(id, ArtifactError::from(&e)),
        };
        let outcome = self
            .pull(&mut pull, platforms, options.keep_dir.as_deref())
            .await;
        pull.into_artifact(id, outcome.map_err(|e| ArtifactError::from(&e)))
    }

    /// The top document, then the image it is or the selected images of the index.
    async fn pull(
        &self,
        pull: &mut Pull<'_>,
        platforms: &Platforms,
        keep_dir: Option<&Path>,
    ) -> Result<Content, OciError> {
        let top = self.open(pull, keep_dir).await?;
        match &top.document.kind {
            Kind::Manifest(manifest) => {
                self.image(pull, None, &top.document.record, manifest)
                    .await?;
            }
            Kind::Index(entries) => {
                for entry in platforms.select(entries)? {
                    self.pull_image(pull, entry, |_| Ok::<(), OciError>(()))
                        .await?;
                }
            }
        }
        pull.finish(&top)?;
        Ok(top.content)
    }

    /// Starts a pull: the keep layout (with `--keep`), then the document the reference
    /// resolves to (checked against the pinned digest, if any), recorded with an index's
    /// entries, and kept.
    pub(crate) async fn open(
        &self,
        pull: &mut Pull<'_>,
        keep_dir: Option<&Path>,
    ) -> Result<Top, OciError> {
        if let Some(dir) = keep_dir {
            pull.keep = Some(blob::Layout::create(dir, pull.reference).map_err(OciError::Keep)?);
        }
        let expected = match &pull.reference.digest {
            Some(d) => Expected::Pinned(d),
            None => Expected::Nothing,
        };
        let document = self
            .manifest(pull, &pull.reference.manifest_ref(), expected)
            .await?;
        pull.record.top = document.record.clone();
        self.keep_document(pull, &document)?;
        if let Kind::Index(entries) = &document.kind {
            pull.record.index_entries = entries.iter().map(|e| e.record.clone()).collect();
        }
        let content = tofu_record::digest::content_of(&document.raw);
        Ok(Top { document, content })
    }

    /// One image of an index: the entry's manifest, fetched by digest, checked against the
    /// entry and kept; then `vet`, the caller's own check of it, before any blob is asked
    /// for; then the manifest is recorded with the entry's platform and its config and
    /// layers are fetched, each verified. Returns what `vet` gave.
    pub(crate) async fn pull_image<T, E: From<OciError>>(
        &self,
        pull: &mut Pull<'_>,
        entry: &Descriptor,
        vet: impl FnOnce(&Manifest) -> Result<T, E>,
    ) -> Result<T, E> {
        let child = self
            .manifest(pull, &entry.digest.to_string(), Expected::Described(entry))
            .await?;
        self.keep_document(pull, &child)?;
        // The child's type is the entry's (checked above), so an entry of an image
        // manifest's type never gets here as an index.
        let Kind::Manifest(manifest) = &child.kind else {
            return Err(OciError::BadManifest(format!(
                "index entry {} is itself an index",
                entry.record.digest
            ))
            .into());
        };
        let vetted = vet(manifest)?;
        self.image(pull, entry.record.platform.clone(), &child.record, manifest)
            .await?;
        Ok(vetted)
    }

    /// Records an image's manifest, then fetches its blobs.
    async fn image(
        &self,
        pull: &mut Pull<'_>,
        platform: Option<String>,
        document: &OciDocument,
        manifest: &Manifest,
    ) -> Result<(), OciError> {
        pull.record.manifests.push(OciManifest {
            platform,
            document: document.clone(),
            config: manifest.config.record.clone(),
            layers: manifest.layers.iter().map(|l| l.record.clone()).collect(),
        });
        self.blobs(pull, &document.digest, manifest).await
    }

    /// With `--keep`, writes a verified document's bytes into the layout.
    fn keep_document(&self, pull: &Pull<'_>, doc: &Document) -> Result<(), OciError> {
        match &pull.keep {
            Some(layout) => layout
                .put_bytes(&Digest::sha256_of(&doc.raw), &doc.raw)
                .map_err(OciError::Keep),
            None => Ok(()),
        }
    }

    /// Fetches and checks a manifest or index.
    async fn manifest(
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
            .read_capped(response, document::MAX_MANIFEST, |limit| {
                OciError::ManifestTooLarge { limit }
            })
            .await?;
        document::check(raw, content_type.as_deref(), dcd.as_deref(), expected)
    }

    /// Fetches the config and layers with bounded concurrency, each verified. They report
    /// progress as one body, named after the manifest (`manifest_digest`): they arrive
    /// side by side, and a display shows one body at a time.
    async fn blobs(
        &self,
        pull: &mut Pull<'_>,
        manifest_digest: &str,
        manifest: &Manifest,
    ) -> Result<(), OciError> {
        // Descriptor `urls` (foreign layers) are recorded, never followed: the registry must
        // serve every blob itself.
        let all: Vec<&Descriptor> = std::iter::once(&manifest.config)
            .chain(&manifest.layers)
            .collect();
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
        let progress = pull.progress.as_ref();
        if let Some(p) = progress {
            let total = all
                .iter()
                .map(|d| d.record.size)
                .fold(0, u64::saturating_add);
            let label = format!("{} ({} blobs)", short_digest(manifest_digest), all.len());
            p.0.body_started(&label, 0, Some(total));
        }
        // The first failure stops the pull: the blobs still in flight are dropped.
        let outcome: Result<Vec<Vec<String>>, OciError> = futures_util::stream::iter(all)
            .map(|d| self.blob(&base, token.as_ref(), d, keep, progress))
            .buffer_unordered(BLOB_CONCURRENCY)
            .try_collect()
            .await;
        if let Some(p) = progress {
            p.0.body_finished();
        }
        let hosts = outcome?;
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
        status => Err(OciError::Fetch(FetchError::Status {
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

/// A digest as a progress display names it: the algorithm and the first 12 hex digits, as
/// `docker images` shows an image ID.
fn short_digest(digest: &str) -> &str {
    let end = digest.find(':').map_or(0, |colon| colon + 1) + 12;
    digest.get(..end).unwrap_or(digest)
}

#[cfg(test)]
mod tests {
    #[test]
    fn short_digests_keep_the_algorithm_and_twelve_digits() {
        let digest = format!("sha256:{}", "0123456789abcdef".repeat(4));
        assert_eq!(super::short_digest(&digest), "sha256:0123456789ab");
        assert_eq!(super::short_digest("sha256:abc"), "sha256:abc");
        assert_eq!(super::short_digest("0123456789abcdef"), "0123456789ab");
    }
}
