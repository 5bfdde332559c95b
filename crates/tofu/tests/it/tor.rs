//! Tor, on a private network of Debian tor daemons (3 authorities and 2 relays, all exits for
//! loopback, each node on its own address which the whoami table and the network's geoip file
//! place in its own country): the client built into tofu (`--via tor`), pointed at the network
//! by the `[tor]` table `TorNet::tofu_toml` writes, and a C tor client's SocksPort used with
//! `--via socks5h://`.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use tofu_testkit::{LayoutBuilder, Microsocks, Registry, RegistryLie, TorNet, country_of};

use crate::support::*;

/// A world whose home config points `--via tor` at `net`.
fn tor_world(net: &TorNet) -> World {
    let w = World::new();
    w.configure(&w.home(), &net.tofu_toml());
    w
}

/// The IP address of a recorded relay's first ORPort address.
fn relay_ip(relay: &Value) -> String {
    let addr: std::net::SocketAddr = relay["addresses"][0].as_str().unwrap().parse().unwrap();
    addr.ip().to_string()
}

/// Whether `text` holds a run of exactly `n` lowercase hex digits followed by `next` (the
/// shape of the bridge's secret in its SOCKS username).
fn has_hex_run_then(text: &str, n: usize, next: char) -> bool {
    let hex = |c: char| c.is_ascii_digit() || ('a'..='f').contains(&c);
    let chars: Vec<char> = text.chars().collect();
    (0..chars.len().saturating_sub(n)).any(|i| {
        (i == 0 || !hex(chars[i - 1]))
            && chars[i..i + n].iter().all(|&c| hex(c))
            && chars[i + n] == next
    })
}

/// Asserts that a recorded exit relay is a node of `net`, described as the node is.
#[track_caller]
fn assert_is_node(net: &TorNet, relay: &Value) {
    let ip = relay_ip(relay);
    let node = net
        .node_at(&ip)
        .unwrap_or_else(|| panic!("{ip} is no node of the network: {relay}"));
    assert_eq!(relay["rsa_identity"], node.rsa_fingerprint.as_str());
    assert_eq!(relay["ed25519_identity"], node.ed_identity.as_str());
    assert_eq!(relay["nickname"], node.nickname.as_str());
    assert_eq!(relay["country"], country_of(&ip));
}

/// One network serves every scenario (each starts about 20 tor and arti processes' worth of
/// work on two cores; three networks at once made the machine the bottleneck). The
/// scenarios run in turn, each in its own world.
#[test]
fn tor_on_a_private_network() {
    let net = TorNet::start(3, 2, true);
    the_embedded_client_fetches_records_its_exits_and_counts_as_a_vantage(&net);
    a_lie_on_the_way_to_the_exits_is_caught_and_an_interrupted_run_leaves_nothing_complete(&net);
    a_tor_daemon_socks_port_is_recognised_and_carries_a_fetch_and_its_exit_probe(&net);
    an_image_pull_over_tor_is_the_same_verified_pull(&net);
    // Last: it kills a node of the network.
    a_download_whose_circuit_is_cut_resumes_on_a_new_circuit_and_records_both_exits(&net);
}

fn the_embedded_client_fetches_records_its_exits_and_counts_as_a_vantage(net: &TorNet) {
    let w = tor_world(net);
    let url = w.nginx.https_url("file.bin");
    let mirror = w.nginx.https_url("mirror/file.bin");
    let started = chrono::Utc::now();
    let out = w.tofu(&[
        "fetch",
        "--ca-cert",
        w.ca.root_pem.to_str().unwrap(),
        "--via",
        "tor",
        "-o",
        "tor.json",
        &url,
        &mirror,
    ]);
    assert_exit(&out, 0);
    let err = stderr(&out);
    assert!(err.contains("Tor bootstrap: done"), "{err}");
    assert!(err.contains("Tor exit: test0"), "{err}");

    let t = w.read_json("tor.json");
    let transport = &t["vantage"]["transport"];
    assert_eq!(transport["kind"], "tor");
    assert_eq!(transport["exit_country"], Value::Null);
    let geoip = std::fs::read(net.dir.join("geoip")).unwrap();
    assert_eq!(
        transport["geoip"],
        format!("file sha256:{}", tool_digest_bytes(&geoip))
    );
    let valid_after: chrono::DateTime<chrono::Utc> = transport["consensus_valid_after"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        valid_after > started - chrono::Duration::minutes(10) && valid_after <= chrono::Utc::now(),
        "{valid_after}"
    );
    // The bytes are the file's, by an independent tool.
    let sha = tool_digest("sha256sum", &w.dir.path().join("www/file.bin"));
    for a in t["artifacts"].as_array().unwrap() {
        assert_eq!(a["content"]["sha256"], sha.as_str());
        let exits = a["tor_exits"].as_array().unwrap();
        assert_eq!(exits.len(), 1, "{a}");
        assert_is_node(net, &exits[0]);
        // Over the embedded client too, each body's TLS facts are its own connection's:
        // nginx's leaf, verified through the test CA.
        let tls = &a["fetches"][0]["http"]["tls"];
        assert!(tls["leaf_cert_sha256"].is_string(), "{a}");
        assert_eq!(tls["chain_sha256"][0], tls["leaf_cert_sha256"], "{a}");
        assert_eq!(tls["anchor"]["subject"], "CN=tofu test CA", "{a}");
        assert_eq!(tls["anchor"]["source"], "ca-cert", "{a}");
    }
    let probe_tls = &t["vantage"]["exit"]["probes"][0]["tls"];
    assert_eq!(probe_tls["anchor"]["subject"], "CN=tofu test CA", "{t}");
    // The exit probe went through a circuit of its own, whose exit is recorded; the whoami
    // service saw the exit's connection, which comes from 127.0.0.1 on this network.
    let probe_exits = transport["exits"].as_array().unwrap();
    assert_eq!(probe_exits.len(), 1, "{transport}");
    assert_is_node(net, &probe_exits[0]);
    assert_eq!(t["vantage"]["exit"]["ip"], "127.0.0.1");
    // Asked again after the downloads, on the same circuit's isolation; the answers speak
    // only for the lookups, each artifact's exit being its own.
    assert_eq!(t["vantage"]["exit_after"]["ip"], "127.0.0.1");
    assert_eq!(t["vantage"]["exit_scope"], "lookups");

    // A run through a SOCKS proxy leaving from 127.0.1.1 (DE by the whoami table), the Tor
    // run through its exit relays (127.0.2x.1, their geoip countries) and from 127.0.0.1:
    // distinct networks and countries, so the two runs agree under both rules.
    let socks = Microsocks::start(Some([127, 0, 1, 1].into()), None);
    let via = format!("socks5h://127.0.0.1:{}", socks.port);
    let ca = w.ca.root_pem.to_str().unwrap();
    let out = w.tofu(&[
        "fetch",
        "--ca-cert",
        ca,
        "--via",
        &via,
        "-o",
        "de.json",
        &url,
        &mirror,
    ]);
    assert_exit(&out, 0);
    let out = w.tofu(&[
        "compare",
        "--min-runs",
        "2",
        "--require",
        "distinct-networks,distinct-countries",
        "tor.json",
        "de.json",
    ]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(text.contains("via tor"), "{text}");
    for rule in ["distinct-networks", "distinct-countries"] {
        assert!(
            text.lines()
                .any(|l| l.contains(rule) && l.contains("every run has its own")),
            "{rule} should be met: {text}"
        );
    }
    let out = w.tofu(&["status", "tor.json", "de.json"]);
    let text = stdout(&out);
    assert!(text.contains("via tor"), "{text}");
    assert!(
        text.contains(probe_exits[0]["country"].as_str().unwrap()),
        "{text}"
    );
    // Two Tor runs whose exits share a network do not count as distinct: the exits of a
    // second run are all nodes of the same network, on 127.0.2x.0/24 and from 127.0.0.1.
    assert_exit(&w.fetch("tor2.json", &["--via", "tor"], &url), 0);
    let out = w.tofu(&[
        "compare",
        "--require",
        "distinct-networks",
        "--min-runs",
        "2",
        "tor.json",
        "tor2.json",
    ]);
    assert_exit(&out, 3);
    assert!(
        stdout(&out).contains("share the exit network 127.0.0.0/24"),
        "{}",
        stdout(&out)
    );

    // A stream Tor cannot open (the exits here resolve no names) fails the artifact with
    // Tor's reason, and neither the transcript nor the terminal shows the bridge's secret.
    let by_name = w
        .nginx
        .https_url("file.bin")
        .replace("127.0.0.1", "localhost");
    let out = w.fetch("named.json", &["--via", "tor"], &by_name);
    assert_exit(&out, 1);
    let t = w.read_json("named.json");
    let message = artifact(&t)["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("(Tor: "), "{message}");
    let everything = format!("{}{}{t}", stdout(&out), stderr(&out));
    assert!(
        !has_hex_run_then(&everything, 32, '.'),
        "the bridge secret leaked: {everything}"
    );

    // An exit country the network cannot give: a clear error, nothing written.
    let out = w.fetch("tor-de.json", &["--via", "tor:DE"], &url);
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(err.contains("no exit relay") && err.contains("DE"), "{err}");
    assert!(!w.path("tor-de.json").exists());

    // A corrupt state file and a corrupt directory cache: clear errors naming the directory;
    // with the directory moved away, a fresh one works.
    let data = w.home().join(".local/share/tofu/tor");
    let guards = data.join("state/state/guards.json");
    assert!(
        guards.exists(),
        "arti keeps its guards in {}",
        guards.display()
    );
    std::fs::write(&guards, "{ not json").unwrap();
    let out = w.fetch("bad1.json", &["--via", "tor"], &url);
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(
        err.contains("cannot use the Tor client's state and cache in")
            && err.contains("guards.json")
            && err.contains("hint: move"),
        "{err}"
    );
    std::fs::remove_file(&guards).unwrap();
    std::fs::write(data.join("cache/dir.sqlite3"), "not a database").unwrap();
    let out = w.fetch("bad2.json", &["--via", "tor"], &url);
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(
        err.contains("cannot use the Tor client's state and cache in")
            && err.contains("not a database"),
        "{err}"
    );
    assert!(!w.path("bad1.json").exists() && !w.path("bad2.json").exists());
    std::fs::rename(&data, w.path("old-tor-state")).unwrap();
    assert_exit(&w.fetch("again.json", &["--via", "tor"], &url), 0);
}

fn a_lie_on_the_way_to_the_exits_is_caught_and_an_interrupted_run_leaves_nothing_complete(
    net: &TorNet,
) {
    let w = tor_world(net);
    let url = w.nginx.http_url("targeted/file.bin");
    let socks = Microsocks::start(Some([127, 0, 1, 1].into()), None);
    let via = format!("socks5h://127.0.0.1:{}", socks.port);
    assert_exit(&w.fetch("honest.json", &["--via", &via], &url), 0);
    assert_exit(&w.fetch("tor.json", &["--via", "tor"], &url), 0);
    let out = w.compare_bytes_only(&["--min-runs", "2", "honest.json", "tor.json"]);
    assert_exit(&out, 1);
    let text = stdout(&out);
    assert!(text.contains("verdict: DISAGREE"), "{text}");
    assert!(text.contains("(tor.json, tor)"), "{text}");
    assert_eq!(
        w.read_json("honest.json")["artifacts"][0]["content"]["sha256"],
        tool_digest("sha256sum", &w.dir.path().join("www/file.bin"))
    );
    assert_eq!(
        w.read_json("tor.json")["artifacts"][0]["content"]["sha256"],
        tool_digest("sha256sum", &w.dir.path().join("www/tampered/file.bin"))
    );

    // A download through Tor killed halfway: neither the payload under its own name nor the
    // transcript exists; only a hidden .part file may remain.
    let keep = w.path("kept");
    let mut child = w
        .command(&w.home())
        .args(["fetch", "--via", "tor", "--keep"])
        .arg(&keep)
        .args(["-o", "slow.json"])
        .arg(w.nginx.http_url("slow/file.bin"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    let part_with_bytes = || {
        std::fs::read_dir(&keep).ok().is_some_and(|entries| {
            entries.flatten().any(|e| {
                e.file_name().to_string_lossy().ends_with(".part")
                    && e.metadata().is_ok_and(|m| m.len() > 100_000)
            })
        })
    };
    while !part_with_bytes() {
        assert!(
            Instant::now() < deadline,
            "the slow download never got going"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "tofu ended before being interrupted"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!w.path("slow.json").exists());
    assert!(!w.path("slow.json.minisig").exists());
    for entry in std::fs::read_dir(&keep).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(
            name.starts_with('.') && name.ends_with(".part"),
            "{name} looks like a complete file"
        );
    }
}

fn a_tor_daemon_socks_port_is_recognised_and_carries_a_fetch_and_its_exit_probe(net: &TorNet) {
    let w = World::new();
    let via = format!("socks5h://127.0.0.1:{}", net.socks_port.unwrap());
    let out = w.fetch("run.json", &["--via", &via], &w.nginx.https_url("file.bin"));
    assert_exit(&out, 0);
    let t = w.read_json("run.json");
    assert_eq!(
        artifact(&t)["content"]["sha256"],
        tool_digest("sha256sum", &w.dir.path().join("www/file.bin"))
    );
    let transport = &t["vantage"]["transport"];
    assert_eq!(transport["kind"], "socks5");
    // tofu asked the proxy what it is, and gave it random credentials (never recorded).
    assert_eq!(transport["tor_daemon"], true);
    assert_eq!(transport["authenticated"], true);
    assert_eq!(transport["proxy"], via.as_str());
    // The whoami service saw the exit's connection (from 127.0.0.1 on this network), before
    // and after the download; but the daemon may have carried the download through another
    // exit, and does not say which: the transcript and stderr say so.
    assert_eq!(t["vantage"]["exit"]["ip"], "127.0.0.1");
    assert_eq!(t["vantage"]["exit_after"]["ip"], "127.0.0.1");
    assert_eq!(t["vantage"]["exit_scope"], "lookups");
    assert_eq!(artifact(&t)["tor_exits"], serde_json::json!([]));
    assert!(
        stderr(&out).contains("this proxy is a Tor daemon"),
        "{}",
        stderr(&out)
    );
    let everything = format!("{}{}{t}", stdout(&out), stderr(&out));
    let credentials = everything.match_indices("tofu-").any(|(i, _)| {
        let rest = &everything[i + 5..];
        rest.len() >= 24 && rest[..24].bytes().all(|b| b.is_ascii_hexdigit())
    });
    assert!(!credentials, "the random credentials leaked: {everything}");

    // A SOCKS5 server that is not Tor is not taken for one.
    let socks = Microsocks::start(None, None);
    let out = w.fetch(
        "plain.json",
        &["--via", &format!("socks5h://127.0.0.1:{}", socks.port)],
        &w.nginx.https_url("file.bin"),
    );
    assert_exit(&out, 0);
    let plain = w.read_json("plain.json");
    let transport = &plain["vantage"]["transport"];
    assert_eq!(transport["tor_daemon"], false);
    assert_eq!(transport["authenticated"], false);
    assert_eq!(plain["vantage"]["exit_scope"], "run");

    // The Tor daemon run's networks and countries are unknown: missing evidence, never a
    // network of its own.
    let out = w.tofu(&[
        "compare",
        "--json",
        "--min-runs",
        "2",
        "--require",
        "distinct-networks,distinct-countries",
        "run.json",
        "plain.json",
    ]);
    assert_exit(&out, 3);
    let report: Value = json_of(&out);
    for rule in &report["rules"].as_array().unwrap()[2..] {
        assert_eq!(rule["status"], "no-evidence", "{rule}");
        assert_eq!(
            rule["message"],
            format!(
                "run #1: its artifact {} went through a Tor daemon, whose exits are unknown \
                 without its control port (use --via tor)",
                w.nginx.https_url("file.bin")
            )
        );
    }
}

fn an_image_pull_over_tor_is_the_same_verified_pull(net: &TorNet) {
    let w = tor_world(net);
    let registry = Registry::start(&w.ca, &["test/app"]);
    let mut layout = LayoutBuilder::new(&w.path("layout"));
    let image = layout.image("linux", "amd64", 2, 50_000);
    layout.tag(&image, "1.0");
    registry.push(&layout.dir, "1.0", "test/app");
    let front = registry.front(&w.ca, &RegistryLie::None);
    let out = w.fetch(
        "image.json",
        &["--via", "tor"],
        &front.reference("test/app:1.0"),
    );
    assert_exit(&out, 0);
    let t = w.read_json("image.json");
    let oci = &artifact(&t)["oci"];
    // The digest of the bytes skopeo reads; token auth and the blob redirect to the CDN's
    // host (127.0.0.2) went through the same circuit machinery.
    let raw = registry.skopeo_raw("test/app:1.0");
    assert_eq!(
        oci["top"]["digest"],
        format!("sha256:{}", tool_digest_bytes(&raw))
    );
    assert_eq!(oci["top"]["digest"], image.digest.as_str());
    assert_eq!(oci["redirect_hosts"], serde_json::json!(["127.0.0.2"]));
    let exits = artifact(&t)["tor_exits"].as_array().unwrap();
    assert!(!exits.is_empty(), "{t}");
    for exit in exits {
        assert_is_node(net, exit);
    }
}

/// A slow download over the embedded client; its exit relay is killed mid-way (SIGKILL, as a
/// crash would: every circuit through it breaks). tofu resumes the body on a new circuit, and
/// the transcript holds both exits, each attempt with its own.
fn a_download_whose_circuit_is_cut_resumes_on_a_new_circuit_and_records_both_exits(net: &TorNet) {
    let w = tor_world(net);
    // 4 MiB at 256 KiB a second: 16 s, time enough to find the exit and kill it.
    let server = tofu_testkit::Flaky::start(tofu_testkit::Flaky::pattern(4 << 20));
    let path = "/slow/262144";
    let mut child = w
        .command(&w.home())
        .args(["fetch", "--via", "tor", "--retries", "4", "-o", "cut.json"])
        .arg(server.url(path))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    let exit = loop {
        if let Some(node) = net
            .exit_to(server.port)
            .filter(|_| !server.requests(path).is_empty())
        {
            break node;
        }
        assert!(
            Instant::now() < deadline,
            "no exit carried the download within 90 s"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "tofu ended before the cut"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    // Let some bytes through first, so the resumption continues a body.
    std::thread::sleep(Duration::from_millis(1500));
    net.kill_node(exit);
    let deadline = Instant::now() + Duration::from_secs(150);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "tofu did not end within 150 s of the cut"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let stderr = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
    assert!(status.success(), "{stderr}");
    let t = w.read_json("cut.json");
    let a = artifact(&t);
    assert_eq!(
        a["content"]["sha256"],
        server.first().sha256.as_str(),
        "{stderr}"
    );
    let attempts = fetch0(&t)["http"]["attempts"].as_array().unwrap();
    assert!(attempts.len() >= 2, "{attempts:?}");
    let first = &attempts[0];
    assert!(first["error"]["code"].is_string(), "{first}");
    assert!(first["received"].as_u64().unwrap() > 0, "{first}");
    assert_eq!(first["tor_exit"], exit.rsa_fingerprint.as_str());
    let last = attempts.last().unwrap();
    assert!(last["error"].is_null(), "{last}");
    assert!(last["restart"].is_null(), "the body continued: {last}");
    assert_ne!(last["tor_exit"], exit.rsa_fingerprint.as_str());
    // Both exits are the artifact's, so the rules count both.
    let exits: Vec<&str> = a["tor_exits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rsa_identity"].as_str().unwrap())
        .collect();
    assert!(exits.contains(&exit.rsa_fingerprint.as_str()), "{exits:?}");
    assert!(
        exits.contains(&last["tor_exit"].as_str().unwrap()),
        "{exits:?}"
    );
    // The continuation asked for the rest, with a range.
    let asked = server.requests(path);
    assert!(asked.last().unwrap().range.is_some(), "{asked:?}");
}
