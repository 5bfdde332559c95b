//! The stable error codes written into transcripts. One enum, so that renaming a code is a
//! compile error everywhere it is produced or judged: a tampering code that silently became
//! an unknown string would turn compare's "disagree" into "inconclusive".

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Why an artifact, a fetch or an exit probe failed. Serialized as the kebab-case strings
/// documented in docs/transcript.md; scripts may match them. A transcript with a code this
/// version does not know is refused when read, not judged.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorCode {
    /// No TCP (or proxy) connection could be made.
    Connect,
    /// The TLS handshake or the certificate check failed.
    Tls,
    /// A connect, read or overall time limit ran out.
    Timeout,
    /// Any other failure of the HTTP exchange.
    Http,
    /// The final response was not `200 OK`.
    HttpStatus,
    /// A redirect from https to plain http was refused.
    InsecureRedirect,
    /// A redirect had no usable `Location`.
    BadRedirect,
    /// More redirects than the limit.
    TooManyRedirects,
    /// A body (or a descriptor, a token, an API document) over its size limit.
    SizeLimit,
    /// The body ended before its declared length.
    Truncated,
    /// The body arrived slower than the speed limit over a whole window.
    Stalled,
    /// The payload could not be kept on disk (`--keep`).
    Keep,
    /// Mirrors of one artifact delivered different bytes.
    MirrorMismatch,
    /// The registry wants credentials tofu does not send.
    RegistryAuth,
    /// A token endpoint tofu will not ask.
    TokenRealm,
    /// The token endpoint gave no token.
    Token,
    /// A manifest or index over its size limit.
    ManifestTooLarge,
    /// Not the pinned or described digest.
    DigestMismatch,
    /// `Docker-Content-Digest` does not match the bytes.
    DigestHeaderMismatch,
    /// `Content-Type` and the document's media type disagree.
    ContentTypeMismatch,
    /// A document that reads both as an index and as a manifest.
    AmbiguousManifest,
    /// A schema 1 manifest.
    #[serde(rename = "schema1-unsupported")]
    Schema1Unsupported,
    /// Not a manifest or index tofu understands.
    BadManifest,
    /// A child does not match its parent's descriptor.
    DescriptorMismatch,
    /// A blob longer or shorter than its descriptor.
    BlobSizeMismatch,
    /// A blob whose bytes do not hash to its digest.
    BlobDigestMismatch,
    /// No index entry for the platforms asked for.
    NoMatchingPlatform,
    /// The Homebrew API URL cannot name a formula's document.
    BadApiUrl,
    /// The Homebrew API's answer is not a formula tofu can use.
    BadFormula,
    /// The Homebrew API lists no bottle for a tag asked for.
    NoSuchBottle,
    /// The Homebrew API, the bottle index and the bottles disagree.
    HomebrewMismatch,
    /// An exit probe's answer is not JSON with a valid `ip`, or is too long.
    WhoamiAnswer,
}

impl ErrorCode {
    /// Every code, in declaration order.
    pub const ALL: &[ErrorCode] = &[
        ErrorCode::Connect,
        ErrorCode::Tls,
        ErrorCode::Timeout,
        ErrorCode::Http,
        ErrorCode::HttpStatus,
        ErrorCode::InsecureRedirect,
        ErrorCode::BadRedirect,
        ErrorCode::TooManyRedirects,
        ErrorCode::SizeLimit,
        ErrorCode::Truncated,
        ErrorCode::Stalled,
        ErrorCode::Keep,
        ErrorCode::MirrorMismatch,
        ErrorCode::RegistryAuth,
        ErrorCode::TokenRealm,
        ErrorCode::Token,
        ErrorCode::ManifestTooLarge,
        ErrorCode::DigestMismatch,
        ErrorCode::DigestHeaderMismatch,
        ErrorCode::ContentTypeMismatch,
        ErrorCode::AmbiguousManifest,
        ErrorCode::Schema1Unsupported,
        ErrorCode::BadManifest,
        ErrorCode::DescriptorMismatch,
        ErrorCode::BlobSizeMismatch,
        ErrorCode::BlobDigestMismatch,
        ErrorCode::NoMatchingPlatform,
        ErrorCode::BadApiUrl,
        ErrorCode::BadFormula,
        ErrorCode::NoSuchBottle,
        ErrorCode::HomebrewMismatch,
        ErrorCode::WhoamiAnswer,
    ];

    /// The code as written in transcripts.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Connect => "connect",
            ErrorCode::Tls => "tls",
            ErrorCode::Timeout => "timeout",
            ErrorCode::Http => "http",
            ErrorCode::HttpStatus => "http-status",
            ErrorCode::InsecureRedirect => "insecure-redirect",
            ErrorCode::BadRedirect => "bad-redirect",
            ErrorCode::TooManyRedirects => "too-many-redirects",
            ErrorCode::SizeLimit => "size-limit",
            ErrorCode::Truncated => "truncated",
            ErrorCode::Stalled => "stalled",
            ErrorCode::Keep => "keep",
            ErrorCode::MirrorMismatch => "mirror-mismatch",
            ErrorCode::RegistryAuth => "registry-auth",
            ErrorCode::TokenRealm => "token-realm",
            ErrorCode::Token => "token",
            ErrorCode::ManifestTooLarge => "manifest-too-large",
            ErrorCode::DigestMismatch => "digest-mismatch",
            ErrorCode::DigestHeaderMismatch => "digest-header-mismatch",
            ErrorCode::ContentTypeMismatch => "content-type-mismatch",
            ErrorCode::AmbiguousManifest => "ambiguous-manifest",
            ErrorCode::Schema1Unsupported => "schema1-unsupported",
            ErrorCode::BadManifest => "bad-manifest",
            ErrorCode::DescriptorMismatch => "descriptor-mismatch",
            ErrorCode::BlobSizeMismatch => "blob-size-mismatch",
            ErrorCode::BlobDigestMismatch => "blob-digest-mismatch",
            ErrorCode::NoMatchingPlatform => "no-matching-platform",
            ErrorCode::BadApiUrl => "bad-api-url",
            ErrorCode::BadFormula => "bad-formula",
            ErrorCode::NoSuchBottle => "no-such-bottle",
            ErrorCode::HomebrewMismatch => "homebrew-mismatch",
            ErrorCode::WhoamiAnswer => "whoami-answer",
        }
    }

    /// True when the served bytes contradict what they claim (a digest, a size, a media
    /// type, another mirror): evidence of tampering, not a mere failure. compare counts an
    /// artifact that failed with one of these as a disagreement, never as missing.
    pub fn is_integrity(self) -> bool {
        match self {
            ErrorCode::MirrorMismatch
            | ErrorCode::DigestMismatch
            | ErrorCode::DigestHeaderMismatch
            | ErrorCode::ContentTypeMismatch
            | ErrorCode::AmbiguousManifest
            | ErrorCode::DescriptorMismatch
            | ErrorCode::BlobSizeMismatch
            | ErrorCode::BlobDigestMismatch
            | ErrorCode::HomebrewMismatch => true,
            // Listed one by one, not `_`, so that a new code must be classified here.
            ErrorCode::Connect
            | ErrorCode::Tls
            | ErrorCode::Timeout
            | ErrorCode::Http
            | ErrorCode::HttpStatus
            | ErrorCode::InsecureRedirect
            | ErrorCode::BadRedirect
            | ErrorCode::TooManyRedirects
            | ErrorCode::SizeLimit
            | ErrorCode::Truncated
            | ErrorCode::Stalled
            | ErrorCode::Keep
            | ErrorCode::RegistryAuth
            | ErrorCode::TokenRealm
            | ErrorCode::Token
            | ErrorCode::ManifestTooLarge
            | ErrorCode::Schema1Unsupported
            | ErrorCode::BadManifest
            | ErrorCode::NoMatchingPlatform
            | ErrorCode::BadApiUrl
            | ErrorCode::BadFormula
            | ErrorCode::NoSuchBottle
            | ErrorCode::WhoamiAnswer => false,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorCode;

    /// serde writes exactly `as_str`, and reads it back: the strings scripts match are the
    /// ones in transcripts.
    #[test]
    fn serde_is_as_str() {
        for &code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), code);
        }
    }

    /// `ALL` lists each code once (the match in `as_str` makes every variant have a string;
    /// this makes every variant reachable by tests that walk `ALL`).
    #[test]
    fn all_is_complete_and_unique() {
        let mut strings: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        strings.sort_unstable();
        strings.dedup();
        assert_eq!(strings.len(), ErrorCode::ALL.len());
        // The schema lists every variant, as `enum` or (with doc comments) `oneOf` consts.
        let schema = serde_json::to_value(schemars::schema_for!(ErrorCode)).unwrap();
        let mut listed: Vec<String> = schema["enum"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(
                schema["oneOf"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|v| &v["const"]),
            )
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        listed.sort_unstable();
        assert_eq!(listed, strings, "ALL and the enum's variants differ");
    }

    /// The integrity codes are exactly the documented ones: every `*-mismatch` and
    /// `ambiguous-manifest`.
    #[test]
    fn integrity_codes_are_the_mismatches() {
        for &code in ErrorCode::ALL {
            let s = code.as_str();
            assert_eq!(
                code.is_integrity(),
                s.ends_with("-mismatch") || s == "ambiguous-manifest",
                "{s}"
            );
        }
    }

    /// A code this version does not know is refused, not read as some other code.
    #[test]
    fn unknown_codes_are_refused() {
        assert!(serde_json::from_str::<ErrorCode>("\"digest-mismatch-x\"").is_err());
        assert!(serde_json::from_str::<ErrorCode>("\"Connect\"").is_err());
    }
}
