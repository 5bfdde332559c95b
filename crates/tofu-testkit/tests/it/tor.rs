//! Cutting a Tor circuit mid-transfer on the private network: a slow download through the
//! network's C tor client, its exit found while the stream is open and killed; the stream
//! breaks, and the next download goes through another exit.

use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tofu_testkit::{Flaky, Node, TorNet, require_program};

/// Polls `what` every 100 ms until it gives a value; panics after `limit`.
fn poll<T>(limit: Duration, why: &str, mut what: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = what() {
            return value;
        }
        assert!(Instant::now() < deadline, "{why}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// curl through the network's SocksPort (names resolved by Tor), bounded to 90 s.
fn curl_via_tor(net: &TorNet, url: &str, out: &Path) -> Child {
    Command::new(require_program("curl", "curl"))
        .args(["-sS", "--max-time", "90", "--socks5-hostname"])
        .arg(format!("127.0.0.1:{}", net.socks_port.unwrap()))
        .arg("-o")
        .arg(out)
        .arg(url)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(child: &mut Child, limit: Duration) -> ExitStatus {
    poll(limit, "curl to end", || child.try_wait().unwrap())
}

fn len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// Waits until `net` has an exit connected to `port` and `out` holds `at_least` bytes.
fn exit_while_streaming<'n>(net: &'n TorNet, port: u16, out: &Path, at_least: u64) -> &'n Node {
    poll(
        Duration::from_secs(60),
        "an exit carrying the download",
        || net.exit_to(port).filter(|_| len(out) >= at_least),
    )
}

#[test]
fn killing_the_exit_of_a_stream_breaks_it_and_the_next_stream_uses_another_exit() {
    let net = TorNet::start(3, 2, true);
    const SIZE: usize = 4 << 20;
    let server = Flaky::start(Flaky::pattern(SIZE));
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first");
    // 4 MiB at 128 KiB a second: 32 s, time enough to find its exit and kill it.
    let mut child = curl_via_tor(&net, &server.url("/slow/131072"), &first);
    let exit = exit_while_streaming(&net, server.port, &first, 256 << 10);
    let killed = exit.nickname.clone();
    net.kill_node(exit);
    let status = finish(&mut child, Duration::from_secs(30));
    let stderr = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
    assert!(!status.success(), "the stream survived its exit: {stderr}");
    let got = len(&first);
    assert!(got >= 256 << 10 && got < SIZE as u64, "{got} bytes arrived");
    eprintln!("exit {killed} killed after {got} bytes; curl: {status}, {stderr}");

    // The next stream is carried whole, by another exit.
    let second = dir.path().join("second");
    let mut child = curl_via_tor(&net, &server.url("/slow/1048576"), &second);
    let other = exit_while_streaming(&net, server.port, &second, 1)
        .nickname
        .clone();
    let status = finish(&mut child, Duration::from_secs(60));
    let stderr = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
    assert!(status.success(), "{stderr}");
    assert_ne!(other, killed);
    assert_eq!(std::fs::read(&second).unwrap(), server.first().bytes);
    assert_eq!(server.requests("/slow/131072").len(), 1);
    assert_eq!(server.requests("/slow/1048576").len(), 1);
}
