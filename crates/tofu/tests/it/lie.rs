//! The targeted lie: three vantage points, one of them fed other bytes. compare must say
//! disagree (exit 1) and name the lying run; honest runs agree.

use std::net::SocketAddr;

use serde_json::Value;
use tofu_testkit::{Lie, LyingProxy, Microsocks};

use crate::support::*;

fn compare_json(w: &World, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["compare", "--json"];
    all.extend_from_slice(args);
    let out = w.tofu(&all);
    let report: Value = json_of(&out);
    (code(&out), report)
}

#[test]
fn the_https_lie_to_one_vantage_is_caught_and_the_liar_named() {
    let w = World::new();
    let evil = impostor(&w, "");
    let honest = Microsocks::start(None, None);
    let liar = LyingProxy::start(Lie::Divert(SocketAddr::from((
        [127, 0, 0, 1],
        evil.https_port,
    ))));
    let url = w.nginx.https_url("file.bin");

    assert_exit(&w.fetch("run1.json", &["--label", "direct"], &url), 0);
    assert_exit(&w.fetch("run2.json", &["--via", &honest.url()], &url), 0);
    assert_exit(&w.fetch("run3.json", &["--via", &liar.url()], &url), 0);

    let out = w.tofu(&["compare", "run1.json", "run2.json", "run3.json"]);
    assert_exit(&out, 1);
    let text = stdout(&out);
    assert!(text.contains("MISMATCH  odd: #3"), "{text}");
    assert!(text.contains("verdict: DISAGREE"), "{text}");
    assert!(
        text.contains(&format!("odd run(s) #3 (run3.json, {})", liar.url())),
        "{text}"
    );
    // The unified diff shows the differing digests.
    assert!(
        text.contains("-sha256: ") && text.contains("+sha256: "),
        "{text}"
    );

    let (code, report) = compare_json(&w, &["run1.json", "run2.json", "run3.json"]);
    assert_eq!(code, 1);
    assert_eq!(report["verdict"], "disagree");
    let a = &report["artifacts"][0];
    assert_eq!(a["verdict"], "mismatch");
    assert_eq!(a["odd_runs"], serde_json::json!([3]));
    assert_eq!(a["groups"][0]["runs"], serde_json::json!([1, 2]));
    // Same size, different digests: the lie flipped one byte.
    assert_eq!(
        a["groups"][0]["content"]["size"],
        a["groups"][1]["content"]["size"]
    );
    // The two honest runs saw the same certificate; TLS facts are shown, not judged.
    assert_eq!(
        a["cells"][0]["tls_leaf_sha256"],
        a["cells"][1]["tls_leaf_sha256"]
    );
    assert_ne!(
        a["cells"][0]["tls_leaf_sha256"],
        a["cells"][2]["tls_leaf_sha256"]
    );

    // The order of the runs does not change who is odd.
    let (_, report) = compare_json(&w, &["run3.json", "run1.json", "run2.json"]);
    assert_eq!(report["artifacts"][0]["odd_runs"], serde_json::json!([1]));
}

#[test]
fn the_plain_http_lie_is_caught() {
    let w = World::new();
    let honest = Microsocks::start(None, None);
    let liar = LyingProxy::start(Lie::FlipBodyByte { offset: 12_345 });
    let url = w.nginx.http_url("file.bin");
    assert_exit(&w.fetch("run1.json", &[], &url), 0);
    assert_exit(&w.fetch("run2.json", &["--via", &honest.url()], &url), 0);
    assert_exit(&w.fetch("run3.json", &["--via", &liar.url()], &url), 0);
    let (code, report) = compare_json(&w, &["run1.json", "run2.json", "run3.json"]);
    assert_eq!(code, 1);
    assert_eq!(report["artifacts"][0]["odd_runs"], serde_json::json!([3]));
}

#[test]
fn honest_runs_agree_only_when_every_requirement_holds() {
    let w = World::new();
    let honest = Microsocks::start(None, None);
    let url = w.nginx.https_url("file.bin");
    // Three runs from three "hosts" (three tofu homes: three host salts).
    for (i, via) in ["direct", &honest.url(), "direct"].iter().enumerate() {
        let home = w.path(&format!("home{i}"));
        let ca = w.ca.root_pem.to_str().unwrap();
        let out_name = format!("run{}.json", i + 1);
        let out = w.tofu_in(
            &home,
            &[
                "fetch",
                "--ca-cert",
                ca,
                "--via",
                via,
                "-o",
                &out_name,
                &url,
            ],
        );
        assert_exit(&out, 0);
        let public = home.join(".config/tofu/signing.pub");
        let trust = [
            "trust",
            "add",
            &format!("host{i}"),
            public.to_str().unwrap(),
        ];
        assert_exit(&w.tofu(&trust), 0);
    }
    let runs = ["run1.json", "run2.json", "run3.json"];

    // With no diversity rule required, three identical runs agree.
    let mut args = vec!["--require", "none"];
    args.extend(runs);
    let (code, report) = compare_json(&w, &args);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["verdict"], "agree");

    // distinct-hosts holds (three salts); all runs were today, so distinct-days does not.
    let mut args = vec!["--require", "distinct-hosts"];
    args.extend(runs);
    assert_eq!(compare_json(&w, &args).0, 0);
    let mut args = vec!["--require", "distinct-hosts,distinct-days"];
    args.extend(runs);
    let (code, report) = compare_json(&w, &args);
    assert_eq!(code, 3);
    let reasons = report["reasons"].to_string();
    assert!(reasons.contains("distinct-days is unmet"), "{reasons}");

    // The default requires all four rules; every run left from 127.0.0.1, so the networks
    // (and countries) are not distinct.
    let out = w.tofu(&["compare", runs[0], runs[1], runs[2]]);
    assert_exit(&out, 3);
    assert!(
        stdout(&out).contains(
            "distinct-networks is unmet: runs #1, #2, #3 share the exit network 127.0.0.0/24"
        ),
        "{}",
        stdout(&out)
    );

    // Too few runs is inconclusive, not agreement.
    let (code, report) = compare_json(&w, &["--require", "none", runs[0], runs[1]]);
    assert_eq!(code, 3);
    assert!(report["reasons"].to_string().contains("--min-runs"));
    assert_eq!(
        compare_json(
            &w,
            &["--require", "none", "--min-runs", "2", runs[0], runs[1]]
        )
        .0,
        0
    );
}

#[test]
fn a_failed_or_missing_artifact_is_never_agreement() {
    let w = World::new();
    let good = w.nginx.https_url("file.bin");
    assert_exit(&w.fetch("run1.json", &[], &good), 0);
    assert_exit(&w.fetch("run2.json", &[], &good), 0);
    // Run 3 fails on that URL (no CA given: TLS fails), and fetches an extra one.
    let other = w.nginx.http_url("file.bin");
    let out = w.tofu(&["fetch", "-o", "run3.json", &good, &other]);
    assert_exit(&out, 1);
    let (code, report) = compare_json(
        &w,
        &["--require", "none", "run1.json", "run2.json", "run3.json"],
    );
    assert_eq!(code, 3, "{report}");
    assert_eq!(report["artifacts"][0]["verdict"], "missing");
    assert_eq!(report["artifacts"][0]["cells"][2]["state"], "failed");
    assert_eq!(report["artifacts"][1]["cells"][0]["state"], "absent");
}

#[test]
fn an_interception_that_passes_the_payload_through_still_shows_its_root() {
    let w = World::new();
    // The attacker's CA is trusted by the victim's machine only (run 3 adds it), and the
    // impostor serves the genuine bytes: the content agrees, the TLS evidence does not.
    let rogue = tofu_testkit::TestCa::generate(w.dir.path(), "rogue CA");
    third_run_intercepted(&w, &rogue);
    let (code, report) = compare_json(
        &w,
        &["--require", "none", "run1.json", "run2.json", "run3.json"],
    );
    assert_eq!(code, 0, "{report}");
    let notes = report["notes"].to_string();
    assert!(
        notes.contains("run #3's TLS chain leads to a root no other run saw: CN=rogue CA"),
        "{notes}"
    );
    let text = stdout(&w.compare_bytes_only(&["run1.json", "run2.json", "run3.json"]));
    assert!(text.contains("notes (shown, not judged)"), "{text}");
}
