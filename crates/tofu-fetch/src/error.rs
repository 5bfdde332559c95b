//! Typed errors: building a transport, and fetching one artifact. A fetch error has a stable
//! kebab-case code that goes into the transcript.

use std::path::PathBuf;

use tofu_record::ErrorCode;

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

/// What went wrong, in the words of whoever asked for the URL (`connection refused by
/// 127.0.0.1:9`, `cannot resolve tails.net: …`), and the chain of causes it was read from,
/// for `-v` and the transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explained {
    /// The one line a person reads first.
    pub summary: String,
    /// The library's chain of causes, outermost first (without the URL).
    pub causes: Vec<String>,
}

impl Explained {
    /// A failure that is its own explanation.
    pub fn plain(summary: impl Into<String>) -> Explained {
        Explained {
            summary: summary.into(),
            causes: Vec::new(),
        }
    }
}

impl std::fmt::Display for Explained {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.summary)
    }
}

/// Fetching one artifact failed. The transcript keeps the artifact with [`FetchError::code`]
/// and the message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// No TCP connection (or proxy connection) could be made.
    #[error("{0}")]
    Connect(Explained),
    /// The TLS handshake or certificate check failed.
    #[error("{0}")]
    Tls(Explained),
    /// A connect, read or overall time limit ran out.
    #[error("{0}")]
    Timeout(Explained),
    /// Any other failure of the HTTP exchange.
    #[error("{0}")]
    Http(Explained),
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
        FetchError::from_reqwest_via(e, None)
    }

    /// [`FetchError::from_reqwest`] for a request sent through the SOCKS proxy at `proxy`
    /// (`HOST:PORT`), which its explanation then names.
    pub(crate) fn from_reqwest_via(e: reqwest::Error, proxy: Option<&str>) -> FetchError {
        let is_timeout = e.is_timeout();
        let is_connect = e.is_connect();
        // Only the host and port: a URL's path and query may hold secrets.
        let (host, at) = match e.url() {
            Some(url) => {
                let host = url.host_str().unwrap_or("the server").to_owned();
                let at = match url.port_or_known_default() {
                    Some(port) => format!("{host}:{port}"),
                    None => host.clone(),
                };
                (host, at)
            }
            None => ("the server".to_owned(), "the server".to_owned()),
        };
        let e = e.without_url();
        let tls = std::iter::successors(Some(&e as &(dyn std::error::Error + 'static)), |c| {
            c.source()
        })
        .any(|cause| cause.is::<rustls::Error>());
        let causes = tofu_record::error_causes(&e);
        let chain = causes.join(": ");
        let lower = chain.to_ascii_lowercase();
        let tls = tls || lower.contains("certificate") || lower.contains("tls handshake");
        let place = Place {
            host: &host,
            at: &at,
            proxy,
        };
        let explained = Explained {
            summary: place.summary(
                &chain,
                causes.last().map_or("", String::as_str),
                Kind {
                    timeout: is_timeout,
                    tls,
                    connect: is_connect,
                },
            ),
            causes,
        };
        if is_timeout {
            FetchError::Timeout(explained)
        } else if tls {
            FetchError::Tls(explained)
        } else if is_connect {
            FetchError::Connect(explained)
        } else {
            FetchError::Http(explained)
        }
    }

    /// The chain of causes the failure was read from, when a library gave one.
    pub fn causes(&self) -> &[String] {
        match self {
            FetchError::Connect(e)
            | FetchError::Tls(e)
            | FetchError::Timeout(e)
            | FetchError::Http(e) => &e.causes,
            _ => &[],
        }
    }
}

/// What reqwest and rustls said the failure was.
#[derive(Clone, Copy)]
struct Kind {
    timeout: bool,
    tls: bool,
    connect: bool,
}

/// Where a request went: the server's host, its `HOST:PORT`, and the SOCKS proxy's.
struct Place<'a> {
    host: &'a str,
    at: &'a str,
    proxy: Option<&'a str>,
}

impl Place<'_> {
    /// The failure in the user's words, from the chain of causes (joined by `: `) and its
    /// innermost cause `root`.
    fn summary(&self, chain: &str, root: &str, kind: Kind) -> String {
        // ASCII only: the same byte offsets as `chain`, whatever a server put in it.
        let text = chain.to_ascii_lowercase();
        let Kind {
            timeout,
            tls,
            connect,
        } = kind;
        let Place { host, at, proxy } = self;
        let proxy_at = proxy.map(|p| format!(" at {p}")).unwrap_or_default();
        if text.contains("socks") {
            if text.contains("underlying connection") || text.contains("proxy server unreachable") {
                return format!("cannot reach the SOCKS proxy{proxy_at} — is it running?");
            }
            return format!("the SOCKS proxy{proxy_at} could not reach {at}: {root}");
        }
        if timeout {
            return format!("{at} did not answer in time ({root})");
        }
        if text.contains("dns error") || text.contains("failed to lookup address") {
            // tofu's own resolver (`--via iface:`) says it in the user's words already.
            if root.starts_with("cannot resolve ") {
                return root.to_owned();
            }
            // The system's: `failed to lookup address information: Name or service not known`.
            let reason = root
                .strip_prefix("failed to lookup address information: ")
                .unwrap_or(root);
            return format!("cannot resolve {host}: {reason}");
        }
        if tls {
            const REFUSED: &str = "invalid peer certificate: ";
            return match text.find(REFUSED) {
                // The same place in the chain as worded, not lowercased: `UnknownIssuer`.
                Some(at) => format!(
                    "the TLS certificate of {host} was refused: {}",
                    &chain[at + REFUSED.len()..]
                ),
                None => format!("TLS with {at} failed: {root}"),
            };
        }
        let known = [
            ("connection refused", format!("connection refused by {at}")),
            (
                "network is unreachable",
                format!("no route to {at}: network unreachable"),
            ),
            ("no route to host", format!("no route to {at}")),
            ("connection reset", format!("{at} reset the connection")),
        ];
        match known.into_iter().find(|(phrase, _)| text.contains(phrase)) {
            Some((_, what)) => what,
            None if connect => format!("cannot connect to {at}: {root}"),
            None => format!("the HTTP exchange with {at} failed: {root}"),
        }
    }
}

/// The error as a transcript records it: the stable code and the message.
impl From<&FetchError> for tofu_record::ArtifactError {
    fn from(e: &FetchError) -> Self {
        tofu_record::ArtifactError {
            code: e.code(),
            message: e.to_string(),
            causes: e.causes().to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Kind, Place};

    const CONNECT: Kind = Kind {
        timeout: false,
        tls: false,
        connect: true,
    };

    fn said(chain: &[&str], proxy: Option<&str>, kind: Kind) -> String {
        let place = Place {
            host: "tails.net",
            at: "tails.net:443",
            proxy,
        };
        place.summary(&chain.join(": "), chain.last().unwrap(), kind)
    }

    /// The chains reqwest, hyper, tokio-socks and rustls give (as seen in real runs), each
    /// said as a person would.
    #[test]
    fn failures_are_said_in_the_users_words() {
        let socks = [
            "error sending request",
            "client error (Connect)",
            "error connecting to socks proxy",
            "SOCKS error: failed to create underlying connection",
        ];
        assert_eq!(
            said(&socks, Some("127.0.0.1:9050"), CONNECT),
            "cannot reach the SOCKS proxy at 127.0.0.1:9050 — is it running?"
        );
        let unreachable = [
            "error connecting to socks proxy",
            "SOCKS error: host unreachable",
        ];
        assert_eq!(
            said(&unreachable, Some("10.0.0.1:1080"), CONNECT),
            "the SOCKS proxy at 10.0.0.1:1080 could not reach tails.net:443: SOCKS error: host \
             unreachable"
        );
        let refused = [
            "client error (Connect)",
            "tcp connect error",
            "Connection refused (os error 111)",
        ];
        assert_eq!(
            said(&refused, None, CONNECT),
            "connection refused by tails.net:443"
        );
        let dns = [
            "dns error",
            "failed to lookup address information: Name or service not known",
        ];
        assert_eq!(
            said(&dns, None, CONNECT),
            "cannot resolve tails.net: Name or service not known"
        );
        let own = "cannot resolve tails.net through interface wg0 (10.0.0.53:53: no answer \
                   within 1.5s); name a resolver reachable over it with --dns IP";
        let iface = ["dns error", "error resolving DNS", own];
        assert_eq!(said(&iface, None, CONNECT), own);
        let tls = Kind {
            tls: true,
            ..CONNECT
        };
        let cert = [
            "client error (Connect)",
            "invalid peer certificate: UnknownIssuer",
        ];
        assert_eq!(
            said(&cert, None, tls),
            "the TLS certificate of tails.net was refused: UnknownIssuer"
        );
        let timeout = Kind {
            timeout: true,
            ..CONNECT
        };
        assert_eq!(
            said(
                &["client error (Connect)", "operation timed out"],
                None,
                timeout
            ),
            "tails.net:443 did not answer in time (operation timed out)"
        );
        let other = Kind {
            connect: false,
            ..CONNECT
        };
        assert_eq!(
            said(
                &["error decoding response body", "unexpected EOF"],
                None,
                other
            ),
            "the HTTP exchange with tails.net:443 failed: unexpected EOF"
        );
    }

    /// A server's certificate names reach the chain; characters whose lowercase is longer
    /// (`İ`) must not shift where the reason is cut.
    #[test]
    fn a_hostile_name_in_the_chain_cannot_shift_the_cut() {
        let tls = Kind {
            tls: true,
            ..CONNECT
        };
        let chain = [
            "İİİİ presented",
            "invalid peer certificate: NotValidForName İ",
        ];
        assert_eq!(
            said(&chain, None, tls),
            "the TLS certificate of tails.net was refused: NotValidForName İ"
        );
    }
}
