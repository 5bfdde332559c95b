//! The embedded Tor client (arti) and the SOCKS5 bridge in front of it.
//!
//! reqwest cannot take an arti stream as a connection, so the run's HTTP client reaches Tor the
//! way it reaches any SOCKS5 proxy (`socks5h://`): through a listener on 127.0.0.1 inside this
//! process that hands each CONNECT to arti. One HTTP and OCI code path then serves every
//! transport. The SOCKS username names the isolation key: streams with the same key share a
//! circuit, streams with different keys never do. The username also carries a random secret,
//! so no other local program can use the bridge.
//!
//! For each stream the bridge notes the exit relay of its circuit, right after connecting
//! (the circuit may be gone later), so the transcript can say which exit each artifact used.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arti_client::config::{CfgPath, TorClientConfigBuilder};
use arti_client::{
    BootstrapBehavior, CountryCode, DataStream, IsolationToken, StreamPrefs, TorClient,
};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use tofu_record::TorRelay;
use tofu_record::digest::sha256_hex;
use tofu_record::evidence::Country;

use tofu_record::error_chain;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tor_geoip::GeoipDb;
use tor_linkspec::{HasAddrs, HasRelayIds};
use tor_proto::client::stream::ClientStreamCtrl;
use tor_socksproto::{
    Handshake, NextStep, SocksAddr, SocksAuth, SocksCmd, SocksProxyHandshake, SocksStatus,
};

type Runtime = tor_rtcompat::PreferredRuntime;

/// How many circuits a stream is tried on before its failure is reported.
const CONNECT_ATTEMPTS: u32 = 3;

/// The embedded client could not be started or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TorError {
    /// The `[tor]` settings are unusable.
    #[error("the [tor] settings are unusable: {0}")]
    Config(String),
    /// A geoip file could not be read.
    #[error("geoip file {path}: {reason}")]
    Geoip { path: PathBuf, reason: String },
    /// The state or cache directory could not be used.
    #[error("cannot use the Tor client's state and cache in {dir}: {reason}")]
    State { dir: PathBuf, reason: String },
    /// The state or cache directory, or a parent, is open to other users.
    #[error("the Tor client's files in {dir} are not private: {reason}")]
    Permissions { dir: PathBuf, reason: String },
    /// Bootstrapping failed or did not finish in time.
    #[error("cannot reach the Tor network: {0}")]
    Bootstrap(String),
    /// No exit relay in the consensus is in the country asked for.
    #[error(
        "no exit relay in the current consensus is in {country} (by the geoip database built \
         into tofu), so no circuit can end there"
    )]
    NoExitIn { country: String },
    /// The bridge listener could not be opened.
    #[error("cannot open the local SOCKS bridge: {0}")]
    Bridge(String),
}

/// How the embedded client is set up: `[tor]` in the config, and `--via tor:CC`.
#[derive(Clone, Debug)]
pub struct TorOptions {
    /// Where arti keeps its state (guards, …), unless the arti table says otherwise.
    pub state_dir: PathBuf,
    /// Where arti caches directory documents, unless the arti table says otherwise.
    pub cache_dir: PathBuf,
    /// arti's own settings, as in its `arti.toml` (a private or bridged network is chosen
    /// here).
    pub arti: toml::Table,
    /// Where relay countries come from.
    pub geoip: Geoip,
    /// How long bootstrapping may take.
    pub bootstrap_timeout: Duration,
    /// The exit country asked for (`--via tor:CC`).
    pub exit_country: Option<Country>,
}

/// A geoip database: the one built into tofu, or C tor's legacy format from files.
#[derive(Clone)]
pub struct Geoip {
    db: Arc<GeoipDb>,
    label: String,
}

impl std::fmt::Debug for Geoip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label)
    }
}

impl Geoip {
    /// The database built into tofu (from arti's tor-geoip).
    pub fn embedded() -> Geoip {
        Geoip {
            db: GeoipDb::new_embedded(),
            label: "embedded".to_owned(),
        }
    }

    /// C tor's `geoip` / `geoip6` files (`FROM,TO,CC` lines; IPv4 as integers).
    pub fn from_files(ipv4: Option<&Path>, ipv6: Option<&Path>) -> Result<Geoip, TorError> {
        let read = |path: Option<&Path>| -> Result<(String, Option<String>), TorError> {
            let Some(path) = path else {
                return Ok((String::new(), None));
            };
            let text = std::fs::read_to_string(path).map_err(|e| TorError::Geoip {
                path: path.to_owned(),
                reason: e.to_string(),
            })?;
            let label = format!("sha256:{}", sha256_hex(text.as_bytes()));
            Ok((text, Some(label)))
        };
        let (v4, l4) = read(ipv4)?;
        let (v6, l6) = read(ipv6)?;
        let db = GeoipDb::new_from_legacy_format(&v4, &v6, false).map_err(|e| TorError::Geoip {
            path: ipv4.or(ipv6).unwrap_or(Path::new("")).to_owned(),
            reason: e.to_string(),
        })?;
        let label = format!(
            "file {}",
            [l4, l6].into_iter().flatten().collect::<Vec<_>>().join(" ")
        );
        Ok(Geoip {
            db: Arc::new(db),
            label,
        })
    }

    /// What the transcript says about the database.
    pub fn label(&self) -> &str {
        &self.label
    }

    fn country(&self, ip: std::net::IpAddr) -> Option<String> {
        self.db
            .lookup_country_code(ip)
            .map(|cc| cc.as_ref().to_owned())
    }
}

/// What the bridge saw for one isolation key.
#[derive(Clone, Debug, Default)]
pub struct Streams {
    /// The distinct exit relays, in order of first use.
    pub exits: Vec<TorRelay>,
    /// The distinct circuits (arti's process-local ids, e.g. `Circ 0.5`), in order.
    pub circuits: Vec<String>,
    /// Why streams could not be opened.
    pub errors: Vec<String>,
    /// Why a stream was moved to a new circuit (each retry adds a circuit to the key).
    pub retries: Vec<String>,
    /// The exit relay of the stream opened last, when known.
    pub last_exit: Option<TorRelay>,
}

struct Shared {
    client: Arc<TorClient<Runtime>>,
    secret: String,
    geoip: Geoip,
    exit_country: Option<CountryCode>,
    connect_timeout: Duration,
    tokens: Mutex<BTreeMap<String, IsolationToken>>,
    streams: Mutex<BTreeMap<String, Streams>>,
}

/// A bootstrapped embedded Tor client with its SOCKS bridge; stops when dropped.
pub struct Tor {
    shared: Arc<Shared>,
    port: u16,
    consensus_valid_after: Option<DateTime<Utc>>,
    accept: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Tor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tor").field("port", &self.port).finish()
    }
}

impl Drop for Tor {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl Tor {
    /// Starts arti, bootstraps it (reporting progress through `progress`), checks that an exit
    /// in the country asked for exists, and opens the bridge, whose streams may take
    /// `connect_timeout` to open, retries included. Must run inside a tokio runtime.
    pub async fn start(
        options: TorOptions,
        connect_timeout: Duration,
        progress: fn(Bootstrap<'_>),
    ) -> Result<Tor, TorError> {
        let exit_country = match &options.exit_country {
            Some(cc) => Some(cc.as_str().parse::<CountryCode>().map_err(|e| {
                TorError::Config(format!("arti does not take the country {cc}: {e}"))
            })?),
            None => None,
        };
        // arti's relay TLS uses rustls and needs a process-wide provider: ring, as everywhere
        // else in tofu. An error only means one is installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let config = arti_config(&options)?;
        let client = TorClient::builder()
            .config(config)
            .bootstrap_behavior(BootstrapBehavior::Manual)
            .create_unbootstrapped()
            // The configuration was built above: what fails here is opening the state,
            // the keystore or the directory cache.
            .map_err(|e| state_error(&options, &e))?;

        bootstrap(&client, &options, progress).await?;
        let netdir = client
            .dirmgr()
            .map_err(|e| TorError::Bootstrap(error_chain(&e)))?
            .timely_netdir()
            .map_err(|e| TorError::Bootstrap(error_chain(&e)))?;
        let valid_after: DateTime<Utc> = netdir.lifetime().valid_after.0.into();
        progress(Bootstrap::Done {
            summary: &format!(
                "done; consensus valid after {}",
                valid_after.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
        });
        if let Some(cc) = &exit_country {
            check_exits_in(&netdir, cc)?;
        }

        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .map_err(|e| TorError::Bridge(e.to_string()))?;
        let port = listener
            .local_addr()
            .map_err(|e| TorError::Bridge(e.to_string()))?
            .port();
        let mut secret = [0u8; 16];
        getrandom::fill(&mut secret).map_err(|e| TorError::Bridge(e.to_string()))?;
        let shared = Arc::new(Shared {
            client,
            secret: hex::encode(secret),
            geoip: options.geoip.clone(),
            exit_country,
            connect_timeout,
            tokens: Mutex::new(BTreeMap::new()),
            streams: Mutex::new(BTreeMap::new()),
        });
        let accept = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        Ok(Tor {
            shared,
            port,
            consensus_valid_after: Some(valid_after),
            accept,
        })
    }

    /// The proxy URL through which streams get isolation key `key`.
    pub fn proxy_url(&self, key: &str) -> url::Url {
        let mut url = url::Url::parse(&format!("socks5h://127.0.0.1:{}", self.port))
            .expect("a loopback URL parses");
        // set_username percent-encodes: no key can end the authority early.
        let _ = url.set_username(&format!("{}.{key}", self.shared.secret));
        let _ = url.set_password(Some("x"));
        url
    }

    /// What the bridge saw for `key` so far.
    pub fn streams(&self, key: &str) -> Streams {
        lock(&self.shared.streams)
            .get(key)
            .cloned()
            .unwrap_or_default()
    }

    /// `valid-after` of the consensus in use when the client was started.
    pub fn consensus_valid_after(&self) -> Option<DateTime<Utc>> {
        self.consensus_valid_after
    }

    /// What the transcript says about the geoip database.
    pub fn geoip_label(&self) -> &str {
        self.shared.geoip.label()
    }
}

/// What the embedded client's bootstrap reports, for a progress display: a bar on a
/// terminal, a line now and then elsewhere.
#[derive(Clone, Copy, Debug)]
pub enum Bootstrap<'a> {
    /// Bootstrapping is `fraction` (0 to 1) done; `status` says where it is, in arti's words,
    /// and `blocked` whether it is stuck.
    Status {
        fraction: f32,
        status: &'a str,
        blocked: bool,
    },
    /// Bootstrapping finished; `summary` says with which consensus.
    Done { summary: &'a str },
}

/// Bootstraps arti within `[tor] bootstrap_timeout_secs`, reporting every change of its
/// status through `progress`.
async fn bootstrap(
    client: &TorClient<Runtime>,
    options: &TorOptions,
    progress: fn(Bootstrap<'_>),
) -> Result<(), TorError> {
    let mut events = client.bootstrap_events();
    let reporter = tokio::spawn(async move {
        while let Some(status) = events.next().await {
            // Before bootstrap() is called the client reports itself disabled: not news.
            if status
                .blocked()
                .is_some_and(|b| matches!(b.kind(), arti_client::status::BlockageKind::Disabled))
            {
                continue;
            }
            progress(Bootstrap::Status {
                fraction: status.as_frac(),
                status: &status.to_string(),
                blocked: status.blocked().is_some(),
            });
        }
    });
    let outcome = tokio::time::timeout(options.bootstrap_timeout, client.bootstrap()).await;
    reporter.abort();
    match outcome {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => {
            use arti_client::ErrorKind as K;
            Err(match arti_client::HasKind::kind(&e) {
                K::PersistentStateCorrupted
                | K::PersistentStateAccessFailed
                | K::CacheCorrupted
                | K::CacheAccessFailed
                | K::KeystoreCorrupted
                | K::KeystoreAccessFailed
                | K::FsPermissions => state_error(options, &e),
                _ => TorError::Bootstrap(error_chain(&e)),
            })
        }
        Err(_) => Err(TorError::Bootstrap(format!(
            "bootstrapping did not finish in {} s (last status: {})",
            options.bootstrap_timeout.as_secs(),
            client.bootstrap_status()
        ))),
    }
}

/// Refuses a country no exit relay of the consensus is in (by the built-in database): no
/// circuit could end there.
fn check_exits_in(netdir: &tor_netdir::NetDir, cc: &CountryCode) -> Result<(), TorError> {
    use tor_geoip::HasCountryCode;
    let exits = netdir
        .relays()
        .filter(|r| r.low_level_details().policies_allow_some_port())
        .filter(|r| r.country_code().as_ref() == Some(cc))
        .count();
    if exits == 0 {
        return Err(TorError::NoExitIn {
            country: cc.as_ref().to_owned(),
        });
    }
    Ok(())
}

/// A failure to use the state or cache: loose permissions apart from everything else.
fn state_error(options: &TorOptions, e: &arti_client::Error) -> TorError {
    let (dir, reason) = (data_dir(options), error_chain(e));
    match arti_client::HasKind::kind(e) {
        arti_client::ErrorKind::FsPermissions => TorError::Permissions { dir, reason },
        _ => TorError::State { dir, reason },
    }
}

/// The directory holding the state and cache directories (for messages).
fn data_dir(options: &TorOptions) -> PathBuf {
    match (options.state_dir.parent(), options.cache_dir.parent()) {
        (Some(a), Some(b)) if a == b => a.to_owned(),
        _ => options.state_dir.clone(),
    }
}

/// arti's configuration: the `[tor] arti` table, with tofu's directories unless it names its
/// own.
fn arti_config(options: &TorOptions) -> Result<arti_client::TorClientConfig, TorError> {
    let mut builder: TorClientConfigBuilder = toml::Value::Table(options.arti.clone())
        .try_into()
        .map_err(|e: toml::de::Error| {
        TorError::Config(format!("[tor.arti]: {}", e.message()))
    })?;
    let storage = options.arti.get("storage").and_then(toml::Value::as_table);
    let has = |key: &str| storage.is_some_and(|s| s.contains_key(key));
    if !has("state_dir") {
        builder
            .storage()
            .state_dir(CfgPath::new_literal(&options.state_dir));
    }
    if !has("cache_dir") {
        builder
            .storage()
            .cache_dir(CfgPath::new_literal(&options.cache_dir));
    }
    builder
        .build()
        .map_err(|e| TorError::Config(format!("[tor.arti]: {e}")))
}

/// Accepts the HTTP client's connections. The connections' tasks live in a set owned by this
/// task, so aborting it (when [`Tor`] is dropped) stops every one of them too.
async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        while tasks.try_join_next().is_some() {}
        let Ok((conn, _)) = listener.accept().await else {
            // Out of descriptors or similar: back off instead of spinning.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        tasks.spawn(serve(conn, Arc::clone(&shared)));
    }
}

/// One SOCKS5 connection from the run's HTTP client: handshake, then a Tor stream.
async fn serve(mut conn: TcpStream, shared: Arc<Shared>) {
    let Some(request) = socks_handshake(&mut conn, SocksProxyHandshake::new()).await else {
        return;
    };
    let reply = |status: SocksStatus| request.reply(status, None).unwrap_or_default();
    let Some(key) = isolation_key(&request, &shared.secret) else {
        let _ = conn.write_all(&reply(SocksStatus::NOT_ALLOWED)).await;
        return;
    };
    if request.command() != SocksCmd::CONNECT {
        let _ = conn
            .write_all(&reply(SocksStatus::COMMAND_NOT_SUPPORTED))
            .await;
        return;
    }
    let host = match request.addr() {
        SocksAddr::Hostname(h) => h.as_ref().to_owned(),
        SocksAddr::Ip(ip) => ip.to_string(),
    };
    let attempts = open_stream(&shared, &key, (host.as_str(), request.port()));
    let stream = match tokio::time::timeout(shared.connect_timeout, attempts).await {
        Ok(outcome) => outcome,
        Err(_) => {
            note_error(
                &shared,
                &key,
                format!(
                    "no stream opened within {} s",
                    shared.connect_timeout.as_secs()
                ),
            );
            let _ = conn.write_all(&reply(SocksStatus::TTL_EXPIRED)).await;
            return;
        }
    };
    match stream {
        Ok(mut stream) => {
            if let Err(refusal) = note_exit(&shared, &key, &stream) {
                note_error(&shared, &key, refusal);
                let _ = conn.write_all(&reply(SocksStatus::NOT_ALLOWED)).await;
                return;
            }
            if conn
                .write_all(&reply(SocksStatus::SUCCEEDED))
                .await
                .is_err()
            {
                return;
            }
            let _ = tokio::io::copy_bidirectional(&mut conn, &mut stream).await;
        }
        Err((kind, e)) => {
            let status = match kind {
                arti_client::ErrorKind::RemoteHostNotFound => SocksStatus::HOST_UNREACHABLE,
                arti_client::ErrorKind::RemoteConnectionRefused => SocksStatus::CONNECTION_REFUSED,
                _ => SocksStatus::GENERAL_FAILURE,
            };
            note_error(&shared, &key, error_chain(&e));
            let _ = conn.write_all(&reply(status)).await;
        }
    }
}

/// The isolation key a SOCKS request names: its username is `SECRET.KEY`. None for a
/// request without the bridge's secret (another local program).
fn isolation_key(request: &tor_socksproto::SocksRequest, secret: &str) -> Option<String> {
    match request.auth() {
        SocksAuth::Username(user, _) => std::str::from_utf8(user)
            .ok()
            .and_then(|u| u.strip_prefix(secret))
            .and_then(|u| u.strip_prefix('.'))
            .map(str::to_owned),
        _ => None,
    }
}

/// Opens a Tor stream to `target` on the key's circuits, up to [`CONNECT_ATTEMPTS`] times:
/// after a failure that may be the circuit's (not "no such host", not "refused"), on a new
/// circuit (a fresh isolation token, still shared with nothing else), as Tor Browser would.
/// Each retry and its reason is noted for the key.
async fn open_stream(
    shared: &Shared,
    key: &str,
    target: (&str, u16),
) -> Result<DataStream, (arti_client::ErrorKind, arti_client::Error)> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut prefs = StreamPrefs::new();
        let token = *lock(&shared.tokens)
            .entry(key.to_owned())
            .or_insert_with(IsolationToken::new);
        prefs.set_isolation(token);
        if let Some(cc) = shared.exit_country {
            prefs.exit_country(cc);
        }
        match shared.client.connect_with_prefs(target, &prefs).await {
            Ok(stream) => return Ok(stream),
            Err(e) => {
                use arti_client::ErrorKind as K;
                let kind = arti_client::HasKind::kind(&e);
                let definite = matches!(kind, K::RemoteHostNotFound | K::RemoteConnectionRefused);
                if definite || attempt == CONNECT_ATTEMPTS {
                    return Err((kind, e));
                }
                lock(&shared.tokens).insert(key.to_owned(), IsolationToken::new());
                lock(&shared.streams)
                    .entry(key.to_owned())
                    .or_default()
                    .retries
                    .push(error_chain(&e));
                tokio::time::sleep(Duration::from_secs(u64::from(attempt))).await;
            }
        }
    }
}

/// Drives a SOCKS handshake (either side) over `conn`, for at most ten seconds; None when the
/// peer went away, spoke garbage or was too slow.
pub(crate) async fn socks_handshake<H: Handshake>(
    conn: &mut TcpStream,
    mut hs: H,
) -> Option<H::Output> {
    let mut buf = tor_socksproto::Buffer::new();
    let exchange = async {
        loop {
            match hs.step(&mut buf).ok()? {
                NextStep::Send(data) => conn.write_all(&data).await.ok()?,
                NextStep::Recv(mut recv) => {
                    let n = conn.read(recv.buf()).await.ok()?;
                    if n == 0 {
                        return None;
                    }
                    recv.note_received(n).ok()?;
                }
                NextStep::Finished(done) => return done.into_output_forbid_pipelining().ok(),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .ok()
        .flatten()
}

/// Records the exit relay and circuit of a fresh stream. Refuses the stream when its exit is
/// not in the country asked for by the database arti chose it with (the built-in one), so a
/// wrong exit never carries a `tor:CC` download.
fn note_exit(shared: &Shared, key: &str, stream: &DataStream) -> Result<(), String> {
    let tunnel = stream.client_stream_ctrl().and_then(|c| c.tunnel());
    let exit = tunnel
        .as_ref()
        .and_then(|t| t.last_hop_info().ok().flatten());
    let circuit = tunnel.as_ref().map(|t| t.unique_id().to_string());
    let relay = exit.as_ref().and_then(|exit| {
        // A relay without an identity or address cannot be evidence: leave it out, and
        // compare finds the artifact without an exit.
        let id = exit.rsa_identity()?;
        let addrs: Vec<SocketAddr> = exit.addrs().collect();
        let first = *addrs.first()?;
        let nickname = shared
            .client
            .dirmgr()
            .ok()
            .and_then(|d| d.timely_netdir().ok())
            .and_then(|netdir| Some(netdir.by_id(id)?.rs().nickname().to_owned()));
        Some(TorRelay {
            rsa_identity: id.to_string().trim_start_matches('$').to_ascii_uppercase(),
            ed25519_identity: exit.ed_identity().map(|id| id.to_string()),
            addresses: addrs.iter().map(SocketAddr::to_string).collect(),
            nickname,
            country: shared.geoip.country(first.ip()),
        })
    });
    if let Some(cc) = &shared.exit_country {
        let embedded = relay
            .as_ref()
            .and_then(|r| r.addresses.first()?.parse::<SocketAddr>().ok())
            .and_then(|a| GeoipDb::new_embedded().lookup_country_code(a.ip()).copied());
        if embedded.as_ref() != Some(cc) {
            return Err(format!(
                "the circuit's exit is not in {} by the built-in geoip database",
                cc.as_ref()
            ));
        }
    }
    let mut streams = lock(&shared.streams);
    let entry = streams.entry(key.to_owned()).or_default();
    if let Some(circuit) = circuit
        && !entry.circuits.contains(&circuit)
    {
        entry.circuits.push(circuit);
    }
    entry.last_exit.clone_from(&relay);
    if let Some(relay) = relay
        && !entry.exits.contains(&relay)
    {
        entry.exits.push(relay);
    }
    Ok(())
}

fn note_error(shared: &Shared, key: &str, message: String) {
    let mut streams = lock(&shared.streams);
    let errors = &mut streams.entry(key.to_owned()).or_default().errors;
    if !errors.contains(&message) {
        errors.push(message);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
