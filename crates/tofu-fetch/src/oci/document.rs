//! Manifests and indexes: the raw bytes are hashed as received (never re-serialized), then
//! checked strictly — every SHOULD of the distribution spec is a MUST here: the pinned
//! digest, `Docker-Content-Digest` when present, `Content-Type` against `mediaType`, no
//! ambiguous documents, no schema 1, schema version 2.

use std::collections::BTreeMap;

use serde::Deserialize;
use tofu_record::{OciDescriptor, OciDocument};

use super::error::OciError;
use super::reference::Digest;

pub(crate) const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub(crate) const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub(crate) const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub(crate) const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// The `Accept` header for manifests: the four types tofu verifies, never schema 1.
pub(crate) const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.docker.distribution.manifest.v2+json";

/// Manifests and indexes larger than this are refused (as containers/image and oras do).
pub(crate) const MAX_MANIFEST: usize = 4 << 20;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDocument {
    schema_version: Option<u64>,
    media_type: Option<String>,
    manifests: Option<Vec<RawDescriptor>>,
    config: Option<RawDescriptor>,
    layers: Option<Vec<RawDescriptor>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDescriptor {
    media_type: String,
    digest: String,
    size: u64,
    platform: Option<RawPlatform>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    urls: Vec<String>,
}

#[derive(Deserialize)]
struct RawPlatform {
    architecture: String,
    os: String,
    variant: Option<String>,
}

/// A descriptor, its digest parsed.
#[derive(Clone, Debug)]
pub(crate) struct Descriptor {
    pub(crate) record: OciDescriptor,
    pub(crate) digest: Digest,
}

/// What a checked document holds.
pub(crate) enum Kind {
    Index(Vec<Descriptor>),
    Manifest {
        config: Descriptor,
        layers: Vec<Descriptor>,
    },
}

/// A checked manifest or index.
pub(crate) struct Document {
    pub(crate) raw: Vec<u8>,
    pub(crate) record: OciDocument,
    pub(crate) kind: Kind,
}

/// What the bytes must be: pinned by the user's reference, or described by a parent.
pub(crate) enum Expected<'a> {
    Nothing,
    Pinned(&'a Digest),
    Described(&'a Descriptor),
}

/// Checks a manifest response's bytes and headers; see the module comment.
pub(crate) fn check(
    raw: Vec<u8>,
    content_type: Option<&str>,
    docker_content_digest: Option<&str>,
    expected: Expected<'_>,
) -> Result<Document, OciError> {
    let digest = Digest::sha256_of(&raw);
    let content_type = content_type
        .map(|c| {
            c.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    // The pin first: a substituted document is the worst lie, whatever else it gets wrong.
    let pinned = match &expected {
        Expected::Nothing => None,
        Expected::Pinned(d) => Some(*d),
        Expected::Described(desc) => Some(&desc.digest),
    };
    if let Some(pin) = pinned
        && !pin.matches(&raw)
    {
        return Err(OciError::DigestMismatch {
            expected: pin.to_string(),
            found: digest.to_string(),
        });
    }
    let header = docker_content_digest
        .map(str::trim)
        .filter(|h| !h.is_empty());
    if let Some(header) = header {
        let claimed = Digest::parse(header).map_err(|e| OciError::DigestHeaderMismatch {
            header: header.to_owned(),
            found: format!("(unusable header: {e}) {digest}"),
        })?;
        if !claimed.matches(&raw) {
            return Err(OciError::DigestHeaderMismatch {
                header: header.to_owned(),
                found: digest.to_string(),
            });
        }
    }
    // Only once the bytes are the ones asked for does their kind matter.
    if content_type.starts_with("application/vnd.docker.distribution.manifest.v1") {
        return Err(OciError::Schema1);
    }
    if let Expected::Described(desc) = &expected {
        if desc.record.size != raw.len() as u64 {
            return Err(OciError::DescriptorMismatch {
                what: format!("manifest {}", desc.record.digest),
                detail: format!(
                    "{} bytes, the descriptor says {}",
                    raw.len(),
                    desc.record.size
                ),
            });
        }
        if desc.record.media_type != content_type {
            return Err(OciError::ContentTypeMismatch {
                content_type: content_type.clone(),
                media_type: desc.record.media_type.clone(),
            });
        }
    }
    let doc: RawDocument = serde_json::from_slice(&raw)
        .map_err(|e| OciError::BadManifest(format!("not JSON of a manifest: {e}")))?;
    match doc.schema_version {
        Some(2) => {}
        Some(1) => return Err(OciError::Schema1),
        other => {
            return Err(OciError::BadManifest(format!(
                "schemaVersion is {other:?}, expected 2"
            )));
        }
    }
    if doc.manifests.is_some() && (doc.layers.is_some() || doc.config.is_some()) {
        return Err(OciError::Ambiguous);
    }
    if let Some(media_type) = &doc.media_type
        && *media_type != content_type
    {
        return Err(OciError::ContentTypeMismatch {
            content_type,
            media_type: media_type.clone(),
        });
    }
    let kind = match (doc.manifests, doc.config, doc.layers) {
        (Some(manifests), None, None) => {
            if !matches!(content_type.as_str(), OCI_INDEX | DOCKER_LIST) {
                return Err(OciError::ContentTypeMismatch {
                    content_type,
                    media_type: "an index".to_owned(),
                });
            }
            Kind::Index(
                manifests
                    .into_iter()
                    .map(descriptor)
                    .collect::<Result<_, _>>()?,
            )
        }
        (None, Some(config), layers) => {
            if !matches!(content_type.as_str(), OCI_MANIFEST | DOCKER_MANIFEST) {
                return Err(OciError::ContentTypeMismatch {
                    content_type,
                    media_type: "an image manifest".to_owned(),
                });
            }
            Kind::Manifest {
                config: descriptor(config)?,
                layers: layers
                    .unwrap_or_default()
                    .into_iter()
                    .map(descriptor)
                    .collect::<Result<_, _>>()?,
            }
        }
        _ => {
            return Err(OciError::BadManifest(
                "neither an index (manifests) nor an image manifest (config, layers)".to_owned(),
            ));
        }
    };
    Ok(Document {
        record: OciDocument {
            digest: digest.to_string(),
            size: raw.len() as u64,
            media_type: content_type,
            docker_content_digest: header.map(str::to_owned),
        },
        raw,
        kind,
    })
}

fn descriptor(raw: RawDescriptor) -> Result<Descriptor, OciError> {
    let digest = Digest::parse(&raw.digest).map_err(OciError::BadManifest)?;
    let platform = raw.platform.map(|p| match p.variant {
        Some(v) => format!("{}/{}/{v}", p.os, p.architecture),
        None => format!("{}/{}", p.os, p.architecture),
    });
    Ok(Descriptor {
        digest,
        record: OciDescriptor {
            digest: raw.digest,
            size: raw.size,
            media_type: raw.media_type,
            platform,
            annotations: raw.annotations,
            urls: raw.urls,
        },
    })
}
