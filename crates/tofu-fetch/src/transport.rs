//! Transports: how TCP streams are made. A transport is parsed once from the user's
//! `--via`, built into a [`Client`], and passed down; nothing else in tofu builds an HTTP
//! client. Environment proxies (`HTTP_PROXY`, `ALL_PROXY`, …) are always ignored: a silent
//! proxy would change the vantage point and falsify the record.

use std::path::PathBuf;
use std::time::Duration;

use tofu_record::Transport;
use tofu_record::redact::without_credentials;
use url::Url;

use crate::error::TransportError;
use tofu_record::digest::sha256_hex;

/// The transport a run uses, as the user chose it.
#[derive(Clone, PartialEq, Eq)]
pub enum Via {
    /// The operating system's route.
    Direct,
    /// A SOCKS5 proxy; `remote_dns` is true for `socks5h://`.
    Socks5 { url: Url, remote_dns: bool },
    /// Sockets bound to a network interface.
    Interface(String),
}

impl std::fmt::Debug for Via {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print proxy credentials.
        f.write_str(&self.to_string())
    }
}

impl std::fmt::Display for Via {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Via::Direct => f.write_str("direct"),
            Via::Socks5 { url, .. } => f.write_str(&without_credentials(url)),
            Via::Interface(name) => write!(f, "iface:{name}"),
        }
    }
}

impl std::str::FromStr for Via {
    type Err = TransportError;

    fn from_str(s: &str) -> Result<Via, TransportError> {
        if s == "direct" {
            return Ok(Via::Direct);
        }
        if let Some(name) = s.strip_prefix("iface:") {
            if name.is_empty() || name.len() > 15 || name.contains(['/', '\0']) {
                return Err(TransportError::NoInterface(name.to_owned()));
            }
            return Ok(Via::Interface(name.to_owned()));
        }
        let remote_dns = if s.starts_with("socks5h://") {
            true
        } else if s.starts_with("socks5://") {
            false
        } else {
            return Err(TransportError::UnknownVia(s.to_owned()));
        };
        let bad = |reason: &str| TransportError::BadProxy {
            // Parse errors must not echo a password either.
            url: Url::parse(s)
                .map(|u| without_credentials(&u))
                .unwrap_or_else(|_| "(unparsable)".to_owned()),
            reason: reason.to_owned(),
        };
        let url = Url::parse(s).map_err(|e| bad(&e.to_string()))?;
        if url.host_str().is_none_or(str::is_empty) {
            return Err(bad("no proxy host"));
        }
        if url.port().is_none() {
            return Err(bad("no proxy port (e.g. socks5h://127.0.0.1:1080)"));
        }
        if url.path() != "" && url.path() != "/" || url.query().is_some() {
            return Err(bad("a proxy URL has no path or query"));
        }
        let has_user = !url.username().is_empty();
        if has_user != url.password().is_some() {
            return Err(bad("give both a username and a password, or neither"));
        }
        Ok(Via::Socks5 { url, remote_dns })
    }
}

impl Via {
    /// What the transcript records: the transport without credentials.
    pub fn record(&self) -> Transport {
        match self {
            Via::Direct => Transport::Direct,
            Via::Socks5 { url, remote_dns } => Transport::Socks5 {
                proxy: without_credentials(url),
                remote_dns: *remote_dns,
                authenticated: !url.username().is_empty(),
            },
            Via::Interface(name) => Transport::Interface { name: name.clone() },
        }
    }

    /// Things the user should know about this choice.
    pub fn warnings(&self) -> Vec<String> {
        match self {
            Via::Socks5 {
                remote_dns: false, ..
            } => vec![
                "socks5:// resolves names locally, so every host name leaks to the local \
                 resolver and the answer comes from this network, not the proxy's; use \
                 socks5h:// to let the proxy resolve them"
                    .to_owned(),
            ],
            _ => Vec::new(),
        }
    }
}

/// Limits and trust settings of a client.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Time to establish a connection (TCP, proxy and TLS).
    pub connect_timeout: Duration,
    /// Longest pause between two reads of a body.
    pub read_timeout: Duration,
    /// PEM files of extra trusted roots.
    pub ca_certs: Vec<PathBuf>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(60),
            ca_certs: Vec::new(),
        }
    }
}

/// An HTTP client bound to one transport: the network capability handed to fetch code.
pub struct Client {
    pub(crate) http: reqwest::Client,
    via: Via,
    extra_roots: Vec<String>,
    pub(crate) seen_chains: std::sync::Arc<crate::tls::SeenChains>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("via", &self.via).finish()
    }
}

impl Client {
    /// Builds the one HTTP client of a run.
    pub fn new(via: Via, options: &ClientOptions) -> Result<Client, TransportError> {
        #[expect(
            clippy::disallowed_methods,
            reason = "the one place that builds an HTTP client: the transport decides how it connects"
        )]
        let mut builder = reqwest::Client::builder();
        builder = builder
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .referer(false)
            .user_agent(concat!("tofu/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(options.connect_timeout)
            .read_timeout(options.read_timeout)
            .tls_info(true)
            .https_only(false);

        let mut roots = Vec::new();
        for path in &options.ca_certs {
            roots.extend(load_pem_roots(path)?);
        }
        let extra_roots = roots.iter().map(|c| sha256_hex(c)).collect();
        let (tls, seen_chains) =
            crate::tls::client_config(roots).map_err(|e| TransportError::Client(e.to_string()))?;
        builder = builder.tls_backend_preconfigured(tls);

        match &via {
            Via::Direct => {}
            Via::Socks5 { url, .. } => {
                let proxy =
                    reqwest::Proxy::all(url.as_str()).map_err(|e| TransportError::BadProxy {
                        url: without_credentials(url),
                        reason: e.without_url().to_string(),
                    })?;
                builder = builder.proxy(proxy);
            }
            Via::Interface(name) => {
                if !std::path::Path::new("/sys/class/net").join(name).exists() {
                    return Err(TransportError::NoInterface(name.clone()));
                }
                builder = builder.interface(name);
            }
        }
        let http = builder
            .build()
            .map_err(|e| TransportError::Client(e.without_url().to_string()))?;
        Ok(Client {
            http,
            via,
            extra_roots,
            seen_chains,
        })
    }

    /// The transport, for display.
    pub fn via(&self) -> &Via {
        &self.via
    }

    /// SHA-256 of each extra trusted root, as recorded in the transcript.
    pub fn extra_roots(&self) -> &[String] {
        &self.extra_roots
    }
}

fn load_pem_roots(
    path: &std::path::Path,
) -> Result<Vec<rustls_pki_types::CertificateDer<'static>>, TransportError> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let err = |reason: String| TransportError::CaCert {
        path: path.to_owned(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(format!("not a PEM certificate file: {e}")))?;
    if certs.is_empty() {
        return Err(err("no certificate in the file".to_owned()));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn via_parses_and_never_shows_credentials() {
        let v: Via = "socks5h://alice:s3cret@127.0.0.1:1080".parse().unwrap();
        assert_eq!(v.to_string(), "socks5h://127.0.0.1:1080");
        assert_eq!(format!("{v:?}"), "socks5h://127.0.0.1:1080");
        assert_eq!(
            v.record(),
            Transport::Socks5 {
                proxy: "socks5h://127.0.0.1:1080".into(),
                remote_dns: true,
                authenticated: true
            }
        );
        assert!(v.warnings().is_empty());
        let v: Via = "socks5://127.0.0.1:1080".parse().unwrap();
        assert_eq!(v.warnings().len(), 1);
        assert_eq!("direct".parse::<Via>().unwrap(), Via::Direct);
        assert_eq!(
            "iface:wg0".parse::<Via>().unwrap(),
            Via::Interface("wg0".into())
        );
        for bad in [
            "tor2",
            "http://127.0.0.1:8080",
            "socks5h://127.0.0.1",
            "socks5h://alice@127.0.0.1:1080",
            "iface:",
        ] {
            assert!(bad.parse::<Via>().is_err(), "{bad} parsed");
        }
        let err = "socks5h://alice:s3cret@127.0.0.1:1080/x"
            .parse::<Via>()
            .unwrap_err();
        assert!(!err.to_string().contains("s3cret"), "{err}");
    }
}
