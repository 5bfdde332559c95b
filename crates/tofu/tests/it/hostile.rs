//! The hostile-server catalogue (tofu_testkit::hostile::CATALOGUE): every way a real server
//! misbehaves, each run once against the `tofu` binary. Each case must end with the error
//! code and exit code the catalogue names, a signed transcript that says what happened, and
//! — set beside two honest runs of the same artifact — a compare that never says agree.
//! docs/threat-model.md shows the same table (`cargo xtask codegen`).

use serde_json::Value;
use tofu_testkit::hostile::{BadCert, CATALOGUE, Case, Server, invalid_document};
use tofu_testkit::{Hostile, RegistryLie, TestCa, self_signed_der};

use crate::oci::{REPO, images};
use crate::support::*;

/// Limits tight enough that the slow cases end in seconds; honest loopback runs are far
/// faster than any of them. The speed window is shorter than the read timeout, so a stall
/// is judged by the speed limit (a read timeout alone would also end it, later). One retry:
/// a body that drops or stalls is resumed once, and the server misbehaves again.
const LIMITS: [&str; 12] = [
    "--connect-timeout",
    "2",
    "--read-timeout",
    "4",
    "--speed-limit",
    "20000",
    "--speed-time",
    "2",
    "--max-size",
    "8000000",
    "--retries",
    "1",
];

/// A plan naming one artifact `artifact`, so runs of different servers line up.
fn plan(w: &World, name: &str, source: &str) -> String {
    let path = w.path(&format!("{name}.toml"));
    std::fs::write(
        &path,
        format!("name = \"catalogue\"\n[[artifact]]\nid = \"artifact\"\n{source}\n"),
    )
    .unwrap();
    path.to_str().unwrap().to_owned()
}

/// `tofu fetch` of a plan, with the test CA, a whoami endpoint and the limits.
fn fetch(w: &World, out: &str, plan: &str, whoami: &str) -> std::process::Output {
    let ca = w.ca.root_pem.to_str().unwrap().to_owned();
    let mut args = vec![
        "fetch",
        "--ca-cert",
        &ca,
        "--plan",
        plan,
        "--whoami",
        whoami,
        "-o",
        out,
    ];
    args.extend(LIMITS);
    w.tofu(&args)
}

/// compare of the two honest runs and the hostile one; the rules that the case can speak
/// to: none for the bytes, distinct-countries for a lying whoami.
fn compare(w: &World, case: &Case, honest: [&str; 2], hostile: &str) -> (i32, Value) {
    let require = if case.server == Server::Whoami {
        "distinct-countries"
    } else {
        "none"
    };
    let out = w.tofu(&[
        "compare",
        "--json",
        "--allow-mixed-plans",
        "--require",
        require,
        honest[0],
        honest[1],
        hostile,
    ]);
    // compare refuses some hostile transcripts outright (exit 2, nothing on stdout); any
    // report it prints is a valid document.
    let report = if out.stdout.is_empty() {
        Value::Null
    } else {
        json_of(&out)
    };
    (code(&out), report)
}

#[test]
fn every_hostile_server_ends_in_a_clear_record_and_never_in_agreement() {
    let w = World::new();
    let body = payload();
    let plain = Hostile::start(body.clone());
    let stranger = TestCa::generate(&w.path(""), "a CA tofu was not given");
    let tls_server = |cert: BadCert| {
        let (chain, key) = match cert {
            BadCert::Good => w.ca.issue_der(&["127.0.0.1"], false),
            BadCert::OtherName => w.ca.issue_der(&["wrong.test"], false),
            BadCert::Expired => w.ca.issue_der(&["127.0.0.1"], true),
            BadCert::SelfSigned => self_signed_der(&["127.0.0.1"]),
            BadCert::UntrustedCa => stranger.issue_der(&["127.0.0.1"], false),
        };
        Hostile::start_tls(body.clone(), vec![chain], key)
    };

    // Two honest runs of the file, from exits in two countries.
    let honest_file = plan(
        &w,
        "honest-file",
        &format!("urls = [\"{}\"]", w.nginx.https_url("file.bin")),
    );
    for (out, cc) in [("honest1.json", "DE"), ("honest2.json", "CA")] {
        let whoami = plain.url(&format!("/whoami/{cc}"));
        assert_exit(&fetch(&w, out, &honest_file, &whoami), 0);
    }
    // Two honest runs of an image, for the registry cases.
    let img = images(&w);
    let honest_front = img.registry.front(&w.ca, &RegistryLie::None);
    let honest_image = plan(
        &w,
        "honest-image",
        &format!(
            "oci = \"{}\"",
            honest_front.reference(&format!("{REPO}:1.0"))
        ),
    );
    for (out, cc) in [("image1.json", "DE"), ("image2.json", "CA")] {
        let whoami = plain.url(&format!("/whoami/{cc}"));
        assert_exit(&fetch(&w, out, &honest_image, &whoami), 0);
    }
    let manifest =
        String::from_utf8(img.registry.skopeo_raw(&format!("{REPO}@{}", img.amd64))).unwrap();
    let index = String::from_utf8(img.registry.skopeo_raw(&format!("{REPO}:1.0"))).unwrap();

    for (i, case) in CATALOGUE.iter().enumerate() {
        let out_name = format!("case{i}.json");
        let quiet_whoami = plain.url("/whoami/SE");
        // Keep each server alive until its case is judged.
        let (output, honest, _server, front) = match case.server {
            Server::Http => {
                let p = plan(
                    &w,
                    &format!("case{i}"),
                    &format!("urls = [\"{}\"]", plain.url(case.path)),
                );
                (
                    fetch(&w, &out_name, &p, &quiet_whoami),
                    ["honest1.json", "honest2.json"],
                    None,
                    None,
                )
            }
            Server::Tls(cert) => {
                let server = tls_server(cert);
                let p = plan(
                    &w,
                    &format!("case{i}"),
                    &format!("urls = [\"{}\"]", server.url(case.path)),
                );
                (
                    fetch(&w, &out_name, &p, &quiet_whoami),
                    ["honest1.json", "honest2.json"],
                    Some(server),
                    None,
                )
            }
            Server::Whoami => (
                fetch(&w, &out_name, &honest_file, &plain.url(case.path)),
                ["honest1.json", "honest2.json"],
                None,
                None,
            ),
            Server::Registry => {
                let lie = match case.path {
                    "trickle-index" => RegistryLie::Trickle {
                        path: format!("/v2/{REPO}/manifests/1.0"),
                        bytes: index.clone().into_bytes(),
                        content_type: "application/vnd.oci.image.index.v1+json".into(),
                    },
                    "trickle-layer" => RegistryLie::Trickle {
                        path: format!("/v2/{REPO}/blobs/{}", img.amd64_layer),
                        bytes: img.amd64_layer_bytes.clone(),
                        content_type: "application/octet-stream".into(),
                    },
                    _ => {
                        let (body, content_type) = invalid_document(case.path, &manifest, &index);
                        RegistryLie::ServeDocument {
                            repo: REPO.into(),
                            reference: "1.0".into(),
                            body,
                            content_type: content_type.into(),
                        }
                    }
                };
                let front = img.registry.front(&w.ca, &lie);
                let p = plan(
                    &w,
                    &format!("case{i}"),
                    &format!("oci = \"{}\"", front.reference(&format!("{REPO}:1.0"))),
                );
                (
                    fetch(&w, &out_name, &p, &quiet_whoami),
                    ["image1.json", "image2.json"],
                    None,
                    Some(front),
                )
            }
        };
        let context = format!("case {} ({})", case.name, stderr(&output));
        assert_eq!(code(&output), case.fetch_exit, "{context}");
        // Whatever happened, the transcript says so and is signed.
        let t = w.read_json(&out_name);
        assert!(
            minisign_verifies(&w.path(&out_name), &w.pub_key()),
            "{context}"
        );
        let a = artifact(&t);
        match case.server {
            Server::Whoami => {
                assert!(a["error"].is_null(), "{context}: {a}");
                let exit = &t["vantage"]["exit"];
                let probe = &exit["probes"][0];
                assert_eq!(
                    probe["error"]["code"].as_str(),
                    case.code,
                    "{context}: {exit}"
                );
                assert!(exit["country"].is_null(), "{context}: {exit}");
                if case.code.is_none() {
                    // The address is kept, the made-up country is not.
                    assert_eq!(exit["ip"], "192.0.2.77", "{context}: {exit}");
                }
                if case.name == "whoami-slow-answer" {
                    // The probe's own deadline ended it, not a timeout of its head.
                    let message = probe["error"]["message"].as_str().unwrap_or_default();
                    assert!(message.contains("no complete answer"), "{context}: {exit}");
                }
            }
            _ => {
                assert_eq!(a["error"]["code"].as_str(), case.code, "{context}: {a}");
                assert!(
                    a["content"].is_null() == case.code.is_some(),
                    "{context}: {a}"
                );
            }
        }
        if case.name == "gzip-encoded-body" {
            // The bytes as sent, by an independent tool.
            let sent = tofu_testkit::hostile::gzip(&body);
            assert_eq!(
                a["content"]["sha256"],
                tool_digest_bytes(&sent),
                "{context}"
            );
        }
        if let Some(front) = front.as_ref().filter(|_| case.path != "trickle-layer") {
            // Refused before any child was asked for: one document, no blob.
            let log = front.nginx.access_log();
            assert!(!log.contains("/blobs/"), "{context}: {log}");
            let served = log
                .lines()
                .filter(|l| l.contains("/manifests/") && l.contains(" 200 "))
                .count();
            assert_eq!(served, 1, "{context}: {log}");
        }

        let (verdict, report) = compare(&w, case, honest, &out_name);
        // Checked apart from the catalogue's row, so a row that expected agreement fails too.
        assert_ne!(verdict, 0, "a false agreement: {context}: {report}");
        assert_eq!(verdict, case.compare_exit, "{context}: {report}");
    }
    eprintln!(
        "hostile catalogue: {} cases tried, 0 false agreements",
        CATALOGUE.len()
    );
}
