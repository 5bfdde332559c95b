//! OpenPGP key files, read whole: every certificate a keyring holds, and every part of it
//! that is not one, at its place. A body is read as a key file when it begins like one — a
//! public- or secret-key packet, or an ASCII armor line — and then as it streams, on a thread
//! of its own fed the pieces the download receives, so a keyring of any size is read in
//! bounded memory (one certificate at a time) while it downloads.

mod cert;
mod split;
mod stream;
pub mod verify;

use std::io::{self, BufRead, Read};

use pgp::armor::{BlockType, Dearmor};
use tofu_record::{OpenPgpKeyring, OpenPgpPart};

pub(crate) use stream::Scanner;

/// The most armor blocks one file is read for; what follows is one last part.
const MAX_BLOCKS: u64 = 1_000;

/// The longest line looked at whole outside armor blocks (longer lines are still hashed).
const MAX_LINE: u64 = 4096;

/// How far into a text body the first key block is looked for.
const LOOK: usize = 64 << 10;

/// How a body begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    /// Not yet known: more bytes are needed.
    Unknown,
    /// Not a key file.
    Other,
    /// Binary packets, the first a public or secret key.
    Binary,
    /// Text with an armored key block (public or secret) among its first [`LOOK`] bytes.
    Armor,
}

/// How a body beginning with `prefix` is to be read; `whole` when the prefix is the whole
/// body.
pub(crate) fn start(prefix: &[u8], whole: bool) -> Start {
    let Some(&first) = prefix.first() else {
        return if whole { Start::Other } else { Start::Unknown };
    };
    if is_key_header(first) {
        return Start::Binary;
    }
    let looked = &prefix[..prefix.len().min(LOOK)];
    let mut lines = looked.split(|b| *b == b'\n').peekable();
    while let Some(line) = lines.next() {
        // The last piece is a line still being received, unless the body is complete.
        let complete = lines.peek().is_some() || whole;
        if line.contains(&0) {
            return Start::Other;
        }
        let line = line.trim_ascii();
        if complete
            && (line == b"-----BEGIN PGP PUBLIC KEY BLOCK-----"
                || line == b"-----BEGIN PGP PRIVATE KEY BLOCK-----")
        {
            return Start::Armor;
        }
    }
    if whole || prefix.len() >= LOOK {
        Start::Other
    } else {
        Start::Unknown
    }
}

/// A packet header of tag 6 (public key) or 5 (secret key), old format or new.
fn is_key_header(byte: u8) -> bool {
    matches!(byte, 0x94..=0x9b | 0xc5 | 0xc6)
}

/// Reads the key file `input`, which begins as `how` says. Fails only when the input itself
/// fails (the download stopped feeding it).
pub(crate) fn read(input: impl BufRead + Send + 'static, how: Start) -> io::Result<OpenPgpKeyring> {
    let mut parts = Vec::new();
    let encoding = match how {
        Start::Armor => {
            let mut record = |block, part| Some(cert::record(Some(block), part));
            read_armor(Box::new(input), &mut parts, &mut record)?;
            "armor"
        }
        _ => {
            split::split(input, |p| parts.push(cert::record(None, p)))?;
            "binary"
        }
    };
    Ok(OpenPgpKeyring {
        encoding: encoding.to_owned(),
        parts,
    })
}

/// Reads armor block after armor block. Text outside the blocks is a part of its own (block
/// numbers count it where it stands); an armor block that does not decode ends the reading,
/// recorded as such.
fn read_armor(
    mut rest: Box<dyn BufRead + Send>,
    parts: &mut Vec<OpenPgpPart>,
    each: &mut dyn FnMut(u64, split::Part) -> Option<OpenPgpPart>,
) -> io::Result<()> {
    let mut block = 0u64;
    let mut text = Text::default();
    loop {
        let line = read_line(&mut rest)?;
        if line.is_empty() {
            break;
        }
        if !line.trim_ascii_start().starts_with(b"-----BEGIN PGP ") || block >= MAX_BLOCKS {
            text.add(&line, &mut rest)?;
            continue;
        }
        text.flush(block, parts);
        let mut dearmor =
            Dearmor::new(Box::new(io::Cursor::new(line).chain(rest)) as Box<dyn BufRead + Send>);
        if let Err(e) = dearmor.read_header() {
            let why = format!(
                "armor block {block}: its header does not parse: {e}; the rest of the file is not read"
            );
            parts.push(Counted::default().part(block, why));
            return Ok(());
        }
        let typ = dearmor.typ;
        let mut clean = true;
        if matches!(typ, Some(BlockType::PublicKey | BlockType::PrivateKey)) {
            let mut decoded = io::BufReader::new(&mut dearmor);
            if let Err(e) = split::split(&mut decoded, |p| parts.extend(each(block, p))) {
                if is_aborted(&e) {
                    return Err(e);
                }
                parts.push(Counted::default().part(block, undecodable(block, &e)));
                clean = false;
            }
        } else {
            let mut skipped = Counted::default();
            match io::copy(&mut dearmor, &mut skipped) {
                Ok(_) => parts.push(skipped.part(
                    block,
                    format!(
                        "armor block {block} is a {}, not a key",
                        typ.map(|t| t.to_string()).unwrap_or_default()
                    ),
                )),
                Err(e) if is_aborted(&e) => return Err(e),
                Err(e) => {
                    parts.push(skipped.part(block, undecodable(block, &e)));
                    clean = false;
                }
            }
        }
        if !clean {
            // The decoder cannot go on after an error: the rest is not read (the part that
            // was cut short already says why).
            return Ok(());
        }
        rest = Box::new(dearmor.into_parts().3);
        block += 1;
    }
    text.flush(block, parts);
    Ok(())
}

/// Why an armor block ends the reading.
fn undecodable(block: u64, e: &io::Error) -> String {
    format!("armor block {block} does not decode: {e}; the rest of the file is not read")
}

/// Whether the feeding side stopped the reading (see [`stream`]).
fn is_aborted(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::ConnectionAborted
}

/// `Read::read` for a reader whose `BufRead` side does the work, so that every byte read
/// goes through its `consume`.
fn read_buffered(reader: &mut impl BufRead, out: &mut [u8]) -> io::Result<usize> {
    let available = reader.fill_buf()?;
    let n = available.len().min(out.len());
    out[..n].copy_from_slice(&available[..n]);
    reader.consume(n);
    Ok(n)
}

/// The next line (with its `\n`), at most [`MAX_LINE`] bytes; empty at the end.
fn read_line(input: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut line = Vec::new();
    input.take(MAX_LINE).read_until(b'\n', &mut line)?;
    Ok(line)
}

/// Text outside armor blocks, gathered into one part.
#[derive(Default)]
struct Text {
    counted: Option<Counted>,
}

impl Text {
    /// Adds `line`, and the rest of it when it was cut at [`MAX_LINE`].
    fn add(&mut self, line: &[u8], rest: &mut impl BufRead) -> io::Result<()> {
        use std::io::Write;
        let counted = self.counted.get_or_insert_with(Counted::default);
        counted.write_all(line)?;
        if !line.ends_with(b"\n") {
            let mut tail = Vec::new();
            loop {
                tail.clear();
                rest.take(1 << 16).read_until(b'\n', &mut tail)?;
                counted.write_all(&tail)?;
                if tail.is_empty() || tail.ends_with(b"\n") {
                    break;
                }
            }
        }
        Ok(())
    }

    fn flush(&mut self, block: u64, parts: &mut Vec<OpenPgpPart>) {
        let Some(counted) = self.counted.take() else {
            return;
        };
        if counted.is_blank() {
            return;
        }
        parts.push(counted.part(
            block,
            format!("text outside the armor blocks, before block {block}"),
        ));
    }
}

/// Bytes that are not a certificate, counted and hashed as they are skipped.
struct Counted {
    length: u64,
    hash: ring::digest::Context,
    blank: bool,
}

impl Default for Counted {
    fn default() -> Counted {
        Counted {
            length: 0,
            hash: ring::digest::Context::new(&ring::digest::SHA256),
            blank: true,
        }
    }
}

impl io::Write for Counted {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.length += bytes.len() as u64;
        self.hash.update(bytes);
        self.blank &= bytes.iter().all(u8::is_ascii_whitespace);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Counted {
    fn is_blank(&self) -> bool {
        self.blank
    }

    /// The record of these bytes as a part of armor block `block` that is not a
    /// certificate, and why. Text outside blocks is placed at offset 0 of the block it
    /// comes before.
    fn part(self, block: u64, why: String) -> OpenPgpPart {
        OpenPgpPart {
            block: Some(block),
            offset: 0,
            length: self.length,
            sha256: hex::encode(self.hash.finish()),
            certificate: None,
            error: Some(why),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(bytes: &[u8]) -> OpenPgpKeyring {
        let how = start(bytes, true);
        assert!(matches!(how, Start::Binary | Start::Armor), "{how:?}");
        read(io::Cursor::new(bytes.to_vec()), how).unwrap()
    }

    #[test]
    fn what_a_body_begins_with_decides() {
        let armor = b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n";
        assert_eq!(start(armor, false), Start::Armor);
        assert_eq!(
            start(
                b"Our keys:\r\n\t-----BEGIN PGP PUBLIC KEY BLOCK-----\r\n",
                false
            ),
            Start::Armor
        );
        assert_eq!(
            start(b"-----BEGIN PGP PRIVATE KEY BLOCK-----", true),
            Start::Armor
        );
        // A key block line still arriving, and text that may still lead to one.
        assert_eq!(
            start(b"-----BEGIN PGP PUBLIC KEY BLOCK-----", false),
            Start::Unknown
        );
        assert_eq!(start(b"hello\n", false), Start::Unknown);
        assert_eq!(start(b"hello\n", true), Start::Other);
        assert_eq!(start(b"", false), Start::Unknown);
        assert_eq!(start(b"", true), Start::Other);
        // A signed message or a signature is not a key file; nor is binary data.
        assert_eq!(
            start(b"-----BEGIN PGP SIGNED MESSAGE-----\n", true),
            Start::Other
        );
        assert_eq!(
            start(b"-----BEGIN PGP SIGNATURE-----\n", true),
            Start::Other
        );
        assert_eq!(
            start(b"text\0-----BEGIN PGP PUBLIC KEY BLOCK-----\n", false),
            Start::Other
        );
        assert_eq!(start(&vec![b'a'; LOOK], false), Start::Other);
        // Packet headers of tag 6 and 5, old and new format; a signature packet is not.
        for first in [0x98, 0x99, 0x9a, 0x9b, 0x94, 0x95, 0xc6, 0xc5] {
            assert_eq!(start(&[first], false), Start::Binary, "{first:#x}");
        }
        assert_eq!(start(&[0x89, 0x02], true), Start::Other);
    }

    #[test]
    fn a_key_block_after_other_blocks_is_read_and_every_block_is_recorded() {
        let text = "intro\n\
            -----BEGIN PGP SIGNATURE-----\n\niQ==\n-----END PGP SIGNATURE-----\n\
            -----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmAM=\n-----END PGP PUBLIC KEY BLOCK-----\n\
            trailer\n";
        let keyring = read_all(text.as_bytes());
        assert_eq!(keyring.encoding, "armor");
        let seen: Vec<(Option<u64>, &str)> = keyring
            .parts
            .iter()
            .map(|p| (p.block, p.error.as_deref().unwrap_or("")))
            .collect();
        assert_eq!(seen.len(), 4, "{seen:?}");
        assert!(seen[0].1.starts_with("text outside"), "{seen:?}");
        assert_eq!(seen[1].0, Some(0));
        assert!(
            seen[1].1.contains("is a PGP SIGNATURE, not a key"),
            "{seen:?}"
        );
        // `mAM=` is a public-key packet header that promises 3 bytes and has none.
        assert_eq!(seen[2].0, Some(1));
        assert!(seen[2].1.contains("cut short"), "{seen:?}");
        assert_eq!((seen[3].0, keyring.parts[3].length), (Some(2), 8));
    }

    #[test]
    fn armor_that_does_not_decode_ends_the_reading_with_a_part_saying_so() {
        let text =
            "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n!!!!\n-----END PGP PUBLIC KEY BLOCK-----\n";
        let keyring = read_all(text.as_bytes());
        let last = keyring.parts.last().unwrap();
        assert!(
            last.error.as_deref().unwrap().contains("does not decode"),
            "{keyring:?}"
        );
    }

    #[test]
    fn a_binary_secret_key_is_a_part_but_no_certificate() {
        let keyring = read_all(&[0xc5, 2, 4, 0]);
        assert_eq!(keyring.parts.len(), 1);
        assert!(keyring.parts[0].certificate.is_none());
        assert!(
            keyring.parts[0]
                .error
                .as_deref()
                .unwrap()
                .contains("secret key")
        );
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Bytes that get past the first look: armor around random base64, or a key packet
    /// header before random bytes.
    fn near_key() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            "[A-Za-z0-9+/=\n]{0,600}".prop_map(|body| {
                let (begin, end) = ("BEGIN PGP PUBLIC KEY BLOCK", "END PGP PUBLIC KEY BLOCK");
                format!("  -----{begin}-----\n\n{body}\n-----{end}-----\n").into_bytes()
            }),
            (
                proptest::sample::select(vec![0x98u8, 0x99, 0x9a, 0x9b, 0x95, 0xc5, 0xc6]),
                proptest::collection::vec(any::<u8>(), 0..1024),
            )
                .prop_map(|(tag, rest)| {
                    let mut bytes = vec![tag];
                    bytes.extend(rest);
                    bytes
                }),
            (0u8..=255, proptest::collection::vec(any::<u8>(), 0..64)).prop_map(|(len, rest)| {
                // A new-format public key packet of version 4 or 6, with a plausible header.
                let mut bytes = vec![0xc6, len, 4, 0x5f, 0, 0, 0, 22];
                bytes.extend(rest);
                bytes
            }),
        ]
    }

    proptest! {
        /// Reading never panics, accounts for every byte of a binary file in its parts,
        /// and a certificate it reports has uppercase hex fingerprints of a v3 (32), v4
        /// (40) or v6 (64) key.
        #[test]
        fn reading_never_panics(
            bytes in prop_oneof![proptest::collection::vec(any::<u8>(), 0..4096), near_key()],
        ) {
            let how = start(&bytes, true);
            if matches!(how, Start::Binary | Start::Armor) {
                let keyring = read(io::Cursor::new(bytes.clone()), how).unwrap();
                if how == Start::Binary {
                    let total: u64 = keyring.parts.iter().map(|p| p.length).sum();
                    prop_assert_eq!(total, bytes.len() as u64);
                }
                for cert in keyring.certificates() {
                    for key in std::iter::once(&cert.primary).chain(&cert.subkeys) {
                        let fp = &key.fingerprint;
                        prop_assert!(matches!(fp.len(), 32 | 40 | 64), "{}", fp);
                        let hex = fp.bytes().all(|b| matches!(b, b'0'..=b'9' | b'A'..=b'F'));
                        prop_assert!(hex, "{}", fp);
                    }
                }
            }
        }
    }
}
