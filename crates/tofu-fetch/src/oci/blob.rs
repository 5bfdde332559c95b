//! Blobs, streamed and verified against their descriptor: the byte count may never pass
//! the descriptor's size, and at the end the size and digest must both match. With `--keep`,
//! verified blobs land in an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/…`)
//! that `skopeo copy oci:DIR:TAG …` reads; a blob is renamed into place only once verified.

use std::io::Write;
use std::path::{Path, PathBuf};

use reqwest::header::{HeaderMap, HeaderValue};
use url::Url;

use super::document::{Descriptor, Document};
use super::error::OciError;
use super::reference::{Algorithm, Digest, Reference};
use crate::error::FetchError;
use crate::transport::Client;

impl Client {
    /// Fetches one blob; returns the hosts its redirects led to.
    pub(crate) async fn blob(
        &self,
        base: &Url,
        token: Option<&HeaderValue>,
        descriptor: &Descriptor,
        keep: Option<&Layout>,
    ) -> Result<Vec<String>, OciError> {
        let url = base
            .join(&format!("blobs/{}", descriptor.digest))
            .map_err(|e| OciError::BadManifest(e.to_string()))?;
        let mut hops = Vec::new();
        let (mut response, final_url) = self
            .get_following(&url, &HeaderMap::new(), token, &mut hops)
            .await?;
        let hosts = if final_url.origin() == url.origin() {
            Vec::new()
        } else {
            hops.iter()
                .skip(1)
                .filter_map(|h| Url::parse(&h.url).ok())
                .filter_map(|u| u.host_str().map(str::to_owned))
                .collect()
        };
        if response.status() != reqwest::StatusCode::OK {
            return Err(OciError::Fetch(FetchError::Status {
                status: response.status().as_u16(),
            }));
        }
        let expected = descriptor.record.size;
        let too_long = |found: u64| OciError::BlobSize {
            digest: descriptor.record.digest.clone(),
            expected,
            found,
        };
        if let Some(len) = response.content_length()
            && len != expected
        {
            return Err(too_long(len));
        }
        let header_digest = response
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned);
        let mut file = match keep {
            Some(layout) => Some(layout.temp().map_err(OciError::Keep)?),
            None => None,
        };
        let mut hasher = ring::digest::Context::new(match descriptor.digest.algorithm() {
            Algorithm::Sha256 => &ring::digest::SHA256,
            Algorithm::Sha512 => &ring::digest::SHA512,
        });
        let mut count: u64 = 0;
        let mut pace = self.pace();
        while let Some(chunk) = pace
            .chunk(&mut response)
            .await
            .map_err(OciError::Fetch)?
            .map_err(|e| OciError::Fetch(FetchError::from_reqwest(e)))?
        {
            count += chunk.len() as u64;
            if count > expected {
                return Err(too_long(count));
            }
            hasher.update(&chunk);
            if let Some(f) = file.as_mut() {
                f.write_all(&chunk).map_err(OciError::Keep)?;
            }
        }
        if count != expected {
            return Err(too_long(count));
        }
        let found = hex::encode(hasher.finish());
        if found != descriptor.digest.hex() {
            return Err(OciError::BlobDigest {
                digest: descriptor.record.digest.clone(),
                found,
            });
        }
        if let Some(h) = header_digest
            && h != descriptor.record.digest
        {
            return Err(OciError::DigestHeaderMismatch {
                header: h,
                found: descriptor.record.digest.clone(),
            });
        }
        if let (Some(layout), Some(f)) = (keep, file) {
            layout
                .persist(f, &descriptor.digest)
                .map_err(OciError::Keep)?;
        }
        Ok(hosts)
    }
}

/// An OCI image layout being written under `--keep DIR`.
pub(crate) struct Layout {
    dir: PathBuf,
}

impl Layout {
    /// `DIR/<reference as a safe name>/` with its `blobs/sha256`.
    pub(crate) fn create(keep: &Path, reference: &Reference) -> std::io::Result<Layout> {
        let name: String = reference
            .to_string()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let dir = keep.join(name);
        std::fs::create_dir_all(dir.join("blobs/sha256"))?;
        std::fs::create_dir_all(dir.join("blobs/sha512"))?;
        Ok(Layout { dir })
    }

    fn blob_path(&self, digest: &Digest) -> PathBuf {
        let alg = match digest.algorithm() {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        };
        self.dir.join("blobs").join(alg).join(digest.hex())
    }

    pub(crate) fn temp(&self) -> std::io::Result<tempfile::NamedTempFile> {
        tempfile::Builder::new()
            .prefix(".blob.")
            .suffix(".part")
            .tempfile_in(self.dir.join("blobs/sha256"))
    }

    pub(crate) fn persist(
        &self,
        file: tempfile::NamedTempFile,
        digest: &Digest,
    ) -> std::io::Result<()> {
        file.as_file().sync_all()?;
        file.persist(self.blob_path(digest)).map_err(|e| e.error)?;
        Ok(())
    }

    /// Copies a verified blob out of the layout to `dest` (temporary name, then rename).
    pub(crate) fn copy_blob_to(&self, digest: &Digest, dest: &Path) -> std::io::Result<()> {
        let dir = dest.parent().unwrap_or(Path::new("."));
        let tmp = tempfile::Builder::new()
            .prefix(".bottle.")
            .suffix(".part")
            .tempfile_in(dir)?;
        std::fs::copy(self.blob_path(digest), tmp.path())?;
        tmp.as_file().sync_all()?;
        tmp.persist(dest).map_err(|e| e.error)?;
        Ok(())
    }

    /// Writes a verified document's bytes as a blob.
    pub(crate) fn put_bytes(&self, digest: &Digest, bytes: &[u8]) -> std::io::Result<()> {
        let mut f = self.temp()?;
        f.write_all(bytes)?;
        self.persist(f, digest)
    }

    /// Writes `index.json` (naming the top document, tagged) and `oci-layout` last: a layout
    /// is complete only once these exist.
    pub(crate) fn finish(&self, top: &Document, reference: &Reference) -> std::io::Result<()> {
        let mut entry = serde_json::json!({
            "mediaType": top.record.media_type,
            "digest": top.record.digest,
            "size": top.record.size,
        });
        if let Some(tag) = &reference.tag {
            entry["annotations"] = serde_json::json!({"org.opencontainers.image.ref.name": tag});
        }
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": super::document::OCI_INDEX,
            "manifests": [entry],
        });
        let index = serde_json::to_vec_pretty(&index).map_err(std::io::Error::other)?;
        tofu_record::io::write_atomic(&self.dir.join("index.json"), &index, true)
            .map_err(std::io::Error::other)?;
        tofu_record::io::write_atomic(
            &self.dir.join("oci-layout"),
            br#"{"imageLayoutVersion":"1.0.0"}"#,
            true,
        )
        .map_err(std::io::Error::other)
    }
}
