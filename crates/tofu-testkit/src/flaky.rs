//! A loopback HTTP/1.1 server that breaks downloads the ways a resuming client must survive:
//! each path is a scenario (a connection cut at given offsets, a stall, a server that ignores
//! `Range`, answers another range, lies about the range, changes the file between attempts,
//! has no validators, or cuts a chunked body), and every other path is served whole and
//! honestly. Answers carry a strong `ETag` and a `Last-Modified`, honour `Range: bytes=N-`
//! (and `N-M`) with `206` and an honest `Content-Range`, and evaluate `If-Range` as RFC 9110
//! says (a strong ETag compared strongly, or a date equal to `Last-Modified`; anything else is
//! no match and gets the whole file with `200`).
//!
//! Every request is recorded (method, `Range`, `If-Range`, the status answered) so a test can
//! assert what a client asked. Only for tests: it answers on 127.0.0.1, one request per
//! connection (`Connection: close`), every connection's thread is bounded in time, and
//! everything stops when it is dropped.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// The longest any one connection is served: every behaviour ends by then.
const CONNECTION_LIMIT: Duration = Duration::from_secs(120);

/// How long a stalled answer keeps its connection open, silent, unless the client leaves.
const STALL_LIMIT: Duration = Duration::from_secs(60);

/// The bytes one write carries (and one chunk of a chunked body declares).
const PIECE: usize = 16 << 10;

/// How far before the asked offset `/wrong-range` and `/lying-range` start their bytes.
pub const RANGE_SHIFT: u64 = 1000;

/// `Last-Modified` of the first version of the file.
const FIRST_MODIFIED: &str = "Tue, 01 Sep 2026 10:00:00 GMT";

/// `Last-Modified` of the version `/changes…` serves after its first answer.
const SECOND_MODIFIED: &str = "Wed, 02 Sep 2026 10:00:00 GMT";

/// One version of the served file and its validators.
#[derive(Clone, Debug)]
pub struct Version {
    /// The whole file.
    pub bytes: Vec<u8>,
    /// Its strong entity tag, quotes included (`"…"`), made from its digest.
    pub etag: String,
    /// Its `Last-Modified` date (IMF-fixdate).
    pub last_modified: String,
    /// Its SHA-256, lowercase hex: what `sha256sum` prints.
    pub sha256: String,
}

impl Version {
    fn new(bytes: Vec<u8>, last_modified: &str) -> Version {
        let sha256 = hex::encode(ring::digest::digest(&ring::digest::SHA256, &bytes));
        Version {
            etag: format!("\"{}\"", &sha256[..16]),
            last_modified: last_modified.to_owned(),
            sha256,
            bytes,
        }
    }
}

/// One request as the server read it, and the status it answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// `GET` or `HEAD` (anything else is answered 405).
    pub method: String,
    /// The `Range` header, as sent.
    pub range: Option<String>,
    /// The `If-Range` header, as sent.
    pub if_range: Option<String>,
    /// The status the server answered: 200, 206, 404, 405 or 416.
    pub status: u16,
}

/// What a path asks the server to do. The offsets are absolute positions in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Scenario {
    /// `/cut/N1,N2,…`: the k-th answer closes the connection when offset N_k is reached;
    /// later answers are whole.
    Cut(Vec<u64>),
    /// `/stall/N`: the first answer sends up to N, then goes silent with the connection open
    /// (until the client leaves, or [`STALL_LIMIT`]); later answers are whole.
    Stall(u64),
    /// `/ignore-range/N`: the first answer is cut at N; `Range` is never honoured (`200`).
    IgnoreRange(u64),
    /// `/wrong-range/N`: the first answer is cut at N; a range request for N gets `206`
    /// from N - [`RANGE_SHIFT`], with a `Content-Range` that honestly says so.
    WrongRange(u64),
    /// `/lying-range/N`: as `wrong-range`, but the `Content-Range` claims N (and the
    /// length fits the claim): no header shows the lie, only the bytes.
    LyingRange(u64),
    /// `/changes/N`: the first answer (first version) is cut at N; later answers serve the
    /// second version, honouring `If-Range` (the old validators → `200` with the new file).
    Changes(u64),
    /// `/changes-ignoring-if-range/N`: as `changes`, but a range request gets `206` of the
    /// second version whatever its `If-Range`; the new `ETag` is the only clue.
    ChangesIgnoringIfRange(u64),
    /// `/no-validator/N`: the first answer is cut at N; no answer has an `ETag` or a
    /// `Last-Modified` (so any `If-Range` fails to match: `200`).
    NoValidator(u64),
    /// `/chunked-cut/N`: `Transfer-Encoding: chunked` without a length; the first answer is
    /// cut at N, in the middle of a chunk.
    ChunkedCut(u64),
    /// `/slow/RATE`: every answer is sent whole at RATE bytes a second (a tenth of it every
    /// 100 ms).
    Slow(u64),
    /// Any other path: served whole.
    Whole,
}

impl Scenario {
    /// The scenario `path` names; None when it names one with a malformed argument.
    fn parse(path: &str) -> Option<Scenario> {
        let path = path.split('?').next().unwrap_or_default();
        let mut parts = path.trim_start_matches('/').splitn(2, '/');
        let (name, arg) = (parts.next().unwrap_or_default(), parts.next());
        let one = || arg?.parse::<u64>().ok();
        Some(match name {
            "cut" => Scenario::Cut(
                arg?.split(',')
                    .map(|n| n.parse().ok())
                    .collect::<Option<_>>()?,
            ),
            "stall" => Scenario::Stall(one()?),
            "ignore-range" => Scenario::IgnoreRange(one()?),
            "wrong-range" => Scenario::WrongRange(one()?),
            "lying-range" => Scenario::LyingRange(one()?),
            "changes" => Scenario::Changes(one()?),
            "changes-ignoring-if-range" => Scenario::ChangesIgnoringIfRange(one()?),
            "no-validator" => Scenario::NoValidator(one()?),
            "chunked-cut" => Scenario::ChunkedCut(one()?),
            "slow" => Scenario::Slow(one().filter(|&r| r > 0)?),
            _ => Scenario::Whole,
        })
    }

    /// Where the `k`-th answer (from 0) stops, and whether it then holds the connection.
    fn stop(&self, k: usize) -> Option<(u64, bool)> {
        match (self, k) {
            (Scenario::Cut(offsets), k) => offsets.get(k).map(|&n| (n, false)),
            (Scenario::Stall(n), 0) => Some((*n, true)),
            (
                Scenario::IgnoreRange(n)
                | Scenario::WrongRange(n)
                | Scenario::LyingRange(n)
                | Scenario::Changes(n)
                | Scenario::ChangesIgnoringIfRange(n)
                | Scenario::NoValidator(n)
                | Scenario::ChunkedCut(n),
                0,
            ) => Some((*n, false)),
            _ => None,
        }
    }
}

/// A running flaky server.
pub struct Flaky {
    /// Its port on 127.0.0.1.
    pub port: u16,
    versions: Arc<[Version; 2]>,
    stop: Arc<AtomicBool>,
    log: Arc<Log>,
    accept: Option<crate::hostile::AcceptLoop>,
}

impl Flaky {
    /// Serves `body`; the `/changes…` scenarios change it to `body` with every byte
    /// incremented (same length, different digest).
    pub fn start(body: Vec<u8>) -> Flaky {
        let second = body.iter().map(|b| b.wrapping_add(1)).collect();
        Flaky::start_with(body, second)
    }

    /// Serves `first`; the `/changes…` scenarios serve `second` after their first answer.
    pub fn start_with(first: Vec<u8>, second: Vec<u8>) -> Flaky {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let versions = Arc::new([
            Version::new(first, FIRST_MODIFIED),
            Version::new(second, SECOND_MODIFIED),
        ]);
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Log::default());
        let accept = {
            let (versions, stop, log) =
                (Arc::clone(&versions), Arc::clone(&stop), Arc::clone(&log));
            thread::spawn(move || {
                let mut served = Vec::new();
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    served.retain(|t: &thread::JoinHandle<()>| !t.is_finished());
                    let Ok(mut conn) = conn else { continue };
                    let (versions, stop, log) =
                        (Arc::clone(&versions), Arc::clone(&stop), Arc::clone(&log));
                    served.push(thread::spawn(move || {
                        // A peer that stops reading cannot block a write for longer than this.
                        let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                        let _ = conn.set_write_timeout(Some(Duration::from_secs(5)));
                        let _ = serve(&mut conn, &versions, &log, &stop);
                        let _ = conn.shutdown(Shutdown::Both);
                    }));
                }
                served
            })
        };
        Flaky {
            port,
            versions,
            stop,
            log,
            accept: Some(accept),
        }
    }

    /// Bytes that do not repeat within any short stretch (a splice at a wrong offset always
    /// changes the digest): a xorshift stream, the same for the same `len`.
    pub fn pattern(len: usize) -> Vec<u8> {
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state.to_le_bytes()[0]
            })
            .collect()
    }

    /// The URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The file as first served (every scenario but the later answers of `/changes…`).
    pub fn first(&self) -> &Version {
        &self.versions[0]
    }

    /// The file `/changes…` serves after its first answer.
    pub fn second(&self) -> &Version {
        &self.versions[1]
    }

    /// Every request for `path` so far, in order.
    pub fn requests(&self, path: &str) -> Vec<Request> {
        let log = self.log.0.lock().unwrap_or_else(|e| e.into_inner());
        log.get(path).cloned().unwrap_or_default()
    }
}

impl Drop for Flaky {
    fn drop(&mut self) {
        crate::hostile::stop_server(&self.stop, self.port, self.accept.take());
    }
}

/// Every request so far, by path.
#[derive(Default)]
struct Log(Mutex<BTreeMap<String, Vec<Request>>>);

/// The parts of a request head the server looks at.
struct Head {
    method: String,
    path: String,
    range: Option<String>,
    if_range: Option<String>,
}

/// Reads a request head (at most 16 KiB).
fn read_head(conn: &mut impl Read) -> Option<Head> {
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        if raw.len() > 16 << 10 || conn.read(&mut byte).ok()? == 0 {
            return None;
        }
        raw.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&raw);
    let mut lines = text.split("\r\n");
    let mut first = lines.next()?.split_whitespace();
    let (method, path) = (first.next()?.to_owned(), first.next()?.to_owned());
    let mut head = Head {
        method,
        path,
        range: None,
        if_range: None,
    };
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = Some(value.trim().to_owned());
        match name.trim().to_ascii_lowercase().as_str() {
            "range" => head.range = value,
            "if-range" => head.if_range = value,
            _ => {}
        }
    }
    Some(head)
}

/// How one answer is made.
struct Answer<'a> {
    version: &'a Version,
    /// 200, 206, 404, 405 or 416.
    status: u16,
    /// The offset the body's bytes really start at.
    start: u64,
    /// The offset the head says they start at (differs only for `/lying-range`).
    claimed: u64,
    /// One past the last offset the head claims.
    end: u64,
    validators: bool,
    chunked: bool,
    /// Where the body stops early, and whether the connection is then held open.
    stop: Option<(u64, bool)>,
    /// Bytes a second, for `/slow`.
    rate: Option<u64>,
}

/// Decides the answer to the `k`-th request (from 0) for a path naming `scenario`.
fn answer<'a>(
    scenario: &Scenario,
    k: usize,
    head: &Head,
    versions: &'a [Version; 2],
) -> Answer<'a> {
    let changes = matches!(
        scenario,
        Scenario::Changes(_) | Scenario::ChangesIgnoringIfRange(_)
    );
    let version = &versions[usize::from(changes && k > 0)];
    let validators = !matches!(scenario, Scenario::NoValidator(_));
    let total = version.bytes.len() as u64;
    let if_range_holds = head
        .if_range
        .as_deref()
        .is_none_or(|value| validators && if_range_matches(value, version));
    let honour = match scenario {
        Scenario::IgnoreRange(_) => false,
        Scenario::ChangesIgnoringIfRange(_) => true,
        _ => if_range_holds,
    };
    let mut out = Answer {
        version,
        status: 200,
        start: 0,
        claimed: 0,
        end: total,
        validators,
        chunked: matches!(scenario, Scenario::ChunkedCut(_)),
        stop: scenario.stop(k),
        rate: match scenario {
            Scenario::Slow(rate) => Some(*rate),
            _ => None,
        },
    };
    let range = head
        .range
        .as_deref()
        .and_then(parse_range)
        .filter(|_| honour);
    if let Some((first, last)) = range {
        if first >= total {
            out.status = 416;
            return out;
        }
        out.status = 206;
        out.end = last.map_or(total, |l| (l + 1).min(total));
        out.claimed = match scenario {
            Scenario::WrongRange(_) => first.saturating_sub(RANGE_SHIFT),
            _ => first,
        };
        out.start = match scenario {
            Scenario::WrongRange(_) | Scenario::LyingRange(_) => first.saturating_sub(RANGE_SHIFT),
            _ => first,
        };
    }
    out
}

/// `bytes=N-` or `bytes=N-M` as (N, M); None for any other form (suffix or multiple
/// ranges), which the server then ignores, as RFC 9110 allows.
fn parse_range(value: &str) -> Option<(u64, Option<u64>)> {
    let (first, last) = value.trim().strip_prefix("bytes=")?.split_once('-')?;
    let first = first.trim().parse().ok()?;
    let last = match last.trim() {
        "" => None,
        l => Some(l.parse().ok().filter(|&l| l >= first)?),
    };
    Some((first, last))
}

/// RFC 9110 13.1.5: an entity tag matches only a strong one equal to the current; a date
/// matches only if it is exactly the current `Last-Modified`.
fn if_range_matches(value: &str, version: &Version) -> bool {
    if value.starts_with('"') || value.starts_with("W/") {
        value == version.etag
    } else {
        value == version.last_modified
    }
}

/// Answers one request, records it, and sends the answer its path's scenario calls for.
fn serve(
    conn: &mut TcpStream,
    versions: &[Version; 2],
    log: &Log,
    stop: &AtomicBool,
) -> std::io::Result<()> {
    let deadline = Instant::now() + CONNECTION_LIMIT;
    let Some(head) = read_head(conn) else {
        return Ok(());
    };
    let scenario = Scenario::parse(&head.path);
    let answer = {
        let mut log = log.0.lock().unwrap_or_else(|e| e.into_inner());
        let earlier = log.entry(head.path.clone()).or_default();
        let mut answer = match &scenario {
            Some(s) => answer(s, earlier.len(), &head, versions),
            None => answer(&Scenario::Whole, 0, &head, versions),
        };
        if scenario.is_none() {
            answer.status = 404;
        } else if head.method != "GET" && head.method != "HEAD" {
            answer.status = 405;
        }
        earlier.push(Request {
            method: head.method.clone(),
            range: head.range.clone(),
            if_range: head.if_range.clone(),
            status: answer.status,
        });
        answer
    };
    conn.write_all(head_of(&answer).as_bytes())?;
    if head.method == "GET" && matches!(answer.status, 200 | 206) {
        send_body(conn, &answer, stop, deadline)?;
    }
    conn.flush()
}

/// The status line and headers of `answer`.
fn head_of(answer: &Answer) -> String {
    let total = answer.version.bytes.len();
    let mut head = match answer.status {
        200 => "HTTP/1.1 200 OK\r\n".to_owned(),
        206 => format!(
            "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {}-{}/{total}\r\n",
            answer.claimed,
            answer.end - 1
        ),
        416 => format!(
            "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{total}\r\n\
             Content-Length: 0\r\n"
        ),
        404 => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n".to_owned(),
        _ => "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n".to_owned(),
    };
    if matches!(answer.status, 200 | 206) {
        if answer.chunked {
            head.push_str("Transfer-Encoding: chunked\r\n");
        } else {
            let len = answer.end - answer.claimed;
            head.push_str(&format!("Content-Length: {len}\r\n"));
        }
        head.push_str("Content-Type: application/octet-stream\r\nAccept-Ranges: bytes\r\n");
    }
    if answer.validators && answer.status != 404 {
        head.push_str(&format!(
            "ETag: {}\r\nLast-Modified: {}\r\n",
            answer.version.etag, answer.version.last_modified
        ));
    }
    head.push_str("Connection: close\r\n\r\n");
    head
}

/// Sends the body of `answer`: the bytes from `start`, as long as the head claims, in pieces
/// (chunks when chunked), stopping early where the scenario says — then closing, or holding
/// the connection silent.
fn send_body(
    conn: &mut TcpStream,
    answer: &Answer,
    stop: &AtomicBool,
    deadline: Instant,
) -> std::io::Result<()> {
    let len = answer.end - answer.claimed;
    // Both offsets are below the file's length, which is in memory.
    let from = answer.start as usize;
    let bytes = &answer.version.bytes[from..from + len as usize];
    let stop_after = answer
        .stop
        .map(|(n, _)| n.saturating_sub(answer.claimed).min(len));
    let piece = answer.rate.map_or(PIECE, |r| (r / 10).max(1) as usize);
    let mut sent = 0usize;
    for part in bytes.chunks(piece) {
        if stop.load(Ordering::SeqCst) || Instant::now() > deadline {
            return Ok(());
        }
        let room = stop_after.map_or(part.len(), |s| (s as usize - sent).min(part.len()));
        if answer.chunked {
            // The chunk declares its whole size even when the cut falls inside it.
            conn.write_all(format!("{:x}\r\n", part.len()).as_bytes())?;
        }
        conn.write_all(&part[..room])?;
        sent += room;
        if stop_after == Some(sent as u64) && sent < bytes.len() {
            conn.flush()?;
            if answer.stop.is_some_and(|(_, hold)| hold) {
                hold(conn, stop, Instant::now() + STALL_LIMIT);
            }
            return Ok(());
        }
        if answer.chunked {
            conn.write_all(b"\r\n")?;
        }
        if answer.rate.is_some() {
            conn.flush()?;
            thread::sleep(Duration::from_millis(100));
        }
    }
    if answer.chunked {
        conn.write_all(b"0\r\n\r\n")?;
    }
    Ok(())
}

/// Keeps the connection open and silent until the client leaves, the server stops, or
/// `until` passes.
fn hold(conn: &mut TcpStream, stop: &AtomicBool, until: Instant) {
    let _ = conn.set_read_timeout(Some(Duration::from_millis(100)));
    let mut sink = [0u8; 1024];
    while !stop.load(Ordering::SeqCst) && Instant::now() < until {
        match conn.read(&mut sink) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_scenarios_and_malformed_arguments_name_none() {
        assert_eq!(
            Scenario::parse("/cut/10,20"),
            Some(Scenario::Cut(vec![10, 20]))
        );
        assert_eq!(Scenario::parse("/stall/5?x=1"), Some(Scenario::Stall(5)));
        assert_eq!(Scenario::parse("/file.bin"), Some(Scenario::Whole));
        assert_eq!(Scenario::parse("/cut/10,x"), None);
        assert_eq!(Scenario::parse("/slow/0"), None);
        assert_eq!(Scenario::parse("/changes"), None);
    }

    #[test]
    fn ranges_parse_only_in_the_forms_served() {
        assert_eq!(parse_range("bytes=5-"), Some((5, None)));
        assert_eq!(parse_range("bytes=5-9"), Some((5, Some(9))));
        assert_eq!(parse_range("bytes=-5"), None);
        assert_eq!(parse_range("bytes=9-5"), None);
        assert_eq!(parse_range("bytes=0-1,4-5"), None);
        assert_eq!(parse_range("items=0-"), None);
    }

    #[test]
    fn if_range_matches_only_the_strong_tag_or_the_exact_date() {
        let v = Version::new(b"abc".to_vec(), FIRST_MODIFIED);
        assert!(if_range_matches(&v.etag, &v));
        assert!(!if_range_matches(&format!("W/{}", v.etag), &v));
        assert!(if_range_matches(FIRST_MODIFIED, &v));
        assert!(!if_range_matches(SECOND_MODIFIED, &v));
    }
}
