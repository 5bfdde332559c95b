//! Each scenario of the flaky server, as the real `curl` sees it: resumed with `-C -` (which
//! sends `Range: bytes=N-`) or asked `-r N-` with an `If-Range`, and the bytes compared with
//! `sha256sum` of the served file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use tofu_testkit::flaky::RANGE_SHIFT;
use tofu_testkit::{Flaky, Request, require_program};

/// The size of the served file: several pieces, more than any cut offset below.
const SIZE: usize = 1 << 20;

struct Client {
    dir: tempfile::TempDir,
    curl: PathBuf,
}

impl Client {
    fn new() -> Client {
        Client {
            dir: tempfile::tempdir().unwrap(),
            curl: require_program("curl", "curl"),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs curl (bounded to 20 s) writing the body to `out` and the head to `out.head`.
    fn curl(&self, out: &str, args: &[&str], url: &str) -> Output {
        Command::new(&self.curl)
            .args(["-sS", "--max-time", "20", "-o"])
            .arg(self.path(out))
            .arg("-D")
            .arg(self.path(&format!("{out}.head")))
            .args(args)
            .arg(url)
            .output()
            .unwrap()
    }

    /// The head curl saved last for `out` (curl appends one per answer).
    fn head(&self, out: &str) -> String {
        std::fs::read_to_string(self.path(&format!("{out}.head"))).unwrap_or_default()
    }

    fn bytes(&self, out: &str) -> Vec<u8> {
        std::fs::read(self.path(out)).unwrap()
    }

    fn sha256sum(&self, out: &str) -> String {
        sha256sum(&self.path(out))
    }
}

/// What the independent tool says the file's SHA-256 is.
fn sha256sum(path: &Path) -> String {
    let out = Command::new(require_program("sha256sum", "coreutils"))
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()[..64].to_owned()
}

#[track_caller]
fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "curl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn req(range: Option<&str>, if_range: Option<&str>, status: u16) -> Request {
    Request {
        method: "GET".into(),
        range: range.map(str::to_owned),
        if_range: if_range.map(str::to_owned),
        status,
    }
}

/// A header's value in a saved head (the last one, when curl appended several heads).
fn header(head: &str, name: &str) -> Option<String> {
    head.lines()
        .rev()
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim().to_owned())
}

fn status_line(head: &str) -> &str {
    head.lines()
        .rfind(|l| l.starts_with("HTTP/"))
        .unwrap_or_default()
}

#[test]
fn a_cut_at_each_offset_is_resumed_to_the_right_bytes() {
    let server = Flaky::start(Flaky::pattern(SIZE));
    let c = Client::new();
    let path = "/cut/100000,300000";
    // 18: "partial file", the body ended before its Content-Length.
    assert_exit(&c.curl("f", &[], &server.url(path)), 18);
    assert_eq!(c.bytes("f").len(), 100_000);
    assert_exit(&c.curl("f", &["-C", "-"], &server.url(path)), 18);
    assert_eq!(c.bytes("f").len(), 300_000);
    assert!(status_line(&c.head("f")).contains(" 206 "));
    assert_eq!(
        header(&c.head("f"), "content-range").as_deref(),
        Some(format!("bytes 100000-{}/{SIZE}", SIZE - 1).as_str())
    );
    assert_exit(&c.curl("f", &["-C", "-"], &server.url(path)), 0);
    assert_eq!(c.sha256sum("f"), server.first().sha256);
    assert_eq!(
        server.requests(path),
        [
            req(None, None, 200),
            req(Some("bytes=100000-"), None, 206),
            req(Some("bytes=300000-"), None, 206),
        ]
    );
    // Any other path is the whole file, with its validators.
    assert_exit(&c.curl("g", &[], &server.url("/file.bin")), 0);
    assert_eq!(c.sha256sum("g"), server.first().sha256);
    assert_eq!(
        header(&c.head("g"), "etag").as_deref(),
        Some(server.first().etag.as_str())
    );
}

#[test]
fn a_stall_holds_the_connection_silent_until_the_client_gives_up() {
    let server = Flaky::start(Flaky::pattern(SIZE));
    let c = Client::new();
    let path = "/stall/200000";
    let started = Instant::now();
    // 28: curl's own timeout, here its low-speed limit over 2 s.
    let out = c.curl("f", &["-Y", "1000", "-y", "2"], &server.url(path));
    assert_exit(&out, 28);
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert_eq!(c.bytes("f").len(), 200_000);
    assert_exit(&c.curl("f", &["-C", "-"], &server.url(path)), 0);
    assert_eq!(c.sha256sum("f"), server.first().sha256);
    assert_eq!(
        server.requests(path),
        [req(None, None, 200), req(Some("bytes=200000-"), None, 206)]
    );
}

#[test]
fn a_server_that_ignores_range_answers_the_whole_file() {
    let server = Flaky::start(Flaky::pattern(SIZE));
    let c = Client::new();
    let path = "/ignore-range/100000";
    assert_exit(&c.curl("f", &[], &server.url(path)), 18);
    assert_eq!(c.bytes("f").len(), 100_000);
    // 33: curl refuses to append a 200 to what it has ("cannot resume").
    assert_exit(&c.curl("f", &["-C", "-"], &server.url(path)), 33);
    assert_eq!(c.bytes("f").len(), 100_000);
    let etag = server.first().etag.clone();
    let out = c.curl(
        "g",
        &["-r", "100000-", "-H", &format!("If-Range: {etag}")],
        &server.url(path),
    );
    assert_exit(&out, 0);
    assert!(status_line(&c.head("g")).contains(" 200 "));
    assert_eq!(c.sha256sum("g"), server.first().sha256);
    assert_eq!(
        server.requests(path),
        [
            req(None, None, 200),
            req(Some("bytes=100000-"), None, 200),
            req(Some("bytes=100000-"), Some(&etag), 200),
        ]
    );
}

#[test]
fn a_wrong_range_says_where_it_starts_and_a_lying_one_does_not() {
    let body = Flaky::pattern(SIZE);
    let server = Flaky::start(body.clone());
    let c = Client::new();
    let n = 100_000usize;
    let shift = RANGE_SHIFT as usize;
    for path in ["/wrong-range/100000", "/lying-range/100000"] {
        assert_exit(&c.curl("f", &[], &server.url(path)), 18);
        assert_eq!(c.bytes("f").len(), n);
        assert_exit(&c.curl("g", &["-r", "100000-"], &server.url(path)), 0);
        assert!(status_line(&c.head("g")).contains(" 206 "));
        let range = header(&c.head("g"), "content-range").unwrap();
        let got = c.bytes("g");
        if path.starts_with("/wrong") {
            // Honest: the head names the bytes it carries.
            assert_eq!(range, format!("bytes {}-{}/{SIZE}", n - shift, SIZE - 1));
            assert_eq!(got, body[n - shift..]);
        } else {
            // A lie only the bytes show: the head claims N, the length fits the claim.
            assert_eq!(range, format!("bytes {n}-{}/{SIZE}", SIZE - 1));
            assert_eq!(got, body[n - shift..SIZE - shift]);
            let mut spliced = c.bytes("f");
            spliced.extend_from_slice(&got);
            assert_eq!(spliced.len(), SIZE);
            assert_ne!(spliced, body, "the lie must change the spliced bytes");
        }
        assert_eq!(
            server.requests(path)[1],
            req(Some("bytes=100000-"), None, 206)
        );
    }
}

#[test]
fn a_changed_file_is_answered_whole_when_if_range_no_longer_matches() {
    let server = Flaky::start(Flaky::pattern(SIZE));
    let (first, second) = (server.first().clone(), server.second().clone());
    assert_ne!(first.sha256, second.sha256);
    let c = Client::new();
    let path = "/changes/100000";
    assert_exit(&c.curl("f", &[], &server.url(path)), 18);
    assert_eq!(c.bytes("f"), first.bytes[..100_000]);
    assert_eq!(header(&c.head("f"), "etag"), Some(first.etag.clone()));
    // The old ETag, then the old date: neither matches, so the whole new file comes.
    for validator in [&first.etag, &first.last_modified] {
        let if_range = format!("If-Range: {validator}");
        assert_exit(
            &c.curl("g", &["-r", "100000-", "-H", &if_range], &server.url(path)),
            0,
        );
        assert!(status_line(&c.head("g")).contains(" 200 "));
        assert_eq!(c.sha256sum("g"), second.sha256);
        assert_eq!(header(&c.head("g"), "etag"), Some(second.etag.clone()));
        assert_eq!(
            header(&c.head("g"), "last-modified"),
            Some(second.last_modified.clone())
        );
    }
    // The new ETag matches: a range of the new file.
    let if_range = format!("If-Range: {}", second.etag);
    assert_exit(
        &c.curl("g", &["-r", "100000-", "-H", &if_range], &server.url(path)),
        0,
    );
    assert!(status_line(&c.head("g")).contains(" 206 "));
    assert_eq!(c.bytes("g"), second.bytes[100_000..]);
    let statuses: Vec<u16> = server.requests(path).iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 200, 200, 206]);
}

#[test]
fn a_changed_file_behind_a_server_ignoring_if_range_shows_only_in_its_etag() {
    let server = Flaky::start(Flaky::pattern(SIZE));
    let (first, second) = (server.first().clone(), server.second().clone());
    let c = Client::new();
    let path = "/changes-ignoring-if-range/100000";
    assert_exit(&c.curl("f", &[], &server.url(path)), 18);
    let if_range = format!("If-Range: {}", first.etag);
    assert_exit(
        &c.curl("g", &["-r", "100000-", "-H", &if_range], &server.url(path)),
        0,
    );
    assert!(status_line(&c.head("g")).contains(" 206 "));
    assert_eq!(header(&c.head("g"), "etag"), Some(second.etag.clone()));
    assert_eq!(c.bytes("g"), second.bytes[100_000..]);
    let mut spliced = c.bytes("f");
    spliced.extend_from_slice(&c.bytes("g"));
    assert_ne!(spliced, first.bytes);
    assert_ne!(spliced, second.bytes);
    assert_eq!(
        server.requests(path)[1],
        req(Some("bytes=100000-"), Some(&first.etag), 206)
    );
}

#[test]
fn without_validators_a_conditional_range_gets_the_whole_file() {
    let server = Flaky::start(Flaky::pattern(SIZE));
    let c = Client::new();
    let path = "/no-validator/100000";
    assert_exit(&c.curl("f", &[], &server.url(path)), 18);
    let head = c.head("f");
    assert_eq!(header(&head, "etag"), None);
    assert_eq!(header(&head, "last-modified"), None);
    let if_range = format!("If-Range: {}", server.first().etag);
    assert_exit(
        &c.curl("g", &["-r", "100000-", "-H", &if_range], &server.url(path)),
        0,
    );
    assert!(status_line(&c.head("g")).contains(" 200 "));
    assert_eq!(header(&c.head("g"), "etag"), None);
    assert_eq!(c.sha256sum("g"), server.first().sha256);
    // Unconditional, the range is served.
    assert_exit(&c.curl("f", &["-C", "-"], &server.url(path)), 0);
    assert_eq!(c.sha256sum("f"), server.first().sha256);
}

#[test]
fn a_chunked_body_cut_mid_chunk_is_an_error_then_whole() {
    let server = Flaky::start(Flaky::pattern(SIZE));
    let c = Client::new();
    let path = "/chunked-cut/100000";
    let out = c.curl("f", &[], &server.url(path));
    // 18: curl saw the connection end inside a chunk.
    assert_exit(&out, 18);
    assert_eq!(c.bytes("f").len(), 100_000);
    let head = c.head("f");
    assert_eq!(
        header(&head, "transfer-encoding").as_deref(),
        Some("chunked")
    );
    assert_eq!(header(&head, "content-length"), None);
    assert_exit(&c.curl("f", &["-C", "-"], &server.url(path)), 0);
    assert_eq!(c.sha256sum("f"), server.first().sha256);
    assert_eq!(
        header(&c.head("f"), "content-range").as_deref(),
        Some(format!("bytes 100000-{}/{SIZE}", SIZE - 1).as_str())
    );
}

#[test]
fn a_slow_answer_keeps_its_rate_and_a_range_beyond_the_end_is_refused() {
    let server = Flaky::start(Flaky::pattern(200_000));
    let c = Client::new();
    let started = Instant::now();
    assert_exit(&c.curl("f", &[], &server.url("/slow/100000")), 0);
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(1800), "{took:?}");
    assert_eq!(c.sha256sum("f"), server.first().sha256);
    // 22: --fail turns the 416 into curl's HTTP error.
    let out = c.curl("g", &["--fail", "-r", "200000-"], &server.url("/file"));
    assert_exit(&out, 22);
    assert!(status_line(&c.head("g")).contains(" 416 "));
    assert_eq!(
        header(&c.head("g"), "content-range").as_deref(),
        Some("bytes */200000")
    );
    // A weak tag never matches If-Range.
    let weak = format!("If-Range: W/{}", server.first().etag);
    assert_exit(
        &c.curl("g", &["-r", "5-", "-H", &weak], &server.url("/file")),
        0,
    );
    assert!(status_line(&c.head("g")).contains(" 200 "));
    let out = c.curl("g", &["--fail"], &server.url("/cut/x"));
    assert_exit(&out, 22);
}
