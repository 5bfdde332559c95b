//! An OpenPGP certificate is read the way `gpg --with-fingerprint` shows it: the test makes
//! a key with gpg, serves it armored and binary, and checks tofu's record against gpg's own
//! colon listing.

use serde_json::Value;
use tofu_testkit::Gpg;

use crate::support::*;

fn gpg(gpg: &Gpg, args: &[&str]) -> String {
    String::from_utf8(gpg.run(args)).unwrap()
}

/// One key as gpg lists it: kind (pub/sub), fingerprint, created, expires.
type GpgKey = (String, String, i64, Option<i64>);

/// gpg's view: the pub and sub keys, and the user IDs.
fn gpg_listing(home: &Gpg) -> (Vec<GpgKey>, Vec<String>) {
    let text = gpg(
        home,
        &[
            "--with-colons",
            "--fingerprint",
            "--fingerprint",
            "--list-keys",
        ],
    );
    let mut keys = Vec::new();
    let mut uids = Vec::new();
    let mut pending: Option<(String, i64, Option<i64>)> = None;
    for line in text.lines() {
        let f: Vec<&str> = line.split(':').collect();
        match f[0] {
            "pub" | "sub" => {
                let expires = f[6].parse().ok();
                pending = Some((f[0].to_owned(), f[5].parse().unwrap(), expires));
            }
            "fpr" => {
                if let Some((kind, created, expires)) = pending.take() {
                    keys.push((kind, f[9].to_owned(), created, expires));
                }
            }
            "uid" => uids.push(f[9].to_owned()),
            _ => {}
        }
    }
    (keys, uids)
}

fn key_view(k: &Value) -> (String, i64, Option<i64>) {
    let ts = |v: &Value| {
        v.as_str()
            .map(|s| chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp())
    };
    (
        k["fingerprint"].as_str().unwrap().to_owned(),
        ts(&k["created_at"]).unwrap(),
        ts(&k["expires_at"]),
    )
}

#[test]
fn certificate_facts_match_gpg() {
    let w = World::new();
    let home = Gpg::new(w.dir.path(), "gnupg");
    home.generate("Tofu Test <tofu@example.invalid>", "2y", &[]);
    let (keys, _) = gpg_listing(&home);
    let primary_fpr = keys[0].1.clone();
    gpg(
        &home,
        &["--quick-add-key", &primary_fpr, "cv25519", "encr", "1y"],
    );
    gpg(
        &home,
        &[
            "--quick-add-uid",
            &primary_fpr,
            "Second Identity <second@example.invalid>",
        ],
    );
    let (keys, uids) = gpg_listing(&home);
    assert_eq!(keys.len(), 2);
    let www = w.dir.path().join("www");
    std::fs::write(
        www.join("key.asc"),
        gpg(&home, &["--armor", "--export", &primary_fpr]),
    )
    .unwrap();
    let binary = home.run(&["--export", &primary_fpr]);
    std::fs::write(www.join("key.gpg"), binary).unwrap();

    for (file, out) in [("key.asc", "asc.json"), ("key.gpg", "bin.json")] {
        assert_exit(&w.fetch(out, &[], &w.nginx.https_url(file)), 0);
        let t = w.read_json(out);
        let parts = &artifact(&t)["keyring"]["parts"];
        assert_eq!(parts.as_array().map(Vec::len), Some(1), "{file}: {t}");
        let cert = &parts[0]["certificate"];
        assert!(cert.is_object(), "{file}: {t}");
        let ours: Vec<(String, i64, Option<i64>)> = std::iter::once(&cert["primary"])
            .chain(cert["subkeys"].as_array().unwrap())
            .map(key_view)
            .collect();
        let theirs: Vec<(String, i64, Option<i64>)> = keys
            .iter()
            .map(|(_, f, c, e)| (f.clone(), *c, *e))
            .collect();
        assert_eq!(ours, theirs, "{file}");
        let mut our_uids: Vec<String> = cert["user_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u.as_str().unwrap().to_owned())
            .collect();
        let mut their_uids = uids.clone();
        our_uids.sort();
        their_uids.sort();
        assert_eq!(our_uids, their_uids, "{file}");
        assert_eq!(cert["primary"]["algorithm"], "EdDSALegacy");
    }

    // Something that is not a key records no certificate.
    assert_exit(
        &w.fetch("plain.json", &[], &w.nginx.https_url("file.bin")),
        0,
    );
    let plain = w.read_json("plain.json");
    assert_eq!(artifact(&plain).get("keyring"), None);
    assert_eq!(artifact(&plain)["openpgp"], Value::Null);
}
