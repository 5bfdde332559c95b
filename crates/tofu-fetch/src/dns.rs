//! Names resolved through the interface a run is bound to. With `--via iface:NAME` every
//! connection leaves through NAME, so its names must too: the system resolver would ask
//! over the default route (often a local stub that forwards anywhere), and the addresses of
//! the run would then come from outside the vantage point. Each query goes from a socket bound
//! to the interface (SO_BINDTODEVICE) to the resolvers the user named, else to those of
//! `/etc/resolv.conf`; which resolver answered is recorded for every name.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_resolver::Resolver;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::runtime::iocompat::AsyncIoTokioAsStd;
use hickory_resolver::net::runtime::{
    RuntimeProvider, TokioHandle, TokioRuntimeProvider, TokioTime,
};
use tofu_record::DnsAnswer;

/// The most names one run records (a run asks for a handful; a hostile redirect chain
/// cannot grow the transcript without bound).
const MAX_ANSWERS: usize = 256;

/// A reqwest resolver that asks only over one interface.
#[derive(Clone)]
pub(crate) struct InterfaceResolver {
    interface: String,
    servers: Vec<SocketAddr>,
    timeout: Duration,
    answers: Arc<Mutex<Vec<DnsAnswer>>>,
}

impl InterfaceResolver {
    /// A resolver bound to `interface` asking `servers` in order (empty: the nameservers of
    /// `/etc/resolv.conf`, read when a name is first asked, so that a run of IP addresses
    /// needs none), each name within `timeout`.
    pub(crate) fn new(interface: &str, servers: &[SocketAddr], timeout: Duration) -> Self {
        InterfaceResolver {
            interface: interface.to_owned(),
            servers: servers.to_vec(),
            timeout,
            answers: Arc::default(),
        }
    }

    /// What every name resolved to so far, and which resolver said so.
    pub(crate) fn answers(&self) -> Vec<DnsAnswer> {
        self.answers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Asks each resolver in turn; the first that answers with addresses wins.
    async fn resolve_name(&self, name: String) -> Result<Vec<IpAddr>, String> {
        let servers = if self.servers.is_empty() {
            system_servers()?
        } else {
            self.servers.clone()
        };
        let mut failures = Vec::new();
        for server in &servers {
            match tokio::time::timeout(self.timeout, self.ask(*server, &name)).await {
                Ok(Ok(addresses)) if !addresses.is_empty() => {
                    self.remember(&name, *server, &addresses);
                    return Ok(addresses);
                }
                Ok(Ok(_)) => failures.push(format!("{server}: no address")),
                Ok(Err(e)) => failures.push(format!("{server}: {e}")),
                Err(_) => failures.push(format!("{server}: no answer within {:?}", self.timeout)),
            }
        }
        Err(format!(
            "cannot resolve {name} through interface {} ({}); name a resolver reachable over \
             it with --dns IP",
            self.interface,
            failures.join("; ")
        ))
    }

    async fn ask(&self, server: SocketAddr, name: &str) -> Result<Vec<IpAddr>, String> {
        let mut udp = ConnectionConfig::udp();
        udp.port = server.port();
        let mut tcp = ConnectionConfig::tcp();
        tcp.port = server.port();
        let config = ResolverConfig::from_parts(
            None,
            Vec::new(),
            vec![NameServerConfig::new(server.ip(), true, vec![udp, tcp])],
        );
        let mut options = ResolverOpts::default();
        options.use_hosts_file = ResolveHosts::Never;
        options.timeout = self.timeout;
        options.attempts = 2;
        options.ndots = 0;
        let provider = BoundProvider {
            inner: TokioRuntimeProvider::default(),
            interface: Arc::from(self.interface.as_bytes()),
        };
        let resolver = Resolver::builder_with_config(config, provider)
            .with_options(options)
            .build()
            .map_err(|e| e.to_string())?;
        let lookup = resolver.lookup_ip(name).await.map_err(|e| e.to_string())?;
        Ok(lookup.iter().collect())
    }

    fn remember(&self, name: &str, server: SocketAddr, addresses: &[IpAddr]) {
        let mut answers = self
            .answers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let addresses: Vec<String> = addresses.iter().map(ToString::to_string).collect();
        let answer = DnsAnswer {
            name: name.to_owned(),
            resolver: server.to_string(),
            addresses,
        };
        if answers.len() < MAX_ANSWERS && !answers.contains(&answer) {
            answers.push(answer);
        }
    }
}

impl reqwest::dns::Resolve for InterfaceResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let this = self.clone();
        let name = name.as_str().to_owned();
        Box::pin(async move {
            let addresses = this.resolve_name(name).await.map_err(io::Error::other)?;
            let addrs: reqwest::dns::Addrs =
                Box::new(addresses.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

/// The nameservers of `/etc/resolv.conf`, on port 53.
fn system_servers() -> Result<Vec<SocketAddr>, String> {
    let (config, _) = hickory_resolver::system_conf::read_system_conf()
        .map_err(|e| format!("cannot read the system's resolvers: {e}"))?;
    let mut servers: Vec<SocketAddr> = Vec::new();
    for ns in config.name_servers() {
        let port = ns.connections.first().map_or(53, |c| c.port);
        let addr = SocketAddr::new(ns.ip, port);
        if !servers.contains(&addr) {
            servers.push(addr);
        }
    }
    if servers.is_empty() {
        return Err("the system names no resolver; name one with --dns IP".to_owned());
    }
    Ok(servers)
}

/// Tokio sockets bound to one interface before they connect or send.
#[derive(Clone)]
struct BoundProvider {
    inner: TokioRuntimeProvider,
    interface: Arc<[u8]>,
}

type Boxed<T> = Pin<Box<dyn Send + Future<Output = io::Result<T>>>>;

impl RuntimeProvider for BoundProvider {
    type Handle = TokioHandle;
    type Timer = TokioTime;
    type Udp = tokio::net::UdpSocket;
    type Tcp = AsyncIoTokioAsStd<tokio::net::TcpStream>;

    fn create_handle(&self) -> Self::Handle {
        self.inner.create_handle()
    }

    fn connect_tcp(
        &self,
        server_addr: SocketAddr,
        _bind_addr: Option<SocketAddr>,
        timeout: Option<Duration>,
    ) -> Boxed<Self::Tcp> {
        let interface = Arc::clone(&self.interface);
        Box::pin(async move {
            let socket = match server_addr {
                SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
                SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
            }?;
            socket.bind_device(Some(&interface))?;
            let wait = timeout.unwrap_or(Duration::from_secs(5));
            match tokio::time::timeout(wait, socket.connect(server_addr)).await {
                Ok(stream) => Ok(AsyncIoTokioAsStd(stream?)),
                Err(_) => Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "TCP connect timed out",
                )),
            }
        })
    }

    fn bind_udp(&self, local_addr: SocketAddr, _server_addr: SocketAddr) -> Boxed<Self::Udp> {
        let interface = Arc::clone(&self.interface);
        Box::pin(async move {
            let socket = tokio::net::UdpSocket::bind(local_addr).await?;
            socket.bind_device(Some(&interface))?;
            Ok(socket)
        })
    }
}
