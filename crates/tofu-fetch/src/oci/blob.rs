//! Blobs, streamed and verified against their descriptor: the byte count may never pass
//! the descriptor's size, and at the end the size and digest must both match. With `--keep`,
//! verified blobs land in an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/…`)
//! that `skopeo copy oci:DIR:TAG …` reads; a blob is renamed into place only once verified.
//! Each reference has its own directory, named by an injective escape of the reference, made
//! fresh for the pull: nothing in the keep directory is ever replaced.

use std::io::Write;
use std::path::{Path, PathBuf};

use reqwest::header::{HeaderMap, HeaderValue};
use url::Url;

use super::document::{Descriptor, Document};
use super::error::OciError;
use super::reference::{Digest, Reference};
use crate::ProgressSink;
use crate::error::FetchError;
use crate::transport::Client;

impl Client {
    /// Fetches one blob, verified against its descriptor, and with `--keep` puts it in the
    /// layout; returns the hosts its redirects led to. Its bytes advance `progress`.
    pub(super) async fn blob(
        &self,
        base: &Url,
        token: Option<&HeaderValue>,
        descriptor: &Descriptor,
        keep: Option<&Layout>,
        progress: Option<&ProgressSink>,
    ) -> Result<Vec<String>, OciError> {
        let (mut response, hosts) = self.blob_response(base, token, descriptor).await?;
        let header_digest = check_head(&response, descriptor)?;
        let mut file = match keep {
            Some(layout) => Some(layout.temp().map_err(OciError::Keep)?),
            None => None,
        };
        let found = self
            .stream_blob(&mut response, descriptor, file.as_mut(), progress)
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
        progress: Option<&ProgressSink>,
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
            if let Some(p) = progress {
                p.0.body_advanced(chunk.len() as u64);
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
    /// `DIR/<`[`layout_name`]`>/` with its `blobs/sha256` and `blobs/sha512`, created by
    /// this pull: a directory of that name already there (an earlier run's layout, or
    /// anything else) is an error, never written into.
    pub(super) fn create(keep: &Path, reference: &Reference) -> std::io::Result<Layout> {
        let dir = keep.join(layout_name(reference));
        std::fs::create_dir(&dir).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                std::io::Error::new(
                    e.kind(),
                    format!("{} already exists; tofu replaces nothing", dir.display()),
                )
            } else {
                e
            }
        })?;
        std::fs::create_dir_all(dir.join("blobs/sha256"))?;
        std::fs::create_dir_all(dir.join("blobs/sha512"))?;
        Ok(Layout { dir })
    }

    /// Removes the layout of a failed pull: it was made fresh by this pull, so it holds
    /// nothing else, and a failed artifact keeps nothing.
    pub(super) fn discard(&self) {
        // Best effort: the artifact has already failed, and the layout has no index.json.
        let _ = std::fs::remove_dir_all(&self.dir);
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
        match file.persist_noclobber(self.blob_path(digest)) {
            Ok(_) => Ok(()),
            // The layout is this pull's own, so a blob already there was put there by this
            // pull, verified (a layer shared by two images): the same bytes.
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(e.error),
        }
    }

    /// Copies a verified blob out of the layout to `dest` (temporary name, then rename); an
    /// existing `dest` is an error and stays as it was.
    pub(super) fn copy_blob_to(&self, digest: &Digest, dest: &Path) -> std::io::Result<()> {
        let dir = dest.parent().unwrap_or(Path::new("."));
        let tmp = tempfile::Builder::new()
            .prefix(".bottle.")
            .suffix(".part")
            .tempfile_in(dir)?;
        std::fs::copy(self.blob_path(digest), tmp.path())?;
        tmp.as_file().sync_all()?;
        tmp.persist_noclobber(dest).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                std::io::Error::new(
                    e.error.kind(),
                    format!("{} already exists; tofu replaces nothing", dest.display()),
                )
            } else {
                e.error
            }
        })?;
        tofu_record::io::sync_dir(dir)
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
        tofu_record::io::write_atomic(&self.dir.join("index.json"), &index, false)
            .map_err(std::io::Error::other)?;
        tofu_record::io::write_atomic(
            &self.dir.join("oci-layout"),
            br#"{"imageLayoutVersion":"1.0.0"}"#,
            false,
        )
        .map_err(std::io::Error::other)
    }
}

/// The layout's directory name: the reference (`registry/repository:tag` or `…@digest`) with
/// every byte outside `[A-Za-z0-9._-]`, and a leading `.`, written `%XX`. Percent-escaping
/// the escape character too makes it injective, so two references never share a directory
/// (`reg/a_b:t` is `reg%2Fa_b%3At`, `reg/a/b:t` is `reg%2Fa%2Fb%3At`); and the name is one
/// path component that is neither `.` nor `..` nor hidden.
pub(super) fn layout_name(reference: &Reference) -> String {
    let mut name = String::new();
    for (i, b) in reference.to_string().bytes().enumerate() {
        if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-') || (b == b'.' && i > 0) {
            name.push(char::from(b));
        } else {
            name.push_str(&format!("%{b:02X}"));
        }
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn name_of(reference: &str) -> String {
        layout_name(&Reference::parse(reference).unwrap())
    }

    /// Undoes [`layout_name`]: that it can be undone is what makes it injective.
    fn unescape(name: &str) -> String {
        let mut out = Vec::new();
        let mut bytes = name.bytes();
        while let Some(b) = bytes.next() {
            if b == b'%' {
                let hex: Vec<u8> = bytes.by_ref().take(2).collect();
                out.push(u8::from_str_radix(std::str::from_utf8(&hex).unwrap(), 16).unwrap());
            } else {
                out.push(b);
            }
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn separators_are_not_confused() {
        assert_eq!(name_of("reg.example/a_b:t"), "reg.example%2Fa_b%3At");
        assert_eq!(name_of("reg.example/a/b:t"), "reg.example%2Fa%2Fb%3At");
        assert_ne!(name_of("reg.example/a_b:t"), name_of("reg.example/a/b:t"));
        assert_ne!(name_of("reg.example/a-b:t"), name_of("reg.example/a/b:t"));
        assert_ne!(name_of("reg.example/a.b:t"), name_of("reg.example/a/b:t"));
        assert_eq!(
            name_of(&format!("127.0.0.1:5000/x@sha256:{}", "0".repeat(64))),
            format!("127.0.0.1%3A5000%2Fx%40sha256%3A{}", "0".repeat(64))
        );
    }

    proptest! {
        /// Every layout name is one safe path component, and it gives back the reference
        /// it was made from: two references that print differently never share a directory.
        #[test]
        fn layout_names_are_injective_and_safe(
            registry in "[a-z0-9]{1,4}(\\.[a-z0-9]{1,4}){1,2}(:[0-9]{1,5})?",
            repository in "[a-z0-9]{1,3}([._-]{1,2}[a-z0-9]{1,3}|/[a-z0-9]{1,3}){0,4}",
            tag in "[A-Za-z0-9_][A-Za-z0-9_.-]{0,8}",
        ) {
            let text = format!("{registry}/{repository}:{tag}");
            let Ok(reference) = Reference::parse(&text) else { return Ok(()) };
            let name = layout_name(&reference);
            prop_assert_eq!(unescape(&name), reference.to_string());
            prop_assert!(!name.starts_with('.'), "{}", name);
            prop_assert!(
                name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-%".contains(&b)),
                "{}",
                name
            );
        }
    }
}
