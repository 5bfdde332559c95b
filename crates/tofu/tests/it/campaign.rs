//! A 3TOFU campaign with vantage evidence: microsocks instances leaving from distinct
//! loopback networks stand in for networks in distinct countries (the whoami service maps
//! each source address to a country), distinct tofu homes stand in for distinct machines,
//! and distinct days are made by shifting a run's recorded start and signing it again with
//! the operator's key — the test's only way to move the clock, with no test hook in tofu.

use std::net::IpAddr;
use std::path::Path;

use serde_json::Value;
use tofu_testkit::Microsocks;

use crate::support::*;

/// Moves run `name`'s start and finish by `days` and re-signs it with `home`'s key.
pub(crate) fn shift_days(w: &World, home: &Path, name: &str, days: i64) {
    restamp(w, home, name, |t| {
        t.run.started_at += chrono::Duration::days(days);
        t.run.finished_at += chrono::Duration::days(days);
    });
}

/// Moves run `name` to start at `at` (RFC 3339), keeping its duration, and re-signs it.
fn start_at(w: &World, home: &Path, name: &str, at: &str) {
    restamp(w, home, name, |t| {
        let at: chrono::DateTime<chrono::Utc> = at.parse().unwrap();
        t.run.finished_at = at + (t.run.finished_at - t.run.started_at);
        t.run.started_at = at;
    });
}

/// Changes run `name`'s clock with `change` and re-signs it with `home`'s key.
fn restamp(w: &World, home: &Path, name: &str, change: impl FnOnce(&mut tofu_record::Transcript)) {
    use tofu_record::{io, key::SigningKey, sign};
    let path = w.path(name);
    let (mut t, _) = io::read(&path).unwrap();
    change(&mut t);
    let bytes = io::to_canonical_json(&t);
    io::write_atomic(&path, &bytes, true).unwrap();
    let key = SigningKey::load(&home.join(".config/tofu/signing.key")).unwrap();
    sign::sign_file(&key, &t, &path, &bytes, true).unwrap();
}

/// One run per (source address, day offset), each from its own home, through microsocks
/// leaving from that address; the test's own home trusts each home's key as `PREFIX-I`, as an
/// operator trusts a second machine's once. Returns the run file names.
pub(crate) fn campaign(w: &World, prefix: &str, vantages: &[(&str, i64)]) -> Vec<String> {
    campaign_of(w, prefix, vantages, &[&w.nginx.https_url("file.bin")])
}

/// [`campaign`] of `targets` (URLs, or `--plan FILE`).
pub(crate) fn campaign_of(
    w: &World,
    prefix: &str,
    vantages: &[(&str, i64)],
    targets: &[&str],
) -> Vec<String> {
    let ca = w.ca.root_pem.to_str().unwrap().to_owned();
    let mut names = Vec::new();
    for (i, (source, days)) in vantages.iter().enumerate() {
        let proxy = Microsocks::start(Some(source.parse::<IpAddr>().unwrap()), None);
        let home = w.path(&format!("home-{prefix}-{i}"));
        let name = format!("{prefix}{}.json", i + 1);
        let via = proxy.url();
        let mut args = vec!["fetch", "--ca-cert", &ca, "--via", &via, "-o", &name];
        args.extend_from_slice(targets);
        let out = w.tofu_in(&home, &args);
        assert_exit(&out, 0);
        if *days != 0 {
            shift_days(w, &home, &name, *days);
        }
        let public = home.join(".config/tofu/signing.pub");
        assert!(minisign_verifies(&w.path(&name), &public));
        let trust = [
            "trust",
            "add",
            &format!("{prefix}-{i}"),
            public.to_str().unwrap(),
        ];
        assert_exit(&w.tofu(&trust), 0);
        names.push(name);
    }
    names
}

#[test]
fn three_days_countries_networks_and_hosts_agree() {
    let w = World::new();
    let runs = campaign(
        &w,
        "run",
        &[("127.0.1.1", 0), ("127.0.2.1", 1), ("127.0.3.1", 2)],
    );
    let t = w.read_json("run1.json");
    assert_eq!(t["vantage"]["exit"]["ip"], "127.0.1.1");
    assert_eq!(t["vantage"]["exit"]["country"], "DE");

    let mut args = vec!["compare"];
    args.extend(runs.iter().map(String::as_str));
    let out = w.tofu(&args);
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(text.contains("verdict: AGREE"), "{text}");
    assert!(text.contains("exit 127.0.2.1 (127.0.2.0/24, CA)"), "{text}");
    for rule in [
        "distinct-days",
        "distinct-hosts",
        "distinct-networks",
        "distinct-countries",
    ] {
        assert!(text.contains(&format!("{rule:<19} met")), "{rule}: {text}");
    }

    // A directory of the runs (as a campaign collects them, signatures beside) compares as
    // the list of its *.json files; so does a quoted pattern.
    let dir = w.path("collected");
    std::fs::create_dir_all(&dir).unwrap();
    for run in &runs {
        for file in [run.clone(), format!("{run}.minisig")] {
            std::fs::copy(w.path(&file), dir.join(&file)).unwrap();
        }
    }
    let listed = stdout(&out);
    let pattern = format!("{}/*.json", dir.display());
    for given in [dir.to_str().unwrap(), pattern.as_str()] {
        let out = w.tofu(&["compare", given]);
        assert_exit(&out, 0);
        let text = stdout(&out);
        assert_eq!(
            text.lines()
                .filter(|l| l.contains("verdict"))
                .collect::<Vec<_>>(),
            listed
                .lines()
                .filter(|l| l.contains("verdict"))
                .collect::<Vec<_>>()
        );
        // In name order.
        assert!(
            text.lines()
                .any(|l| l.starts_with("  #3 ") && l.contains("run3.json")),
            "{text}"
        );
    }
    let empty = w.path("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = w.tofu(&["compare", empty.to_str().unwrap(), &runs[0]]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("holds or matches no *.json transcript"),
        "{}",
        stderr(&out)
    );
    let out = w.tofu(&["compare", &runs[0]]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("compare needs two or more runs; 1 given"),
        "{}",
        stderr(&out)
    );

    // Status after two runs says exactly what the third must differ in.
    let out = w.tofu(&["status", &runs[0], &runs[1]]);
    assert_exit(&out, 3);
    let text = stdout(&out);
    assert!(text.contains("make 1 more run(s)"), "{text}");
    let day2 = chrono::Utc::now().date_naive() + chrono::Duration::days(1);
    assert!(
        text.contains(&format!("on a UTC day after {day2}")),
        "{text}"
    );
    assert!(
        text.contains("from a network other than 127.0.1.0/24, 127.0.2.0/24"),
        "{text}"
    );
    assert!(text.contains("from a country other than CA, DE"), "{text}");
    let status = json_of(&w.tofu(&["status", "--json", &runs[0], &runs[1]]));
    assert_eq!(status["next_run"]["runs_needed"], 1);
    assert_eq!(
        status["next_run"]["other_country_than"],
        serde_json::json!(["CA", "DE"])
    );

    // With all three, the campaign is complete.
    let out = w.tofu(&["status", &runs[0], &runs[1], &runs[2]]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("the campaign is complete"),
        "{}",
        stdout(&out)
    );

    // --min-gap: runs one day apart do not meet a 36-hour gap.
    let out = w.tofu(&["compare", "--min-gap", "36", &runs[0], &runs[1], &runs[2]]);
    assert_exit(&out, 3);
    assert!(
        stdout(&out).contains("started 24.0 h apart"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn two_runs_in_one_country_are_inconclusive_and_named() {
    let w = World::new();
    let runs = campaign(
        &w,
        "run",
        &[("127.0.1.1", 0), ("127.0.4.1", 1), ("127.0.2.1", 2)],
    );
    let out = w.tofu(&["compare", "--json", &runs[0], &runs[1], &runs[2]]);
    assert_exit(&out, 3);
    let report = json_of(&out);
    let reasons = report["reasons"].to_string();
    assert!(
        reasons.contains("distinct-countries is unmet: runs #1, #2 share the exit country DE"),
        "{reasons}"
    );
    let networks = &report["rules"][2];
    assert_eq!(networks["rule"], "distinct-networks");
    assert_eq!(networks["status"], "met");

    // The same day twice names distinct-days and the date.
    let runs = campaign(
        &w,
        "day",
        &[("127.0.1.1", 0), ("127.0.2.1", 0), ("127.0.3.1", 2)],
    );
    let out = w.tofu(&["compare", &runs[0], &runs[1], &runs[2]]);
    assert_exit(&out, 3);
    let today = chrono::Utc::now().date_naive();
    assert!(
        stdout(&out).contains(&format!("runs #1, #2 share the UTC date {today}")),
        "{}",
        stdout(&out)
    );
}

#[test]
fn exit_evidence_is_observed_never_assumed() {
    let w = World::new();
    let url = w.nginx.https_url("file.bin");
    let (real, liar, garbage) = (
        w.nginx.https_url("whoami"),
        w.nginx.https_url("whoami-liar"),
        w.nginx.https_url("whoami-garbage"),
    );

    // Two endpoints that disagree: both answers are kept, no exit is agreed.
    let out = w.fetch(
        "conflict.json",
        &["--whoami", &real, "--whoami", &liar],
        &url,
    );
    assert_exit(&out, 0);
    assert!(stderr(&out).contains("disagree"), "{}", stderr(&out));
    let t = w.read_json("conflict.json");
    let exit = &t["vantage"]["exit"];
    assert_eq!(exit["conflict"], true);
    assert_eq!(exit["ip"], Value::Null);
    assert_eq!(exit["probes"][1]["ip"], "198.51.100.7");
    assert_eq!(
        exit["probes"][1]["answer"],
        r#"{"ip":"198.51.100.7","country_iso":"FR"}"#
    );

    // Garbage is missing evidence, not a failed run.
    let out = w.fetch(
        "garbage.json",
        &["--whoami", &garbage, "--country", "de"],
        &url,
    );
    assert_exit(&out, 0);
    let t = w.read_json("garbage.json");
    let probe = &t["vantage"]["exit"]["probes"][0];
    assert_eq!(probe["error"]["code"], "whoami-answer");
    assert_eq!(probe["answer"], "hello, I am not JSON");
    assert_eq!(t["vantage"]["exit"]["ip"], Value::Null);
    assert_eq!(t["vantage"]["claimed_country"], "DE");
    assert_eq!(t["vantage"]["exit"]["country"], Value::Null);

    // A claim that differs from the observation is shown; the claim is never used as
    // evidence.
    assert_exit(&w.fetch("claimed.json", &["--country", "NZ"], &url), 0);
    assert_exit(&w.fetch("plain.json", &[], &url), 0);
    let out = w.tofu(&[
        "compare",
        "--json",
        "--min-runs",
        "2",
        "conflict.json",
        "garbage.json",
        "claimed.json",
    ]);
    assert_exit(&out, 3);
    let report = json_of(&out);
    let notes = report["notes"].to_string();
    assert!(notes.contains("run #1: exit endpoints disagree"), "{notes}");
    assert!(
        notes.contains("the operator claimed country NZ, the exit was observed in US"),
        "{notes}"
    );
    let countries = report["rules"][3]["message"].to_string();
    assert!(
        countries.contains("run #1: its exit endpoints disagree"),
        "{countries}"
    );
    assert!(
        countries.contains("run #2: it records no observed exit country"),
        "{countries}"
    );

    // --no-whoami records no evidence, and says so.
    let out = w.fetch("none.json", &["--no-whoami"], &url);
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("no exit evidence"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        w.read_json("none.json")["vantage"]["exit"]["probes"],
        serde_json::json!([])
    );

    for args in [["--country", "Germany"], ["--whoami", "ftp://x/y"]] {
        let out = w.fetch("bad.json", &args, &url);
        assert_exit(&out, 2);
        assert!(!w.path("bad.json").exists());
    }
}

#[test]
fn two_dates_ten_minutes_apart_are_not_two_days() {
    let w = World::new();
    let runs = campaign(
        &w,
        "run",
        &[("127.0.1.1", 0), ("127.0.2.1", 0), ("127.0.3.1", 0)],
    );
    // Runs 1 and 2 straddle UTC midnight; run 3 is two days later.
    for (i, at) in [
        "2026-11-20T23:55:00Z",
        "2026-11-21T00:05:00Z",
        "2026-11-23T12:00:00Z",
    ]
    .iter()
    .enumerate()
    {
        start_at(&w, &w.path(&format!("home-run-{i}")), &runs[i], at);
    }
    let out = w.tofu(&["compare", &runs[0], &runs[1], &runs[2]]);
    assert_exit(&out, 3);
    let text = stdout(&out);
    assert!(
        text.contains(
            "distinct-days is unmet: runs #1 and #2 started 10 min apart \
             (2026-11-20T23:55:00Z and 2026-11-21T00:05:00Z); distinct days need at least 20 h"
        ),
        "{text}"
    );
    for rule in ["distinct-hosts", "distinct-networks", "distinct-countries"] {
        assert!(text.contains(&format!("{rule:<19} met")), "{rule}: {text}");
    }
    // The status of the first two says when the next run may start.
    let out = w.tofu(&["status", &runs[0], &runs[1]]);
    assert_exit(&out, 3);
    assert!(
        stdout(&out).contains("next run: not before 2026-11-21T20:05:00Z (--min-gap)"),
        "{}",
        stdout(&out)
    );

    // --min-gap 0: distinct calendar dates are enough.
    let out = w.tofu(&["compare", "--min-gap", "0", &runs[0], &runs[1], &runs[2]]);
    assert_exit(&out, 0);
    assert!(stdout(&out).contains("verdict: AGREE"), "{}", stdout(&out));
}

/// The rules an exit lookup speaks to, with three runs required.
const EXIT_RULES: &str = "distinct-networks,distinct-countries";

#[test]
fn two_endpoints_are_asked_before_and_after_the_downloads() {
    let w = World::new();
    // The world's config lists two endpoints that agree, as tofu's default does.
    let out = w.fetch("run.json", &[], &w.nginx.https_url("file.bin"));
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("exit after the downloads: 127.0.0.1 US"),
        "{}",
        stderr(&out)
    );
    let t = w.read_json("run.json");
    let vantage = &t["vantage"];
    for lookup in [&vantage["exit"], &vantage["exit_after"]] {
        let answers: Vec<(&str, &str)> = lookup["probes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["ip"].as_str().unwrap(), p["country"].as_str().unwrap()))
            .collect();
        assert_eq!(
            answers,
            [("127.0.0.1", "US"), ("127.0.0.1", "US")],
            "{lookup}"
        );
        assert_eq!(lookup["ip"], "127.0.0.1");
        assert_eq!(lookup["country"], "US");
        assert_eq!(lookup["conflict"], false);
    }
    // Unchanged: exit_changed is left out (false).
    assert_eq!(vantage.get("exit_changed"), None);
    assert_eq!(vantage["exit_scope"], "run");
    // The second lookup came after the download, in the server's own log.
    let log = w.nginx.access_log();
    let order: Vec<&str> = log
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    assert_eq!(
        order,
        [
            "/whoami",
            "/whoami-too",
            "/file.bin",
            "/whoami",
            "/whoami-too"
        ],
        "{log}"
    );

    // An endpoint that lies is a conflict in both lookups, and noted for both.
    let out = w.fetch(
        "liar.json",
        &[
            "--whoami",
            &w.nginx.https_url("whoami"),
            "--whoami",
            &w.nginx.https_url("whoami-liar"),
        ],
        &w.nginx.https_url("file.bin"),
    );
    assert_exit(&out, 0);
    let t = w.read_json("liar.json");
    assert_eq!(t["vantage"]["exit"]["conflict"], true);
    assert_eq!(t["vantage"]["exit_after"]["conflict"], true);
    assert_eq!(t["vantage"]["exit_after"]["ip"], Value::Null);
    let out = w.tofu(&[
        "compare",
        "--json",
        "--min-runs",
        "2",
        "run.json",
        "liar.json",
    ]);
    assert_exit(&out, 3);
    let report = json_of(&out);
    let notes = report["notes"].to_string();
    assert!(
        notes.contains("run #2: exit endpoints disagree")
            && notes.contains("(after the downloads)"),
        "{notes}"
    );
    assert!(
        report["rules"][2]["message"]
            .to_string()
            .contains("run #2: its exit endpoints disagree"),
        "{report}"
    );
}

/// Fetches file.bin, asking only `whoami`, into `name`.
fn fetch_asking(w: &World, name: &str, whoami: &str) -> std::process::Output {
    w.fetch(name, &["--whoami", whoami], &w.nginx.https_url("file.bin"))
}

#[test]
fn an_exit_that_moves_during_the_run_counts_as_both() {
    let w = World::new();
    // The hostile server's /whoami-moves answers DE the first time, CA after that.
    let whoami = tofu_testkit::Hostile::start(Vec::new());
    let out = fetch_asking(&w, "moved.json", &whoami.url("/whoami-moves"));
    assert_exit(&out, 0);
    assert_eq!(whoami.asked("/whoami-moves"), 2);
    assert!(
        stderr(&out).contains(
            "the exit changed during the run: before the downloads 198.51.100.7 DE, after \
             them 203.0.113.9 CA"
        ),
        "{}",
        stderr(&out)
    );
    let t = w.read_json("moved.json");
    assert_eq!(t["vantage"]["exit"]["ip"], "198.51.100.7");
    assert_eq!(t["vantage"]["exit_after"]["ip"], "203.0.113.9");
    assert_eq!(t["vantage"]["exit_after"]["country"], "CA");
    assert_eq!(t["vantage"]["exit_changed"], true);
    for (name, cc) in [("de.json", "DE"), ("ca.json", "CA"), ("jp.json", "JP")] {
        let out = fetch_asking(&w, name, &whoami.url(&format!("/whoami/{cc}")));
        assert_exit(&out, 0);
        assert_eq!(w.read_json(name)["vantage"].get("exit_changed"), None);
    }
    let compare = |runs: [&str; 3]| {
        let mut args = vec!["compare", "--json", "--require", EXIT_RULES];
        args.extend(runs);
        w.tofu(&args)
    };
    // DE, CA and JP runs that stayed put: three networks, three countries.
    assert_exit(&compare(["de.json", "ca.json", "jp.json"]), 0);
    // The run that left DE for CA shares CA's network and country: not distinct.
    let out = compare(["moved.json", "ca.json", "jp.json"]);
    assert_exit(&out, 3);
    let report = json_of(&out);
    assert_eq!(
        report["rules"][2]["message"],
        "runs #1, #2 share the exit network 203.0.113.0/24"
    );
    assert_eq!(
        report["rules"][3]["message"],
        "runs #1, #2 share the exit country CA"
    );
    assert_eq!(report["runs"][0]["exit_ip"], "198.51.100.7, 203.0.113.9");
    assert_eq!(report["runs"][0]["exit_country"], "CA, DE");
    let notes = report["notes"].to_string();
    assert!(
        notes.contains(
            "run #1: the exit changed during the run: before the downloads 198.51.100.7 DE"
        ) && notes.contains("after them 203.0.113.9 CA"),
        "{notes}"
    );
}

#[test]
fn a_failed_lookup_after_the_downloads_leaves_the_network_unknown() {
    let w = World::new();
    // The hostile server's /whoami-once answers SE the first time, 503 after that.
    let whoami = tofu_testkit::Hostile::start(Vec::new());
    let out = fetch_asking(&w, "once.json", &whoami.url("/whoami-once"));
    // Missing evidence, not a failed run.
    assert_exit(&out, 0);
    assert_eq!(whoami.asked("/whoami-once"), 2);
    assert!(
        stderr(&out).contains("the exit lookup after the downloads gave no address"),
        "{}",
        stderr(&out)
    );
    let t = w.read_json("once.json");
    assert_eq!(t["vantage"]["exit"]["ip"], "192.0.2.77");
    let after = &t["vantage"]["exit_after"];
    assert_eq!(after["ip"], Value::Null);
    assert_eq!(after["probes"][0]["status"], 503);
    assert_eq!(after["probes"][0]["error"]["code"], "http-status");
    assert_eq!(t["vantage"].get("exit_changed"), None);
    for (name, cc) in [("de.json", "DE"), ("ca.json", "CA")] {
        assert_exit(
            &fetch_asking(&w, name, &whoami.url(&format!("/whoami/{cc}"))),
            0,
        );
    }
    let out = w.tofu(&[
        "compare",
        "--json",
        "--require",
        EXIT_RULES,
        "once.json",
        "de.json",
        "ca.json",
    ]);
    assert_exit(&out, 3);
    let report = json_of(&out);
    for rule in &report["rules"].as_array().unwrap()[2..] {
        assert_eq!(rule["status"], "no-evidence", "{rule}");
        assert_eq!(
            rule["message"],
            "run #1: its exit lookup after the downloads gave no address, so the exit may \
             have changed unseen"
        );
    }
}
