//! Properties of compare and status over arbitrary sets of well-formed transcripts: they
//! never panic, the verdict is always one of the documented three, and no set of runs that
//! saw different bytes, or failed, is ever called agreement.
//!
//! Transcripts are generated as JSON from small pools of values (a few ids, digests, hosts,
//! exits and error codes), so that generated runs collide often: agreement, mismatches,
//! integrity failures, lone artifacts and shared networks all come up in a few hundred cases.
//! `PROPTEST_CASES` sets how many (CI runs proptest's default, 256, from a fixed seed;
//! `cargo xtask fuzz` runs more, from random seeds).

use std::collections::BTreeSet;

use proptest::prelude::*;
use serde_json::{Value, json};
use tofu_compare::{Cell, Input, Options, Rule, Signature, Verdict};
use tofu_record::{ErrorCode, Transcript};

/// Error codes a run may record: transport failures, then every integrity failure.
fn codes() -> Vec<&'static str> {
    let transport = [
        ErrorCode::Connect,
        ErrorCode::Timeout,
        ErrorCode::Stalled,
        ErrorCode::HttpStatus,
        ErrorCode::Truncated,
        ErrorCode::SizeLimit,
        ErrorCode::InsecureRedirect,
        ErrorCode::BadManifest,
    ];
    transport
        .into_iter()
        .chain(ErrorCode::ALL.iter().copied().filter(|c| c.is_integrity()))
        .map(ErrorCode::as_str)
        .collect()
}

fn content(byte: u8) -> Value {
    json!({
        "size": u64::from(byte) * 100,
        "sha256": format!("{byte:02x}").repeat(32),
        "sha512": format!("{byte:02x}").repeat(64),
    })
}

pub(crate) fn error(code: &str) -> Value {
    json!({"code": code, "message": format!("{code} happened")})
}

fn relay(n: u8) -> Value {
    let countries = ["SE", "NL", "DE", "CH"];
    json!({
        "rsa_identity": format!("{n:02X}").repeat(20),
        "ed25519_identity": null,
        "addresses": [format!("192.0.{n}.1:9001")],
        "nickname": format!("relay{n}"),
        "country": countries.get(usize::from(n) % 5).copied(),
    })
}

/// What one fetch (one mirror) of an HTTP artifact saw: bytes, or a failure.
fn fetch_outcome() -> impl Strategy<Value = Result<u8, &'static str>> {
    prop_oneof![
        3 => (1u8..=3).prop_map(Ok),
        1 => proptest::sample::select(codes()).prop_map(Err),
    ]
}

/// An artifact of one of the kinds tofu records, as JSON.
fn artifact(id: &'static str) -> impl Strategy<Value = Value> {
    prop_oneof![4 => http_artifact(id), 2 => image_artifact(id), 1 => early_failure(id)]
}

/// A file from one or two mirrors, maybe an OpenPGP certificate, maybe fetched over Tor.
fn http_artifact(id: &'static str) -> impl Strategy<Value = Value> {
    (
        proptest::collection::vec(fetch_outcome(), 1..=2),
        proptest::option::of(0u8..=2),
        proptest::collection::vec(0u8..=4, 0..=2),
    )
        .prop_map(move |(outcomes, fingerprint, exits)| {
            let fetches: Vec<Value> = outcomes
                .iter()
                .enumerate()
                .map(|(i, o)| {
                    let (c, e) = match o {
                        Ok(b) => (content(*b), Value::Null),
                        Err(code) => (Value::Null, error(code)),
                    };
                    json!({
                        "url": format!("https://mirror{i}.test/{id}"),
                        "content": c, "http": null, "kept_as": null, "error": e,
                    })
                })
                .collect();
            let oks: BTreeSet<u8> = outcomes.iter().filter_map(|o| o.ok()).collect();
            let failed = outcomes.iter().find_map(|o| o.err());
            let (c, e) = match (failed, oks.len()) {
                (Some(code), _) => (Value::Null, error(code)),
                (None, 1) => (content(*oks.first().expect("one")), Value::Null),
                (None, _) => (Value::Null, error("mirror-mismatch")),
            };
            let openpgp = match (fingerprint, c.is_null()) {
                (Some(f), false) => openpgp_certificate(f),
                _ => Value::Null,
            };
            json!({
                "id": id, "content": c, "fetches": fetches, "openpgp": openpgp,
                "oci": null, "homebrew": null, "error": e,
                "tor_exits": exits.into_iter().map(relay).collect::<Vec<_>>(),
            })
        })
}

/// An OpenPGP certificate whose primary key's fingerprint is made of `f`.
fn openpgp_certificate(f: u8) -> Value {
    json!({
        "primary": {
            "fingerprint": format!("{f:X}").repeat(40),
            "algorithm": "EdDSA",
            "created_at": "2020-01-01T00:00:00Z",
            "expires_at": null,
        },
        "subkeys": [], "user_ids": ["someone"],
    })
}

/// An image: a top document, up to two manifests with up to two layers each, maybe a
/// Homebrew formula's declared bottle, maybe a failure.
fn image_artifact(id: &'static str) -> impl Strategy<Value = Value> {
    (
        1u8..=3,
        proptest::collection::vec((1u8..=3, proptest::collection::vec(1u8..=3, 0..=2)), 0..=2),
        proptest::option::of(proptest::sample::select(codes())),
        proptest::option::of((0u64..=1, 1u8..=2)),
    )
        .prop_map(move |(top, manifests, failure, brew)| {
            let manifests: Vec<Value> = manifests
                .into_iter()
                .map(|(m, layers)| manifest(m, layers))
                .collect();
            let homebrew = brew.map(|(rebuild, sha)| homebrew_record(rebuild, sha));
            let (c, e) = match failure {
                Some(code) => (Value::Null, error(code)),
                None => (content(top), Value::Null),
            };
            json!({
                "id": id, "content": c, "fetches": [], "openpgp": null,
                "oci": {
                    "reference": "registry.test/x/y:1", "registry_host": "registry.test",
                    "accept": "application/vnd.oci.image.index.v1+json",
                    "token_realm": null, "platforms": ["linux/amd64"],
                    "top": {
                        "digest": digest(top), "size": u64::from(top) * 100,
                        "media_type": "application/vnd.oci.image.index.v1+json",
                        "docker_content_digest": null,
                    },
                    "index_entries": [], "manifests": manifests, "redirect_hosts": [],
                },
                "homebrew": homebrew, "error": e, "tor_exits": [],
            })
        })
}

/// `sha256:` and a digest made of `b`.
fn digest(b: u8) -> String {
    format!("sha256:{}", format!("{b:02x}").repeat(32))
}

/// A layer (or config) descriptor made of `b`.
fn descriptor(b: u8) -> Value {
    json!({
        "digest": digest(b), "size": u64::from(b) * 10,
        "media_type": "application/vnd.oci.image.layer.v1.tar+gzip",
        "platform": null, "annotations": {}, "urls": [],
    })
}

/// A linux/amd64 manifest made of `m`, with these layers.
fn manifest(m: u8, layers: Vec<u8>) -> Value {
    json!({
        "platform": "linux/amd64",
        "document": {
            "digest": digest(m), "size": 500,
            "media_type": "application/vnd.oci.image.manifest.v1+json",
            "docker_content_digest": null,
        },
        "config": descriptor(m + 10),
        "layers": layers.into_iter().map(descriptor).collect::<Vec<_>>(),
    })
}

/// What the Homebrew API declared for wget: this rebuild, a bottle digest made of `sha`.
fn homebrew_record(rebuild: u64, sha: u8) -> Value {
    json!({
        "formula": "wget", "api_url": "https://formulae.test/api/formula/wget.json",
        "version": "1.24.5", "revision": 0, "rebuild": rebuild,
        "image_tag": "1.24.5", "root_url": "https://ghcr.test/v2/homebrew/core",
        "bottles": [{
            "tag": "x86_64_linux", "sha256": format!("{sha:02x}").repeat(32),
            "ref_name": "1.24.5.x86_64_linux", "manifest": null,
            "file_name": "wget--1.24.5.x86_64_linux.bottle.tar.gz",
        }],
    })
}

/// Failed before anything was asked (a bad reference, a refused transport).
fn early_failure(id: &'static str) -> impl Strategy<Value = Value> {
    proptest::sample::select(codes()).prop_map(move |code| {
        json!({
            "id": id, "content": null, "fetches": [], "openpgp": null, "oci": null,
            "homebrew": null, "error": error(code), "tor_exits": [],
        })
    })
}

/// The exit evidence of a run: an address and country from small pools, or none.
fn exit() -> impl Strategy<Value = Value> {
    (
        proptest::option::of(proptest::sample::select(&[
            "198.51.100.7",
            "198.51.100.8",
            "203.0.113.9",
            "2001:db8::1",
            "2001:db8:1::1",
            "not an address",
        ])),
        proptest::option::of(proptest::sample::select(&["DE", "CA", "SE", "XX", "de"])),
        any::<bool>(),
    )
        .prop_map(|(ip, country, conflict)| {
            json!({"probes": [], "ip": ip, "country": country, "conflict": conflict})
        })
}

fn transport() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!({"kind": "direct"})),
        any::<bool>().prop_map(|tor_daemon| json!({
            "kind": "socks5", "proxy": "socks5h://127.0.0.1:1080", "remote_dns": true,
            "authenticated": tor_daemon, "tor_daemon": tor_daemon,
        })),
        (
            proptest::option::of(Just("SE")),
            proptest::collection::vec(0u8..=4, 0..=2)
        )
            .prop_map(|(cc, exits)| json!({
                "kind": "tor", "exit_country": cc, "consensus_valid_after": null,
                "geoip": "embedded", "exits": exits.into_iter().map(relay).collect::<Vec<_>>(),
            })),
        Just(json!({"kind": "interface", "name": "wg0"})),
    ]
}

/// One well-formed transcript. `n` makes its run id (two generated runs may share one, as a
/// run given twice does).
pub(crate) fn transcript() -> impl Strategy<Value = Transcript> {
    let ids = proptest::sample::subsequence(vec!["a", "b", "c"], 0..=3);
    (
        0u8..=5,
        (20u32..=26, 0u32..=23),
        proptest::sample::select(&["h1", "h2", "h3"]),
        transport(),
        exit(),
        proptest::option::of(0u8..=1),
        ids.prop_flat_map(|ids| ids.into_iter().map(artifact).collect::<Vec<_>>()),
    )
        .prop_map(|(n, (day, hour), host, transport, exit, plan, artifacts)| {
            let value = json!({
                "format": tofu_record::FORMAT,
                "tool": {"name": "tofu", "version": "0"},
                "run": {
                    "id": format!("{n:02x}").repeat(16),
                    "label": null,
                    "started_at": format!("2026-11-{day:02}T{hour:02}:00:00Z"),
                    "finished_at": format!("2026-11-{day:02}T{hour:02}:30:00Z"),
                    "host": {"os": "linux", "arch": "x86_64", "fingerprint": host},
                },
                "plan": plan.map(|p| json!({"name": "p", "sha256": format!("{p:02x}").repeat(32)})),
                "vantage": {
                    "transport": transport, "extra_roots": [], "exit": exit,
                    "claimed_country": null,
                },
                "signer": {"public_key": "x", "key_id": "y"},
                "artifacts": artifacts,
            });
            let t: Transcript =
                serde_json::from_value(value).expect("the generator writes the schema");
            t.check()
                .expect("the generator writes well-formed transcripts");
            t
        })
}

/// The runs as compare's inputs, named `run1.json`, … and signed by one trusted key.
pub(crate) fn inputs(runs: &[Transcript]) -> Vec<Input<'_>> {
    runs.iter()
        .enumerate()
        .map(|(i, t)| Input {
            name: format!("run{}.json", i + 1),
            transcript: t,
            signature: Signature::Trusted {
                name: "this machine".into(),
                key_id: "K".into(),
            },
        })
        .collect()
}

fn options() -> impl Strategy<Value = Options> {
    (
        1usize..=4,
        proptest::sample::subsequence(Rule::ALL.to_vec(), 0..=4),
        proptest::option::of(0.0f64..48.0),
    )
        .prop_map(|(min_runs, require, min_gap_hours)| Options {
            min_runs,
            require: require.into_iter().collect(),
            min_gap_hours,
            ..Options::default()
        })
}

proptest! {
    #[test]
    fn compare_and_status_never_panic_and_never_agree_on_a_difference(
        runs in proptest::collection::vec(transcript(), 0..=5),
        options in options(),
    ) {
        let inputs = inputs(&runs);
        let report = tofu_compare::compare(&inputs, &options);
        // Every renderer copes with every report.
        let _ = tofu_compare::render_text(&report);
        let json: Value = serde_json::from_str(&tofu_compare::render_json(&report))
            .expect("the JSON report parses");
        prop_assert!(json.get("verdict").is_some());
        let status = tofu_compare::status(&inputs, &options);
        let _ = tofu_compare::render_status(&status);

        // Agreement only when every run holds every artifact complete, with one content.
        if report.verdict == Verdict::Agree {
            prop_assert!(!report.artifacts.is_empty());
            for a in &report.artifacts {
                prop_assert!(a.cells.iter().all(|c| matches!(c, Cell::Ok { .. })), "{}", a.id);
                prop_assert_eq!(a.groups.len(), 1, "{}", a.id);
            }
            let distinct: BTreeSet<&str> = runs.iter().map(|t| t.run.id.as_str()).collect();
            prop_assert!(distinct.len() >= options.min_runs);
            prop_assert!(report.reasons.is_empty());
        }
        // Two runs that hold different bytes of one artifact, or a run that was lied to,
        // are a disagreement, whatever else is missing.
        for a in &report.artifacts {
            let contents: BTreeSet<&str> = a
                .cells
                .iter()
                .filter_map(|c| match c {
                    Cell::Ok { content, .. } => Some(content.sha256.as_str()),
                    _ => None,
                })
                .collect();
            let lied_to = a.cells.iter().any(|c| {
                matches!(c, Cell::Failed { code, .. } if code.is_integrity())
            });
            // What a run verified before failing counts too: an image's top document.
            let tops: BTreeSet<&str> = runs
                .iter()
                .filter_map(|t| t.artifacts.iter().find(|x| x.id == a.id))
                .filter_map(|x| x.oci.as_ref())
                .map(|o| o.top.digest.as_str())
                .filter(|d| !d.is_empty())
                .collect();
            if contents.len() > 1 || lied_to || tops.len() > 1 {
                prop_assert_eq!(report.verdict, Verdict::Disagree, "{}: {:?}", a.id, report.reasons);
                prop_assert!(!a.odd_runs.is_empty(), "{}", a.id);
            }
        }
    }

    /// A run nobody the user trusts signed can neither make nor break an agreement: with it
    /// among the inputs the verdict is never agree, and every judgement (each artifact's
    /// verdict and groups, each rule) is the one the counted runs reach without it.
    #[test]
    fn an_untrusted_run_is_shown_but_never_judged(
        runs in proptest::collection::vec(transcript(), 1..=4),
        forged in transcript(),
        at in 0usize..=4,
        options in options(),
    ) {
        let honest = inputs(&runs);
        let at = at.min(honest.len());
        let mut with_forged = honest.clone();
        with_forged.insert(at, Input {
            name: "forged.json".into(),
            transcript: &forged,
            signature: Signature::Untrusted { key_id: "F".into() },
        });
        let alone = tofu_compare::compare(&honest, &options);
        let report = tofu_compare::compare(&with_forged, &options);
        prop_assert_ne!(report.verdict, Verdict::Agree);
        prop_assert!(report.reasons[0].contains("key F, which you do not trust"), "{:?}", report.reasons);
        prop_assert!(report.reasons[0].contains("tofu trust add NAME KEY.pub"));
        if alone.verdict == Verdict::Disagree {
            prop_assert_eq!(report.verdict, Verdict::Disagree);
        }
        // Run numbers after the forged one move up by one.
        let renumber = |runs: &[usize]| -> Vec<usize> {
            runs.iter().map(|&r| if r > at { r + 1 } else { r }).collect()
        };
        for a in &alone.artifacts {
            let b = report.artifacts.iter().find(|b| b.id == a.id).expect("the same ids");
            prop_assert_eq!(a.verdict, b.verdict, "{}", a.id);
            prop_assert_eq!(renumber(&a.odd_runs), b.odd_runs.clone(), "{}", a.id);
            let groups: Vec<Vec<usize>> = a.groups.iter().map(|g| renumber(&g.runs)).collect();
            let with: Vec<Vec<usize>> = b.groups.iter().map(|g| g.runs.clone()).collect();
            prop_assert_eq!(groups, with, "{}", a.id);
        }
        for (a, b) in alone.rules.iter().zip(&report.rules) {
            prop_assert_eq!(a.status, b.status, "{}: {} / {}", a.rule, a.message, b.message);
        }
        prop_assert_eq!(
            report.runs[at].signer.clone(),
            Signature::Untrusted { key_id: "F".into() }
        );
    }
}
