//! The campaign log: every attempt a host makes is in it, so a run left out of a comparison
//! stays visible. Three homes stand in for three machines; home A first fetches through a
//! proxy that diverts it to an impostor (one byte flipped), then honestly; the operator
//! gives compare A's honest run only.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde_json::Value;
use tofu_testkit::{Lie, LyingProxy};

use crate::support::*;

/// Fetches `file.bin` in `home` (via `via`, if any) into `name`; returns its run id.
fn attempt(w: &World, home: &Path, name: &str, via: Option<&str>) -> String {
    let ca = w.ca.root_pem.to_str().unwrap().to_owned();
    let url = w.nginx.https_url("file.bin");
    let mut args = vec!["fetch", "--ca-cert", &ca, "-o", name];
    if let Some(via) = via {
        args.extend(["--via", via]);
    }
    args.push(&url);
    assert_exit(&w.tofu_in(home, &args), 0);
    w.read_json(name)["run"]["id"].as_str().unwrap().to_owned()
}

fn log_of(home: &Path) -> PathBuf {
    home.join(".local/share/tofu/campaign.log")
}

fn trust(w: &World, home: &Path, name: &str, of: &Path) {
    let public = of.join(".config/tofu/signing.pub");
    assert_exit(
        &w.tofu_in(home, &["trust", "add", name, public.to_str().unwrap()]),
        0,
    );
}

/// Done means: a campaign where one of four attempts disagreed and was left out is not
/// reported as agree — whether the attempt came before the runs given (their transcripts
/// name it) or after (the host's log names it) — unless the user leaves it out on purpose.
#[test]
fn an_attempt_left_out_that_disagreed_keeps_the_verdict_from_agree() {
    let w = World::new();
    let evil = impostor(&w, "");
    let liar = LyingProxy::start(Lie::Divert(SocketAddr::from((
        [127, 0, 0, 1],
        evil.https_port,
    ))));
    let homes: Vec<PathBuf> = ["a", "b", "c"]
        .iter()
        .map(|h| w.path(&format!("home-{h}")))
        .collect();
    let lied = attempt(&w, &homes[0], "a1.json", Some(&liar.url()));
    let a2 = attempt(&w, &homes[0], "a2.json", None);
    attempt(&w, &homes[1], "b1.json", None);
    attempt(&w, &homes[2], "c1.json", None);
    for (i, home) in homes.iter().enumerate() {
        trust(&w, &w.home(), &format!("machine-{i}"), home);
    }
    // A's honest run names the attempt before it.
    let a2_t = w.read_json("a2.json");
    let attempts = a2_t["campaign"]["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0]["run_id"], lied.as_str());
    assert_eq!(
        attempts[0]["artifacts"][0]["sha256"],
        w.read_json("a1.json")["artifacts"][0]["content"]["sha256"]
    );

    let given = ["--min-runs", "3", "a2.json", "b1.json", "c1.json"];
    let out = w.compare_bytes_only(&given);
    assert_exit(&out, 1);
    let text = stdout(&out);
    assert!(text.contains("verdict: DISAGREE"), "{text}");
    assert!(
        text.contains(&format!(
            "made an attempt that is not given and saw other bytes: run {lied}"
        )),
        "{text}"
    );
    assert!(
        text.contains("made 2 attempt(s) at this campaign; 1 not given"),
        "{text}"
    );

    // The page shows the attempt in a section of its own, with what it saw.
    let lied_sha = w.read_json("a1.json")["artifacts"][0]["content"]["sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    let page_of = |extra: &[&str]| {
        let html = w.path("attempts.html");
        let html_arg = ["--html", html.to_str().unwrap()];
        w.compare_bytes_only(&[&given[..], extra, &html_arg[..]].concat());
        std::fs::read_to_string(&html).unwrap()
    };
    let page = page_of(&[]);
    let section = page
        .split("<section id=\"attempts\">")
        .nth(1)
        .and_then(|s| s.split("</section>").next())
        .unwrap_or_else(|| panic!("no attempts section: {page}"));
    assert!(
        section.contains(&format!("<code>{}</code>", &lied[..12])),
        "{section}"
    );
    assert!(section.contains("wide differ"), "{section}");
    assert!(section.contains(&lied_sha), "{section}");

    // Left out on purpose, with a reason: agreement, and the reason shown.
    let exclude = format!("{}=the proxy was misconfigured", &lied[..10]);
    let out = w.compare_bytes_only(&[&given[..], &["--exclude", &exclude]].concat());
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("excluded by you: the proxy was misconfigured"),
        "{}",
        stdout(&out)
    );
    let page = page_of(&["--exclude", &exclude]);
    assert!(
        page.contains("left out on purpose: the proxy was misconfigured"),
        "{page}"
    );

    // A later attempt that disagreed: a2's transcript cannot know it; A's log does.
    let later = attempt(&w, &homes[0], "a3.json", Some(&liar.url()));
    let with_exclude = [&given[..], &["--exclude", &exclude]].concat();
    assert_exit(&w.compare_bytes_only(&with_exclude), 0);
    let a_log = log_of(&homes[0]);
    let out =
        w.compare_bytes_only(&[&with_exclude[..], &["--log", a_log.to_str().unwrap()]].concat());
    assert_exit(&out, 1);
    assert!(
        stdout(&out).contains(&format!("run {later}")),
        "{}",
        stdout(&out)
    );
    // On machine A itself, its own log is read without being asked.
    trust(&w, &homes[0], "b", &homes[1]);
    trust(&w, &homes[0], "c", &homes[2]);
    let mut on_a = vec!["compare", "--require", "none"];
    on_a.extend_from_slice(&with_exclude);
    let out = w.tofu_in(&homes[0], &on_a);
    assert_exit(&out, 1);
    assert!(
        stdout(&out).contains(&format!("run {later}")),
        "{}",
        stdout(&out)
    );

    // `tofu log` on A lists the three attempts.
    let out = w.tofu_in(&homes[0], &["log", "--json"]);
    assert_exit(&out, 0);
    let listing = tofu_testkit::schema::assert_conforms("log", &stdout(&out));
    let ids: Vec<&str> = listing["campaigns"][0]["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["run_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [lied.as_str(), a2.as_str(), later.as_str()]);
    assert_eq!(listing["entries"], 6);
}

/// An entry removed, changed, or cut off the end is named, by `tofu log` and by compare.
#[test]
fn a_log_tampered_with_is_named() {
    let w = World::new();
    let home = w.path("home-a");
    for i in 1..=3 {
        attempt(&w, &home, &format!("a{i}.json"), None);
    }
    trust(&w, &w.home(), "a", &home);
    let log = std::fs::read_to_string(log_of(&home)).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 6);
    let write = |name: &str, lines: &[&str]| {
        let path = w.path(name);
        std::fs::write(
            &path,
            lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
        )
        .unwrap();
        path.to_str().unwrap().to_owned()
    };

    // The whole log, untouched: it holds.
    let out = w.tofu(&["log", "--file", &write("whole.log", &lines)]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("every signature and link of the chain holds"),
        "{}",
        stdout(&out)
    );

    // The second attempt's two entries removed.
    let removed = write("removed.log", &[lines[0], lines[1], lines[4], lines[5]]);
    let out = w.tofu(&["log", "--file", &removed]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("entry 5 does not follow entry 2"),
        "{}",
        stderr(&out)
    );

    // An entry's digest changed: its signature no longer verifies, and the next entry no
    // longer follows it.
    let changed_line = lines[3].replacen("\\\"sha256\\\":\\\"", "\\\"sha256\\\":\\\"0", 1);
    assert_ne!(changed_line, lines[3]);
    let changed = write(
        "changed.log",
        &[
            lines[0],
            lines[1],
            lines[2],
            &changed_line,
            lines[4],
            lines[5],
        ],
    );
    let out = w.tofu(&["log", "--file", &changed]);
    assert_exit(&out, 2);
    let said = stderr(&out);
    assert!(
        said.contains("entry 4 was changed: its signature does not verify"),
        "{said}"
    );
    assert!(said.contains("entry 5 does not follow entry 4"), "{said}");

    // Cut after the first attempt: the third run recorded entry 6 as the head.
    let cut = write("cut.log", &lines[..2]);
    let out = w.compare_bytes_only(&["--min-runs", "1", "a2.json", "a3.json", "--log", &cut]);
    assert_exit(&out, 3);
    let text = stdout(&out);
    assert!(
        text.contains("run #2 recorded entry 6 of the campaign log")
            && text.contains("which no longer holds it: the log was cut or replaced since"),
        "{text}"
    );
    let out = w.compare_bytes_only(&["--min-runs", "1", "a1.json", "a3.json", "--log", &changed]);
    assert_exit(&out, 3);
    assert!(
        stdout(&out).contains("entry 4 was changed"),
        "{}",
        stdout(&out)
    );
}

/// A run killed mid-download is an interrupted attempt until it is resumed and ends.
#[test]
fn an_interrupted_run_is_an_attempt_too() {
    use crate::resume::{SLOW, kill_mid_download_of};
    let w = World::new();
    let server = tofu_testkit::Flaky::start(tofu_testkit::Flaky::pattern(6 << 20));
    let url = server.url(SLOW);
    kill_mid_download_of(&w, &[&url]);
    let out = w.tofu(&["log", "--json"]);
    assert_exit(&out, 0);
    let listing = tofu_testkit::schema::assert_conforms("log", &stdout(&out));
    let attempt = &listing["campaigns"][0]["attempts"][0];
    assert_eq!(attempt["outcome"], "interrupted", "{listing}");
    let out = w.fetch("run.json", &["--keep", "keep", "--resume"], &url);
    assert_exit(&out, 0);
    let listing: Value = serde_json::from_slice(&w.tofu(&["log", "--json"]).stdout).unwrap();
    let attempts = listing["campaigns"][0]["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1, "{listing}");
    assert_eq!(attempts[0]["outcome"], "complete");
    assert_eq!(attempts[0]["run_id"], w.read_json("run.json")["run"]["id"]);
}
