//! OCI image layouts built by the tests, with deterministic bytes: a multi-platform image
//! (an OCI index with `mediaType`), and a Homebrew-shaped bottle index (no top-level
//! `mediaType`, `sh.brew.*` annotations). skopeo pushes them into the test registry.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// A blob written into a layout.
#[derive(Clone, Debug)]
pub struct Blob {
    /// `sha256:…`.
    pub digest: String,
    /// Size in bytes.
    pub size: u64,
    /// Media type.
    pub media_type: String,
}

/// An OCI image layout being built in a directory.
pub struct LayoutBuilder {
    /// The layout directory (`oci:DIR:TAG` for skopeo).
    pub dir: PathBuf,
    seed: u64,
}

impl LayoutBuilder {
    /// Starts an empty layout in `dir`.
    pub fn new(dir: &Path) -> LayoutBuilder {
        std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
        std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
        LayoutBuilder {
            dir: dir.to_owned(),
            seed: 0x9e37_79b9_7f4a_7c15,
        }
    }

    /// Writes bytes as a blob.
    pub fn blob(&mut self, bytes: &[u8], media_type: &str) -> Blob {
        let hex = hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes));
        std::fs::write(self.dir.join("blobs/sha256").join(&hex), bytes).unwrap();
        Blob {
            digest: format!("sha256:{hex}"),
            size: bytes.len() as u64,
            media_type: media_type.to_owned(),
        }
    }

    /// A JSON document as a blob, serialized once (its bytes are what gets hashed).
    pub fn json(&mut self, value: &Value, media_type: &str) -> Blob {
        self.blob(&serde_json::to_vec(value).unwrap(), media_type)
    }

    /// `size` pseudo-random bytes (a stand-in for a gzip layer).
    pub fn random_layer(&mut self, size: usize) -> Blob {
        let mut bytes = Vec::with_capacity(size);
        for _ in 0..size {
            self.seed ^= self.seed << 13;
            self.seed ^= self.seed >> 7;
            self.seed ^= self.seed << 17;
            bytes.push((self.seed >> 24) as u8);
        }
        self.blob(&bytes, "application/vnd.oci.image.layer.v1.tar+gzip")
    }

    /// An image manifest for `os/arch` with `layers` pseudo-random layers of `layer_size`.
    pub fn image(&mut self, os: &str, arch: &str, layers: usize, layer_size: usize) -> Blob {
        let layer_blobs: Vec<Blob> = (0..layers).map(|_| self.random_layer(layer_size)).collect();
        let config = self.json(
            &json!({
                "architecture": arch, "os": os,
                "rootfs": {"type": "layers", "diff_ids": layer_blobs.iter().map(|b| &b.digest).collect::<Vec<_>>()},
            }),
            "application/vnd.oci.image.config.v1+json",
        );
        self.json(
            &json!({
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": descriptor(&config),
                "layers": layer_blobs.iter().map(descriptor).collect::<Vec<_>>(),
            }),
            "application/vnd.oci.image.manifest.v1+json",
        )
    }

    /// An OCI index (with `mediaType`) over `(platform, manifest)` entries.
    pub fn index(&mut self, entries: &[(&str, &Blob)]) -> Blob {
        let manifests: Vec<Value> = entries
            .iter()
            .map(|(platform, m)| {
                let mut d = descriptor(m);
                let parts: Vec<&str> = platform.split('/').collect();
                d["platform"] = json!({"os": parts[0], "architecture": parts[1]});
                d
            })
            .collect();
        self.json(
            &json!({
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "manifests": manifests,
            }),
            "application/vnd.oci.image.index.v1+json",
        )
    }

    /// Names `top` with `tag` in index.json (replacing what was there).
    pub fn tag(&mut self, top: &Blob, tag: &str) {
        let mut d = descriptor(top);
        d["annotations"] = json!({"org.opencontainers.image.ref.name": tag});
        let index = json!({"schemaVersion": 2, "manifests": [d]});
        std::fs::write(
            self.dir.join("index.json"),
            serde_json::to_vec(&index).unwrap(),
        )
        .unwrap();
    }
}

/// A descriptor of a blob.
pub fn descriptor(blob: &Blob) -> Value {
    json!({"mediaType": blob.media_type, "digest": blob.digest, "size": blob.size})
}

/// One bottle of a Homebrew-shaped index, as built.
#[derive(Clone, Debug)]
pub struct Bottle {
    /// The bottle tag, e.g. `arm64_sonoma`.
    pub tag: String,
    /// sha256 of the bottle (bare hex, as the Homebrew API gives it).
    pub sha256: String,
    /// Its size.
    pub size: u64,
    /// Its manifest's digest.
    pub manifest: String,
}

impl LayoutBuilder {
    /// A Homebrew-shaped bottle index: no top-level `mediaType`, one entry per bottle with
    /// the `org.opencontainers.image.ref.name` and `sh.brew.bottle.*` annotations, each
    /// manifest holding the bottle as its single layer.
    pub fn bottle_index(
        &mut self,
        pkg_version: &str,
        bottles: &[(&str, &str, &str, usize)],
    ) -> (Blob, Vec<Bottle>) {
        let mut entries = Vec::new();
        let mut built = Vec::new();
        for (tag, os, arch, size) in bottles {
            let layer = self.random_layer(*size);
            let config = self.json(
                &json!({"architecture": arch, "os": os, "rootfs": {"type": "layers", "diff_ids": [layer.digest]}}),
                "application/vnd.oci.image.config.v1+json",
            );
            let ref_name = format!("{pkg_version}.{tag}");
            let manifest = self.json(
                &json!({
                    "schemaVersion": 2,
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": descriptor(&config),
                    "layers": [descriptor(&layer)],
                    "annotations": {"org.opencontainers.image.ref.name": ref_name},
                }),
                "application/vnd.oci.image.manifest.v1+json",
            );
            let mut entry = descriptor(&manifest);
            entry["platform"] = json!({"os": os, "architecture": arch});
            entry["annotations"] = json!({
                "org.opencontainers.image.ref.name": ref_name,
                "sh.brew.bottle.digest": &layer.digest[7..],
                "sh.brew.bottle.size": layer.size.to_string(),
            });
            entries.push(entry);
            built.push(Bottle {
                tag: (*tag).to_owned(),
                sha256: layer.digest[7..].to_owned(),
                size: layer.size,
                manifest: manifest.digest.clone(),
            });
        }
        let index = self.json(
            &json!({
                "schemaVersion": 2,
                "manifests": entries,
                "annotations": {
                    "com.github.package.type": "homebrew_bottle",
                    "org.opencontainers.image.ref.name": pkg_version,
                },
            }),
            "application/vnd.oci.image.index.v1+json",
        );
        (index, built)
    }
}
