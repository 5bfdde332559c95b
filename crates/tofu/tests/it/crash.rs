//! Crash safety, measured: `tofu fetch --keep` killed with SIGKILL at spread-out moments
//! never leaves a complete-looking payload or transcript that is not complete, and the next
//! run works; a full disk under the keep directory or the transcript ends in a clear error
//! naming the path, with nothing half-written under a final name.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tofu_testkit::Tmpfs;

use crate::support::*;

/// How many times the fetch is killed.
const TRIALS: u64 = 40;

/// What a killed run left in `dir`: every visible file must be whole.
fn assert_nothing_half_done(w: &World, dir: &Path, want_sha256: &str, context: &str) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            // A temporary name: never mistaken for a result.
            assert!(name.ends_with(".part"), "{context}: {name}");
            continue;
        }
        let path = entry.path();
        match name.as_str() {
            "run.json" => {
                // Under its final name a transcript is whole (it parses, every field).
                tofu_record::io::read(&path)
                    .unwrap_or_else(|e| panic!("{context}: a broken transcript: {e}"));
            }
            "run.json.minisig" => {
                // A signature is written after its transcript, and verifies.
                assert!(dir.join("run.json").exists(), "{context}");
                assert!(
                    minisign_verifies(&dir.join("run.json"), &w.pub_key()),
                    "{context}"
                );
            }
            "run.json.resume" => {
                // The journal of an interrupted run: whole (written atomically), signed, and
                // never mistaken for a transcript.
                let signed: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(&path).unwrap())
                        .unwrap_or_else(|e| panic!("{context}: a broken journal: {e}"));
                assert!(signed["signature"].is_string(), "{context}: {signed}");
                assert!(tofu_record::io::read(&path).is_err(), "{context}");
            }
            "keep" => {
                for kept in std::fs::read_dir(&path).unwrap() {
                    let kept = kept.unwrap();
                    let kept_name = kept.file_name().to_string_lossy().into_owned();
                    if kept_name.starts_with('.') {
                        assert!(kept_name.ends_with(".part"), "{context}: {kept_name}");
                    } else {
                        assert_eq!(
                            tool_digest("sha256sum", &kept.path()),
                            want_sha256,
                            "{context}: {kept_name} looks complete but is not"
                        );
                    }
                }
            }
            other => panic!("{context}: unexpected {other}"),
        }
    }
}

#[test]
fn sigkill_at_any_moment_leaves_nothing_that_looks_complete() {
    let w = World::new();
    w.configure(&w.home(), "");
    let want = tool_digest_bytes(&payload());
    let ca = w.ca.root_pem.to_str().unwrap().to_owned();
    // Half the trials fetch at full speed (killed anywhere from start-up to writing the
    // transcript, or after it), half from the throttled location (killed mid-body).
    let urls = [
        w.nginx.https_url("file.bin"),
        w.nginx.https_url("slow/file.bin"),
    ];
    // `tofu fetch --keep keep -o run.json URL` in `dir`.
    let fetch_in = |dir: &Path, url: &str| {
        let mut command = w.command(&w.home());
        command.current_dir(dir).args([
            "fetch",
            "--ca-cert",
            &ca,
            "--keep",
            "keep",
            "-o",
            "run.json",
            url,
        ]);
        command
    };
    // A fixed sequence of moments (xorshift), spread over 0–600 ms after the start.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut outcomes = [0u64; 2]; // [killed before finishing, finished before the kill]
    for trial in 0..TRIALS {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let delay = Duration::from_millis(state % 600);
        let dir = w.path(&format!("trial{trial}"));
        std::fs::create_dir_all(dir.join("keep")).unwrap();
        let throttled = trial % 2 == 1;
        let url = &urls[usize::from(throttled)];
        let mut child = fetch_in(&dir, url)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        if throttled {
            // A throttled download takes half a minute: wait until its body has begun (its
            // payload file exists, under a temporary name), so the kill lands mid-body.
            let deadline = Instant::now() + Duration::from_secs(30);
            while !std::fs::read_dir(dir.join("keep"))
                .unwrap()
                .any(|e| e.unwrap().file_name().to_string_lossy().ends_with(".part"))
            {
                assert!(
                    Instant::now() < deadline,
                    "trial {trial}: no body after 30 s"
                );
                assert!(
                    child.try_wait().unwrap().is_none(),
                    "trial {trial} ended early"
                );
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        std::thread::sleep(delay);
        let status = child.try_wait().unwrap();
        assert!(
            !(throttled && status.is_some()),
            "trial {trial} ended early"
        );
        if let Some(status) = status {
            // A run that ended before the kill ended well: a signed transcript.
            assert!(status.success(), "trial {trial}: {status}");
            assert!(minisign_verifies(&dir.join("run.json"), &w.pub_key()));
        }
        let _ = child.kill();
        let _ = child.wait();
        outcomes[usize::from(status.is_some())] += 1;
        let context = format!("trial {trial} ({url}, killed at {:?})", started.elapsed());
        assert_nothing_half_done(&w, &dir, &want, &context);
    }
    eprintln!(
        "crash safety: {TRIALS} runs killed at spread-out moments ({} still running, {} already \
         done), nothing half-written under a final name",
        outcomes[0], outcomes[1]
    );
    // The next run in a killed run's place works, beside what the killed one left (with
    // --force, which also sets aside an interrupted run's journal).
    let dir = w.path("trial1");
    let out = fetch_in(&dir, &urls[0]).arg("--force").output().unwrap();
    assert_exit(&out, 0);
    assert_nothing_half_done(&w, &dir, &want, "the run after a kill");
    assert!(minisign_verifies(&dir.join("run.json"), &w.pub_key()));
}

#[test]
fn a_full_disk_is_a_clear_error_and_leaves_nothing_half_written() {
    let w = World::new();
    let url = w.nginx.https_url("file.bin");

    // The keep directory fills up mid-payload (1 MiB for 3 MiB): the artifact fails, the
    // transcript (elsewhere) says where and why, and no payload looks complete.
    let small = Tmpfs::mount(&w.path("small"), 1 << 20);
    let keep = small.dir.join("keep");
    let out = w.fetch("run.json", &["--keep", keep.to_str().unwrap()], &url);
    assert_exit(&out, 1);
    let t = w.read_json("run.json");
    let a = artifact(&t);
    assert_eq!(a["error"]["code"], "keep", "{a}");
    let message = a["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(keep.to_str().unwrap()) && message.contains("No space left"),
        "{message}"
    );
    let left: Vec<String> = std::fs::read_dir(&keep)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.is_empty(), "{left:?}");

    // The transcript's disk is full: a clear error naming the path, nothing written, and the
    // exit code of a run whose result could not be kept.
    let full = Tmpfs::mount(&w.path("full"), 256 << 10);
    full.fill();
    let target = full.dir.join("run.json");
    let out = w.fetch(target.to_str().unwrap(), &[], &url);
    let err = stderr(&out);
    assert_exit(&out, 2);
    assert!(err.contains(target.to_str().unwrap()), "{err}");
    assert!(err.contains("No space left"), "{err}");
    let left: Vec<String> = std::fs::read_dir(&full.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, vec!["filler".to_owned()], "{err}");
}
