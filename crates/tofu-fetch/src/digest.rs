//! SHA-256 and SHA-512 of a stream, computed on the fly, with its size. ring's
//! implementations run near OpenSSL's speed on these machines; the portable `sha2` code runs
//! at about half of it.

use ring::digest::{Context, SHA256, SHA512};
use tofu_record::Content;

/// Running digests over a byte stream.
pub struct Digests {
    sha256: Context,
    sha512: Context,
    size: u64,
}

impl Default for Digests {
    fn default() -> Self {
        Digests {
            sha256: Context::new(&SHA256),
            sha512: Context::new(&SHA512),
            size: 0,
        }
    }
}

impl Digests {
    /// Size and digests of a byte string.
    pub fn of(bytes: &[u8]) -> Content {
        let mut d = Digests::default();
        d.update(bytes);
        d.finish()
    }

    /// Feeds the next bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.sha256.update(bytes);
        self.sha512.update(bytes);
        self.size += bytes.len() as u64;
    }

    /// Bytes fed so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The final size and digests.
    pub fn finish(self) -> Content {
        Content {
            size: self.size,
            sha256: hex::encode(self.sha256.finish()),
            sha512: hex::encode(self.sha512.finish()),
        }
    }
}

/// SHA-256 of a byte string, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(ring::digest::digest(&SHA256, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        let mut d = Digests::default();
        d.update(b"ab");
        d.update(b"c");
        let c = d.finish();
        assert_eq!(c.size, 3);
        assert_eq!(
            c.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(c.sha512.starts_with("ddaf35a193617aba"));
    }
}
