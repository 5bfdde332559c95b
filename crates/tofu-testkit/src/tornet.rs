//! A private Tor network of Debian `tor` daemons on loopback: directory authorities and
//! relays that every one may serve as guard and exit (exits for 127.0.0.0/8), each on its own
//! address (127.0.20.1, 127.0.21.1, …, which the network's geoip file places in distinct
//! countries), plus optionally a C tor client with a SocksPort on 127.0.0.1. The exits'
//! connections to loopback servers still come from 127.0.0.1: tor ignores
//! OutboundBindAddress towards loopback. Keys are made fresh for each network with `tor-gencert`
//! and `tor --list-fingerprint`; ports are fresh too. Every process is stopped on drop
//! (SIGTERM, then SIGKILL: tor can hang after SIGTERM). Nothing here talks to the real Tor
//! network: the built-in authorities are replaced, and all addresses are loopback.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::output::run_ok;
use crate::process::{Guard, free_port, require_program};

/// One node of the network.
pub struct Node {
    /// Its nickname, e.g. `test000a`.
    pub nickname: String,
    /// Its address: it listens there and exits from there.
    pub address: String,
    /// Its data directory.
    pub dir: PathBuf,
    /// Its ORPort.
    pub or_port: u16,
    /// Its DirPort (authorities only).
    pub dir_port: Option<u16>,
    /// RSA identity fingerprint, 40 hex digits.
    pub rsa_fingerprint: String,
    /// ed25519 identity, base64.
    pub ed_identity: String,
    /// v3 identity of the authority key (authorities only).
    pub v3ident: Option<String>,
}

/// A running private network.
pub struct TorNet {
    /// The directory holding every node.
    pub dir: PathBuf,
    /// The nodes, authorities first.
    pub nodes: Vec<Node>,
    /// The C tor client's SocksPort, when one was started.
    pub socks_port: Option<u16>,
    guards: Vec<Guard>,
    _tmp: Option<tempfile::TempDir>,
}

impl TorNet {
    /// Creates and starts a network of `authorities` + `relays` nodes in a temporary
    /// directory, waits until the consensus lists every node as a running exit, and starts a
    /// C tor client when `client` is true (waiting until it has bootstrapped).
    pub fn start(authorities: usize, relays: usize, client: bool) -> TorNet {
        let tmp = tempfile::tempdir().unwrap();
        let mut net = TorNet::start_in(tmp.path(), authorities, relays, client);
        net._tmp = Some(tmp);
        net
    }

    /// As [`TorNet::start`], in `dir` (which is kept).
    pub fn start_in(dir: &Path, authorities: usize, relays: usize, client: bool) -> TorNet {
        let tor = require_program("tor", "tor");
        let gencert = require_program("tor-gencert", "tor");
        assert!(
            authorities + relays <= NODE_ADDRESSES,
            "at most {NODE_ADDRESSES} nodes have an address with a country"
        );
        std::fs::create_dir_all(dir).unwrap();
        let nodes: Vec<Node> = (0..authorities + relays)
            .map(|i| Node::create(&tor, &gencert, dir, i, i < authorities))
            .collect();
        let dir_authorities = dir_authority_lines(&nodes);
        let guards = nodes
            .iter()
            .map(|node| start_tor(&tor, &node.dir, &node_torrc(node, &dir_authorities)))
            .collect();
        let mut net = TorNet {
            dir: dir.to_owned(),
            nodes,
            socks_port: None,
            guards,
            _tmp: None,
        };
        net.wait_for_consensus(Duration::from_secs(90));
        // An exit refuses a stream (END reason MISC, "from unknown relay") whose previous hop
        // is neither in its own consensus nor among the descriptors it holds. A relay holds
        // its first consensus with exits a few seconds after the authorities make one, and
        // that consensus may still lack a relay whose descriptor reached the authorities a
        // voting round later: a client with a newer consensus then builds circuits through
        // that relay to this exit, and fails. So the network is ready only when every node
        // (every one is an exit and may be a middle) holds a consensus listing every node.
        net.wait_for_every_node_to_know_every_node(Duration::from_secs(90));
        if client {
            net.start_client(&tor, &dir_authorities);
        }
        net
    }

    /// Starts a C tor client with a SocksPort on 127.0.0.1 (in `DIR/client`) and waits
    /// until it has bootstrapped.
    fn start_client(&mut self, tor: &Path, dir_authorities: &str) {
        let client_dir = self.dir.join("client");
        std::fs::create_dir_all(&client_dir).unwrap();
        set_private(&client_dir);
        let port = free_port();
        let torrc = format!(
            "TestingTorNetwork 1
DataDirectory {d}
RunAsDaemon 0
SocksPort 127.0.0.1:{port} IsolateSOCKSAuth
ControlPort 0
Log notice file {d}/notice.log
Log info file {d}/info.log
SafeLogging 0
ShutdownWaitLength 0
Sandbox 0
ClientRejectInternalAddresses 0
UseEntryGuards 0
ConfluxEnabled 0
{dir_authorities}",
            d = client_dir.display(),
        );
        self.guards.push(start_tor(tor, &client_dir, &torrc));
        wait_for_log(
            &client_dir.join("notice.log"),
            "Bootstrapped 100%",
            Duration::from_secs(90),
        );
        self.socks_port = Some(port);
    }

    /// Waits until an authority serves a consensus listing every node as a running exit.
    fn wait_for_consensus(&self, limit: Duration) {
        let curl = require_program("curl", "curl");
        let deadline = Instant::now() + limit;
        let want = self.nodes.len();
        let first = &self.nodes[0];
        let port = first.dir_port.expect("the first node is an authority");
        loop {
            let out = Command::new(&curl)
                .args(["-s", "--max-time", "2"])
                .arg(format!(
                    "http://{}:{port}/tor/status-vote/current/consensus-microdesc",
                    first.address
                ))
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            let ready = text
                .lines()
                .filter(|l| {
                    l.starts_with("s ")
                        && l.contains("Exit")
                        && l.contains("Guard")
                        && l.contains("Running")
                        && l.contains("Valid")
                })
                .count();
            if ready >= want {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the private Tor network had {ready} of {want} usable relays after {limit:?}; \
                 logs are in {}",
                self.dir.display()
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// Waits until the consensuses each node holds (`cached-consensus` and
    /// `cached-microdesc-consensus`, which tor writes when it takes a new one) list every node
    /// of the network as a running, valid exit.
    fn wait_for_every_node_to_know_every_node(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        let ids: Vec<String> = self
            .nodes
            .iter()
            .map(|n| consensus_identity(&n.rsa_fingerprint))
            .collect();
        loop {
            let lagging: Vec<&str> = self
                .nodes
                .iter()
                .filter(|node| {
                    ["cached-consensus", "cached-microdesc-consensus"]
                        .iter()
                        .any(|file| {
                            let text =
                                std::fs::read_to_string(node.dir.join(file)).unwrap_or_default();
                            let known = usable_exits(&text);
                            !ids.iter().all(|id| known.contains(id))
                        })
                })
                .map(|n| n.nickname.as_str())
                .collect();
            if lagging.is_empty() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "after {limit:?}, the consensus of {lagging:?} still lacks some node of the \
                 private Tor network; logs are in {}",
                self.dir.display()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// The arti configuration (TOML) that points a client at this network.
    pub fn arti_toml(&self) -> String {
        let v3: Vec<String> = self
            .nodes
            .iter()
            .filter_map(|n| n.v3ident.as_ref().map(|v| format!("\"{v}\"")))
            .collect();
        let mut out = format!(
            "[path_rules]\nipv4_subnet_family_prefix = 33\nipv6_subnet_family_prefix = 129\n\
             [address_filter]\nallow_local_addrs = true\n\
             [tor_network.authorities]\nv3idents = [{}]\n",
            v3.join(", ")
        );
        for n in &self.nodes {
            out.push_str(&format!(
                "[[tor_network.fallback_caches]]\nrsa_identity = \"{}\"\ned_identity = \"{}\"\norports = [\"{}:{}\"]\n",
                n.rsa_fingerprint, n.ed_identity, n.address, n.or_port
            ));
        }
        out
    }

    /// A geoip file in C tor's legacy IPv4 format (`FROM,TO,CC` with addresses as integers)
    /// placing each node's address in its country from the whoami table.
    pub fn geoip_ipv4(&self) -> String {
        self.nodes
            .iter()
            .map(|n| {
                let ip: std::net::Ipv4Addr = n.address.parse().unwrap();
                let int = u32::from(ip);
                format!("{int},{int},{}\n", country_of(&n.address))
            })
            .collect()
    }

    /// The `[tor]` table of a tofu config that points the embedded client at this network:
    /// the arti settings of [`TorNet::arti_toml`] under `[tor.arti]`, and the geoip file
    /// (written into the network's directory).
    pub fn tofu_toml(&self) -> String {
        let geoip = self.dir.join("geoip");
        std::fs::write(&geoip, self.geoip_ipv4()).unwrap();
        let mut out = format!("[tor]\ngeoip_ipv4 = \"{}\"\n", geoip.display());
        for line in self.arti_toml().lines() {
            if let Some(table) = line.strip_prefix("[[") {
                out.push_str(&format!("[[tor.arti.{table}\n"));
            } else if let Some(table) = line.strip_prefix('[') {
                out.push_str(&format!("[tor.arti.{table}\n"));
            } else {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }

    /// The node whose address is `address`.
    pub fn node_at(&self, address: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.address == address)
    }

    /// The node holding an open TCP connection to 127.0.0.1:`port`: the exit carrying a
    /// stream to a loopback server on that port, while the stream is open. The server cannot
    /// tell exits apart (they all connect from 127.0.0.1), but the kernel can: this finds the
    /// established socket whose peer is that port in `/proc/net/tcp` and the node process
    /// whose descriptors include it. Linux only; None when no node has such a connection
    /// (the stream has not reached its exit yet, or has ended).
    pub fn exit_to(&self, port: u16) -> Option<&Node> {
        let sockets = sockets_to_loopback_port(port);
        if sockets.is_empty() {
            return None;
        }
        self.nodes
            .iter()
            .zip(&self.guards)
            .find(|(_, guard)| holds_any_socket(guard.0.id(), &sockets))
            .map(|(node, _)| node)
    }

    /// Kills `node` at once with SIGKILL, as a crash or a cut cable would: it closes no
    /// circuit politely, so every stream through it breaks, and clients learn of it only
    /// from the broken connections. The rest of the network keeps running; the consensus
    /// still lists the node until the authorities vote it out, so clients may try it again
    /// and fail over. Killing an authority leaves the others to vote.
    pub fn kill_node(&self, node: &Node) {
        let i = self
            .nodes
            .iter()
            .position(|n| n.nickname == node.nickname)
            .expect("the node is one of this network's");
        let pid = i32::try_from(self.guards[i].0.id()).expect("pids fit in an i32");
        // SAFETY: signalling a child this network started and still holds (its guard reaps
        // it on drop).
        #[allow(unsafe_code)]
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }

    /// Stops every process now (also done on drop).
    pub fn stop(&mut self) {
        self.guards.clear();
    }

    /// Leaves the network running after this value is gone (for `cargo xtask testnet
    /// start`) and returns the process ids to stop later.
    pub fn detach(mut self) -> Vec<u32> {
        let guards = std::mem::take(&mut self.guards);
        guards.into_iter().map(Guard::into_pid).collect()
    }
}

impl Drop for TorNet {
    /// A test that failed keeps the network's directory (every node's `notice.log`, and the
    /// client's `info.log`, which says how each circuit was built and why one failed), so its
    /// failure can be explained afterwards; `TOFU_TESTKIT_KEEP=1` keeps it always.
    fn drop(&mut self) {
        self.guards.clear();
        let keep = std::thread::panicking() || std::env::var_os("TOFU_TESTKIT_KEEP").is_some();
        if keep && let Some(tmp) = self._tmp.take() {
            let kept = tmp.keep();
            eprintln!(
                "the private Tor network's logs are kept in {}",
                kept.display()
            );
        }
    }
}

impl Node {
    /// Makes node `i` in `dir`: its data directory, its ports, its keys (an authority's with
    /// `tor-gencert` first), and reads back the identities tor made.
    fn create(tor: &Path, gencert: &Path, dir: &Path, i: usize, is_auth: bool) -> Node {
        let nickname = format!("test{i:03}{}", if is_auth { 'a' } else { 'r' });
        let address = node_address(i);
        let node_dir = dir.join(&nickname);
        std::fs::create_dir_all(node_dir.join("keys")).unwrap();
        set_private(&node_dir);
        let or_port = free_port();
        let dir_port = is_auth.then(free_port);
        let v3ident = dir_port.and_then(|dp| authority_key(gencert, &node_dir, &address, dp));
        run_ok(
            Command::new(tor)
                .args(["--ignore-missing-torrc", "-f", "/dev/null", "--orport", "1"])
                .arg("--datadirectory")
                .arg(&node_dir)
                .args(["--list-fingerprint", "--quiet"]),
        );
        let second_field = |file: &str| {
            std::fs::read_to_string(node_dir.join(file))
                .unwrap()
                .split_whitespace()
                .nth(1)
                .unwrap()
                .to_owned()
        };
        Node {
            rsa_fingerprint: second_field("fingerprint"),
            ed_identity: second_field("fingerprint-ed25519"),
            nickname,
            address,
            dir: node_dir,
            or_port,
            dir_port,
            v3ident,
        }
    }
}

/// Makes an authority's identity key, signing key and certificate in `node_dir/keys` with
/// `tor-gencert` (empty passphrase, for `address:dir_port`), and returns the v3 identity
/// the certificate names.
fn authority_key(gencert: &Path, node_dir: &Path, address: &str, dir_port: u16) -> Option<String> {
    let mut child = Command::new(gencert)
        .args([
            "--create-identity-key",
            "--passphrase-fd",
            "0",
            "-m",
            "12",
            "-a",
        ])
        .arg(format!("{address}:{dir_port}"))
        .arg("-i")
        .arg(node_dir.join("keys/authority_identity_key"))
        .arg("-s")
        .arg(node_dir.join("keys/authority_signing_key"))
        .arg("-c")
        .arg(node_dir.join("keys/authority_certificate"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"\n").unwrap();
    }
    assert!(child.wait().unwrap().success(), "tor-gencert failed");
    let cert = std::fs::read_to_string(node_dir.join("keys/authority_certificate")).unwrap();
    cert.lines()
        .find_map(|l| l.strip_prefix("fingerprint "))
        .map(|f| f.trim().to_owned())
}

/// The `DirAuthority` lines naming the network's authorities, for every torrc.
fn dir_authority_lines(nodes: &[Node]) -> String {
    nodes
        .iter()
        .filter_map(|n| {
            Some(format!(
                "DirAuthority {} orport={} no-v2 v3ident={} {}:{} {}\n",
                n.nickname,
                n.or_port,
                n.v3ident.as_ref()?,
                n.address,
                n.dir_port?,
                n.rsa_fingerprint
            ))
        })
        .collect()
}

/// The torrc of a node: a relay that is guard and exit (for loopback too) in a testing
/// network with fast voting, plus the directory settings when it is an authority.
fn node_torrc(node: &Node, dir_authorities: &str) -> String {
    let mut torrc = format!(
        "TestingTorNetwork 1
PathsNeededToBuildCircuits 0.67
TestingDirAuthVoteExit *
TestingDirAuthVoteGuard *
TestingDirAuthVoteHSDir *
TestingMinExitFlagThreshold 0
V3AuthNIntervalsValid 2
DataDirectory {d}
Nickname {nick}
RunAsDaemon 0
SocksPort 0
ControlPort 0
OrPort {addr}:{or}
Address {addr}
AssumeReachable 1
ContactInfo {nick}@test.invalid
Log notice file {d}/notice.log
SafeLogging 0
ProtocolWarnings 1
ShutdownWaitLength 0
Sandbox 0
ServerDNSDetectHijacking 0
ServerDNSTestAddresses
ServerDNSResolvConfFile /dev/null
ExitRelay 1
ExitPolicyRejectPrivate 0
ExitPolicy accept 127.0.0.0/8:*
ExitPolicy accept *:*
{dir_authorities}",
        d = node.dir.display(),
        nick = node.nickname,
        or = node.or_port,
        addr = node.address,
    );
    if let Some(dp) = node.dir_port {
        torrc.push_str(&format!(
            "DirPort {addr}:{dp}
AuthoritativeDirectory 1
V3AuthoritativeDirectory 1
TestingV3AuthInitialVotingInterval 5
TestingV3AuthInitialVoteDelay 2
TestingV3AuthInitialDistDelay 2
V3AuthVotingInterval 10
V3AuthVoteDelay 2
V3AuthDistDelay 2
",
            addr = node.address
        ));
    }
    torrc
}

/// How many nodes a network can have: one address (and country) each.
const NODE_ADDRESSES: usize = 6;

/// The address of node `i`: 127.0.20.1, 127.0.21.1, …
fn node_address(i: usize) -> String {
    format!("127.0.{}.1", 20 + i)
}

/// The country the whoami table gives an address.
pub fn country_of(address: &str) -> &'static str {
    crate::services::WHOAMI_COUNTRIES
        .iter()
        .find(|(ip, _)| *ip == address)
        .map(|(_, cc)| *cc)
        .expect("every node address is in the whoami table")
}

/// How a consensus names a relay in its `r` lines: the RSA identity digest in base64,
/// without padding.
fn consensus_identity(rsa_fingerprint: &str) -> String {
    use base64::Engine;
    let digest = hex::decode(rsa_fingerprint).expect("tor prints fingerprints in hex");
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest)
}

/// The identities of the relays a consensus (either flavor) lists as running, valid exits.
fn usable_exits(consensus: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<&str> = None;
    for line in consensus.lines() {
        if let Some(rest) = line.strip_prefix("r ") {
            current = rest.split_whitespace().nth(1);
        } else if let Some(flags) = line.strip_prefix("s ")
            && let Some(id) = current.take()
        {
            let flags: Vec<&str> = flags.split_whitespace().collect();
            if ["Exit", "Running", "Valid"]
                .iter()
                .all(|f| flags.contains(f))
            {
                out.push(id.to_owned());
            }
        }
    }
    out
}

/// The inodes of the established TCP sockets (IPv4) whose peer is 127.0.0.1:`port`.
fn sockets_to_loopback_port(port: u16) -> Vec<String> {
    // `/proc/net/tcp` writes addresses as the address in host-order hex, `:`, the port in hex;
    // on the little-endian machines this runs on, 127.0.0.1 is `0100007F`. State 01 is
    // ESTABLISHED; the inode is the tenth field.
    let peer = format!("0100007F:{port:04X}");
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields.get(2) == Some(&peer.as_str()) && fields.get(3) == Some(&"01"))
                .then(|| fields.get(9).map(|inode| (*inode).to_owned()))
                .flatten()
        })
        .collect()
}

/// Whether process `pid` has a descriptor open on one of the sockets `inodes`.
fn holds_any_socket(pid: u32, inodes: &[String]) -> bool {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten().any(|fd| {
        std::fs::read_link(fd.path()).is_ok_and(|target| {
            let target = target.to_string_lossy();
            inodes
                .iter()
                .any(|inode| target == format!("socket:[{inode}]"))
        })
    })
}

fn start_tor(tor: &Path, dir: &Path, torrc: &str) -> Guard {
    let path = dir.join("torrc");
    std::fs::write(&path, torrc).unwrap();
    let child = Command::new(tor)
        .arg("-f")
        .arg(&path)
        .arg("--quiet")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Guard(child)
}

fn wait_for_log(path: &Path, needle: &str, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        if std::fs::read_to_string(path).is_ok_and(|t| t.contains(needle)) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} has no {needle:?} after {limit:?}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[cfg(unix)]
fn set_private(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).unwrap();
}

#[cfg(not(unix))]
fn set_private(_dir: &Path) {}
