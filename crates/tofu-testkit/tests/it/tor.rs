//! Cutting a Tor circuit mid-transfer on the private network: a slow download through the
//! network's C tor client, its exit found while the stream is open (`TorNet::exit_to`) and
//! killed (`TorNet::kill_node`); the stream breaks. tofu's own recovery from such a cut (a
//! new circuit, the body resumed) is tested end to end over its embedded client in
//! `crates/tofu/tests/it/tor.rs`.
//!
//! What C tor does with the *next* stream is not asserted: it is not bounded. The consensus
//! still lists the dead relay for about a minute, and a circuit through it may have been built
//! in the second of the kill. A CI run kept the client's info log of such a case. The next
//! SOCKS stream was attached to a circuit whose exit was the dead relay, built a moment before.
//! No DESTROY and no stream timeout came back within 60 s. Meanwhile the client chose the dead
//! relay as a first hop 16 more times (`UseEntryGuards 0`), each refused. An earlier version
//! of this test asserted that the next download went through another exit within 60 s. That
//! assertion failed in two clean-clone CI runs and passed in the others.

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
fn killing_the_exit_of_a_stream_breaks_it() {
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
    // What arrived is a prefix of the body, and it was asked for once.
    let body = std::fs::read(&first).unwrap();
    assert_eq!(body[..], server.first().bytes[..body.len()]);
    assert_eq!(server.requests("/slow/131072").len(), 1);
}
