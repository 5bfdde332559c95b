//! What a download reports while it runs, for a progress display. tofu-fetch only calls the
//! sink; what a person sees (a live line on a terminal, nothing on a pipe) is the binary's.

use std::sync::Arc;

/// Receives the progress of the bodies of one run, one body at a time. Called on the
/// fetching task: an implementation must return quickly and never block.
pub trait Progress: Send + Sync {
    /// A body begins: `offset` bytes of it are already held (a resumed attempt), of `total`
    /// when the server declared a length. `label` names the body (an artifact's file name,
    /// a blob's digest); it comes from a URL or a registry, so it is not escaped.
    fn body_started(&self, label: &str, offset: u64, total: Option<u64>);
    /// `bytes` more bytes of the current body arrived.
    fn body_advanced(&self, bytes: u64);
    /// The current attempt ended short and another follows; `reason` says why, in words.
    fn retrying(&self, reason: &str);
    /// The current body ended, complete or not.
    fn body_finished(&self);
}

/// A shared [`Progress`], as options carry it.
#[derive(Clone)]
pub struct ProgressSink(pub Arc<dyn Progress>);

impl std::fmt::Debug for ProgressSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProgressSink")
    }
}

/// A body on disk, as a checkpoint vouches for it: what `tofu fetch --resume` continues from
/// after the process was interrupted. It names no URL (a signed URL is a secret): the
/// resumption asks the artifact's URL again.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Partial {
    /// Which URL of the artifact the body is from (its index among the artifact's URLs).
    pub url_index: usize,
    /// The payload's temporary file name in the keep directory.
    pub file: String,
    /// How many bytes of the file the checkpoint vouches for (it may hold more).
    pub offset: u64,
    /// SHA-256 of those bytes, lowercase hex.
    pub prefix_sha256: String,
    /// The first response's validator: `etag` or `last-modified`, and its value.
    pub validator: Option<(String, String)>,
    /// The whole body's declared length.
    pub total: Option<u64>,
}

/// Receives checkpoints of bodies being kept: each one's bytes up to `offset` are on disk
/// (synced) when it is called. Called on the fetching task, about once a second.
pub trait Checkpoints: Send + Sync {
    /// The body of the artifact being fetched has reached `partial`.
    fn save(&self, partial: &Partial);
}

/// A shared [`Checkpoints`], as options carry it.
#[derive(Clone)]
pub struct CheckpointSink(pub Arc<dyn Checkpoints>);

impl std::fmt::Debug for CheckpointSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CheckpointSink")
    }
}
