//! nginx and microsocks, started on loopback for one test.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::TestCa;
use crate::process::{Guard, free_port, require_program, wait_for_port};

/// The whoami service's table: source address → country. Each address sits in its own /24,
/// so each stands for a distinct network; two share DE, for tests of distinct-countries.
pub const WHOAMI_COUNTRIES: &[(&str, &str)] = &[
    ("127.0.0.1", "US"),
    ("127.0.1.1", "DE"),
    ("127.0.2.1", "CA"),
    ("127.0.3.1", "JP"),
    ("127.0.4.1", "DE"),
    // The private Tor network's node addresses (see tornet.rs; its geoip file uses these).
    ("127.0.20.1", "SE"),
    ("127.0.21.1", "NL"),
    ("127.0.22.1", "CH"),
    ("127.0.23.1", "IS"),
    ("127.0.24.1", "RO"),
    ("127.0.25.1", "NO"),
];

/// nginx serving a directory over HTTP and HTTPS on 127.0.0.1, with a whoami service at
/// `/whoami` that answers `{"ip": caller, "country_iso": WHOAMI_COUNTRIES[caller]}`.
pub struct Nginx {
    /// The address it listens on.
    pub addr: String,
    /// Port of the plain HTTP listener.
    pub http_port: u16,
    /// Port of the HTTPS listener.
    pub https_port: u16,
    /// Its server certificate (PEM), issued for this instance alone.
    pub cert: PathBuf,
    _guard: Guard,
    _dir: tempfile::TempDir,
}

impl Nginx {
    /// Serves `docroot`, with a certificate for `localhost` and `127.0.0.1` issued by `ca`.
    /// `extra` adds `server`-level directives (locations); it is given the two ports.
    pub fn start(docroot: &Path, ca: &TestCa, extra: impl Fn(u16, u16) -> String) -> Nginx {
        Nginx::start_at(None, "127.0.0.1", docroot, ca, extra)
    }

    /// Like [`Nginx::start`], listening on `addr`, inside network namespace `netns` when
    /// given.
    pub fn start_at(
        netns: Option<&str>,
        addr: &str,
        docroot: &Path,
        ca: &TestCa,
        extra: impl Fn(u16, u16) -> String,
    ) -> Nginx {
        let nginx = require_program("nginx", "nginx-light");
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = ca.issue(
            &format!("nginx-{}", free_port()),
            &["localhost", "127.0.0.1", addr],
        );
        let (http_port, https_port) = (free_port(), free_port());
        let conf = nginx_conf(
            dir.path(),
            (addr, http_port, https_port),
            (&cert, &key),
            docroot,
            &extra(http_port, https_port),
        );
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let mut command = match netns {
            Some(ns) => {
                let mut c = Command::new(require_program("ip", "iproute2"));
                c.args(["netns", "exec", ns]).arg(nginx);
                c
            }
            None => Command::new(nginx),
        };
        let mut child = command
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf_path)
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let ip: IpAddr = addr.parse().unwrap();
        for port in [http_port, https_port] {
            wait_for_port(SocketAddr::new(ip, port), &mut child, "nginx");
        }
        Nginx {
            addr: addr.to_owned(),
            http_port,
            https_port,
            cert,
            _guard: Guard(child),
            _dir: dir,
        }
    }

    /// The CPU time (user + system) nginx has used so far, in seconds: what serving costs,
    /// for the bench. nginx runs as one process here (no master, one worker), so this is all of
    /// it. Linux reports it in clock ticks of USER_HZ, 1/100 s on x86 and ARM (the machines
    /// the bench runs on).
    pub fn cpu_seconds(&self) -> f64 {
        let pid = self._guard.0.id();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_else(|e| panic!("reading nginx's /proc/{pid}/stat: {e}"));
        // The command name (field 2) may hold spaces: count the fields after its ')'.
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let field = |i: usize| -> f64 {
            after
                .split_whitespace()
                .nth(i)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or_else(|| panic!("nginx's /proc/{pid}/stat has no field {}", i + 3))
                as f64
        };
        // utime and stime are fields 14 and 15; `after` starts at field 3.
        (field(11) + field(12)) / 100.0
    }

    /// The access log so far: one `REQUEST STATUS auth=AUTHORIZATION` line per request.
    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("access.log")).unwrap_or_default()
    }

    /// `https://ADDR:PORT/path`.
    pub fn https_url(&self, path: &str) -> String {
        format!(
            "https://{}:{}/{}",
            self.addr,
            self.https_port,
            path.trim_start_matches('/')
        )
    }

    /// `http://ADDR:PORT/path`.
    pub fn http_url(&self, path: &str) -> String {
        format!(
            "http://{}:{}/{}",
            self.addr,
            self.http_port,
            path.trim_start_matches('/')
        )
    }
}

/// The configuration of an nginx whose files (pid, logs, temporary files) live in `dir`,
/// listening on `addr` for HTTP and HTTPS with `cert` and `key`, serving `docroot`, with the
/// whoami location and the `extra` directives.
fn nginx_conf(
    dir: &Path,
    (addr, http_port, https_port): (&str, u16, u16),
    (cert, key): (&Path, &Path),
    docroot: &Path,
    extra: &str,
) -> String {
    let d = dir.display();
    format!(
        r#"daemon off;
master_process off;
worker_processes 1;
error_log {d}/error.log warn;
pid {d}/nginx.pid;
events {{ worker_connections 256; }}
http {{
    log_format tofu '$request $status auth=$http_authorization';
    access_log {d}/access.log tofu;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    types {{ application/octet-stream bin iso; text/plain txt; application/pgp-keys key asc; }}
    default_type application/octet-stream;
    # The whoami service: the caller's address and a country from a small table.
    map $remote_addr $whoami_country {{
{table}        default ZZ;
    }}
    server {{
        listen {addr}:{http_port};
        listen {addr}:{https_port} ssl;
        server_name localhost;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        root {root};
        location = /whoami {{
            default_type application/json;
            return 200 '{{"ip":"$remote_addr","country_iso":"$whoami_country"}}';
        }}
        {extra}
    }}
}}
"#,
        cert = cert.display(),
        key = key.display(),
        root = docroot.display(),
        table = WHOAMI_COUNTRIES
            .iter()
            .map(|(ip, cc)| format!("        {ip} {cc};\n"))
            .collect::<String>(),
    )
}

/// microsocks, an honest SOCKS5 proxy, on 127.0.0.1.
pub struct Microsocks {
    /// Its listening port.
    pub port: u16,
    _guard: Guard,
}

impl Microsocks {
    /// Starts microsocks; with `outgoing`, its connections leave from that local address
    /// (127.0.0.2, … stand in for other networks).
    pub fn start(outgoing: Option<IpAddr>, credentials: Option<(&str, &str)>) -> Microsocks {
        let program: PathBuf = require_program("microsocks", "microsocks");
        let port = free_port();
        let mut cmd = Command::new(program);
        cmd.args(["-i", "127.0.0.1", "-p", &port.to_string()]);
        if let Some(ip) = outgoing {
            cmd.args(["-b", &ip.to_string()]);
        }
        if let Some((user, pass)) = credentials {
            cmd.args(["-u", user, "-P", pass]);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for_port(
            SocketAddr::from(([127, 0, 0, 1], port)),
            &mut child,
            "microsocks",
        );
        Microsocks {
            port,
            _guard: Guard(child),
        }
    }

    /// `socks5h://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("socks5h://127.0.0.1:{}", self.port)
    }
}

/// dnsmasq answering a fixed table of names, and nothing else (no upstream, no hosts file),
/// logging every query: a DNS resolver a test controls.
pub struct Dnsmasq {
    /// Where it listens (UDP and TCP).
    pub addr: SocketAddr,
    log: PathBuf,
    _guard: Guard,
    _dir: tempfile::TempDir,
}

impl Dnsmasq {
    /// Starts dnsmasq on `ip` (inside network namespace `netns` when given), answering each
    /// `(name, address)` of `names` with an A record and every other name with NXDOMAIN. Port
    /// 53 inside a namespace; a free port elsewhere.
    pub fn start(netns: Option<&str>, ip: IpAddr, names: &[(&str, IpAddr)]) -> Dnsmasq {
        let program = require_program("dnsmasq", "dnsmasq-base");
        let dir = tempfile::tempdir().unwrap();
        let port = if netns.is_some() { 53 } else { free_port() };
        let log = dir.path().join("queries.log");
        let mut command = match netns {
            Some(ns) => {
                let mut c = Command::new(require_program("ip", "iproute2"));
                c.args(["netns", "exec", ns]).arg(program);
                c
            }
            None => Command::new(program),
        };
        command.args([
            "--keep-in-foreground",
            "--conf-file=/dev/null",
            "--no-resolv",
            "--no-hosts",
            "--no-poll",
            "--bind-interfaces",
            "--user=root",
            "--log-queries",
        ]);
        command
            .arg(format!("--listen-address={ip}"))
            .arg(format!("--port={port}"))
            .arg(format!("--log-facility={}", log.display()))
            .arg(format!("--pid-file={}", dir.path().join("pid").display()));
        for (name, address) in names {
            command.arg(format!("--address=/{name}/{address}"));
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let addr = SocketAddr::new(ip, port);
        // dnsmasq listens on TCP as well as UDP, both bound before the TCP port answers.
        wait_for_port(addr, &mut child, "dnsmasq");
        Dnsmasq {
            addr,
            log,
            _guard: Guard(child),
            _dir: dir,
        }
    }

    /// The queries it received so far, one log line each (`query[A] NAME from ADDR`).
    pub fn queries(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("query["))
            .map(str::to_owned)
            .collect()
    }
}
