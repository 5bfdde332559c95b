//! Digests of bytes already in memory, as transcripts record them (lowercase hex, ring: near
//! OpenSSL's speed on these machines). Streaming digests live in tofu-fetch.

use ring::digest::{SHA256, SHA512, digest};

use crate::Content;

/// SHA-256 of a byte string, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(digest(&SHA256, bytes))
}

/// Size, SHA-256 and SHA-512 of a byte string.
pub fn content_of(bytes: &[u8]) -> Content {
    Content {
        size: bytes.len() as u64,
        sha256: sha256_hex(bytes),
        sha512: hex::encode(digest(&SHA512, bytes)),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_answers() {
        let c = super::content_of(b"abc");
        assert_eq!(c.size, 3);
        assert_eq!(
            c.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(c.sha512.starts_with("ddaf35a193617aba"));
    }
}
