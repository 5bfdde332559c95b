//! SHA-256 and SHA-512 of a stream, computed on the fly, with its size. ring's
//! implementations run near OpenSSL's speed on these machines; the portable `sha2` code runs
//! at about half of it. One-shot digests of bytes in memory are `tofu_record::digest`.

use ring::digest::{Context, Digest, SHA256, SHA512};
use tofu_record::{Chunks, Content};

/// Digests of a body streamed from the network: SHA-512 and the SHA-256 of each fixed-size
/// chunk run on a second thread, fed the received pieces through a bounded channel (pieces
/// are reference-counted, so nothing is copied), while SHA-256 and the disk write stay on the
/// receiving thread. On two cores this takes the slower hashes off the path of the faster
/// one. Memory stays bounded by the channel and the chunk list.
pub(crate) struct StreamDigests {
    sha256: Context,
    size: u64,
    worker: Worker,
}

enum Worker {
    Thread {
        pieces: std::sync::mpsc::SyncSender<bytes::Bytes>,
        done: std::thread::JoinHandle<(Digest, Chunks)>,
    },
    /// When no thread can be started: the same digests, on this thread.
    Inline(Box<Beside>),
}

/// Pieces in flight to the worker thread (each at most a few tens of KiB).
const WORKER_QUEUE: usize = 64;

impl StreamDigests {
    /// Digests of a body of `expected` bytes (its declared length, if any), which sets the
    /// chunk size ([`Chunks::size_for`]).
    pub(crate) fn new(expected: Option<u64>) -> StreamDigests {
        let chunk_size = Chunks::size_for(expected);
        let (tx, rx) = std::sync::mpsc::sync_channel::<bytes::Bytes>(WORKER_QUEUE);
        let mut beside = Beside::new(chunk_size);
        let worker = std::thread::Builder::new()
            .name("tofu-sha512".to_owned())
            .spawn(move || {
                for piece in rx {
                    beside.update(&piece);
                }
                beside.finish()
            });
        let worker = match worker {
            Ok(done) => Worker::Thread { pieces: tx, done },
            // Nothing was hashed yet: start afresh here.
            Err(_) => Worker::Inline(Box::new(Beside::new(chunk_size))),
        };
        StreamDigests {
            sha256: Context::new(&SHA256),
            size: 0,
            worker,
        }
    }

    /// Feeds the next piece of the body, of any size.
    pub(crate) fn update(&mut self, piece: &bytes::Bytes) {
        match &mut self.worker {
            Worker::Thread { pieces, .. } => {
                // Only fails if the worker died, which finish() then reports by panicking
                // through join: never a silently wrong digest.
                let _ = pieces.send(piece.clone());
            }
            Worker::Inline(beside) => beside.update(piece),
        }
        self.sha256.update(piece);
        self.size += piece.len() as u64;
    }

    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// SHA-256 of the bytes so far, lowercase hex; the stream goes on.
    pub(crate) fn sha256_so_far(&self) -> String {
        hex::encode(self.sha256.clone().finish())
    }

    /// The content's size and digests, and its chunk digests.
    pub(crate) fn finish(self) -> (Content, Chunks) {
        let (sha512, chunks) = match self.worker {
            Worker::Thread { pieces, done } => {
                drop(pieces);
                done.join().expect("the SHA-512 thread does not panic")
            }
            Worker::Inline(beside) => beside.finish(),
        };
        let content = Content {
            size: self.size,
            sha256: hex::encode(self.sha256.finish()),
            sha512: hex::encode(sha512),
        };
        (content, chunks)
    }
}

/// The hashes beside the whole body's SHA-256: its SHA-512 and the chunk digests.
struct Beside {
    sha512: Context,
    chunks: ChunkDigests,
}

impl Beside {
    fn new(chunk_size: u64) -> Beside {
        Beside {
            sha512: Context::new(&SHA512),
            chunks: ChunkDigests::new(chunk_size),
        }
    }

    fn update(&mut self, piece: &[u8]) {
        self.sha512.update(piece);
        self.chunks.update(piece);
    }

    fn finish(self) -> (Digest, Chunks) {
        (self.sha512.finish(), self.chunks.finish())
    }
}

/// SHA-256 of each `size`-byte chunk of a stream fed in pieces of any size: a piece may end
/// inside a chunk, or span several.
struct ChunkDigests {
    size: u64,
    current: Context,
    /// Bytes of the current chunk hashed so far, always less than `size`.
    filled: u64,
    done: Vec<[u8; 32]>,
}

impl ChunkDigests {
    fn new(size: u64) -> ChunkDigests {
        debug_assert!(size > 0, "a chunk size is at least 1 MiB");
        ChunkDigests {
            size,
            current: Context::new(&SHA256),
            filled: 0,
            done: Vec::new(),
        }
    }

    fn update(&mut self, mut piece: &[u8]) {
        while !piece.is_empty() {
            let room = self.size - self.filled;
            let take = usize::try_from(room).map_or(piece.len(), |r| r.min(piece.len()));
            let (head, rest) = piece.split_at(take);
            self.current.update(head);
            self.filled += take as u64;
            piece = rest;
            if self.filled == self.size {
                let full = std::mem::replace(&mut self.current, Context::new(&SHA256));
                self.done.push(digest_bytes(&full.finish()));
                self.filled = 0;
            }
        }
    }

    fn finish(mut self) -> Chunks {
        // A short last chunk; an empty body has no chunk at all.
        if self.filled > 0 {
            self.done.push(digest_bytes(&self.current.finish()));
        }
        Chunks {
            size: self.size,
            sha256: self.done.iter().map(hex::encode).collect(),
        }
    }
}

fn digest_bytes(digest: &Digest) -> [u8; 32] {
    let mut out = [0; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1 << 20;

    /// `n` bytes that differ from chunk to chunk and within one.
    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 % 251) as u8).collect()
    }

    /// SHA-256 of each `size`-byte slice, as the chunk list should hold them.
    fn sliced(data: &[u8], size: usize) -> Vec<String> {
        data.chunks(size)
            .map(|c| hex::encode(ring::digest::digest(&SHA256, c)))
            .collect()
    }

    fn streamed(data: &[u8], expected: Option<u64>, piece: usize) -> (Content, Chunks) {
        let mut digests = StreamDigests::new(expected);
        for p in data.chunks(piece) {
            digests.update(&bytes::Bytes::copy_from_slice(p));
        }
        digests.finish()
    }

    #[test]
    fn the_threaded_digests_equal_the_plain_ones() {
        let data = data(300_000);
        let (content, _) = streamed(&data, None, 16_384);
        assert_eq!(content, tofu_record::digest::content_of(&data));
    }

    #[test]
    fn chunks_are_1_mib_slices_at_and_around_the_edges() {
        for n in [
            0,
            1,
            MIB - 1,
            MIB,
            MIB + 1,
            2 * MIB,
            2 * MIB + 1,
            3 * MIB - 1,
        ] {
            let data = data(n);
            // Pieces that never line up with the chunks, and declared or unknown lengths.
            for (expected, piece) in [(Some(n as u64), 16_384 + 7), (None, 65_536)] {
                let (content, chunks) = streamed(&data, expected, piece);
                assert_eq!(chunks.size, 1 << 20, "{n}");
                assert_eq!(chunks.sha256, sliced(&data, MIB), "{n}");
                assert_eq!(chunks.sha256.len(), n.div_ceil(MIB), "{n}");
                assert!(chunks.check(content.size).is_ok(), "{n}");
            }
        }
    }

    #[test]
    fn a_declared_length_over_4096_mib_doubles_the_chunk() {
        let chunks = StreamDigests::new(Some(4096 * MIB as u64 + 1)).finish().1;
        assert_eq!(chunks.size, 2 << 20);
        assert!(chunks.sha256.is_empty());
    }

    #[test]
    fn a_piece_may_span_several_chunks() {
        let data = data(10 * 64 + 3);
        let mut chunks = ChunkDigests::new(64);
        chunks.update(&data[..5]);
        chunks.update(&data[5..600]);
        chunks.update(&data[600..]);
        assert_eq!(chunks.finish().sha256, sliced(&data, 64));
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Whatever the sizes of the pieces fed, each chunk digest is the SHA-256 of its
        /// slice, and only the last may be short.
        #[test]
        fn chunk_digests_are_the_digests_of_the_slices(
            data in proptest::collection::vec(any::<u8>(), 0..2048),
            size in 1u64..200,
            cuts in proptest::collection::vec(0usize..2048, 0..12),
        ) {
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
            cuts.sort_unstable();
            let mut chunks = ChunkDigests::new(size);
            let mut at = 0;
            for cut in cuts.into_iter().chain([data.len()]) {
                chunks.update(&data[at..cut]);
                at = cut;
            }
            let expected: Vec<String> = data
                .chunks(size as usize)
                .map(|c| hex::encode(ring::digest::digest(&SHA256, c)))
                .collect();
            prop_assert_eq!(chunks.finish().sha256, expected);
        }
    }
}
