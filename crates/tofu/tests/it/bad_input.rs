//! Every bad input ends in a clear message and a fail-closed exit code: tampered
//! transcripts, bad or missing signatures, foreign keys, unknown formats, malformed JSON,
//! the same run twice, and a transcript that must not be overwritten.

use crate::support::*;

/// Three honest runs in `w`.
fn three_runs(w: &World) {
    let url = w.nginx.https_url("file.bin");
    for name in ["run1.json", "run2.json", "run3.json"] {
        assert_exit(&w.fetch(name, &[], &url), 0);
    }
}

const RUNS: [&str; 4] = ["compare", "run1.json", "run2.json", "run3.json"];

#[test]
fn any_changed_byte_is_refused() {
    let w = World::new();
    three_runs(&w);
    let original = std::fs::read(w.path("run2.json")).unwrap();
    // Change one digit of a timing, then the final newline: both break the signature.
    let timing_at = String::from_utf8_lossy(&original)
        .find("\"duration_ms\": ")
        .unwrap()
        + 15;
    for at in [timing_at, original.len() - 1] {
        let mut bytes = original.clone();
        bytes[at] = if bytes[at] == b'1' { b'2' } else { b'1' };
        if at == original.len() - 1 {
            bytes[at] = b' ';
        }
        std::fs::write(w.path("run2.json"), &bytes).unwrap();
        let out = w.tofu(&RUNS);
        assert_exit(&out, 2);
        let err = stderr(&out);
        assert!(
            err.contains("run2.json") && err.contains("bad signature"),
            "{err}"
        );
        assert!(err.contains("hint:"), "{err}");
        assert_exit(&w.tofu(&["verify", "run1.json", "run2.json"]), 2);
        // --allow-unsigned does not excuse a bad signature.
        assert_exit(
            &w.tofu(&["compare", "--allow-unsigned", RUNS[1], RUNS[2], RUNS[3]]),
            2,
        );
    }
    std::fs::write(w.path("run2.json"), &original).unwrap();
    assert_exit(
        &w.tofu(&["verify", "run1.json", "run2.json", "run3.json"]),
        0,
    );
}

#[test]
fn a_signature_moved_to_another_run_or_by_another_key_is_refused() {
    let w = World::new();
    three_runs(&w);
    std::fs::copy(w.path("run1.json.minisig"), w.path("run2.json.minisig")).unwrap();
    let out = w.tofu(&RUNS);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("run2.json"), "{}", stderr(&out));

    // Another operator's key: its runs fail verify until trusted (here with --trusted-key,
    // for one call, shown by the file's name); this machine's own key needs no step.
    let w = World::new();
    three_runs(&w);
    let other = w.path("other.key");
    assert_exit(&w.tofu(&["keygen", "--key", other.to_str().unwrap()]), 0);
    let other_pub = w.path("other.pub");
    let out = w.tofu(&["verify", "run1.json"]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("signed by this machine (key "),
        "{}",
        stdout(&out)
    );
    let url = w.nginx.https_url("file.bin");
    let ca = w.ca.root_pem.to_str().unwrap();
    let key_arg = other.to_str().unwrap();
    let out = w.tofu(&[
        "fetch",
        "--ca-cert",
        ca,
        "--key",
        key_arg,
        "-o",
        "run4.json",
        &url,
    ]);
    assert_exit(&out, 0);
    assert!(minisign_verifies(&w.path("run4.json"), &other_pub));
    let out = w.tofu(&["verify", "run1.json", "run4.json"]);
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(
        err.contains("run4.json: signed off by key ")
            && err.contains("which you do not trust")
            && err.contains("tofu trust add NAME KEY.pub"),
        "{err}"
    );
    assert!(stdout(&out).contains("ok: run1.json"), "{}", stdout(&out));
    let trusted = [
        "verify",
        "--trusted-key",
        other_pub.to_str().unwrap(),
        "run4.json",
    ];
    let out = w.tofu(&trusted);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("signed by other (key "),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_missing_signature_needs_allow_unsigned() {
    let w = World::new();
    three_runs(&w);
    std::fs::remove_file(w.path("run3.json.minisig")).unwrap();
    let out = w.tofu(&RUNS);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("no signature file"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("--allow-unsigned"),
        "{}",
        stderr(&out)
    );
    // --allow-unsigned excuses the missing signature, nothing more: the run names this
    // machine's key but is shown as unsigned, and the verdict says it was counted.
    let out = w.compare_bytes_only(&["--allow-unsigned", RUNS[1], RUNS[2], RUNS[3]]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    let run3 = text.lines().find(|l| l.contains("run3.json")).unwrap();
    assert!(run3.ends_with("UNSIGNED"), "{run3}");
    assert!(!run3.contains("this machine"), "{run3}");
    assert!(
        text.contains("verdict: AGREE (1 unsigned run(s) counted because of --allow-unsigned)"),
        "{text}"
    );
    assert!(
        stderr(&out).contains("run3.json: no signature"),
        "{}",
        stderr(&out)
    );
    let out = w.compare_bytes_only(&["--json", "--allow-unsigned", RUNS[1], RUNS[2], RUNS[3]]);
    let report: serde_json::Value = json_of(&out);
    assert_eq!(report["unsigned_counted"], 1);
    assert_eq!(
        report["runs"][2]["signer"],
        serde_json::json!({"trust": "unsigned"})
    );
    assert_eq!(report["runs"][0]["signer"]["trust"], "trusted");
    assert_eq!(report["runs"][0]["signer"]["name"], "this machine");
}

// Unknown formats, malformed JSON and unknown fields: tests/cli (no service needed).

#[test]
fn the_same_run_twice_is_refused() {
    let w = World::new();
    three_runs(&w);
    std::fs::copy(w.path("run1.json"), w.path("copy.json")).unwrap();
    std::fs::copy(w.path("run1.json.minisig"), w.path("copy.json.minisig")).unwrap();
    let out = w.tofu(&["compare", "run1.json", "copy.json", "run2.json"]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("same run"), "{}", stderr(&out));
    assert_exit(
        &w.tofu(&["compare", "run1.json", "run1.json", "run2.json"]),
        2,
    );
}

/// (Usage errors, which need no server, are in tests/cli.)
#[test]
fn an_existing_transcript_is_never_overwritten_without_force() {
    let w = World::new();
    let url = w.nginx.https_url("file.bin");
    let ca = w.ca.root_pem.to_str().unwrap();
    assert_exit(&w.fetch("x.json", &[], &url), 0);
    let before = std::fs::read(w.path("x.json")).unwrap();
    let out = w.tofu(&["fetch", "--ca-cert", ca, "-o", "x.json", &url]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("--force"), "{}", stderr(&out));
    assert_eq!(std::fs::read(w.path("x.json")).unwrap(), before);
    assert_exit(
        &w.tofu(&["fetch", "--ca-cert", ca, "--force", "-o", "x.json", &url]),
        0,
    );
    assert_ne!(std::fs::read(w.path("x.json")).unwrap(), before);
    assert_exit(&w.tofu(&["verify", "x.json"]), 0);
}

#[test]
fn tor_refuses_unknown_countries_and_says_when_the_network_is_unreachable() {
    let w = World::new();
    let url = w.nginx.https_url("file.bin");
    for (via, said) in [
        ("tor:XX", "\"XX\" is not an ISO 3166-1 alpha-2 country code"),
        (
            "tor:DEU",
            "\"DEU\" is not an ISO 3166-1 alpha-2 country code",
        ),
        ("tor:", "\"\" is not an ISO 3166-1 alpha-2 country code"),
    ] {
        let out = w.fetch("run.json", &["--via", via], &url);
        assert_exit(&out, 2);
        let err = stderr(&out);
        assert!(err.contains(said) && err.contains("tor:DE"), "{err}");
        assert!(!w.path("run.json").exists());
    }

    // A Tor network nobody answers for: the only directory cache is a closed loopback port.
    w.configure(
        &w.home(),
        "[tor]\nbootstrap_timeout_secs = 3\n\
         [tor.arti.tor_network.authorities]\n\
         v3idents = [\"0000000000000000000000000000000000000000\"]\n\
         [[tor.arti.tor_network.fallback_caches]]\n\
         rsa_identity = \"0000000000000000000000000000000000000001\"\n\
         ed_identity = \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"\n\
         orports = [\"127.0.0.1:9\"]\n",
    );
    let out = w.fetch("run.json", &["--via", "tor"], &url);
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(
        err.contains("error: cannot reach the Tor network: bootstrapping did not finish in 3 s")
            && err.contains("hint: check that this machine can reach the Tor network"),
        "{err}"
    );
    assert!(!w.path("run.json").exists());

    // Tor's files open to other users: refused before any connection, with what to do.
    let data = w.home().join(".local/share/tofu/tor");
    std::fs::create_dir_all(&data).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    let out = w.fetch("run.json", &["--via", "tor"], &url);
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(
        err.contains("the Tor client's files in")
            && err.contains("are not private")
            && err.contains("chmod go-w"),
        "{err}"
    );
    assert!(!w.path("run.json").exists());
    std::fs::remove_dir_all(&data).unwrap();

    // arti's own settings are checked by arti.
    w.configure(
        &w.home(),
        "[tor.arti.path_rules]\nipv4_subnet_family_prefix = \"x\"\n",
    );
    let out = w.fetch("run.json", &["--via", "tor"], &url);
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(
        err.contains("the [tor] settings are unusable: [tor.arti]"),
        "{err}"
    );
}
