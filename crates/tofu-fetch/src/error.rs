//! Typed errors: building a transport, and fetching one artifact. A fetch error has a stable
//! kebab-case code that goes into the transcript.

use std::path::PathBuf;

use tofu_record::{ErrorCode, error_chain};

/// The transport the user asked for cannot be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// `--via` is not one of the known forms.
    #[error("unknown transport {0:?}")]
    UnknownVia(String),
    /// The proxy URL is malformed.
    #[error("bad proxy URL {url}: {reason}")]
    BadProxy { url: String, reason: String },
    /// The network interface does not exist.
    #[error("no network interface named {0:?}")]
    NoInterface(String),
    /// A `--ca-cert` file could not be used.
    #[error("{path}: {reason}")]
    CaCert { path: PathBuf, reason: String },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    /// `tor:CC` names no country.
    #[error("{0:?} is not an ISO 3166-1 alpha-2 country code")]
    UnknownCountry(String),
    /// The embedded Tor client could not be started.
    #[error(transparent)]
    Tor(#[from] crate::tor::TorError),
}

/// Fetching one artifact failed. The transcript keeps the artifact with [`FetchError::code`]
/// and the message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// No TCP connection (or proxy connection) could be made.
    #[error("cannot connect: {0}")]
    Connect(String),
    /// The TLS handshake or certificate check failed.
    #[error("TLS failed: {0}")]
    Tls(String),
    /// A connect, read or overall time limit ran out.
    #[error("timed out: {0}")]
    Timeout(String),
    /// Any other failure of the HTTP exchange.
    #[error("HTTP exchange failed: {0}")]
    Http(String),
    /// The final response was not `200 OK`.
    #[error("the server answered {status}")]
    Status { status: u16 },
    /// A redirect went from https to http.
    #[error("refused a redirect from https to plain http: {to}")]
    InsecureRedirect { to: String },
    /// A redirect had no usable `Location`, or pointed at something not http(s).
    #[error("bad redirect: {0}")]
    BadRedirect(String),
    /// More redirects than [`crate::MAX_REDIRECTS`].
    #[error("more than {0} redirects")]
    TooManyRedirects(usize),
    /// The body was larger than the limit.
    #[error("the body exceeds the size limit of {limit} bytes")]
    SizeLimit { limit: u64 },
    /// The body arrived slower than the speed limit over a whole window.
    #[error(
        "the transfer stalled: {received} bytes in the last {window_secs} s, below the \
         limit of {limit} bytes a second"
    )]
    Stalled {
        received: u64,
        window_secs: u64,
        limit: u64,
    },
    /// The body ended before its declared length.
    #[error("the body ended after {received} of {declared} declared bytes")]
    Truncated { received: u64, declared: u64 },
    /// The payload could not be kept on disk.
    #[error("cannot keep the payload in {dir}: {source}")]
    Keep {
        dir: PathBuf,
        source: std::io::Error,
    },
}

impl FetchError {
    /// The stable code recorded in transcripts.
    pub fn code(&self) -> ErrorCode {
        match self {
            FetchError::Connect(_) => ErrorCode::Connect,
            FetchError::Tls(_) => ErrorCode::Tls,
            FetchError::Timeout(_) => ErrorCode::Timeout,
            FetchError::Http(_) => ErrorCode::Http,
            FetchError::Status { .. } => ErrorCode::HttpStatus,
            FetchError::InsecureRedirect { .. } => ErrorCode::InsecureRedirect,
            FetchError::BadRedirect(_) => ErrorCode::BadRedirect,
            FetchError::TooManyRedirects(_) => ErrorCode::TooManyRedirects,
            FetchError::SizeLimit { .. } => ErrorCode::SizeLimit,
            FetchError::Truncated { .. } => ErrorCode::Truncated,
            FetchError::Stalled { .. } => ErrorCode::Stalled,
            FetchError::Keep { .. } => ErrorCode::Keep,
        }
    }

    /// Classifies a reqwest error, keeping the whole chain of causes but never the URL
    /// (which may hold secrets; the transcript records the redacted one).
    pub(crate) fn from_reqwest(e: reqwest::Error) -> FetchError {
        let is_timeout = e.is_timeout();
        let is_connect = e.is_connect();
        let e = e.without_url();
        let message = error_chain(&e);
        let tls = std::iter::successors(Some(&e as &(dyn std::error::Error + 'static)), |c| {
            c.source()
        })
        .any(|cause| cause.is::<rustls::Error>());
        if is_timeout {
            FetchError::Timeout(message)
        } else if tls || message.contains("certificate") || message.contains("tls handshake") {
            FetchError::Tls(message)
        } else if is_connect {
            FetchError::Connect(message)
        } else {
            FetchError::Http(message)
        }
    }
}

/// The error as a transcript records it: the stable code and the message.
impl From<&FetchError> for tofu_record::ArtifactError {
    fn from(e: &FetchError) -> Self {
        tofu_record::ArtifactError {
            code: e.code(),
            message: e.to_string(),
        }
    }
}
