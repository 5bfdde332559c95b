//! Stream isolation of the embedded Tor client, seen from inside the process: arti's circuit
//! ids are meaningful only here, so this is where "different keys, different circuits" can be
//! checked. On a private network of Debian tor daemons, against nginx on loopback.

use std::time::Duration;

use tofu_fetch::tor::{Geoip, TorOptions};
use tofu_fetch::{Client, ClientOptions, FetchOptions, Source, Target};
use tofu_testkit::{Nginx, TestCa, TorNet};
use url::Url;

#[test]
fn each_isolation_key_gets_circuits_of_its_own_and_keeps_them() {
    let net = TorNet::start(3, 2, false);
    let dir = tempfile::tempdir().unwrap();
    let www = dir.path().join("www");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(www.join("a.txt"), b"isolation test\n").unwrap();
    let ca = TestCa::generate(dir.path(), "isolation test CA");
    let nginx = Nginx::start(&www, &ca, |_, _| String::new());
    let url = Url::parse(&nginx.http_url("a.txt")).unwrap();

    std::fs::write(dir.path().join("geoip"), net.geoip_ipv4()).unwrap();
    let tor = TorOptions {
        state_dir: dir.path().join("tor/state"),
        cache_dir: dir.path().join("tor/cache"),
        arti: toml::from_str(&net.arti_toml()).unwrap(),
        geoip: Geoip::from_files(Some(&dir.path().join("geoip")), None).unwrap(),
        bootstrap_timeout: Duration::from_secs(120),
        exit_country: None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client_options = ClientOptions {
            connect_timeout: Duration::from_secs(60),
            ..ClientOptions::default()
        };
        let client = Client::connect_tor(tor, &client_options, |_| {})
            .await
            .unwrap();
        let options = FetchOptions {
            max_size: 1 << 20,
            ..FetchOptions::default()
        };
        let a = client.isolated("a").unwrap();
        let b = client.isolated("b").unwrap();
        let target = |id: &str| Target {
            id: id.to_owned(),
            source: Source::Urls(vec![url.clone()]),
        };
        for (client, n) in [(&a, 1), (&a, 2), (&b, 1)] {
            let artifact = client
                .fetch(&target(&format!("fetch {n}")), &options)
                .await
                .artifact;
            assert!(
                artifact.error.is_none(),
                "{:?}; Tor said: {:?}; retries: {:?}; logs in {}",
                artifact.error,
                client.tor_streams().errors,
                client.tor_streams().retries,
                net.dir.display()
            );
        }
        // Key "a" used one circuit for its two fetches, key "b" another one (a stream the
        // bridge had to move to a new circuit may add one, and says why).
        let (circ_a, circ_b) = (a.tor_streams().circuits, b.tor_streams().circuits);
        let (retries_a, retries_b) = (a.tor_streams().retries, b.tor_streams().retries);
        assert!(
            (1..=1 + retries_a.len()).contains(&circ_a.len()),
            "{circ_a:?} {retries_a:?}"
        );
        assert!(
            (1..=1 + retries_b.len()).contains(&circ_b.len()),
            "{circ_b:?} {retries_b:?}"
        );
        assert!(
            circ_a.iter().all(|c| !circ_b.contains(c)),
            "{circ_a:?} {circ_b:?}"
        );
        // A second client with key "a" opens a new connection (its own pool) in the same
        // isolation group: the same circuit.
        let a_again = client.isolated("a").unwrap();
        let fetched = a_again.fetch(&target("again"), &options).await;
        // The artifact names the exits of its client's streams: the ones Tor saw.
        assert_eq!(fetched.artifact.tor_exits, fetched.tor.exits);
        assert!(!fetched.artifact.tor_exits.is_empty());
        let artifact = fetched.artifact;
        assert!(
            artifact.error.is_none(),
            "{:?}; Tor said: {:?}",
            artifact.error,
            a_again.tor_streams().errors
        );
        // (Unless a retry moved it, in which case the reason is shown.)
        let again = a_again.tor_streams().circuits;
        if a_again.tor_streams().retries == retries_a {
            assert_eq!(again.last(), circ_a.last(), "{again:?} {circ_a:?}");
        } else {
            assert!(
                again.iter().all(|c| !circ_b.contains(c)),
                "{again:?} {:?}",
                a_again.tor_streams().retries
            );
        }
        // Each recorded exit is a node of the network.
        for relay in a
            .tor_streams()
            .exits
            .iter()
            .chain(b.tor_streams().exits.iter())
        {
            let ip = relay.addresses[0]
                .parse::<std::net::SocketAddr>()
                .unwrap()
                .ip();
            assert!(net.node_at(&ip.to_string()).is_some(), "{relay:?}");
        }
    });
}
