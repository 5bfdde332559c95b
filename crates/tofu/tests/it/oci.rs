//! OCI pulls against a real registry (docker-registry 2.8 behind nginx, token auth, blob
//! redirects to a second loopback host), populated with skopeo from layouts the test builds;
//! every way a registry can lie ends in a clear error in the transcript, and a consistent lie
//! to one vantage point makes compare disagree and name the level.

use serde_json::Value;
use tofu_testkit::{Front, LayoutBuilder, Registry, RegistryLie};

use crate::support::*;

pub(crate) const REPO: &str = "test/app";

/// A registry holding `test/app:1.0` (a two-platform index) and `test/app:evil` (another
/// image), and the digests the tests need.
pub(crate) struct Images {
    pub(crate) registry: Registry,
    pub(crate) index: String,
    pub(crate) amd64: String,
    pub(crate) arm64: String,
    pub(crate) amd64_layer: String,
    pub(crate) amd64_layer_bytes: Vec<u8>,
}

pub(crate) fn images(w: &World) -> Images {
    let registry = Registry::start(&w.ca, &[REPO]);
    let mut layout = LayoutBuilder::new(&w.path("layout"));
    let amd64 = layout.image("linux", "amd64", 3, 150_000);
    let arm64 = layout.image("linux", "arm64", 2, 120_000);
    let index = layout.index(&[("linux/amd64", &amd64), ("linux/arm64", &arm64)]);
    layout.tag(&index, "1.0");
    registry.push(&layout.dir, "1.0", REPO);
    let mut evil = LayoutBuilder::new(&w.path("evil-layout"));
    let e_amd64 = evil.image("linux", "amd64", 3, 150_001);
    let e_index = evil.index(&[("linux/amd64", &e_amd64)]);
    evil.tag(&e_index, "evil");
    registry.push(&evil.dir, "evil", REPO);

    let manifest: Value = serde_json::from_slice(
        &std::fs::read(layout.dir.join("blobs/sha256").join(&amd64.digest[7..])).unwrap(),
    )
    .unwrap();
    let amd64_layer = manifest["layers"][0]["digest"].as_str().unwrap().to_owned();
    let amd64_layer_bytes =
        std::fs::read(layout.dir.join("blobs/sha256").join(&amd64_layer[7..])).unwrap();
    Images {
        registry,
        index: index.digest,
        amd64: amd64.digest,
        arm64: arm64.digest,
        amd64_layer,
        amd64_layer_bytes,
    }
}

fn oci(t: &Value) -> &Value {
    &t["artifacts"][0]["oci"]
}

#[test]
fn an_honest_pull_records_every_level_and_matches_skopeo() {
    let w = World::new();
    let img = images(&w);
    let front = img.registry.front(&w.ca, &RegistryLie::None);
    let out = w.fetch(
        "run.json",
        &["--platform", "all", "--json"],
        &front.reference("test/app:1.0"),
    );
    assert_exit(&out, 0);
    let t = w.read_json("run.json");
    let o = oci(&t);
    // The index digest tofu recorded is the sha256 of the bytes skopeo reads.
    let raw = img.registry.skopeo_raw("test/app:1.0");
    let skopeo_digest = format!("sha256:{}", tool_digest_bytes(&raw));
    assert_eq!(o["top"]["digest"], skopeo_digest);
    // So is the digest `fetch --json` gives scripts.
    let summary = json_of(&out);
    assert_eq!(summary["artifacts"][0]["image_digest"], skopeo_digest);
    assert_eq!(summary["artifacts"][0]["url"], serde_json::Value::Null);
    assert_eq!(o["top"]["digest"], img.index);
    assert_eq!(o["top"]["docker_content_digest"], img.index);
    assert_eq!(artifact(&t)["content"]["sha256"], img.index[7..]);
    assert_eq!(o["index_entries"].as_array().unwrap().len(), 2);
    assert_eq!(o["manifests"].as_array().unwrap().len(), 2);
    assert_eq!(o["manifests"][0]["document"]["digest"], img.amd64);
    assert_eq!(o["manifests"][1]["document"]["digest"], img.arm64);
    assert_eq!(o["manifests"][0]["layers"].as_array().unwrap().len(), 3);
    assert_eq!(o["registry_host"], "127.0.0.1");
    assert_eq!(
        o["token_realm"],
        format!("https://127.0.0.1:{}/token", front.port)
    );
    // Blobs came from the CDN on another host, and the bearer token never went there.
    assert_eq!(o["redirect_hosts"], serde_json::json!(["127.0.0.2"]));
    let cdn_log = img.registry.cdn.access_log();
    assert!(
        cdn_log.contains("GET /docker/registry/v2/blobs/"),
        "{cdn_log}"
    );
    assert!(!cdn_log.contains("auth=Bearer"), "{cdn_log}");
    assert!(front.nginx.access_log().contains("auth=Bearer"));

    // The default platform is linux/amd64 only; every index entry is still recorded.
    let out = w.fetch("amd64.json", &[], &front.reference("test/app:1.0"));
    assert_exit(&out, 0);
    let t = w.read_json("amd64.json");
    assert_eq!(oci(&t)["manifests"].as_array().unwrap().len(), 1);
    assert_eq!(oci(&t)["index_entries"].as_array().unwrap().len(), 2);

    // Pinned by digest, the same.
    let pinned = format!("test/app@{}", img.amd64);
    let out = w.fetch("pinned.json", &[], &front.reference(&pinned));
    assert_exit(&out, 0);
    assert_eq!(oci(&w.read_json("pinned.json"))["top"]["digest"], img.amd64);

    // --max-size holds for images too: a blob over it is never asked for.
    let out = w.fetch(
        "small.json",
        &["--max-size", "100000"],
        &front.reference("test/app:1.0"),
    );
    assert_exit(&out, 1);
    let t = w.read_json("small.json");
    assert_eq!(artifact(&t)["error"]["code"], "size-limit");
    assert!(
        artifact(&t)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("over the size limit"),
        "{t}"
    );

    // A platform the index lacks.
    let out = w.fetch(
        "s390x.json",
        &["--platform", "linux/s390x"],
        &front.reference("test/app:1.0"),
    );
    assert_exit(&out, 1);
    assert_eq!(
        artifact(&w.read_json("s390x.json"))["error"]["code"],
        "no-matching-platform"
    );
}

#[test]
fn every_registry_lie_is_caught_and_recorded() {
    let w = World::new();
    let img = images(&w);
    let mut flipped = img.amd64_layer_bytes.clone();
    flipped[100] ^= 1;
    let mut longer = img.amd64_layer_bytes.clone();
    longer.push(0);
    let shorter = img.amd64_layer_bytes[..img.amd64_layer_bytes.len() - 1].to_vec();
    let cases: Vec<(RegistryLie, String, &str)> = vec![
        (
            RegistryLie::SubstitutePinned {
                repo: REPO.into(),
                pinned: img.amd64.clone(),
                served: img.arm64.clone(),
            },
            format!("test/app@{}", img.amd64),
            "digest-mismatch",
        ),
        (
            RegistryLie::WrongDigestHeader {
                repo: REPO.into(),
                tag: "1.0".into(),
            },
            "test/app:1.0".into(),
            "digest-header-mismatch",
        ),
        (
            RegistryLie::WrongContentType {
                repo: REPO.into(),
                reference: img.amd64.clone(),
                content_type: "application/vnd.oci.image.index.v1+json".into(),
            },
            "test/app:1.0".into(),
            "content-type-mismatch",
        ),
        (
            RegistryLie::ReplaceBlob {
                repo: REPO.into(),
                digest: img.amd64_layer.clone(),
                bytes: flipped,
            },
            "test/app:1.0".into(),
            "blob-digest-mismatch",
        ),
        (
            RegistryLie::ReplaceBlob {
                repo: REPO.into(),
                digest: img.amd64_layer.clone(),
                bytes: longer,
            },
            "test/app:1.0".into(),
            "blob-size-mismatch",
        ),
        (
            RegistryLie::ReplaceBlob {
                repo: REPO.into(),
                digest: img.amd64_layer.clone(),
                bytes: shorter,
            },
            "test/app:1.0".into(),
            "blob-size-mismatch",
        ),
        (
            RegistryLie::RealmElsewhere,
            "test/app:1.0".into(),
            "token-realm",
        ),
        (
            RegistryLie::OversizedManifest {
                repo: REPO.into(),
                tag: "1.0".into(),
            },
            "test/app:1.0".into(),
            "manifest-too-large",
        ),
    ];
    // With --keep, a failed pull leaves no layout behind, not even one without index.json.
    let keep = w.path("kept");
    std::fs::create_dir_all(&keep).unwrap();
    for (i, (lie, reference, code)) in cases.iter().enumerate() {
        let front = img.registry.front(&w.ca, lie);
        let out_name = format!("lie{i}.json");
        let out = w.fetch(
            &out_name,
            &["--keep", keep.to_str().unwrap()],
            &front.reference(reference),
        );
        assert_exit(&out, 1);
        let t = w.read_json(&out_name);
        let a = artifact(&t);
        assert_eq!(a["error"]["code"], *code, "{lie:?}: {a}");
        assert_eq!(a["content"], Value::Null, "{lie:?}");
        assert_eq!(std::fs::read_dir(&keep).unwrap().count(), 0, "{lie:?}");
        assert!(minisign_verifies(&w.path(&out_name), &w.pub_key()));
    }
}

#[test]
fn a_lie_to_one_vantage_makes_compare_disagree_at_its_level() {
    let w = World::new();
    let img = images(&w);
    let honest = img.registry.front(&w.ca, &RegistryLie::None);
    let moved = img.registry.front(
        &w.ca,
        &RegistryLie::MoveTag {
            repo: REPO.into(),
            tag: "1.0".into(),
            to: "evil".into(),
        },
    );
    let mut flipped = img.amd64_layer_bytes.clone();
    flipped[7] ^= 1;
    let tampered = img.registry.front(
        &w.ca,
        &RegistryLie::ReplaceBlob {
            repo: REPO.into(),
            digest: img.amd64_layer.clone(),
            bytes: flipped,
        },
    );
    // The runs name the image by the same id: the plan's.
    let plan = |port: u16| {
        format!(
            "name = \"image\"\n[[artifact]]\nid = \"app\"\noci = \"127.0.0.1:{port}/test/app:1.0\"\n"
        )
    };
    let ca = w.ca.root_pem.to_str().unwrap().to_owned();
    let run = |name: &str, front: &Front| {
        let path = w.path(&format!("{name}.toml"));
        std::fs::write(&path, plan(front.port)).unwrap();
        w.tofu(&[
            "fetch",
            "--ca-cert",
            &ca,
            "--plan",
            path.to_str().unwrap(),
            "-o",
            &format!("{name}.json"),
        ])
    };
    assert_exit(&run("run1", &honest), 0);
    assert_exit(&run("run2", &honest), 0);
    assert_exit(&run("run3", &moved), 0);
    assert_exit(&run("run4", &tampered), 1);

    let compare = |runs: &[&str]| {
        let mut args = vec![
            "compare",
            "--json",
            "--require",
            "none",
            "--allow-mixed-plans",
        ];
        args.extend(runs);
        let out = w.tofu(&args);
        (
            code(&out),
            serde_json::from_slice::<Value>(&out.stdout).unwrap(),
        )
    };
    let (c, report) = compare(&["run1.json", "run2.json", "run3.json"]);
    assert_eq!(c, 1, "{report}");
    let a = &report["artifacts"][0];
    assert_eq!(a["odd_runs"], serde_json::json!([3]));
    assert_eq!(a["level"], "tag", "{a}");
    assert!(
        report["reasons"][0]
            .as_str()
            .unwrap()
            .contains("differs at tag"),
        "{report}"
    );

    // The tampered blob: the run failed verification, which is a disagreement, not a gap.
    let (c, report) = compare(&["run1.json", "run2.json", "run4.json"]);
    assert_eq!(c, 1, "{report}");
    let a = &report["artifacts"][0];
    assert_eq!(a["odd_runs"], serde_json::json!([3]));
    assert_eq!(a["level"], "error", "{a}");
    assert!(
        a["diffs"][0]
            .as_str()
            .unwrap()
            .contains("blob-digest-mismatch"),
        "{a}"
    );
}

#[test]
fn socks_and_direct_agree_and_the_kept_layout_round_trips_through_skopeo() {
    let w = World::new();
    let img = images(&w);
    let front = img.registry.front(&w.ca, &RegistryLie::None);
    let proxy = tofu_testkit::Microsocks::start(None, None);
    let reference = front.reference("test/app:1.0");
    let keep = w.path("kept");
    let keep_s = keep.to_str().unwrap();
    assert_exit(
        &w.fetch(
            "run1.json",
            &["--keep", keep_s, "--platform", "all"],
            &reference,
        ),
        0,
    );
    assert_exit(
        &w.fetch(
            "run2.json",
            &["--via", &proxy.url(), "--platform", "all"],
            &reference,
        ),
        0,
    );
    assert_exit(
        &w.fetch(
            "run3.json",
            &["--via", &proxy.url(), "--platform", "all"],
            &reference,
        ),
        0,
    );
    let out = w.compare_bytes_only(&["run1.json", "run2.json", "run3.json"]);
    assert_exit(&out, 0);
    assert_eq!(
        w.read_json("run2.json")["vantage"]["transport"]["kind"],
        "socks5"
    );

    // The kept layout is an OCI image layout skopeo reads and copies, digests intact. Its
    // directory is the reference, escaped so that no two references share one.
    let layout = std::fs::read_dir(&keep)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let host = reference.split('/').next().unwrap().replace(':', "%3A");
    assert_eq!(
        layout.file_name().unwrap().to_str().unwrap(),
        format!("{host}%2Ftest%2Fapp%3A1.0")
    );
    let names: Vec<String> = std::fs::read_dir(layout.join("blobs/sha256"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".part")), "{names:?}");
    assert!(names.contains(&img.index[7..].to_owned()));
    let copy = w.path("copied");
    tofu_testkit::output::run_ok(
        img.registry
            .skopeo()
            .args(["copy", "--all", "--preserve-digests"])
            .arg(format!("oci:{}:1.0", layout.display()))
            .arg(format!("oci:{}:1.0", copy.display())),
    );
    let index: Value =
        serde_json::from_slice(&std::fs::read(copy.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"][0]["digest"], img.index);

    // A second pull into the same keep directory finds the layout there: it refuses, with
    // a `keep` error, and leaves the first layout as it was.
    let before = std::fs::read(layout.join("index.json")).unwrap();
    let out = w.fetch(
        "run4.json",
        &["--keep", keep_s, "--platform", "all"],
        &reference,
    );
    assert_exit(&out, 1);
    assert_eq!(artifact(&w.read_json("run4.json"))["error"]["code"], "keep");
    assert_eq!(std::fs::read(layout.join("index.json")).unwrap(), before);
    assert!(layout.join("oci-layout").exists());
}

/// `tofu fetch --plan` of `test/app:1.0` from `front` under the plan's id `app` (fronts
/// differ in port, so only a plan lines their runs up), into `NAME.json`.
fn plan_run(w: &World, name: &str, front: &Front, extra: &[&str]) -> std::process::Output {
    let path = w.path(&format!("{name}.toml"));
    let plan = format!(
        "name = \"image\"\n[[artifact]]\nid = \"app\"\noci = \"127.0.0.1:{}/test/app:1.0\"\n",
        front.port
    );
    std::fs::write(&path, plan).unwrap();
    let ca = w.ca.root_pem.to_str().unwrap().to_owned();
    let out = format!("{name}.json");
    let mut args = vec![
        "fetch",
        "--ca-cert",
        &ca,
        "--plan",
        path.to_str().unwrap(),
        "-o",
        &out,
    ];
    args.extend_from_slice(extra);
    w.tofu(&args)
}

/// `tofu compare|status --json --require none --allow-mixed-plans RUNS…`: exit code, JSON.
fn judge(w: &World, command: &str, runs: &[&str]) -> (i32, Value) {
    let mut args = vec![
        command,
        "--json",
        "--require",
        "none",
        "--allow-mixed-plans",
    ];
    args.extend(runs);
    let out = w.tofu(&args);
    let json = json_of(&out);
    (code(&out), json)
}

#[test]
fn a_registry_that_lies_then_fails_is_a_disagreement_not_a_gap() {
    let w = World::new();
    let img = images(&w);
    let honest = img.registry.front(&w.ca, &RegistryLie::None);
    let fail_blobs = RegistryLie::Fail {
        prefix: format!("/v2/{REPO}/blobs/"),
        status: 500,
    };
    // Its own index for the tag, then a 500 on every blob: the run fails, after verifying
    // another tag → digest binding.
    let lying = img.registry.front(
        &w.ca,
        &RegistryLie::Several(vec![
            RegistryLie::MoveTag {
                repo: REPO.into(),
                tag: "1.0".into(),
                to: "evil".into(),
            },
            fail_blobs.clone(),
        ]),
    );
    // The genuine index, then the same 500s.
    let failing = img.registry.front(&w.ca, &fail_blobs);
    assert_exit(&plan_run(&w, "run1", &honest, &[]), 0);
    assert_exit(&plan_run(&w, "run2", &honest, &[]), 0);
    assert_exit(&plan_run(&w, "lied", &lying, &[]), 1);
    assert_exit(&plan_run(&w, "failed", &failing, &[]), 1);
    let t = w.read_json("lied.json");
    assert_eq!(artifact(&t)["error"]["code"], "http-status", "{t}");
    assert_ne!(oci(&t)["top"]["digest"], img.index, "{t}");
    assert_eq!(oci(&t)["manifests"].as_array().unwrap().len(), 1, "{t}");
    let t = w.read_json("failed.json");
    assert_eq!(artifact(&t)["error"]["code"], "http-status", "{t}");
    assert_eq!(oci(&t)["top"]["digest"], img.index, "{t}");

    let (c, report) = judge(&w, "compare", &["run1.json", "run2.json", "lied.json"]);
    assert_eq!(c, 1, "{report}");
    assert_eq!(report["verdict"], "disagree");
    let a = &report["artifacts"][0];
    assert_eq!(a["verdict"], "mismatch");
    assert_eq!(a["odd_runs"], serde_json::json!([3]));
    assert_eq!(a["level"], "tag", "{a}");
    assert_eq!(a["cells"][2]["state"], "failed");
    assert_eq!(a["groups"][1]["failed_runs"], serde_json::json!([3]), "{a}");
    let reason = report["reasons"][0].as_str().unwrap();
    assert!(
        reason.contains("app: differs at tag; odd run(s) #3 (lied.json, direct) (#3 failed later"),
        "{reason}"
    );
    let out = w.tofu(&[
        "status",
        "--require",
        "none",
        "--allow-mixed-plans",
        "run1.json",
        "run2.json",
        "lied.json",
    ]);
    assert_exit(&out, 1);
    let text = stdout(&out);
    assert!(text.contains("verdict: DISAGREE"), "{text}");
    assert!(
        text.contains("app: run(s) #3 disagree with the others at tag"),
        "{text}"
    );
    assert!(
        text.contains("#3 failed, but only after verifying"),
        "{text}"
    );
    assert!(!text.contains("fetch it again"), "{text}");

    // Equal facts, then a failure: missing, and status says to fetch it again.
    let (c, report) = judge(&w, "compare", &["run1.json", "run2.json", "failed.json"]);
    assert_eq!(c, 3, "{report}");
    let a = &report["artifacts"][0];
    assert_eq!(a["verdict"], "missing", "{a}");
    assert_eq!(a["groups"][0]["failed_runs"], serde_json::json!([3]), "{a}");
    let (c, status) = judge(&w, "status", &["run1.json", "run2.json", "failed.json"]);
    assert_eq!(c, 3);
    assert!(
        status["next_run"]["advice"]
            .to_string()
            .contains("app: absent or failed in some run; fetch it again"),
        "{status}"
    );
}

#[test]
fn runs_of_different_platform_sets_are_not_one_image() {
    let w = World::new();
    let img = images(&w);
    let front = img.registry.front(&w.ca, &RegistryLie::None);
    let reference = front.reference("test/app:1.0");
    assert_exit(&w.fetch("run1.json", &[], &reference), 0);
    assert_exit(&w.fetch("run2.json", &[], &reference), 0);
    assert_exit(&w.fetch("run3.json", &["--platform", "all"], &reference), 0);
    let (c, report) = judge(&w, "compare", &["run1.json", "run2.json", "run3.json"]);
    assert_eq!(c, 3, "{report}");
    assert_eq!(report["artifacts"][0]["verdict"], "missing");
    assert_eq!(
        report["reasons"],
        serde_json::json!([format!(
            "{reference}: runs pulled different platform sets: #1 linux/amd64, \
             #2 linux/amd64, #3 all; pull the same --platform in every run"
        )])
    );
    let (_, status) = judge(&w, "status", &["run1.json", "run2.json", "run3.json"]);
    assert!(
        status["next_run"]["advice"]
            .to_string()
            .contains("pull the same --platform in every run"),
        "{status}"
    );
    // The same platforms in every run agree.
    assert_exit(
        &w.fetch("run4.json", &["--platform", "linux/amd64"], &reference),
        0,
    );
    let (c, report) = judge(&w, "compare", &["run1.json", "run2.json", "run4.json"]);
    assert_eq!(c, 0, "{report}");
}
