//! TLS facts that describe what they claim: the trust anchor a connection was verified
//! through (told apart by its key, which an interceptor cannot copy, not by its name, which
//! it can), for downloads and exit lookups alike, and the facts of the connection that
//! carried each body. `openssl` cross-checks the recorded hashes.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::Command;

use serde_json::Value;
use tofu_testkit::{Lie, LyingProxy, Microsocks, Nginx, TestCa};

use crate::support::*;

/// `openssl x509 -pubkey | openssl pkey -pubin -outform der | sha256sum` of a PEM certificate.
fn openssl_spki_sha256(pem: &Path) -> String {
    let script =
        "openssl x509 -in \"$1\" -pubkey -noout | openssl pkey -pubin -outform der | sha256sum";
    shell_digest(script, pem)
}

/// `openssl x509 -outform der | sha256sum` of a PEM certificate.
fn openssl_cert_sha256(pem: &Path) -> String {
    shell_digest("openssl x509 -in \"$1\" -outform der | sha256sum", pem)
}

fn shell_digest(script: &str, file: &Path) -> String {
    tofu_testkit::require_program("openssl", "openssl");
    let out = Command::new("sh")
        .args(["-c", script, "sh"])
        .arg(file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let digest = String::from_utf8(out.stdout).unwrap();
    let digest = digest.split_whitespace().next().unwrap().to_owned();
    assert_eq!(digest.len(), 64, "{digest}");
    digest
}

fn compare_json(w: &World, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["compare", "--json"];
    all.extend_from_slice(args);
    let out = w.tofu(&all);
    let report: Value = json_of(&out);
    (code(&out), report)
}

/// A CA made in its own directory (so a name may repeat another CA's).
fn ca_in(w: &World, dir: &str, name: &str) -> TestCa {
    let dir = w.path(dir);
    std::fs::create_dir_all(&dir).unwrap();
    TestCa::generate(&dir, name)
}

fn lookup_anchor(t: &Value) -> &Value {
    &t["vantage"]["exit"]["probes"][0]["tls"]["anchor"]
}

/// One run from its own home: `--ca-cert` the world's CA and `extra_ca`, `--via via`,
/// `--whoami whoami`, fetching the world's file.
fn run(w: &World, name: &str, via: &str, whoami: &str, extra_ca: Option<&Path>) {
    let home = w.path(&format!("home-{name}"));
    let ca = w.ca.root_pem.to_str().unwrap().to_owned();
    let url = w.nginx.https_url("file.bin");
    let mut args = vec!["fetch", "--ca-cert", &ca, "--via", via, "--whoami", whoami];
    let extra = extra_ca.map(|p| p.to_str().unwrap().to_owned());
    if let Some(extra) = &extra {
        args.extend(["--ca-cert", extra]);
    }
    args.extend(["-o", name, &url]);
    assert_exit(&w.tofu_in(&home, &args), 0);
    // The test's own home trusts each run's machine, as an operator trusts a second one's key.
    let key = home.join(".config/tofu/signing.pub");
    let label = name.trim_end_matches(".json");
    assert_exit(&w.tofu(&["trust", "add", label, key.to_str().unwrap()]), 0);
}

#[test]
fn a_whoami_answered_by_an_interceptor_is_noted_and_its_exit_not_counted() {
    let w = World::new();
    // The whoami endpoint has a server of its own, so that only the lookup is intercepted.
    let whoami = Nginx::start(&w.path("www"), &w.ca, |_, _| String::new());
    let whoami_url = whoami.https_url("whoami");
    // The interceptor holds a CA that run 2's machine trusts, and answers the lookup itself.
    let rogue = ca_in(&w, "rogue", "rogue CA");
    let impostor = Nginx::start(&w.path("www"), &rogue, |_, _| String::new());
    let liar = LyingProxy::start(Lie::DivertPort {
        port: whoami.https_port,
        to: SocketAddr::from(([127, 0, 0, 1], impostor.https_port)),
    });
    let from = |a: &str| Microsocks::start(Some(a.parse::<IpAddr>().unwrap()), None);
    let (de, ca, us) = (from("127.0.1.1"), from("127.0.2.1"), from("127.0.0.1"));
    run(&w, "run1.json", &de.url(), &whoami_url, None);
    run(
        &w,
        "run2.json",
        &liar.url(),
        &whoami_url,
        Some(&rogue.root_pem),
    );
    run(&w, "run3.json", &ca.url(), &whoami_url, None);
    // The same vantage as run 2 (127.0.0.1), its lookup not intercepted.
    run(
        &w,
        "run2-honest.json",
        &us.url(),
        &whoami_url,
        Some(&rogue.root_pem),
    );

    // The transcripts record each lookup's anchor: the test CA's, the rogue one's for run 2.
    let genuine_spki = openssl_spki_sha256(&w.ca.root_pem);
    let rogue_spki = openssl_spki_sha256(&rogue.root_pem);
    for (name, spki, subject) in [
        ("run1.json", &genuine_spki, "CN=tofu test CA"),
        ("run2.json", &rogue_spki, "CN=rogue CA"),
        ("run3.json", &genuine_spki, "CN=tofu test CA"),
        ("run2-honest.json", &genuine_spki, "CN=tofu test CA"),
    ] {
        let t = w.read_json(name);
        let anchor = lookup_anchor(&t);
        assert_eq!(anchor["spki_sha256"], spki.as_str(), "{name}: {t}");
        assert_eq!(anchor["subject"], subject, "{name}");
        assert_eq!(anchor["source"], "ca-cert", "{name}");
        // The download itself was not intercepted: its anchor is the genuine one.
        let download = &fetch0(&t)["http"]["tls"]["anchor"];
        assert_eq!(download["spki_sha256"], genuine_spki.as_str(), "{name}");
    }

    // The note names run 2's lookup; the bytes agree.
    let runs = ["run1.json", "run2.json", "run3.json"];
    let rules = ["--require", "distinct-networks,distinct-countries"];
    let (code, report) = compare_json(&w, &[&rules[..], &runs[..]].concat());
    let notes = report["notes"].to_string();
    assert!(
        notes.contains(&format!(
            "run #2's exit lookup {whoami_url} went through a TLS root no other run's lookup \
             saw: CN=rogue CA (SPKI sha256 {}…, from --ca-cert)",
            &rogue_spki[..16]
        )),
        "{notes}"
    );
    assert_eq!(report["artifacts"][0]["verdict"], "match");
    // Fail closed: run 2's exit evidence does not count, so the rules cannot be met.
    assert_eq!(code, 3, "{report}");
    let reasons = report["reasons"].to_string();
    for rule in ["distinct-networks", "distinct-countries"] {
        assert!(
            reasons.contains(&format!(
                "{rule} is unmet: run #2: its exit lookup {whoami_url} went through a \
                 --ca-cert root no other run's lookup saw: CN=rogue CA"
            )),
            "{rule}: {reasons}"
        );
    }
    // The same vantage, its lookup not intercepted, meets both rules.
    let honest = ["run1.json", "run2-honest.json", "run3.json"];
    let (code, report) = compare_json(&w, &[&rules[..], &honest[..]].concat());
    assert_eq!(code, 0, "{report}");
    assert!(
        !report["notes"].to_string().contains("TLS root"),
        "{report}"
    );
}

#[test]
fn a_copied_issuer_name_does_not_hide_another_root() {
    let w = World::new();
    // The impostor's CA copies the genuine root's name; run 3's machine trusts it.
    let copycat = ca_in(&w, "copycat", "tofu test CA");
    let impostor = third_run_intercepted(&w, &copycat);

    let (t1, t3) = (w.read_json("run1.json"), w.read_json("run3.json"));
    let (tls1, tls3) = (&fetch0(&t1)["http"]["tls"], &fetch0(&t3)["http"]["tls"]);
    // The name the server sent is the same: it proves nothing.
    assert_eq!(tls1["chain_root_issuer"], "CN=tofu test CA");
    assert_eq!(tls3["chain_root_issuer"], "CN=tofu test CA");
    // The anchors' names are the same too; their keys are not.
    assert_eq!(tls1["anchor"]["subject"], tls3["anchor"]["subject"]);
    let genuine_spki = openssl_spki_sha256(&w.ca.root_pem);
    let copycat_spki = openssl_spki_sha256(&copycat.root_pem);
    assert_ne!(genuine_spki, copycat_spki);
    assert_eq!(tls1["anchor"]["spki_sha256"], genuine_spki.as_str());
    assert_eq!(tls3["anchor"]["spki_sha256"], copycat_spki.as_str());
    assert_eq!(
        tls3["leaf_cert_sha256"],
        openssl_cert_sha256(&impostor.cert).as_str()
    );

    let (code, report) = compare_json(
        &w,
        &["--require", "none", "run1.json", "run2.json", "run3.json"],
    );
    assert_eq!(code, 0, "{report}");
    let notes = report["notes"].to_string();
    assert!(
        notes.contains(&format!(
            "run #3's TLS chain leads to a root no other run saw: CN=tofu test CA \
             (SPKI sha256 {}…, from --ca-cert)",
            &copycat_spki[..16]
        )),
        "{notes}"
    );
    assert!(!notes.contains("run #1's TLS chain"), "{notes}");
}

#[test]
fn each_body_records_the_leaf_of_its_own_connection() {
    let w = World::new();
    // A second server on 127.0.0.1, with its own leaf from the same CA; the first redirects
    // to it. Both have the same server name, so "the latest handshake with 127.0.0.1" would
    // mix them up.
    let other = Nginx::start(&w.path("www"), &w.ca, |_, _| String::new());
    let away = format!("https://127.0.0.1:{}/file.bin", other.https_port);
    let first = Nginx::start(&w.path("www"), &w.ca, |_, _| {
        format!("location = /away {{ return 302 {away}; }}")
    });
    let (to_other, here) = (first.https_url("away"), first.https_url("file.bin"));
    // The redirect (handshake with `first`, then `other`), then `first` again: its pooled
    // connection, no new handshake.
    let ca = w.ca.root_pem.to_str().unwrap();
    let out = w.tofu(&["fetch", "--ca-cert", ca, "-o", "run.json", &to_other, &here]);
    assert_exit(&out, 0);
    let t = w.read_json("run.json");
    let leaf =
        |i: usize| t["artifacts"][i]["fetches"][0]["http"]["tls"]["leaf_cert_sha256"].clone();
    let (first_leaf, other_leaf) = (
        openssl_cert_sha256(&first.cert),
        openssl_cert_sha256(&other.cert),
    );
    assert_ne!(first_leaf, other_leaf);
    assert_eq!(leaf(0), other_leaf.as_str(), "{t}");
    assert_eq!(leaf(1), first_leaf.as_str(), "{t}");
    for i in 0..2 {
        let tls = &t["artifacts"][i]["fetches"][0]["http"]["tls"];
        assert_eq!(
            tls["anchor"]["spki_sha256"],
            openssl_spki_sha256(&w.ca.root_pem).as_str()
        );
        assert_eq!(tls["chain_sha256"][0], tls["leaf_cert_sha256"]);
    }
}
