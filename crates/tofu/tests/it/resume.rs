//! Resumption inside a run, against tofu_testkit's Flaky server: a connection cut at given
//! offsets, a stall, a server that ignores Range, one that answers another range honestly
//! or lies about it, a file that changes between attempts (with If-Range honoured or not),
//! no validators, a cut chunked body. Each must end in the right bytes — equal to
//! `sha256sum` of the version the run kept — or a clear failure, never a spliced file.

use serde_json::Value;
use tofu_testkit::Flaky;

use crate::support::*;

/// A body large enough to be cut in several places, small enough to be quick.
const SIZE: usize = 1 << 20;

/// Fetches `path` from `server`, keeping the payload, with quick limits; returns the exit
/// code and the transcript.
fn fetch(w: &World, server: &Flaky, path: &str, name: &str, extra: &[&str]) -> (i32, Value) {
    let keep = w.path(&format!("keep-{name}"));
    std::fs::create_dir_all(&keep).unwrap();
    let out = format!("{name}.json");
    let mut args = vec![
        "--keep",
        keep.to_str().unwrap(),
        "--speed-limit",
        "20000",
        "--speed-time",
        "2",
        "--read-timeout",
        "4",
    ];
    args.extend_from_slice(extra);
    let output = w.fetch(&out, &args, &server.url(path));
    (code(&output), w.read_json(&out))
}

/// The files in a keep directory, by name.
fn kept(w: &World, name: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(w.path(&format!("keep-{name}")))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn attempts(t: &Value) -> &Vec<Value> {
    fetch0(t)["http"]["attempts"].as_array().unwrap()
}

/// What one attempt says: (offset, restart, error code).
type Step = (u64, Option<String>, Option<String>);

/// What each attempt says.
fn summary(t: &Value) -> Vec<Step> {
    attempts(t)
        .iter()
        .map(|a| {
            (
                a["offset"].as_u64().unwrap(),
                a["restart"].as_str().map(str::to_owned),
                a["error"]["code"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

#[test]
fn every_broken_download_ends_in_the_right_bytes_never_a_splice() {
    let w = World::new();
    let server = Flaky::start(Flaky::pattern(SIZE));
    let (first, second) = (
        server.first().sha256.clone(),
        server.second().sha256.clone(),
    );
    let cut = Some("truncated".to_owned());
    let none = None::<String>;
    let restart = |r: &str| Some(r.to_owned());
    // (path, the version it must end with, what the attempts say)
    let cases: Vec<(&str, &String, Vec<Step>)> = vec![
        (
            "/cut/100000,300000",
            &first,
            vec![
                (0, none.clone(), cut.clone()),
                (100_000, none.clone(), cut.clone()),
                (300_000, none.clone(), none.clone()),
            ],
        ),
        (
            "/stall/200000",
            &first,
            vec![
                (0, none.clone(), Some("stalled".to_owned())),
                (200_000, none.clone(), none.clone()),
            ],
        ),
        (
            "/chunked-cut/200000",
            &first,
            vec![
                (0, none.clone(), Some("http".to_owned())),
                (200_000, none.clone(), none.clone()),
            ],
        ),
        (
            "/ignore-range/200000",
            &first,
            vec![
                (0, none.clone(), cut.clone()),
                (200_000, restart("range-ignored"), none.clone()),
            ],
        ),
        (
            "/wrong-range/200000",
            &first,
            vec![
                (0, none.clone(), cut.clone()),
                (200_000, restart("wrong-range"), none.clone()),
            ],
        ),
        (
            "/lying-range/200000",
            &first,
            vec![
                (0, none.clone(), cut.clone()),
                (200_000, restart("overlap-differs"), none.clone()),
            ],
        ),
        (
            "/no-validator/200000",
            &first,
            vec![
                (0, none.clone(), cut.clone()),
                (200_000, restart("no-validator"), none.clone()),
            ],
        ),
        (
            "/changes/200000",
            &second,
            vec![
                (0, none.clone(), cut.clone()),
                (200_000, restart("range-ignored"), none.clone()),
            ],
        ),
        (
            "/changes-ignoring-if-range/200000",
            &second,
            vec![
                (0, none.clone(), cut.clone()),
                (200_000, restart("validator-changed"), none.clone()),
            ],
        ),
    ];
    for (i, (path, want, steps)) in cases.iter().enumerate() {
        let name = format!("case{i}");
        let (exit, t) = fetch(&w, &server, path, &name, &[]);
        assert_eq!(exit, 0, "{path}: {t:#}");
        let a = artifact(&t);
        assert_eq!(a["content"]["sha256"], **want, "{path}");
        assert_eq!(a["content"]["size"], SIZE, "{path}");
        assert_eq!(&summary(&t), steps, "{path}: {:#}", fetch0(&t)["http"]);
        // Each attempt's bytes add up to the body: the ones that continued, from their
        // offset; the last restart, from byte 0.
        let last = attempts(&t).last().unwrap();
        let from = if last["restart"].is_null() {
            last["offset"].as_u64().unwrap()
        } else {
            0
        };
        assert_eq!(
            last["received"].as_u64().unwrap() + from,
            SIZE as u64,
            "{path}"
        );
        // The file kept is the version recorded, by an independent tool; nothing else is
        // left in the directory.
        let kept_as = a["fetches"][0]["kept_as"].as_str().unwrap();
        assert_eq!(kept(&w, &name), vec![kept_as.to_owned()], "{path}");
        let file = w.path(&format!("keep-{name}/{kept_as}"));
        assert_eq!(tool_digest("sha256sum", &file), **want, "{path}");
        // The transcript's head is the one of the response the kept body began with.
        let etag = if **want == first {
            &server.first().etag
        } else {
            &server.second().etag
        };
        let headers = &fetch0(&t)["http"]["headers"];
        if !path.starts_with("/no-validator") {
            assert_eq!(headers["etag"], **etag, "{path}");
        }
    }
    // A continued range asks from a little before the bytes held, with the validator of the
    // first answer.
    let asked = server.requests("/cut/100000,300000");
    assert_eq!(asked.len(), 3, "{asked:?}");
    assert_eq!(asked[0].range, None);
    assert_eq!(asked[1].range.as_deref(), Some("bytes=95904-"));
    assert_eq!(
        asked[1].if_range.as_deref(),
        Some(server.first().etag.as_str())
    );
    assert_eq!(asked[2].range.as_deref(), Some("bytes=295904-"));
    // Without a validator, no range is asked at all: the whole file again.
    let asked = server.requests("/no-validator/200000");
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert_eq!(asked[1].range, None);
}

#[test]
fn retries_are_bounded_and_a_failure_keeps_nothing() {
    let w = World::new();
    let server = Flaky::start(Flaky::pattern(SIZE));
    let (exit, t) = fetch(
        &w,
        &server,
        "/cut/1000,2000,3000,4000",
        "spent",
        &["--retries", "2"],
    );
    assert_eq!(exit, 1, "{t:#}");
    let a = artifact(&t);
    assert_eq!(a["error"]["code"], "truncated", "{a:#}");
    assert_eq!(a["content"], Value::Null);
    let steps: Vec<u64> = summary(&t).iter().map(|s| s.0).collect();
    assert_eq!(steps, vec![0, 1000, 2000]);
    assert_eq!(server.requests("/cut/1000,2000,3000,4000").len(), 3);
    assert!(kept(&w, "spent").is_empty(), "{:?}", kept(&w, "spent"));

    let (exit, t) = fetch(&w, &server, "/cut/5000", "none", &["--retries", "0"]);
    assert_eq!(exit, 1, "{t:#}");
    assert_eq!(summary(&t), vec![(0, None, Some("truncated".to_owned()))]);
    assert_eq!(server.requests("/cut/5000").len(), 1);
    assert!(kept(&w, "none").is_empty());
}

/// A 6 MiB file served at 1 MiB/s: long enough to kill a run in the middle.
pub(crate) const SLOW: &str = "/slow/1048576";

/// Starts `tofu fetch --keep keep -o run.json SLOW`, waits until its journal vouches for at
/// least 1 MiB of the file, and kills it (SIGKILL). Returns the offset of that checkpoint.
fn kill_mid_download(w: &World, server: &Flaky) -> u64 {
    kill_mid_download_of(w, &[&server.url(SLOW)])
}

/// [`kill_mid_download`] of `targets` (a URL, or `--plan FILE`).
pub(crate) fn kill_mid_download_of(w: &World, targets: &[&str]) -> u64 {
    w.configure(&w.home(), "");
    let keep = w.path("keep");
    std::fs::create_dir_all(&keep).unwrap();
    let ca = w.ca.root_pem.to_str().unwrap().to_owned();
    let mut child = w
        .command(&w.home())
        .args([
            "fetch",
            "--ca-cert",
            &ca,
            "-o",
            "run.json",
            "--keep",
            "keep",
        ])
        .args(targets)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let offset = loop {
        if let Some(offset) = checkpoint(w).filter(|&o| o >= 1 << 20) {
            break offset;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint past 1 MiB within 30 s"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "tofu ended before the kill"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    // The checkpoint read may be older than the journal now on disk: the latest counts.
    checkpoint(w).unwrap().max(offset)
}

/// The offset the journal's checkpoint vouches for, if it has one.
fn checkpoint(w: &World) -> Option<u64> {
    let state = journal_state(w)?;
    state["partial"][1]["offset"].as_u64()
}

pub(crate) fn journal_state(w: &World) -> Option<Value> {
    let bytes = std::fs::read(w.path("run.json.resume")).ok()?;
    let signed: Value = serde_json::from_slice(&bytes).ok()?;
    serde_json::from_str(signed["state"].as_str()?).ok()
}

/// The names in the keep directory.
fn keep_dir(w: &World) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(w.path("keep"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn resume(w: &World, server: &Flaky, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["--keep", "keep", "--resume"];
    args.extend_from_slice(extra);
    w.fetch("run.json", &args, &server.url(SLOW))
}

#[test]
fn a_run_killed_mid_download_continues_to_the_same_digests() {
    let w = World::new();
    let server = Flaky::start(Flaky::pattern(6 << 20));
    let offset = kill_mid_download(&w, &server);
    let run_id = journal_state(&w).unwrap()["run_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Nothing looks complete: no transcript, and only the partial under its temporary name.
    assert!(!w.path("run.json").exists());
    let left = keep_dir(&w);
    assert!(
        matches!(&left[..], [one] if one.starts_with('.') && one.ends_with(".part")),
        "{left:?}"
    );

    let out = resume(&w, &server, &[]);
    assert_exit(&out, 0);
    let t = w.read_json("run.json");
    assert_eq!(t["run"]["id"], run_id.as_str(), "the same run continues");
    let interruptions = t["run"]["interruptions"].as_array().unwrap();
    assert_eq!(interruptions.len(), 1);
    assert_eq!(interruptions[0]["exit"]["ip"], "127.0.0.1");
    let a = artifact(&t);
    assert_eq!(a["content"]["sha256"], server.first().sha256.as_str());
    let kept_as = fetch0(&t)["kept_as"].as_str().unwrap();
    assert_eq!(keep_dir(&w), vec![kept_as.to_owned()]);
    assert_eq!(
        tool_digest("sha256sum", &w.path(&format!("keep/{kept_as}"))),
        server.first().sha256
    );
    // It continued from the checkpoint, with a range, and did not start over.
    let first = &attempts(&t)[0];
    assert!(first["offset"].as_u64().unwrap() >= offset, "{first}");
    assert_eq!(first["restart"], Value::Null);
    assert_eq!(first["status"], 206);
    let asked = server.requests(SLOW);
    let range = asked.last().unwrap().range.clone().unwrap();
    assert_eq!(
        range,
        format!("bytes={}-", first["offset"].as_u64().unwrap() - 4096)
    );
    assert!(!w.path("run.json.resume").exists(), "the journal is gone");
    assert!(minisign_verifies(&w.path("run.json"), &w.pub_key()));

    // An uninterrupted run of the same file records the same digests.
    let out = w.fetch("straight.json", &[], &server.url(SLOW));
    assert_exit(&out, 0);
    let straight = w.read_json("straight.json");
    assert_eq!(artifact(&straight)["content"], a["content"]);
    // So are its chunk digests: the ones from before the kill were re-hashed from disk.
    assert_eq!(fetch0(&straight)["chunks"], fetch0(&t)["chunks"]);
    assert_eq!(fetch0(&t)["chunks"]["sha256"].as_array().unwrap().len(), 6);
}

#[test]
fn a_journal_is_never_overwritten_forged_or_trusted_over_a_changed_partial() {
    let w = World::new();
    let server = Flaky::start(Flaky::pattern(6 << 20));
    kill_mid_download(&w, &server);

    // A new run does not overwrite the interrupted one's journal.
    let out = w.fetch("run.json", &["--keep", "keep"], &server.url(SLOW));
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("--resume"), "{}", stderr(&out));
    let journal_before = std::fs::read(w.path("run.json.resume")).unwrap();

    // A journal changed by someone else (here: a claim of more bytes) is refused.
    let path = w.path("run.json.resume");
    let genuine = std::fs::read(&path).unwrap();
    assert_eq!(
        genuine, journal_before,
        "the refused run left the journal alone"
    );
    let mut signed: Value = serde_json::from_slice(&genuine).unwrap();
    let mut state: Value = serde_json::from_str(signed["state"].as_str().unwrap()).unwrap();
    state["partial"][1]["offset"] = Value::from(5 << 20);
    signed["state"] = Value::from(state.to_string());
    std::fs::write(&path, serde_json::to_vec(&signed).unwrap()).unwrap();
    let out = resume(&w, &server, &[]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("signature"), "{}", stderr(&out));
    std::fs::write(&path, &genuine).unwrap();

    // Other arguments are another command.
    let out = resume(
        &w,
        &server,
        &["--via", "direct", "--platform", "linux/arm64"],
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));

    // A partial file changed since the checkpoint is not trusted: the body starts over.
    let part = w.path(&format!("keep/{}", keep_dir(&w)[0]));
    let mut bytes = std::fs::read(&part).unwrap();
    bytes[1000] ^= 0x20;
    std::fs::write(&part, &bytes).unwrap();
    let out = resume(&w, &server, &[]);
    assert_exit(&out, 0);
    let t = w.read_json("run.json");
    assert_eq!(attempts(&t)[0]["restart"], "partial-changed");
    assert_eq!(
        artifact(&t)["content"]["sha256"],
        server.first().sha256.as_str()
    );
    assert_eq!(server.requests(SLOW).last().unwrap().range, None);

    // Nothing to resume is a clear refusal.
    std::fs::remove_file(w.path("run.json")).unwrap();
    std::fs::remove_file(w.path("run.json.minisig")).unwrap();
    let out = resume(&w, &server, &[]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no interrupted run"),
        "{}",
        stderr(&out)
    );
}
