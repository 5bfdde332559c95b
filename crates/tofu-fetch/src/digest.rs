//! SHA-256 and SHA-512 of a stream, computed on the fly, with its size. ring's
//! implementations run near OpenSSL's speed on these machines; the portable `sha2` code runs
//! at about half of it. One-shot digests of bytes in memory are `tofu_record::digest`.

use ring::digest::{Context, SHA256, SHA512};
use tofu_record::Content;

/// Digests of a body streamed from the network: SHA-512 runs on a second thread, fed the
/// received chunks through a bounded channel (chunks are reference-counted, so nothing is
/// copied), while SHA-256 and the disk write stay on the receiving thread. On two cores this
/// takes the slower hash off the path of the faster one. Memory stays bounded by the channel.
pub(crate) struct StreamDigests {
    sha256: Context,
    size: u64,
    sha512: Sha512Worker,
}

enum Sha512Worker {
    Thread {
        chunks: std::sync::mpsc::SyncSender<bytes::Bytes>,
        done: std::thread::JoinHandle<ring::digest::Digest>,
    },
    /// When no thread can be started: the same digest, on this thread.
    Inline(Context),
}

/// Chunks in flight to the SHA-512 thread (each at most a few tens of KiB).
const SHA512_QUEUE: usize = 64;

impl StreamDigests {
    pub(crate) fn new() -> StreamDigests {
        let (tx, rx) = std::sync::mpsc::sync_channel::<bytes::Bytes>(SHA512_QUEUE);
        let worker = std::thread::Builder::new()
            .name("tofu-sha512".to_owned())
            .spawn(move || {
                let mut ctx = Context::new(&SHA512);
                for chunk in rx {
                    ctx.update(&chunk);
                }
                ctx.finish()
            });
        let sha512 = match worker {
            Ok(done) => Sha512Worker::Thread { chunks: tx, done },
            Err(_) => Sha512Worker::Inline(Context::new(&SHA512)),
        };
        StreamDigests {
            sha256: Context::new(&SHA256),
            size: 0,
            sha512,
        }
    }

    pub(crate) fn update(&mut self, chunk: &bytes::Bytes) {
        match &mut self.sha512 {
            Sha512Worker::Thread { chunks, .. } => {
                // Only fails if the worker died, which finish() then reports by panicking
                // through join: never a silently wrong digest.
                let _ = chunks.send(chunk.clone());
            }
            Sha512Worker::Inline(ctx) => ctx.update(chunk),
        }
        self.sha256.update(chunk);
        self.size += chunk.len() as u64;
    }

    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// SHA-256 of the bytes so far, lowercase hex; the stream goes on.
    pub(crate) fn sha256_so_far(&self) -> String {
        hex::encode(self.sha256.clone().finish())
    }

    pub(crate) fn finish(self) -> Content {
        let sha512 = match self.sha512 {
            Sha512Worker::Thread { chunks, done } => {
                drop(chunks);
                done.join().expect("the SHA-512 thread does not panic")
            }
            Sha512Worker::Inline(ctx) => ctx.finish(),
        };
        Content {
            size: self.size,
            sha256: hex::encode(self.sha256.finish()),
            sha512: hex::encode(sha512),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_threaded_digests_equal_the_plain_ones() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut streamed = StreamDigests::new();
        for chunk in data.chunks(16_384) {
            streamed.update(&bytes::Bytes::copy_from_slice(chunk));
        }
        assert_eq!(streamed.finish(), tofu_record::digest::content_of(&data));
    }
}
