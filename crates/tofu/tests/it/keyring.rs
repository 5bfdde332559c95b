//! Every certificate of a key file is recorded, the way gpg lists them
//! (`gpg --show-keys --with-colons`, which is `--import-options show-only`): keyrings made
//! with gpg (binary, and armored in several blocks with text around them) holding revoked
//! keys, subkeys and user IDs; a certificate that cannot be read, kept at its place; and the
//! real keyrings that ship in Debian packages, the largest 28 MB and 905 certificates.

use std::path::Path;

use serde_json::Value;

use tofu_testkit::Gpg;

use crate::support::*;

/// One key as gpg lists it: fingerprint, created, expires, and its validity as far as
/// the key file alone tells it: `r` revoked, `i` invalid (a subkey nothing binds), else `-`.
type Key = (String, i64, Option<i64>, char);

/// One certificate: its keys (primary first) and its user IDs with whether each is revoked.
#[derive(Debug, PartialEq)]
struct Cert {
    keys: Vec<Key>,
    user_ids: Vec<(String, bool)>,
}

/// gpg's listing of the certificates in `file`, in file order.
fn gpg_shows(dir: &Path, file: &Path) -> Vec<Cert> {
    let (certs, ok) = gpg_shows_with_status(dir, file);
    assert!(ok, "gpg --show-keys {}", file.display());
    certs
}

/// gpg's listing, and whether gpg found nothing wrong (it lists what it could read even
/// when it did not).
fn gpg_shows_with_status(dir: &Path, file: &Path) -> (Vec<Cert>, bool) {
    let gpg = Gpg::new(dir, "show-keys");
    let out = gpg
        .command(&["--with-colons", "--show-keys", file.to_str().unwrap()])
        .output()
        .unwrap();
    let text = out.stdout;
    let mut certs: Vec<Cert> = Vec::new();
    let mut pending: Option<(i64, Option<i64>, char)> = None;
    for line in String::from_utf8_lossy(&text).lines() {
        let f: Vec<&str> = line.split(':').collect();
        match f[0] {
            "pub" | "sub" => {
                if f[0] == "pub" {
                    certs.push(Cert {
                        keys: Vec::new(),
                        user_ids: Vec::new(),
                    });
                }
                let validity = match f[1] {
                    "r" => 'r',
                    "i" => 'i',
                    _ => '-',
                };
                pending = Some((f[5].parse().unwrap(), f[6].parse().ok(), validity));
            }
            "fpr" => {
                if let Some((created, expires, revoked)) = pending.take() {
                    let keys = &mut certs.last_mut().unwrap().keys;
                    keys.push((f[9].to_owned(), created, expires, revoked));
                }
            }
            "uid" => certs
                .last_mut()
                .unwrap()
                .user_ids
                .push((unescape(f[9]), f[1] == "r")),
            _ => {}
        }
    }
    (certs, out.status.success())
}

/// A field of gpg's colon listing as text: gpg writes `:` and other bytes as `\xNN`.
fn unescape(field: &str) -> String {
    let mut bytes = Vec::new();
    let mut rest = field.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'\\' && tail.first() == Some(&b'x') && tail.len() >= 3 {
            let hex = std::str::from_utf8(&tail[1..3]).unwrap();
            bytes.push(u8::from_str_radix(hex, 16).unwrap());
            rest = &tail[3..];
        } else {
            bytes.push(b);
            rest = tail;
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// tofu's record of the same certificates, in the same shape.
fn tofu_shows(keyring: &Value) -> Vec<Cert> {
    let time = |v: &Value| {
        v.as_str()
            .map(|s| chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp())
    };
    let key = |k: &Value| -> Key {
        (
            k["fingerprint"].as_str().unwrap().to_owned(),
            time(&k["created_at"]).unwrap(),
            time(&k["expires_at"]),
            if k["unbound"] == true {
                'i'
            } else if k["revoked"].is_object() {
                'r'
            } else {
                '-'
            },
        )
    };
    certificates(keyring)
        .map(|c| {
            let revoked: Vec<&Value> = c["revoked_user_ids"].as_array().unwrap().iter().collect();
            // gpg shows every user ID of a revoked key as revoked.
            let all_revoked = c["primary"]["revoked"].is_object();
            Cert {
                keys: std::iter::once(&c["primary"])
                    .chain(c["subkeys"].as_array().unwrap())
                    .map(key)
                    .collect(),
                user_ids: c["user_ids"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|u| {
                        let uid = u.as_str().unwrap().to_owned();
                        (uid, all_revoked || revoked.contains(&u))
                    })
                    .collect(),
            }
        })
        .collect()
}

fn certificates(keyring: &Value) -> impl Iterator<Item = &Value> {
    keyring["parts"]
        .as_array()
        .unwrap_or_else(|| panic!("not a keyring: {keyring}"))
        .iter()
        .filter(|p| p["certificate"].is_object())
        .map(|p| &p["certificate"])
}

/// Three certificates: one plain, one with a revoked subkey and a revoked user ID, one
/// revoked whole (with the revocation certificate gpg made for it). Returns their
/// fingerprints.
fn three_keys(gpg: &Gpg) -> [String; 3] {
    let plain = gpg.generate("Plain <plain@example.invalid>", "2y", &[]);
    let partly = gpg.generate("Partly <partly@example.invalid>", "2y", &[]);
    gpg.run(&["--quick-add-key", &partly, "cv25519", "encr", "1y"]);
    gpg.run(&["--quick-add-uid", &partly, "Old <old@example.invalid>"]);
    gpg.run(&["--quick-revoke-uid", &partly, "Old <old@example.invalid>"]);
    // gpg's menu: 2 is "Key is superseded", code 1 in RFC 9580.
    gpg.run_with_commands(
        &["--edit-key", &partly],
        "key 1\nrevkey\ny\n2\nsuperseded\n\ny\nsave\n",
    );
    let revoked = gpg.generate("Revoked <revoked@example.invalid>", "2y", &[]);
    gpg.revoke(&revoked);
    [plain, partly, revoked]
}

#[test]
fn every_certificate_of_a_keyring_is_recorded_as_gpg_lists_it() {
    let w = World::new();
    let gpg = Gpg::new(w.dir.path(), "gnupg");
    let [plain, partly, revoked] = three_keys(&gpg);
    let www = w.dir.path().join("www");
    let binary = gpg.run(&["--export", &plain, &partly, &revoked]);
    std::fs::write(www.join("keyring.gpg"), &binary).unwrap();
    // Two armor blocks, with text before, between and after them.
    let mut armored = b"Our release keys:\n\n".to_vec();
    armored.extend(gpg.run(&["--armor", "--export", &plain]));
    armored.extend(b"\nand the others\n");
    armored.extend(gpg.run(&["--armor", "--export", &partly, &revoked]));
    armored.extend(b"-- \nthe release team\n");
    std::fs::write(www.join("keyring.asc"), &armored).unwrap();

    let urls = ["keyring.gpg", "keyring.asc"].map(|f| w.nginx.https_url(f));
    assert_exit(&w.fetch("run.json", &[&urls[0]], &urls[1]), 0);
    let t = w.read_json("run.json");
    for (index, file) in ["keyring.gpg", "keyring.asc"].into_iter().enumerate() {
        let keyring = &t["artifacts"][index]["keyring"];
        let ours = tofu_shows(keyring);
        let theirs = gpg_shows(w.dir.path(), &www.join(file));
        assert_eq!(theirs.len(), 3, "{file}: {theirs:?}");
        assert_eq!(ours, theirs, "{file}: {keyring:#}");
        // What was revoked is revoked, with the reason given.
        let partly_cert = certificates(keyring).nth(1).unwrap();
        assert_eq!(
            partly_cert["subkeys"][0]["revoked"]["reason_code"], 1,
            "{file}"
        );
        assert_eq!(partly_cert["subkeys"][0]["revoked"]["reason"], "superseded");
        assert_eq!((theirs[2].keys[0].3, theirs[1].keys[1].3), ('r', 'r'));
        assert!(theirs[1].user_ids[1].1);
    }
    let binary_parts = t["artifacts"][0]["keyring"]["parts"].as_array().unwrap();
    let total: u64 = binary_parts
        .iter()
        .map(|p| p["length"].as_u64().unwrap())
        .sum();
    assert_eq!(total, binary.len() as u64, "every byte is in one part");
    assert_eq!(t["artifacts"][0]["keyring"]["encoding"], "binary");
    // The text around the armor blocks is recorded where it stands; blank lines are not.
    let armor = &t["artifacts"][1]["keyring"];
    assert_eq!(armor["encoding"], "armor");
    let blocks: Vec<(Option<u64>, bool)> = armor["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["block"].as_u64(), p["certificate"].is_object()))
        .collect();
    let text = |b| (Some(b), false);
    let cert = |b| (Some(b), true);
    assert_eq!(
        blocks,
        [text(0), cert(0), text(1), cert(1), cert(1), text(2)],
        "{armor:#}"
    );
    let trailer = &armor["parts"][5];
    assert_eq!(trailer["length"], 21);
    assert_eq!(
        trailer["sha256"].as_str().unwrap(),
        tool_digest_bytes(b"-- \nthe release team\n")
    );
}

/// The byte offset and header length of each public-key packet in `keyring`, from gpg's
/// own packet listing (`# off=0 ctb=98 tag=6 hlen=2 plen=51`).
fn key_packets(dir: &Path, keyring: &Path) -> Vec<(u64, usize)> {
    let gpg = Gpg::new(dir, "list-packets");
    let out = gpg.run(&["--list-packets", keyring.to_str().unwrap()]);
    let field = |line: &str, name: &str| -> u64 {
        let value = line.split_whitespace().find_map(|w| w.strip_prefix(name));
        value.unwrap().parse().unwrap()
    };
    String::from_utf8_lossy(&out)
        .lines()
        .filter(|l| l.starts_with("# off=") && l.contains(" tag=6 "))
        .map(|l| (field(l, "off="), field(l, "hlen=") as usize))
        .collect()
}

#[test]
fn a_certificate_that_cannot_be_read_keeps_its_place() {
    let w = World::new();
    let gpg = Gpg::new(w.dir.path(), "gnupg");
    let [plain, partly, revoked] = three_keys(&gpg);
    let mut keyring = gpg.run(&["--export", &plain, &partly, &revoked]);
    let file = w.dir.path().join("www/keyring.gpg");
    std::fs::write(&file, &keyring).unwrap();
    let packets = key_packets(w.dir.path(), &file);
    let offsets: Vec<u64> = packets.iter().map(|p| p.0).collect();
    assert_eq!(offsets.len(), 3, "{offsets:?}");
    // The second certificate's key packet claims key version 9, which nobody reads; the
    // packet's framing is intact, so the certificate after it is still found.
    let second = usize::try_from(offsets[1]).unwrap();
    let version_at = second + packets[1].1;
    assert_eq!(keyring[version_at], 4, "a v4 key");
    keyring[version_at] = 9;
    std::fs::write(&file, &keyring).unwrap();
    assert_exit(
        &w.fetch("run.json", &[], &w.nginx.https_url("keyring.gpg")),
        0,
    );
    let t = w.read_json("run.json");
    let parts = artifact(&t)["keyring"]["parts"].as_array().unwrap().clone();
    assert_eq!(parts.len(), 3, "{parts:#?}");
    let starts: Vec<u64> = parts
        .iter()
        .map(|p| p["offset"].as_u64().unwrap())
        .collect();
    assert_eq!(starts, offsets);
    assert!(parts[0]["certificate"].is_object() && parts[2]["certificate"].is_object());
    assert_eq!(parts[1]["certificate"], Value::Null);
    assert!(parts[1]["error"].is_string(), "{:#}", parts[1]);
    let end = usize::try_from(offsets[2]).unwrap();
    assert_eq!(parts[1]["length"].as_u64(), Some((end - second) as u64));
    assert_eq!(
        parts[1]["sha256"].as_str().unwrap(),
        tool_digest_bytes(&keyring[second..end])
    );
    // gpg, too, lists only the two others, and fails.
    let (theirs, ok) = gpg_shows_with_status(w.dir.path(), &file);
    assert!(!ok);
    let ours = tofu_shows(&artifact(&t)["keyring"]);
    assert_eq!(ours, theirs);
    assert_eq!(ours.len(), 2);
}

/// Debian's keyrings, from the packages debian-archive-keyring and debian-keyring.
const DEBIAN_KEYRINGS: [&str; 6] = [
    "debian-archive-keyring.gpg",
    "debian-archive-removed-keys.gpg",
    "debian-role-keys.gpg",
    "debian-nonupload.gpg",
    "debian-maintainers.gpg",
    "debian-keyring.gpg",
];

#[test]
fn debian_keyrings_are_recorded_whole() {
    let w = World::new();
    let www = w.dir.path().join("www");
    let mut urls = Vec::new();
    for name in DEBIAN_KEYRINGS {
        let installed = Path::new("/usr/share/keyrings").join(name);
        assert!(
            installed.is_file(),
            "{} is missing: run `cargo xtask test` (it installs debian-archive-keyring and \
             debian-keyring)",
            installed.display()
        );
        std::fs::copy(&installed, www.join(name)).unwrap();
        urls.push(w.nginx.https_url(name));
    }
    let (last, rest) = urls.split_last().unwrap();
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    assert_exit(&w.fetch("run.json", &rest, last), 0);
    let t = w.read_json("run.json");
    for (index, name) in DEBIAN_KEYRINGS.into_iter().enumerate() {
        let keyring = &t["artifacts"][index]["keyring"];
        let parts = keyring["parts"].as_array().unwrap();
        assert!(
            parts.iter().all(|p| p["error"].is_null()),
            "{name}: {keyring:#}"
        );
        // Fingerprints of every key, certificate by certificate, in file order.
        let fingerprints = |certs: Vec<Cert>| -> Vec<Vec<String>> {
            certs
                .into_iter()
                .map(|c| c.keys.into_iter().map(|k| k.0).collect())
                .collect()
        };
        let theirs = fingerprints(gpg_shows(w.dir.path(), &www.join(name)));
        let ours = fingerprints(tofu_shows(keyring));
        assert_eq!(ours.len(), theirs.len(), "{name}");
        assert_eq!(ours, theirs, "{name}");
        // And every key's dates and validity, and every user ID, as gpg reads them off
        // the self-signatures (gpg lists the primary user ID first; tofu in file order).
        let sorted = |mut certs: Vec<Cert>| {
            certs.iter_mut().for_each(|c| c.user_ids.sort());
            certs
        };
        let theirs = sorted(gpg_shows(w.dir.path(), &www.join(name)));
        let ours = sorted(tofu_shows(keyring));
        if let Some(at) = (0..ours.len()).find(|&i| ours[i] != theirs[i]) {
            panic!("{name} #{at}:\n{:?}\n{:?}", ours[at], theirs[at]);
        }
    }
    // The 10240-bit RSA key (read with rPGP's `large-rsa`).
    let all = &t["artifacts"][5]["keyring"];
    let big = certificates(all)
        .find(|c| c["primary"]["fingerprint"] == "4E469519ED677734268FBD958F7BF8FC4A11C97A");
    assert!(big.is_some(), "the 10240-bit key is among the certificates");
}
