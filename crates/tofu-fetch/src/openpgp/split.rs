//! Cutting a stream of OpenPGP packets into parts: each certificate (a public-key packet and
//! the packets after it, up to the next key), each secret key, and the bytes that are not a
//! certificate's. The framing (packet headers and lengths) is rPGP's; this module only
//! decides where one part ends and the next begins, so that a part rPGP cannot read is
//! recorded at its place instead of dropping it or merging it into its neighbour.

use std::io::{self, BufRead, Read};

use pgp::composed::PacketBodyReader;
use pgp::packet::PacketHeader;
use pgp::types::{PacketLength, Tag};

/// The most bytes one part may hold in memory; a larger one is hashed and recorded as too
/// large to read. Certificates of real keyrings are far smaller (Debian's largest, with all
/// its certifications, is under 1 MiB).
pub(crate) const MAX_PART: usize = 8 << 20;

/// The most parts a file may be cut into; the rest of a longer one is one last part.
pub(crate) const MAX_PARTS: usize = 10_000;

/// What a part is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Starts with a public-key packet.
    Public,
    /// Starts with a secret-key packet.
    Secret,
    /// Packets before the first key.
    Stray,
    /// Bytes that are not packets (the stream ends inside a packet, or the rest does not
    /// begin with a packet header), or what is left past [`MAX_PARTS`].
    Unframed,
}

/// One part cut from the stream.
#[derive(Debug)]
pub(crate) struct Part {
    pub(crate) kind: Kind,
    pub(crate) offset: u64,
    pub(crate) length: u64,
    pub(crate) sha256: String,
    /// The bytes, unless there are more than [`MAX_PART`].
    pub(crate) bytes: Option<Vec<u8>>,
    /// Packets of each tag the part holds (subkeys, user IDs, signatures), for telling
    /// what a reader skipped.
    pub(crate) subkeys: u32,
    pub(crate) user_ids: u32,
    pub(crate) signatures: u32,
    /// Why the framing ended inside this part, when it did.
    pub(crate) broken: Option<String>,
}

/// A part while its bytes come in: the part so far, and the hash of its bytes.
struct Building {
    part: Part,
    hash: ring::digest::Context,
}

impl Building {
    fn new(kind: Kind, offset: u64) -> Building {
        Building {
            part: Part {
                kind,
                offset,
                length: 0,
                sha256: String::new(),
                bytes: Some(Vec::new()),
                subkeys: 0,
                user_ids: 0,
                signatures: 0,
                broken: None,
            },
            hash: ring::digest::Context::new(&ring::digest::SHA256),
        }
    }

    fn add(&mut self, piece: &[u8]) {
        self.hash.update(piece);
        let part = &mut self.part;
        part.length += piece.len() as u64;
        if let Some(bytes) = part.bytes.as_mut() {
            if bytes.len() + piece.len() <= MAX_PART {
                bytes.extend_from_slice(piece);
            } else {
                part.bytes = None;
            }
        }
    }

    fn count(&mut self, tag: Tag) {
        let part = &mut self.part;
        match tag {
            Tag::PublicSubkey | Tag::SecretSubkey => part.subkeys += 1,
            Tag::UserId | Tag::UserAttribute => part.user_ids += 1,
            Tag::Signature => part.signatures += 1,
            _ => {}
        }
    }

    fn done(self) -> Part {
        Part {
            sha256: hex::encode(self.hash.finish()),
            ..self.part
        }
    }
}

/// A reader that hands every byte consumed through it to the part being built, or holds
/// it while the packet it starts is not yet known (a header).
struct Tee<R> {
    inner: R,
    position: u64,
    header: Vec<u8>,
    part: Option<Building>,
    in_header: bool,
    /// The input's own error, once it had one: it is not asked again (an armor decoder
    /// must not be read after an error), and the error is told apart from bytes that are
    /// not packets.
    failed: Option<(io::ErrorKind, String)>,
}

impl<R: BufRead> Read for Tee<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        super::read_buffered(self, out)
    }
}

impl<R: BufRead> BufRead for Tee<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if let Some((kind, message)) = &self.failed {
            return Err(io::Error::new(*kind, message.clone()));
        }
        // Asked twice on success (the second time does no I/O): returning the first
        // borrow from one arm while the other arm records the error does not borrow-check.
        match self.inner.fill_buf() {
            Ok(_) => self.inner.fill_buf(),
            Err(e) => {
                self.failed = Some((e.kind(), e.to_string()));
                Err(e)
            }
        }
    }

    fn consume(&mut self, n: usize) {
        // The bytes consumed are at the front of the buffer `fill_buf` returned, which is
        // still there: asking again does no I/O.
        if self.failed.is_some() {
            return;
        }
        if let Ok(buffer) = self.inner.fill_buf() {
            let piece = &buffer[..n.min(buffer.len())];
            if self.in_header {
                self.header.extend_from_slice(piece);
            } else if let Some(part) = self.part.as_mut() {
                part.add(piece);
            }
        }
        self.position += n as u64;
        self.inner.consume(n);
    }
}

/// Cuts `input` into parts and hands each to `each` as soon as it is complete, in order.
/// Reading stops at the end of the input, or at an error of the input itself: the part it
/// cut short is handed over as broken, and the error returned.
pub(crate) fn split(input: impl BufRead, mut each: impl FnMut(Part)) -> io::Result<()> {
    let mut tee = Tee {
        inner: input,
        position: 0,
        header: Vec::new(),
        part: None,
        in_header: true,
        failed: None,
    };
    let outcome = cut(&mut tee, &mut each);
    if let Some(mut done) = tee.part.take() {
        if let Err(e) = &outcome {
            done.part.broken = Some(format!("reading stopped: {e}"));
        }
        each(done.done());
    }
    outcome
}

fn cut<R: BufRead>(tee: &mut Tee<R>, each: &mut impl FnMut(Part)) -> io::Result<()> {
    let mut parts = 0usize;
    while !tee.fill_buf()?.is_empty() {
        let start = tee.position;
        tee.in_header = true;
        tee.header.clear();
        let header = match PacketHeader::try_from_reader(&mut *tee) {
            Ok(header) => header,
            Err(e) if tee.failed.is_some() => return Err(e),
            Err(e) => return unframed(tee, start, format!("not an OpenPGP packet: {e}"), each),
        };
        let tag = header.tag();
        if matches!(tag, Tag::PublicKey | Tag::SecretKey) || tee.part.is_none() {
            if parts + 1 >= MAX_PARTS {
                let why = format!("the file has more than {MAX_PARTS} parts; the rest is not read");
                return unframed(tee, start, why, each);
            }
            if let Some(done) = tee.part.take() {
                each(done.done());
            }
            parts += 1;
            let kind = match tag {
                Tag::PublicKey => Kind::Public,
                Tag::SecretKey => Kind::Secret,
                _ => Kind::Stray,
            };
            tee.part = Some(Building::new(kind, start));
        }
        tee.in_header = false;
        let header_bytes = std::mem::take(&mut tee.header);
        let part = tee.part.as_mut().expect("a part was started above");
        part.add(&header_bytes);
        part.count(tag);
        if let Err(e) = body(header, &mut *tee) {
            if tee.failed.is_some() {
                return Err(e);
            }
            // The packet's length runs past the end, or its framing is broken: what is
            // left is not packets, and this part ends in a broken one.
            if let Some(part) = tee.part.as_mut() {
                part.part.broken = Some(format!(
                    "a {tag:?} packet at byte {start} is cut short: {e}"
                ));
            }
            io::copy(tee, &mut io::sink())?;
        }
    }
    Ok(())
}

/// Reads past one packet's body.
fn body<R: BufRead>(header: PacketHeader, tee: &mut Tee<R>) -> io::Result<()> {
    let mut body = PacketBodyReader::new(header, tee)?;
    let read = io::copy(&mut body, &mut io::sink())?;
    match header.packet_length() {
        // rPGP's reader of a fixed length stops quietly at the end of the input.
        PacketLength::Fixed(length) if read < u64::from(length) => Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("{read} of its {length} bytes are there"),
        )),
        _ => Ok(()),
    }
}

/// Ends the current part and makes the rest of the input, from `start`, one part of its own.
fn unframed<R: BufRead>(
    tee: &mut Tee<R>,
    start: u64,
    why: String,
    each: &mut impl FnMut(Part),
) -> io::Result<()> {
    if let Some(done) = tee.part.take() {
        each(done.done());
    }
    let mut rest = Building::new(Kind::Unframed, start);
    rest.add(&std::mem::take(&mut tee.header));
    rest.part.broken = Some(why);
    tee.part = Some(rest);
    tee.in_header = false;
    io::copy(tee, &mut io::sink())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(bytes: &[u8]) -> Vec<Part> {
        let mut out = Vec::new();
        split(bytes, |p| out.push(p)).unwrap();
        out
    }

    /// A new-format packet of `tag` with `body`.
    fn packet(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut p = vec![0xc0 | tag, u8::try_from(body.len()).unwrap()];
        p.extend_from_slice(body);
        p
    }

    #[test]
    fn keys_start_parts_and_every_byte_is_in_one() {
        let mut file = packet(2, b"stray signature");
        let first = [packet(6, b"key one"), packet(13, b"uid"), packet(2, b"sig")].concat();
        let second = [packet(6, b"key two"), packet(14, b"sub"), packet(2, b"sig")].concat();
        let secret = packet(5, b"secret");
        file.extend_from_slice(&first);
        file.extend_from_slice(&second);
        file.extend_from_slice(&secret);
        file.extend_from_slice(b"\n");
        let got = parts(&file);
        let kinds: Vec<Kind> = got.iter().map(|p| p.kind).collect();
        assert_eq!(
            kinds,
            [
                Kind::Stray,
                Kind::Public,
                Kind::Public,
                Kind::Secret,
                Kind::Unframed
            ]
        );
        let total: u64 = got.iter().map(|p| p.length).sum();
        assert_eq!(total, file.len() as u64);
        assert_eq!(got[1].bytes.as_deref(), Some(&first[..]));
        assert_eq!((got[1].user_ids, got[1].signatures), (1, 1));
        assert_eq!(got[2].subkeys, 1);
        assert_eq!(got[2].offset, (17 + first.len()) as u64);
        let sha = hex::encode(ring::digest::digest(&ring::digest::SHA256, &second));
        assert_eq!(got[2].sha256, sha);
        assert!(
            got[4]
                .broken
                .as_deref()
                .unwrap()
                .contains("not an OpenPGP packet")
        );
    }

    #[test]
    fn a_packet_cut_short_breaks_its_part() {
        let mut file = [packet(6, b"key"), packet(13, b"uid")].concat();
        file.extend_from_slice(&[0xc2, 50, 1, 2, 3]);
        let got = parts(&file);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].length, file.len() as u64);
        assert!(
            got[0].broken.as_deref().unwrap().contains("cut short"),
            "{got:?}"
        );
    }

    #[test]
    fn a_part_too_large_keeps_only_its_hash() {
        let mut file = packet(6, b"key");
        // A new-format packet with a five-octet length.
        let big = MAX_PART + 1;
        file.extend_from_slice(&[0xc2, 0xff]);
        file.extend_from_slice(&u32::try_from(big).unwrap().to_be_bytes());
        file.extend(std::iter::repeat_n(7u8, big));
        let got = parts(&file);
        assert_eq!(got.len(), 1);
        assert!(got[0].bytes.is_none());
        assert_eq!(got[0].length, file.len() as u64);
    }
}
