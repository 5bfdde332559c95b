//! Reading a key file while it downloads: the download hands each piece it receives to a
//! [`Scanner`]; once the first bytes show a key file, a thread reads it from a bounded
//! channel of those pieces (shared, not copied), one certificate at a time.

use std::io::{self, BufRead, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use bytes::{Buf, Bytes};
use tofu_record::{OpenPgpKeyring, OpenPgpPart};

use super::Start;

/// Pieces in flight to the reading thread; when it falls behind, the download waits.
const IN_FLIGHT: usize = 64;

/// Looks at a body as it arrives and reads it as a key file when it is one.
pub(crate) struct Scanner {
    state: State,
}

enum State {
    /// The first bytes, while they do not yet tell.
    Looking(Vec<u8>),
    /// Not a key file.
    Off,
    /// Read by a thread.
    Reading(Box<Reader>),
}

struct Reader {
    pieces: Feeder,
    thread: JoinHandle<io::Result<OpenPgpKeyring>>,
    /// Every byte handed over, for a part that stands for the whole file should the
    /// thread fail.
    length: u64,
    hash: ring::digest::Context,
}

impl Scanner {
    pub(crate) fn new() -> Scanner {
        Scanner {
            state: State::Looking(Vec::new()),
        }
    }

    /// A scanner that reads nothing (for a second mirror's copy of the same bytes).
    pub(crate) fn off() -> Scanner {
        Scanner { state: State::Off }
    }

    /// Hands over the next piece of the body.
    pub(crate) fn feed(&mut self, piece: &Bytes) {
        match &mut self.state {
            State::Off => {}
            State::Reading(reader) => reader.send(piece.clone()),
            State::Looking(prefix) => {
                prefix.extend_from_slice(piece);
                match super::start(prefix, false) {
                    Start::Unknown => {}
                    Start::Other => self.state = State::Off,
                    how @ (Start::Binary | Start::Armor) => {
                        let first = Bytes::from(std::mem::take(prefix));
                        self.state = match Reader::start(how) {
                            Some(mut reader) => {
                                reader.send(first);
                                State::Reading(Box::new(reader))
                            }
                            None => State::Off,
                        };
                    }
                }
            }
        }
    }

    /// The key file, once the whole body was fed; None when the body is not one.
    pub(crate) fn finish(self) -> Option<OpenPgpKeyring> {
        let mut scanner = self;
        match std::mem::replace(&mut scanner.state, State::Off) {
            State::Reading(reader) => Some((*reader).finish()),
            // A body shorter than it takes to tell: all of it is here, and read here (from
            // memory, which cannot fail).
            State::Looking(prefix) => match super::start(&prefix, true) {
                how @ (Start::Binary | Start::Armor) => {
                    super::read(std::io::Cursor::new(prefix), how).ok()
                }
                Start::Unknown | Start::Other => None,
            },
            State::Off => None,
        }
    }
}

impl Drop for Scanner {
    fn drop(&mut self) {
        // A body thrown away (the download restarted, or failed): the thread stops at its
        // next read instead of reading what is still in flight.
        if let State::Reading(reader) = &self.state {
            reader.pieces.stop();
        }
    }
}

impl Reader {
    fn start(how: Start) -> Option<Reader> {
        let (pieces, input) = channel();
        let thread = std::thread::Builder::new()
            .name("tofu-openpgp".to_owned())
            .spawn(move || super::read(input, how))
            .ok()?;
        Some(Reader {
            pieces,
            thread,
            length: 0,
            hash: ring::digest::Context::new(&ring::digest::SHA256),
        })
    }

    fn send(&mut self, piece: Bytes) {
        self.length += piece.len() as u64;
        self.hash.update(&piece);
        // A thread that has ended (it failed) takes nothing more; `finish` says so.
        self.pieces.send(piece);
    }

    fn finish(self) -> OpenPgpKeyring {
        let Reader {
            pieces,
            thread,
            length,
            hash,
            ..
        } = self;
        drop(pieces);
        match thread.join() {
            Ok(Ok(keyring)) => keyring,
            Ok(Err(e)) => whole(length, hash, format!("the key file could not be read: {e}")),
            Err(_) => whole(
                length,
                hash,
                "the OpenPGP reader failed on this file".to_owned(),
            ),
        }
    }
}

/// A key file of one part, the whole of it, that could not be read.
fn whole(length: u64, hash: ring::digest::Context, why: String) -> OpenPgpKeyring {
    OpenPgpKeyring {
        encoding: "unknown".to_owned(),
        parts: vec![OpenPgpPart {
            block: None,
            offset: 0,
            length,
            sha256: hex::encode(hash.finish()),
            certificate: None,
            error: Some(why),
        }],
    }
}

/// The sending end of a reading thread's input: pieces in order, then the end when it is
/// dropped, or a stop that makes the thread's next read fail.
pub(crate) struct Feeder {
    sender: SyncSender<Bytes>,
    stop: Arc<AtomicBool>,
}

impl Feeder {
    /// Hands over a piece; a thread that has stopped reading takes nothing more, which its
    /// result says.
    pub(crate) fn send(&self, piece: Bytes) {
        let _ = self.sender.send(piece);
    }

    /// Makes the thread's next read fail: the body was thrown away.
    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A bounded channel of pieces for a reading thread: when it falls behind, the download
/// waits.
pub(crate) fn channel() -> (Feeder, Pieces) {
    let (sender, received) = sync_channel(IN_FLIGHT);
    let stop = Arc::new(AtomicBool::new(false));
    let feeder = Feeder {
        sender,
        stop: Arc::clone(&stop),
    };
    let pieces = Pieces {
        received,
        current: Bytes::new(),
        stop,
    };
    (feeder, pieces)
}

/// The reading thread's input: the pieces, in order, until the sender is dropped.
pub(crate) struct Pieces {
    received: Receiver<Bytes>,
    current: Bytes,
    stop: Arc<AtomicBool>,
}

impl Read for Pieces {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        super::read_buffered(self, out)
    }
}

impl BufRead for Pieces {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.current.is_empty() {
            if self.stop.load(Ordering::Relaxed) {
                return Err(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    "the body was thrown away",
                ));
            }
            match self.received.recv() {
                Ok(piece) => self.current = piece,
                Err(_) => break,
            }
        }
        Ok(&self.current)
    }

    fn consume(&mut self, n: usize) {
        self.current.advance(n.min(self.current.len()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(pieces: &[&[u8]]) -> Option<OpenPgpKeyring> {
        let mut scanner = Scanner::new();
        for piece in pieces {
            scanner.feed(&Bytes::copy_from_slice(piece));
        }
        scanner.finish()
    }

    #[test]
    fn a_body_read_while_it_streams_is_read_as_from_memory() {
        // A public-key packet rPGP cannot read, then two bytes that are not a packet, fed
        // one byte per piece.
        let file = [0xc6, 3, 4, 0xc5, 2, 4, 0];
        let pieces: Vec<&[u8]> = file.chunks(1).collect();
        let streamed = scan(&pieces).unwrap();
        let read = super::super::read(std::io::Cursor::new(file.to_vec()), Start::Binary);
        assert_eq!(streamed, read.unwrap());
        assert_eq!(streamed.parts.len(), 2, "{streamed:?}");
        assert!(streamed.parts.iter().all(|p| p.error.is_some()));
    }

    #[test]
    fn a_body_too_short_to_tell_while_it_streams_is_told_at_its_end() {
        let line = b"-----BEGIN PGP PUBLIC KEY BLOCK-----";
        let keyring = scan(&[&line[..10], &line[10..]]).unwrap();
        assert_eq!(keyring.encoding, "armor");
        assert!(keyring.parts[0].error.is_some(), "{keyring:?}");
        assert_eq!(scan(&[b"hello"]), None);
        assert_eq!(scan(&[]), None);
    }
}
