//! `tofu fetch` against real nginx, microsocks and the lying proxy: digests, redirects,
//! failures recorded, keep, transports, signatures.

use std::net::IpAddr;

use tofu_testkit::{Lie, LyingProxy, Microsocks};

use crate::support::*;

#[test]
fn https_fetch_records_digests_equal_to_sha256sum_and_minisign_verifies() {
    let w = World::new();
    let out = w.fetch(
        "run.json",
        &["--label", "laptop, home ISP"],
        &w.nginx.https_url("file.bin"),
    );
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("created signing key"),
        "{}",
        stderr(&out)
    );

    let t = w.read_json("run.json");
    let a = artifact(&t);
    let file = w.dir.path().join("www/file.bin");
    assert_eq!(a["content"]["sha256"], tool_digest("sha256sum", &file));
    assert_eq!(a["content"]["sha512"], tool_digest("sha512sum", &file));
    assert_eq!(a["content"]["size"], payload().len());
    assert_eq!(a["error"], serde_json::Value::Null);
    let http = &fetch0(&t)["http"];
    assert_eq!(http["status"], 200);
    assert_eq!(
        http["headers"]["content-length"],
        payload().len().to_string()
    );
    let tls = &http["tls"];
    assert!(
        tls["version"].as_str().unwrap().starts_with("TLSv1."),
        "{tls}"
    );
    assert_eq!(tls["leaf_cert_sha256"].as_str().unwrap().len(), 64);
    assert_eq!(tls["chain_sha256"][0], tls["leaf_cert_sha256"]);
    assert_eq!(tls["leaf_spki_sha256"].as_str().unwrap().len(), 64);
    assert_eq!(tls["chain_root_issuer"], "CN=tofu test CA");
    // The exit evidence came through the same transport, from the whoami service.
    assert_eq!(t["vantage"]["exit"]["ip"], "127.0.0.1");
    assert_eq!(t["vantage"]["exit"]["country"], "US");
    assert_eq!(t["vantage"]["exit"]["conflict"], false);
    assert_eq!(t["run"]["label"], "laptop, home ISP");
    assert_eq!(t["vantage"]["transport"]["kind"], "direct");
    let root_der_sha = {
        let pem = std::fs::read_to_string(&w.ca.root_pem).unwrap();
        let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("echo '{b64}' | base64 -d | sha256sum"))
            .output()
            .unwrap();
        String::from_utf8(der.stdout).unwrap()[..64].to_owned()
    };
    assert_eq!(t["vantage"]["extra_roots"][0], root_der_sha);

    // The standard minisign CLI verifies the sign-off with the operator's public key.
    assert!(minisign_verifies(&w.path("run.json"), &w.pub_key()));
    // The secret key is private.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(w.home().join(".config/tofu/signing.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    // The file is canonical: sorted keys, so re-serializing the parsed JSON (serde_json's
    // map is sorted) gives the same bytes.
    let bytes = std::fs::read(w.path("run.json")).unwrap();
    let mut again = serde_json::to_vec_pretty(&t).unwrap();
    again.push(b'\n');
    assert_eq!(
        String::from_utf8(bytes).unwrap(),
        String::from_utf8(again).unwrap()
    );

    // A second fetch reuses the key and does not announce a new one.
    let out = w.fetch("run2.json", &[], &w.nginx.https_url("file.bin"));
    assert_exit(&out, 0);
    assert!(!stderr(&out).contains("created signing key"));
    assert_eq!(w.read_json("run2.json")["signer"], t["signer"]);
    assert_ne!(w.read_json("run2.json")["run"]["id"], t["run"]["id"]);
}

#[test]
fn without_the_ca_https_fails_and_the_failure_is_recorded_and_signed() {
    let w = World::new();
    let out = w.tofu(&["fetch", "-o", "run.json", &w.nginx.https_url("file.bin")]);
    assert_exit(&out, 1);
    let t = w.read_json("run.json");
    let a = artifact(&t).clone();
    assert_eq!(a["error"]["code"], "tls", "{a}");
    // Said in a person's words, on the terminal and in the transcript; the library's own
    // chain is kept in the transcript and shown with -v.
    let said = "the TLS certificate of 127.0.0.1 was refused: UnknownIssuer";
    assert_eq!(a["error"]["message"], said);
    assert!(
        stderr(&out).contains(&format!("FAILED (tls): {said}\n")),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("caused by"), "{}", stderr(&out));
    let causes = a["error"]["causes"].as_array().unwrap();
    assert!(
        causes
            .iter()
            .any(|c| c.as_str().unwrap().contains("invalid peer certificate")),
        "{a}"
    );
    let out = w.tofu(&[
        "fetch",
        "-v",
        "--force",
        "-o",
        "run.json",
        &w.nginx.https_url("file.bin"),
    ]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("    caused by: invalid peer certificate: UnknownIssuer"),
        "{}",
        stderr(&out)
    );
    // The refused certificate is evidence too.
    assert_eq!(fetch0(&t)["http"], serde_json::Value::Null);
    // The whoami probe failed the same way: missing evidence, not a failed run.
    assert_eq!(t["vantage"]["exit"]["ip"], serde_json::Value::Null);
    assert_eq!(t["vantage"]["exit"]["probes"][0]["error"]["code"], "tls");
    assert_eq!(a["content"], serde_json::Value::Null);
    assert!(minisign_verifies(&w.path("run.json"), &w.pub_key()));
    assert_exit(&w.tofu(&["verify", "run.json"]), 0);
}

#[test]
fn redirects_are_recorded_hop_by_hop() {
    let w = World::new();
    let out = w.fetch("run.json", &[], &w.nginx.https_url("r1"));
    assert_exit(&out, 0);
    let t = w.read_json("run.json");
    let http = &fetch0(&t)["http"];
    let statuses: Vec<u64> = http["hops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [302, 301, 307, 200]);
    assert_eq!(http["final_url"], w.nginx.https_url("file.bin"));
    assert_eq!(http["hops"][0]["location"], w.nginx.https_url("r2"));
    assert_eq!(artifact(&t)["id"], w.nginx.https_url("r1"));
}

#[test]
fn a_downgrade_a_loop_a_bad_scheme_and_a_404_are_failures_in_the_transcript() {
    let w = World::new();
    let cases = [
        ("downgrade", "insecure-redirect"),
        ("loop", "too-many-redirects"),
        ("weird-scheme", "bad-redirect"),
        ("missing.bin", "http-status"),
    ];
    for (path, code) in cases {
        let out_name = format!("{path}.json");
        let out = w.fetch(&out_name, &[], &w.nginx.https_url(path));
        assert_exit(&out, 1);
        let t = w.read_json(&out_name);
        let a = artifact(&t);
        assert_eq!(a["error"]["code"], code, "{path}: {a}");
        assert_eq!(a["content"], serde_json::Value::Null);
        assert!(stderr(&out).contains(code), "{}", stderr(&out));
        assert!(minisign_verifies(&w.path(&out_name), &w.pub_key()));
    }
    let t = w.read_json("loop.json");
    assert_eq!(fetch0(&t)["http"]["hops"].as_array().unwrap().len(), 11);
}

/// One target fails, the other is fetched: both are in the transcript, and in the summary
/// `--json` prints (the only thing on stdout, valid under docs/json/fetch.schema.json, with
/// the digests sha256sum gives).
#[test]
fn one_failed_target_does_not_drop_the_others() {
    let w = World::new();
    let ca = w.ca.root_pem.to_str().unwrap().to_owned();
    let (good, bad) = (w.nginx.https_url("file.bin"), w.nginx.https_url("nope.bin"));
    let out = w.tofu(&[
        "fetch",
        "--json",
        "--ca-cert",
        &ca,
        "-o",
        "run.json",
        &bad,
        &good,
    ]);
    assert_exit(&out, 1);
    let t = w.read_json("run.json");
    assert_eq!(t["artifacts"].as_array().unwrap().len(), 2);
    assert_eq!(t["artifacts"][0]["error"]["code"], "http-status");
    assert_eq!(t["artifacts"][1]["error"], serde_json::Value::Null);

    let summary = tofu_testkit::schema::assert_conforms("fetch", &stdout(&out));
    assert_eq!(summary["format"], "tofu-fetch-summary/1");
    assert_eq!(summary["transcript"], "run.json");
    assert_eq!(summary["signature"], "run.json.minisig");
    assert_eq!(summary["run_id"], t["run"]["id"]);
    assert_eq!(summary["key_id"], t["signer"]["key_id"]);
    assert_eq!(summary["exit_ip"], "127.0.0.1");
    assert_eq!(
        (summary["fetched"].as_u64(), summary["failed"].as_u64()),
        (Some(1), Some(1))
    );
    let [failed, fetched] = summary["artifacts"].as_array().unwrap().as_slice() else {
        panic!("two artifacts: {summary}");
    };
    assert_eq!(failed["outcome"], "failed");
    assert_eq!(failed["url"], bad.as_str());
    assert_eq!(failed["error"]["code"], "http-status");
    assert_eq!(failed["content"], serde_json::Value::Null);
    assert_eq!(fetched["outcome"], "fetched");
    let file = w.dir.path().join("www/file.bin");
    assert_eq!(
        fetched["content"]["sha256"],
        tool_digest("sha256sum", &file)
    );
    assert_eq!(
        fetched["content"]["sha512"],
        tool_digest("sha512sum", &file)
    );
    // People still read how it went on stderr.
    assert!(
        stderr(&out).contains("FAILED (http-status)"),
        "{}",
        stderr(&out)
    );
}

/// The file names in a keep directory, sorted, temporary ones included.
fn kept_names(keep: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(keep)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn keep_writes_complete_files_only_and_never_clobbers() {
    let w = World::new();
    let keep = w.path("kept");
    let keep_s = keep.to_str().unwrap();
    // A file already under the payload's name is the user's: it survives byte for byte.
    std::fs::create_dir_all(&keep).unwrap();
    std::fs::write(keep.join("file.bin"), b"mine, not tofu's").unwrap();
    for out in ["a.json", "b.json"] {
        assert_exit(
            &w.fetch(out, &["--keep", keep_s], &w.nginx.https_url("file.bin")),
            0,
        );
    }
    assert_eq!(
        std::fs::read(keep.join("file.bin")).unwrap(),
        b"mine, not tofu's"
    );
    assert_eq!(std::fs::read(keep.join("file.bin.1")).unwrap(), payload());
    assert_eq!(std::fs::read(keep.join("file.bin.2")).unwrap(), payload());
    assert_eq!(fetch0(&w.read_json("a.json"))["kept_as"], "file.bin.1");
    assert_eq!(fetch0(&w.read_json("b.json"))["kept_as"], "file.bin.2");

    // A download cut short, or one over --max-size, leaves nothing: no file under the
    // clean name, no temporary file.
    let liar = LyingProxy::start(Lie::TruncateBody { after: 100_000 });
    let out = w.fetch(
        "c.json",
        &["--keep", keep_s, "--via", &liar.url()],
        &w.nginx.http_url("file.bin"),
    );
    assert_exit(&out, 1);
    assert_eq!(
        artifact(&w.read_json("c.json"))["error"]["code"],
        "truncated"
    );
    let out = w.fetch(
        "d.json",
        &["--keep", keep_s, "--max-size", "1000000"],
        &w.nginx.https_url("file.bin"),
    );
    assert_exit(&out, 1);
    let d = w.read_json("d.json");
    assert_eq!(artifact(&d)["error"]["code"], "size-limit");
    assert_eq!(fetch0(&d)["kept_as"], serde_json::Value::Null);
    assert_eq!(kept_names(&keep), ["file.bin", "file.bin.1", "file.bin.2"]);
}

#[test]
fn keep_names_the_payload_after_the_url_asked_for_not_a_redirect() {
    let w = World::new();
    let keep = w.path("kept");
    let keep_s = keep.to_str().unwrap();
    // /A.iso redirects to /B.iso, another artifact: the payload is A's, named A.
    let out = w.fetch("a.json", &["--keep", keep_s], &w.nginx.https_url("A.iso"));
    assert_exit(&out, 0);
    let t = w.read_json("a.json");
    assert!(
        fetch0(&t)["http"]["final_url"]
            .as_str()
            .unwrap()
            .ends_with("/B.iso")
    );
    assert_eq!(fetch0(&t)["kept_as"], "A.iso");
    // Three redirects on, /r1 is still r1.
    let out = w.fetch("r.json", &["--keep", keep_s], &w.nginx.https_url("r1"));
    assert_exit(&out, 0);
    assert_eq!(fetch0(&w.read_json("r.json"))["kept_as"], "r1");
    assert_eq!(kept_names(&keep), ["A.iso", "r1"]);
    assert_eq!(
        std::fs::read(keep.join("A.iso")).unwrap(),
        b"the B artifact"
    );
}

#[test]
fn max_size_stops_the_download() {
    let w = World::new();
    let out = w.fetch(
        "run.json",
        &["--max-size", "1000"],
        &w.nginx.https_url("file.bin"),
    );
    assert_exit(&out, 1);
    assert_eq!(
        artifact(&w.read_json("run.json"))["error"]["code"],
        "size-limit"
    );
}

#[test]
fn a_token_in_the_url_or_a_redirect_reaches_no_transcript_and_no_terminal() {
    let w = World::new();
    // A token as the username alone, in a camelCase parameter and in an OAuth-style
    // fragment; /signed then redirects to a signed CloudFront/S3-style link.
    let with_tokens = |url: String| {
        url.replacen("://", &format!("://{SECRET}u@"), 1)
            + &format!("?accessToken={SECRET}q&arch=amd64#access_token={SECRET}f")
    };
    let https = with_tokens(w.nginx.https_url("signed"));
    let http = with_tokens(w.nginx.http_url("signed"));
    let ca = w.ca.root_pem.to_str().unwrap();
    let out = w.tofu(&["fetch", "--ca-cert", ca, "-o", "run.json", &https, &http]);
    assert_exit(&out, 0);

    let transcript = std::fs::read_to_string(w.path("run.json")).unwrap();
    let signature = std::fs::read_to_string(w.path("run.json.minisig")).unwrap();
    for (what, text) in [
        ("transcript", &transcript),
        ("signature", &signature),
        ("stdout", &stdout(&out)),
        ("stderr", &stderr(&out)),
    ] {
        assert!(!text.contains(SECRET), "{what}: {text}");
    }
    // What identifies the artifact is still there, and the fetch went through.
    let t = w.read_json("run.json");
    let http_record = &fetch0(&t)["http"];
    let id = artifact(&t)["id"].as_str().unwrap();
    assert!(
        id.contains("REDACTED@127.0.0.1") && id.contains("accessToken=REDACTED&arch=amd64"),
        "{id}"
    );
    let location = http_record["hops"][0]["location"].as_str().unwrap();
    assert!(
        location.ends_with("/file.bin?version=1&X-Amz-Signature=REDACTED&Key-Pair-Id=REDACTED"),
        "{location}"
    );
    assert_eq!(http_record["final_url"], location);
    assert_eq!(
        artifact(&t)["content"]["sha256"],
        tool_digest("sha256sum", &w.dir.path().join("www/file.bin"))
    );
    // The plain-http warning names the URL too, redacted.
    assert!(
        stderr(&out).contains("REDACTED@127.0.0.1"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn socks5h_with_credentials_is_recorded_without_them() {
    let w = World::new();
    let proxy = Microsocks::start(None, Some(("alice", "s3cretpw")));
    let via = format!("socks5h://alice:s3cretpw@127.0.0.1:{}", proxy.port);
    let out = w.fetch("run.json", &["--via", &via], &w.nginx.https_url("file.bin"));
    assert_exit(&out, 0);
    let text = std::fs::read_to_string(w.path("run.json")).unwrap();
    assert!(
        !text.contains("s3cretpw") && !text.contains("alice"),
        "{text}"
    );
    assert!(!stderr(&out).contains("s3cretpw"));
    let t = w.read_json("run.json");
    let tr = &t["vantage"]["transport"];
    assert_eq!(tr["kind"], "socks5");
    assert_eq!(tr["proxy"], format!("socks5h://127.0.0.1:{}", proxy.port));
    assert_eq!(tr["authenticated"], true);
    assert_eq!(tr["remote_dns"], true);
    assert_eq!(
        artifact(&t)["content"]["sha256"],
        tool_digest("sha256sum", &w.dir.path().join("www/file.bin"))
    );

    // Wrong credentials: the proxy refuses, the failure is recorded as a connect error.
    let via = format!("socks5h://alice:wrong@127.0.0.1:{}", proxy.port);
    let out = w.fetch("bad.json", &["--via", &via], &w.nginx.https_url("file.bin"));
    assert_exit(&out, 1);
    assert_eq!(
        artifact(&w.read_json("bad.json"))["error"]["code"],
        "connect"
    );
    assert!(
        !std::fs::read_to_string(w.path("bad.json"))
            .unwrap()
            .contains("wrong")
    );
}

#[test]
fn socks5_without_h_warns_about_dns() {
    let w = World::new();
    let proxy = Microsocks::start(Some(IpAddr::from([127, 0, 0, 1])), None);
    let via = format!("socks5://127.0.0.1:{}", proxy.port);
    let out = w.fetch("run.json", &["--via", &via], &w.nginx.https_url("file.bin"));
    assert_exit(&out, 0);
    assert!(stderr(&out).contains("leaks"), "{}", stderr(&out));
    assert_eq!(
        w.read_json("run.json")["vantage"]["transport"]["remote_dns"],
        false
    );
}

#[test]
fn an_interface_binds_the_sockets() {
    let w = World::new();
    let out = w.fetch(
        "run.json",
        &["--via", "iface:lo"],
        &w.nginx.https_url("file.bin"),
    );
    assert_exit(&out, 0);
    let t = w.read_json("run.json");
    assert_eq!(t["vantage"]["transport"]["kind"], "interface");
    assert_eq!(t["vantage"]["transport"]["name"], "lo");
    let out = w.fetch(
        "x.json",
        &["--via", "iface:nosuch0"],
        &w.nginx.https_url("file.bin"),
    );
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("nosuch0"));
    assert!(!w.path("x.json").exists());
}

/// Bound to an interface, a run resolves names over that interface too: the name is known
/// only to a resolver inside the namespace, which logs the query from the link's address, and
/// the transcript says which resolver answered. A resolver on this host's loopback (one that
/// would have answered with another address) cannot be reached over the link, so the run
/// fails rather than take its answer.
#[test]
fn an_interface_run_resolves_names_over_the_interface() {
    let w = World::new();
    let ns = tofu_testkit::Netns::create();
    let www = w.dir.path().join("www");
    let far = tofu_testkit::Nginx::start_at(Some(&ns.name), &ns.peer_addr, &www, &w.ca, |_, _| {
        String::new()
    });
    let peer: IpAddr = ns.peer_addr.parse().unwrap();
    let dns = tofu_testkit::Dnsmasq::start(Some(&ns.name), peer, &[("far.test", peer)]);
    let url = format!("http://far.test:{}/file.bin", far.http_port);
    let whoami = format!("http://far.test:{}/whoami", far.http_port);
    let via = format!("iface:{}", ns.host_if);
    let resolver = dns.addr.to_string();
    let out = w.fetch(
        "run.json",
        &["--via", &via, "--dns", &ns.peer_addr, "--whoami", &whoami],
        &url,
    );
    assert_exit(&out, 0);
    let t = w.read_json("run.json");
    assert_eq!(
        artifact(&t)["content"]["sha256"],
        tool_digest("sha256sum", &www.join("file.bin"))
    );
    assert_eq!(t["vantage"]["exit"]["ip"], ns.host_addr);
    let answers = t["vantage"]["transport"]["dns"].as_array().unwrap();
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert_eq!(answers[0]["name"], "far.test");
    assert_eq!(answers[0]["resolver"], resolver.as_str());
    assert_eq!(answers[0]["addresses"], serde_json::json!([ns.peer_addr]));
    let queries = dns.queries();
    assert!(
        queries
            .iter()
            .any(|q| q.contains("far.test") && q.contains(&ns.host_addr)),
        "{queries:?}"
    );

    // A resolver on loopback that knows the name (with another address) is not reachable over
    // the link: the run fails, saying where it asked, and takes no answer from it.
    let liar = tofu_testkit::Dnsmasq::start(
        None,
        IpAddr::from([127, 0, 0, 1]),
        &[("far.test", IpAddr::from([127, 0, 0, 1]))],
    );
    let liar_addr = liar.addr.to_string();
    let out = w.fetch(
        "lo.json",
        &[
            "--via",
            &via,
            "--dns",
            &liar_addr,
            "--no-whoami",
            "--connect-timeout",
            "3",
        ],
        &url,
    );
    assert_exit(&out, 1);
    let t = w.read_json("lo.json");
    let error = &artifact(&t)["error"];
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("cannot resolve far.test through interface")
            && message.contains(&liar_addr),
        "{error}"
    );
    assert_eq!(t["vantage"]["transport"]["dns"], serde_json::json!([]));
    assert!(liar.queries().is_empty(), "{:?}", liar.queries());

    // --dns belongs to an interface run only.
    let out = w.fetch("d.json", &["--dns", &ns.peer_addr], &url);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("--dns applies only to --via iface:NAME"));
}

#[test]
fn an_interface_in_another_network_namespace_is_the_only_way_there() {
    let w = World::new();
    let ns = tofu_testkit::Netns::create();
    let www = w.dir.path().join("www");
    let far = tofu_testkit::Nginx::start_at(Some(&ns.name), &ns.peer_addr, &www, &w.ca, |_, _| {
        String::new()
    });
    let url = far.http_url("file.bin");
    let whoami = far.http_url("whoami");
    let via = format!("iface:{}", ns.host_if);
    let out = w.fetch("run.json", &["--via", &via, "--whoami", &whoami], &url);
    assert_exit(&out, 0);
    let t = w.read_json("run.json");
    assert_eq!(t["vantage"]["transport"]["name"], ns.host_if);
    assert_eq!(t["vantage"]["exit"]["ip"], ns.host_addr);
    assert_eq!(
        artifact(&t)["content"]["sha256"],
        tool_digest("sha256sum", &www.join("file.bin"))
    );

    // Bound to loopback instead, the same address is out of reach: the binding is real.
    let out = w.fetch(
        "lo.json",
        &[
            "--via",
            "iface:lo",
            "--whoami",
            &whoami,
            "--connect-timeout",
            "3",
        ],
        &url,
    );
    assert_exit(&out, 1);
    let t = w.read_json("lo.json");
    let code = artifact(&t)["error"]["code"].as_str().unwrap().to_owned();
    assert!(code == "connect" || code == "timeout", "{code}");
    assert_eq!(t["vantage"]["exit"]["ip"], serde_json::Value::Null);
}
