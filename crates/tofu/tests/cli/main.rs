//! Whole-process tests of the `tofu` binary that start no service: help, usage errors, bad
//! files, and compare/status over transcripts made here from the golden fixture and signed
//! with a key made here. The fast tier (`cargo xtask test --fast`) runs these; the tests
//! against real servers are in `tests/it`.

#![allow(clippy::unwrap_used)]

mod json;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tofu_record::key::SigningKey;
use tofu_record::{Transcript, io, sign};
use tofu_testkit::output::{assert_exit, code, stderr, stdout};

/// A home for tofu with its own signing key, and a place for transcripts.
struct Home {
    dir: tempfile::TempDir,
    key: SigningKey,
}

impl Home {
    fn new() -> Home {
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::generate().unwrap();
        key.save(&dir.path().join("home/.config/tofu/signing.key"), false)
            .unwrap();
        Home { dir, key }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn public_key(&self) -> PathBuf {
        self.path("home/.config/tofu/signing.pub")
    }

    /// Runs tofu in this home. Environment proxies point at a dead port, so nothing here can
    /// reach a network through them, and no command here should try.
    fn tofu(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_tofu"))
            .current_dir(self.dir.path())
            .env("HOME", self.path("home"))
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_DATA_HOME")
            .env("ALL_PROXY", "socks5h://127.0.0.1:9")
            .env("HTTPS_PROXY", "http://127.0.0.1:9")
            .args(args)
            .output()
            .unwrap()
    }

    /// Writes `name` (and its signature) from the golden fixture as changed by `edit`, as a
    /// run of this home's key.
    fn run(&self, name: &str, edit: impl FnOnce(&mut Transcript)) {
        let fixture = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/run-direct.json"
        ));
        let (mut t, _) = io::read(fixture).unwrap();
        t.signer.public_key = self.key.public().to_base64();
        t.signer.key_id = self.key.key_id();
        edit(&mut t);
        t.check().unwrap();
        let bytes = io::to_canonical_json(&t);
        let path = self.path(name);
        io::write_atomic(&path, &bytes, true).unwrap();
        sign::sign_file(&self.key, &t, &path, &bytes, true).unwrap();
    }

    /// Three runs from three days, hosts, networks and countries, each changed by `edit`
    /// (given the run's number) after that.
    fn three_runs(&self, edit: impl Fn(usize, &mut Transcript)) {
        let exits = [
            ("198.51.100.7", "DE"),
            ("203.0.113.9", "CA"),
            ("192.0.2.10", "SE"),
        ];
        for (i, (ip, cc)) in exits.into_iter().enumerate() {
            self.run(&format!("run{}.json", i + 1), |t| {
                t.run.id = format!("{:032x}", i + 1);
                t.run.started_at = format!("2026-11-2{i}T10:00:00Z").parse().unwrap();
                t.run.finished_at = format!("2026-11-2{i}T10:01:00Z").parse().unwrap();
                t.run.host.fingerprint = format!("{:064x}", i + 1);
                t.vantage.exit.ip = Some(ip.to_owned());
                t.vantage.exit.country = Some(cc.to_owned());
                edit(i + 1, t);
            });
        }
    }

    /// `tofu ARGS… --trusted-key OWN run1.json run2.json run3.json`.
    fn judge(&self, command: &str, extra: &[&str]) -> Output {
        let key = self.public_key();
        let mut args = vec![command, "--trusted-key", key.to_str().unwrap()];
        args.extend_from_slice(extra);
        args.extend(["run1.json", "run2.json", "run3.json"]);
        self.tofu(&args)
    }
}

#[test]
fn help_and_version_go_to_stdout_and_exit_0() {
    let home = Home::new();
    for args in [
        &["--help"][..],
        &["fetch", "--help"],
        &["verify", "--help"],
        &["compare", "--help"],
        &["status", "--help"],
        &["keygen", "--help"],
        &["trust", "--help"],
        &["trust", "add", "--help"],
    ] {
        let out = home.tofu(args);
        assert_exit(&out, 0);
        assert!(stdout(&out).contains("Usage: tofu"), "{args:?}");
        assert!(stderr(&out).is_empty(), "{args:?}: {}", stderr(&out));
    }
    let out = home.tofu(&["--version"]);
    assert_exit(&out, 0);
    assert!(stdout(&out).starts_with("tofu "), "{}", stdout(&out));
}

#[test]
fn usage_errors_exit_2_and_write_nothing() {
    let home = Home::new();
    // Never fetched: every case is refused before the network.
    let url = "https://127.0.0.1:9/file.bin";
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["fetch", "-o", "x.json", "ftp://example.invalid/f"],
            "is not an image reference",
        ),
        (
            vec!["fetch", "-o", "x.json", "Not/An/Image"],
            "is not an image reference",
        ),
        (
            vec![
                "fetch",
                "-o",
                "x.json",
                "--platform",
                "linux",
                "debian:bookworm",
            ],
            "--platform",
        ),
        (
            vec!["fetch", "-o", "x.json", "--via", "carrier-pigeon", url],
            "--via",
        ),
        (
            vec!["fetch", "-o", "x.json", "--via", "socks5h://127.0.0.1", url],
            "port",
        ),
        (vec!["fetch", "-o", "x.json", url, url], "given twice"),
        (
            vec!["fetch", "-o", "x.json", "--country", "XX", url],
            "not an ISO 3166-1",
        ),
        (
            vec!["fetch", "-o", "x.json", "--country", "EU", url],
            "not an ISO 3166-1",
        ),
        (
            vec!["fetch", "-o", "x.json", "--ca-cert", "nope.pem", url],
            "nope.pem",
        ),
        (
            vec!["fetch", "-o", "x.json", "--key", "nope.key", url],
            "nope.key",
        ),
        (vec!["fetch", url], "--output"),
        (
            vec!["compare", "--require", "distinct-moons", "a.json", "b.json"],
            "distinct-moons",
        ),
        (
            vec!["compare", "only-one.json"],
            "compare needs two or more runs; 1 given",
        ),
        (
            vec!["compare", "--min-gap", "NaN", "a.json", "b.json"],
            "--min-gap",
        ),
        (vec!["frobnicate"], "frobnicate"),
    ];
    for (args, needle) in cases {
        let out = home.tofu(&args);
        assert_exit(&out, 2);
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
        assert!(!home.path("x.json").exists(), "{args:?} wrote a transcript");
    }
}

#[test]
fn bad_files_name_the_file_and_position() {
    let home = Home::new();
    home.three_runs(|_, _| {});
    let text = std::fs::read_to_string(home.path("run1.json")).unwrap();

    std::fs::write(
        home.path("future.json"),
        text.replace("tofu-transcript/1", "tofu-transcript/2"),
    )
    .unwrap();
    let out = home.tofu(&["compare", "future.json", "run2.json", "run3.json"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("future.json: unknown transcript format \"tofu-transcript/2\""),
        "{}",
        stderr(&out)
    );

    let half = &text[..text.len() / 2];
    std::fs::write(home.path("broken.json"), half).unwrap();
    let out = home.tofu(&["verify", "broken.json"]);
    assert_exit(&out, 2);
    let line = half.lines().count();
    assert!(
        stderr(&out).contains(&format!("broken.json:{line}:")),
        "{}",
        stderr(&out)
    );

    // A valid JSON document with an unknown field is not silently accepted.
    std::fs::write(
        home.path("extra.json"),
        text.replacen("\"artifacts\": [", "\"sneaky\": 1,\n  \"artifacts\": [", 1),
    )
    .unwrap();
    let out = home.tofu(&["verify", "extra.json"]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("sneaky"), "{}", stderr(&out));

    for (name, bytes) in [
        ("empty.json", &b""[..]),
        ("binary.json", &[0xff, 0xfe, 0x00, 0x7b][..]),
        ("array.json", b"[1, 2, 3]\n"),
    ] {
        std::fs::write(home.path(name), bytes).unwrap();
        let out = home.tofu(&["verify", name]);
        assert_exit(&out, 2);
        assert!(stderr(&out).contains(name), "{name}: {}", stderr(&out));
        assert!(stderr(&out).contains("hint:"), "{name}: {}", stderr(&out));
    }

    let out = home.tofu(&["status", "nonexistent.json"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("nonexistent.json"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn compare_and_status_exit_with_the_verdict() {
    let home = Home::new();
    // Three runs that saw the same bytes from distinct days, hosts, networks, countries.
    home.three_runs(|_, _| {});
    assert_exit(&home.judge("compare", &[]), 0);
    let out = home.judge("status", &[]);
    assert_exit(&out, 0);

    // Run 2 saw other bytes: disagree, and run 2 is named.
    home.three_runs(|n, t| {
        if n == 2 {
            let content = t.artifacts[0].content.as_mut().unwrap();
            content.sha256 = "ab".repeat(32);
            t.artifacts[0].fetches[0].content = Some(content.clone());
        }
    });
    let out = home.judge("compare", &[]);
    assert_exit(&out, 1);
    assert!(stdout(&out).contains("#2 (run2.json"), "{}", stdout(&out));

    // Run 3 failed: nothing differs, but nothing is proven either.
    home.three_runs(|n, t| {
        if n == 3 {
            fail(
                &mut t.artifacts[0],
                tofu_record::ErrorCode::Connect,
                "connection refused",
            );
        }
    });
    assert_exit(&home.judge("compare", &[]), 3);
    assert_exit(&home.judge("status", &[]), 3);
}

/// Two honest runs and a third whose registry served a flipped blob under another host name:
/// the only run that holds that artifact was lied to. compare once panicked here (exit 101);
/// it is a disagreement that names the run.
#[test]
fn a_lone_integrity_failure_is_a_disagreement() {
    let home = Home::new();
    home.three_runs(|n, t| {
        if n == 3 {
            let mut lone = t.artifacts[0].clone();
            lone.id = "mirror.test/library/debian:bookworm".to_owned();
            fail(
                &mut lone,
                tofu_record::ErrorCode::BlobDigestMismatch,
                "a layer's bytes do not match its digest",
            );
            t.artifacts.push(lone);
        }
    });
    let out = home.judge("compare", &[]);
    assert_exit(&out, 1);
    assert!(
        stdout(&out).contains("mirror.test/library/debian:bookworm"),
        "{}",
        stdout(&out)
    );
    let out = home.judge("compare", &["--json"]);
    assert_exit(&out, 1);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["verdict"], "disagree");
    let lone = &report["artifacts"][1];
    assert_eq!(lone["odd_runs"], serde_json::json!([3]));
    assert_eq!(lone["level"], "error");
    let out = home.judge("status", &[]);
    assert!(code(&out) <= 3, "{}", stderr(&out));
}

/// A transcript is someone else's text: a failure message with terminal escapes, C1 controls
/// and a bidirectional override reaches neither the text report, nor the JSON (which stays
/// JSON with the same strings), nor stderr as raw characters.
#[test]
fn hostile_transcript_text_never_reaches_the_terminal_raw() {
    let home = Home::new();
    let message = "refused\u{1b}]0;owned\u{7}\u{1b}[2J\u{9b}31m\u{202e}gpj.exe";
    home.three_runs(|n, t| {
        if n == 3 {
            fail(
                &mut t.artifacts[0],
                tofu_record::ErrorCode::Connect,
                message,
            );
        }
    });
    let raw = |c: char| matches!(c, '\u{1b}' | '\u{7}' | '\u{9b}' | '\u{202e}');
    let out = home.judge("compare", &[]);
    assert_exit(&out, 3);
    assert!(
        stdout(&out).contains("refused\\u{1b}]0;owned"),
        "{}",
        stdout(&out)
    );
    assert!(!stdout(&out).chars().any(raw), "{}", stdout(&out));
    assert!(!stderr(&out).chars().any(raw), "{}", stderr(&out));
    let out = home.judge("compare", &["--json"]);
    assert!(!stdout(&out).chars().any(raw), "{}", stdout(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["artifacts"][0]["cells"][2]["message"], message);
    let out = home.judge("status", &[]);
    assert!(!stdout(&out).chars().any(raw), "{}", stdout(&out));
}

/// What a person sees for every usage error and every `--help`: the exact text and exit
/// code, pinned in tests/cli/cmd/*.trycmd (`TRYCMD=overwrite` rewrites them after a wanted
/// change; review the diff). The config and data directories point nowhere, so no user
/// setting leaks in and nothing is written.
#[test]
fn usage_errors_and_help_are_as_pinned() {
    trycmd::TestCases::new()
        .register_bin("tofu", std::path::Path::new(env!("CARGO_BIN_EXE_tofu")))
        .env("XDG_CONFIG_HOME", "/nonexistent/tofu-snapshots/config")
        .env("XDG_DATA_HOME", "/nonexistent/tofu-snapshots/data")
        .env("COLUMNS", "100")
        .case("tests/cli/cmd/help.trycmd")
        .case("tests/cli/cmd/usage.trycmd");
}

/// How failures read (tests/cli/cmd/failures.trycmd): `error:`/`hint:`, `FAILED (code):`,
/// and the causes under `-v`, for fetches that reach only a dead loopback port and for the
/// commands over what they wrote. They run in a sandbox with a config and data directory of
/// their own, where the first fetch makes the signing key.
#[test]
fn failures_are_said_as_pinned() {
    let home = tempfile::tempdir().unwrap();
    trycmd::TestCases::new()
        .register_bin("tofu", std::path::Path::new(env!("CARGO_BIN_EXE_tofu")))
        .env(
            "XDG_CONFIG_HOME",
            home.path().join("config").display().to_string(),
        )
        .env(
            "XDG_DATA_HOME",
            home.path().join("data").display().to_string(),
        )
        .env("COLUMNS", "100")
        .case("tests/cli/cmd/failures.trycmd");
}

/// Turns a fetched artifact into one that failed with `code`, as `tofu fetch` records it.
fn fail(artifact: &mut tofu_record::Artifact, code: tofu_record::ErrorCode, message: &str) {
    let error = tofu_record::ArtifactError {
        code,
        message: message.to_owned(),
        causes: Vec::new(),
    };
    artifact.content = None;
    artifact.error = Some(error.clone());
    artifact.fetches[0].content = None;
    artifact.fetches[0].error = Some(error);
}

/// docs/threat-model.md shows the hostile catalogue as the suite runs it (`cargo xtask
/// codegen` writes it).
#[test]
fn the_threat_model_shows_the_current_hostile_catalogue() {
    let path = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/threat-model.md"
    ));
    let doc = std::fs::read_to_string(path).unwrap();
    let want = tofu_testkit::hostile::with_table(&doc).expect("the catalogue markers");
    assert!(
        doc == want,
        "docs/threat-model.md is stale: run `cargo xtask codegen`"
    );
    assert!(doc.contains("**0 false agreements**"));
}
