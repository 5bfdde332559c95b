//! Transports: how TCP streams are made. A transport is parsed once from the user's
//! `--via`, built into a [`Client`], and passed down; nothing else in tofu builds an HTTP
//! client. Environment proxies (`HTTP_PROXY`, `ALL_PROXY`, …) are always ignored: a silent
//! proxy would change the vantage point and falsify the record.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::CertificateDer;
use tofu_record::Transport;
use tofu_record::redact::without_credentials;
use url::Url;

use crate::error::TransportError;
use crate::tor::{Streams, Tor, TorOptions};
use tofu_record::digest::sha256_hex;
use tofu_record::evidence::Country;

/// The transport a run uses, as the user chose it (`--via`).
#[derive(Clone, PartialEq, Eq)]
pub enum Via {
    /// A route through the network: see [`Client::connect`].
    Route(Route),
    /// The embedded Tor client, with an exit in this country when given: see
    /// [`Client::connect_tor`].
    Tor { country: Option<Country> },
}

/// A route through the network that needs no client of its own to start.
#[derive(Clone, PartialEq, Eq)]
pub enum Route {
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

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print proxy credentials.
        f.write_str(&self.to_string())
    }
}

impl std::fmt::Display for Via {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Via::Route(route) => std::fmt::Display::fmt(route, f),
            Via::Tor { country: None } => f.write_str("tor"),
            Via::Tor { country: Some(cc) } => write!(f, "tor:{cc}"),
        }
    }
}

impl std::fmt::Display for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Route::Direct => f.write_str("direct"),
            Route::Socks5 { url, .. } => f.write_str(&without_credentials(url)),
            Route::Interface(name) => write!(f, "iface:{name}"),
        }
    }
}

impl std::str::FromStr for Via {
    type Err = TransportError;

    fn from_str(s: &str) -> Result<Via, TransportError> {
        if s == "direct" {
            return Ok(Via::Route(Route::Direct));
        }
        if s == "tor" {
            return Ok(Via::Tor { country: None });
        }
        if let Some(cc) = s.strip_prefix("tor:") {
            let country =
                Country::parse(cc).ok_or_else(|| TransportError::UnknownCountry(cc.to_owned()))?;
            return Ok(Via::Tor {
                country: Some(country),
            });
        }
        if let Some(name) = s.strip_prefix("iface:") {
            if name.is_empty() || name.len() > 15 || name.contains(['/', '\0']) {
                return Err(TransportError::NoInterface(name.to_owned()));
            }
            return Ok(Via::Route(Route::Interface(name.to_owned())));
        }
        parse_socks5(s).map(Via::Route)
    }
}

/// `socks5h://[USER:PASS@]HOST:PORT` or `socks5://…`; no error ever echoes a password.
fn parse_socks5(s: &str) -> Result<Route, TransportError> {
    let remote_dns = if s.starts_with("socks5h://") {
        true
    } else if s.starts_with("socks5://") {
        false
    } else {
        // Another scheme may carry a password too (`http://user:pw@proxy:8080`): what
        // comes before an '@' is never echoed.
        let shown = match s.rsplit_once('@') {
            Some((_, rest)) => format!("…@{rest}"),
            None => s.to_owned(),
        };
        return Err(TransportError::UnknownVia(shown));
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
    Ok(Route::Socks5 { url, remote_dns })
}

impl Via {
    /// Things the user should know about this choice.
    pub fn warnings(&self) -> Vec<String> {
        match self {
            Via::Route(Route::Socks5 {
                remote_dns: false, ..
            }) => vec![
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
    /// Longest pause between two reads of a body. Connecting and a response's whole head
    /// (status line and headers) get the connect and read timeouts together: a server that
    /// trickles its headers a byte at a time never pauses long enough to trip a per-read
    /// timeout.
    pub read_timeout: Duration,
    /// The slowest transfer accepted (curl's `--speed-limit`/`--speed-time`).
    pub speed_limit: SpeedLimit,
    /// PEM files of extra trusted roots.
    pub ca_certs: Vec<PathBuf>,
    /// For a route bound to an interface: the DNS resolvers to ask over it, in order (empty:
    /// those of `/etc/resolv.conf`, still asked over the interface). Other transports ignore
    /// it.
    pub dns: Vec<std::net::SocketAddr>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(60),
            speed_limit: SpeedLimit::default(),
            ca_certs: Vec::new(),
            dns: Vec::new(),
        }
    }
}

/// The slowest transfer accepted, as curl's `--speed-limit`/`--speed-time`: a body that
/// arrives at fewer than `bytes_per_sec` bytes a second on average over any whole window of
/// `window` has stalled, so a trickling server cannot hold a run forever. `bytes_per_sec` 0
/// turns the check off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpeedLimit {
    /// Fewest bytes a second, on average over `window`.
    pub bytes_per_sec: u64,
    /// The window.
    pub window: Duration,
}

impl Default for SpeedLimit {
    /// 1 KiB/s over a minute: a Tor circuit that pauses for half a minute still passes, a
    /// body that trickles does not.
    fn default() -> Self {
        SpeedLimit {
            bytes_per_sec: 1024,
            window: Duration::from_secs(60),
        }
    }
}

/// How a client's streams are kept apart from other streams.
#[derive(Clone, Debug)]
enum Isolation {
    /// Not at all: the transport has no notion of it.
    None,
    /// The embedded Tor client: one isolation token per key.
    Embedded(Arc<Tor>),
    /// A Tor daemon's SocksPort: random credentials for the run (Tor's IsolateSOCKSAuth keeps
    /// its streams off every other program's and run's circuits). One set for the whole run,
    /// not one per key, so the lookups and downloads ask for the same circuits. That is not
    /// enough for the lookups to speak for the downloads: the daemon picks each stream's exit
    /// by its port (exit policies) and builds new circuits after ten minutes, and does not say
    /// which exit a stream used. The transcript says so (`exit_scope` `lookups`), and compare
    /// counts the downloads' exits as unknown.
    TorDaemon { secret: String },
}

/// An HTTP client bound to one transport: the network capability handed to fetch code.
pub struct Client {
    pub(crate) http: reqwest::Client,
    via: Via,
    pub(crate) options: ClientOptions,
    roots: Vec<CertificateDer<'static>>,
    extra_roots: Vec<String>,
    pub(crate) seen: Arc<crate::tls::SeenConnections>,
    isolation: Isolation,
    /// The isolation key of this client's streams.
    key: String,
    /// The proxy answered as a Tor SocksPort.
    tor_daemon: bool,
    /// For a route bound to an interface: the resolver that asks over it.
    resolver: Option<crate::dns::InterfaceResolver>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("via", &self.via).finish()
    }
}

impl Client {
    /// Builds the client of a run over a network route. A SOCKS5 proxy is asked whether it
    /// is a Tor daemon's SocksPort; if so, the run's streams get credentials of their own so
    /// that the daemon keeps them off every other program's circuits. Its own streams (the
    /// exit probes) use isolation key `vantage`; [`Client::isolated`] gives each target its own.
    pub async fn connect(route: Route, options: &ClientOptions) -> Result<Client, TransportError> {
        let roots = load_roots(options)?;
        let (isolation, tor_daemon) = match &route {
            Route::Socks5 { url, .. } if is_tor_socks_port(url, options.connect_timeout).await => {
                let isolation = if url.username().is_empty() {
                    let mut secret = [0u8; 12];
                    getrandom::fill(&mut secret)
                        .map_err(|e| TransportError::Client(e.to_string()))?;
                    Isolation::TorDaemon {
                        secret: hex::encode(secret),
                    }
                } else {
                    // The user's own credentials decide the isolation.
                    Isolation::None
                };
                (isolation, true)
            }
            _ => (Isolation::None, false),
        };
        Client::build(
            Via::Route(route),
            options.clone(),
            roots,
            isolation,
            "vantage",
            tor_daemon,
        )
    }

    /// Builds the client of a run over the embedded Tor client: starts it as `tor` says
    /// (reporting bootstrap progress through `progress`), with streams that may take
    /// `options.connect_timeout` to open, retries included. Streams are isolated as with
    /// [`Client::connect`]; over Tor, isolated streams never share a circuit.
    pub async fn connect_tor(
        tor: TorOptions,
        options: &ClientOptions,
        progress: fn(crate::tor::Bootstrap<'_>),
    ) -> Result<Client, TransportError> {
        let roots = load_roots(options)?;
        let country = tor.exit_country.clone();
        let tor = Tor::start(tor, options.connect_timeout, progress).await?;
        Client::build(
            Via::Tor { country },
            options.clone(),
            roots,
            Isolation::Embedded(Arc::new(tor)),
            "vantage",
            false,
        )
    }

    /// A client whose streams use isolation key `key`: with the embedded Tor client,
    /// circuits shared with no stream of another key. Other transports return a client
    /// sharing this one's connections.
    pub fn isolated(&self, key: &str) -> Result<Client, TransportError> {
        if !matches!(self.isolation, Isolation::Embedded(_)) {
            return Ok(Client {
                http: self.http.clone(),
                via: self.via.clone(),
                options: self.options.clone(),
                roots: self.roots.clone(),
                extra_roots: self.extra_roots.clone(),
                seen: Arc::clone(&self.seen),
                isolation: self.isolation.clone(),
                key: key.to_owned(),
                tor_daemon: self.tor_daemon,
                resolver: self.resolver.clone(),
            });
        }
        Client::build(
            self.via.clone(),
            self.options.clone(),
            self.roots.clone(),
            self.isolation.clone(),
            key,
            self.tor_daemon,
        )
    }

    fn build(
        via: Via,
        options: ClientOptions,
        roots: Vec<CertificateDer<'static>>,
        isolation: Isolation,
        key: &str,
        tor_daemon: bool,
    ) -> Result<Client, TransportError> {
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

        let extra_roots = roots.iter().map(|c| sha256_hex(c)).collect();
        let tls =
            crate::tls::client_config(&roots).map_err(|e| TransportError::Client(e.to_string()))?;
        let seen = Arc::new(crate::tls::SeenConnections::default());
        builder = builder
            .tls_backend_preconfigured(tls)
            .connector_layer(crate::tls::RecordLayer(Arc::clone(&seen)));

        let proxy = match (&via, &isolation) {
            (Via::Tor { .. }, Isolation::Embedded(tor)) => Some(tor.proxy_url(key)),
            (Via::Tor { .. }, _) => {
                return Err(TransportError::Client(
                    "the Tor transport has no Tor client".to_owned(),
                ));
            }
            (Via::Route(Route::Socks5 { url, .. }), Isolation::TorDaemon { secret }) => {
                let mut url = url.clone();
                url.set_username(&format!("tofu-{secret}"))
                    .and_then(|()| url.set_password(Some("x")))
                    .map_err(|()| TransportError::Client("cannot set SOCKS credentials".into()))?;
                Some(url)
            }
            (Via::Route(Route::Socks5 { url, .. }), _) => Some(url.clone()),
            _ => None,
        };
        if let Some(url) = &proxy {
            let proxy =
                reqwest::Proxy::all(url.as_str()).map_err(|e| TransportError::BadProxy {
                    url: without_credentials(url),
                    reason: e.without_url().to_string(),
                })?;
            builder = builder.proxy(proxy);
        }
        let (builder, resolver) = bind_interface(builder, &via, &options)?;
        let http = builder
            .build()
            .map_err(|e| TransportError::Client(e.without_url().to_string()))?;
        Ok(Client {
            http,
            via,
            options,
            roots,
            extra_roots,
            seen,
            isolation,
            key: key.to_owned(),
            tor_daemon,
            resolver,
        })
    }

    /// What the transcript records about the transport (without credentials).
    pub fn record(&self) -> Transport {
        match &self.via {
            Via::Route(Route::Direct) => Transport::Direct,
            Via::Route(Route::Socks5 { url, remote_dns }) => Transport::Socks5 {
                proxy: without_credentials(url),
                remote_dns: *remote_dns,
                authenticated: !url.username().is_empty()
                    || matches!(self.isolation, Isolation::TorDaemon { .. }),
                tor_daemon: self.tor_daemon,
            },
            Via::Route(Route::Interface(name)) => Transport::Interface {
                name: name.clone(),
                dns: self
                    .resolver
                    .as_ref()
                    .map(crate::dns::InterfaceResolver::answers)
                    .unwrap_or_default(),
            },
            Via::Tor { country } => {
                let (valid_after, geoip) = match &self.isolation {
                    Isolation::Embedded(tor) => {
                        (tor.consensus_valid_after(), tor.geoip_label().to_owned())
                    }
                    _ => (None, String::new()),
                };
                Transport::Tor {
                    exit_country: country.as_ref().map(|c| c.as_str().to_owned()),
                    consensus_valid_after: valid_after,
                    geoip,
                    exits: self.tor_streams().exits,
                }
            }
        }
    }

    /// What the embedded Tor client saw of this client's streams so far: their exit relays,
    /// circuits, retries and failures. Empty for every other transport.
    pub fn tor_streams(&self) -> Streams {
        match &self.isolation {
            Isolation::Embedded(tor) => tor.streams(&self.key),
            _ => Streams::default(),
        }
    }

    /// The transport, for display.
    pub fn via(&self) -> &Via {
        &self.via
    }

    /// The SOCKS proxy's `HOST:PORT` (never its credentials), when requests go through one.
    pub(crate) fn proxy_authority(&self) -> Option<String> {
        match &self.via {
            Via::Route(Route::Socks5 { url, .. }) => {
                let host = url.host_str()?;
                Some(match url.port() {
                    Some(port) => format!("{host}:{port}"),
                    None => host.to_owned(),
                })
            }
            _ => None,
        }
    }

    /// SHA-256 of each extra trusted root, as recorded in the transcript.
    pub fn extra_roots(&self) -> &[String] {
        &self.extra_roots
    }
}

/// The extra trusted roots of `--ca-cert`, every file read.
fn load_roots(options: &ClientOptions) -> Result<Vec<CertificateDer<'static>>, TransportError> {
    let mut roots = Vec::new();
    for path in &options.ca_certs {
        roots.extend(load_pem_roots(path)?);
    }
    Ok(roots)
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

/// Whether a SOCKS5 proxy is a Tor client's SocksPort: it answers Tor's RESOLVE extension
/// (command 0xF0), which other SOCKS servers refuse as an unknown command. Resolving an
/// address literal needs no network: Tor answers it at once with the same address. A sloppy
/// server that takes any command for CONNECT answers with its own bound address instead,
/// hence an unusual loopback literal.
async fn is_tor_socks_port(url: &Url, limit: Duration) -> bool {
    use std::net::{IpAddr, Ipv4Addr};
    use tor_socksproto::{
        SocksAddr, SocksAuth, SocksClientHandshake, SocksCmd, SocksRequest, SocksStatus,
        SocksVersion,
    };
    let probe = async {
        let decode = |s: &str| percent_encoding::percent_decode_str(s).collect::<Vec<u8>>();
        let auth = match url.password() {
            Some(password) => SocksAuth::Username(decode(url.username()), decode(password)),
            None => SocksAuth::NoAuth,
        };
        let literal = SocksAddr::Ip(IpAddr::V4(Ipv4Addr::new(127, 45, 67, 89)));
        let request = SocksRequest::new(
            SocksVersion::V5,
            SocksCmd::RESOLVE,
            literal.clone(),
            0,
            auth,
        )
        .ok()?;
        let host = url
            .host_str()?
            .trim_start_matches('[')
            .trim_end_matches(']');
        #[expect(
            clippy::disallowed_methods,
            reason = "the transport asking its own proxy what it is"
        )]
        let mut conn = tokio::net::TcpStream::connect((host, url.port()?))
            .await
            .ok()?;
        let reply =
            crate::tor::socks_handshake(&mut conn, SocksClientHandshake::new(request)).await?;
        Some(reply.status() == SocksStatus::SUCCEEDED && *reply.addr() == literal)
    };
    tokio::time::timeout(limit, probe)
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
}

/// For a route bound to an interface: sockets bound to it, and names resolved over it (see
/// `dns.rs`); other transports are returned unchanged.
fn bind_interface(
    builder: reqwest::ClientBuilder,
    via: &Via,
    options: &ClientOptions,
) -> Result<
    (
        reqwest::ClientBuilder,
        Option<crate::dns::InterfaceResolver>,
    ),
    TransportError,
> {
    let Via::Route(Route::Interface(name)) = via else {
        return Ok((builder, None));
    };
    if !std::path::Path::new("/sys/class/net").join(name).exists() {
        return Err(TransportError::NoInterface(name.clone()));
    }
    // Resolving is part of connecting: the resolvers get half the connect timeout, so that
    // their own answer (which resolver failed, and how) comes before the connect timeout's.
    let resolver =
        crate::dns::InterfaceResolver::new(name, &options.dns, options.connect_timeout / 2);
    let builder = builder
        .interface(name)
        .dns_resolver(Arc::new(resolver.clone()));
    Ok((builder, Some(resolver)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn via_parses_and_never_shows_credentials() {
        let v: Via = "socks5h://alice:s3cret@127.0.0.1:1080".parse().unwrap();
        assert_eq!(v.to_string(), "socks5h://127.0.0.1:1080");
        assert_eq!(format!("{v:?}"), "socks5h://127.0.0.1:1080");
        let Via::Route(route) = v.clone() else {
            panic!("{v} is not a route")
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        // Nothing listens on port 1; the proxy is not asked anything else.
        let route = match route {
            Route::Socks5 {
                mut url,
                remote_dns,
            } => {
                url.set_port(Some(1)).unwrap();
                Route::Socks5 { url, remote_dns }
            }
            other => other,
        };
        assert_eq!(
            runtime
                .block_on(Client::connect(route, &ClientOptions::default()))
                .unwrap()
                .record(),
            Transport::Socks5 {
                proxy: "socks5h://127.0.0.1:1".into(),
                remote_dns: true,
                authenticated: true,
                tor_daemon: false,
            }
        );
        assert!(v.warnings().is_empty());
        let v: Via = "socks5://127.0.0.1:1080".parse().unwrap();
        assert_eq!(v.warnings().len(), 1);
        assert_eq!("direct".parse::<Via>().unwrap(), Via::Route(Route::Direct));
        assert_eq!(
            "iface:wg0".parse::<Via>().unwrap(),
            Via::Route(Route::Interface("wg0".into()))
        );
        assert_eq!(
            "tor:de".parse::<Via>().unwrap(),
            Via::Tor {
                country: Country::parse("DE")
            }
        );
        assert_eq!("tor".parse::<Via>().unwrap().to_string(), "tor");
        for bad in [
            "tor2",
            "tor:",
            "tor:XX",
            "tor:DEU",
            "tor:D1",
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

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;
    use tofu_record::evidence::is_country_code;

    /// The password generated `--via` values carry: nothing else in them can spell it.
    const SECRET: &str = "S3CRETpw";

    /// `--via`-like strings: the known forms, near misses, and proxy URLs of several
    /// schemes, some with credentials.
    fn near_via() -> impl Strategy<Value = String> {
        let proxy = (
            "(socks5h|socks5|SOCKS5H|Socks5|http|https|socks4|socks5h:|socks5h:/)",
            proptest::option::of(("[a-z]{0,5}", proptest::option::of("[a-z0-9]{0,4}"))),
            "([a-z0-9.-]{0,12}|127\\.0\\.0\\.1|\\[::1\\]|\\[::1)",
            proptest::option::of("[0-9]{0,6}"),
            "(|/|/[a-z]{1,4}|\\?[a-z]=1|#x)",
        )
            .prop_map(|(scheme, user, host, port, tail)| {
                let user = match user {
                    Some((name, Some(extra))) => format!("{name}:{SECRET}{extra}@"),
                    Some((name, None)) => format!("{name}@"),
                    None => String::new(),
                };
                let port = port.map(|p| format!(":{p}")).unwrap_or_default();
                format!("{scheme}://{user}{host}{port}{tail}")
            });
        prop_oneof![
            "(direct|tor|Direct|TOR|direct |tor:|tor: DE)",
            "tor:[A-Za-z0-9]{0,3}",
            "iface:[ -~]{0,18}",
            "iface:[a-z0-9]{1,15}",
            proxy,
        ]
    }

    proptest! {
        /// Parsing `--via` never panics; what it accepts is sound (a `tor:` country is an
        /// uppercase ISO code, an interface name 1 to 15 bytes without `/` or NUL, a proxy
        /// URL with host and port and nothing after), and it prints back to itself.
        #[test]
        fn via_acceptance_is_sound(text in prop_oneof![any::<String>(), near_via()]) {
            let Ok(via) = text.parse::<Via>() else {
                return Ok(());
            };
            match &via {
                Via::Route(Route::Direct) => prop_assert_eq!(text.as_str(), "direct"),
                Via::Tor { country: None } => prop_assert_eq!(text.as_str(), "tor"),
                Via::Tor { country: Some(cc) } => {
                    prop_assert!(is_country_code(cc.as_str()));
                    prop_assert_eq!(cc.as_str().to_ascii_uppercase(), cc.as_str());
                }
                Via::Route(Route::Interface(name)) => {
                    prop_assert!((1..=15).contains(&name.len()));
                    prop_assert!(!name.contains(['/', '\0']));
                }
                Via::Route(Route::Socks5 { url, remote_dns }) => {
                    prop_assert_eq!(url.scheme(), if *remote_dns { "socks5h" } else { "socks5" });
                    prop_assert!(url.host_str().is_some_and(|h| !h.is_empty()));
                    prop_assert!(url.port().is_some());
                    prop_assert!(matches!(url.path(), "" | "/") && url.query().is_none());
                    prop_assert_eq!(url.username().is_empty(), url.password().is_none());
                }
            }
            let printed = via.to_string();
            let again: Via = printed.parse().unwrap_or_else(|e| panic!("{printed:?}: {e}"));
            match (&via, &again) {
                (
                    Via::Route(Route::Socks5 { url: a, .. }),
                    Via::Route(Route::Socks5 { url: b, .. }),
                ) => {
                    prop_assert_eq!(a.host_str(), b.host_str());
                    prop_assert_eq!(a.port(), b.port());
                    prop_assert!(b.username().is_empty() && b.password().is_none());
                }
                _ => prop_assert_eq!(&again, &via),
            }
        }

        /// A password in `--via` never shows: not in the error, not in the printed or
        /// debug form of what was accepted.
        #[test]
        fn via_never_shows_the_password(text in near_via()) {
            let shown = match text.parse::<Via>() {
                Ok(via) => format!("{via} {via:?}"),
                Err(e) => format!("{e} {e:?}"),
            };
            prop_assert!(!shown.contains(SECRET), "{:?} shows as {:?}", text, shown);
        }

        /// `tor:CC` is accepted exactly for ISO 3166-1 alpha-2 codes, in any case.
        #[test]
        fn tor_countries_are_iso_codes(cc in "[A-Za-z0-9]{0,3}") {
            let got = format!("tor:{cc}").parse::<Via>();
            if is_country_code(&cc) {
                prop_assert_eq!(got.unwrap(), Via::Tor { country: Country::parse(&cc) });
            } else {
                prop_assert!(matches!(got, Err(TransportError::UnknownCountry(_))));
            }
        }
    }
}
