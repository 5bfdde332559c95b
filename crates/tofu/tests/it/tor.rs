//! Tor as a SOCKS5 proxy: a private network of Debian tor daemons (3 authorities, 2 relays,
//! all exits for loopback) and a C tor client whose SocksPort tofu uses with socks5h://.

use tofu_testkit::TorNet;

use crate::support::*;

#[test]
fn a_tor_daemon_socks_port_carries_a_fetch_and_its_exit_probe() {
    let w = World::new();
    let net = TorNet::start(3, 2, true);
    let via = format!("socks5h://127.0.0.1:{}", net.socks_port.unwrap());
    let out = w.fetch("run.json", &["--via", &via], &w.nginx.https_url("file.bin"));
    assert_exit(&out, 0);
    let t = w.read_json("run.json");
    assert_eq!(
        artifact(&t)["content"]["sha256"],
        tool_digest("sha256sum", &w.dir.path().join("www/file.bin"))
    );
    assert_eq!(t["vantage"]["transport"]["kind"], "socks5");
    // The whoami service saw the exit relay's address (every relay is on 127.0.0.1).
    assert_eq!(t["vantage"]["exit"]["ip"], "127.0.0.1");
}
