//! Why an OCI pull failed, with the stable codes recorded in transcripts.

use tofu_record::ErrorCode;

use crate::error::FetchError;

/// An OCI pull failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OciError {
    /// The HTTP exchange failed (connect, TLS, status, redirects …).
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The registry wants credentials tofu does not send (it pulls anonymously).
    #[error("the registry asks for authentication tofu cannot give: {0}")]
    Auth(String),
    /// The token endpoint named by the registry is not one tofu will ask.
    #[error("refused the token realm {realm}: {why}")]
    TokenRealm { realm: String, why: String },
    /// The token endpoint did not give a token.
    #[error("no token from {realm}: {why}")]
    Token { realm: String, why: String },
    /// A manifest or index is larger than the limit.
    #[error("the manifest exceeds {limit} bytes")]
    ManifestTooLarge { limit: usize },
    /// A descriptor names a blob larger than `--max-size`; it is not asked for.
    #[error("blob {digest} is {size} bytes, over the size limit of {limit}")]
    BlobTooLarge {
        digest: String,
        size: u64,
        limit: u64,
    },
    /// Another answer (a token) is larger than its limit.
    #[error("the {what} exceeds {limit} bytes")]
    TooLarge { what: &'static str, limit: usize },
    /// The document's digest is not the one pinned (by the user or by a parent).
    #[error("the registry served {found} for the pinned {expected}")]
    DigestMismatch { expected: String, found: String },
    /// `Docker-Content-Digest` does not match the bytes.
    #[error("Docker-Content-Digest says {header}, but the bytes hash to {found}")]
    DigestHeaderMismatch { header: String, found: String },
    /// `Content-Type` and the document's `mediaType` disagree (or the parent's descriptor).
    #[error("Content-Type {content_type} does not match the media type {media_type}")]
    ContentTypeMismatch {
        content_type: String,
        media_type: String,
    },
    /// A document that is both an index and a manifest.
    #[error("the document has both manifests and layers/config: it can be read two ways")]
    Ambiguous,
    /// A schema 1 manifest.
    #[error("schema 1 manifests are not supported (deprecated and unverifiable)")]
    Schema1,
    /// Not a manifest or index tofu understands.
    #[error("not a usable manifest: {0}")]
    BadManifest(String),
    /// A child does not match its parent's descriptor.
    #[error("{what} does not match its descriptor: {detail}")]
    DescriptorMismatch { what: String, detail: String },
    /// A blob is longer or shorter than its descriptor says.
    #[error("blob {digest} has {found} bytes, its descriptor says {expected}")]
    BlobSize {
        digest: String,
        expected: u64,
        found: u64,
    },
    /// A blob's bytes do not hash to its digest.
    #[error("blob {digest}: the bytes hash to {found}")]
    BlobDigest { digest: String, found: String },
    /// No index entry matches the platforms asked for.
    #[error("no image for {wanted}; the index offers {offered}")]
    NoPlatform { wanted: String, offered: String },
    /// The image could not be kept on disk.
    #[error("cannot keep the image: {0}")]
    Keep(std::io::Error),
}

impl OciError {
    /// The stable code recorded in transcripts.
    pub fn code(&self) -> ErrorCode {
        match self {
            OciError::Fetch(e) => e.code(),
            OciError::Auth(_) => ErrorCode::RegistryAuth,
            OciError::TokenRealm { .. } => ErrorCode::TokenRealm,
            OciError::Token { .. } => ErrorCode::Token,
            OciError::ManifestTooLarge { .. } => ErrorCode::ManifestTooLarge,
            OciError::TooLarge { .. } | OciError::BlobTooLarge { .. } => ErrorCode::SizeLimit,
            OciError::DigestMismatch { .. } => ErrorCode::DigestMismatch,
            OciError::DigestHeaderMismatch { .. } => ErrorCode::DigestHeaderMismatch,
            OciError::ContentTypeMismatch { .. } => ErrorCode::ContentTypeMismatch,
            OciError::Ambiguous => ErrorCode::AmbiguousManifest,
            OciError::Schema1 => ErrorCode::Schema1Unsupported,
            OciError::BadManifest(_) => ErrorCode::BadManifest,
            OciError::DescriptorMismatch { .. } => ErrorCode::DescriptorMismatch,
            OciError::BlobSize { .. } => ErrorCode::BlobSizeMismatch,
            OciError::BlobDigest { .. } => ErrorCode::BlobDigestMismatch,
            OciError::NoPlatform { .. } => ErrorCode::NoMatchingPlatform,
            OciError::Keep(_) => ErrorCode::Keep,
        }
    }
}

/// The error as a transcript records it: the stable code and the message.
impl From<&OciError> for tofu_record::ArtifactError {
    fn from(e: &OciError) -> Self {
        tofu_record::ArtifactError {
            code: e.code(),
            message: e.to_string(),
            causes: match e {
                OciError::Fetch(fetch) => fetch.causes().to_vec(),
                _ => Vec::new(),
            },
        }
    }
}
