//! Plans: one audit repeated from several vantage points, with mirrors that must agree.

use tofu_testkit::Nginx;

use crate::support::*;

fn write_plan(w: &World, name: &str, body: &str) -> String {
    let path = w.path(name);
    std::fs::write(&path, body).unwrap();
    path.to_str().unwrap().to_owned()
}

fn mirrors_plan(w: &World, second: &str) -> String {
    format!(
        "name = \"test-audit\"\n\n[[artifact]]\nid = \"the-file\"\nurls = [\"{}\", \"{second}\"]\n",
        w.nginx.https_url("file.bin")
    )
}

#[test]
fn a_plan_with_mirrors_is_fetched_whole_and_recorded() {
    let w = World::new();
    let plan = write_plan(
        &w,
        "plan.toml",
        &mirrors_plan(&w, &w.nginx.https_url("mirror/file.bin")),
    );
    let ca = w.ca.root_pem.to_str().unwrap();
    for name in ["run1.json", "run2.json", "run3.json"] {
        assert_exit(
            &w.tofu(&["fetch", "--ca-cert", ca, "--plan", &plan, "-o", name]),
            0,
        );
    }
    let t = w.read_json("run1.json");
    assert_eq!(t["plan"]["name"], "test-audit");
    assert_eq!(
        t["plan"]["sha256"],
        tool_digest("sha256sum", &w.path("plan.toml"))
    );
    let a = artifact(&t);
    assert_eq!(a["id"], "the-file");
    assert_eq!(a["fetches"].as_array().unwrap().len(), 2);
    assert_eq!(a["fetches"][1]["content"], a["content"]);
    let out = w.compare_bytes_only(&["run1.json", "run2.json", "run3.json"]);
    assert_exit(&out, 0);

    // A run of another plan (or of no plan) is not part of this audit.
    let other = write_plan(
        &w,
        "other.toml",
        &mirrors_plan(&w, &w.nginx.https_url("mirror/file.bin")).replace("test-audit", "other"),
    );
    assert_exit(
        &w.tofu(&[
            "fetch",
            "--ca-cert",
            ca,
            "--plan",
            &other,
            "-o",
            "other.json",
        ]),
        0,
    );
    let out = w.compare_bytes_only(&["run1.json", "run2.json", "other.json"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("not of one audit"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("--allow-mixed-plans"),
        "{}",
        stderr(&out)
    );
    let out = w.compare_bytes_only(&[
        "--allow-mixed-plans",
        "run1.json",
        "run2.json",
        "other.json",
    ]);
    assert_exit(&out, 0);
}

#[test]
fn mirrors_that_disagree_inside_one_run_are_a_finding() {
    let w = World::new();
    let www = w.path("evil-www");
    std::fs::create_dir_all(&www).unwrap();
    let mut evil = payload();
    evil[7] ^= 1;
    std::fs::write(www.join("file.bin"), evil).unwrap();
    let evil_mirror = Nginx::start(&www, &w.ca, |_, _| String::new());
    let honest = write_plan(
        &w,
        "plan.toml",
        &mirrors_plan(&w, &w.nginx.https_url("mirror/file.bin")),
    );
    let ca = w.ca.root_pem.to_str().unwrap();
    assert_exit(
        &w.tofu(&[
            "fetch",
            "--ca-cert",
            ca,
            "--plan",
            &honest,
            "-o",
            "run1.json",
        ]),
        0,
    );
    assert_exit(
        &w.tofu(&[
            "fetch",
            "--ca-cert",
            ca,
            "--plan",
            &honest,
            "-o",
            "run2.json",
        ]),
        0,
    );
    // Run 3's plan file is the same but run 3 sees a lying second mirror: here the lie is
    // staged by pointing the mirror URL elsewhere, so use --allow-mixed-plans to compare.
    let lying = write_plan(
        &w,
        "lying.toml",
        &mirrors_plan(&w, &evil_mirror.https_url("file.bin")),
    );
    // With --keep, neither mirror's payload is kept: each is complete, but the artifact is
    // disputed, and a disputed payload must not sit under a name that looks finished.
    let keep = w.path("kept");
    let out = w.tofu(&[
        "fetch",
        "--ca-cert",
        ca,
        "--plan",
        &lying,
        "--keep",
        keep.to_str().unwrap(),
        "-o",
        "run3.json",
    ]);
    assert_exit(&out, 1);
    let t = w.read_json("run3.json");
    assert_eq!(artifact(&t)["error"]["code"], "mirror-mismatch");
    assert_eq!(std::fs::read_dir(&keep).unwrap().count(), 0);
    for fetch in artifact(&t)["fetches"].as_array().unwrap() {
        assert_eq!(fetch["kept_as"], serde_json::Value::Null);
    }
    assert!(
        artifact(&t)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("mirrors disagree")
    );
    assert_eq!(artifact(&t)["content"], serde_json::Value::Null);

    let out = w.compare_bytes_only(&[
        "--json",
        "--allow-mixed-plans",
        "run1.json",
        "run2.json",
        "run3.json",
    ]);
    assert_exit(&out, 1);
    let report: serde_json::Value = json_of(&out);
    assert_eq!(report["artifacts"][0]["verdict"], "mismatch");
    assert_eq!(report["artifacts"][0]["odd_runs"], serde_json::json!([3]));
}

#[test]
fn bad_plans_name_the_file_and_line() {
    let w = World::new();
    let url = w.nginx.https_url("file.bin");
    let cases = [
        (
            "typo.toml",
            format!("name = \"x\"\n\n[[artifact]]\nid = \"a\"\nulrs = [\"{url}\"]\n"),
            "typo.toml:5:",
        ),
        (
            "empty.toml",
            "name = \"x\"\n\n[[artifact]]\nid = \"a\"\nurls = []\n".to_owned(),
            "empty.toml:5: artifact \"a\" has an empty urls list",
        ),
        (
            "scheme.toml",
            "name = \"x\"\n[[artifact]]\nid = \"a\"\nurls = [\"file:///etc/passwd\"]\n".to_owned(),
            "scheme.toml:4:",
        ),
        ("syntax.toml", "name = \"x\n".to_owned(), "syntax.toml:1:"),
    ];
    for (name, body, want) in cases {
        let plan = write_plan(&w, name, &body);
        let out = w.tofu(&["fetch", "--plan", &plan, "-o", "x.json"]);
        assert_exit(&out, 2);
        assert!(stderr(&out).contains(want), "{name}: {}", stderr(&out));
        assert!(!w.path("x.json").exists());
    }
    let out = w.tofu(&["fetch", "--plan", "nope.toml", "-o", "x.json"]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("nope.toml"));
    // A plan and targets together is a usage error.
    let plan = write_plan(
        &w,
        "ok.toml",
        &mirrors_plan(&w, &url.replace("file.bin", "mirror/file.bin")),
    );
    assert_exit(
        &w.tofu(&["fetch", "--plan", &plan, "-o", "x.json", &url]),
        2,
    );
}
