//! A purpose-built hostile HTTP(S) server on loopback: each path is one way a real server
//! misbehaves (a trickle of headers, a stalled body, a body longer or shorter than declared,
//! endless chunks, redirect loops and escapes, oversized heads, a partial answer, an encoded
//! body, a broken status line, lying whoami answers, a whoami answer that changes between
//! two lookups), and a TLS server can present a
//! certificate for another name, an expired one, a self-signed one, or one from a CA tofu was
//! not given. Only for tests: it answers loopback, every connection's thread is bounded in
//! time and bytes, and everything stops when it is dropped.
//!
//! [`CATALOGUE`] lists the cases, with what tofu must do about each; the catalogue test drives
//! tofu through every one and `cargo xtask codegen` writes the table in
//! docs/threat-model.md from the same list.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The longest any one connection is served: every behaviour ends by then.
const CONNECTION_LIMIT: Duration = Duration::from_secs(120);

/// Which server a case runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Server {
    /// The plain HTTP server; the case is its path.
    Http,
    /// A TLS server with this certificate; the case fetches `/file.bin` (or its path).
    Tls(BadCert),
    /// The artifact is honest; the run's whoami endpoint is this path of the plain server.
    Whoami,
    /// A registry that lies as the path says: an invalid document for the tag (see
    /// [`invalid_document`]), or a trickled document or blob; the artifact is an image.
    Registry,
}

/// A certificate a TLS server presents instead of a good one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BadCert {
    /// A good one (for redirects out of TLS).
    Good,
    /// Issued by the trusted test CA, for another name.
    OtherName,
    /// Issued by the trusted test CA for the right name, expired in 2021.
    Expired,
    /// Self-signed, for the right name.
    SelfSigned,
    /// From a CA tofu was not given.
    UntrustedCa,
}

/// One hostile behaviour and what tofu must make of it.
#[derive(Clone, Copy, Debug)]
pub struct Case {
    /// Stable short name, e.g. `slowloris-headers`.
    pub name: &'static str,
    /// What the server does.
    pub server_does: &'static str,
    /// Which server, and the path asked.
    pub server: Server,
    /// The path asked (or, for registry cases, which invalid document).
    pub path: &'static str,
    /// The error code tofu records: the artifact's, or for whoami cases the exit probe's.
    /// None when the bytes are received and hashed as sent.
    pub code: Option<&'static str>,
    /// `tofu fetch`'s exit code.
    pub fetch_exit: i32,
    /// `tofu compare`'s exit code with two honest runs: never 0.
    pub compare_exit: i32,
    /// What tofu does, in words.
    pub tofu_does: &'static str,
}

/// Every case. The catalogue test asserts each row; `cargo xtask codegen` prints them.
pub const CATALOGUE: &[Case] = &[
    Case {
        name: "slowloris-headers",
        server_does: "sends its status line, then one header byte a second, never ending the head",
        server: Server::Http,
        path: "/slowloris",
        code: Some("timeout"),
        fetch_exit: 1,
        compare_exit: 3,
        tofu_does: "gives up when the head is not complete within the connect and read \
                    timeouts together, whatever the trickle (a per-read timeout alone would \
                    wait forever)",
    },
    Case {
        name: "stalled-body",
        server_does: "sends 64 KiB of the body, then nothing, keeping the connection open",
        server: Server::Http,
        path: "/stall",
        code: Some("stalled"),
        fetch_exit: 1,
        compare_exit: 3,
        tofu_does: "ends the attempt as stalled when a whole --speed-time window passes below \
                    --speed-limit, tries again (--retries; this server ignores Range, so from \
                    byte 0), and fails the artifact as stalled when the last attempt stalls too",
    },
    Case {
        name: "trickled-body",
        server_does: "sends the body at 200 bytes a second, 20 bytes at a time",
        server: Server::Http,
        path: "/trickle",
        code: Some("stalled"),
        fetch_exit: 1,
        compare_exit: 3,
        tofu_does: "ends each attempt as stalled: each read is quick, but the rate is below the \
                    limit; fails it when the retries are spent",
    },
    Case {
        name: "body-longer-than-content-length",
        server_does: "declares 1,000 bytes fewer than it sends",
        server: Server::Http,
        path: "/longer",
        code: None,
        fetch_exit: 0,
        compare_exit: 1,
        tofu_does: "hashes the declared length, as HTTP defines the body; the copy differs from \
                    the honest runs' and compare says disagree",
    },
    Case {
        name: "body-shorter-than-content-length",
        server_does: "declares the whole length, sends all but 1,000 bytes, and closes",
        server: Server::Http,
        path: "/shorter",
        code: Some("truncated"),
        fetch_exit: 1,
        compare_exit: 3,
        tofu_does: "resumes the cut body (--retries), and when every attempt is cut records a \
                    truncation with the byte counts; nothing partial is kept",
    },
    Case {
        name: "endless-chunked-body",
        server_does: "sends 64 KiB chunks without end (Transfer-Encoding: chunked, no length)",
        server: Server::Http,
        path: "/chunked-endless",
        code: Some("size-limit"),
        fetch_exit: 1,
        compare_exit: 3,
        tofu_does: "stops at --max-size",
    },
    Case {
        name: "redirect-loop",
        server_does: "redirects the URL to itself",
        server: Server::Http,
        path: "/loop",
        code: Some("too-many-redirects"),
        fetch_exit: 1,
        compare_exit: 3,
        tofu_does: "stops after 10 redirects, every hop recorded",
    },
    Case {
        name: "redirect-to-file",
        server_does: "redirects to file:///etc/passwd",
        server: Server::Http,
        path: "/to-file",
        code: Some("bad-redirect"),
        fetch_exit: 1,
        compare_exit: 3,
        tofu_does: "refuses any scheme but http and https",
    },
    Case {
        name: "redirect-to-ftp",
        server_does: "redirects to ftp://127.0.0.1/file.bin",
        server: Server::Http,
        path: "/to-ftp",
        code: Some("bad-redirect"),
        fetch_exit: 1,
        compare_exit: 3,
        tofu_does: "refuses any scheme but http and https",
    },
    Case {
        name: "redirect-https-to-http",
        server_does: "over TLS, redirects to plain http",
        server: Server::Tls(BadCert::Good),
        path: "/to-http",
        code: Some("insecure-redirect"),
        fetch_exit: 1,
        compare_exit: 3,
        tofu_does: "refuses to leave TLS",
    },
    Case {
        name: "redirect-without-location",
        server_does: "answers 302 with no Location header",
        server: Server::Http,
        path: "/no-location",
        code: Some("bad-redirect"),
        fetch_exit: 1,
        compare_exit: 3,
        tofu_does: "records the redirect it could not follow",
    },
    Case {
        name: "huge-header",
        server_does: "sends a 1 MiB header value",
        server: Server::Http,
        path: "/huge-header",
        code: Some("http"),
        fetch_exit: 1,
        compare_exit: 3,
        tofu_does: "refuses a head over the HTTP client's size limit",
    },
    Case {
        name: "thousands-of-headers",
        server_does: "sends 5,000 header lines",
        server: Server::Http,
        path: "/many-headers",
        code: Some("http"),
        fetch_exit: 1,
        compare_exit: 3,
        tofu_does: "refuses a head with more headers than the HTTP client allows",
    },
    Case {
        name: "partial-content-to-a-plain-get",
        server_does: "answers a plain GET with 206 and the first 1,000 bytes",
        server: Server::Http,
        path: "/partial",
        code: Some("http-status"),
        fetch_exit: 1,
        compare_exit: 3,
        tofu_does: "takes only 200 OK as the artifact",
    },
    Case {
        name: "gzip-encoded-body",
        server_does: "sends the body gzip-compressed with Content-Encoding: gzip, though tofu asked \
                      for identity",
        server: Server::Http,
        path: "/gzip",
        code: None,
        fetch_exit: 0,
        compare_exit: 1,
        tofu_does: "hashes the bytes as sent, never decoded (sha256sum of the gzip stream); they \
                    differ from the honest runs' and compare says disagree",
    },
    Case {
        name: "garbage-status-line",
        server_does: "answers with a line that is not HTTP",
        server: Server::Http,
        path: "/garbage",
        code: Some("http"),
        fetch_exit: 1,
        compare_exit: 3,
        tofu_does: "records the HTTP error",
    },
    Case {
        name: "close-without-answer",
        server_does: "reads the request and closes the connection",
        server: Server::Http,
        path: "/close",
        code: Some("http"),
        fetch_exit: 1,
        compare_exit: 3,
        tofu_does: "records the HTTP error",
    },
    Case {
        name: "content-length-not-a-number",
        server_does: "sends Content-Length: abc",
        server: Server::Http,
        path: "/bad-length",
        code: Some("http"),
        fetch_exit: 1,
        compare_exit: 3,
        tofu_does: "refuses the malformed head",
    },
    Case {
        name: "two-content-lengths",
        server_does: "sends two Content-Length headers that disagree",
        server: Server::Http,
        path: "/two-lengths",
        code: Some("http"),
        fetch_exit: 1,
        compare_exit: 3,
        tofu_does: "refuses the ambiguous head (a request-smuggling shape)",
    },
    Case {
        name: "tls-certificate-for-another-name",
        server_does: "presents a certificate from the trusted CA for another name",
        server: Server::Tls(BadCert::OtherName),
        path: "/file.bin",
        code: Some("tls"),
        fetch_exit: 1,
        compare_exit: 3,
        tofu_does: "refuses the handshake",
    },
    Case {
        name: "tls-certificate-expired",
        server_does: "presents a certificate from the trusted CA that expired in 2021",
        server: Server::Tls(BadCert::Expired),
        path: "/file.bin",
        code: Some("tls"),
        fetch_exit: 1,
        compare_exit: 3,
        tofu_does: "refuses the handshake",
    },
    Case {
        name: "tls-certificate-self-signed",
        server_does: "presents a self-signed certificate for the right name",
        server: Server::Tls(BadCert::SelfSigned),
        path: "/file.bin",
        code: Some("tls"),
        fetch_exit: 1,
        compare_exit: 3,
        tofu_does: "refuses the handshake",
    },
    Case {
        name: "tls-certificate-from-an-untrusted-ca",
        server_does: "presents a certificate for the right name from a CA tofu was not given",
        server: Server::Tls(BadCert::UntrustedCa),
        path: "/file.bin",
        code: Some("tls"),
        fetch_exit: 1,
        compare_exit: 3,
        tofu_does: "refuses the handshake",
    },
    Case {
        name: "whoami-huge-answer",
        server_does: "answers the exit probe with 1 MiB",
        server: Server::Whoami,
        path: "/whoami-huge",
        code: Some("whoami-answer"),
        fetch_exit: 0,
        compare_exit: 3,
        tofu_does: "reads at most 4 KiB and records no exit evidence; distinct-countries is unmet",
    },
    Case {
        name: "whoami-slow-answer",
        server_does: "sends the exit probe's headers at once, then its answer a byte a second",
        server: Server::Whoami,
        path: "/whoami-slow",
        code: Some("timeout"),
        fetch_exit: 0,
        compare_exit: 3,
        tofu_does: "gives the whole probe the connect and read timeouts together, then records \
                    no exit evidence",
    },
    Case {
        name: "whoami-garbage",
        server_does: "answers the exit probe with HTML",
        server: Server::Whoami,
        path: "/whoami-garbage",
        code: Some("whoami-answer"),
        fetch_exit: 0,
        compare_exit: 3,
        tofu_does: "records the answer and no exit evidence",
    },
    Case {
        name: "whoami-country-XX",
        server_does: "claims the country XX (no country)",
        server: Server::Whoami,
        path: "/whoami-cc/XX",
        code: None,
        fetch_exit: 0,
        compare_exit: 3,
        tofu_does: "keeps the address but no country: a third \"country\" cannot be made up",
    },
    Case {
        name: "whoami-country-EU",
        server_does: "claims the country EU (a reserved code, not a country)",
        server: Server::Whoami,
        path: "/whoami-cc/EU",
        code: None,
        fetch_exit: 0,
        compare_exit: 3,
        tofu_does: "keeps the address but no country",
    },
    Case {
        name: "whoami-country-T1",
        server_does: "claims the country T1 (a geoip placeholder for Tor)",
        server: Server::Whoami,
        path: "/whoami-cc/T1",
        code: None,
        fetch_exit: 0,
        compare_exit: 3,
        tofu_does: "keeps the address but no country",
    },
    Case {
        name: "manifest-media-type-off-pattern",
        server_does: "serves an image manifest whose mediaType breaks the image-spec's pattern",
        server: Server::Registry,
        path: "bad-media-type",
        code: Some("bad-manifest"),
        fetch_exit: 1,
        compare_exit: 3,
        tofu_does: "refuses the manifest before any blob is asked for",
    },
    Case {
        name: "descriptor-without-size",
        server_does: "serves an image manifest whose config descriptor has no size",
        server: Server::Registry,
        path: "descriptor-without-size",
        code: Some("bad-manifest"),
        fetch_exit: 1,
        compare_exit: 3,
        tofu_does: "refuses the manifest before any blob is asked for",
    },
    Case {
        name: "manifest-with-empty-media-type",
        server_does: "serves an image manifest whose own mediaType is empty",
        server: Server::Registry,
        path: "empty-media-type",
        code: Some("content-type-mismatch"),
        fetch_exit: 1,
        compare_exit: 1,
        tofu_does: "refuses the manifest before any blob is asked for: the document does not \
                    say what its Content-Type says, which is a lie (compare: disagree)",
    },
    Case {
        name: "trickled-index",
        server_does: "serves the tag's (honest) image index at 100 bytes a second",
        server: Server::Registry,
        path: "trickle-index",
        code: Some("stalled"),
        fetch_exit: 1,
        compare_exit: 3,
        tofu_does: "fails it as stalled, as any body below the speed limit",
    },
    Case {
        name: "trickled-layer",
        server_does: "serves an (honest) layer blob at 100 bytes a second",
        server: Server::Registry,
        path: "trickle-layer",
        code: Some("stalled"),
        fetch_exit: 1,
        compare_exit: 3,
        tofu_does: "fails it as stalled, as any body below the speed limit",
    },
    Case {
        name: "index-entry-with-foreign-media-type",
        server_does: "serves an image index whose first entry names a media type that is no \
                      manifest's (application/octet-stream)",
        server: Server::Registry,
        path: "index-foreign-media-type",
        code: Some("no-matching-platform"),
        fetch_exit: 1,
        compare_exit: 1,
        tofu_does: "ignores the entry, as the image-spec says of unknown media types (it is \
                    recorded, never fetched); no other entry is for linux/amd64. The index it \
                    verified before failing is not the honest runs' (compare: disagree at the \
                    tag)",
    },
    Case {
        name: "index-entry-without-digest",
        server_does: "serves an image index whose first entry has no digest",
        server: Server::Registry,
        path: "index-entry-without-digest",
        code: Some("bad-manifest"),
        fetch_exit: 1,
        compare_exit: 3,
        tofu_does: "refuses the index before any manifest it lists is asked for",
    },
];

/// The markers between which docs/threat-model.md holds [`table`].
pub const TABLE_START: &str =
    "<!-- hostile catalogue: generated by `cargo xtask codegen`; do not edit -->";
/// See [`TABLE_START`].
pub const TABLE_END: &str = "<!-- end of hostile catalogue -->";

/// The catalogue as a Markdown table with its totals, as docs/threat-model.md shows it.
pub fn table() -> String {
    let mut out = format!(
        "{TABLE_START}\n\n| # | the server | what tofu does | recorded | `fetch` | `compare` |\n\
         |---|---|---|---|---|---|\n"
    );
    for (i, case) in CATALOGUE.iter().enumerate() {
        let recorded = match (case.code, case.server) {
            (Some(code), Server::Whoami) => format!("probe `{code}`"),
            (Some(code), _) => format!("`{code}`"),
            (None, Server::Whoami) => "no country".to_owned(),
            (None, _) => "content, hashed".to_owned(),
        };
        let verdict = match case.compare_exit {
            1 => "1 disagree",
            3 => "3 inconclusive",
            _ => "0 agree (a false agreement)",
        };
        out.push_str(&format!(
            "| {} | **{}**: {} | {} | {recorded} | {} | {verdict} |\n",
            i + 1,
            case.name,
            case.server_does,
            case.tofu_does,
            case.fetch_exit,
        ));
    }
    let agreements = CATALOGUE.iter().filter(|c| c.compare_exit == 0).count();
    out.push_str(&format!(
        "\n{} cases, each a real server on loopback (`crates/tofu-testkit/src/hostile.rs`, and \
         the registry fixture for the image cases); each one is run by \
         `crates/tofu/tests/it/hostile.rs` and compared with two honest runs of the same \
         artifact: **{agreements} false agreements**.\n\n{TABLE_END}\n",
        CATALOGUE.len()
    ));
    out
}

/// `doc` with the text between the catalogue markers replaced by [`table`]; None when the
/// markers are missing.
pub fn with_table(doc: &str) -> Option<String> {
    let start = doc.find(TABLE_START)?;
    let end = doc[start..].find(TABLE_END)? + start + TABLE_END.len();
    let rest = doc[end..].strip_prefix('\n').unwrap_or(&doc[end..]);
    Some(format!("{}{}{rest}", &doc[..start], table()))
}

/// The invalid document of a registry case, built from a valid image `manifest` or a valid
/// `index` (JSON texts): the change the case names. Returns the document and its media type.
pub fn invalid_document(case: &str, manifest: &str, index: &str) -> (String, &'static str) {
    const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    const INDEX: &str = "application/vnd.oci.image.index.v1+json";
    if let Some(change) = case.strip_prefix("index-") {
        let mut doc: serde_json::Value = serde_json::from_str(index).unwrap();
        let entry = &mut doc["manifests"][0];
        match change {
            "foreign-media-type" => entry["mediaType"] = "application/octet-stream".into(),
            "entry-without-digest" => {
                entry.as_object_mut().unwrap().remove("digest");
            }
            other => panic!("no registry case index-{other}"),
        }
        return (serde_json::to_string(&doc).unwrap(), INDEX);
    }
    let mut doc: serde_json::Value = serde_json::from_str(manifest).unwrap();
    match case {
        "bad-media-type" => {
            doc["config"]["mediaType"] = "application/vnd.oci.image.config.v1+json;evil".into()
        }
        "descriptor-without-size" => {
            doc["config"].as_object_mut().unwrap().remove("size");
        }
        "empty-media-type" => doc["mediaType"] = "".into(),
        other => panic!("no registry case {other:?}"),
    }
    (serde_json::to_string(&doc).unwrap(), MANIFEST)
}

/// A running hostile server.
pub struct Hostile {
    /// Its port on 127.0.0.1.
    pub port: u16,
    tls: bool,
    stop: Arc<AtomicBool>,
    asked: Arc<Asked>,
    accept: Option<AcceptLoop>,
}

impl Hostile {
    /// The plain HTTP server; `body` is what an honest answer carries.
    pub fn start(body: Vec<u8>) -> Hostile {
        Hostile::spawn(body, None)
    }

    /// A TLS server presenting `chain` (leaf first) with `key`.
    pub fn start_tls(
        body: Vec<u8>,
        chain: Vec<CertificateDer<'static>>,
        key: PrivatePkcs8KeyDer<'static>,
    ) -> Hostile {
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, PrivateKeyDer::Pkcs8(key))
        .unwrap();
        Hostile::spawn(body, Some(Arc::new(config)))
    }

    fn spawn(body: Vec<u8>, tls: Option<Arc<rustls::ServerConfig>>) -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        // The gzip answer is made here, before the server is reachable: made per request, it
        // would come before the head and eat into the client's head deadline (3 MiB takes
        // seconds in a debug build on a busy machine).
        let body = Arc::new(Payload {
            gzipped: gzip(&body),
            plain: body,
        });
        let asked = Arc::new(Asked::default());
        let is_tls = tls.is_some();
        let accept = {
            let (stop, asked) = (Arc::clone(&stop), Arc::clone(&asked));
            thread::spawn(move || {
                let mut served = Vec::new();
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    served.retain(|t: &thread::JoinHandle<()>| !t.is_finished());
                    let Ok(conn) = conn else { continue };
                    let (body, stop, tls) = (Arc::clone(&body), Arc::clone(&stop), tls.clone());
                    let asked = Arc::clone(&asked);
                    served.push(thread::spawn(move || {
                        let deadline = Instant::now() + CONNECTION_LIMIT;
                        // A peer that stops reading cannot block a write for longer than this.
                        let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                        let _ = conn.set_write_timeout(Some(Duration::from_secs(5)));
                        let _ = match tls {
                            Some(config) => match rustls::ServerConnection::new(config) {
                                Ok(server) => {
                                    let mut stream = rustls::StreamOwned::new(server, conn);
                                    serve(&mut stream, &body, (&stop, &asked), deadline)
                                }
                                Err(_) => Ok(()),
                            },
                            None => {
                                let mut conn = conn;
                                let result = serve(&mut conn, &body, (&stop, &asked), deadline);
                                let _ = conn.shutdown(Shutdown::Both);
                                result
                            }
                        };
                    }));
                }
                served
            })
        };
        Hostile {
            port,
            tls: is_tls,
            stop,
            asked,
            accept: Some(accept),
        }
    }

    /// How many times `path` has been asked so far.
    pub fn asked(&self, path: &str) -> usize {
        self.asked.count(path)
    }

    /// The URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        stop_server(&self.stop, self.port, self.accept.take());
    }
}

/// The accept loop of a loopback server of this crate, which returns the threads of the
/// connections it served.
pub(crate) type AcceptLoop = thread::JoinHandle<Vec<thread::JoinHandle<()>>>;

/// Stops a loopback server on `port`: sets its stop flag, wakes its accept loop with one
/// connection, and joins the loop and every connection's thread. Each of those sees the flag
/// within a tick, and no write blocks for longer than its timeout: all of them end here.
pub(crate) fn stop_server(stop: &AtomicBool, port: u16, accept: Option<AcceptLoop>) {
    stop.store(true, Ordering::SeqCst);
    let _ = TcpStream::connect(("127.0.0.1", port));
    if let Some(handle) = accept
        && let Ok(served) = handle.join()
    {
        for thread in served {
            let _ = thread.join();
        }
    }
}

/// How many times each path was asked: what lets an answer change between two requests.
#[derive(Default)]
struct Asked(Mutex<BTreeMap<String, usize>>);

impl Asked {
    /// Counts one more request for `path`; returns how many came before it.
    fn next(&self, path: &str) -> usize {
        let mut counts = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let n = counts.entry(path.to_owned()).or_default();
        *n += 1;
        *n - 1
    }

    fn count(&self, path: &str) -> usize {
        let counts = self.0.lock().unwrap_or_else(|e| e.into_inner());
        counts.get(path).copied().unwrap_or(0)
    }
}

/// Reads a request head (at most 16 KiB) and returns its path.
fn read_path(conn: &mut impl Read) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 16 << 10 || conn.read(&mut byte).ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    let line = String::from_utf8_lossy(&head);
    line.split_whitespace().nth(1).map(str::to_owned)
}

/// Writes `bytes` a piece at a time, `piece` bytes every `pause`, until done, the peer
/// leaves, the server stops, or the deadline passes.
fn trickle(
    conn: &mut impl Write,
    bytes: &[u8],
    piece: usize,
    pause: Duration,
    stop: &AtomicBool,
    deadline: Instant,
) -> std::io::Result<()> {
    for part in bytes.chunks(piece.max(1)) {
        if stop.load(Ordering::SeqCst) || Instant::now() > deadline {
            break;
        }
        conn.write_all(part)?;
        conn.flush()?;
        thread::sleep(pause);
    }
    Ok(())
}

/// Waits, keeping the connection open, until the server stops or the deadline passes.
fn hold(stop: &AtomicBool, deadline: Instant) {
    while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(100));
    }
}

/// What the server answers with: the honest body, and the same bytes gzip-compressed.
struct Payload {
    plain: Vec<u8>,
    gzipped: Vec<u8>,
}

/// Answers one request: reads its path and stages the misbehaviour the path names (an
/// honest answer with the plain body for any other path). Each group below says whether the
/// path was its own.
fn serve(
    conn: &mut (impl Read + Write),
    payload: &Payload,
    (stop, asked): (&AtomicBool, &Asked),
    deadline: Instant,
) -> std::io::Result<()> {
    let Some(path) = read_path(conn) else {
        return Ok(());
    };
    let path = path.as_str();
    let body = payload.plain.as_slice();
    let earlier = asked.next(path);
    let served = serve_slow(conn, path, body, stop, deadline)?
        || serve_bad_body(conn, path, payload)?
        || serve_bad_head(conn, path, body)?
        || serve_redirect(conn, path)?
        || serve_whoami(conn, path, stop, deadline)?
        || serve_whoami_twice(conn, path, earlier)?;
    if !served {
        conn.write_all(ok_head(body.len(), "").as_bytes())?;
        conn.write_all(body)?;
    }
    conn.flush()
}

/// The head of a 200 answer with `len` bytes of body and the `extra` header lines.
fn ok_head(len: usize, extra: &str) -> String {
    format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nConnection: close\r\n{extra}\r\n")
}

/// A whole JSON answer.
fn json(text: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{text}",
        text.len()
    )
}

/// Answers that take too long: a head that never ends, a body that stalls, trickles or
/// never ends.
fn serve_slow(
    conn: &mut impl Write,
    path: &str,
    body: &[u8],
    stop: &AtomicBool,
    deadline: Instant,
) -> std::io::Result<bool> {
    match path {
        "/slowloris" => {
            conn.write_all(b"HTTP/1.1 200 OK\r\nX-Slow: ")?;
            trickle(
                conn,
                &[b'a'; 120],
                1,
                Duration::from_secs(1),
                stop,
                deadline,
            )?;
        }
        "/stall" => {
            conn.write_all(ok_head(body.len(), "").as_bytes())?;
            conn.write_all(&body[..body.len().min(64 << 10)])?;
            conn.flush()?;
            hold(stop, deadline);
        }
        "/trickle" => {
            conn.write_all(ok_head(body.len(), "").as_bytes())?;
            trickle(conn, body, 20, Duration::from_millis(100), stop, deadline)?;
        }
        "/chunked-endless" => {
            conn.write_all(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
            )?;
            let chunk = vec![b'x'; 64 << 10];
            // At most 256 MiB, far beyond any --max-size a test sets.
            for _ in 0..4096 {
                if stop.load(Ordering::SeqCst) || Instant::now() > deadline {
                    break;
                }
                conn.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())?;
                conn.write_all(&chunk)?;
                conn.write_all(b"\r\n")?;
            }
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// Answers whose body disagrees with its head, or that are no HTTP at all.
fn serve_bad_body(conn: &mut impl Write, path: &str, payload: &Payload) -> std::io::Result<bool> {
    let body = payload.plain.as_slice();
    match path {
        "/longer" => {
            conn.write_all(ok_head(body.len().saturating_sub(1000), "").as_bytes())?;
            conn.write_all(body)?;
        }
        "/shorter" => {
            conn.write_all(ok_head(body.len(), "").as_bytes())?;
            conn.write_all(&body[..body.len().saturating_sub(1000)])?;
        }
        "/partial" => {
            let part = &body[..body.len().min(1000)];
            conn.write_all(
                format!(
                    "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-{}/{}\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n",
                    part.len() - 1,
                    body.len(),
                    part.len()
                )
                .as_bytes(),
            )?;
            conn.write_all(part)?;
        }
        "/gzip" => {
            let gz = &payload.gzipped;
            conn.write_all(ok_head(gz.len(), "Content-Encoding: gzip\r\n").as_bytes())?;
            conn.write_all(gz)?;
        }
        "/garbage" => conn.write_all(b"HELLO I AM NOT HTTP\r\n\r\n")?,
        "/close" => {}
        _ => return Ok(false),
    }
    Ok(true)
}

/// Answers whose head is too big or contradicts itself.
fn serve_bad_head(conn: &mut impl Write, path: &str, body: &[u8]) -> std::io::Result<bool> {
    match path {
        "/huge-header" => {
            let big = "a".repeat(1 << 20);
            conn.write_all(ok_head(body.len(), &format!("X-Big: {big}\r\n")).as_bytes())?;
            conn.write_all(body)?;
        }
        "/many-headers" => {
            let many: String = (0..5000)
                .map(|i| format!("X-Header-{i}: {i}\r\n"))
                .collect();
            conn.write_all(ok_head(body.len(), &many).as_bytes())?;
            conn.write_all(body)?;
        }
        "/bad-length" => {
            conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\nConnection: close\r\n\r\n")?;
            conn.write_all(body)?;
        }
        "/two-lengths" => {
            conn.write_all(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n",
                    body.len(),
                    body.len() - 1
                )
                .as_bytes(),
            )?;
            conn.write_all(body)?;
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// Redirects that loop, leave HTTP(S), downgrade to HTTP, or lead nowhere.
fn serve_redirect(conn: &mut impl Write, path: &str) -> std::io::Result<bool> {
    let location = match path {
        "/loop" => Some("/loop"),
        "/to-file" => Some("file:///etc/passwd"),
        "/to-ftp" => Some("ftp://127.0.0.1/file.bin"),
        "/to-http" => Some("http://127.0.0.1:9/file.bin"),
        "/no-location" => None,
        _ => return Ok(false),
    };
    let location = location
        .map(|l| format!("Location: {l}\r\n"))
        .unwrap_or_default();
    conn.write_all(
        format!("HTTP/1.1 302 Found\r\n{location}Content-Length: 0\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )?;
    Ok(true)
}

/// "What is my IP" answers: too big, too slow, not JSON, or honest-looking with the
/// country the path names.
fn serve_whoami(
    conn: &mut impl Write,
    path: &str,
    stop: &AtomicBool,
    deadline: Instant,
) -> std::io::Result<bool> {
    match path {
        "/whoami-huge" => {
            let text = format!(
                "{{\"ip\":\"192.0.2.77\",\"pad\":\"{}\"}}",
                "a".repeat(1 << 20)
            );
            conn.write_all(json(&text).as_bytes())?;
        }
        "/whoami-slow" => {
            // The head at once, then the answer a byte a second: only the probe's own
            // deadline ends it.
            let answer = "{\"ip\":\"192.0.2.77\",\"country_iso\":\"SE\"}";
            let text = json(answer);
            let head = &text[..text.len() - answer.len()];
            conn.write_all(head.as_bytes())?;
            conn.flush()?;
            trickle(
                conn,
                answer.as_bytes(),
                1,
                Duration::from_secs(1),
                stop,
                deadline,
            )?;
        }
        "/whoami-garbage" => {
            let page = "<html><body>Your IP is 192.0.2.77</body></html>";
            conn.write_all(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n{page}",
                    page.len()
                )
                .as_bytes(),
            )?;
        }
        p if p.starts_with("/whoami-cc/") || p.starts_with("/whoami/") => {
            // An honest-looking answer with the country in the path: each country its own
            // documentation network, so honest runs differ in both.
            let cc = p.rsplit('/').next().unwrap_or_default();
            let ip = match cc {
                "DE" => "198.51.100.7",
                "CA" => "203.0.113.9",
                _ => "192.0.2.77",
            };
            conn.write_all(
                json(&format!("{{\"ip\":\"{ip}\",\"country_iso\":\"{cc}\"}}")).as_bytes(),
            )?;
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// "What is my IP" answers that change between the lookup before the downloads and the one
/// after (`earlier` is how many times the path was asked before): an exit that moves from DE
/// to CA, and an endpoint that answers once and then fails.
fn serve_whoami_twice(conn: &mut impl Write, path: &str, earlier: usize) -> std::io::Result<bool> {
    let answer = match (path, earlier) {
        ("/whoami-moves", 0) => json("{\"ip\":\"198.51.100.7\",\"country_iso\":\"DE\"}"),
        ("/whoami-moves", _) => json("{\"ip\":\"203.0.113.9\",\"country_iso\":\"CA\"}"),
        ("/whoami-once", 0) => json("{\"ip\":\"192.0.2.77\",\"country_iso\":\"SE\"}"),
        ("/whoami-once", _) => "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\
                                Connection: close\r\n\r\n"
            .to_owned(),
        _ => return Ok(false),
    };
    conn.write_all(answer.as_bytes())?;
    Ok(true)
}

/// `bytes` as one gzip member.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}
