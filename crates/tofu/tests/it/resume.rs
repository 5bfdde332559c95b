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

/// What each attempt says: (offset, restart, error code).
fn summary(t: &Value) -> Vec<(u64, Option<String>, Option<String>)> {
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
    let cases: Vec<(&str, &String, Vec<(u64, Option<String>, Option<String>)>)> = vec![
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
