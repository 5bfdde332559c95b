//! Homebrew formulas: a Homebrew API stand-in (nginx serving formula JSON) and a
//! Homebrew-shaped bottle index in the real registry; every link from the API's sha256 to
//! the downloaded bottle is checked, and a lying API is caught.

use serde_json::{Value, json};
use tofu_testkit::{Bottle, Front, LayoutBuilder, Registry, RegistryLie};

use crate::support::*;

const REPO: &str = "homebrew/core/testpkg";

fn bottles(w: &World) -> (Registry, Vec<Bottle>) {
    let registry = Registry::start(&w.ca, &[REPO]);
    let mut layout = LayoutBuilder::new(&w.path("bottles"));
    let (index, built) = layout.bottle_index(
        "1.2.3",
        &[
            ("arm64_sonoma", "darwin", "arm64", 90_000),
            ("x86_64_linux", "linux", "amd64", 80_000),
        ],
    );
    layout.tag(&index, "1.2.3");
    registry.push(&layout.dir, "1.2.3", REPO);
    (registry, built)
}

/// Writes the formula JSON for `front` (its root_url) under www/<api>/formula/ and a config
/// pointing tofu at it; returns the config path.
fn api(w: &World, name: &str, front: &Front, bottles: &[Bottle], lie: Option<&str>) -> String {
    let files: serde_json::Map<String, Value> = bottles
        .iter()
        .map(|b| {
            let sha = if lie == Some(b.tag.as_str()) {
                "0".repeat(64)
            } else {
                b.sha256.clone()
            };
            (
                b.tag.clone(),
                json!({"cellar": ":any", "url": "unused", "sha256": sha}),
            )
        })
        .collect();
    let formula = json!({
        "name": "testpkg",
        "versions": {"stable": "1.2.3"},
        "revision": 0,
        "bottle": {"stable": {
            "rebuild": 0,
            "root_url": format!("https://127.0.0.1:{}/v2/homebrew/core", front.port),
            "files": files,
        }},
    });
    serve_formula(w, name, &formula.to_string())
}

/// Serves `body` as testpkg's API document under www/<name>/formula/ and writes a config
/// pointing tofu's Homebrew API there; returns the config path.
fn serve_formula(w: &World, name: &str, body: &str) -> String {
    let dir = w.dir.path().join("www").join(name).join("formula");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("testpkg.json"), body).unwrap();
    let config = w.path(&format!("{name}.toml"));
    std::fs::write(
        &config,
        format!(
            "[vantage]\nwhoami = [\"{}\"]\n[homebrew]\napi = \"{}\"\n",
            w.nginx.https_url("whoami"),
            w.nginx.https_url(name)
        ),
    )
    .unwrap();
    config.to_str().unwrap().to_owned()
}

fn brew(w: &World, config: &str, out: &str, extra: &[&str], target: &str) -> std::process::Output {
    let ca = w.ca.root_pem.to_str().unwrap();
    let mut args = vec!["--config", config, "fetch", "--ca-cert", ca, "-o", out];
    args.extend_from_slice(extra);
    args.push(target);
    w.tofu(&args)
}

#[test]
fn a_formula_resolves_link_by_link_and_keeps_bottles_by_name() {
    let w = World::new();
    let (registry, built) = bottles(&w);
    let front = registry.front(&w.ca, &RegistryLie::None);
    let config = api(&w, "api", &front, &built, None);
    let keep = w.path("kept");
    let out = brew(
        &w,
        &config,
        "run.json",
        &["--keep", keep.to_str().unwrap()],
        "brew:testpkg",
    );
    assert_exit(&out, 0);
    let t = w.read_json("run.json");
    let a = artifact(&t);
    assert_eq!(a["id"], "brew:testpkg");
    let hb = &a["homebrew"];
    assert_eq!(hb["version"], "1.2.3");
    assert_eq!(hb["image_tag"], "1.2.3");
    assert_eq!(hb["bottles"].as_array().unwrap().len(), 2);
    for (b, want) in hb["bottles"].as_array().unwrap().iter().zip(&built) {
        assert_eq!(b["tag"], want.tag);
        assert_eq!(b["sha256"], want.sha256);
        assert_eq!(b["manifest"], want.manifest);
        assert_eq!(b["ref_name"], format!("1.2.3.{}", want.tag));
        let file = keep.join(b["file_name"].as_str().unwrap());
        assert_eq!(
            tool_digest("sha256sum", &file),
            want.sha256,
            "{}",
            file.display()
        );
    }
    assert_eq!(
        b_name(&hb["bottles"][0]),
        "testpkg--1.2.3.arm64_sonoma.bottle.tar.gz"
    );
    // The index has no top-level mediaType; it is recognised by its Content-Type.
    let raw = registry.skopeo_raw(&format!("{REPO}:1.2.3"));
    assert!(
        !String::from_utf8_lossy(&raw).contains("\"mediaType\":\"application/vnd.oci.image.index")
    );
    assert_eq!(
        a["oci"]["top"]["digest"],
        format!("sha256:{}", tool_digest_bytes(&raw))
    );

    // One bottle tag.
    let out = brew(&w, &config, "one.json", &[], "brew:testpkg@x86_64_linux");
    assert_exit(&out, 0);
    let t = w.read_json("one.json");
    assert_eq!(
        artifact(&t)["homebrew"]["bottles"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let out = brew(&w, &config, "none.json", &[], "brew:testpkg@arm64_tahoe");
    assert_exit(&out, 1);
    assert_eq!(
        artifact(&w.read_json("none.json"))["error"]["code"],
        "no-such-bottle"
    );

    // A file already under the second bottle's name is never replaced: the artifact fails
    // with `keep`, the file is as it was, and nothing else stays (the first bottle, copied
    // before, and the layout are removed again).
    let keep = w.path("kept2");
    std::fs::create_dir_all(&keep).unwrap();
    let taken = keep.join("testpkg--1.2.3.x86_64_linux.bottle.tar.gz");
    std::fs::write(&taken, b"mine, not tofu's").unwrap();
    let out = brew(
        &w,
        &config,
        "taken.json",
        &["--keep", keep.to_str().unwrap()],
        "brew:testpkg",
    );
    assert_exit(&out, 1);
    assert_eq!(
        artifact(&w.read_json("taken.json"))["error"]["code"],
        "keep"
    );
    assert_eq!(std::fs::read(&taken).unwrap(), b"mine, not tofu's");
    assert_eq!(std::fs::read_dir(&keep).unwrap().count(), 1);
}

fn b_name(b: &Value) -> &str {
    b["file_name"].as_str().unwrap()
}

#[test]
fn a_lying_api_is_caught_and_compare_disagrees() {
    let w = World::new();
    let (registry, built) = bottles(&w);
    let front = registry.front(&w.ca, &RegistryLie::None);
    let honest = api(&w, "api", &front, &built, None);
    let lying = api(&w, "api-lie", &front, &built, Some("x86_64_linux"));
    assert_exit(&brew(&w, &honest, "run1.json", &[], "brew:testpkg"), 0);
    assert_exit(&brew(&w, &honest, "run2.json", &[], "brew:testpkg"), 0);
    let out = brew(&w, &lying, "run3.json", &[], "brew:testpkg");
    assert_exit(&out, 1);
    let t = w.read_json("run3.json");
    assert_eq!(artifact(&t)["error"]["code"], "homebrew-mismatch");
    let msg = artifact(&t)["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(msg.contains("1.2.3.x86_64_linux"), "{msg}");

    let out = w.compare_bytes_only(&["--json", "run1.json", "run2.json", "run3.json"]);
    assert_exit(&out, 1);
    let report: Value = json_of(&out);
    assert_eq!(report["artifacts"][0]["odd_runs"], json!([3]));
    assert_eq!(
        report["artifacts"][0]["level"], "homebrew bottle x86_64_linux",
        "{report}"
    );
}

/// An API answer tofu cannot use is the API's failure (`bad-formula`), never a registry's
/// code: not JSON, or a `root_url` that is not a registry's `/v2/` URL.
#[test]
fn an_unusable_api_answer_is_bad_formula() {
    let w = World::new();
    let not_v2 = json!({
        "versions": {"stable": "1.2.3"},
        "bottle": {"stable": {
            "root_url": "https://127.0.0.1:1/v1/homebrew/core",
            "files": {"x86_64_linux": {"sha256": "0".repeat(64)}},
        }},
    });
    for (name, body) in [
        ("not-json", "<html>not a formula</html>".to_owned()),
        ("not-v2", not_v2.to_string()),
    ] {
        let config = serve_formula(&w, name, &body);
        let out_name = format!("{name}.json");
        let out = brew(&w, &config, &out_name, &[], "brew:testpkg");
        assert_exit(&out, 1);
        let t = w.read_json(&out_name);
        let a = artifact(&t);
        assert_eq!(a["error"]["code"], "bad-formula", "{name}: {a}");
        assert!(a["oci"].is_null(), "{name}: no registry was asked: {a}");
    }
}

/// What the API declared counts even when the registry then fails; a run that asked for
/// other bottle tags is inconclusive, not different.
#[test]
fn a_lying_api_then_a_failing_registry_still_disagrees() {
    let w = World::new();
    let (registry, built) = bottles(&w);
    let front = registry.front(&w.ca, &RegistryLie::None);
    // A registry that answers 500 for the bottle index: the run fails before any bottle
    // is checked against what the API declared.
    let failing = registry.front(
        &w.ca,
        &RegistryLie::Fail {
            prefix: format!("/v2/{REPO}/manifests/"),
            status: 500,
        },
    );
    let honest = api(&w, "api", &front, &built, None);
    let lying = api(&w, "api-lie", &failing, &built, Some("x86_64_linux"));
    let honest_then_failing = api(&w, "api-fail", &failing, &built, None);
    assert_exit(&brew(&w, &honest, "run1.json", &[], "brew:testpkg"), 0);
    assert_exit(&brew(&w, &honest, "run2.json", &[], "brew:testpkg"), 0);
    assert_exit(&brew(&w, &lying, "lied.json", &[], "brew:testpkg"), 1);
    assert_exit(
        &brew(&w, &honest_then_failing, "failed.json", &[], "brew:testpkg"),
        1,
    );
    let t = w.read_json("lied.json");
    assert_eq!(artifact(&t)["error"]["code"], "http-status", "{t}");
    assert_eq!(
        artifact(&t)["homebrew"]["bottles"][1]["sha256"],
        "0".repeat(64)
    );

    let out = w.compare_bytes_only(&["--json", "run1.json", "run2.json", "lied.json"]);
    assert_exit(&out, 1);
    let report: Value = json_of(&out);
    let a = &report["artifacts"][0];
    assert_eq!(a["odd_runs"], json!([3]));
    assert_eq!(a["level"], "homebrew bottle x86_64_linux", "{report}");
    assert_eq!(a["cells"][2]["state"], "failed");

    // What the API declared is the same; the registry failed: inconclusive.
    let out = w.compare_bytes_only(&["--json", "run1.json", "run2.json", "failed.json"]);
    assert_exit(&out, 3);

    // A run that asked for one bottle tag only (a plan lines it up with the others) holds
    // the same bottle: not a difference, but not the same artifact either.
    let plan = w.path("one-tag.toml");
    std::fs::write(
        &plan,
        "name = \"one\"\n[[artifact]]\nid = \"brew:testpkg\"\nhomebrew = \"testpkg\"\n\
         bottle_tags = [\"x86_64_linux\"]\n",
    )
    .unwrap();
    let ca = w.ca.root_pem.to_str().unwrap();
    let out = w.tofu(&[
        "--config",
        &honest,
        "fetch",
        "--ca-cert",
        ca,
        "--plan",
        plan.to_str().unwrap(),
        "-o",
        "one.json",
    ]);
    assert_exit(&out, 0);
    let out = w.compare_bytes_only(&[
        "--json",
        "--allow-mixed-plans",
        "run1.json",
        "run2.json",
        "one.json",
    ]);
    assert_exit(&out, 3);
    let report: Value = json_of(&out);
    assert_eq!(
        report["reasons"],
        json!([
            "brew:testpkg: runs pulled different bottle tags: #1 arm64_sonoma+x86_64_linux, \
             #2 arm64_sonoma+x86_64_linux, #3 x86_64_linux; fetch the same \
             brew:FORMULA[@TAG] in every run"
        ]),
        "{report}"
    );
}
