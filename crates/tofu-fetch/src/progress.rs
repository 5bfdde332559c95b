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
