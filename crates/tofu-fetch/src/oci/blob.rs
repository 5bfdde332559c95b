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
use super::reference::{Digest, Reference};
use crate::error::FetchError;
use crate::transport::Client;

impl Client {
    /// Fetches one blob, verified against its descriptor, and with `--keep` puts it in the
    /// layout; returns the hosts its redirects led to.
    pub(super) async fn blob(
        &self,
        base: &Url,
        token: Option<&HeaderValue>,
        descriptor: &Descriptor,
        keep: Option<&Layout>,
    ) -> Result<Vec<String>, OciError> {
        let (mut response, hosts) = self.blob_response(base, token, descriptor).await?;
        let header_digest = check_head(&response, descriptor)?;
        let mut file = match keep {
            Some(layout) => Some(layout.temp().map_err(OciError::Keep)?),
            None => None,
        };
        let found = self
            .stream_blob(&mut response, descriptor, file.as_mut())
            .await?;
        if found != descriptor.digest.hex() {
            return Err(OciError::BlobDigest {
                digest: descriptor.record.digest.clone(),
                found,
            });
        }
        // The header is judged only once the bytes are known good: a wrong header on the
        // right bytes is a lie of its own, told apart from a wrong body.
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

    /// The GET of a blob (with the token, which never leaves the registry's origin), and
    /// the hosts it was redirected to when it left that origin.
    async fn blob_response(
        &self,
        base: &Url,
        token: Option<&HeaderValue>,
        descriptor: &Descriptor,
    ) -> Result<(reqwest::Response, Vec<String>), OciError> {
        let url = base
            .join(&format!("blobs/{}", descriptor.digest))
            .map_err(|e| OciError::BadManifest(e.to_string()))?;
        let mut hops = Vec::new();
        let (response, final_url) = self
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
        Ok((response, hosts))
    }

    /// Streams the body through the descriptor's hash (and into `file`), never past the
    /// descriptor's size; returns the hex digest of exactly that many bytes.
    async fn stream_blob(
        &self,
        response: &mut reqwest::Response,
        descriptor: &Descriptor,
        mut file: Option<&mut tempfile::NamedTempFile>,
    ) -> Result<String, OciError> {
        let expected = descriptor.record.size;
        let mut hasher = descriptor.digest.algorithm().context();
        let mut count: u64 = 0;
        let mut pace = self.pace();
        while let Some(chunk) = pace
            .chunk(response)
            .await
            .map_err(OciError::Fetch)?
            .map_err(|e| OciError::Fetch(FetchError::from_reqwest(e)))?
        {
            count += chunk.len() as u64;
            if count > expected {
                return Err(wrong_size(descriptor, count));
            }
            hasher.update(&chunk);
            if let Some(f) = file.as_mut() {
                f.write_all(&chunk).map_err(OciError::Keep)?;
            }
        }
        if count != expected {
            return Err(wrong_size(descriptor, count));
        }
        Ok(hex::encode(hasher.finish()))
    }
}

/// Judges a blob response before its body: the status must be 200 and a declared length the
/// descriptor's size. Returns the `Docker-Content-Digest` it announces, for after the body.
fn check_head(
    response: &reqwest::Response,
    descriptor: &Descriptor,
) -> Result<Option<String>, OciError> {
    if response.status() != reqwest::StatusCode::OK {
        return Err(OciError::Fetch(FetchError::Status {
            status: response.status().as_u16(),
        }));
    }
    if let Some(len) = response.content_length()
        && len != descriptor.record.size
    {
        return Err(wrong_size(descriptor, len));
    }
    Ok(response
        .headers()
        .get("docker-content-digest")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned))
}

/// A blob of `found` bytes where its descriptor says otherwise.
fn wrong_size(descriptor: &Descriptor, found: u64) -> OciError {
    OciError::BlobSize {
        digest: descriptor.record.digest.clone(),
        expected: descriptor.record.size,
        found,
    }
}

/// An OCI image layout being written under `--keep DIR`.
pub(super) struct Layout {
    dir: PathBuf,
}

impl Layout {
    /// `DIR/<reference as a safe name>/` with its `blobs/sha256`.
    pub(super) fn create(keep: &Path, reference: &Reference) -> std::io::Result<Layout> {
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
        self.dir
            .join("blobs")
            .join(digest.algorithm().name())
            .join(digest.hex())
    }

    pub(super) fn temp(&self) -> std::io::Result<tempfile::NamedTempFile> {
        tempfile::Builder::new()
            .prefix(".blob.")
            .suffix(".part")
            .tempfile_in(self.dir.join("blobs/sha256"))
    }

    pub(super) fn persist(
        &self,
        file: tempfile::NamedTempFile,
        digest: &Digest,
    ) -> std::io::Result<()> {
        file.as_file().sync_all()?;
        file.persist(self.blob_path(digest)).map_err(|e| e.error)?;
        Ok(())
    }

    /// Copies a verified blob out of the layout to `dest` (temporary name, then rename).
    pub(super) fn copy_blob_to(&self, digest: &Digest, dest: &Path) -> std::io::Result<()> {
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
    pub(super) fn put_bytes(&self, digest: &Digest, bytes: &[u8]) -> std::io::Result<()> {
        let mut f = self.temp()?;
        f.write_all(bytes)?;
        self.persist(f, digest)
    }

    /// Writes `index.json` (naming the top document, tagged) and `oci-layout` last: a layout
    /// is complete only once these exist.
    pub(super) fn finish(&self, top: &Document, reference: &Reference) -> std::io::Result<()> {
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
